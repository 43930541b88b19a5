// Package assess summarises what a leaked key did: ActionTrail events signed with it, counted by
// service, action, source IP and region, with the actions that matter most flagged. Summarize is
// pure: events in, an Assessment out. CollectRegions (regions.go) and Collect read the cloud,
// through a narrow interface: every ActionTrail region, since ActionTrail is regional.
package assess

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram"
)

// DefaultOwnUserAgent marks respond's own calls in ActionTrail.
const DefaultOwnUserAgent = ram.UserAgentPrefix

// Options steer a summary.
type Options struct {
	Window time.Duration // 0 means playbooks.DefaultAssessWindow
	Now    time.Time     // the end of the window; zero means the latest event's time
	// OwnUserAgent is a substring of the User-Agent that marks respond's own calls, which are
	// excluded. Empty means DefaultOwnUserAgent.
	OwnUserAgent string
	// Lag is how long ActionTrail takes to show an event (DefaultLag on the cloud): the
	// assessment says that events of the last Lag may be missing. 0 says nothing.
	Lag time.Duration
	// Coverage is where the events were looked for (CollectRegions); with it the assessment
	// counts events per region and says what was not looked at.
	Coverage *Coverage
}

// Count is one row of a tally.
type Count struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

// FlaggedEvent is an event that matters, with why.
type FlaggedEvent struct {
	Time     time.Time `json:"time"`
	Service  string    `json:"service"`
	Action   string    `json:"action"`
	SourceIP string    `json:"source_ip,omitempty"`
	Error    string    `json:"error_code,omitempty"`
	Reason   string    `json:"reason"`
	EventID  string    `json:"event_id,omitempty"`
	// Blocked: the call was refused by Alibaba's restrictive protection (the key is flagged as
	// leaked).
	Blocked bool `json:"blocked,omitempty"`
}

// Assessment is what the key did in the window.
type Assessment struct {
	Window    Duration       `json:"window"`
	Start     time.Time      `json:"start,omitzero"`
	End       time.Time      `json:"end,omitzero"`
	Total     int            `json:"total"`    // events counted (own calls excluded)
	Excluded  int            `json:"excluded"` // respond's own calls, and events outside the window
	Failed    int            `json:"failed"`   // counted events that carried an error code
	First     time.Time      `json:"first,omitzero"`
	Last      time.Time      `json:"last,omitzero"`
	ByService []Count        `json:"by_service"`
	ByAction  []Count        `json:"by_action"`
	SourceIPs []Count        `json:"source_ips"`
	Flagged   []FlaggedEvent `json:"flagged"`
	// ByRegion counts the counted events by region ("global" for the global services' events);
	// set when the assessment has a Coverage.
	ByRegion []Count `json:"by_region,omitempty"`
	// Coverage says which regions were asked, which failed or were skipped, and why.
	Coverage *Coverage `json:"coverage,omitempty"`
	// Partial is true when a region that should have been looked at was not (Coverage.Partial):
	// the counts are those of the regions that answered.
	Partial bool `json:"partial,omitempty"`
	// Lag and FreshUntil: events after FreshUntil (End - Lag) may not be visible yet.
	Lag        Duration  `json:"lag,omitempty"`
	FreshUntil time.Time `json:"fresh_until,omitzero"`
	// Blocked counts the counted events that Alibaba's restrictive protection refused: the key is
	// flagged as publicly exposed (it still must be deleted).
	Blocked int `json:"blocked,omitempty"`
}

// Duration marshals as a Go duration string ("168h0m0s") in JSON.
type Duration time.Duration

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	*d = Duration(v)
	return err
}

// HighRiskServices is the list of services whose use by a leaked key deserves a look whatever the
// action: Alibaba's own leak-investigation skill's "14 High-Risk Services" (anchors.md §4).
var highRiskServices = []string{"Ram", "CloudSSO", "Ecs", "AasSub", "Eci", "Sms", "Ecd", "Bdrc", "RdsData", "Pts", "Alidns", "Ehpc", "Dms", "Notifications"}

// HighRiskServices returns a copy of the high-risk service list.
func HighRiskServices() []string { return append([]string(nil), highRiskServices...) }

// serviceAliases maps ActionTrail service names to the list's spelling where they differ.
var serviceAliases = map[string]string{"dysms": "Sms", "dysmsapi": "Sms", "ims": "Ram"}

func isHighRisk(service string) bool {
	if a, ok := serviceAliases[strings.ToLower(service)]; ok {
		service = a
	}
	for _, s := range highRiskServices {
		if strings.EqualFold(s, service) {
			return true
		}
	}
	return false
}

// identity actions that create or widen access.
var identityCreate = map[string]string{
	"CreateUser":              "creates a RAM user",
	"CreateAccessKey":         "creates an AccessKey",
	"CreateRole":              "creates a RAM role",
	"CreatePolicy":            "creates a policy",
	"CreatePolicyVersion":     "changes a policy",
	"CreateLoginProfile":      "gives a user console login",
	"UpdateLoginProfile":      "changes a user's console login",
	"UpdateAccessKey":         "changes an AccessKey's status",
	"AddUserToGroup":          "adds a user to a group",
	"AssumeRole":              "assumes a role",
	"CreateGroup":             "creates a group",
	"SetDefaultPolicyVersion": "changes a policy",
}

// Reason says why an event matters, or "" when it does not stand out.
func Reason(e ram.Event) string {
	name := e.Name
	switch {
	case identityCreate[name] != "":
		return identityCreate[name]
	case strings.HasPrefix(name, "AttachPolicy"):
		return "attaches a policy"
	case name == "RunInstances" || name == "CreateInstance" || name == "CreateInstances":
		return "creates compute instances"
	case strings.HasPrefix(name, "Delete"):
		return "deletes a resource"
	case isHighRisk(e.Service) && !strings.EqualFold(e.RW, "Read"):
		return "writes to high-risk service " + e.Service
	case isHighRisk(e.Service):
		return "uses high-risk service " + e.Service
	}
	return ""
}

// Summarize counts and flags events. The result does not depend on the order of events.
func Summarize(events []ram.Event, opts Options) Assessment {
	window := opts.Window
	if window <= 0 {
		window = playbooks.DefaultAssessWindow
	}
	ua := opts.OwnUserAgent
	if ua == "" {
		ua = DefaultOwnUserAgent
	}
	a := Assessment{Window: Duration(window), ByService: []Count{}, ByAction: []Count{}, SourceIPs: []Count{}, Flagged: []FlaggedEvent{}}
	if !opts.Now.IsZero() {
		a.End = opts.Now.UTC()
		a.Start = a.End.Add(-window)
	}
	if opts.Lag > 0 {
		a.Lag = Duration(opts.Lag)
		if !a.End.IsZero() {
			a.FreshUntil = a.End.Add(-opts.Lag)
		}
	}
	services := map[string]int{}
	actions := map[string]int{}
	ips := map[string]int{}
	regions := map[string]int{}
	for _, e := range events {
		if strings.Contains(e.UserAgent, ua) {
			a.Excluded++
			continue
		}
		if !a.End.IsZero() && (e.Time.Before(a.Start) || e.Time.After(a.End)) {
			a.Excluded++
			continue
		}
		a.Total++
		if e.ErrorCode != "" {
			a.Failed++
		}
		t := e.Time.UTC()
		if a.First.IsZero() || t.Before(a.First) {
			a.First = t
		}
		if t.After(a.Last) {
			a.Last = t
		}
		svc := orUnknown(e.Service)
		services[svc]++
		actions[svc+":"+orUnknown(e.Name)]++
		ips[orUnknown(e.SourceIP)]++
		if e.Global {
			regions[GlobalRegion]++
		} else {
			regions[orUnknown(e.Region)]++
		}
		blocked := RestrictiveProtection(e)
		if blocked {
			a.Blocked++
		}
		r := Reason(e)
		if r == "" && blocked {
			r = "refused by restrictive protection"
		}
		if r != "" {
			a.Flagged = append(a.Flagged, FlaggedEvent{Time: t, Service: e.Service, Action: e.Name, SourceIP: e.SourceIP, Error: e.ErrorCode, Reason: r, EventID: e.ID, Blocked: blocked})
		}
	}
	if opts.Coverage != nil {
		cov := *opts.Coverage
		cov.Regions = append([]RegionResult(nil), cov.Regions...)
		a.Coverage, a.Partial, a.ByRegion = &cov, cov.Partial, tally(regions)
	}
	a.ByService = tally(services)
	a.ByAction = tally(actions)
	a.SourceIPs = tally(ips)
	sort.Slice(a.Flagged, func(i, j int) bool {
		x, y := a.Flagged[i], a.Flagged[j]
		if !x.Time.Equal(y.Time) {
			return x.Time.Before(y.Time)
		}
		if x.Action != y.Action {
			return x.Action < y.Action
		}
		return x.EventID < y.EventID
	})
	return a
}

func orUnknown(s string) string {
	if s == "" {
		return "(unknown)"
	}
	return s
}

// tally sorts by count, descending, then by name.
func tally(m map[string]int) []Count {
	out := make([]Count, 0, len(m))
	for k, v := range m {
		out = append(out, Count{Name: k, Count: v})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// EventLister is the ActionTrail call Collect needs; ram.API implements it (and follows every
// page). A lister that also implements RegionLister (*ram.Client does) is asked in every region.
type EventLister interface {
	LookupEvents(ctx context.Context, q ram.EventQuery, fn func(ram.Event) error) error
}

// Collect reads every event of the query: in q.Region when set, otherwise in every region
// ActionTrail lists (when api can list them) with each global event once. It is CollectRegions
// without the coverage: when some regions failed, the events of the others come with an error
// wrapping ErrPartial. Use CollectRegions to report where it looked.
func Collect(ctx context.Context, api EventLister, q ram.EventQuery) ([]ram.Event, error) {
	c, err := CollectRegions(ctx, api, q, Scope{})
	return c.Events, err
}

// Query returns the ActionTrail query for a key over a window ending at now, checking the window
// (0 means playbooks.DefaultAssessWindow; out of range is an error that matches
// playbooks.ErrAssessWindow).
func Query(q ram.EventQuery, window time.Duration, now time.Time) (ram.EventQuery, error) {
	if window == 0 {
		window = playbooks.DefaultAssessWindow
	}
	if err := playbooks.CheckAssessWindow(window); err != nil {
		return q, err
	}
	q.End = now.UTC()
	q.Start = q.End.Add(-window)
	return q, nil
}

// maxTextRows bounds each list in the text rendering.
const maxTextRows = 10

// WriteText renders the assessment for people: the CLI summary and the Impact of a notification.
func WriteText(w io.Writer, a Assessment) error {
	ew := &errWriter{w: w}
	days := time.Duration(a.Window).Hours() / 24
	if a.Partial {
		ew.printf("PARTIAL ASSESSMENT: some regions were not looked at (below); their events are not counted.\n")
	}
	if a.Total == 0 {
		ew.printf("No ActionTrail events signed by this key in the last %s", plural(days, "day"))
		if a.Coverage != nil {
			ew.printf(" in the %s that answered", plural(float64(a.Coverage.Asked-a.Coverage.Failed), "region"))
		}
		if a.Excluded > 0 {
			ew.printf(" (%d excluded: respond's own calls or outside the window)", a.Excluded)
		}
		ew.printf(".\n")
		writeCoverage(ew, a)
		return ew.err
	}
	ew.printf("%s signed by this key in the last %s, %s to %s", plural(float64(a.Total), "event"), plural(days, "day"),
		a.First.Format(time.RFC3339), a.Last.Format(time.RFC3339))
	if a.Failed > 0 {
		ew.printf(" (%d failed)", a.Failed)
	}
	if a.Excluded > 0 {
		ew.printf("; %d excluded", a.Excluded)
	}
	ew.printf(".\n")
	list := func(title string, rows []Count) {
		ew.printf("%s:", title)
		for i, c := range rows {
			if i == maxTextRows {
				ew.printf(" … and %d more", len(rows)-maxTextRows)
				break
			}
			sep := ","
			if i == 0 {
				sep = ""
			}
			ew.printf("%s %s (%d)", sep, c.Name, c.Count)
		}
		ew.printf("\n")
	}
	list("Services", a.ByService)
	list("Actions", a.ByAction)
	list("Source IPs", a.SourceIPs)
	if len(a.ByRegion) > 0 {
		list("Regions", a.ByRegion)
	}
	writeCoverage(ew, a)
	if len(a.Flagged) == 0 {
		ew.printf("Nothing flagged: no identity, instance or deletion actions and no high-risk services.\n")
		return ew.err
	}
	groups := groupFlagged(a.Flagged)
	ew.printf("Flagged (%d events, %d kinds):\n", len(a.Flagged), len(groups))
	for i, g := range groups {
		if i == maxTextRows {
			ew.printf("  … and %d more kinds (see --output json)\n", len(groups)-i)
			break
		}
		ew.printf("  %s:%s from %s: %s", g.Service, g.Action, orUnknown(g.SourceIP), g.Reason)
		if g.Blocked {
			ew.printf(" (refused by restrictive protection: %s)", g.Error)
		} else if g.Error != "" {
			ew.printf(" (failed: %s)", g.Error)
		}
		if g.Count == 1 {
			ew.printf(", at %s\n", g.First.Format(time.RFC3339))
		} else {
			ew.printf(", %d times, %s to %s\n", g.Count, g.First.Format(time.RFC3339), g.Last.Format(time.RFC3339))
		}
	}
	return ew.err
}

// flaggedGroup is the flagged events of one kind (action, source, reason, error) for the text
// summary: sixty failed ListUsers calls are one line, not sixty.
type flaggedGroup struct {
	FlaggedEvent
	Count       int
	First, Last time.Time
}

// groupFlagged groups flagged events by kind: changes (identity, instances, policies, deletions,
// writes) before mere reads of a high-risk service, then the most frequent first.
func groupFlagged(fs []FlaggedEvent) []flaggedGroup {
	idx := map[string]int{}
	var out []flaggedGroup
	for _, f := range fs {
		k := f.Service + "\x00" + f.Action + "\x00" + f.SourceIP + "\x00" + f.Reason + "\x00" + f.Error
		i, ok := idx[k]
		if !ok {
			idx[k] = len(out)
			out = append(out, flaggedGroup{FlaggedEvent: f, First: f.Time, Last: f.Time})
			continue
		}
		g := &out[i]
		g.Count++
		if f.Time.Before(g.First) {
			g.First = f.Time
		}
		if f.Time.After(g.Last) {
			g.Last = f.Time
		}
	}
	for i := range out {
		out[i].Count++
	}
	readOnly := func(g flaggedGroup) bool { return strings.HasPrefix(g.Reason, "uses high-risk service") }
	sort.SliceStable(out, func(i, j int) bool {
		if ri, rj := readOnly(out[i]), readOnly(out[j]); ri != rj {
			return !ri
		}
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].First.Before(out[j].First)
	})
	return out
}

func plural(n float64, unit string) string {
	s := fmt.Sprintf("%g %s", n, unit)
	if n != 1 {
		s += "s"
	}
	return s
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}
