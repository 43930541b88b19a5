package source

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/respond-dev/respond/rotate/journal"
)

// PendingFile is the file in the state directory that lists the Security Center records respond
// left pending, and why (respond status shows them). A poll reads only the records found since
// the previous one, so a record left pending is taken up again only by a poll with a wider
// --since: this file is where it is not forgotten.
const PendingFile = "security-center-pending.json"

// pendingLockWait bounds how long UpdatePending waits for another respond's update of the list.
const pendingLockWait = 30 * time.Second

// maxPending bounds what LoadPending reads.
const maxPending = 16 << 20

// Pending is a record respond left pending, and why.
type Pending struct {
	Record Record `json:"record"`
	// Reason says why: a root-account key, the key was not remediated (and how its rotation
	// ended), the mark was not confirmed. It never holds a secret (the run's redactor has passed
	// over it).
	Reason string `json:"reason"`
	// RunID is the run that last left it pending ("" when the key was never rotated).
	RunID string `json:"run_id,omitempty"`
	// Since is when respond first left it pending, Updated when it last did.
	Since   time.Time `json:"since"`
	Updated time.Time `json:"updated"`
}

type pendingDoc struct {
	Records []Pending `json:"records"`
}

func pendingKey(r Record) string { return r.AccountID + "/" + strconv.FormatInt(r.ID, 10) }

// LoadPending reads the records left pending from dir (none when the file does not exist), in
// the order SavePending keeps: by account, then record id.
func LoadPending(dir string) ([]Pending, error) {
	var doc pendingDoc
	if _, err := readStateFile(dir, PendingFile, "Security Center records left pending", "delete it (the next poll with a wide --since finds them again)", maxPending, &doc); err != nil {
		return nil, err
	}
	return doc.Records, nil
}

// UpdatePending records what a run did to the records it looked at: left are the records it
// left pending (with their reason), closed those that are handled now (by this run, earlier, or
// by a person). Records of the file that the run did not look at are kept. The merged list is
// saved in dir and returned. now stamps Since (for a record new to the file) and Updated.
func UpdatePending(ctx context.Context, dir string, left []Pending, closed []Record, now time.Time) ([]Pending, error) {
	// respond serve and a CLI poll may both update the list: the read and the rewrite hold a lock
	// that works across processes, so that neither loses the other's update.
	ctx, cancel := context.WithTimeout(ctx, pendingLockWait)
	defer cancel()
	l, err := journal.LockFile(ctx, dir, PendingFile)
	if err != nil {
		return nil, fmt.Errorf("update the Security Center pending list: %w", err)
	}
	defer func() { _ = l.Unlock() }()
	cur, err := LoadPending(dir)
	if err != nil {
		return nil, err
	}
	byKey := map[string]Pending{}
	for _, p := range cur {
		byKey[pendingKey(p.Record)] = p
	}
	for _, r := range closed {
		delete(byKey, pendingKey(r))
	}
	now = now.UTC()
	for _, p := range left {
		k := pendingKey(p.Record)
		p.Since, p.Updated = now, now
		if old, ok := byKey[k]; ok && !old.Since.IsZero() {
			p.Since = old.Since
		}
		byKey[k] = p
	}
	out := make([]Pending, 0, len(byKey))
	for _, p := range byKey {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b Pending) int {
		return cmp.Or(cmp.Compare(a.Record.AccountID, b.Record.AccountID), cmp.Compare(a.Record.ID, b.Record.ID))
	})
	if len(cur) == 0 && len(out) == 0 {
		return out, nil // nothing to remember, and no file to replace
	}
	if err := writeStateFile(dir, PendingFile, "Security Center records left pending", pendingDoc{Records: out}); err != nil {
		return nil, err
	}
	return out, nil
}
