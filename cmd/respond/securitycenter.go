package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/respond-dev/respond/detect"
	"github.com/respond-dev/respond/rotate"
)

// fromSecurityCenter is the --from value (and scan argument) that polls Alibaba Cloud Security
// Center instead of reading a file. The poll, the records' closing and what is remembered are
// the engine's (rotate.PollSecurityCenter); this file only wires them to the commands.
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

// runStateDir is the state directory of a command that reads the configuration: --state-dir,
// else the configuration's state-dir, else the default (a fresh one for --sandbox).
func (f *Factory) runStateDir(confStateDir string) (string, error) {
	dir, err := f.stateDir()
	if err != nil {
		return "", err
	}
	if confStateDir != "" && f.Global.StateDir == "" {
		dir = confStateDir
	}
	return dir, nil
}

// pollSecurityCenter connects the batch and reads Security Center's pending records: their
// findings join those named with --key-id (whose places they add to), their records become the
// batch's alerts, their secrets (paired from the records' snippets) the redactor's.
func (r *run) pollSecurityCenter(ctx context.Context, b *rotate.Batch, findings []detect.Finding, report *rotate.Report) ([]detect.Finding, *rotate.SecurityCenterPoll, error) {
	f := r.opts.Factory
	cl, err := f.connect(ctx, b.Config, r.progress)
	if err != nil {
		return nil, nil, err
	}
	b.Session = cl
	caller := cl.Caller()
	report.Caller = &caller
	poll, err := cl.PollSecurityCenter(ctx, r.stateDir, r.opts.Since, f.Now())
	if err != nil {
		return nil, nil, err
	}
	poll.Prepare(b)
	byID := map[string]int{}
	for i, fd := range findings {
		byID[fd.KeyID.String()] = i
	}
	for _, fd := range poll.Findings {
		r.red.Add(fd.Secret)
		if i, named := byID[fd.KeyID.String()]; named {
			findings[i].Locations = append(findings[i].Locations, fd.Locations...)
			findings[i].Notes = append(findings[i].Notes, fd.Notes...)
			if findings[i].Secret.IsZero() {
				findings[i].Secret = fd.Secret
			}
			continue
		}
		findings = append(findings, fd)
	}
	report.Warnings = append(report.Warnings, poll.Warnings...)
	r.poll = poll
	return findings, poll, nil
}

// finishPoll remembers the poll once the batch has run (never for --dry-run): the records left
// pending and, when it read every account and nothing is left to resume, the poll itself. It
// adds what it did to the report.
func (r *run) finishPoll(report *rotate.Report, items []*rotate.Item) {
	p := r.poll
	sc := &rotate.SecurityCenterReport{Since: p.Since, Records: p.Records(), AccountsNotRead: p.Failed}
	report.SecurityCenter = sc
	if r.opts.DryRun {
		return
	}
	left, err := p.Finish(r.stateDir, items, r.opts.Factory.Now())
	if err != nil {
		report.Warnings = append(report.Warnings, "Security Center: "+oneLine(err.Error()))
	}
	sc.LeftPending = left
}

// writeSecurityCenterText says, after the summary, what became of the records.
func writeSecurityCenterText(r *run, sc *rotate.SecurityCenterReport) {
	if sc == nil {
		return
	}
	since := "every pending record"
	if !sc.Since.IsZero() {
		since = "records found since " + sc.Since.UTC().Format(time.RFC3339)
	}
	fmt.Fprintf(r.out, "Security Center: %d pending record(s) read (%s)", sc.Records, since)
	if len(sc.AccountsNotRead) > 0 {
		fmt.Fprintf(r.out, "; NOT READ: account(s) %s (the next poll reads them again)", strings.Join(sc.AccountsNotRead, ", "))
	}
	fmt.Fprintln(r.out)
	for _, p := range sc.LeftPending {
		fmt.Fprintf(r.out, "  left pending: record %d (key %s, account %s): %s\n", p.Record.ID, p.Record.KeyID, p.Record.AccountID, p.Reason)
	}
	if len(sc.LeftPending) > 0 {
		fmt.Fprintln(r.out, "  respond status lists every record left pending")
	}
}

// scanSecurityCenter prints the findings a Security Center poll would act on (read-only: the
// poll is not remembered).
func scanSecurityCenter(ctx context.Context, opts *ScanOptions, asJSON bool) error {
	f := opts.Factory
	conf, err := f.loadConfig()
	if err != nil {
		return err
	}
	confDir := ""
	if conf != nil {
		confDir = conf.StateDir
	}
	dir, err := f.runStateDir(confDir)
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
	res := detect.Result{Findings: poll.Findings, Format: detect.FormatSAS, Warnings: poll.Warnings}
	if asJSON {
		err = detect.WriteJSON(f.Streams.Out, res)
	} else {
		err = detect.WriteText(f.Streams.Out, res)
	}
	if err != nil || !poll.Partial() {
		return err
	}
	return &ExitError{Code: exitPartial, Err: fmt.Errorf("Security Center records of account(s) %s could not be read (see the warnings)", strings.Join(poll.Failed, ", "))}
}
