package rotate

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/rotate/assess"
	"github.com/respond-dev/respond/rotate/journal"
)

// assess reports the key's status, last use and other keys, and what the key did: the plan's
// assessment, or a fresh read of the whole window when the plan has none or read less. A failed
// read is a warning, never fatal.
func (x *run) assess(ctx context.Context) {
	started := x.d.now()
	d := fmt.Sprintf("key %s", orUnknown(x.p.KeyStatus))
	if b := x.p.RecycleBin; b != nil {
		d = "key deleted " + b.RecycleDate.UTC().Format(time.RFC3339) + ", in the recycle bin until " + b.DeleteDate.UTC().Format(time.RFC3339)
	}
	if !x.p.KeyCreated.IsZero() {
		d += ", created " + x.p.KeyCreated.UTC().Format(time.RFC3339)
	}
	if !x.p.LastUsed.IsZero() {
		d += ", last used " + x.p.LastUsed.UTC().Format(time.RFC3339)
	} else {
		d += ", last use unknown"
	}
	switch n := len(x.p.OtherKeys); n {
	case 0:
		d += ", no other key"
	case 1:
		d += ", 1 other key (not touched)"
	default:
		d += fmt.Sprintf(", %d other keys (not touched)", n)
	}
	a := x.p.Assessment
	window := x.p.AssessWindow
	if window == 0 {
		window = playbooks.DefaultAssessWindow
	}
	if a == nil || time.Duration(a.Window) < window || x.planReadShort() {
		q, err := assess.Query(ram.EventQuery{AccessKeyID: x.p.KeyID}, window, started)
		var col assess.Collection
		if err == nil {
			col, err = collectEvents(ctx, x.api, q, x.d.AssessRegions)
		}
		if err != nil {
			x.warnAssess(AssessWarningPrefix + "unavailable (" + err.Error() + "); the rotation goes on without it")
		} else {
			na := summarizeEvents(col.Events, &col.Coverage, window, q.End, x.p.OwnUserAgent)
			a = &na
			x.leakedEvents, x.leakedQuery = col.Events, q // the hunt starts from them
			x.warnAssess(partialWarning(a))
		}
	}
	x.assessment = a
	x.res.Assessment = a
	if a != nil {
		d += fmt.Sprintf("; impact: %d event(s) in the last %s (%d excluded: respond's own or outside the window), %d flagged",
			a.Total, humanWindow(time.Duration(a.Window)), a.Excluded, len(a.Flagged))
		if a.Partial {
			d += "; PARTIAL: not every ActionTrail region answered (see the warnings)"
		}
	} else {
		d += "; impact unknown (warning: ActionTrail could not be read)"
	}
	x.report(StepResult{Step: playbooks.StepAssess, Outcome: journal.OutcomeDone, Started: started, Duration: x.d.now().Sub(started), Detail: d})
}

// planReadShort reports whether the plan warned that it read less than the window.
func (x *run) planReadShort() bool {
	return slices.ContainsFunc(x.p.Warnings, func(w string) bool {
		return strings.HasPrefix(w, AssessWarningPrefix) && strings.Contains(w, "read over")
	})
}

// warnAssess replaces the result's assessment warnings with w ("" drops them).
func (x *run) warnAssess(w string) {
	x.res.Warnings = slices.DeleteFunc(x.res.Warnings, func(s string) bool { return strings.HasPrefix(s, AssessWarningPrefix) })
	if w != "" {
		x.res.Warnings = append(x.res.Warnings, w)
	}
}

func orUnknown(s string) string {
	if s == "" {
		return "status unknown"
	}
	return s
}

// humanWindow says 7 days, not 168h0m0s.
func humanWindow(d time.Duration) string {
	if d >= 24*time.Hour && d%(24*time.Hour) == 0 {
		n := int(d / (24 * time.Hour))
		if n == 1 {
			return "1 day"
		}
		return fmt.Sprintf("%d days", n)
	}
	return d.String()
}
