package doctor

import (
	"fmt"
	"io"
	"strings"

	"github.com/respond-dev/respond/ram/accesskey"
)

// WriteText renders the report for a person: a table per component (status, item, what was
// found, the fix), then one line that says whether respond can act.
func (rep Report) WriteText(w io.Writer) error {
	var b strings.Builder
	width := 0
	for _, c := range rep.Checks {
		width = max(width, len(c.Item))
	}
	width = min(width, 44)
	comp := ""
	counts, failedBy := map[Status]int{}, map[Status]int{}
	failed, optional := 0, 0
	for _, c := range rep.Checks {
		if c.Component != comp {
			if comp != "" {
				b.WriteString("\n")
			}
			comp = c.Component
			b.WriteString(accesskey.Printable(comp) + "\n")
		}
		counts[c.Status]++
		label := string(c.Status)
		switch {
		case c.Failed():
			failed++
			failedBy[c.Status]++
			label = strings.ToUpper(label)
		case c.Status != StatusOK && c.Status != StatusNotChecked:
			optional++
			label += "*"
		}
		line := fmt.Sprintf("  %-12s %-*s  %s", label, width, accesskey.Printable(c.Item), accesskey.Printable(detailOf(c)))
		b.WriteString(strings.TrimRight(line, " ") + "\n")
		if c.Fix != "" && c.Status != StatusOK {
			fmt.Fprintf(&b, "  %-12s %-*s  → %s\n", "", width, "", accesskey.Printable(c.Fix))
		}
	}
	if len(rep.Checks) > 0 {
		b.WriteString("\n")
	}
	if optional > 0 {
		b.WriteString("* not needed by a configured playbook to act: reported, not failed\n")
	}
	if rep.ProbeUser != "" {
		fmt.Fprintf(&b, "Write permissions were probed on user %s, which does not exist: nothing was changed.\n", rep.ProbeUser)
	}
	if rep.OK {
		fmt.Fprintf(&b, "OK: respond can act (%d checks: %d ok, %d not checked). Exit 0.\n",
			len(rep.Checks), counts[StatusOK], counts[StatusNotChecked])
	} else {
		fmt.Fprintf(&b, "NOT READY: %d required check(s) failed (%d missing, %d error, %d unknown). Exit %d.\n",
			failed, failedBy[StatusMissing], failedBy[StatusError], failedBy[StatusUnknown], rep.ExitCode)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// detailOf is what the table says about a check: for one that passed, what was found (a probe's
// answer); for one that did not, why, by which call, and for whom. The JSON form has every field.
func detailOf(c Check) string {
	if c.Status == StatusOK {
		if c.Probe == "" || c.Detail != "" {
			return c.Detail
		}
		switch {
		case c.Inferred:
			return "granted: refused only for lack of the target (" + c.Answer + "; inferred)"
		case c.Answer == "":
			return "granted: " + callName(c.Probe) + " succeeded"
		}
		return "granted (" + c.Answer + ")"
	}
	parts := []string{}
	if c.Detail != "" {
		parts = append(parts, c.Detail)
	}
	if strings.Contains(c.Probe, "(") && c.Status != StatusNotChecked { // a call line, not just an action
		p := c.Probe
		if c.Answer != "" {
			p += " → " + c.Answer
		}
		parts = append(parts, p)
	}
	if len(c.NeededBy) > 0 && c.Status != StatusNotChecked {
		parts = append(parts, "needed by "+strings.Join(c.NeededBy, ", "))
	}
	return strings.Join(parts, "; ")
}

// callName is the API name of a probe's call line.
func callName(call string) string {
	name, _, _ := strings.Cut(call, "(")
	return name
}
