package rotate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/rotate/assess"
	"github.com/respond-dev/respond/rotate/journal"
)

// Execute carries out a plan. Every outcome is in the Result; Result.Err is a *RefusedError, a
// *PartialError, an error matching ram.ErrOwnerNotFound or ErrInProgress, or another failure.
func Execute(ctx context.Context, p Plan, d Deps) Result {
	res := Result{Schema: ResultSchema, KeyID: p.KeyID, Decision: p.Decision}
	if p.Owner != nil {
		res.AccountID, res.UserName = p.Owner.Account.ID, p.Owner.UserName
	}
	res.LeftForHuman = p.LeftForHuman
	res.Assessment = p.Assessment
	res.Warnings = append([]string(nil), p.Warnings...)
	red := d.Redactor
	if red == nil {
		red = accesskey.NewRedactor()
	}
	red.Add(p.secret)
	switch p.Decision {
	case DecisionRotate, DecisionPurge, DecisionRotateViaKMS:
		x := &run{p: p, d: d, res: &res, red: red}
		x.rotate(ctx)
	case DecisionAlreadyRemediated:
		if err := confirmRemediated(ctx, p, d); err != nil {
			// perhaps alive or restorable: not remediated, nothing closed, nothing lifted
			x := &run{p: p, d: d, res: &res, red: red}
			res.Outcome = journal.OutcomePartial
			res.Err = &PartialError{KeyID: p.KeyID, Step: playbooks.StepDelete, Resume: x.resume(), Err: err}
			break
		}
		res.Outcome = journal.OutcomeAlreadyRemediated
		liftAfterRemediation(ctx, p, d, &res, red)
		if p.hasStep(playbooks.StepClose) && len(d.Alerts) > 0 {
			x := &run{p: p, d: d, res: &res, red: red}
			x.closeRemediated(ctx)
		}
	case DecisionOwnerNotFound:
		res.Outcome = journal.OutcomeNotFound
		res.Err = fmt.Errorf("locate owner of %s: %w", p.KeyID, ram.ErrOwnerNotFound)
	case DecisionSecretOnly:
		secretOnlyResult(p, &res)
	case DecisionRefuseCanary:
		res.Outcome = journal.OutcomeRefused
		res.Err = &RefusedError{KeyID: p.KeyID, Decision: p.Decision, Reason: p.Reason}
		x := &run{p: p, d: d, res: &res, red: red, assessment: p.Assessment}
		x.notify(ctx, journal.OutcomeCanary, "canary key "+p.KeyID.String()+" was exposed: it is never rotated; treat its use as an intrusion signal")
	case DecisionIDOnly:
		res.Outcome = journal.OutcomeIDOnly
		res.Err = &RefusedError{KeyID: p.KeyID, Decision: p.Decision, Reason: p.Reason}
	default:
		res.Outcome = journal.OutcomeRefused
		res.Err = &RefusedError{KeyID: p.KeyID, Decision: p.Decision, Reason: p.Reason}
	}
	if res.Err != nil {
		res.Err = redactErr(red, res.Err)
		res.Error = res.Err.Error()
	}
	return res
}

// run is one Execute of a rotate plan.
type run struct {
	p     Plan
	d     Deps
	res   *Result
	j     journalFile // nil until the lock is held and the journal open
	jerr  error       // the journal write that failed: no mutation follows it (see record)
	api   Cloud
	runID string
	user  string
	acct  string
	st    journal.State // the journal at start
	keys  keyList

	progress
	incidentRun
	kms        kmsRun // a rotate-via-kms run's state (step_kms.go)
	assessment *assess.Assessment
	// red knows the leaked secret and, once created, the new one: record, report and audit pass
	// every text through it, as a last net behind the Secret type.
	red *accesskey.Redactor
}

// keyList is the user's keys as the run last saw them.
type keyList struct {
	list []ram.AccessKey
	// fresh: list is the cloud's, taken under the lock, with only this run's own completed
	// changes applied since (no failed or ambiguous call in between). A create is judged against
	// a fresh list only.
	fresh bool
}

func (k *keyList) set(list []ram.AccessKey) { k.list, k.fresh = list, true }

func (k *keyList) has(id string) bool {
	return slices.ContainsFunc(k.list, func(a ram.AccessKey) bool { return a.ID.String() == id })
}

func (k *keyList) drop(id string) {
	k.list = slices.DeleteFunc(k.list, func(a ram.AccessKey) bool { return a.ID.String() == id })
}

// progress is where the run stands: what it has done so far and whether, and why, it stopped.
// The rotation's outcome is derived from it alone (outcome).
type progress struct {
	// newKey is the replacement this run created; its secret is held in memory only.
	newKey *ram.NewAccessKey
	// replacement is the id of the replacement stored in every sink (by this run or an earlier).
	replacement string
	// leakedDeleted: the leaked key is gone (deleted by this run or before it).
	leakedDeleted bool
	// leakedPurged: no recycle bin holds the leaked key any more (purged by this run, or found
	// absent by the check after the purge).
	leakedPurged bool
	// binExpected: this run deleted the leaked key (or saw KMS delete it) moments ago, so it must
	// reach a recycle bin: a bin that does not show it yet may only lag (purgeLeaked waits).
	binExpected bool
	// storeFailed: a sink failed and the replacement was deleted again.
	storeFailed bool
	// stop is why the run cannot end remediated; nil while nothing went wrong.
	stop *stop
}

// stop is a failure of the run: the step, its error, and what it did to the run.
type stop struct {
	step playbooks.StepID
	err  error
	// ends: the run ended at step. Else it went on and can only end partial (a sink failed
	// under on-store-failure contain, verify failed).
	ends bool
	// interrupted: the context ended (Ctrl-C, a deadline) at some point.
	interrupted bool
}

// stopped reports whether the run has ended: no further step runs.
func (x *run) stopped() bool { return x.stop != nil && x.stop.ends }

// halt records a failure at step s. A failure that ends the run replaces one that did not; the
// first that ends it stays. Ending rolls back a replacement created but not stored (its secret
// dies with the run): it is deleted on a detached context.
func (x *run) halt(s playbooks.StepID, err error, ends, interrupted bool) {
	switch {
	case x.stop == nil || ends && !x.stop.ends:
		x.stop = &stop{step: s, err: err, ends: ends, interrupted: interrupted || x.stop != nil && x.stop.interrupted}
	case interrupted:
		x.stop.interrupted = true
	}
	if ends {
		x.rollback(s)
	}
}

// fail ends the run at step s.
func (x *run) fail(s playbooks.StepID, err error) { x.halt(s, err, true, false) }

// interrupt ends the run at step s because the context ended (or mid-step).
func (x *run) interrupt(s playbooks.StepID, err error) { x.halt(s, err, true, true) }

// stopStep ends the run at step s: interrupted when ctx is done, else failed.
func (x *run) stopStep(ctx context.Context, s playbooks.StepID, err error) {
	if ctx.Err() != nil {
		x.interrupt(s, err)
		return
	}
	x.fail(s, err)
}

// setback records a failure at step s after which the run goes on, to end partial at best.
func (x *run) setback(s playbooks.StepID, err error) { x.halt(s, err, false, false) }

// rollback deletes the replacement this run created but did not store in every sink.
func (x *run) rollback(s playbooks.StepID) {
	nk := x.newKey
	if nk == nil || x.replacement == nk.ID.String() {
		return
	}
	x.newKey = nil
	why := "run failed before the replacement was stored: deleted"
	if x.stop.interrupted {
		why = "interrupted before the replacement was stored: deleted"
	}
	cctx, cancel := x.cleanupCtx(context.Background())
	defer cancel()
	if err := x.deleteKey(cctx, s, nk.ID, why, false); err != nil && x.jerr == nil {
		x.stop.err = errors.Join(x.stop.err, fmt.Errorf("the unstored replacement %s could not be deleted (a re-run deletes it): %w", nk.ID, err))
	}
}

func (x *run) resume() string { return ResumeCommandFor(x.d.ResumeCommand, x.p.KeyID) }

// ResumeCommandFor is the command that resumes id's rotation: cmd (Deps.ResumeCommand, a
// Batch's: %s for the key id), else a bare respond --key-id.
func ResumeCommandFor(cmd string, id accesskey.ID) string {
	if cmd == "" {
		cmd = "respond --key-id %s"
	}
	return fmt.Sprintf(cmd, id)
}

func (x *run) sinkNames() []string {
	var out []string
	for _, s := range x.d.Sinks {
		out = append(out, s.Name())
	}
	return out
}

// rotate takes the key's lock, opens its journal, squares the journal with the cloud, and runs
// the plan's steps until the end or a stop.
func (x *run) rotate(ctx context.Context) {
	x.user, x.acct = x.p.Owner.UserName, x.p.Owner.Account.ID
	x.startRun()
	if x.d.StateDir == "" {
		x.fail(playbooks.StepLocate, errors.New("no state directory: the journal is required to rotate"))
		x.setOutcome()
		return
	}
	unlock, ok := x.lockKey(ctx)
	if !ok {
		return
	}
	defer unlock()
	j, err := x.d.open(x.p.KeyID)
	if err != nil {
		x.fail(playbooks.StepLocate, err)
		x.setOutcome()
		return
	}
	defer j.Close()
	x.j = j
	if x.st, err = j.State(); err == nil {
		err = x.checkJournal()
	}
	if err != nil {
		x.fail(playbooks.StepLocate, err)
		x.setOutcome()
		return
	}
	if err := x.record(journal.Record{Kind: journal.KindBegin, Detail: "playbook " + x.p.Playbook + ", decision " + string(x.p.Decision)}); err != nil {
		x.setOutcome()
		return
	}
	x.audit(journal.AuditEntry{Event: "start", Playbook: x.p.Playbook, Decision: string(x.p.Decision)})
	defer x.end()
	if err := x.checkSinks(); err != nil {
		x.fail(playbooks.StepStore, err)
		return
	}
	if x.api, err = x.d.Accounts.API(ctx, x.acct); err != nil {
		x.fail(playbooks.StepLocate, fmt.Errorf("open account %s: %w", x.acct, err))
		return
	}
	if done := x.reconcile(ctx); done {
		if x.res.Outcome == journal.OutcomeAlreadyRemediated && x.p.hasStep(playbooks.StepClose) {
			x.close(ctx, true) // an earlier run finished it: its alerts may still be open
		}
		return
	}
	x.liftQuarantines(ctx)
	for _, ps := range x.p.Steps {
		if x.stopped() {
			break
		}
		if ctx.Err() != nil && ps.Step != playbooks.StepNotify {
			x.interrupt(ps.Step, ctx.Err())
			break
		}
		x.step(ctx, ps.Step)
		x.liftQuarantines(ctx)
	}
}

// startRun gives the run its id (the journal's, the audit log's, the result's).
func (x *run) startRun() {
	x.runID = fmt.Sprintf("%s-%d", x.d.now().UTC().Format("20060102T150405.000000000Z"), os.Getpid())
	x.res.RunID = x.runID
}

// lockKey takes the key's lock, waiting up to Deps.LockWait; when another run holds it, the
// result says so (in-progress) and ok is false.
func (x *run) lockKey(ctx context.Context) (unlock func(), ok bool) {
	lctx, cancel := context.WithTimeout(ctx, x.d.LockWait)
	lock, err := journal.Lock(lctx, x.d.StateDir, x.p.KeyID)
	cancel()
	var locked *journal.LockedError
	if err != nil && !errors.As(err, &locked) {
		x.fail(playbooks.StepLocate, err) // e.g. an unsafe lock file: not another run
		x.setOutcome()
		return nil, false
	}
	if err != nil {
		x.res.Outcome = journal.OutcomeInProgress
		x.res.Err = errors.Join(ErrInProgress, err)
		return nil, false
	}
	return func() { _ = lock.Unlock() }, true
}

func (x *run) checkSinks() error {
	if !x.p.hasStep(playbooks.StepStore) || x.p.KMS != nil {
		return nil // contain-only, or KMS is the sink: nothing to store
	}
	for _, ps := range x.p.Sinks {
		if !slices.Contains(x.sinkNames(), ps.Name) {
			return fmt.Errorf("sink %q of the plan is not configured", ps.Name)
		}
	}
	if len(x.d.Sinks) == 0 {
		return errors.New("no sink configured: the new secret would be lost")
	}
	return nil
}

func (x *run) step(ctx context.Context, s playbooks.StepID) {
	if x.kmsStep(ctx, s) {
		return
	}
	switch s {
	case playbooks.StepLocate:
		x.report(StepResult{Step: s, Outcome: journal.OutcomeDone, Started: x.d.now(),
			Detail: fmt.Sprintf("RAM user %s in account %s (found by %s)", x.user, x.acct, x.p.Owner.Strategy)})
	case playbooks.StepAssess:
		x.assess(ctx)
	case playbooks.StepHunt:
		x.hunt(ctx)
	case playbooks.StepContain:
		x.contain(ctx)
	case playbooks.StepEradicate:
		x.eradicate(ctx)
	case playbooks.StepCreate:
		x.create(ctx)
	case playbooks.StepStore:
		x.store(ctx)
	case playbooks.StepDelete:
		x.deleteLeaked(ctx, playbooks.StepDelete)
	case playbooks.StepVerify:
		x.verify(ctx)
	case playbooks.StepClose:
		x.close(ctx, false)
	case playbooks.StepNotify:
		x.notify(ctx, "", "")
	}
}

func (x *run) cleanupCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	t := x.d.CleanupTimeout
	if t <= 0 {
		t = DefaultCleanupTimeout
	}
	return context.WithTimeout(context.WithoutCancel(ctx), t)
}

func requestID(err error) string {
	var e *ram.Error
	if errors.As(err, &e) {
		return e.RequestID
	}
	return ""
}

func nonEmpty(s ...string) []string {
	var out []string
	for _, x := range s {
		if x != "" {
			out = append(out, x)
		}
	}
	return out
}
