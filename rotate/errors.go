package rotate

import (
	"errors"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram/accesskey"
)

// ErrInProgress is matched (errors.Is) by the error of a run that found another respond rotating
// the same key; the error is also a *journal.LockedError.
var ErrInProgress = errors.New("rotation already in progress")

// PartialError says a rotation stopped part-way (interrupted, a step failed after a mutation, or
// verification did not pass). Running the same command again resumes it (CLI exit 4).
type PartialError struct {
	KeyID accesskey.ID
	Step  playbooks.StepID // the step that stopped the run
	// Resume is the command that resumes it.
	Resume string
	Err    error
}

func (e *PartialError) Error() string {
	s := "rotation of " + e.KeyID.String() + " is partly done (stopped at " + string(e.Step) + ")"
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s + "; run `" + e.Resume + "` to resume"
}

func (e *PartialError) Unwrap() error { return e.Err }

// RefusedError says policy forbids rotating the key: a canary, respond's own key, a root-account
// key, an STS id (CLI exit 5).
type RefusedError struct {
	KeyID    accesskey.ID
	Decision Decision
	Reason   string
}

func (e *RefusedError) Error() string {
	return "refusing to rotate " + e.KeyID.String() + " (" + string(e.Decision) + "): " + e.Reason
}

// StepError is a step's failure, wrapped with the key id and the step.
type StepError struct {
	KeyID accesskey.ID
	Step  playbooks.StepID
	Err   error
}

func (e *StepError) Error() string {
	return string(e.Step) + " " + e.KeyID.String() + ": " + e.Err.Error()
}

func (e *StepError) Unwrap() error { return e.Err }

// redactedError is an error whose text had a secret cut out; errors.Is and errors.As still see
// the original chain.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redactErr returns err, or err behind a redacted text when its text holds a secret r knows.
func redactErr(r *accesskey.Redactor, err error) error {
	if msg := r.Redact(err.Error()); msg != err.Error() {
		return &redactedError{msg: msg, err: err}
	}
	return err
}
