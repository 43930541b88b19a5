package rotate

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/rotate/assess"
	"github.com/respond-dev/respond/rotate/hunt"
	"github.com/respond-dev/respond/rotate/journal"
)

// IncidentPlan is the plan's part for the incident steps: the hunt's graph, the planned
// containment and eradication, and the deny policies earlier runs left in place. Execute derives
// the containment and the eradication again, by the same functions, from the graph it holds then.
type IncidentPlan struct {
	// Incident is the hunt's graph (nil without a hunt step, or when the hunt could not run: see
	// Warnings; Execute's hunt step tries again).
	Incident *hunt.Graph `json:"incident,omitempty"`
	// Containment is what the contain step will attach (nil without a contain step).
	Containment *Containment `json:"containment,omitempty"`
	// Eradication is what the eradicate step will remove (nil without an eradicate step or a graph).
	Eradication *hunt.Plan `json:"eradication,omitempty"`
	// Quarantines are the deny policies earlier runs of this rotation left in place, and whether
	// this run removes them (Lift).
	Quarantines []PlannedQuarantine `json:"quarantines,omitempty"`
	// IncidentID names the rotation's deny policies: the first run's id, "" until it starts.
	IncidentID string `json:"incident_id,omitempty"`
	// The hunt and contain options.
	HuntDepth     int      `json:"hunt_depth,omitempty"`
	KnownIPs      []string `json:"known_ips,omitempty"`
	ContainMethod string   `json:"contain_method,omitempty"`
	AllowIPs      []string `json:"allow_ips,omitempty"`
}

// Containment is the planned quarantine of the leaked key's owner.
type Containment struct {
	Method string `json:"method"` // playbooks.ContainDenyPolicy or ContainNetworkPolicy
	// Target is user/<owner> (a deny policy) or key/<id> (the key's network policy).
	Target string `json:"target"`
	// Policy is the deny policy's name (respond-quarantine-<run id>).
	Policy  string   `json:"policy,omitempty"`
	Actions []string `json:"actions,omitempty"`
	// AttackerIPs condition the deny when the hunt knows them; else AllowIPs are the only
	// addresses spared (or, for a network policy, the only ones allowed).
	AttackerIPs []string  `json:"attacker_ips,omitempty"`
	AllowIPs    []string  `json:"allow_ips,omitempty"`
	Expires     time.Time `json:"expires,omitzero"`
	Document    string    `json:"document,omitempty"`
	Note        string    `json:"note,omitempty"`
	// Error says why no containment can be made (the step is skipped).
	Error string `json:"error,omitempty"`
}

// PlannedQuarantine is a deny policy an earlier run attached.
type PlannedQuarantine struct {
	journal.Quarantine
	Expired bool `json:"expired"`
	// Lift: this run removes it (an owner's quarantine once the leaked key is gone, a role's deny
	// once it has expired).
	Lift bool `json:"lift"`
}

// runIDPlaceholder stands for the run id in the names of a plan made before the first run.
const runIDPlaceholder = "<run id>"

// quarantineName is the contain step's policy name for the rotation id ("" before the first run).
func quarantineName(id string) string {
	if id == "" {
		return hunt.QuarantinePolicyName("") + runIDPlaceholder
	}
	return hunt.QuarantinePolicyName(id)
}

// planIncident fills in the incident part of a rotation's plan (pure).
func (p *Plan) planIncident(f accesskey.ID, snap Snapshot, s Settings, leakedPresent bool) {
	o := s.Incident
	p.HuntDepth, p.KnownIPs, p.ContainMethod, p.AllowIPs = o.HuntDepth, o.KnownIPs, o.ContainMethod, o.AllowIPs
	if snap.Resume != nil {
		p.IncidentID = snap.Resume.RunID
	}
	p.planLifts(snap, !leakedPresent)
	if slices.Contains(s.Steps, playbooks.StepHunt) {
		p.Incident = snap.Incident
		if snap.HuntErr != nil {
			p.Warnings = append(p.Warnings, HuntWarningPrefix+"unavailable ("+snap.HuntErr.Error()+"); the hunt step tries again")
		}
	}
	now := snap.Inspected
	if now.IsZero() {
		now = snap.EventQuery.End
	}
	if slices.Contains(s.Steps, playbooks.StepContain) && p.Owner != nil {
		p.Containment = planContainment(p.Incident, p.Assessment, p.IncidentPlan, p.Owner.UserName, f, p.IncidentID, now)
	}
	if slices.Contains(s.Steps, playbooks.StepEradicate) && p.Incident != nil {
		e := planEradication(p.Incident, p.IncidentID, now)
		p.Eradication = &e
		for i, k := range p.OtherKeys {
			if slices.ContainsFunc(e.Actions, func(a hunt.Action) bool { return a.Kind == hunt.DeleteKey && a.KeyID == k.ID }) {
				p.OtherKeys[i].Note = "changed by the attacker (see the incident graph): deleted and purged by the eradicate step"
			}
		}
	}
}

// planLifts lists the deny policies earlier runs left in place: an owner's quarantine is lifted
// once the leaked key is gone (keyGone), a role's deny once it has expired.
func (p *Plan) planLifts(snap Snapshot, keyGone bool) {
	if snap.Resume == nil {
		return
	}
	for _, q := range snap.Resume.ActiveQuarantines() {
		pq := PlannedQuarantine{Quarantine: q, Expired: !q.Expires.IsZero() && !snap.Inspected.Before(q.Expires)}
		pq.Lift = pq.Expired || q.Step == string(playbooks.StepContain) && keyGone
		p.Quarantines = append(p.Quarantines, pq)
	}
}

// liftsQuarantines reports whether an already remediated key's plan still removes expired
// deny policies (a write: it needs the confirmation a rotation needs).
func (p Plan) liftsQuarantines() bool {
	return slices.ContainsFunc(p.Quarantines, func(q PlannedQuarantine) bool { return q.Lift })
}

// planEradication is the hunt's eradication plan with the rotation's policy names.
func planEradication(g *hunt.Graph, id string, now time.Time) hunt.Plan {
	e := hunt.PlanEradication(g, hunt.PlanOptions{RunID: id, Now: now})
	if id == "" {
		for i, a := range e.Actions {
			if a.Kind == hunt.DenyRole {
				e.Actions[i].Policy.Name = hunt.DenyPolicyName(a.Entity, "") + runIDPlaceholder
			}
		}
	}
	return e
}

// planContainment is the quarantine of the owner: a deny of RAM, STS and every service the
// assessment flagged, from the attacker's addresses (the hunt's, without the application's own),
// else from every address but allow-ips, else from all; or the key's network policy.
func planContainment(g *hunt.Graph, a *assess.Assessment, ip IncidentPlan, owner string, key accesskey.ID, id string, now time.Time) *Containment {
	if ip.ContainMethod == playbooks.ContainNetworkPolicy {
		return &Containment{Method: ip.ContainMethod, Target: "key/" + key.String(), AllowIPs: ip.AllowIPs,
			Note: "only " + strings.Join(ip.AllowIPs, ", ") + " may call with the leaked key until it is deleted (its network policy goes with it)"}
	}
	c := &Containment{Method: playbooks.ContainDenyPolicy, Target: "user/" + owner, Policy: quarantineName(id)}
	if !now.IsZero() {
		c.Expires = now.Add(playbooks.QuarantineTTL).UTC().Truncate(time.Second)
	}
	var services []string
	if a != nil {
		for _, fl := range a.Flagged {
			services = append(services, fl.Service)
		}
	}
	c.Actions = hunt.HighRiskActions(services...)
	if g != nil {
		for _, addr := range g.AttackerIPs {
			if _, err := netip.ParseAddr(addr); err == nil && !slices.Contains(ip.KnownIPs, addr) && !slices.Contains(ip.AllowIPs, addr) {
				c.AttackerIPs = append(c.AttackerIPs, addr)
			}
		}
	}
	switch {
	case len(c.AttackerIPs) > 0:
		c.Note = "denied from the attacker's addresses only"
	case len(ip.AllowIPs) > 0:
		c.AllowIPs = ip.AllowIPs
		c.Note = "the attacker's addresses are unknown: denied from every address but the application's (allow-ips)"
	default:
		c.Note = "the attacker's addresses are unknown and no allow-ips are set: denied from every address while the rotation runs"
	}
	doc, err := hunt.ContainmentDocument(hunt.ContainOptions{Actions: c.Actions, AttackerIPs: c.AttackerIPs, AllowedIPs: c.AllowIPs, Until: c.Expires})
	if err != nil {
		c.Error = err.Error()
		return c
	}
	c.Document = doc
	return c
}

// describe says what the containment does, on one line.
func (c *Containment) describe() string {
	if c.Method == playbooks.ContainNetworkPolicy {
		return "network policy of " + c.Target + ": " + c.Note
	}
	s := fmt.Sprintf("deny policy %s on %s: deny %s %s", c.Policy, c.Target, strings.Join(c.Actions, ", "), c.conditionText())
	if !c.Expires.IsZero() {
		s += "; stops applying by itself at " + c.Expires.Format(time.RFC3339)
	}
	return s
}

func (c *Containment) conditionText() string {
	switch {
	case len(c.AttackerIPs) > 0:
		return "from " + strings.Join(c.AttackerIPs, ", ")
	case len(c.AllowIPs) > 0:
		return "from every address but " + strings.Join(c.AllowIPs, ", ")
	}
	return "from every address"
}

// incidentStep is the planned step of hunt, contain or eradicate.
func (p *Plan) incidentStep(ps PlannedStep) PlannedStep {
	switch ps.Step {
	case playbooks.StepHunt:
		ps.Actions = []string{
			fmt.Sprintf("actiontrail:LookupEvents(User or EventAccessKeyId) of each principal the leaked key created or obtained, %d levels deep", p.HuntDepth),
			"ram:GetUser, ListAccessKeys, GetLoginProfile, ListPoliciesForUser/Role, GetPolicy, ListGroupsForUser, GetRole (checks against the present state)",
		}
		if g := p.Incident; g != nil {
			ps.Note = fmt.Sprintf("read-only; hunted while planning: %d writes found from %s", len(g.Edges), orNone(g.AttackerIPs))
		} else {
			ps.Note = "read-only; runs during the rotation (the hunt could not run while planning)"
		}
	case playbooks.StepContain:
		c := p.Containment
		switch {
		case c == nil:
		case c.Error != "":
			ps.Actions = []string{"none: " + c.Error}
		case c.Method == playbooks.ContainNetworkPolicy:
			ps.Actions = []string{"ims:SetAccessKeyPolicy(UserAccessKeyId=" + p.KeyID.String() + ", ClassicWhiteList=" + strings.Join(c.AllowIPs, ",") + ")"}
			ps.Note = c.Note
		default:
			ps.Actions = []string{"ram:CreatePolicy(PolicyName=" + c.Policy + ")",
				"ram:AttachPolicyToUser(PolicyName=" + c.Policy + ", UserName=" + strings.TrimPrefix(c.Target, "user/") + ")"}
			ps.Note = c.Note + "; removed once the leaked key is deleted (ram:DetachPolicyFromUser, ram:DeletePolicy)"
		}
	case playbooks.StepEradicate:
		if p.Eradication == nil {
			ps.Actions = []string{"the writes the hunt's graph justifies (the hunt could not run while planning)"}
			break
		}
		for _, a := range p.Eradication.Actions {
			ps.Actions = append(ps.Actions, string(a.Kind)+": "+a.String())
		}
		if len(ps.Actions) == 0 {
			ps.Actions = []string{"nothing to remove"}
		}
		ps.Note = "never a user (evidence), never the leaked key (the rotation's), never what the attacker did not create or change"
	}
	return ps
}

// incidentLeft is what the plan leaves for a person about the incident.
func (p *Plan) incidentLeft() []string {
	g := p.Incident
	if g == nil || len(g.Edges) == 0 {
		return nil
	}
	if p.Eradication == nil {
		return []string{"remove what the incident graph shows the attacker created (or run the contain-first playbook, whose eradicate step does): users' keys, console passwords, policy attachments"}
	}
	var out []string
	if len(p.Eradication.Kept) > 0 {
		out = append(out, "review what the eradication leaves alone (listed under \"Left alone\"), starting with the users the attacker created")
	}
	if slices.ContainsFunc(p.Eradication.Actions, func(a hunt.Action) bool { return a.Kind == hunt.DenyRole }) {
		out = append(out, "a role the attacker assumed keeps a deny for the attacker's addresses until its last token expires; run respond on this key again after that to remove it (respond status lists it)")
	}
	return out
}

func orNone(xs []string) string {
	if len(xs) == 0 {
		return "no known address"
	}
	return strings.Join(xs, ", ")
}

// writeIncidentText renders the incident part of a plan.
func writeIncidentText(b *strings.Builder, p Plan) error {
	indent := func(render func(*strings.Builder) error) error {
		var ib strings.Builder
		if err := render(&ib); err != nil {
			return err
		}
		for _, l := range strings.Split(strings.TrimRight(ib.String(), "\n"), "\n") {
			if l == "" {
				b.WriteString("\n")
				continue
			}
			fmt.Fprintf(b, "  %s\n", l)
		}
		return nil
	}
	if g := p.Incident; g != nil {
		b.WriteString("Incident (hunt: what the leaked key created or widened, checked against the cloud now):\n")
		if err := indent(func(w *strings.Builder) error { return g.WriteText(w) }); err != nil {
			return err
		}
	}
	if c := p.Containment; c != nil {
		b.WriteString("Containment (contain step, before the rotation):\n")
		if c.Error != "" {
			fmt.Fprintf(b, "  none: %s\n", accesskey.Printable(c.Error))
		} else {
			fmt.Fprintf(b, "  %s\n", accesskey.Printable(c.describe()))
		}
	}
	if e := p.Eradication; e != nil {
		b.WriteString("Eradication (eradicate step, after the leaked key is deleted):\n")
		if err := indent(func(w *strings.Builder) error { return e.WriteText(w) }); err != nil {
			return err
		}
	}
	if len(p.Quarantines) > 0 {
		b.WriteString("Deny policies of earlier runs:\n")
		for _, q := range p.Quarantines {
			fmt.Fprintf(b, "  %s\n", accesskey.Printable(q.text()))
		}
	}
	return nil
}

func (q PlannedQuarantine) text() string {
	s := q.Policy + " on " + q.Target
	switch {
	case q.Expires.IsZero():
	case q.Expired:
		s += ", expired " + q.Expires.UTC().Format(time.RFC3339)
	default:
		s += ", applies until " + q.Expires.UTC().Format(time.RFC3339)
	}
	if q.Lift {
		s += ": removed by this run"
	} else if q.Step == string(playbooks.StepContain) {
		s += ": removed once the leaked key is deleted"
	} else {
		s += ": removed by a run after it expires"
	}
	return s
}
