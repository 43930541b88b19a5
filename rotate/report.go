package rotate

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/respond-dev/respond/detect"
	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
)

// ReportSchema names the JSON document of a batch (respond --output json).
const ReportSchema = "respond.report/v1"

// Report is a batch as data, one entry per leaked key (README "JSON output").
type Report struct {
	Schema string `json:"schema"`
	DryRun bool   `json:"dry_run"`
	// Declined: the plans were shown and the person at the prompt said no; nothing changed.
	Declined bool          `json:"declined,omitempty"`
	Caller   *ram.Identity `json:"caller,omitempty"`
	Warnings []string      `json:"warnings"`
	Results  []KeyReport   `json:"results"`
	// SecurityCenter is what became of a Security Center poll's records (--from security-center).
	SecurityCenter *SecurityCenterReport `json:"security_center,omitempty"`
	ExitCode       int                   `json:"exit_code"`

	items []*Item // AddItems', for WriteText
}

// Ran reports whether the batch carried out plans: it had some, and it was neither a dry run nor
// declined at the prompt.
func (r Report) Ran() bool { return len(r.items) > 0 && !r.DryRun && !r.Declined }

// WriteText renders the report for a person: a dry run's plans; what was done (WriteSummaryText),
// or that there was nothing to do; then what became of a Security Center poll's records. Plans
// that were not carried out end the text (the prompt showed them; a dry run, above).
func (r Report) WriteText(w io.Writer) error {
	if r.DryRun {
		if err := WritePlansText(w, r.items); err != nil {
			return err
		}
	}
	switch {
	case len(r.items) == 0:
		if _, err := fmt.Fprintln(w, "No AccessKey ids found: nothing to do."); err != nil {
			return err
		}
	case r.Ran():
		if err := WriteSummaryText(w, r.items); err != nil {
			return err
		}
	default:
		return nil
	}
	return WriteSecurityCenterText(w, r.SecurityCenter)
}

// NewReport is an empty report: its lists are empty, never null, in JSON.
func NewReport(dryRun bool, warnings []string) Report {
	return Report{Schema: ReportSchema, DryRun: dryRun, Warnings: append([]string{}, warnings...), Results: []KeyReport{}}
}

// KeyReport is one leaked key: the plan, and the result when it ran.
type KeyReport struct {
	KeyID string `json:"key_id"`
	Kind  string `json:"kind"`
	// Evidence is what makes the finding a leak (secret, source, operator, none), and Source
	// where it came from: an id-only finding from an untrusted source is not acted on.
	Evidence       string            `json:"evidence,omitempty"`
	Source         string            `json:"source,omitempty"`
	Playbook       string            `json:"playbook,omitempty"`
	PlaybookReason string            `json:"playbook_reason,omitempty"`
	Locations      []detect.Location `json:"locations,omitempty"`
	Notes          []string          `json:"notes,omitempty"`
	Plan           *Plan             `json:"plan,omitempty"`
	Result         *Result           `json:"result,omitempty"`
	Error          string            `json:"error,omitempty"`
	ExitCode       int               `json:"exit_code"`
}

// AddItems adds the items' entries to the report, each with its exit code (exitCode maps a
// severity onto it), and sets the report's own from the worst.
func (r *Report) AddItems(items []*Item, exitCode func(Severity) int) {
	if r.Results == nil {
		r.Results = []KeyReport{}
	}
	r.items = append(r.items, items...)
	for _, it := range items {
		kr := KeyReport{KeyID: it.Finding.KeyID.String(), Kind: string(it.Finding.Kind), PlaybookReason: it.PlaybookReason,
			Evidence: string(evidenceOf(it.Finding)), Source: source(it.Finding),
			Locations: it.Finding.Locations, Notes: it.Finding.Notes, Result: it.Result, ExitCode: exitCode(it.Severity())}
		if it.Playbook != nil {
			kr.Playbook = it.Playbook.Name
		}
		if it.Err != nil {
			kr.Error = accesskey.OneLine(it.Err.Error())
		} else {
			p := it.Plan
			kr.Plan = &p
		}
		r.Results = append(r.Results, kr)
	}
	r.ExitCode = exitCode(Worst(items))
}

// WritePlansText renders every item's plan for a human (the --dry-run output, and what is shown
// before the confirmation).
func WritePlansText(w io.Writer, items []*Item) error {
	for _, it := range items {
		if it.Err != nil {
			if _, err := fmt.Fprintf(w, "Key %s: cannot plan: %s\n\n", keyLabel(it.Finding.KeyID), accesskey.OneLine(it.Err.Error())); err != nil { // oneLine escapes
				return err
			}
			continue
		}
		if it.PlaybookReason != "" {
			fmt.Fprintf(w, "Playbook %s (%s)\n", accesskey.Printable(it.Playbook.Name), accesskey.Printable(it.PlaybookReason))
		}
		if err := WritePlanText(w, it.Plan); err != nil {
			return err
		}
		for _, n := range it.Finding.Notes {
			fmt.Fprintf(w, "  note: %s\n", accesskey.Printable(n))
		}
		if _, err := fmt.Fprintln(w); err != nil {
			return err
		}
	}
	return nil
}

// StepLines is a Batch.OnStep (Batch.StepLines's) that writes one line per step as it ends
// ("  <key> <step> <outcome>: <detail>"), the key as label names it; the lines of concurrent keys
// do not mix.
func StepLines(w io.Writer, label func(accesskey.ID) string) func(accesskey.ID) func(StepResult) {
	var mu sync.Mutex
	return func(id accesskey.ID) func(StepResult) {
		return func(s StepResult) {
			line := fmt.Sprintf("  %s %-7s %s", label(id), s.Step, s.Outcome)
			if s.Detail != "" {
				line += ": " + accesskey.Printable(s.Detail) // names paths, the cloud's errors
			}
			mu.Lock()
			defer mu.Unlock()
			fmt.Fprintln(w, line)
		}
	}
}

// WriteSummaryText renders what the batch did, one key after the other, every text from outside
// respond escaped (accesskey.Printable).
func WriteSummaryText(w io.Writer, items []*Item) error {
	var b strings.Builder
	pr := accesskey.Printable
	b.WriteString("Summary\n")
	for _, it := range items {
		if it.Err != nil {
			fmt.Fprintf(&b, "  %s  not run: %s\n", keyLabel(it.Finding.KeyID), accesskey.OneLine(it.Err.Error()))
			continue
		}
		r := it.Result
		if r == nil {
			fmt.Fprintf(&b, "  %s  not run (interrupted)\n", keyLabel(it.Finding.KeyID))
			continue
		}
		fmt.Fprintf(&b, "  %s  %s", keyLabel(r.KeyID), r.Outcome)
		if r.UserName != "" {
			fmt.Fprintf(&b, " (user %s, account %s)", pr(r.UserName), pr(r.AccountID))
		}
		b.WriteString("\n")
		if r.NewKeyID != "" {
			fmt.Fprintf(&b, "      new key %s\n", pr(r.NewKeyID))
		}
		for _, rc := range r.Receipts {
			fmt.Fprintf(&b, "      stored by %s (%s): %s\n", pr(rc.Sink), pr(rc.Kind), pr(rc.Where))
		}
		if r.Err != nil {
			fmt.Fprintf(&b, "      %s\n", accesskey.OneLine(r.Err.Error()))
			var pe *PartialError
			if errors.As(r.Err, &pe) && pe.Resume != "" {
				fmt.Fprintf(&b, "      resume with: %s\n", pr(pe.Resume))
			}
		}
		for _, w := range r.Warnings {
			fmt.Fprintf(&b, "      warning: %s\n", pr(w))
		}
		for _, h := range r.LeftForHuman {
			fmt.Fprintf(&b, "      to do: %s\n", pr(h))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteSecurityCenterText says, after the summary, what became of a poll's records (nothing
// without a poll).
func WriteSecurityCenterText(w io.Writer, sc *SecurityCenterReport) error {
	if sc == nil {
		return nil
	}
	var b strings.Builder
	since := "every pending record"
	if !sc.Since.IsZero() {
		since = "records found since " + sc.Since.UTC().Format(time.RFC3339)
	}
	fmt.Fprintf(&b, "Security Center: %d pending record(s) read (%s)", sc.Records, since)
	if len(sc.AccountsNotRead) > 0 {
		fmt.Fprintf(&b, "; NOT READ: account(s) %s (the next poll reads them again)", strings.Join(sc.AccountsNotRead, ", "))
	}
	b.WriteString("\n")
	for _, p := range sc.LeftPending {
		fmt.Fprintf(&b, "  left pending: record %d (key %s, account %s): %s\n", p.Record.ID, p.Record.KeyID, p.Record.AccountID, p.Reason)
	}
	if len(sc.LeftPending) > 0 {
		b.WriteString("  respond status lists every record left pending\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
