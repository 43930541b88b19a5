package rotate

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/rotate/journal"
)

// watchLate deals with creates whose answer never came (journal.State.LostCreates): it deletes
// the keys that are their late result (sweepLate) in the list verify just took, and while some
// are still missing and the late-create window is open, lists the user's keys again every
// VerifyInterval until the verify deadline. A lost create that is still unaccounted for at the
// end is a problem (the run ends partial, and a re-run looks again); once the window has passed
// with no key, the create is taken as not carried out. A run with no lost create makes no call.
func (x *run) watchLate(ctx context.Context, deadline time.Time) (checks, problems []string) {
	if x.j == nil {
		return nil, nil
	}
	st, err := x.j.State()
	if err != nil {
		return nil, []string{err.Error()}
	}
	found, notes, err := x.sweepLate(ctx, playbooks.StepVerify, st)
	checks = append(checks, notes...)
	if err != nil {
		return checks, []string{err.Error()}
	}
	if st.LostCreates == 0 {
		return checks, nil
	}
	pending := st.LostPending() - found
	until := st.LastLost.Add(x.d.lateWindow())
	for pending > 0 && x.d.now().Before(until) {
		wait := x.p.VerifyInterval
		if !x.d.now().Add(wait).Before(deadline) || ctx.Err() != nil {
			break
		}
		if err := x.d.sleep(ctx, wait); err != nil {
			break
		}
		keys, err := x.api.ListAccessKeys(ctx, x.user)
		if err != nil {
			problems = append(problems, "list access keys (watching for the late result of a lost create): "+err.Error())
			return checks, problems
		}
		x.keys.set(keys)
		n, notes, err := x.sweepLate(ctx, playbooks.StepVerify, st)
		checks = append(checks, notes...)
		if err != nil {
			return checks, append(problems, err.Error())
		}
		pending -= n
	}
	switch {
	case pending <= 0:
		if found > 0 || len(notes) > 0 || st.LateFound > 0 {
			checks = append(checks, "every CreateAccessKey that got no answer is accounted for")
		}
	case !x.d.now().Before(until):
		checks = append(checks, fmt.Sprintf("%d CreateAccessKey attempt(s) that got no answer left no key within %s: not carried out", pending, x.d.lateWindow()))
	default:
		problems = append(problems, fmt.Sprintf("%d CreateAccessKey attempt(s) got no answer and no key from them has appeared yet, "+
			"but the cloud may still carry them out (until about %s): run `%s` again to look again and delete such a key",
			pending, until.UTC().Format(time.RFC3339), x.resume()))
	}
	return checks, problems
}

// sweepLate deletes the keys in the run's list of the user's keys that are the late result of a
// create whose answer never came (st.LostCreates): a key that is not the leaked key, not one the user held before any
// create (st.Before), not a key respond knows (this journal's replacements, another journal's)
// and that the cloud dates from the rotation's first create (less CreateDateSkew) to the end of
// the late-create window after the last lost create (plus CreateDateSkew). Any other unknown key
// is a human's: never touched, reported as a warning. It returns how many it deleted and one
// note per key for the step's detail.
func (x *run) sweepLate(ctx context.Context, s playbooks.StepID, st journal.State) (int, []string, error) {
	if st.FirstCreate.IsZero() {
		return 0, nil, nil // no create yet (contain-only, contain-first before its create): nothing of ours to find
	}
	var cands []ram.AccessKey
	for _, k := range x.keys.list {
		id := k.ID.String()
		if k.ID == x.p.KeyID || slices.Contains(st.Before, id) || id == x.replacement ||
			(x.newKey != nil && k.ID == x.newKey.ID) {
			continue
		}
		if _, ours := st.Key(id); ours {
			continue
		}
		cands = append(cands, k)
	}
	if len(cands) == 0 {
		return 0, nil, nil
	}
	others, err := x.othersNewKeys()
	if err != nil {
		// without them another rotation's replacement could be taken for a late key of ours
		return 0, nil, fmt.Errorf("no late key deleted: the other journals (whose replacements are never taken for late keys) cannot be read: %w", err)
	}
	from := st.FirstCreate.Add(-CreateDateSkew)
	to := st.LastLost.Add(x.d.lateWindow() + CreateDateSkew)
	found := 0
	var notes []string
	for _, k := range cands {
		id := k.ID.String()
		if others[id] {
			continue // the replacement of another leaked key of this user
		}
		if st.LostCreates == 0 || k.CreateDate.IsZero() || existedAtBegin(st, k) ||
			k.CreateDate.Before(from) || k.CreateDate.After(to) {
			x.warn(humanKeyWarning(k, x.user))
			continue
		}
		why := "deleted orphan " + id + " (created " + k.CreateDate.UTC().Format(time.RFC3339) +
			"): the late result of a CreateAccessKey whose answer never came; its secret was never known"
		if err := x.deleteKey(ctx, s, k.ID, why, true); err != nil {
			return found, notes, err
		}
		found++
		notes = append(notes, why)
	}
	return found, notes, nil
}

// othersNewKeys are the replacements other journals in the state directory recorded (another
// leaked key of the same user may be rotated at the same time): never taken for orphans here.
// A journal that cannot be read is an error: the sweep then deletes nothing.
func (x *run) othersNewKeys() (map[string]bool, error) {
	out := map[string]bool{}
	ls, err := journal.List(x.d.StateDir)
	if err != nil {
		return nil, err
	}
	for _, st := range ls {
		if st.KeyID == x.p.KeyID.String() {
			continue
		}
		for _, k := range st.NewKeys {
			out[k.ID] = true
		}
	}
	return out, nil
}

func humanKeyWarning(k ram.AccessKey, user string) string {
	return "key " + k.ID.String() + " of " + user + " (created " + k.CreateDate.UTC().Format(time.RFC3339) +
		") is not one respond created: not touched; check who created it"
}
