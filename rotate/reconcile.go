package rotate

import (
	"context"
	"fmt"
	"strings"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/rotate/journal"
)

// reconcile lists the user's keys and squares them with the journal: a replacement created by an
// earlier run and stored in every sink is kept; one created but not stored everywhere (its secret
// is lost with the run that created it) is deleted; a key that appeared after an interrupted
// create is deleted. The user's other keys are never touched, nor is a key the journal claims
// that the cloud dates before the rotation began (ownKey). It reports true when there is nothing
// left to do.
func (x *run) reconcile(ctx context.Context) bool {
	started := x.d.now()
	keys, err := x.api.ListAccessKeys(ctx, x.user)
	if err != nil {
		x.fail(playbooks.StepAssess, fmt.Errorf("list access keys of %s: %w", x.user, err))
		return true
	}
	x.keys.set(keys)
	leakedPresent := x.keys.has(x.p.KeyID.String())
	if x.st.Runs == 0 {
		return false
	}
	if !leakedPresent && x.st.Done && x.p.Decision != DecisionPurge { // a binned key is not done
		// The journal is a memory, not proof: the key left the list since the plan (deleted
		// again, by hand) may sit restorable in a bin.
		if err := unbinned(ctx, x.api, x.p.KeyID); err != nil {
			x.leakedDeleted = true
			x.fail(playbooks.StepAssess, err)
			return true
		}
		x.res.Outcome = journal.OutcomeAlreadyRemediated
		if k := x.lastStored(); k != "" {
			x.res.NewKeyID = k
		}
		// a create whose answer was lost may have landed after that run ended
		_, late, err := x.sweepLate(ctx, playbooks.StepAssess, x.st)
		if err != nil {
			x.res.Outcome = ""
			x.fail(playbooks.StepAssess, err)
			return true
		}
		d := "an earlier run finished this rotation"
		if len(late) > 0 {
			d += "; " + strings.Join(late, "; ")
		}
		if rm := x.removeStaleTemps(ctx); len(rm) > 0 {
			d += "; " + strings.Join(rm, "; ")
		}
		x.report(StepResult{Step: playbooks.StepAssess, Outcome: journal.OutcomeSkipped, Detail: d, Started: started})
		return true
	}
	sinks := x.sinkNames()
	var notes []string
	var keep string
	// the newest stored replacement that still exists is the one to keep
	for i := len(x.st.NewKeys) - 1; i >= 0; i-- {
		k := x.st.NewKeys[i]
		if !k.Deleted && !k.StoreFailed && k.StoredIn(sinks) && x.keys.has(k.ID) && x.own(k.ID) {
			keep = k.ID
			break
		}
	}
	for _, k := range keys {
		id := k.ID.String()
		if id == x.p.KeyID.String() || id == keep {
			continue
		}
		nk, ours := x.st.Key(id)
		if !ours || nk.Deleted {
			continue // a key respond never got the secret of: sweepLate judges it below
		}
		if !ownKey(x.st, k) {
			// the journal says so, the cloud does not: a key that existed before, or a journal
			// respond did not write (journaltrust.go)
			x.warn(notOwnWarning(k, x.user))
			continue
		}
		if err := x.deleteKey(ctx, playbooks.StepCreate, k.ID, "orphan replacement (secret never stored): deleted, a new one will be created", false); err != nil {
			x.fail(playbooks.StepCreate, err)
			return true
		}
		notes = append(notes, "deleted orphan "+id)
	}
	x.replacement = keep
	// keys that appeared after a create whose answer was lost (a timeout, a crash)
	_, late, err := x.sweepLate(ctx, playbooks.StepCreate, x.st)
	if err != nil {
		x.fail(playbooks.StepCreate, err)
		return true
	}
	notes = append(notes, late...)
	if keep != "" {
		notes = append(notes, "replacement "+keep+" was created and stored by an earlier run")
	}
	if !leakedPresent {
		x.leakedDeleted = true
		notes = append(notes, "leaked key already deleted")
	}
	notes = append(notes, x.removeStaleTemps(ctx)...)
	if len(notes) > 0 {
		x.report(StepResult{Step: playbooks.StepAssess, Outcome: journal.OutcomeDone, Detail: "resumed: " + strings.Join(notes, "; "), Started: started, Duration: x.d.now().Sub(started)})
	}
	return false
}

func (x *run) lastStored() string {
	for i := len(x.st.NewKeys) - 1; i >= 0; i-- {
		if k := x.st.NewKeys[i]; !k.Deleted && !k.StoreFailed {
			return k.ID
		}
	}
	return ""
}
