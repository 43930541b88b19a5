package rotate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/rotate/journal"
)

// deleteLeaked deletes the leaked key (never disables it), journaled; a not-found counts as
// done. s is the step it runs for. For the delete step the key is then purged from its user's
// recycle bin (purgeLeaked): the step is done only when no bin holds the key. At the key limit
// during create (s == create) it only deletes, to make room; the delete step purges later. It
// reports whether the run may go on.
func (x *run) deleteLeaked(ctx context.Context, s playbooks.StepID) bool {
	started := x.d.now()
	var details, reqs []string
	deleted := false
	if x.leakedDeleted || !x.keys.has(x.p.KeyID.String()) {
		x.leakedDeleted = true
		if s != playbooks.StepDelete {
			return true
		}
		details = append(details, "the leaked key is already deleted")
	} else {
		if err := ctx.Err(); err != nil {
			x.interrupt(playbooks.StepDelete, err)
			return false
		}
		detail, reqID, ok := x.deleteCall(ctx, started)
		if !ok {
			return false
		}
		deleted = true
		reqs = append(reqs, reqID)
		if s == playbooks.StepCreate {
			x.report(StepResult{Step: playbooks.StepDelete, Outcome: journal.OutcomeDone, Started: started, Duration: x.d.now().Sub(started),
				Detail: detail + " before creating the replacement: " + ReorderReason, RequestID: reqID, RequestIDs: nonEmpty(reqID)})
			return true
		}
		details = append(details, detail)
	}
	pd, preqs, purged, err := x.purgeLeaked(ctx)
	reqs = append(reqs, preqs...)
	if err != nil {
		if x.jerr != nil {
			return false // the journal broke: the run has stopped
		}
		x.report(StepResult{Step: playbooks.StepDelete, Outcome: journal.OutcomeFailed, Started: started, Duration: x.d.now().Sub(started),
			Detail: strings.Join(append(details, err.Error()), "; "), RequestIDs: nonEmpty(reqs...)})
		x.stopStep(ctx, playbooks.StepDelete, err)
		return false
	}
	outcome := journal.OutcomeDone
	if !deleted && !purged {
		outcome = journal.OutcomeSkipped // nothing left to do: deleted and purged before this run
	}
	x.report(StepResult{Step: playbooks.StepDelete, Outcome: outcome, Started: started, Duration: x.d.now().Sub(started),
		Detail: strings.Join(append(details, pd), "; "), RequestIDs: nonEmpty(reqs...)})
	return true
}

// deleteCall makes the leaked key's DeleteAccessKey, journaled. On failure it reports the step
// and stops the run (ok false).
func (x *run) deleteCall(ctx context.Context, started time.Time) (detail, reqID string, ok bool) {
	detail = "deleted the leaked key " + x.p.KeyID.String() + " (deleted, not disabled)"
	intent := journal.Record{Kind: journal.KindIntent, Step: string(playbooks.StepDelete), Action: "ram:DeleteAccessKey", Detail: "delete the leaked key (never disable)"}
	err := x.journaled(intent, func(res *journal.Record) error {
		err := x.api.DeleteAccessKey(ctx, x.user, x.p.KeyID)
		reqID = requestID(err)
		res.RequestID = reqID
		switch {
		case err == nil:
			res.Outcome = journal.OutcomeDone
			x.binExpected = true
		case errors.Is(err, ram.ErrNotFound):
			res.Outcome, res.Detail = journal.OutcomeDone, "already gone (not found counts as done)"
			detail = "the leaked key was already gone (not found counts as done)"
			err = nil
		default:
			failedCall(ctx, res, err)
			return err
		}
		x.leakedDeleted = true
		x.keys.drop(x.p.KeyID.String())
		return nil
	})
	if x.jerr != nil {
		return "", reqID, false // the journal broke: the run has stopped
	}
	if err != nil {
		x.report(StepResult{Step: playbooks.StepDelete, Outcome: journal.OutcomeFailed, Started: started, Duration: x.d.now().Sub(started), Detail: err.Error(), RequestID: reqID})
		x.stopStep(ctx, playbooks.StepDelete, err)
		return "", reqID, false
	}
	return detail, reqID, true
}

// deleteKey deletes a key respond created, or the late result of a create whose answer never
// came (late: journal.Record.Late), journaled with its id in NewKeyID and audited with why. A
// not-found counts as done.
func (x *run) deleteKey(ctx context.Context, s playbooks.StepID, id accesskey.ID, why string, late bool) error {
	intent := journal.Record{Kind: journal.KindIntent, Step: string(s), Action: "ram:DeleteAccessKey", NewKeyID: id.String(), Detail: why, Late: late}
	var callErr error
	err := x.journaled(intent, func(res *journal.Record) error {
		callErr = x.api.DeleteAccessKey(ctx, x.user, id)
		if callErr != nil && !errors.Is(callErr, ram.ErrNotFound) {
			res.Outcome, res.Error, res.RequestID = journal.OutcomeFailed, callErr.Error(), requestID(callErr)
			return fmt.Errorf("delete replacement %s: %w", id, callErr)
		}
		res.Outcome = journal.OutcomeDone
		x.keys.drop(id.String())
		return nil
	})
	if err != nil {
		return err
	}
	x.audit(journal.AuditEntry{Event: "step", Step: string(s), Outcome: journal.OutcomeDone, Detail: why, NewKeyID: id.String(),
		RequestIDs: nonEmpty(requestID(callErr))})
	return nil
}
