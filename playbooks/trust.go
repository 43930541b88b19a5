package playbooks

import (
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// A key id is not a secret: anyone who can put a string into scanned content (a pull request, a
// log line, an issue comment) can make an id appear in a scanner's report. So a finding that
// carries the id alone is acted on only when a person named the key (--key-id), when it comes
// from a leak-reporting service (Security Center), or when the configuration trusts its source
// for id-only findings with a trust entry (design §6 rule 8).

// Evidence values a match can test (the finding's evidence of a leak, detect.Evidence).
const (
	EvidenceSecret   = "secret"   // the secret stood with the id
	EvidenceSource   = "source"   // a leak-reporting service (Security Center) reported the id
	EvidenceOperator = "operator" // a person named the key (--key-id)
	EvidenceNone     = "none"     // the id alone, from a source the configuration trusts
)

// EvidenceValues lists the evidence a match can name.
func EvidenceValues() []string {
	return []string{EvidenceSecret, EvidenceSource, EvidenceOperator, EvidenceNone}
}

// Trust is one trust entry: id-only findings from Source (a finding source such as
// gitleaks-json, github or sas, as `respond scan --output json` shows it) are acted on.
type Trust struct {
	Source string
}

var trustKeys = []string{"source"}

func (c *Config) decodeTrust(l *errList, f field) {
	for i, n := range seqItems(l, f, "trust entries ({source: NAME})") {
		place := "trust[" + strconv.Itoa(i) + "]"
		c.pos[place] = at(n)
		var t Trust
		seen := false
		for _, g := range mapping(l, n, place, trustKeys) {
			c.pos[g.place] = at(g.v)
			t.Source, _ = scalar(l, g.v, g.place, "a finding source")
			seen = true
		}
		if n.Kind == yaml.MappingNode && !seen {
			l.addAt(at(n), "%s: missing key \"source\": a trust entry names the finding source whose id-only findings are acted on", place)
		}
		c.Trust = append(c.Trust, t)
	}
}

func (c *Config) validateTrust(l *errList, ps positions) {
	seen := map[string]bool{}
	for i, t := range c.Trust {
		p := "trust[" + strconv.Itoa(i) + "]"
		switch {
		case t.Source == "" && ps[p+".source"] == (pos{}):
			// reported by decodeTrust
		case !sourceRe.MatchString(t.Source):
			l.addAt(ps.at(p+".source"), "%s.source: %s is not a finding source: expected a lower-case name such as gitleaks-json, github or sas", p, show(t.Source))
		case t.Source == "flag":
			l.addAt(ps.at(p+".source"), "%s.source: flag (--key-id) needs no trust: a key a person names is always acted on", p)
		case seen[t.Source]:
			l.addAt(ps.at(p+".source"), "%s.source: %s is trusted twice", p, show(t.Source))
		}
		seen[t.Source] = true
	}
}

// Trusts reports whether the configuration trusts id-only findings from source (a nil
// configuration trusts none).
func (c *Config) Trusts(source string) bool {
	if c == nil || source == "" {
		return false
	}
	for _, t := range c.Trust {
		if strings.EqualFold(t.Source, source) {
			return true
		}
	}
	return false
}

func validateEvidence(l *errList, m Match, place string, ps positions) {
	for i, e := range m.Evidence {
		p := place + ".evidence[" + strconv.Itoa(i) + "]"
		if !contains(EvidenceValues(), e) {
			l.addAt(ps.at(p), "%s: %s is not an evidence: expected one of %s", p, show(e), strings.Join(EvidenceValues(), ", "))
		}
	}
}
