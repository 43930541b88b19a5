package rotate

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/rotate/journal"
)

// createAttempts bounds the creates of one create step whose outcome was ambiguous.
const createAttempts = 3

// create makes the replacement: CreateAccessKey against the run's fresh list of the user's keys
// (listed again when a failed or ambiguous call made it stale), journaled. At the key limit it
// deletes the leaked key first and tries again; after an ambiguous failure it deletes the keys
// that appeared (their secret is lost) and tries again, at most createAttempts times.
func (x *run) create(ctx context.Context) {
	started := x.d.now()
	if x.replacement != "" {
		x.report(StepResult{Step: playbooks.StepCreate, Outcome: journal.OutcomeSkipped, Started: started,
			Detail: "replacement " + x.replacement + " already created and stored by an earlier run"})
		return
	}
	if x.storeFailed {
		x.report(StepResult{Step: playbooks.StepCreate, Outcome: journal.OutcomeSkipped, Started: started, Detail: "a sink failed earlier in this run"})
		return
	}
	var reqs []string
	for n := 1; ; n++ {
		if err := ctx.Err(); err != nil {
			x.interrupt(playbooks.StepCreate, err)
			return
		}
		// before is the user's keys as the run knew them before this attempt: the journal's
		// record of keys that are not respond's. A key that appeared since (a list taken now
		// would show it) may be the late result of an earlier attempt, and must stay one respond
		// may delete.
		before := make([]string, 0, len(x.keys.list))
		for _, k := range x.keys.list {
			before = append(before, k.ID.String())
		}
		if !x.keys.fresh {
			// a failed or ambiguous call since the last list: the create is judged against a
			// list taken now
			keys, err := x.api.ListAccessKeys(ctx, x.user)
			if err != nil {
				if ctx.Err() != nil {
					x.interrupt(playbooks.StepCreate, err)
				} else {
					x.fail(playbooks.StepCreate, fmt.Errorf("list access keys of %s: %w", x.user, err))
				}
				return
			}
			x.keys.set(keys)
		}
		var nk ram.NewAccessKey
		var atLimit, ambiguous bool
		var cleanErr error
		intent := journal.Record{Kind: journal.KindIntent, Step: string(playbooks.StepCreate), Action: "ram:CreateAccessKey", Before: before}
		err := x.journaled(intent, func(res *journal.Record) error {
			var err error
			nk, err = x.api.CreateAccessKey(ctx, x.user, slices.Clone(x.keys.list))
			res.RequestID = requestID(err)
			switch {
			case err == nil:
				x.red.Add(nk.Secret) // before anything could print it
				res.Outcome, res.NewKeyID, res.RequestID, res.Lost = journal.OutcomeDone, nk.ID.String(), nk.RequestID, nk.LostAttempts
			case errors.Is(err, ram.ErrKeyLimit) && x.keys.has(x.p.KeyID.String()):
				atLimit = true
				x.keys.fresh = false // the cloud counts a key the list did not show
				res.Outcome, res.Error, res.Detail = journal.OutcomeFailed, err.Error(), "at the key limit: deleting the leaked key first"
			case errors.Is(err, ram.ErrTransient) || ctx.Err() != nil:
				ambiguous = true
				x.keys.fresh = false
				var found int
				found, cleanErr = x.cleanAmbiguous(ctx, before, err)
				res.Outcome, res.Error, res.Lost = journal.OutcomeUnknown, err.Error(), max(0, lostAttempts(ctx, err)-found)
			default:
				res.Outcome, res.Error = journal.OutcomeFailed, err.Error()
			}
			return err
		})
		if x.jerr != nil {
			return // the journal broke: the run has stopped
		}
		if err == nil {
			reqs = append(reqs, nk.RequestID)
			x.newKey = &nk
			x.keys.list = append(x.keys.list, ram.AccessKey{ID: nk.ID, Status: nk.Status, CreateDate: nk.CreateDate})
			detail := "created " + nk.ID.String() + " for " + x.user
			if nk.LostAttempts > 0 {
				detail += fmt.Sprintf("; %d earlier attempt(s) got no answer and may still be carried out by the cloud: verify watches for the key and deletes it", nk.LostAttempts)
			}
			x.report(StepResult{Step: playbooks.StepCreate, Outcome: journal.OutcomeDone, Started: started, Duration: x.d.now().Sub(started),
				Detail: detail, RequestID: nk.RequestID, RequestIDs: reqs})
			return
		}
		reqs = append(reqs, requestID(err))
		switch {
		case atLimit:
			if !x.deleteLeaked(ctx, playbooks.StepCreate) {
				return
			}
		case ambiguous:
			if cleanErr != nil {
				x.fail(playbooks.StepCreate, errors.Join(err, cleanErr))
				return
			}
			if ctx.Err() != nil {
				x.interrupt(playbooks.StepCreate, ctx.Err())
				return
			}
			if n >= createAttempts {
				x.fail(playbooks.StepCreate, err)
				return
			}
		default:
			x.fail(playbooks.StepCreate, err)
			return
		}
	}
}

// lostAttempts is how many attempts of a failed create got no answer, so that the cloud may
// still carry them out later: what ram counted, or one for a transport failure or an
// interruption in flight.
func lostAttempts(ctx context.Context, err error) int {
	var amb *ram.AmbiguousCreateError
	if errors.As(err, &amb) && amb.LostAttempts > 0 {
		return amb.LostAttempts
	}
	var re *ram.Error
	if ctx.Err() != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		errors.As(err, &re) && re.Status == 0 && errors.Is(err, ram.ErrTransient) {
		return 1
	}
	return 0
}

// cleanAmbiguous deletes the keys an ambiguous CreateAccessKey left behind (their secret is lost),
// never a key that was there before, nor one the cloud dates from before the create (a human's,
// which a list can miss when it was taken earlier). It returns how many it deleted.
func (x *run) cleanAmbiguous(ctx context.Context, before []string, err error) (int, error) {
	cctx, cancel := x.cleanupCtx(ctx)
	defer cancel()
	var hint []accesskey.ID
	var amb *ram.AmbiguousCreateError
	if errors.As(err, &amb) && !amb.Unverified {
		hint = amb.NewKeyIDs
	}
	// list again even when ram named the new keys: their CreateDate tells ours from a human's
	keys, lerr := x.api.ListAccessKeys(cctx, x.user)
	if lerr != nil {
		return 0, fmt.Errorf("list access keys of %s after an ambiguous create: %w", x.user, lerr)
	}
	since := x.d.now().Add(-CreateDateSkew)
	if x.j != nil {
		if st, serr := x.j.State(); serr == nil && !st.FirstCreate.IsZero() {
			since = st.FirstCreate.Add(-CreateDateSkew)
		}
	}
	found := 0
	for _, k := range keys {
		id := k.ID.String()
		if slices.Contains(before, id) || k.ID == x.p.KeyID || (len(hint) > 0 && !slices.Contains(hint, k.ID)) {
			continue // never a key that existed before the create
		}
		if !k.CreateDate.IsZero() && k.CreateDate.Before(since) {
			x.warn(humanKeyWarning(k, x.user))
			continue
		}
		if derr := x.deleteKey(cctx, playbooks.StepCreate, k.ID, "orphan of an ambiguous create (secret lost): deleted", false); derr != nil {
			return found, derr
		}
		found++
	}
	return found, nil
}
