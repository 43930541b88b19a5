package playbooks

import "strconv"

// StrategySecretMatch is the owner search of a secret found without its id: every candidate key
// id of the configured accounts is tried with the leaked secret, one GetCallerIdentity each, until
// one authenticates. Opt-in only (never in Strategies): the match is a call signed with the leaked
// secret, which fires honeytokens and shows in the owner's ActionTrail. A playbook enables it for
// the findings it matches (match.sources: the scanners it trusts) by listing it in its locate
// strategies; --locate and the configuration's locate: enable it for every finding.
const StrategySecretMatch = "secret-match"

// OptInStrategies are the locate strategies that no default includes.
func OptInStrategies() []string { return []string{StrategySecretMatch} }

// KnownStrategies are every locate strategy a playbook, the configuration's locate: or --locate
// may name: Strategies, then OptInStrategies.
func KnownStrategies() []string { return append(Strategies(), OptInStrategies()...) }

// Bounds of secret-match.max-candidates.
const (
	DefaultMaxCandidates = 10000
	MaxMaxCandidates     = 1000000
)

// SecretMatchConfig is the configuration's secret-match section.
type SecretMatchConfig struct {
	// MaxCandidates bounds the candidate key ids one secret-only finding has tried (default
	// DefaultMaxCandidates).
	MaxCandidates int
}

// MaxCandidates is secret-match.max-candidates, or its default (also for a nil configuration).
func (c *Config) MaxCandidates() int {
	if c == nil || c.SecretMatch.MaxCandidates == 0 {
		return DefaultMaxCandidates
	}
	return c.SecretMatch.MaxCandidates
}

func (c *Config) decodeSecretMatch(l *errList, f field) {
	for _, g := range mapping(l, f.v, f.place, []string{"max-candidates"}) {
		c.pos[g.place] = at(g.v)
		s, ok := scalar(l, g.v, g.place, "a number of key ids")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxMaxCandidates {
			l.addAt(at(g.v), "%s: %s is not a number of key ids from 1 to %d", g.place, show(s), MaxMaxCandidates)
			continue
		}
		c.SecretMatch.MaxCandidates = n
	}
}
