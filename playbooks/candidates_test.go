package playbooks

import (
	"path/filepath"
	"slices"
	"testing"
)

func TestCandidates(t *testing.T) {
	two, err := LoadConfig(filepath.Join("..", "testdata", "config", "valid", "two-accounts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	accountOnly, err := ParseConfig("c.yaml", []byte(`
sinks:
  f:
    type: file
    path: "/tmp/x/{{.UserName}}.json"
locate: [scan]
rules:
  - match: {accounts: [ci]}
    playbook: contain-only
  - match: {sources: [gitleaks]}
    playbook: contain-first
accounts:
  - {name: ci, id: "6543210987654321", credentials: {source: env}}
  - {name: prod, credentials: {source: env}}
`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		conf       *Config
		id, acName string
		want       []string
	}{
		{"nil config", nil, "1", "", []string{"standard"}},
		{"a user rule then the catch-all", two, "", "ci", []string{"contain-only", "standard"}},
		{"by account id", two, "6543210987654321", "", []string{"contain-only", "standard"}},
		{"a source rule then the catch-all", two, "", "prod", []string{"contain-first", "standard"}},
		{"no rule names the account", two, "9", "other", []string{"standard"}},
		{"a rule on the account alone ends the list", accountOnly, "", "ci", []string{"contain-only"}},
		{"a rule on a source may fall through to the default", accountOnly, "", "prod", []string{"contain-first", "standard"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.conf.Candidates(tt.id, tt.acName)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, p := range got {
				names = append(names, p.Name)
			}
			if !slices.Equal(names, tt.want) {
				t.Errorf("Candidates = %v, want %v", names, tt.want)
			}
		})
	}
	got, _ := accountOnly.Candidates("", "prod")
	for _, p := range got {
		if s, ok := p.Step(StepLocate); ok && !slices.Equal(s.Options.Strategies, []string{"scan"}) {
			t.Errorf("%s: strategies %v, want the configuration's [scan]", p.Name, s.Options.Strategies)
		}
		if p.Has(StepStore) && !slices.Equal(p.Sinks, []string{"f"}) {
			t.Errorf("%s: sinks %v, want every configured one", p.Name, p.Sinks)
		}
	}
}
