package playbooks

import (
	"strings"
	"testing"
)

func TestTrust(t *testing.T) {
	c, err := ParseConfig("trust.yaml", []byte(`trust:
  - source: github
  - source: gitleaks-json
rules:
  - match: {evidence: [none]}
    playbook: contain-only
  - match: {evidence: [operator, secret]}
    playbook: contain-first
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		source string
		want   bool
	}{{"github", true}, {"GitHub", true}, {"gitleaks-json", true}, {"text", false}, {"", false}, {"sas", false}} {
		if got := c.Trusts(tt.source); got != tt.want {
			t.Errorf("Trusts(%q) = %v, want %v", tt.source, got, tt.want)
		}
	}
	var none *Config
	if none.Trusts("github") {
		t.Error("a nil configuration trusts a source")
	}
	for _, tt := range []struct {
		evidence, want, reason string
	}{
		{"none", "contain-only", `evidence "none"`},
		{"operator", "contain-first", `evidence "operator"`},
		{"secret", "contain-first", `evidence "secret"`},
		{"source", DefaultPlaybook, "no rule matched"},
		{"", DefaultPlaybook, "no rule matched"},
	} {
		p, reason, err := c.Select(PlaybookInput{KeyID: "LTAI5tMYCr1pxcx4vz2o7riE", Evidence: tt.evidence})
		if err != nil {
			t.Fatal(err)
		}
		if p.Name != tt.want || !strings.Contains(reason, tt.reason) {
			t.Errorf("evidence %q: Select = %s (%s), want %s (%s)", tt.evidence, p.Name, reason, tt.want, tt.reason)
		}
	}
	if ok, why := (Match{Evidence: []string{"secret"}}).Matches(PlaybookInput{Evidence: "none"}); ok || !strings.Contains(why, `evidence "none" is not in secret`) {
		t.Errorf("Matches = %v %q", ok, why)
	}
}
