package rotate

import (
	"context"
	"errors"
	"time"

	"github.com/respond-dev/respond/detect"
	"github.com/respond-dev/respond/ram/accesskey"
)

// Input is what a batch responds to (respond's main command): the keys a person named, a
// scanner's report (findings and warnings), and, with SecurityCenter, Security Center's pending
// records found since Since ago (0: since the last successful poll).
type Input struct {
	Named          []accesskey.ID
	Read           detect.Result
	SecurityCenter bool
	Since          time.Duration
}

// Respond is a whole batch: the findings of in, one per key (detect.WithNamed), whose secrets the
// batch's Redactor learns; the connection (connect, called only when there is something to do or
// Security Center to poll), which sets Session and the report's caller; the poll, whose records
// become the keys' alerts; Run; and the report, every exit code mapped by exitCode, with what
// became of the poll's records. A Confirmer that said no is the report's Declined, not an error;
// an error says the batch stopped before its report (Run's errors).
func (b *Batch) Respond(ctx context.Context, in Input, connect func(context.Context) (*Session, error), exitCode func(Severity) int) (Report, []*Item, error) {
	findings := b.learn(detect.WithNamed(in.Named, in.Read.Findings))
	report := NewReport(b.DryRun, in.Read.Warnings)
	var poll *SecurityCenterPoll
	if in.SecurityCenter || len(findings) > 0 {
		s, err := connect(ctx)
		if err != nil {
			return report, nil, err
		}
		b.Session = s
		caller := s.Caller()
		report.Caller = &caller
		if in.SecurityCenter {
			if poll, err = s.PollSecurityCenter(ctx, b.StateDir, in.Since, b.Outputs.now()); err != nil {
				return report, nil, err
			}
			poll.Prepare(b)
			findings = b.learn(detect.WithNamed(in.Named, poll.Findings))
			report.Warnings = append(report.Warnings, poll.Warnings...)
		}
	}
	var items []*Item
	if len(findings) > 0 {
		var err error
		items, err = b.Run(ctx, findings)
		if report.Declined = errors.Is(err, ErrNotConfirmed); err != nil && !report.Declined {
			return report, items, err
		}
	}
	report.AddItems(items, exitCode)
	if poll != nil {
		// An interrupted run still records what it left pending (Finish bounds its own wait).
		poll.Conclude(context.WithoutCancel(ctx), &report, b.StateDir, items, b.Outputs.now(), exitCode)
	}
	return report, items, nil
}

// learn teaches the batch's Redactor the findings' secrets, and returns the findings.
func (b *Batch) learn(findings []detect.Finding) []detect.Finding {
	if b.Redactor != nil {
		for _, fd := range findings {
			b.Redactor.Add(fd.Secret)
		}
	}
	return findings
}
