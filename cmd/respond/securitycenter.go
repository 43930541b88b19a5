package main

import (
	"context"
	"time"

	"github.com/respond-dev/respond/detect"
	"github.com/respond-dev/respond/rotate"
)

// fromSecurityCenter is the --from value (and scan argument) that polls Alibaba Cloud Security
// Center instead of reading a file. The poll, the records' closing, what is remembered and its
// report are the engine's (rotate.SecurityCenterPoll); this file only wires them to the commands.
const fromSecurityCenter = rotate.SecurityCenterSource

// checkSince refuses --since where it means nothing.
func checkSince(from string, since time.Duration) error {
	switch {
	case since < 0:
		return flagErrorf("--since must be a positive duration (e.g. 24h or 720h), not %s", since)
	case since > 0 && from != fromSecurityCenter:
		return flagErrorf("--since applies to --from %s only (how far back to read its records)", fromSecurityCenter)
	}
	return nil
}

// pollSecurityCenter reads Security Center's pending records on the batch's connection: their
// findings join those named with --key-id (detect.WithNamed), their records become the batch's
// alerts, their secrets (paired from the records' snippets) the redactor's.
func (r *run) pollSecurityCenter(ctx context.Context, b *rotate.Batch, report *rotate.Report) ([]detect.Finding, error) {
	poll, err := r.session.PollSecurityCenter(ctx, r.stateDir, r.opts.Since, r.opts.Factory.Now())
	if err != nil {
		return nil, err
	}
	poll.Prepare(b)
	for _, fd := range poll.Findings {
		r.red.Add(fd.Secret)
	}
	report.Warnings = append(report.Warnings, poll.Warnings...)
	r.poll = poll
	ids, _ := detect.ParseIDs(r.opts.KeyIDRaw) // checked by gatherFindings
	return detect.WithNamed(ids, poll.Findings), nil
}

// scanSecurityCenter prints the findings a Security Center poll would act on (read-only: the
// poll is not remembered).
func scanSecurityCenter(ctx context.Context, opts *ScanOptions, asJSON bool) error {
	f := opts.Factory
	conf, err := f.loadConfig()
	if err != nil {
		return err
	}
	dir, err := f.stateDirFor(conf)
	if err != nil {
		return err
	}
	cl, err := f.connect(ctx, conf, nil)
	if err != nil {
		return err
	}
	poll, err := cl.PollSecurityCenter(ctx, dir, opts.Since, f.Now())
	if err != nil {
		return err
	}
	if err := writeResult(f.Streams.Out, poll.Result(), asJSON); err != nil {
		return err
	}
	if err := poll.PartialError(); err != nil {
		return &ExitError{Code: exitPartial, Err: err}
	}
	return nil
}
