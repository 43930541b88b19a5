package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/rotate"
)

// run is one run of the main command: its options and its output, which passes the run's
// redactor (the second net behind the Secret type: the engine teaches it the leaked secrets, and
// each new one before a sink gets it); only --reveal writes to stdout without it.
type run struct {
	opts        *RespondOptions
	s           Streams
	asJSON      bool
	red         *accesskey.Redactor
	out, errOut *accesskey.RedactingWriter
	progress    *ram.ProgressPrinter
}

// newRun checks the flags and reads the input.
func newRun(ctx context.Context, opts *RespondOptions) (*run, rotate.Input, error) {
	if err := checkSince(opts.From, opts.Since); err != nil {
		return nil, rotate.Input{}, err
	}
	in, err := input(ctx, opts)
	if err != nil {
		return nil, in, err
	}
	s, red := opts.Factory.Streams, accesskey.NewRedactor()
	r := &run{opts: opts, s: s, asJSON: opts.Factory.json(), red: red, out: red.Writer(s.Out), errOut: red.Writer(s.ErrOut)}
	r.progress = opts.Factory.newProgress(r.errOut)
	return r, in, nil
}

// close flushes the streams and passes the run's error through the redactor too.
func (r *run) close(err *error) {
	_, _ = r.out.Flush(), r.errOut.Flush()
	*err = rotate.Redacted(r.red, *err)
}

// check refuses what needs a person at a terminal without one.
func (r *run) check() error {
	o := r.opts
	if !o.DryRun && !o.Yes && !r.s.InTTY {
		reason := "stdin is not a terminal"
		if o.From == "-" {
			reason = "stdin carries the findings"
		}
		return flagErrorf("refusing to change anything without confirmation (%s): pass --yes to proceed, or --dry-run to see the plan", reason)
	}
	if o.Reveal && (!r.s.OutTTY || r.asJSON) {
		return flagErrorf("--reveal prints the new secret and is allowed only with text output on a terminal; configure a sink instead (see README \"Sinks\")")
	}
	return nil
}

// Confirm implements rotate.Confirmer: it shows the plans and, without --yes, asks on the
// terminal when one would change anything.
func (r *run) Confirm(_ context.Context, items []*rotate.Item) (bool, error) {
	r.progress.Clear()
	if !r.asJSON {
		_ = rotate.WritePlansText(r.out, items)
	}
	runnable := rotate.Runnable(items)
	if runnable == 0 || r.opts.Yes {
		return true, nil
	}
	fmt.Fprintf(r.errOut, "Rotate %d key(s) as planned above? This deletes the leaked key(s). [y/N] ", runnable)
	_ = r.errOut.Flush() // a prompt has no newline
	line, err := bufio.NewReader(r.s.In).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return false, fmt.Errorf("read the confirmation: %w", err)
	}
	a := strings.ToLower(strings.TrimSpace(line))
	return a == "y" || a == "yes", nil
}

// exitFor maps the engine's severities to exit codes (design §10).
var exitFor = map[rotate.Severity]exitCode{
	rotate.SeverityOK: exitOK, rotate.SeverityRefused: exitRefused, rotate.SeverityNotFound: exitNotFound,
	rotate.SeverityInvalid: exitUsage, rotate.SeverityFailed: exitFailed, rotate.SeverityPartial: exitPartial,
}

func exitOf(s rotate.Severity) int { return int(exitFor[s]) }

// finish prints the report (through the run's redactor) and exits with its code (the most urgent
// outcome's).
func (r *run) finish(report rotate.Report) error {
	f := r.opts.Factory
	if err := f.printTo(r.out, report); err != nil {
		return err
	}
	if f.sandboxState != "" && report.Ran() {
		f.keepSandboxState = true
		fmt.Fprintf(r.errOut, "Sandbox state (journal, audit log, the file of any new key respond stored), kept: %s\n", r.opts.Factory.sandboxDir())
	}
	if report.ExitCode == 0 {
		return nil
	}
	return &ExitError{Code: exitCode(report.ExitCode)}
}

// report is a command's result, which renders itself as text; as JSON, it is its own WriteJSON
// when it has one (detect.Result: its schema and redaction), else writeJSON.
type report interface{ WriteText(io.Writer) error }

// print writes r on stdout as --output says (printTo).
func (f *Factory) print(r report) error { return f.printTo(f.Streams.Out, r) }

// printTo writes r on w as --output says.
func (f *Factory) printTo(w io.Writer, r report) error {
	j, ok := r.(interface{ WriteJSON(io.Writer) error })
	switch {
	case !f.json():
		return r.WriteText(w)
	case ok:
		return j.WriteJSON(w)
	}
	return writeJSON(w, r)
}

// writeJSON writes v as indented JSON, safe to print on a terminal (accesskey.PrintableJSON:
// encoding/json leaves DEL, C1 controls and bidi overrides raw).
func writeJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(accesskey.PrintableJSON(b), '\n'))
	return err
}
