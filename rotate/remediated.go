package rotate

import (
	"context"
	"errors"
	"slices"

	"github.com/respond-dev/respond/detect"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/rotate/hunt"
	"github.com/respond-dev/respond/rotate/journal"
)

// RemediatedBefore reports whether f is a key an earlier run remediated and the engine would
// find nothing left to do for, with that run's journal: f is a finding the engine acts on (a
// long-term key, not a canary, not an id-only finding from a source the configuration does not
// trust), its journal ended remediated, names the owner and looks like one respond wrote (a
// journal is a memory, not an authority: journal.State.Suspect), it leaves no deny policy in place
// (a run would lift an expired one, or the owner's quarantine), and the cloud confirms the key gone
// for good (keyGone: off the owner's keys, in no recycle bin). respond serve ends such a finding already-remediated
// without the batch's owner search over every account; anything else goes through Run, which
// decides the same way a CLI run does. The error is the cloud's: the account's entry, the key
// list's or the recycle bin's (each proves nothing: the engine decides).
func (b *Batch) RemediatedBefore(ctx context.Context, f detect.Finding) (journal.State, bool, error) {
	if !f.KeyID.Rotatable() || b.untrusted(f) || slices.Contains(b.Config.CanaryIDs(), f.KeyID) {
		return journal.State{}, false, nil
	}
	st, err := journal.Read(b.StateDir, f.KeyID)
	if err != nil || !st.Done || st.UserName == "" || len(st.Suspect) > 0 || len(st.ActiveQuarantines()) > 0 ||
		(st.LastOutcome != journal.OutcomeRemediated && st.LastOutcome != journal.OutcomeAlreadyRemediated) {
		return st, false, nil
	}
	api, err := b.Session.API(ctx, st.AccountID)
	if err != nil {
		return st, false, err
	}
	gone, err := keyGone(ctx, api, st.UserName, f.KeyID)
	return st, gone, err
}

// keyGone reports whether the key is gone for good: not among its user's keys, and in no recycle
// bin. A finding RemediatedBefore confirms ends already-remediated and closes its alert without
// the engine, so "gone" needs the bin's not-found: a key deleted again since (it was back) sits
// restorable for 30 days, and a bin or a list that cannot be read proves nothing.
func keyGone(ctx context.Context, api Cloud, user string, id accesskey.ID) (bool, error) {
	keys, err := api.ListAccessKeys(ctx, user)
	if err != nil {
		return false, err
	}
	for _, k := range keys {
		if k.ID == id {
			return false, nil
		}
	}
	err = hunt.NotBinned(ctx, api, id) // the one reading of "no bin holds it"
	var be *hunt.BinnedError
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &be):
		return false, nil // in a bin: the engine purges it
	}
	return false, err
}
