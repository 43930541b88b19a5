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
	bySource, err := ParseConfig("s.yaml", []byte(`
rules:
  - match: {sources: [security-center], accounts: [ci]}
    playbook: contain-only
  - match: {sources: [security-center], evidence: [source]}
    playbook: standard
accounts:
  - {name: ci, id: "6543210987654321", credentials: {source: env}}
`))
	if err != nil {
		t.Fatal(err)
	}
	empty, err := ParseConfig("e.yaml", []byte("locate: [scan]\n"))
	if err != nil {
		t.Fatal(err)
	}
	sc := []string{SourceSecurityCenter}
	tests := []struct {
		name       string
		conf       *Config
		id, acName string
		sources    []string
		want       []string
	}{
		{"nil config", nil, "1", "", nil, []string{"standard"}},
		{"a user rule then the catch-all", two, "", "ci", nil, []string{"contain-only", "standard"}},
		{"by account id", two, "6543210987654321", "", nil, []string{"contain-only", "standard"}},
		{"a source rule then the catch-all", two, "", "prod", nil, []string{"contain-first", "standard"}},
		{"no rule names the account", two, "9", "other", nil, []string{"standard"}},
		{"a rule on the account alone ends the list", accountOnly, "", "ci", nil, []string{"contain-only"}},
		{"a rule on a source may fall through to the default", accountOnly, "", "prod", nil, []string{"contain-first", "standard"}},
		// the built-in rule (Select's, after the rules): Security Center findings get contain-first
		{"nil config, Security Center polled", nil, "1", "", sc, []string{"contain-first", "standard"}},
		{"no rule takes Security Center's findings", empty, "9", "other", sc, []string{"contain-first", "standard"}},
		{"a catch-all rule leaves the built-in rule nothing", two, "9", "other", sc, []string{"standard"}},
		{"a rule on the account alone leaves the built-in rule nothing", accountOnly, "", "ci", sc, []string{"contain-only"}},
		{"a rule on Security Center's findings of the account takes them all", bySource, "", "ci", sc, []string{"contain-only", "standard"}},
		{"a rule that also asks the evidence may leave some to the built-in rule", bySource, "", "prod", sc, []string{"standard", "contain-first"}},
		{"a source no built-in rule answers", two, "9", "other", []string{"gitleaks"}, []string{"standard"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.conf.Candidates(tt.id, tt.acName, tt.sources...)
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

// TestSearchOrder: the owner search runs in the chosen (or forced) playbook's order, unless the
// rules choose by owner and none is forced: then in the configuration's; the default without one.
func TestSearchOrder(t *testing.T) {
	parse := func(src string) *Config {
		t.Helper()
		c, err := ParseConfig("c.yaml", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	bySource := parse("locate: [scan]\nrules:\n  - match: {sources: [gitleaks]}\n    playbook: contain-only\n")
	byOwner := parse("locate: [scan]\nrules:\n  - match: {users: [ci-*]}\n    playbook: contain-only\n")
	byOwnerNoOrder := parse("rules:\n  - match: {accounts: [ci]}\n    playbook: contain-only\n")
	own := &Playbook{Name: "own", Steps: []Step{{ID: StepLocate, Options: StepOptions{Strategies: []string{StrategyIMS}}}}}
	noLocate := &Playbook{Name: "no-locate", Steps: []Step{{ID: StepDelete}}}
	tests := []struct {
		name   string
		conf   *Config
		pb     *Playbook
		forced bool
		want   []string
	}{
		{"nil config, a playbook's own", nil, own, false, []string{StrategyIMS}},
		{"nil config, no locate step: the default", nil, noLocate, false, Strategies()},
		{"chosen before the search: its own", bySource, own, false, []string{StrategyIMS}},
		{"chosen before the search, no locate step: the default", bySource, bySource.Completed(noLocate), false, Strategies()},
		{"chosen by owner: the configuration's", byOwner, own, false, []string{StrategyScan}},
		{"chosen by owner, not chosen yet", byOwner, nil, false, []string{StrategyScan}},
		{"chosen by owner, no locate: the default", byOwnerNoOrder, own, false, Strategies()},
		{"forced: its own even when the rules choose by owner", byOwner, own, true, []string{StrategyIMS}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.conf.SearchOrder(tt.pb, tt.forced); !slices.Equal(got, tt.want) {
				t.Errorf("SearchOrder = %v, want %v", got, tt.want)
			}
		})
	}
}
