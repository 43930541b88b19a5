package rotate

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/respond-dev/respond/ram"
)

// InspectLocated is Inspect once the owner search has run: owner is what it found, or locateErr
// why it did not (neither is used for a key that cannot be rotated). It reads the journal's
// state, the owner's keys (unless the search listed them), the key's last use and its ActionTrail
// events; d.Locator is not used. It only reads.
func InspectLocated(ctx context.Context, f Finding, owner ram.Owner, locateErr error, d Deps) Snapshot {
	var snap Snapshot
	if st, ok, err := readState(d.StateDir, f.KeyID); err == nil && ok {
		snap.Resume = &st
	}
	if !f.KeyID.Rotatable() {
		return snap
	}
	if err := locateErr; err != nil {
		snap.LocateErr = fmt.Errorf("locate owner of %s: %w", f.KeyID, err)
		if snap.Resume == nil || snap.Resume.UserName == "" || !errors.Is(err, ram.ErrOwnerNotFound) {
			return snap
		}
		// The key is gone from every user; the journal knows whose it was.
		owner = ram.Owner{KeyID: f.KeyID, Account: ram.Account{ID: snap.Resume.AccountID},
			UserName: snap.Resume.UserName, Strategy: "journal"}
	} else {
		snap.Found = true
	}
	snap.Owner = owner
	if owner.Root {
		// the root key cannot be rotated, but what it did still matters to whoever deletes it
		if api, err := d.Accounts.API(ctx, owner.Account.ID); err == nil {
			inspectEvents(ctx, &snap, api, f.KeyID, d)
		}
		return snap
	}
	api, err := d.Accounts.API(ctx, owner.Account.ID)
	if err != nil {
		snap.LocateErr = fmt.Errorf("open account %s: %w", owner.Account.ID, err)
		snap.Found = false
		return snap
	}
	// The locator's list was taken moments ago, and nothing changed the keys since.
	keys := owner.Keys
	if !snap.Found || keys == nil {
		if keys, err = api.ListAccessKeys(ctx, owner.UserName); err != nil {
			snap.LocateErr = fmt.Errorf("list access keys of %s: %w", owner.UserName, err)
			return snap
		}
	}
	snap.Keys = keys
	if !slices.ContainsFunc(keys, func(k ram.AccessKey) bool { return k.ID == f.KeyID }) {
		snap.AlreadyGone = true
		snap.Found = false
		return snap
	}
	snap.LocateErr = nil
	snap.Found = true
	if t, err := api.GetAccessKeyLastUsed(ctx, owner.UserName, f.KeyID); err == nil {
		snap.LastUsed = t
	} else {
		snap.LastUsedErr = fmt.Errorf("get last use of %s: %w", f.KeyID, err)
	}
	inspectEvents(ctx, &snap, api, f.KeyID, d)
	return snap
}
