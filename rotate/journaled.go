package rotate

import (
	"context"
	"errors"
	"fmt"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/rotate/journal"
)

// journalError is a journal write that failed. The run stops before its next mutation (every
// mutation's intent is written first, and after one failed write every write fails) and ends
// partial: exit 4, run again once the state directory can be written.
type journalError struct{ err error }

func (e *journalError) Error() string {
	return "the journal cannot be written (" + e.err.Error() + "): stopped before the next change"
}

func (e *journalError) Unwrap() error { return e.err }

func isJournalError(err error) bool {
	var je *journalError
	return errors.As(err, &je)
}

// write appends r to the journal (with the run's id, the owner and the time, every text
// redacted). A failed write breaks the journal for the rest of the run: every later write fails
// at once with the same *journalError.
func (x *run) write(r journal.Record) error {
	if x.j == nil {
		return nil
	}
	if x.jerr != nil {
		return x.jerr
	}
	r.RunID = x.runID
	r.Detail, r.Error = x.red.Redact(r.Detail), x.red.Redact(r.Error)
	r.AccountID = x.acct
	r.UserName = x.user
	if r.Kind == journal.KindBegin {
		r.Sinks = x.sinkNames()
		r.Command = x.red.Redact(x.resume())
	}
	r.Time = x.d.now().UTC()
	if _, err := x.j.Append(r); err != nil {
		x.jerr = &journalError{err: fmt.Errorf("journal %s: %w", x.p.KeyID, err)}
		return x.jerr
	}
	return nil
}

// record is write for a record of the run's steps: a failed write ends the run at the record's
// step (locate for a record of no step).
func (x *run) record(r journal.Record) error {
	err := x.write(r)
	if err != nil && !x.stopped() {
		s := playbooks.StepID(r.Step)
		if s == "" {
			s = playbooks.StepLocate
		}
		x.fail(s, err)
	}
	return err
}

// journaled is how every mutation is made: its intent is written before the call, its result
// after it. call makes the call and fills in the result (a copy of the intent, with Kind result
// and without the key list). A journal that cannot be written ends the run: before the call when
// the intent fails (the call is not made), after it when the result fails. journaled returns
// the call's error; x.jerr tells the caller that the journal broke.
func (x *run) journaled(intent journal.Record, call func(res *journal.Record) error) error {
	if err := x.record(intent); err != nil {
		return err
	}
	res := intent
	res.Kind, res.Before = journal.KindResult, nil
	err := call(&res)
	if jerr := x.record(res); jerr != nil && err == nil {
		return jerr
	}
	return err
}

// failedCall fills in the result of a call that failed: unknown when the call may still have been
// carried out (the run was interrupted, or the answer was lost: a transient error), else failed.
func failedCall(ctx context.Context, res *journal.Record, err error) {
	res.Outcome, res.Error = journal.OutcomeFailed, err.Error()
	if ctx.Err() != nil || errors.Is(err, ram.ErrTransient) {
		res.Outcome = journal.OutcomeUnknown
	}
}
