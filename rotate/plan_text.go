package rotate

import (
	"cmp"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/respond-dev/respond/detect"
	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/rotate/assess"
)

// WritePlanText renders the plan for a human (the --dry-run output, what is shown before the
// confirmation). Every text that comes from outside respond (a finding's file name or URL, the
// cloud's names and errors, the configuration's sinks) has its control characters escaped
// (accesskey.Printable): a file name must not rewrite what the operator sees before confirming.
func WritePlanText(w io.Writer, p Plan) error {
	var b strings.Builder
	pr := accesskey.Printable
	fmt.Fprintf(&b, "Plan for %s", keyLabel(p.KeyID))
	if p.Playbook != "" {
		fmt.Fprintf(&b, " (playbook %s)", pr(p.Playbook))
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "  decision:   %s\n", p.Decision)
	if p.Reason != "" {
		fmt.Fprintf(&b, "  reason:     %s\n", pr(p.Reason))
	}
	for _, l := range p.Locations {
		fmt.Fprintf(&b, "  found in:   %s\n", locationText(l))
	}
	if m := secretMatchText(p.SecretMatch); m != "" {
		fmt.Fprintf(&b, "  secret-match: %s\n", m)
	}
	if p.Owner != nil {
		acct := pr(p.Owner.Account.ID)
		if p.Owner.Account.Name != "" {
			acct += " (" + pr(p.Owner.Account.Name) + ")"
		}
		if p.Owner.Root {
			fmt.Fprintf(&b, "  owner:      root account %s\n", acct)
		} else {
			fmt.Fprintf(&b, "  owner:      RAM user %s in account %s", pr(p.Owner.UserName), acct)
			if p.Owner.Strategy != "" {
				fmt.Fprintf(&b, " (found by %s)", pr(p.Owner.Strategy))
			}
			b.WriteString("\n")
		}
	}
	if p.KeyStatus != "" {
		fmt.Fprintf(&b, "  key:        %s", pr(p.KeyStatus))
		if !p.KeyCreated.IsZero() {
			fmt.Fprintf(&b, ", created %s", p.KeyCreated.UTC().Format(time.RFC3339))
		}
		b.WriteString("\n")
	}
	if bin := p.RecycleBin; bin != nil && p.Owner != nil {
		fmt.Fprintf(&b, "  key:        deleted %s, in the recycle bin of user %s until %s (restorable until purged)\n",
			bin.RecycleDate.UTC().Format(time.RFC3339), p.Owner.UserName, bin.DeleteDate.UTC().Format(time.RFC3339))
	}
	if p.rotates() {
		if p.LastUsed.IsZero() {
			b.WriteString("  last used:  unknown\n")
		} else {
			fmt.Fprintf(&b, "  last used:  %s\n", p.LastUsed.UTC().Format(time.RFC3339))
		}
		if p.SecretKnown {
			b.WriteString("  secret:     known (never printed)\n")
		}
	}
	for _, k := range p.OtherKeys {
		fmt.Fprintf(&b, "  other key:  %s %s — %s\n", k.ID, pr(k.Status), pr(k.Note))
	}
	if p.Resuming {
		b.WriteString("  resuming:   an earlier run did not finish; this run continues it\n")
	}
	if p.Reordered {
		fmt.Fprintf(&b, "  order:      %s\n", p.ReorderReason)
	}
	if len(p.Steps) > 0 {
		b.WriteString("Steps:\n")
		for i, s := range p.Steps {
			fmt.Fprintf(&b, "  %d. %s\n", i+1, s.Step)
			for _, a := range s.Actions {
				fmt.Fprintf(&b, "       %s\n", pr(a))
			}
			if s.Note != "" {
				fmt.Fprintf(&b, "       note: %s\n", pr(s.Note))
			}
		}
	}
	if p.rotates() {
		if len(p.Sinks) > 0 && p.hasStep(playbooks.StepStore) {
			b.WriteString("Sinks:\n")
			for _, s := range p.Sinks {
				fmt.Fprintf(&b, "  %s (%s): %s\n", pr(s.Name), pr(s.Kind), pr(s.Describe))
			}
		}
		if p.DeleteNotDisable != "" {
			fmt.Fprintf(&b, "Why delete, not disable: %s.\n", p.DeleteNotDisable)
		}
		if p.Purge != "" {
			fmt.Fprintf(&b, "Why purge: %s.\n", p.Purge)
		}
	}
	writeKMSText(&b, p)
	if p.Assessment != nil {
		fmt.Fprintf(&b, "Impact (ActionTrail, respond's own calls excluded):\n")
		var ib strings.Builder
		if err := assess.WriteText(&ib, *p.Assessment); err != nil {
			return err
		}
		for _, l := range strings.Split(strings.TrimRight(ib.String(), "\n"), "\n") {
			fmt.Fprintf(&b, "  %s\n", l)
		}
	}
	if err := writeIncidentText(&b, p); err != nil {
		return err
	}
	if len(p.Warnings) > 0 {
		b.WriteString("Warnings:\n")
		for _, w := range p.Warnings {
			fmt.Fprintf(&b, "  - %s\n", pr(w))
		}
	}
	if len(p.LeftForHuman) > 0 {
		b.WriteString("Left for you:\n")
		for _, l := range p.LeftForHuman {
			fmt.Fprintf(&b, "  - %s\n", pr(l))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// locationText is a location on one line: file:line@commit (source), its control characters
// escaped. A URL stands in for a file, the report's format for its source.
func locationText(l detect.Location) string {
	return accesskey.Printable(rawLocationText(l))
}

func rawLocationText(l detect.Location) string {
	s := cmp.Or(l.File, l.URL)
	if l.Line > 0 {
		s += fmt.Sprintf(":%d", l.Line)
	}
	if l.Commit != "" {
		s += "@" + l.Commit
	}
	if src := cmp.Or(l.Source, l.Format); src != "" {
		if s == "" {
			return src
		}
		s += " (" + src + ")"
	}
	return s
}
