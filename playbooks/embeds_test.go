package playbooks

import "testing"

// A 30-character run inside a longer string is a secret when it looks random, except a whole path
// element (a generated directory name such as a test's temporary directory), unless an id stands
// beside it.
func TestEmbedsSecret(t *testing.T) {
	const secret = "vtAZaFH4CqJcqFj5oyyuRobivPNK8p"
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"--key=" + secret, true},
		{`sh -c "echo ` + secret + `"`, true},
		{"/srv/creds/" + secret + "x", false},                              // 31 characters: not the shape
		{"/tmp/TestE2EPurgePlanAndRun65683486/001/work/sink/a.env", false}, // a path element
		{"/tmp/" + secret + "/key.env", false},                             // a path element
		{"/tmp/" + secret, false},                                          // the last element
		{"LTAI5tMYCr1pxcx4vz2o7riE /tmp/" + secret + "/x", true},           // beside an id
		{"TestE2EBuiltinPlaybookscontain", false},                          // not random-looking
	} {
		if got := embedsSecret(tc.in); got != tc.want {
			t.Errorf("embedsSecret(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
