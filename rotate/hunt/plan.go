package hunt

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
)

// The eradication plan and the containment documents: pure functions of the graph.

// ActionKind is one kind of eradication write.
type ActionKind string

// The eradication writes, in the order the plan lists them.
const (
	// DeleteKey deletes an AccessKey the attacker created or re-enabled (DeleteAccessKey); PurgeKey
	// then purges it from the recycle bin (DeleteAccessKeyInRecycleBin), where it could be restored.
	DeleteKey ActionKind = "delete-key"
	PurgeKey  ActionKind = "purge-key"
	// DeleteLoginProfile turns off the console password the attacker created or changed.
	DeleteLoginProfile ActionKind = "delete-login-profile"
	// RemoveFromGroup undoes a membership the attacker added (RemoveUserFromGroup).
	RemoveFromGroup ActionKind = "remove-from-group"
	// DetachPolicy undoes an attachment the attacker made (DetachPolicyFrom*).
	DetachPolicy ActionKind = "detach-policy"
	// DeletePolicy deletes a custom policy the attacker created, once detached (DeletePolicy).
	DeletePolicy ActionKind = "delete-policy"
	// DenyRole creates a deny-all policy conditioned on the attacker's IPs and on acs:CurrentTime
	// before the latest moment the attacker's tokens can expire, and attaches it to the role: it
	// expires by itself (CreatePolicy, AttachPolicyToRole; removed on a later run).
	DenyRole ActionKind = "deny-role"
)

var actionOrder = []ActionKind{DeleteKey, PurgeKey, DeleteLoginProfile, RemoveFromGroup, DetachPolicy, DeletePolicy, DenyRole}

// Action is one eradication write. Only the fields of its kind are set.
type Action struct {
	Kind ActionKind `json:"kind"`
	// Node is the graph node the write removes or protects.
	Node string `json:"node"`
	// UserName and UserID: the owner of a key (DeleteKey, PurgeKey), the user of a login
	// profile or of a membership.
	UserName string       `json:"user_name,omitempty"`
	UserID   string       `json:"user_id,omitempty"`
	KeyID    accesskey.ID `json:"key_id,omitzero"`
	Group    string       `json:"group,omitempty"`
	// EntityKind and Entity: what a policy is detached from, or the role a deny goes on.
	EntityKind ram.EntityKind `json:"entity_kind,omitempty"`
	Entity     string         `json:"entity,omitempty"`
	Policy     ram.PolicyRef  `json:"policy,omitzero"`
	// Document is the deny policy's document (DenyRole); Expires when it stops applying.
	Document string    `json:"document,omitempty"`
	Expires  time.Time `json:"expires,omitzero"`
	IPs      []string  `json:"ips,omitempty"`
	// Why is the finding that justifies the write.
	Why string `json:"why"`
}

// Kept is a finding the plan deliberately leaves alone, with why.
type Kept struct {
	Node string `json:"node"`
	Why  string `json:"why"`
}

// Plan is the eradication plan: the writes in order, and what is kept.
type Plan struct {
	Actions []Action `json:"actions"`
	Kept    []Kept   `json:"kept"`
}

// PlanOptions steer the plan.
type PlanOptions struct {
	// RunID names the deny policies respond creates (respond-deny-<role>-<run id>).
	RunID string
	// Now is when the plan is made: a session whose tokens have all expired needs no deny.
	Now time.Time
}

// DenyPolicyName is the name of the self-expiring deny respond attaches to a role the attacker
// assumed: respond-deny-<role>-<run id>, reduced to what RAM accepts ([a-zA-Z0-9-], 128).
func DenyPolicyName(role, runID string) string {
	return policyName128("respond-deny-" + role + "-" + runID)
}

// QuarantinePolicyName is the name of the containment policy on the leaked key's owner.
func QuarantinePolicyName(runID string) string { return policyName128("respond-quarantine-" + runID) }

func policyName128(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			b[i] = '-'
		}
	}
	if len(b) > 128 {
		b = b[:128]
	}
	return string(b)
}

// PlanEradication derives the eradication writes from a checked graph. It removes only what an
// edge proves the attacker created or changed and what is still there; it never deletes a user
// (its history is evidence), never touches the leaked key (the rotation deletes it), and never
// touches what existed before the first suspicious event unless an edge shows the attacker
// changed it (a re-enabled key, a console password set, a policy attached) or what the cloud
// shows is not the object the attacker created.
func PlanEradication(g *Graph, opts PlanOptions) Plan {
	p := Plan{Actions: []Action{}, Kept: []Kept{}}
	node := func(id string) Node { n, _ := g.Node(id); return n }
	why := func(e Edge) string {
		s := e.Time.UTC().Format(time.RFC3339) + " " + e.Action
		if e.SourceIP != "" {
			s += " from " + e.SourceIP
		}
		if e.EventID != "" {
			s += " (event " + e.EventID + ")"
		}
		return s
	}
	keep := func(id, reason string) {
		if !slices.ContainsFunc(p.Kept, func(k Kept) bool { return k.Node == id }) {
			p.Kept = append(p.Kept, Kept{Node: id, Why: reason})
		}
	}
	planned := map[string]bool{}
	roles := map[string]*Action{} // one deny per role
	for _, e := range g.Edges {
		to := node(e.To)
		if to.Foreign {
			keep(to.ID, "not the object the attacker created (its creation date does not match)")
			continue
		}
		switch {
		case to.Kind == KindKey && (e.Action == "CreateAccessKey" || e.Action == "UpdateAccessKey"):
			switch {
			case to.Leaked:
				keep(to.ID, "the leaked key: the rotation deletes it")
			case strings.HasPrefix(to.Name, "?"):
				keep(to.ID, "the key could not be identified: check the user's keys by hand")
			case planned[to.ID]:
			case e.Action == "UpdateAccessKey" && e.State != StatePresent && to.State == StatePresent:
				keep(to.ID, "re-enabled by the attacker, disabled since: check it by hand")
			default:
				id, err := accesskey.ParseID(to.Name)
				if err != nil || to.State == StateUnknown {
					keep(to.ID, "its present state is unknown")
					continue
				}
				planned[to.ID] = true
				a := Action{Node: to.ID, UserName: to.Owner, UserID: to.OwnerID, KeyID: id, Why: why(e)}
				if to.State == StatePresent {
					d := a
					d.Kind = DeleteKey
					p.Actions = append(p.Actions, d)
				}
				a.Kind = PurgeKey // a deleted key waits 30 days in the recycle bin, restorable
				p.Actions = append(p.Actions, a)
			}
		case to.Kind == KindLoginProfile:
			if to.State == StatePresent && !planned[to.ID] {
				planned[to.ID] = true
				p.Actions = append(p.Actions, Action{Kind: DeleteLoginProfile, Node: to.ID, UserName: to.Owner, Why: why(e)})
			}
		case e.Action == "AddUserToGroup":
			if e.State == StatePresent {
				user := node(e.Target)
				p.Actions = append(p.Actions, Action{Kind: RemoveFromGroup, Node: to.ID, UserName: user.Name, Group: to.Name, Why: why(e)})
			}
		case strings.HasPrefix(e.Action, "AttachPolicyTo"):
			if e.State == StatePresent {
				target := node(e.Target)
				p.Actions = append(p.Actions, Action{Kind: DetachPolicy, Node: to.ID, Policy: policyRef(to.Name),
					EntityKind: ram.EntityKind(strings.TrimPrefix(e.Action, "AttachPolicyTo")), Entity: target.Name, Why: why(e)})
			}
		case e.Action == "CreatePolicy":
			if to.State == StatePresent && !planned[to.ID] {
				planned[to.ID] = true
				p.Actions = append(p.Actions, Action{Kind: DeletePolicy, Node: to.ID, Policy: policyRef(to.Name), Why: why(e)})
			}
		case e.Action == "CreatePolicyVersion" || e.Action == "SetDefaultPolicyVersion":
			if !to.Created {
				keep(to.ID, "the attacker changed this policy's versions ("+e.Action+"): restore it by hand")
			}
		case to.Kind == KindSession:
			role := node(e.Target)
			switch {
			case to.State != StatePresent:
				keep(to.ID, "every token of this session has expired")
			case role.Account != "":
				keep(to.ID, "the role is in account "+role.Account+": deny it there")
			case role.State == StateGone:
				keep(to.ID, "the role no longer exists")
			default:
				a := roles[role.Name]
				if a == nil {
					a = &Action{Kind: DenyRole, Node: role.ID, EntityKind: ram.EntityRole, Entity: role.Name,
						Policy: ram.PolicyRef{Type: ram.PolicyCustom, Name: DenyPolicyName(role.Name, opts.RunID)}, Why: why(e)}
					roles[role.Name] = a
				}
				a.Expires = latest(a.Expires, to.Expires)
				a.IPs = append(a.IPs, sessionIPs(g, to.ID, e)...)
			}
		case to.Kind == KindUser && e.Action == "CreateUser":
			keep(to.ID, "a user is never deleted: its history is evidence (its keys, password and attachments are removed)")
		case to.Created && (to.Kind == KindRole || to.Kind == KindGroup):
			keep(to.ID, "created by the attacker: review it (respond does not delete roles or groups)")
		}
	}
	for _, name := range slices.Sorted(maps.Keys(roles)) {
		a := roles[name]
		a.IPs = uniqueSorted(a.IPs)
		if len(a.IPs) == 0 {
			keep(a.Node, "the attacker's addresses are unknown: a deny for everyone would stop the role's legitimate users")
			continue
		}
		doc, err := RoleDenyDocument(a.IPs, a.Expires)
		if err != nil {
			keep(a.Node, "no deny policy: "+err.Error())
			continue
		}
		a.Document = doc
		p.Actions = append(p.Actions, *a)
	}
	// A key is deleted and purged before the next key; then the other kinds, in actionOrder.
	rank := func(k ActionKind) int {
		if k == PurgeKey {
			k = DeleteKey
		}
		return slices.Index(actionOrder, k)
	}
	slices.SortStableFunc(p.Actions, func(a, b Action) int {
		return cmp.Or(cmp.Compare(rank(a.Kind), rank(b.Kind)), cmp.Compare(a.Node, b.Node), cmp.Compare(a.Entity, b.Entity),
			cmp.Compare(slices.Index(actionOrder, a.Kind), slices.Index(actionOrder, b.Kind)))
	})
	slices.SortStableFunc(p.Kept, func(a, b Kept) int { return cmp.Compare(a.Node, b.Node) })
	return p
}

// sessionIPs are the addresses a session was obtained from and used from (those that are
// addresses: acs:SourceIp could never match anything else).
func sessionIPs(g *Graph, session string, assumed Edge) []string {
	ips := []string{assumed.SourceIP}
	for _, e := range g.Edges {
		if e.From == session || e.To == session {
			ips = append(ips, e.SourceIP)
		}
	}
	return slices.DeleteFunc(ips, func(ip string) bool { _, err := netip.ParseAddr(ip); return err != nil })
}

func uniqueSorted(ips []string) []string {
	out := slices.DeleteFunc(slices.Clone(ips), func(s string) bool { return s == "" })
	slices.Sort(out)
	return slices.Compact(out)
}

// policyDocumentLimit is the longest policy document RAM is documented to take (6,144 characters
// in 2026; older pages say 2,048 bytes, so documents stay small).
const policyDocumentLimit = 6144

type statement struct {
	Effect    string                    `json:"Effect"`
	Action    []string                  `json:"Action"`
	Resource  string                    `json:"Resource"`
	Condition map[string]map[string]any `json:"Condition,omitempty"`
}

type document struct {
	Version   string      `json:"Version"`
	Statement []statement `json:"Statement"`
}

// ErrNoAddresses is returned when a document must be conditioned on addresses and none is valid.
var ErrNoAddresses = errors.New("no valid IP address or CIDR block")

func checkIPs(ips []string) ([]string, error) {
	var out []string
	for _, ip := range ips {
		if _, err := netip.ParseAddr(ip); err == nil {
			out = append(out, ip)
			continue
		}
		if _, err := netip.ParsePrefix(ip); err == nil {
			out = append(out, ip)
			continue
		}
		return nil, fmt.Errorf("%q is not an IP address or CIDR block", accesskey.Printable(ip))
	}
	if len(out) == 0 {
		return nil, ErrNoAddresses
	}
	return uniqueSorted(out), nil
}

func render(d document) (string, error) {
	b, err := json.Marshal(d)
	if err != nil {
		return "", err
	}
	if len(b) > policyDocumentLimit {
		return "", fmt.Errorf("the policy document would be %d characters, more than RAM's %d", len(b), policyDocumentLimit)
	}
	return string(b), nil
}

// RoleDenyDocument is the self-expiring deny put on a role the attacker assumed: every action is
// denied to calls from the attacker's addresses until the latest moment the attacker's tokens can
// expire. A token cannot be revoked, but it cannot outlive that moment either, so the deny can
// stop applying then (and respond removes it on a later run).
func RoleDenyDocument(ips []string, until time.Time) (string, error) {
	ips, err := checkIPs(ips)
	if err != nil {
		return "", fmt.Errorf("role deny: %w", err)
	}
	if until.IsZero() {
		return "", errors.New("role deny: no expiry")
	}
	return render(document{Version: "1", Statement: []statement{{Effect: "Deny", Action: []string{"*"}, Resource: "*",
		Condition: map[string]map[string]any{
			"IpAddress":    {"acs:SourceIp": ips},
			"DateLessThan": {"acs:CurrentTime": until.UTC().Format(time.RFC3339)},
		}}}})
}

// HighRiskActions are the actions containment denies: RAM (which names IMS's too) and STS writes
// and reads alike, every action of the given services (the ones the assessment flagged, e.g.
// Ecs), each as "<service>:*".
func HighRiskActions(services ...string) []string {
	out := []string{"ram:*", "sts:*"}
	for _, s := range services {
		s = strings.ToLower(s)
		switch s {
		case "", "ims", "ram", "sts":
			continue
		}
		out = append(out, s+":*")
	}
	return uniqueSorted(out)
}

// ContainOptions describe the containment policy on the leaked key's owner.
type ContainOptions struct {
	Actions []string // default HighRiskActions()
	// AttackerIPs, when known, limit the deny to calls from them (IpAddress).
	AttackerIPs []string
	// AllowedIPs, when the playbook says so, deny calls from everywhere but the application's
	// own addresses (NotIpAddress). Used only when AttackerIPs is empty.
	AllowedIPs []string
	// Until, when set, makes the deny stop applying by itself (acs:CurrentTime).
	Until time.Time
}

// ContainmentDocument builds the deny policy that limits the leaked key's power for the minutes the
// rotation takes. With neither AttackerIPs nor AllowedIPs it denies the actions outright.
func ContainmentDocument(o ContainOptions) (string, error) {
	actions := o.Actions
	if len(actions) == 0 {
		actions = HighRiskActions()
	}
	for _, a := range actions {
		if a != "*" && (!strings.Contains(a, ":") || strings.ContainsAny(a, " \"\\")) {
			return "", fmt.Errorf("containment: %q is not an action (service:Action)", accesskey.Printable(a))
		}
	}
	st := statement{Effect: "Deny", Action: uniqueSorted(actions), Resource: "*", Condition: map[string]map[string]any{}}
	switch {
	case len(o.AttackerIPs) > 0:
		ips, err := checkIPs(o.AttackerIPs)
		if err != nil {
			return "", fmt.Errorf("containment: %w", err)
		}
		st.Condition["IpAddress"] = map[string]any{"acs:SourceIp": ips}
	case len(o.AllowedIPs) > 0:
		ips, err := checkIPs(o.AllowedIPs)
		if err != nil {
			return "", fmt.Errorf("containment: %w", err)
		}
		st.Condition["NotIpAddress"] = map[string]any{"acs:SourceIp": ips}
	}
	if !o.Until.IsZero() {
		st.Condition["DateLessThan"] = map[string]any{"acs:CurrentTime": o.Until.UTC().Format(time.RFC3339)}
	}
	if len(st.Condition) == 0 {
		st.Condition = nil
	}
	return render(document{Version: "1", Statement: []statement{st}})
}

// WriteText renders the plan: one line per write, then what is kept and why. Everything is
// escaped.
func (p Plan) WriteText(w io.Writer) error {
	var b strings.Builder // written to w at once
	if len(p.Actions) == 0 {
		fmt.Fprintf(&b, "Eradication: nothing to remove.\n")
	} else {
		fmt.Fprintf(&b, "Eradication (%d writes):\n", len(p.Actions))
	}
	for i, a := range p.Actions {
		fmt.Fprintf(&b, "  %d. %s\n     because of %s\n", i+1, accesskey.Printable(a.describe()), accesskey.Printable(a.Why))
	}
	if len(p.Kept) > 0 {
		fmt.Fprintf(&b, "Left alone:\n")
		for _, k := range p.Kept {
			fmt.Fprintf(&b, "  %s: %s\n", accesskey.Printable(k.Node), accesskey.Printable(k.Why))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// String describes the write for people, escaped.
func (a Action) String() string { return accesskey.Printable(a.describe()) }

func (a Action) describe() string {
	switch a.Kind {
	case DeleteKey:
		return "delete access key " + a.KeyID.String() + " of user " + a.UserName
	case PurgeKey:
		return "purge access key " + a.KeyID.String() + " of user " + a.UserName + " from the recycle bin"
	case DeleteLoginProfile:
		return "delete the login profile (console password) of user " + a.UserName
	case RemoveFromGroup:
		return "remove user " + a.UserName + " from group " + a.Group
	case DetachPolicy:
		return "detach " + a.Policy.String() + " from " + strings.ToLower(string(a.EntityKind)) + " " + a.Entity
	case DeletePolicy:
		return "delete " + a.Policy.String()
	case DenyRole:
		return "attach " + a.Policy.String() + " to role " + a.Entity + ": deny everything from " + strings.Join(a.IPs, ", ") +
			" until " + a.Expires.UTC().Format(time.RFC3339)
	}
	return string(a.Kind) + " " + a.Node
}
