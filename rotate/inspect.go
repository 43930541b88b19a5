package rotate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/respond-dev/respond/detect"
	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/rotate/assess"
	"github.com/respond-dev/respond/rotate/hunt"
	"github.com/respond-dev/respond/rotate/journal"
)

// Snapshot is what the cloud said about the key before planning (see Inspect).
type Snapshot struct {
	Owner     ram.Owner
	Keys      []ram.AccessKey // the owner's keys, leaked one included while it exists
	LastUsed  time.Time
	Found     bool
	LocateErr error
	// AlreadyGone: the owner is known (from the journal or the locator) but the key is no longer
	// in its ListAccessKeys.
	AlreadyGone bool
	// Resume is the journal of an earlier run on this key, when one exists and the cloud does not
	// contradict it (journaltrust.go).
	Resume *journal.State
	// JournalDoubt, when set, is why the key's journal is not trusted: the cloud does not confirm
	// its owner, or it does not look like one respond wrote. Resume is nil then.
	JournalDoubt string
	// LastUsedErr is why GetAccessKeyLastUsed gave no answer (the plan shows it as a warning).
	LastUsedErr error
	// Events are the key's ActionTrail events read by EventQuery (every page); EventQuery.End is
	// zero when they were not read. AssessErr is why they could not be read: a warning, never
	// fatal.
	Events     []ram.Event
	EventQuery ram.EventQuery
	AssessErr  error
	// Binned is the key in its user's recycle bin, when it is no longer among the user's keys
	// but still restorable (inspect_bin.go); BinErr is why the bin could not be asked.
	Binned *ram.BinnedKey
	BinErr error
	// Incident is the hunt's graph over Events (Deps.Hunt), HuntErr why there is none; Inspected
	// is when Inspect ran (incident.go).
	Incident  *hunt.Graph
	HuntErr   error
	Inspected time.Time
	// Coverage is where the events were looked for: the regions asked, failed or skipped.
	Coverage *assess.Coverage
	// KMS is the KMS RAM credentials secret that manages the owner's key (kms.go), KMSErr why
	// KMS could not be asked (a warning).
	KMS    *KMSMatch
	KMSErr error
	// StateErr is why the key's journal could not be read (unsafe: an *journal.UnsafeStateError,
	// or unreadable): nothing is planned over it.
	StateErr error
}

// Inspect gathers the Snapshot Plan needs: the owner (by the Locator, or from the journal of an
// earlier run when the key is already gone), the owner's keys, the key's last use, the key's
// ActionTrail events over Deps.AssessWindow (every page; a failure is kept in AssessErr, never
// fatal), and the journal's state. It only reads.
func Inspect(ctx context.Context, f detect.Finding, d Deps) Snapshot {
	var owner ram.Owner
	var err error
	if f.KeyID.Rotatable() {
		owner, err = d.Locator.Locate(ctx, f.KeyID)
	}
	return InspectLocated(ctx, f, owner, err, d)
}

// InspectLocated is Inspect once the owner search has run: owner is what it found, or locateErr
// why it did not (neither is used for a key that cannot be rotated). It reads the journal's
// state, the owner's keys (unless the search listed them), the key's last use and its ActionTrail
// events; d.Locator is not used. It only reads.
func InspectLocated(ctx context.Context, f detect.Finding, owner ram.Owner, locateErr error, d Deps) Snapshot {
	snap := Snapshot{Inspected: d.now()}
	st, ok, err := readState(d.StateDir, f.KeyID)
	switch {
	case err != nil:
		snap.StateErr = err
		return snap
	case ok:
		snap.Resume = &st
	}
	if !f.KeyID.Rotatable() {
		return snap
	}
	if err := locateErr; err != nil {
		snap.LocateErr = fmt.Errorf("locate owner of %s: %w", f.KeyID, err)
		if snap.Resume == nil || !errors.Is(err, ram.ErrOwnerNotFound) {
			return snap
		}
		// The key is on no user the search covered; the journal says whose it was, which the
		// cloud must confirm: the key is still on that user, or in that user's recycle bin.
		keys, doubt := confirmGone(ctx, f.KeyID, *snap.Resume, d)
		if doubt != "" {
			snap.JournalDoubt, snap.Resume = doubt, nil
			return snap
		}
		owner = ram.Owner{KeyID: f.KeyID, Account: ram.Account{ID: snap.Resume.AccountID},
			UserName: snap.Resume.UserName, Strategy: "journal", Keys: keys}
	} else {
		snap.Found = true
		if snap.Resume != nil {
			if doubt := journalDoubt(*snap.Resume, owner); doubt != "" {
				snap.JournalDoubt, snap.Resume = doubt, nil
			}
		}
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
	if keys == nil {
		if keys, err = api.ListAccessKeys(ctx, owner.UserName); err != nil {
			snap.LocateErr = fmt.Errorf("list access keys of %s: %w", owner.UserName, err)
			return snap
		}
	}
	snap.Keys = keys
	if !slices.ContainsFunc(keys, func(k ram.AccessKey) bool { return k.ID == f.KeyID }) {
		snap.AlreadyGone = true
		snap.Found = false
		inspectBin(ctx, &snap, api, f.KeyID, d)
		if snap.Resume != nil && snap.Resume.Unfinished() {
			inspectKMS(ctx, &snap, api, f.KeyID, d) // an earlier run may have rotated through KMS
		}
		return snap
	}
	snap.LocateErr = nil
	snap.Found = true
	if t, err := api.GetAccessKeyLastUsed(ctx, owner.UserName, f.KeyID); err == nil {
		snap.LastUsed = t
	} else {
		snap.LastUsedErr = fmt.Errorf("get last use of %s: %w", f.KeyID, err)
	}
	inspectKMS(ctx, &snap, api, f.KeyID, d)
	inspectEvents(ctx, &snap, api, f.KeyID, d)
	inspectHunt(ctx, &snap, f.KeyID, d)
	return snap
}

// inspectEvents reads the key's ActionTrail events into snap.
func inspectEvents(ctx context.Context, snap *Snapshot, api assess.EventLister, id accesskey.ID, d Deps) {
	if d.NoEvents {
		return
	}
	if q, col, err, ok := d.trail.take(ctx, id, d.AssessWindow); ok {
		if err != nil {
			snap.AssessErr = err
			return
		}
		snap.Events, snap.EventQuery, snap.Coverage = col.Events, q, &col.Coverage
		return
	}
	q, err := assess.Query(ram.EventQuery{AccessKeyID: id}, d.AssessWindow, d.now())
	if err != nil {
		snap.AssessErr = err
		return
	}
	col, err := collectEvents(ctx, api, q, d.AssessRegions)
	if err != nil {
		snap.AssessErr = err
		return
	}
	snap.Events, snap.EventQuery, snap.Coverage = col.Events, q, &col.Coverage
}

// readState reads the key's journal alone (not every journal in dir: a batch inspects each of its
// keys, and serve's state directory grows with every key it remediated); ok is false when the key
// has none.
func readState(dir string, id accesskey.ID) (journal.State, bool, error) {
	if dir == "" || id.IsZero() {
		return journal.State{}, false, nil
	}
	st, err := journal.Read(dir, id)
	if err != nil {
		return journal.State{}, false, err
	}
	return st, st.Runs > 0 || len(st.Suspect) > 0, nil
}
