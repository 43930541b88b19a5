package rotate

import (
	"errors"
	"slices"
	"time"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/rotate/assess"
	"github.com/respond-dev/respond/rotate/hunt"
	"github.com/respond-dev/respond/rotate/journal"
	"github.com/respond-dev/respond/rotate/sink"
)

// ResultSchema names the JSON schema of a Result (see README.md).
const ResultSchema = "respond.result/v1"

// StepResult is one step's outcome.
type StepResult struct {
	Step       playbooks.StepID `json:"step"`
	Outcome    journal.Outcome  `json:"outcome"` // done | skipped | failed
	Detail     string           `json:"detail,omitempty"`
	RequestID  string           `json:"request_id,omitempty"` // the main call's request id
	RequestIDs []string         `json:"request_ids,omitempty"`
	Started    time.Time        `json:"started"`
	Duration   time.Duration    `json:"duration_ns"`
}

// Result is the outcome of one rotation. Its JSON form is respond.result/v1 (README.md).
type Result struct {
	Schema    string          `json:"schema"`
	RunID     string          `json:"run_id,omitempty"`
	KeyID     accesskey.ID    `json:"key_id"`
	Decision  Decision        `json:"decision"`
	Outcome   journal.Outcome `json:"outcome"`
	AccountID string          `json:"account_id,omitempty"`
	UserName  string          `json:"user_name,omitempty"`
	NewKeyID  string          `json:"new_key_id,omitempty"`
	Receipts  []sink.Receipt  `json:"receipts,omitempty"`
	Steps     []StepResult    `json:"steps"`
	// Error is Err as text.
	Error        string   `json:"error,omitempty"`
	LeftForHuman []string `json:"left_for_human,omitempty"`
	// Assessment is what the key did (see Plan.Assessment); nil when it could not be read.
	Assessment *assess.Assessment `json:"assessment,omitempty"`
	// Incident is the hunt's graph the run acted on (nil without a hunt step or a graph).
	Incident *hunt.Graph `json:"incident,omitempty"`
	// Alerts is what the close step did to each of the finding's alerts at its source.
	Alerts []AlertResult `json:"alerts,omitempty"`
	// Warnings are problems that did not change the outcome: the assessment could not be read,
	// a notification failed, an alert could not be closed.
	Warnings []string `json:"warnings,omitempty"`
	Err      error    `json:"-"`
}

// errNotReached is the failure of a run that met no error and still did not reach the end state.
var errNotReached = errors.New("the end state (leaked key deleted and purged, replacement stored) was not reached")

// outcome derives the rotation's outcome, and its error, from the run's progress:
//   - remediated: nothing failed, the leaked key is deleted and purged from the recycle bin and,
//     unless the plan creates none, a replacement is stored;
//   - partial (a *PartialError, exit 4): the run changed something, or was interrupted, or the
//     cloud asked to come back later (throttling, a transient error), or the journal could not
//     be written, or a sink failed under on-store-failure contain, or nothing failed and the end
//     state was still not reached: running the same command again resumes it;
//   - failed: a step failed with nothing changed (e.g. a sink failed under hold).
func (x *run) outcome() (journal.Outcome, error) {
	s := x.stop
	if s == nil {
		if x.leakedDeleted && x.leakedPurged && (x.replacement != "" || !x.p.hasStep(playbooks.StepCreate)) {
			return journal.OutcomeRemediated, nil
		}
		s = &stop{step: playbooks.StepVerify, err: errNotReached}
	}
	cause := s.err
	if x.jerr != nil && !isJournalError(cause) {
		cause = errors.Join(cause, x.jerr)
	}
	err := &StepError{KeyID: x.p.KeyID, Step: s.step, Err: cause}
	changed := x.leakedDeleted || x.replacement != ""
	switch {
	case s.interrupted, changed, x.jerr != nil, cause == errNotReached,
		x.storeFailed && x.p.OnStoreFailure != playbooks.OnStoreFailureHold,
		errors.Is(cause, ram.ErrThrottled), errors.Is(cause, ram.ErrTransient):
		return journal.OutcomePartial, &PartialError{KeyID: x.p.KeyID, Step: s.step, Resume: x.resume(), Err: err}
	}
	return journal.OutcomeFailed, err
}

// setOutcome puts the outcome into the result, unless the run already decided it (another run
// holds the lock, an earlier run remediated the key).
func (x *run) setOutcome() {
	r := x.res
	if r.Outcome == "" {
		r.Outcome, r.Err = x.outcome()
	}
	if x.replacement != "" {
		r.NewKeyID = x.replacement
	}
}

// end sets the outcome and writes the end record and the audit entry. An end record that cannot
// be written leaves the journal unfinished: a rotation that was done becomes partial (a re-run
// finds it done and records it).
func (x *run) end() {
	x.setOutcome()
	r := x.res
	rec := journal.Record{Kind: journal.KindEnd, Outcome: r.Outcome, NewKeyID: r.NewKeyID}
	if r.Err != nil {
		rec.Error = r.Err.Error()
	}
	if err := x.write(rec); err != nil {
		switch r.Outcome {
		case journal.OutcomeRemediated, journal.OutcomeAlreadyRemediated:
			last := playbooks.StepNotify
			if n := len(x.p.Steps); n > 0 {
				last = x.p.Steps[n-1].Step
			}
			r.Outcome = journal.OutcomePartial
			r.Err = &PartialError{KeyID: x.p.KeyID, Step: last, Resume: x.resume(), Err: &StepError{KeyID: x.p.KeyID, Step: last, Err: err}}
		case journal.OutcomePartial:
		default:
			if !isJournalError(r.Err) {
				r.Err = errors.Join(r.Err, err)
			}
		}
	}
	e := journal.AuditEntry{Event: "end", Outcome: r.Outcome, NewKeyID: r.NewKeyID, Decision: string(x.p.Decision)}
	if r.Err != nil {
		e.Error = r.Err.Error()
	}
	x.audit(e)
}

// summary is the notification's one line for an outcome.
func (x *run) summary(outcome journal.Outcome) string {
	switch outcome {
	case journal.OutcomeRemediated:
		s := "leaked key " + x.p.KeyID.String() + " of " + x.user + " deleted and purged from the recycle bin"
		switch {
		case x.replacement != "" && x.p.KMS != nil:
			s += "; KMS secret " + x.p.KMS.Secret + " now serves " + x.replacement
		case x.replacement != "":
			s += "; replacement " + x.replacement + " stored"
		}
		return s
	case journal.OutcomePartial:
		return "rotation of " + x.p.KeyID.String() + " is partly done; run `" + x.resume() + "` to resume"
	}
	return "rotation of " + x.p.KeyID.String() + " failed"
}

// report adds a step's result to the Result, the audit log and the progress output.
func (x *run) report(sr StepResult) {
	sr.Detail = x.red.Redact(sr.Detail)
	if sr.RequestID == "" && len(sr.RequestIDs) > 0 {
		sr.RequestID = sr.RequestIDs[0]
	}
	x.res.Steps = append(x.res.Steps, sr)
	e := journal.AuditEntry{Event: "step", Step: string(sr.Step), Outcome: sr.Outcome, Detail: sr.Detail, RequestIDs: sr.RequestIDs}
	if len(e.RequestIDs) == 0 && sr.RequestID != "" {
		e.RequestIDs = []string{sr.RequestID}
	}
	x.audit(e)
	if x.d.OnStep != nil {
		x.d.OnStep(sr)
	}
}

func (x *run) audit(e journal.AuditEntry) {
	if x.d.Audit == nil {
		return
	}
	e.Time = x.d.now().UTC()
	e.Detail, e.Error = x.red.Redact(e.Detail), x.red.Redact(e.Error)
	e.Caller = x.d.Caller.Arn
	e.CallerKeyID = x.d.Caller.AccessKeyID
	e.RunID = x.runID
	e.KeyID = x.p.KeyID.String()
	e.AccountID = x.acct
	e.UserName = x.user
	for _, l := range x.p.Locations {
		// a finding is hostile input: a secret in its path must not reach the audit log
		e.Finding = append(e.Finding, x.red.Redact(locationText(l)))
	}
	_ = x.d.Audit.Write(e)
}

// warn adds w to the result's warnings once.
func (x *run) warn(w string) {
	if !slices.Contains(x.res.Warnings, w) {
		x.res.Warnings = append(x.res.Warnings, w)
	}
}
