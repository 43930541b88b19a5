package rotate

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/rotate/hunt"
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

// confirmRemediated asks the cloud, as the plan's key is about to be reported already
// remediated, for the evidence of it as it stands now: the owner no longer lists the key, no
// recycle bin holds it (only a not-found says so), and, when the leaked secret is known and the
// playbook checks it, the cloud knows no such id. The plan may have been made with the bin
// unreadable (a 5xx, a throttle, a refusal: Snapshot.BinErr, a warning in the plan), or before
// someone restored the key or deleted it by hand; without that evidence the key is not
// remediated and its alerts stay open.
func confirmRemediated(ctx context.Context, p Plan, d Deps) error {
	if p.Owner == nil || d.Accounts == nil {
		return errors.New("the owner's account is unknown: the key cannot be confirmed gone")
	}
	api, err := d.Accounts.API(ctx, p.Owner.Account.ID)
	if err != nil {
		return fmt.Errorf("open account %s to confirm the key is gone: %w", p.Owner.Account.ID, err)
	}
	keys, err := api.ListAccessKeys(ctx, p.Owner.UserName)
	if err != nil {
		return fmt.Errorf("list access keys of %s to confirm the key is gone: %w", p.Owner.UserName, err)
	}
	if slices.ContainsFunc(keys, func(k ram.AccessKey) bool { return k.ID == p.KeyID }) {
		return fmt.Errorf("the key is back among the keys of %s (restored from the recycle bin?): run again to rotate it", p.Owner.UserName)
	}
	if err := unbinned(ctx, api, p.KeyID); err != nil {
		return err
	}
	if !p.CheckLeakedSecret || p.secret.IsZero() || d.Verifier == nil {
		return nil
	}
	_, err = d.Verifier.Authenticates(ctx, p.KeyID, p.secret)
	switch {
	case ram.KeyUnknown(err):
		return nil
	case err == nil:
		return errors.New("the leaked pair still authenticates, though no list shows the key: run again")
	}
	return fmt.Errorf("the leaked secret was not rejected as an unknown id: %w", err)
}

// unbinned is nil when GetAccessKeyInfoInRecycleBin finds the key in no bin, else why the key
// may still be restorable.
func unbinned(ctx context.Context, api Cloud, id accesskey.ID) error {
	err := hunt.NotBinned(ctx, api, id)
	var be *hunt.BinnedError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &be):
		return fmt.Errorf("the key is deleted but %w: run again to purge it", err)
	}
	return fmt.Errorf("the key is gone from its user's keys, but it may still be restorable: %w", err)
}
