package doctor

import (
	"slices"
	"strings"
	"testing"

	"github.com/respond-dev/respond/playbooks"
)

// FuzzTemplateParts: for every template the configuration accepts, the fields found in its
// directory and file name are exactly the template's fields, each on the side of the last '/'
// where it stands.
func FuzzTemplateParts(f *testing.F) {
	for _, s := range []string{"/etc/ci/{{.UserName}}.env", "/srv/{{.AccountName}}/{{ .UserName }}/key.json",
		"/a/{{.Date}}-{{.KeyID}}", "rel/{{.AccountID}}/x", "{{.UserName}}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tpl, err := playbooks.ParseTemplate(s, playbooks.TargetFilePath)
		if err != nil {
			return
		}
		dir, file := templateParts(tpl)
		var got []string
		for _, x := range append(dir, file...) {
			if !slices.Contains(got, x) {
				got = append(got, x)
			}
		}
		want := tpl.Fields()
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("%q: parts %v / %v, fields %v", s, dir, file, want)
		}
		if len(file) > 0 && !strings.Contains(s[strings.LastIndex(s, "/")+1:], "{{") {
			t.Fatalf("%q: file fields %v after the last slash", s, file)
		}
	})
}
