package rotate

import (
	"cmp"

	"github.com/respond-dev/respond/detect"
)

// DecisionIDOnly is the decision for a finding that names a key id without its secret and comes
// from a source the configuration does not trust for id-only findings (design §6 rule 8): key
// ids are not secret, so anyone who can put a string into scanned content (a pull request, a log
// line, an issue comment) could otherwise have any key deleted by a `--from - --yes` pipeline.
// Nothing is done and nothing is asked of the cloud; the outcome is journal.OutcomeIDOnly
// (refused by policy, exit 5).
const DecisionIDOnly Decision = "id-only"

// evidenceOf is what makes f a leak: its own Evidence, else the secret when it carries one. A
// finding made in code without Evidence (a program calling the engine, the engine's own tests)
// counts as named by its caller, like --key-id: only a finding marked detect.EvidenceNone, as
// detect marks every id it read without a secret, is id-only.
func evidenceOf(f detect.Finding) detect.Evidence {
	switch {
	case f.Evidence != "":
		return f.Evidence
	case !f.Secret.IsZero():
		return detect.EvidenceSecret
	}
	return detect.EvidenceOperator
}

// untrustedIDOnly reports whether f is an id-only finding the engine must not act on: the id
// alone (no secret), from a source that trusts (the configuration's playbooks.Config.Trusts; nil
// trusts none) does not trust. A secret without its id (detect.KindSecretOnly) is not id-only: it
// carries the secret.
func untrustedIDOnly(f detect.Finding, trusts func(source string) bool) bool {
	if f.KeyID.IsZero() || f.Kind == detect.KindSecretOnly || !f.Secret.IsZero() || evidenceOf(f) != detect.EvidenceNone {
		return false
	}
	src := source(f)
	return src == "" || trusts == nil || !trusts(src)
}

// idOnlyPlan fills in the plan of an untrusted id-only finding: why nothing is done, and how to
// act anyway.
func idOnlyPlan(p *Plan, f detect.Finding) {
	src := cmp.Or(source(f), "the input")
	p.Decision = DecisionIDOnly
	p.Reason = "the finding holds the key id without its secret (source " + src + "): a key id is not a secret, " +
		"and anyone who can write to scanned content can make one appear, so an id alone is not acted on"
	p.LeftForHuman = []string{
		"check whether the key really leaked (the place it was found, and whether its secret is exposed too)",
		"to act on it anyway, name it: respond --key-id " + f.KeyID.String() + " (add --dry-run to see the plan first)",
		"or, if every id-only finding from " + src + " should be acted on, trust the source in the configuration: trust: [{source: " + src + "}]",
	}
}

// untrusted reports whether the batch must not act on f (untrustedIDOnly with the
// configuration's trust entries): it is neither located nor inspected.
func (b *Batch) untrusted(f detect.Finding) bool {
	return untrustedIDOnly(f, b.Config.Trusts)
}
