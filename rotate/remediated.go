package rotate

import (
	"context"
	"slices"

	"github.com/respond-dev/respond/detect"
	"github.com/respond-dev/respond/rotate/journal"
)

// RemediatedBefore reports whether f is a key an earlier run remediated and the engine would
// find nothing left to do for, with that run's journal: f is a finding the engine acts on (a
// long-term key, not a canary, not an id-only finding from a source the configuration does not
// trust), its journal ended remediated, names the owner and looks like one respond wrote (a
// journal is a memory, not an authority: journal.State.Suspect), it leaves no deny policy in place
// (a run would lift an expired one, or the owner's quarantine), and the owner's key list (one
// ListAccessKeys) confirms the key gone. respond serve ends such a finding already-remediated
// without the batch's owner search over every account; anything else goes through Run, which
// decides the same way a CLI run does. The error is the key list's.
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
	keys, err := api.ListAccessKeys(ctx, st.UserName)
	if err != nil {
		return st, false, err
	}
	for _, k := range keys {
		if k.ID == f.KeyID {
			return st, false, nil
		}
	}
	return st, true, nil
}
