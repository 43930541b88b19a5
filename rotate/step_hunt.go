package rotate

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/rotate/assess"
	"github.com/respond-dev/respond/rotate/hunt"
	"github.com/respond-dev/respond/rotate/journal"
)

// incidentRun is what a run holds for the incident steps.
type incidentRun struct {
	// graph is the incident graph: the plan's, or hunted by the hunt step.
	graph *hunt.Graph
	// leakedEvents and leakedQuery: the leaked key's events, when the assess step read them.
	leakedEvents []ram.Event
	leakedQuery  ram.EventQuery
	inc          IncidentCloud // opened on first use
	incErr       error
	// attached are the quarantines this run attached (or may have); lifted those it removed.
	attached []journal.Quarantine
	lifted   map[string]bool
}

// noIncident reports (as a skipped step) that the engine was given no incident calls
// (Deps.Incident nil: a library user's choice; the CLI always gives them).
func (x *run) noIncident(s playbooks.StepID) bool {
	if x.d.Incident != nil {
		return false
	}
	x.report(StepResult{Step: s, Outcome: journal.OutcomeSkipped, Started: x.d.now(), Detail: "no incident calls configured (Deps.Incident)"})
	return true
}

// incidentCloud is the owner account's incident calls, opened once.
func (x *run) incidentCloud(ctx context.Context) (IncidentCloud, error) {
	if x.inc == nil && x.incErr == nil {
		if x.d.Incident == nil {
			x.incErr = errors.New("no incident calls configured (Deps.Incident)")
		} else if x.inc, x.incErr = x.d.Incident.Incident(ctx, x.acct); x.incErr != nil {
			x.incErr = fmt.Errorf("open account %s for the incident steps: %w", x.acct, x.incErr)
		}
	}
	return x.inc, x.incErr
}

// incidentID names the rotation's deny policies: the first run's id, so that a resumed run finds
// the policies of the run it continues.
func (x *run) incidentID() string {
	if x.st.Runs > 0 && x.st.RunID != "" {
		return x.st.RunID
	}
	return x.runID
}

// hunt takes the plan's incident graph, or hunts now when the plan has none (the hunt failed
// while planning, or a resumed run found the leaked key already deleted). It only reads; a
// failure is a warning (the eradicate step then has nothing to go on).
func (x *run) hunt(ctx context.Context) {
	if x.noIncident(playbooks.StepHunt) {
		return
	}
	started := x.d.now()
	g, how := x.p.Incident, "hunted while planning"
	if g == nil {
		how = "hunted now"
		var err error
		g, err = x.huntNow(ctx)
		if err != nil {
			x.report(StepResult{Step: playbooks.StepHunt, Outcome: journal.OutcomeFailed, Started: started, Duration: x.d.now().Sub(started), Detail: err.Error()})
			if ctx.Err() != nil {
				x.interrupt(playbooks.StepHunt, err)
				return
			}
			x.warn(HuntWarningPrefix + "unavailable (" + err.Error() + ")")
			return
		}
	}
	x.graph = g
	x.res.Incident = g
	d := fmt.Sprintf("%s: %d write(s) that created or widened access", how, len(g.Edges))
	if len(g.Edges) > 0 {
		d += ", first " + g.FirstSuspicious.UTC().Format("2006-01-02T15:04:05Z") + ", from " + orNone(g.AttackerIPs)
	}
	if len(g.Truncated) > 0 {
		d += fmt.Sprintf("; %d principal(s) not followed (depth limit)", len(g.Truncated))
	}
	if len(g.Errors) > 0 {
		d += fmt.Sprintf("; %d read(s) or check(s) failed: %s", len(g.Errors), strings.Join(g.Errors, "; "))
	}
	x.report(StepResult{Step: playbooks.StepHunt, Outcome: journal.OutcomeDone, Started: started, Duration: x.d.now().Sub(started), Detail: d})
}

// huntNow hunts from the leaked key's events: the assess step's, else read again over the window.
func (x *run) huntNow(ctx context.Context) (*hunt.Graph, error) {
	cl, err := x.incidentCloud(ctx)
	if err != nil {
		return nil, err
	}
	evs, q := x.leakedEvents, x.leakedQuery
	if q.End.IsZero() {
		if q, err = assess.Query(ram.EventQuery{AccessKeyID: x.p.KeyID}, x.p.AssessWindow, x.d.now()); err != nil {
			return nil, err
		}
		if evs, err = assess.Collect(ctx, x.api, q); err != nil {
			return nil, fmt.Errorf("events of %s: %w", x.p.KeyID, err)
		}
	}
	return runHunt(ctx, cl, x.p.KeyID, *x.p.Owner, evs, q, x.d.now(),
		HuntOptions{Depth: x.p.HuntDepth, KnownIPs: x.p.KnownIPs, OwnUserAgent: x.p.OwnUserAgent})
}

// incidentText is the incident graph as text, for the notification ("" without one).
func (x *run) incidentText() string {
	if x.graph == nil {
		return ""
	}
	var b strings.Builder
	if err := x.graph.WriteText(&b); err != nil {
		return ""
	}
	return b.String()
}
