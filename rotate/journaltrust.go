package rotate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/rotate/journal"
)

// The cloud is the authority, the journal only a memory (design §6 rule 9). A journal in the
// state directory could have been planted or edited, or come from another run against another
// cloud: respond resumes what it tells of only when the cloud confirms its owner, takes for its
// own only keys the journal created after the rotation began, and never touches a key that
// existed before.

// DecisionJournalUnconfirmed is the decision when the cloud knows the key's owner and the key's
// journal disagrees with it, or bears signs that respond did not write it as it stands
// (journal.State.Suspect): the journal is not acted on, nor is anything else until a person looks
// at it (refused by policy, exit 5).
const DecisionJournalUnconfirmed Decision = "journal-unconfirmed"

// journalDoubt is why the journal st cannot be trusted for the key the cloud says owner owns, or
// "" when it can: it names the same account and user, and nothing in it looks planted or edited.
func journalDoubt(st journal.State, owner ram.Owner) string {
	if len(st.Suspect) > 0 {
		return "the journal of an earlier run does not look like one respond wrote: " + strings.Join(st.Suspect, "; ")
	}
	if st.AccountID != owner.Account.ID || st.UserName != owner.UserName {
		return fmt.Sprintf("the journal of an earlier run names user %s in account %s, but the cloud says the key belongs to user %s in account %s",
			quoteName(st.UserName), quoteName(st.AccountID), quoteName(owner.UserName), quoteName(owner.Account.ID))
	}
	return ""
}

// confirmGone asks the cloud whether the journal st is right that the key, which the owner
// search found on no user, was its user's: the key is still on that user (the search did not
// cover it), or it is in that user's recycle bin (deleted, by an earlier run or by hand), or —
// once purged, when no bin can name the user any more — the journal records that respond deleted
// and purged it, the user exists and the key is nowhere. It returns the user's keys when
// confirmed, else why not.
func confirmGone(ctx context.Context, id accesskey.ID, st journal.State, d Deps) ([]ram.AccessKey, string) {
	doubt := func(why string) string {
		return fmt.Sprintf("the journal of an earlier run names user %s in account %s, but the cloud does not confirm it: %s",
			quoteName(st.UserName), quoteName(st.AccountID), why)
	}
	if len(st.Suspect) > 0 {
		return nil, "the journal of an earlier run does not look like one respond wrote: " + strings.Join(st.Suspect, "; ")
	}
	if st.AccountID == "" || st.UserName == "" {
		return nil, doubt("it names no owner")
	}
	api, err := d.Accounts.API(ctx, st.AccountID)
	if err != nil {
		return nil, doubt(fmt.Sprintf("the account cannot be opened (%v)", err))
	}
	keys, err := api.ListAccessKeys(ctx, st.UserName)
	if err != nil {
		return nil, doubt(fmt.Sprintf("the user's keys cannot be listed (%v)", err))
	}
	if slices.ContainsFunc(keys, func(k ram.AccessKey) bool { return k.ID == id }) {
		return keys, ""
	}
	b, err := api.GetAccessKeyInfoInRecycleBin(ctx, id)
	switch {
	case errors.Is(err, ram.ErrNotFound) && (st.LeakedPurged || st.LeakedPurgeTried):
		// respond itself purged the key (deleted by it or by hand, the purge journaled, or its
		// answer lost): no bin can
		// name its user any more, and the cloud says what the journal says — the user exists and
		// the key is nowhere. This is the one case where the journal's own record stands in for
		// the cloud (a run killed between the purge and the create must finish); the state
		// directory that holds it is checked to be the user's and closed to others.
		return keys, ""
	case errors.Is(err, ram.ErrNotFound):
		return nil, doubt("the key is neither on that user nor in a recycle bin")
	case err != nil:
		return nil, doubt(fmt.Sprintf("the key is not on that user, and the recycle bin could not be read (%v)", err))
	case b.UserName != st.UserName:
		return nil, doubt("the key is not on that user, and the recycle bin holding it is user " + quoteName(b.UserName) + "'s")
	}
	return keys, ""
}

// ownKey reports whether k, a key on the rotation's user, may be taken for a replacement respond
// created in the rotation st records (to keep it, or to delete it as an orphan): the journal
// records its create (the intent before the result), the cloud dates it no earlier than the
// rotation's first begin (to the second: the cloud's CreateDate has no finer grain), and it is
// not among the keys the user held before the first create. A key that existed when the rotation
// began is never respond's.
func ownKey(st journal.State, k ram.AccessKey) bool {
	nk, ok := st.Key(k.ID.String())
	if !ok || !nk.Created || st.FirstCreate.IsZero() || st.Started.IsZero() || len(st.Suspect) > 0 {
		return false
	}
	if slices.Contains(st.Before, k.ID.String()) || k.CreateDate.IsZero() {
		return false
	}
	return !k.CreateDate.Before(st.Started.Truncate(time.Second))
}

// existedAtBegin reports whether the cloud dates k before the rotation st records began.
func existedAtBegin(st journal.State, k ram.AccessKey) bool {
	return !st.Started.IsZero() && !k.CreateDate.IsZero() && k.CreateDate.Before(st.Started.Truncate(time.Second))
}

// notOwnWarning is the warning for a key the journal claims and the cloud does not confirm.
func notOwnWarning(k ram.AccessKey, user string) string {
	return "key " + k.ID.String() + " of " + user + " is named by the journal as respond's, but the cloud dates it " +
		k.CreateDate.UTC().Format(time.RFC3339) + ", before the rotation began, or the journal does not record its create: not touched"
}

// quoteName is a name from the journal or the cloud, safe to print.
func quoteName(s string) string {
	if s == "" {
		return `""`
	}
	return accesskey.Printable(s)
}

// journalUnconfirmedPlan fills in the plan of a key whose journal the cloud contradicts.
func journalUnconfirmedPlan(p *Plan, snap Snapshot) {
	p.Decision = DecisionJournalUnconfirmed
	p.Reason = snap.JournalDoubt + ": respond does not act on a journal the cloud does not confirm, nor on the key while it is there"
	p.LeftForHuman = []string{
		"look at the key's journal (" + journal.FileName(p.KeyID) + " in the state directory): if no respond run of yours wrote it, someone else can write to the state directory",
		"once understood, move the journal aside (keep it for the investigation) and run respond again: it starts a new rotation",
	}
}

// own reports whether the user's key id, as the run last listed it, is a replacement of this
// rotation (ownKey).
func (x *run) own(id string) bool {
	for _, k := range x.keys.list {
		if k.ID.String() == id {
			return ownKey(x.st, k)
		}
	}
	return false
}

// checkJournal refuses to go on with a journal that names another owner than the plan's, or that
// does not look like one respond wrote: the plan was made without it (Inspect), or by a caller
// that did not inspect; either way it is not appended to, nor acted on.
func (x *run) checkJournal() error {
	st := x.st
	if st.Runs == 0 && len(st.Suspect) == 0 {
		return nil
	}
	if doubt := journalDoubt(st, *x.p.Owner); doubt != "" {
		return errors.New(doubt + ": not acted on (move the journal aside once understood)")
	}
	return nil
}
