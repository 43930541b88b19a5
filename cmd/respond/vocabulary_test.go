package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/respond-dev/respond/detect"
	"github.com/respond-dev/respond/playbooks"
)

// detect and playbooks are siblings (neither may import the other), so the words a rule matches
// a finding on are written in both: the evidence values (detect.Evidence, playbooks'
// evidence: list) and the source of a key a person named. A rename on one side only would make
// a rule silently match nothing; this test ties them together.
func TestVocabularyDetectPlaybooks(t *testing.T) {
	got := playbooks.EvidenceValues()
	want := []string{string(detect.EvidenceSecret), string(detect.EvidenceSource), string(detect.EvidenceOperator), string(detect.EvidenceNone)}
	if !slices.Equal(got, want) {
		t.Errorf("playbooks.EvidenceValues() = %v, detect's evidence is %v", got, want)
	}
	c, err := playbooks.ParseConfig("c.yaml", []byte("trust:\n  - source: "+detect.SourceOperator+"\n"))
	if err == nil || !strings.Contains(err.Error(), "needs no trust") {
		t.Errorf("trust: [{source: %s}] gave %v (%+v): a key a person names needs no trust, and the configuration should say so", detect.SourceOperator, err, c)
	}
}
