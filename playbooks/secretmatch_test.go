package playbooks

import (
	"path/filepath"
	"slices"
	"testing"
)

// secret-match is opt-in: known to every strategy list, in no default one.
func TestSecretMatchVocabulary(t *testing.T) {
	if slices.Contains(Strategies(), StrategySecretMatch) || slices.Contains(DefaultOptions(StepLocate).Strategies, StrategySecretMatch) {
		t.Error("secret-match is in a default strategy list")
	}
	if !slices.Contains(KnownStrategies(), StrategySecretMatch) {
		t.Error("secret-match is not a known strategy")
	}
	tests := []struct {
		file string
		want int
	}{
		{"valid/secret-match.yaml", 50000},
		{"valid/minimal.yaml", DefaultMaxCandidates},
	}
	for _, tt := range tests {
		c, err := LoadConfig(filepath.Join(configData, tt.file))
		if err != nil {
			t.Fatal(err)
		}
		if got := c.MaxCandidates(); got != tt.want {
			t.Errorf("%s: max-candidates %d, want %d", tt.file, got, tt.want)
		}
	}
	if got := (*Config)(nil).MaxCandidates(); got != DefaultMaxCandidates {
		t.Errorf("no configuration: max-candidates %d", got)
	}
	pb, err := Load(filepath.Join("..", "testdata", "playbooks", "valid", "secret-match-trusted.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	st, _ := pb.Step(StepLocate)
	if !slices.Contains(st.Options.Strategies, StrategySecretMatch) || !slices.Contains(pb.Match.Sources, "gitleaks-json") {
		t.Errorf("playbook %+v", pb)
	}
}
