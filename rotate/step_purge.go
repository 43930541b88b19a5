package rotate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/rotate/hunt"
	"github.com/respond-dev/respond/rotate/journal"
)

// PurgeWhy is the one-line reason for the purge, in the plan's notes.
const PurgeWhy = "a deleted key stays restorable for 30 days"

// PurgeReason is why the delete step does not end at DeleteAccessKey.
const PurgeReason = "a deleted key stays restorable for 30 days (the AccessKey recycle bin): anyone allowed " +
	"ram:RestoreAccessKeyFromRecycleBin could bring the leaked key back, so respond purges it " +
	"and checks that the bin no longer holds it; it never restores a key"

// actionPurge is the purge's action in the journal and the plan.
const actionPurge = "ram:DeleteAccessKeyInRecycleBin"

// purgeLeaked purges the leaked key, already deleted, from its user's recycle bin
// (DeleteAccessKeyInRecycleBin, journaled as its own intent and result), then checks with
// GetAccessKeyInfoInRecycleBin that no bin of the account holds it. The bin is addressed by
// the user's id: the owner's when known, else the one the bin itself names. A purge that finds
// nothing counts as done once the check agrees (an earlier run purged it, or the cloud did). It
// returns the step's detail, the request ids and whether it purged anything; an error leaves
// x.leakedPurged false.
func (x *run) purgeLeaked(ctx context.Context) (detail string, reqIDs []string, purged bool, err error) {
	id := x.p.KeyID
	var reqs []string
	userID := x.p.Owner.UserID
	if x.p.RecycleBin != nil && x.p.RecycleBin.UserID != "" {
		userID = x.p.RecycleBin.UserID
	}
	waited := false
	// await is for a bin that does not show the key this run deleted moments ago: it waits for the
	// bin to catch up (the delay is undocumented), and says why it did not, or whose bin holds it.
	// A wait cut short (interrupted, or a bin that stopped answering) proves nothing: an error.
	await := func() (string, bool, error) {
		if !x.binExpected || waited {
			return "", false, nil
		}
		waited = true
		b, err := x.awaitBin(ctx, x.api, x.p.KeyID)
		switch {
		case errors.Is(err, ram.ErrNotFound):
			return fmt.Sprintf("; the key, deleted moments ago, did not show in a recycle bin within %s (verify-timeout)", x.p.VerifyTimeout), false, nil
		case err != nil:
			return "", false, fmt.Errorf("wait for the key deleted moments ago to reach the recycle bin: %w", err)
		}
		if b.UserID != "" {
			userID = b.UserID
		}
		return "", true, nil
	}
	for attempt := 0; ; attempt++ {
		if userID == "" {
			b, err := x.api.GetAccessKeyInfoInRecycleBin(ctx, id)
			reqs = append(reqs, requestID(err))
			switch {
			case errors.Is(err, ram.ErrNotFound):
				note, binned, err := await()
				switch {
				case err != nil:
					return "", nonEmpty(reqs...), false, err
				case binned && userID != "":
					continue
				case binned:
					return "", nonEmpty(reqs...), false, fmt.Errorf("the leaked key is in a recycle bin, and the answer names no user to purge it from")
				}
				x.leakedPurged = true
				return "not in the recycle bin (GetAccessKeyInfoInRecycleBin finds nothing): nothing to purge" + note, nonEmpty(reqs...), false, nil
			case err != nil:
				return "", nonEmpty(reqs...), false, fmt.Errorf("find the leaked key in the recycle bin: %w", err)
			}
			userID = b.UserID
		}
		found := false
		intent := journal.Record{Kind: journal.KindIntent, Step: string(playbooks.StepDelete), Action: actionPurge,
			Detail: "purge the leaked key from the recycle bin of user id " + userID + " (a deleted key stays restorable for 30 days)"}
		err = x.journaled(intent, func(res *journal.Record) error {
			err := x.api.DeleteAccessKeyInRecycleBin(ctx, userID, id)
			res.RequestID = requestID(err)
			reqs = append(reqs, res.RequestID)
			switch {
			case err == nil:
				res.Outcome, found = journal.OutcomeDone, true
			case errors.Is(err, ram.ErrNotFound):
				res.Outcome, res.Detail = journal.OutcomeDone, "not in that recycle bin (already purged, or never binned): the check below decides"
			default:
				failedCall(ctx, res, err)
				return err
			}
			return nil
		})
		if x.jerr != nil {
			return "", nonEmpty(reqs...), purged, x.jerr
		}
		if err != nil {
			return "", nonEmpty(reqs...), purged, fmt.Errorf("purge %s from the recycle bin: %w", id, err)
		}
		purged = purged || found
		if found {
			detail = "purged from the recycle bin of user id " + userID
		} else {
			detail = "not in the recycle bin of user id " + userID + " (already purged)"
		}
		var b ram.BinnedKey
		b, err = x.api.GetAccessKeyInfoInRecycleBin(ctx, id)
		reqs = append(reqs, requestID(err))
		switch {
		case errors.Is(err, ram.ErrNotFound):
			note := ""
			if !found {
				var binned bool
				note, binned, err = await()
				if err != nil {
					return "", nonEmpty(reqs...), purged, err
				}
				if binned {
					continue // it reached the bin: purge it there
				}
			}
			x.leakedPurged = true
			return detail + "; GetAccessKeyInfoInRecycleBin no longer finds it" + note, nonEmpty(reqs...), purged, nil
		case err != nil:
			return "", nonEmpty(reqs...), purged, fmt.Errorf("check that the recycle bin no longer holds %s: %w", id, err)
		case attempt == 0 && b.UserID != "" && b.UserID != userID:
			userID = b.UserID // the bin names another user than the owner as respond knew it: purge there
			continue
		}
		return "", nonEmpty(reqs...), purged, fmt.Errorf("the leaked key is still in the recycle bin of user id %s (restorable until %s) after the purge",
			b.UserID, b.DeleteDate.UTC().Format(time.RFC3339))
	}
}

// awaitBin looks for a key in the recycle bins of api every VerifyInterval until VerifyTimeout
// has passed: a key deleted moments ago must reach its user's bin, and a bin that lags must not
// read as "already purged". The error is the bin's not-found (ram.ErrNotFound) when the key never
// showed, the interruption's when ctx ended the wait, else the last answer's (the bin could not be
// read: that proves nothing either way).
func (x *run) awaitBin(ctx context.Context, api hunt.BinFinder, id accesskey.ID) (ram.BinnedKey, error) {
	var b ram.BinnedKey
	deadline := x.d.now().Add(x.p.VerifyTimeout)
	err := x.retry(ctx, deadline, func() error {
		var err error
		b, err = api.GetAccessKeyInfoInRecycleBin(ctx, id)
		return err
	})
	if err != nil && ctx.Err() != nil {
		return b, fmt.Errorf("interrupted: %w", ctx.Err()) // retry joins a not-found with the interruption
	}
	return b, err
}
