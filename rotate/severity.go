package rotate

import (
	"context"
	"errors"
	"fmt"

	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/rotate/journal"
)

// Severity ranks how a finding ended, least urgent first: the worst of a batch decides its
// outcome (respond's exit code, design §10).
type Severity int

// Severities, in rank order.
const (
	SeverityOK       Severity = iota // done, already remediated, or planned only
	SeverityRefused                  // refused by policy: a canary, respond's own key, a root or STS key, an id-only finding
	SeverityNotFound                 // no configured account owns the key
	SeverityInvalid                  // the configuration, a playbook or the input does not allow it
	SeverityFailed                   // failed
	SeverityPartial                  // partly done or interrupted: run again to resume
)

// InvalidError says the configuration, a playbook or the flags do not allow a finding to be
// planned (bad usage or input: CLI exit 2).
type InvalidError struct{ Err error }

func (e *InvalidError) Error() string { return e.Err.Error() }
func (e *InvalidError) Unwrap() error { return e.Err }

func invalidf(format string, a ...any) error { return &InvalidError{Err: fmt.Errorf(format, a...)} }

// SeverityOf ranks an error of the engine or the cloud.
func SeverityOf(err error) Severity {
	var re *RefusedError
	var pe *PartialError
	var le *journal.LockedError
	var ie *InvalidError
	var ue *journal.UnsafeStateError
	switch {
	case err == nil:
		return SeverityOK
	case errors.As(err, &ie):
		return SeverityInvalid
	case errors.As(err, &pe), errors.Is(err, context.Canceled), errors.As(err, &le), errors.Is(err, ErrInProgress):
		return SeverityPartial
	case errors.As(err, &ue):
		return SeverityInvalid // the state directory is bad input: its fix is in the message
	case errors.As(err, &re):
		return SeverityRefused
	case errors.Is(err, ram.ErrOwnerNotFound):
		return SeverityNotFound
	}
	return SeverityFailed
}

// Severity ranks how the item ended. A plan that was not carried out (a dry run) is OK unless it
// could not be made for want of a valid configuration, or is a secret-only one (not found); one
// the batch meant to execute but never ran (interrupted) is partial.
func (it *Item) Severity() Severity {
	if it.Err == nil && it.Plan.Decision == DecisionSecretOnly {
		return SeverityNotFound // carried out or not, its key stays unknown: the plan asks a person to find it
	}
	s := SeverityOK
	switch {
	case it.Err != nil:
		s = SeverityOf(it.Err)
	case it.Result != nil:
		s = SeverityOf(it.Result.Err)
	case it.executing:
		s = SeverityPartial
	}
	if !it.executing && s != SeverityInvalid {
		return SeverityOK
	}
	return s
}

// Worst is the most urgent severity of the items (SeverityOK for none).
func Worst(items []*Item) Severity {
	w := SeverityOK
	for _, it := range items {
		w = max(w, it.Severity())
	}
	return w
}

// Redacted returns err, or err behind a text with every secret r knows cut out (errors.Is and
// errors.As still see the original chain).
func Redacted(r *accesskey.Redactor, err error) error {
	if err == nil || r == nil {
		return err
	}
	return redactErr(r, err)
}

// Runnable counts the items whose plan rotates or purges a key, or removes a deny policy an
// earlier run left (Plan.Quarantines): those a confirmation is about.
func Runnable(items []*Item) int {
	n := 0
	for _, it := range items {
		if it.Err == nil && (it.Plan.rotates() || it.Plan.liftsQuarantines()) {
			n++
		}
	}
	return n
}
