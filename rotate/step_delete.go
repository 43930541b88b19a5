package rotate

import (
	"context"
	"errors"
	"fmt"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/rotate/journal"
)

// deleteLeaked deletes the leaked key (never disables it), journaled; a not-found counts as
// done. s is the step it runs for: delete, or create at the key limit. It reports whether the run
// may go on.
func (x *run) deleteLeaked(ctx context.Context, s playbooks.StepID) bool {
	started := x.d.now()
	if x.leakedDeleted || !x.keys.has(x.p.KeyID.String()) {
		if s == playbooks.StepDelete {
			x.report(StepResult{Step: playbooks.StepDelete, Outcome: journal.OutcomeSkipped, Started: started, Detail: "the leaked key is already deleted"})
		}
		x.leakedDeleted = true
		return true
	}
	if err := ctx.Err(); err != nil {
		x.interrupt(playbooks.StepDelete, err)
		return false
	}
	detail := "deleted the leaked key " + x.p.KeyID.String() + " (deleted, not disabled)"
	var reqID string
	intent := journal.Record{Kind: journal.KindIntent, Step: string(playbooks.StepDelete), Action: "ram:DeleteAccessKey", Detail: "delete the leaked key (never disable)"}
	err := x.journaled(intent, func(res *journal.Record) error {
		err := x.api.DeleteAccessKey(ctx, x.user, x.p.KeyID)
		reqID = requestID(err)
		res.RequestID = reqID
		switch {
		case err == nil:
			res.Outcome = journal.OutcomeDone
		case errors.Is(err, ram.ErrNotFound):
			res.Outcome, res.Detail = journal.OutcomeDone, "already gone (not found counts as done)"
			detail = "the leaked key was already gone (not found counts as done)"
			err = nil
		default:
			res.Outcome, res.Error = journal.OutcomeFailed, err.Error()
			if ctx.Err() != nil || errors.Is(err, ram.ErrTransient) {
				res.Outcome = journal.OutcomeUnknown
			}
			return err
		}
		x.leakedDeleted = true
		x.keys.drop(x.p.KeyID.String())
		return nil
	})
	if x.jerr != nil {
		return false // the journal broke: the run has stopped
	}
	if err != nil {
		x.report(StepResult{Step: playbooks.StepDelete, Outcome: journal.OutcomeFailed, Started: started, Duration: x.d.now().Sub(started), Detail: err.Error(), RequestID: reqID})
		if ctx.Err() != nil {
			x.interrupt(playbooks.StepDelete, err)
		} else {
			x.fail(playbooks.StepDelete, err)
		}
		return false
	}
	note := ""
	if s == playbooks.StepCreate {
		note = " before creating the replacement: " + ReorderReason
	}
	x.report(StepResult{Step: playbooks.StepDelete, Outcome: journal.OutcomeDone, Started: started, Duration: x.d.now().Sub(started),
		Detail: detail + note, RequestID: reqID, RequestIDs: nonEmpty(reqID)})
	return true
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
