package rotate

import (
	"context"
	"fmt"
	"time"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/rotate/hunt"
)

// The incident steps (issue 16): hunt (what the leaked key created or widened, read-only),
// contain (a quarantine on the owner while the rotation runs) and eradicate (remove the footholds
// the hunt confirmed). Their cloud calls go through IncidentCloud, apart from the engine's Cloud.

// IncidentCloud is every call of the hunt, contain and eradicate steps in one account
// (*ram.Client implements it): the hunt's ActionTrail lookups and checks, the eradication's
// writes, the quarantine's policy writes and the leaked key's network policy.
type IncidentCloud interface {
	hunt.Cloud
	hunt.Writer
	hunt.Looker
	SetAccessKeyPolicy(ctx context.Context, id accesskey.ID, p ram.AccessKeyPolicy) error
}

var _ IncidentCloud = (*ram.Client)(nil)

// IncidentAccounts gives the incident calls of an account (*Session implements it).
type IncidentAccounts interface {
	Incident(ctx context.Context, accountID string) (IncidentCloud, error)
}

// Incident implements IncidentAccounts: the client of the account ("" is the home account),
// entering it first if nobody has.
func (c *Session) Incident(ctx context.Context, accountID string) (IncidentCloud, error) {
	a, ok := c.byID[accountID]
	switch {
	case !ok && accountID == "":
		return c.home, nil
	case !ok:
		return nil, fmt.Errorf("no credentials for account %s: add it to the configuration's accounts or resource_directory", accountID)
	case a.Err != nil:
		return nil, a.Err
	case a.Entry == nil:
		return nil, fmt.Errorf("account %s is not entered", accountID)
	}
	return a.Entry.Client(ctx)
}

// HuntOptions make Inspect hunt (Deps.Hunt): the playbook's hunt options, and the run's marker of
// respond's own calls (skipped like in the assessment).
type HuntOptions struct {
	Depth        int
	KnownIPs     []string
	OwnUserAgent string
}

// huntOptions are the hunt options of a playbook with a hunt step, else nil.
func huntOptions(pb *playbooks.Playbook, ownUA string) *HuntOptions {
	st, ok := pb.Step(playbooks.StepHunt)
	if !ok {
		return nil
	}
	return &HuntOptions{Depth: st.Options.HuntDepth, KnownIPs: st.Options.KnownIPs, OwnUserAgent: ownUA}
}

// HuntWarningPrefix starts every warning about the hunt.
const HuntWarningPrefix = "incident hunt: "

// inspectHunt hunts from the events Inspect read (a failure is kept in HuntErr, never fatal).
func inspectHunt(ctx context.Context, snap *Snapshot, id accesskey.ID, d Deps) {
	if d.Hunt == nil || d.Incident == nil || snap.EventQuery.End.IsZero() || snap.Owner.Root {
		return
	}
	cl, err := d.Incident.Incident(ctx, snap.Owner.Account.ID)
	if err == nil {
		snap.Incident, err = runHunt(ctx, cl, id, snap.Owner, snap.Events, snap.EventQuery, snap.Inspected, *d.Hunt)
	}
	snap.HuntErr = err
}

// runHunt builds the incident graph of the leaked key id from its events over q's window.
func runHunt(ctx context.Context, cl IncidentCloud, id accesskey.ID, owner ram.Owner, events []ram.Event, q ram.EventQuery, now time.Time, o HuntOptions) (*hunt.Graph, error) {
	if events == nil {
		events = []ram.Event{} // nil would make the hunt read the leaked key's events itself
	}
	g, err := hunt.Run(ctx, hunt.Input{Key: id, Owner: owner.UserName, AccountID: owner.Account.ID, Events: events,
		Start: q.Start, End: q.End, Now: now, MaxDepth: o.Depth, OwnUserAgent: o.OwnUserAgent, KnownIPs: o.KnownIPs},
		hunt.TrailSource{Trail: cl}, cl)
	if err != nil {
		return nil, fmt.Errorf("hunt from %s: %w", id, err)
	}
	return g, nil
}
