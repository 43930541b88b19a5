package rotate

import (
	"context"
	"errors"
	"fmt"

	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
)

// inspectBin looks for a key that is no longer among its owner's keys in the account's recycle
// bins: the locator's answer when the recycle-bin strategy found it, else one
// GetAccessKeyInfoInRecycleBin (an owner known from the journal or ActionTrail). A binned key is
// deleted but restorable: the plan purges it (DecisionPurge), and its events are read like a live
// key's. The bin names the owner by id; when it names another user than the one respond knew,
// the bin wins and that user's keys are listed.
func inspectBin(ctx context.Context, snap *Snapshot, api Cloud, id accesskey.ID, d Deps) {
	b := snap.Owner.RecycleBin
	if b == nil {
		got, err := api.GetAccessKeyInfoInRecycleBin(ctx, id)
		switch {
		case errors.Is(err, ram.ErrNotFound):
			return
		case err != nil:
			snap.BinErr = fmt.Errorf("look for %s in the recycle bin: %w", id, err)
			return
		}
		b = &got
	}
	snap.Binned = b
	o := &snap.Owner
	if b.UserID != "" {
		o.UserID = b.UserID
	}
	if b.UserName != "" && b.UserName != o.UserName {
		o.UserName = b.UserName
		keys, err := api.ListAccessKeys(ctx, b.UserName)
		switch {
		case errors.Is(err, ram.ErrNotFound):
			keys = nil // the user is deleted too
		case err != nil:
			snap.LocateErr = fmt.Errorf("list access keys of %s: %w", b.UserName, err)
			snap.Binned = nil
			return
		}
		snap.Keys = keys
	}
	inspectEvents(ctx, snap, api, id, d)
}
