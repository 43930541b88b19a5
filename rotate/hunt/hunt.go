// Package hunt follows what a leaked AccessKey created or widened while it was live: users,
// keys, console passwords (login profiles), policy attachments, policies, group memberships,
// re-enabled keys and assumed roles, and then what those created in turn, up to a depth. The
// result is an incident graph, checked against the cloud's present state, that the plan and the
// notification show, and from which the eradication plan is derived (plan.go).
//
// Run reads the cloud only through two narrow interfaces the caller provides: EventSource (the
// events of one principal) and Cloud (*ram.Client implements it). Everything else is pure.
package hunt

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
)

// DefaultMaxDepth is how many levels of creations the hunt follows: what the leaked key created is
// level 1, what those created level 2, and so on (Alibaba's own incident tooling goes 5 deep).
const DefaultMaxDepth = 5

// DefaultOwnUserAgent marks respond's own calls, which the hunt skips.
const DefaultOwnUserAgent = ram.UserAgentPrefix

// Kind is the kind of a node.
type Kind string

// The kinds of nodes.
const (
	KindKey          Kind = "key"
	KindUser         Kind = "user"
	KindRole         Kind = "role"
	KindSession      Kind = "session" // a session of an assumed role ("<role>:<session>")
	KindPolicy       Kind = "policy"  // named "<Type>/<Name>"
	KindLoginProfile Kind = "login-profile"
	KindGroup        Kind = "group"
)

// State is what the cloud says now of a node, or of the change an edge made.
type State string

// The states.
const (
	StatePresent State = "present" // it exists; the change is in effect (attached, a member, enabled)
	StateGone    State = "gone"    // deleted, detached, disabled, or (a session) expired
	StateUnknown State = "unknown" // not checked, or the check failed (Graph.Errors says why)
)

// Node is a key, user, role, role session, policy, login profile or group of the incident.
type Node struct {
	ID    string `json:"id"` // "<kind>:<name>", unique in the graph
	Kind  Kind   `json:"kind"`
	Name  string `json:"name"`
	Owner string `json:"owner,omitempty"` // the user of a key or login profile; the role of a session
	// OwnerID is the owner's user id, when known (purging a key from the recycle bin needs it).
	OwnerID string `json:"owner_id,omitempty"`
	Account string `json:"account,omitempty"` // the account of an assumed role in another account
	Depth   int    `json:"depth"`
	Leaked  bool   `json:"leaked,omitempty"` // the leaked key itself
	// Created is true when an edge of the graph created it; otherwise the attacker used or changed it.
	Created bool `json:"created,omitempty"`
	// PreExisting is true when the cloud shows it was created before the first suspicious event.
	PreExisting bool `json:"pre_existing,omitempty"`
	// Foreign is true when the object the cloud has now is not the one the attacker created (its
	// creation date does not match the event): it is never touched.
	Foreign    bool      `json:"foreign,omitempty"`
	CreateDate time.Time `json:"create_date,omitzero"`
	State      State     `json:"state"`
	Status     string    `json:"status,omitempty"`   // a key's status now (Active, Inactive)
	Expires    time.Time `json:"expires,omitzero"`   // a session: the latest moment its token can expire
	Followed   bool      `json:"followed,omitempty"` // its own events were read
	Note       string    `json:"note,omitempty"`
}

// Edge is one write that created or widened access: From did Action at Time, from SourceIP.
type Edge struct {
	From     string    `json:"from"`
	To       string    `json:"to"`
	Action   string    `json:"action"`
	Service  string    `json:"service,omitempty"`
	Time     time.Time `json:"time"`
	SourceIP string    `json:"source_ip,omitempty"`
	EventID  string    `json:"event_id,omitempty"`
	// Target is the node the change applies to when it is not To: the user, role or group a
	// policy was attached to, the user added to a group, the owner of a created key.
	Target string `json:"target,omitempty"`
	Detail string `json:"detail,omitempty"`
	// State says whether the change is still in effect (an attachment, a membership, a
	// re-enabled key); for the other edges it is To's state.
	State State `json:"state"`
}

// Graph is the incident graph.
type Graph struct {
	Root            string    `json:"root"` // the leaked key's node id
	Start           time.Time `json:"start,omitzero"`
	End             time.Time `json:"end,omitzero"`
	Checked         time.Time `json:"checked,omitzero"` // when the present state was read
	FirstSuspicious time.Time `json:"first_suspicious,omitzero"`
	AttackerIPs     []string  `json:"attacker_ips"`
	Nodes           []Node    `json:"nodes"`
	Edges           []Edge    `json:"edges"`
	// Truncated lists the principals at the depth limit, whose own events were not read.
	Truncated []string `json:"truncated,omitempty"`
	// Errors says what could not be read or checked (escaped when rendered).
	Errors []string `json:"errors,omitempty"`
}

// Node returns the node with the id.
func (g *Graph) Node(id string) (Node, bool) {
	for _, n := range g.Nodes {
		if n.ID == id {
			return n, true
		}
	}
	return Node{}, false
}

// Principal is whose own events the hunt reads: a key (its id), a user (its name) or an assumed
// role's session ("<role>:<session>").
type Principal struct {
	Kind Kind   // KindKey, KindUser or KindSession
	Name string // key id, user name, "<role>:<session>"
}

// EventSource reads a principal's own ActionTrail events in [start, end]. The caller implements
// it (TrailSource is one implementation); it must be safe for concurrent use.
type EventSource interface {
	PrincipalEvents(ctx context.Context, p Principal, start, end time.Time) ([]ram.Event, error)
}

// Cloud is the present state the hunt checks its findings against; *ram.Client implements it.
// It must be safe for concurrent use.
type Cloud interface {
	GetUser(ctx context.Context, userName string) (ram.User, error)
	ListAccessKeys(ctx context.Context, userName string) ([]ram.AccessKey, error)
	GetLoginProfile(ctx context.Context, userName string) (ram.LoginProfile, error)
	ListPoliciesFor(ctx context.Context, kind ram.EntityKind, entity string) ([]ram.AttachedPolicy, error)
	GetPolicy(ctx context.Context, ref ram.PolicyRef) (ram.Policy, error)
	ListGroupsForUser(ctx context.Context, userName string) ([]ram.Group, error)
	GetRole(ctx context.Context, roleName string) (ram.Role, error)
}

var _ Cloud = (*ram.Client)(nil)

// Input is what the hunt starts from.
type Input struct {
	Key       accesskey.ID // the leaked key
	Owner     string       // its RAM user ("" for an account owner's key)
	AccountID string       // the account the key belongs to
	// Events are the leaked key's ActionTrail events in the window (what assess collected).
	Events     []ram.Event
	Start, End time.Time // the window; followed principals' events are read within it
	// Now is when the present state is read (a session still valid after it is live); zero
	// means End.
	Now      time.Time
	MaxDepth int // 0 means DefaultMaxDepth
	// OwnUserAgent marks respond's own calls, skipped ("" means DefaultOwnUserAgent).
	OwnUserAgent string
	// KnownIPs are the application's own addresses: writes from them are not the attacker's.
	KnownIPs []string
	// Parallel bounds the reads made at once: the events of one level's principals, and the
	// checks (0 means DefaultParallel). Results do not depend on it.
	Parallel int
}

// DefaultParallel is how many reads the hunt makes at once.
const DefaultParallel = 8

// Run builds the incident graph: it walks the leaked key's events, follows every principal the
// attacker created or obtained (its own events, from its creation to the window's end) up to
// MaxDepth levels, then checks every finding against the cloud. Errors reading a principal's
// events or checking a finding are recorded in Graph.Errors, not returned: a partial graph is
// still worth showing. Run returns an error only when ctx ends.
func Run(ctx context.Context, in Input, src EventSource, cloud Cloud) (*Graph, error) {
	h := newHunter(in)
	if cloud != nil {
		h.reads = newReads(cloud)
	}
	if err := h.walk(ctx, src); err != nil {
		return nil, err
	}
	if h.reads != nil {
		if err := h.check(ctx); err != nil {
			return nil, err
		}
	}
	return h.finish(), nil
}

// hunter builds a graph.
type hunter struct {
	in    Input
	g     *Graph
	nodes []*Node          // in the order found
	index map[string]*Node // by id
	seen  map[string]bool  // events already walked
	queue []task
	ips   map[string]bool
	known map[string]bool
	reads *reads     // the cloud's answers (nil: no checks)
	mu    sync.Mutex // guards g.Errors during concurrent reads
	// unbounded are the AssumeRole times of sessions whose event lacks DurationSeconds.
	unbounded map[string][]time.Time
}

type task struct {
	node   string
	p      Principal
	events []ram.Event // nil: read them from the source
	since  time.Time
}

func newHunter(in Input) *hunter {
	if in.MaxDepth <= 0 {
		in.MaxDepth = DefaultMaxDepth
	}
	if in.Parallel <= 0 {
		in.Parallel = DefaultParallel
	}
	if in.Now.IsZero() {
		in.Now = in.End
	}
	if in.OwnUserAgent == "" {
		in.OwnUserAgent = DefaultOwnUserAgent
	}
	h := &hunter{in: in, g: &Graph{Start: in.Start, End: in.End, Checked: in.Now}, index: map[string]*Node{},
		seen: map[string]bool{}, ips: map[string]bool{}, known: map[string]bool{},
		unbounded: map[string][]time.Time{}}
	for _, ip := range in.KnownIPs {
		h.known[ip] = true
	}
	root := h.node(KindKey, in.Key.String(), 0)
	root.Leaked, root.Owner, root.Followed = true, in.Owner, true
	h.g.Root = root.ID
	h.queue = append(h.queue, task{node: root.ID, p: Principal{KindKey, in.Key.String()}, events: in.Events, since: in.Start})
	return h
}

func nodeID(k Kind, name string) string { return string(k) + ":" + name }

// node returns the node of that kind and name, adding it at depth if new (a node found again
// keeps its smallest depth). Nodes live behind stable pointers until finish copies them.
func (h *hunter) node(k Kind, name string, depth int) *Node {
	id := nodeID(k, name)
	if n := h.index[id]; n != nil {
		n.Depth = min(n.Depth, depth)
		return n
	}
	n := &Node{ID: id, Kind: k, Name: name, Depth: depth, State: StateUnknown}
	h.nodes = append(h.nodes, n)
	h.index[id] = n
	return n
}

func (h *hunter) get(id string) *Node { return h.index[id] }

func (h *hunter) errorf(format string, a ...any) {
	h.mu.Lock()
	h.g.Errors = append(h.g.Errors, fmt.Sprintf(format, a...))
	h.mu.Unlock()
}

// walk processes the queue level by level: the events of one level's principals are read
// concurrently, then walked in queue order (so the graph does not depend on timing).
func (h *hunter) walk(ctx context.Context, src EventSource) error {
	for len(h.queue) > 0 {
		level := h.queue
		h.queue = nil
		type fetched struct {
			events []ram.Event
			err    error
		}
		got := make([]fetched, len(level))
		err := parallel(ctx, len(level), h.in.Parallel, func(i int) {
			t := level[i]
			if t.events != nil || src == nil {
				got[i].events = t.events
				return
			}
			got[i].events, got[i].err = src.PrincipalEvents(ctx, t.p, latest(t.since, h.in.Start), h.in.End)
		})
		if err != nil {
			return err
		}
		for i, t := range level {
			if got[i].err != nil {
				h.errorf("events of %s %s: %v", t.p.Kind, t.p.Name, got[i].err)
				h.get(t.node).Followed = false
				continue
			}
			events := slices.Clone(got[i].events)
			slices.SortStableFunc(events, func(a, b ram.Event) int { return a.Time.Compare(b.Time) })
			for _, e := range events {
				h.event(ctx, t, e)
			}
		}
	}
	return nil
}

// finish orders the graph: edges by time, attacker IPs sorted, the first suspicious event.
func (h *hunter) finish() *Graph {
	g := h.g
	if h.reads == nil {
		// Not checked against the cloud: the longest a token can live.
		for id, times := range h.unbounded {
			n := h.get(id)
			for _, t := range times {
				n.Expires = latest(n.Expires, t.Add(maxSession))
			}
		}
	}
	g.Nodes = make([]Node, len(h.nodes))
	for i, n := range h.nodes {
		g.Nodes[i] = *n
	}
	slices.SortStableFunc(g.Edges, func(a, b Edge) int {
		return cmp.Or(a.Time.Compare(b.Time), cmp.Compare(a.From, b.From), cmp.Compare(a.To, b.To))
	})
	if len(g.Edges) > 0 {
		g.FirstSuspicious = g.Edges[0].Time
	}
	g.AttackerIPs = make([]string, 0, len(h.ips))
	for ip := range h.ips {
		g.AttackerIPs = append(g.AttackerIPs, ip)
	}
	slices.Sort(g.AttackerIPs)
	slices.Sort(g.Truncated)
	slices.Sort(g.Errors) // checks run concurrently
	return g
}
