package rotate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/respond-dev/respond/detect"
	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/rotate/journal"
)

// This file is the engine's side of a secret found without its AccessKey id (detect's
// secret-only findings). With the secret-match strategy allowed for the finding (--locate, the
// configuration's locate:, or the locate step of the playbook chosen for its source), the batch
// tries the secret with every candidate key id of the accounts (ram.Locator.MatchSecret): a match
// turns the finding into one of its key, with the strongest evidence (the pair authenticated),
// and the owner the search found; it is then planned like any other. Without it, or without a
// match, the finding is planned as DecisionSecretOnly: nothing changes, the outcome is
// secret-only (exit 3, like an owner not found), and the plan says where to find the id.

// DecisionSecretOnly is the decision for a secret found without its id whose key is not known.
const DecisionSecretOnly Decision = "secret-only"

// NotePairAuthenticated starts the note added to a secret-only finding whose key secret-match
// found: the pair authenticated, so the finding's evidence is the secret itself.
const NotePairAuthenticated = "pair authenticated"

// ActionTrailNote says how the secret match shows in the owner's ActionTrail.
const ActionTrailNote = "the match is one sts:GetCallerIdentity signed by the leaked key, which its owner's ActionTrail shows " +
	"(the other candidates' tries fail their signature check)"

// errSecretMatchOff is the search error of a secret-only finding for which secret-match is not
// allowed.
var errSecretMatchOff = errors.New("the secret-match strategy is not allowed for this finding")

// SecretOnlyError is the result's error of a secret-only finding whose key was not found. It
// matches ram.ErrOwnerNotFound (exit 3).
type SecretOnlyError struct {
	Locations []detect.Location
	// Err is why the key is not known: secret-match not allowed, or what it found.
	Err error
}

func (e *SecretOnlyError) Error() string {
	s := "the key of the secret"
	if where := locationsText(e.Locations); where != "" {
		s += " found at " + where
	}
	return s + " is not known: " + e.Err.Error()
}

func (e *SecretOnlyError) Unwrap() []error { return []error{ram.ErrOwnerNotFound, e.Err} }

func locationsText(ls []detect.Location) string {
	var parts []string
	for _, l := range ls {
		parts = append(parts, locationText(l))
	}
	return strings.Join(parts, "; ")
}

// keyLabel names a finding's key in text: its id, or what stands for the id of a secret-only one.
func keyLabel(id accesskey.ID) string {
	if id.IsZero() {
		return "(secret without id)"
	}
	return id.String()
}

// isSecretOnly reports whether the finding is a secret whose key is not (yet) known.
func isSecretOnly(f detect.Finding) bool { return f.Kind == detect.KindSecretOnly && f.KeyID.IsZero() }

// allowsSecretMatch reports whether strategies name secret-match.
func allowsSecretMatch(strategies []string) bool {
	return slices.Contains(strategies, playbooks.StrategySecretMatch)
}

// matchSecret searches for the key of a secret-only finding, when secret-match is allowed for it.
// A match makes the finding its key's, with the owner found; otherwise locErr says why not.
func (b *Batch) matchSecret(ctx context.Context, it *Item) {
	if !it.secretMatch {
		it.locErr = errSecretMatchOff
		return
	}
	m := ram.SecretMatch{MaxCandidates: b.Config.MaxCandidates(), Skip: b.Config.CanaryIDs()}
	o, rep, err := b.Session.MatchSecret(ctx, it.Finding.Secret, m, b.Progress)
	it.match = &rep
	if err != nil {
		it.locErr = err
		return
	}
	it.owner = o
	f := it.Finding
	f.KeyID, f.Kind, f.Evidence = o.KeyID, detect.KindAccessKey, detect.EvidenceSecret
	f.Notes = append(slices.Clone(f.Notes), fmt.Sprintf("%s: the secret-match strategy found the id %s (%d of %d candidate ids tried)",
		NotePairAuthenticated, o.KeyID, rep.Tried, rep.Candidates))
	it.Finding = f
}

// mergeMatched folds every other finding of a key that secret-match found into the matched one
// (its locations and notes), so that the key is planned and rotated once: the matched finding
// stays, since its evidence is the strongest (the pair authenticated). The items keep their order.
func mergeMatched(items []*Item) []*Item {
	matched := map[accesskey.ID]*Item{}
	for _, it := range items {
		if it.match != nil && it.locErr == nil && !it.Finding.KeyID.IsZero() {
			matched[it.Finding.KeyID] = it
		}
	}
	if len(matched) == 0 {
		return items
	}
	return slices.DeleteFunc(items, func(it *Item) bool {
		m, ok := matched[it.Finding.KeyID]
		if !ok || m == it {
			return false
		}
		m.Finding.Locations = append(m.Finding.Locations, it.Finding.Locations...)
		m.Finding.Notes = append(m.Finding.Notes, it.Finding.Notes...)
		return true
	})
}

// secretOnlyPlan is the plan of a secret-only finding whose key is not known: nothing to do but
// tell the on-call engineer where to look.
func secretOnlyPlan(f detect.Finding, pb *playbooks.Playbook, match *ram.MatchReport, why error) Plan {
	p := Plan{Schema: PlanSchema, Decision: DecisionSecretOnly, Locations: f.Locations, SecretKnown: !f.Secret.IsZero(),
		SecretMatch: match, secret: f.Secret}
	if pb != nil {
		p.Playbook = pb.Name
	}
	p.Reason = "the secret was found without its AccessKey id, and nothing in the Alibaba API maps a secret to its key"
	if why != nil {
		p.Reason += " (" + why.Error() + ")"
	}
	where := locationsText(f.Locations)
	if where == "" {
		where = "the input"
	}
	p.LeftForHuman = []string{
		"find the AccessKey id where this secret is used — the CI variables, the deployment's configuration, the application's " +
			"environment — near where it leaked (" + where + "), then run: respond --key-id <ID>",
		"or allow the secret-match strategy (respond --locate ims,scan,secret-match, or a playbook for this source): it tries the " +
			"secret with every active key id of the configured accounts, one GetCallerIdentity each; " + ActionTrailNote,
		"remove the secret from where it was found, and from history (git filter-repo or BFG); forks and clones keep it",
	}
	return p
}

// secretOnlyResult is Execute's result of a DecisionSecretOnly plan: nothing was changed.
func secretOnlyResult(p Plan, res *Result) {
	res.Outcome = journal.OutcomeSecretOnly
	res.Err = &SecretOnlyError{Locations: p.Locations, Err: errors.New(p.Reason)}
}

// secretMatchText is the plan's line about a secret match, or "".
func secretMatchText(m *ram.MatchReport) string {
	if m == nil {
		return ""
	}
	s := fmt.Sprintf("%d of %d candidate key ids tried (%d calls to list them)", m.Tried, m.Candidates, m.ListCalls)
	if m.Limited {
		s += fmt.Sprintf(", stopped at max-candidates %d", m.MaxCandidates)
	}
	if m.SkippedCanaries > 0 || m.SkippedInactive > 0 {
		s += fmt.Sprintf(", %d canaries and %d inactive keys never tried", m.SkippedCanaries, m.SkippedInactive)
	}
	if !m.Matched.IsZero() {
		s += "; the secret authenticated with " + m.Matched.String() + "; " + ActionTrailNote
	}
	return s
}
