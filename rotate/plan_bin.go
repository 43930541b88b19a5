package rotate

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/respond-dev/respond/detect"
	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/rotate/journal"
)

// planPurge plans a key someone already deleted: it sits in its user's recycle bin, restorable
// until its DeleteDate, so the delete step purges it. A replacement is created only when the
// playbook creates one, the user still exists and holds no key created after the leaked one (a
// human who deleted the key by hand has usually made its replacement already) and is under the
// two-key limit.
func planPurge(p Plan, f detect.Finding, snap Snapshot, s Settings, resuming bool) Plan {
	b := snap.Binned
	o := snap.Owner
	p.Owner = &o
	p.Decision = DecisionPurge
	p.Reason = "deleted but restorable until " + b.DeleteDate.UTC().Format(time.RFC3339) + ": purge"
	p.Resuming = resuming
	p.RecycleBin = b
	p.Purge = PurgeReason
	p.KeyCreated = b.CreateDate
	p.LastUsed = snap.LastUsed
	user := o.UserName
	replace, why := replacementWanted(snap, s)
	for _, k := range snap.Keys {
		note := "not touched"
		if snap.Resume != nil {
			if nk, ok := snap.Resume.Key(k.ID.String()); ok && nk.Created {
				note = "created by an earlier respond run: kept if stored in every sink, else deleted and created again"
			}
		}
		if note == "not touched" && newerThanLeak(k, b) && !ownDelete(snap.Resume) {
			note = "created after the leaked key: taken for its replacement; not touched"
		}
		p.OtherKeys = append(p.OtherKeys, OtherKey{ID: k.ID, Status: k.Status, CreateDate: k.CreateDate, Note: note})
	}
	for _, st := range s.Steps {
		ps := PlannedStep{Step: st}
		switch st {
		case playbooks.StepLocate:
			ps.Actions = []string{"done before planning (strategy " + cmp.Or(o.Strategy, "journal") + ")"}
		case playbooks.StepAssess:
			ps.Actions = []string{"actiontrail:LookupEvents(EventAccessKeyId=" + f.KeyID.String() + ")"}
		case playbooks.StepCreate:
			if !replace {
				continue
			}
			ps.Actions = []string{"ram:CreateAccessKey(UserName=" + user + ")"}
		case playbooks.StepStore:
			if !replace {
				continue
			}
			ps.Actions = storeActions(s.Sinks)
			ps.Note = "if a sink fails: the replacement is deleted and the leaked key is still purged"
		case playbooks.StepDelete:
			ps.Actions = purgeActions(b.UserID, f.KeyID)
			ps.Note = "already deleted (in the recycle bin since " + b.RecycleDate.UTC().Format(time.RFC3339) + "): purge, since " + PurgeWhy
			if why != "" {
				ps.Note += "; no replacement: " + why
			}
		case playbooks.StepVerify:
			ps = verifyStep(s, user, f.KeyID, replace, p.SecretKnown)
		case playbooks.StepNotify:
			ps.Actions = notifyActions()
		}
		p.Steps = append(p.Steps, ps)
	}
	p.LeftForHuman = append(leftForHuman(),
		"check who deleted the key (ActionTrail DeleteAccessKey) and whether anyone restored keys from the recycle bin (RestoreAccessKeyFromRecycleBin)")
	if why != "" && slices.Contains(s.Steps, playbooks.StepCreate) {
		p.LeftForHuman = append(p.LeftForHuman, "no replacement was created ("+why+"): make sure the application has a working key")
	}
	return p
}

// replacementWanted says whether a purge plan creates a replacement, and why not.
func replacementWanted(snap Snapshot, s Settings) (bool, string) {
	b, user := snap.Binned, snap.Owner.UserName
	switch {
	case !slices.Contains(s.Steps, playbooks.StepCreate):
		return false, ""
	case b.UserRecycled:
		return false, "the user " + user + " is deleted too (in the RAM user recycle bin)"
	}
	for _, k := range snap.Keys {
		if snap.Resume != nil {
			if _, ours := snap.Resume.Key(k.ID.String()); ours {
				continue // respond's own replacement: reconciled by the run
			}
		}
		if newerThanLeak(k, b) && !ownDelete(snap.Resume) {
			return false, "user " + user + " already holds " + k.ID.String() + ", created after the leaked key"
		}
	}
	if len(snap.Keys) >= 2 {
		return false, "user " + user + " already holds 2 AccessKeys (the RAM limit)"
	}
	return true, ""
}

// ownDelete reports whether an unfinished run of respond sent the leaked key's delete (its answer
// may have been lost to a crash; a user at the two-key limit has it deleted before the create):
// the key in the bin is respond's doing, not a human's who has made the replacement already, and
// the run still owes the replacement.
func ownDelete(st *journal.State) bool {
	return st != nil && !st.Done && (st.LeakedDeleted ||
		st.InFlight != nil && st.InFlight.Action == "ram:DeleteAccessKey" && st.InFlight.NewKeyID == "")
}

// newerThanLeak reports whether k was created after the binned key (after its deletion when its
// creation is unknown).
func newerThanLeak(k ram.AccessKey, b *ram.BinnedKey) bool {
	leak := b.CreateDate
	if leak.IsZero() {
		leak = b.RecycleDate
	}
	return !k.CreateDate.IsZero() && !leak.IsZero() && k.CreateDate.After(leak)
}

// storeActions are the store step's: one per sink.
func storeActions(sinks []PlannedSink) []string {
	if len(sinks) == 0 {
		return []string{"no sink configured: the new secret would be lost"}
	}
	var out []string
	for _, sk := range sinks {
		out = append(out, "sink "+sk.Name+" ("+sk.Kind+"): "+sk.Describe)
	}
	return out
}

// verifyStep is the verify step as a plan shows it; create says a new key is to authenticate.
func verifyStep(s Settings, user string, id accesskey.ID, create, secretKnown bool) PlannedStep {
	ps := PlannedStep{Step: playbooks.StepVerify, Actions: []string{"ram:ListAccessKeys(UserName=" + user + ")", binCheckAction(id)}}
	if create {
		ps.Actions = append(ps.Actions, "sts:GetCallerIdentity (signed with the new key)")
	}
	if secretKnown && s.CheckLeakedSecret {
		ps.Actions = append(ps.Actions, "sts:GetCallerIdentity (signed with the leaked key: must be rejected)")
	}
	ps.Note = fmt.Sprintf("retried up to %s every %s for propagation", s.VerifyTimeout, s.VerifyInterval)
	return ps
}

// notifyActions are the notify step's.
func notifyActions() []string { return []string{"notify: summary without secrets"} }

// leftForHuman is what every rotation leaves for a human.
func leftForHuman() []string {
	return []string{
		"remove the leaked key from the code or configuration where it was found, and from history (git filter-repo or BFG); forks and clones keep it",
		"review what the leaked key did (the assess step's events) for persistence: new users, keys, policies",
	}
}

// purgeActions are the calls of the purge: the purge itself and the check that follows it.
func purgeActions(userID string, id accesskey.ID) []string {
	if userID == "" {
		userID = "<from GetAccessKeyInfoInRecycleBin>"
	}
	return []string{
		"ram:DeleteAccessKeyInRecycleBin(UserId=" + userID + ", UserAccessKeyId=" + id.String() + ")",
		binCheckAction(id),
	}
}

// binCheckAction is the check that no recycle bin holds the key.
func binCheckAction(id accesskey.ID) string {
	return "ram:GetAccessKeyInfoInRecycleBin(UserAccessKeyId=" + id.String() + "): must find nothing"
}

// binUnchecked warns that the recycle bin could not be asked: the key may still be restorable.
func binUnchecked(p *Plan, snap Snapshot) {
	if snap.BinErr == nil {
		return
	}
	p.Warnings = append(p.Warnings, "recycle bin not checked ("+snap.BinErr.Error()+
		"): a deleted key stays restorable for 30 days; grant ram:GetAccessKeyInfoInRecycleBin and ram:DeleteAccessKeyInRecycleBin")
	p.LeftForHuman = append(p.LeftForHuman, "check the AccessKey recycle bin of "+snap.Owner.UserName+
		" (console: the user's AccessKeys, recycle bin) and delete "+p.KeyID.String()+" there for good")
}
