package rotate

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/rotate/journal"
	"github.com/respond-dev/respond/rotate/sink"
)

// store writes the new pair to every sink, each write journaled. A replacement that cannot be
// stored everywhere is deleted again (no orphans); then on-store-failure decides: contain goes on
// to delete the leaked key (the run ends partial), hold stops the run. Interrupted between create
// and store, it stores on a detached context if the sink answers quickly, else the replacement
// is deleted.
func (x *run) store(ctx context.Context) {
	started := x.d.now()
	if x.replacement != "" {
		x.report(StepResult{Step: playbooks.StepStore, Outcome: journal.OutcomeSkipped, Started: started,
			Detail: "replacement " + x.replacement + " already stored in every sink by an earlier run"})
		return
	}
	if x.newKey == nil {
		x.report(StepResult{Step: playbooks.StepStore, Outcome: journal.OutcomeSkipped, Started: started, Detail: "no replacement was created"})
		return
	}
	nk := *x.newKey
	cred := sink.Credential{KeyID: nk.ID, Secret: nk.Secret, UserName: x.user, AccountID: x.acct,
		AccountName: x.p.Owner.Account.Name, Created: nk.CreateDate}
	sctx := ctx
	var cancel context.CancelFunc = func() {}
	if ctx.Err() != nil {
		// interrupted between create and store: store it now if it is quick, else delete it
		sctx, cancel = x.cleanupCtx(ctx)
	}
	defer cancel()
	var wheres []string
	var failed error
	for _, s := range x.d.Sinks {
		intent := journal.Record{Kind: journal.KindIntent, Step: string(playbooks.StepStore), Action: "sink:Store", NewKeyID: nk.ID.String(), Sink: s.Name()}
		if fs, ok := s.(*sink.File); ok {
			intent.Where = fs.Path() // a resume cleans up after a write killed here (staletemps.go)
		}
		var rcpt sink.Receipt
		err := x.journaled(intent, func(res *journal.Record) error {
			var err error
			rcpt, err = x.storeIn(ctx, sctx, s, cred)
			if err != nil {
				res.Outcome, res.Error = journal.OutcomeFailed, err.Error()
				return err
			}
			res.Outcome, res.Where = journal.OutcomeDone, rcpt.Where
			return nil
		})
		if x.jerr != nil {
			// the run has stopped (and tried to delete the replacement)
			x.report(StepResult{Step: playbooks.StepStore, Outcome: journal.OutcomeFailed, Started: started, Duration: x.d.now().Sub(started),
				Detail: x.jerr.Error()})
			return
		}
		if err != nil {
			failed = fmt.Errorf("store %s in sink %s: %w", nk.ID, s.Name(), err)
			break
		}
		x.res.Receipts = append(x.res.Receipts, rcpt)
		wheres = append(wheres, s.Name()+": "+rcpt.Where)
	}
	if failed == nil {
		x.replacement = nk.ID.String()
		x.report(StepResult{Step: playbooks.StepStore, Outcome: journal.OutcomeDone, Started: started, Duration: x.d.now().Sub(started),
			Detail: "stored " + nk.ID.String() + " in " + strings.Join(wheres, "; ")})
		if ctx.Err() != nil {
			x.interrupt(playbooks.StepStore, ctx.Err())
		}
		return
	}
	// a replacement that cannot be stored is deleted again: no orphans
	x.storeFailed = true
	cctx, ccancel := x.cleanupCtx(ctx)
	derr := x.deleteKey(cctx, playbooks.StepStore, nk.ID, "replacement could not be stored: deleted again", false)
	ccancel()
	x.newKey = nil
	detail := failed.Error() + "; the replacement " + nk.ID.String() + " was deleted again"
	if derr != nil {
		detail += " (delete failed: " + derr.Error() + ")"
	}
	if x.p.OnStoreFailure == playbooks.OnStoreFailureHold {
		detail += "; the leaked key is kept (on-store-failure: hold)"
	} else {
		detail += "; the leaked key is still deleted (on-store-failure: contain)"
	}
	x.report(StepResult{Step: playbooks.StepStore, Outcome: journal.OutcomeFailed, Started: started, Duration: x.d.now().Sub(started), Detail: detail})
	err := errors.Join(failed, derr)
	switch {
	case ctx.Err() != nil:
		x.interrupt(playbooks.StepStore, errors.Join(ctx.Err(), err))
	case x.p.OnStoreFailure == playbooks.OnStoreFailureHold:
		x.fail(playbooks.StepStore, err)
	default:
		x.setback(playbooks.StepStore, err)
	}
}

// storeIn stores cred in one sink on sctx (ctx, or a detached context when ctx had already
// ended); cancelled during the store, it finishes it on a detached context.
func (x *run) storeIn(ctx, sctx context.Context, s sink.Sink, cred sink.Credential) (sink.Receipt, error) {
	rcpt, err := s.Store(sctx, cred)
	if err == nil && sctx.Err() != nil && ctx == sctx {
		err = sctx.Err()
	}
	if err != nil && ctx.Err() != nil && sctx == ctx {
		cctx, cancel := x.cleanupCtx(ctx)
		defer cancel()
		rcpt, err = s.Store(cctx, cred)
	}
	return rcpt, err
}
