package rotate

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/rotate/journal"
)

// The steps of a rotate-via-kms plan (plan_kms.go) that differ from a rotation's:
//   - create: kms:RotateSecret, journaled, with the rotation's VersionId (a resumed run sends the
//     same one, which KMS answers with success and ignores). A rotation already in progress is
//     waited for. At KMS's hourly limit, or when KMS refuses, respond deletes the leaked key
//     itself in the delete step (never left alive because KMS cannot rotate now).
//   - store: nothing: KMS is the sink.
//   - delete: the wait, bounded by kms-wait, until the secret's ACSCurrent holds a new key and
//     the leaked key is gone from ListAccessKeys; then the purge from the recycle bin. When the
//     wait runs out: the fallback, respond's own delete (and purge), and the run ends partial.
//   - with a playbook that deletes first: respond's own delete, then whether KMS already serves
//     a live key (a re-run after KMS rotated): remediated, else partial.

// kmsRun is a rotate-via-kms run's own state.
type kmsRun struct {
	// fallback, when set, is why the delete step deletes the leaked key itself instead of
	// waiting for KMS (the rotation request failed or hit the hourly limit).
	fallback string
	// since is when this run asked KMS to rotate (the rotation's start when no journal has one).
	since time.Time
}

// kmsStep runs step s of a rotate-via-kms plan when it differs from a rotation's; it reports
// whether it did.
func (x *run) kmsStep(ctx context.Context, s playbooks.StepID) bool {
	k := x.p.KMS
	if k == nil {
		return false
	}
	switch s {
	case playbooks.StepCreate:
		if k.DeletesFirst || k.Rotated {
			why := k.Why
			if k.Rotated {
				why = "KMS already rotated secret " + k.Secret + ": waiting for it to delete the leaked key"
			}
			x.report(StepResult{Step: s, Outcome: journal.OutcomeSkipped, Started: x.d.now(),
				Detail: "respond creates no key for a user KMS manages: " + why})
			return true
		}
		x.kmsRotate(ctx)
	case playbooks.StepStore:
		x.report(StepResult{Step: s, Outcome: journal.OutcomeSkipped, Started: x.d.now(),
			Detail: "no sink written: KMS is the sink (secret " + k.Secret + ", ACSCurrent)"})
	case playbooks.StepDelete:
		if k.DeletesFirst || x.kms.fallback != "" {
			why := k.Why
			if !k.DeletesFirst {
				why = x.kms.fallback
			}
			if x.deleteLeaked(ctx, playbooks.StepDelete) {
				x.kmsSettle(ctx, why)
			}
			return true
		}
		x.kmsWait(ctx)
	default:
		return false
	}
	return true
}

// kmsVersion is the rotation's VersionId: from its first run's id.
func (x *run) kmsVersion() string {
	if x.st.RunID != "" {
		return KMSVersionID(x.st.RunID)
	}
	return KMSVersionID(x.runID)
}

// kmsRotate asks KMS to rotate the secret, journaled.
func (x *run) kmsRotate(ctx context.Context) {
	started := x.d.now()
	k := x.p.KMS
	version := x.kmsVersion()
	if err := ctx.Err(); err != nil {
		x.interrupt(playbooks.StepCreate, err)
		return
	}
	var reqID, detail string
	x.kms.since = started
	intent := journal.Record{Kind: journal.KindIntent, Step: string(playbooks.StepCreate), Action: "kms:RotateSecret",
		Target: "secret/" + k.Secret, Detail: "VersionId=" + version}
	err := x.journaled(intent, func(res *journal.Record) error {
		r, err := x.api.RotateSecret(ctx, k.Secret, version)
		reqID = cmp.Or(r.RequestID, requestID(err))
		res.RequestID = reqID
		switch {
		case err == nil:
			res.Outcome = journal.OutcomeDone
			detail = "KMS asked to rotate secret " + k.Secret + " (VersionId " + version + ")"
		case errors.Is(err, ram.ErrRotationInProgress):
			res.Outcome, res.Detail = journal.OutcomeDone, "a rotation is already in progress: waited for"
			detail = "a rotation of secret " + k.Secret + " is already in progress: waiting for it"
			err = nil
		default:
			failedCall(ctx, res, err)
		}
		return err
	})
	if x.jerr != nil {
		return // the journal broke: the run has stopped
	}
	if err != nil {
		x.report(StepResult{Step: playbooks.StepCreate, Outcome: journal.OutcomeFailed, Started: started, Duration: x.d.now().Sub(started), Detail: err.Error(), RequestID: reqID})
		if ctx.Err() != nil {
			x.interrupt(playbooks.StepCreate, err)
			return
		}
		x.kms.fallback = "KMS did not accept the rotation (" + err.Error() + ")"
		if isRotationLimit(err) {
			x.kms.fallback = "KMS's limit of rotations per hour is reached (run respond again within the hour to have KMS rotate)"
		}
		return
	}
	x.report(StepResult{Step: playbooks.StepCreate, Outcome: journal.OutcomeDone, Started: started, Duration: x.d.now().Sub(started), Detail: detail, RequestID: reqID})
}

// kmsState is what one look at KMS and the user's keys saw.
type kmsState struct {
	leakedListed bool
	current      *ram.RAMSecretValue // nil when ACSCurrent could not be read
	newKey       accesskey.ID        // the user's key KMS created (ACSCurrent, else a key not known before)
	problem      string
}

func (s kmsState) done() bool { return !s.leakedListed && !s.newKey.IsZero() }

// kmsLook reads the secret's ACSCurrent and the user's keys once.
func (x *run) kmsLook(ctx context.Context) kmsState {
	var st kmsState
	keys, err := x.api.ListAccessKeys(ctx, x.user)
	if err != nil {
		st.leakedListed, st.problem = true, "list access keys: "+err.Error()
		return st
	}
	x.keys.set(keys)
	st.leakedListed = x.keys.has(x.p.KeyID.String())
	v, verr := x.api.GetRAMSecretValue(ctx, x.p.KMS.Secret, ram.StageCurrent)
	if verr == nil {
		st.current = &v
		x.red.Add(v.Secret)
		if v.AccessKeyID != x.p.KeyID && x.keys.has(v.AccessKeyID.String()) {
			st.newKey = v.AccessKeyID
		}
		return st
	}
	st.problem = "read ACSCurrent: " + verr.Error()
	if !errors.Is(verr, ram.ErrNoPermission) {
		return st
	}
	// not allowed to read the value: a key the cloud dates from the rotation on is KMS's (the
	// rotation began with the journal's first record, or with this run's request)
	since := x.st.Started
	if since.IsZero() {
		since = x.kms.since
	}
	for _, k := range keys {
		if k.ID != x.p.KeyID && !since.IsZero() && !k.CreateDate.Before(since.Add(-CreateDateSkew)) {
			st.newKey = k.ID
		}
	}
	return st
}

// kmsWait waits, bounded by kms-wait, for KMS to move ACSCurrent to a new key and delete the
// leaked one; then purges the leaked key. When the wait runs out it falls back to deleting the
// leaked key itself.
func (x *run) kmsWait(ctx context.Context) {
	started := x.d.now()
	k := x.p.KMS
	deadline := started.Add(k.Wait)
	polls := 0
	every, most := kmsPolls(x.p.VerifyInterval, k.Wait)
	var st kmsState
	for {
		polls++
		st = x.kmsLook(ctx)
		if st.done() {
			break
		}
		if err := ctx.Err(); err != nil {
			x.report(StepResult{Step: playbooks.StepDelete, Outcome: journal.OutcomeFailed, Started: started, Duration: x.d.now().Sub(started),
				Detail: "interrupted while waiting for KMS to rotate secret " + k.Secret + " (running respond again waits on)"})
			x.interrupt(playbooks.StepDelete, err)
			return
		}
		if !x.d.now().Add(every).Before(deadline) {
			why := fmt.Sprintf("KMS did not replace and delete the leaked key within %s (kms-wait)", k.Wait)
			if st.problem != "" {
				why += "; last look: " + st.problem
			}
			if x.deleteLeaked(ctx, playbooks.StepDelete) {
				x.kmsSettle(ctx, why)
			}
			return
		}
		if err := x.d.sleep(ctx, every); err != nil {
			continue // the next look sees ctx done and stops
		}
		every = min(every*3/2, most)
	}
	x.leakedDeleted, x.binExpected = true, true
	x.adoptKMSKey(st)
	waited := x.d.now().Sub(started).Round(10 * time.Millisecond)
	detail := fmt.Sprintf("KMS replaced the leaked key with %s (secret %s, ACSCurrent) and deleted it; waited %s, %d look(s)", st.newKey, k.Secret, waited, polls)
	pd, reqs, _, err := x.purgeLeaked(ctx)
	if err != nil {
		if x.jerr != nil {
			return
		}
		x.report(StepResult{Step: playbooks.StepDelete, Outcome: journal.OutcomeFailed, Started: started, Duration: x.d.now().Sub(started),
			Detail: detail + "; " + err.Error(), RequestIDs: nonEmpty(reqs...)})
		x.stopStep(ctx, playbooks.StepDelete, err)
		return
	}
	x.report(StepResult{Step: playbooks.StepDelete, Outcome: journal.OutcomeDone, Started: started, Duration: x.d.now().Sub(started),
		Detail: detail + "; " + pd, RequestIDs: nonEmpty(reqs...)})
}

// kmsPolls is how often the wait looks at KMS: first every verify interval (at most a quarter
// of the wait), then half as often again after each look, up to a sixtieth of the wait (10 s for
// the default 10 minutes): a rotation of seconds is seen at once, one of minutes costs few calls.
func kmsPolls(interval, wait time.Duration) (first, most time.Duration) {
	first = min(interval, wait/4)
	most = max(first, min(max(interval, wait/60), wait/4))
	return max(first, time.Millisecond), max(most, time.Millisecond)
}

// adoptKMSKey takes the key KMS created for the run's replacement: the verify step checks it
// (authenticates, when its secret could be read) and the result names it. It was created by
// KMS, not respond: nothing ever deletes it.
func (x *run) adoptKMSKey(st kmsState) {
	if st.newKey.IsZero() {
		return
	}
	x.replacement = st.newKey.String()
	if st.current != nil && st.current.AccessKeyID == st.newKey && !st.current.Secret.IsZero() {
		x.newKey = &ram.NewAccessKey{ID: st.newKey, Secret: st.current.Secret}
	}
}

// kmsSettle ends a rotate-via-kms run in which respond deleted the leaked key itself: when KMS
// already serves a live new key (a re-run after KMS rotated) the rotation is complete; else the
// run goes on (verify, notify) to end partial with why, and KMS serves a dead key until its
// rotation completes.
func (x *run) kmsSettle(ctx context.Context, why string) {
	st := x.kmsLook(ctx)
	if st.done() && st.current != nil {
		x.adoptKMSKey(st)
		return
	}
	fe := &KMSFallbackError{Secret: x.p.KMS.Secret, Reason: why}
	x.warn(fe.Error())
	x.setback(playbooks.StepDelete, fe)
}
