package hunt

import (
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"strings"
	"time"

	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
)

// Looker is the ActionTrail lookup TrailSource needs; *ram.Client implements it.
type Looker interface {
	LookupEvents(ctx context.Context, q ram.EventQuery, fn func(ram.Event) error) error
}

// TrailSource reads a principal's events from ActionTrail. The writes the hunt follows (RAM, IMS,
// STS) are global events, which every region returns, so one region is enough for a principal;
// with several Regions each principal is asked in one of them (picked from its name), so the
// principals of a level are read at every region's pace instead of one's (ActionTrail allows 2
// LookupEvents per second, per region). A key's events are selected by EventAccessKeyId, a
// user's and a role session's by User.
type TrailSource struct {
	Trail   Looker
	Regions []string // empty: the client's region
}

// PrincipalEvents implements EventSource.
func (s TrailSource) PrincipalEvents(ctx context.Context, p Principal, start, end time.Time) ([]ram.Event, error) {
	q := ram.EventQuery{Start: start, End: end}
	if len(s.Regions) > 0 {
		h := fnv.New32a()
		h.Write([]byte(p.Name))
		q.Region = s.Regions[h.Sum32()%uint32(len(s.Regions))]
	}
	switch p.Kind {
	case KindKey:
		id, err := accesskey.ParseID(p.Name)
		if err != nil {
			return nil, fmt.Errorf("events of key %s: %w", accesskey.Printable(p.Name), err)
		}
		q.AccessKeyID = id
	case KindUser, KindSession:
		q.User = p.Name
	default:
		return nil, fmt.Errorf("events of a %s: not a principal", p.Kind)
	}
	var out []ram.Event
	err := s.Trail.LookupEvents(ctx, q, func(e ram.Event) error { out = append(out, e); return nil })
	return out, err
}

// Label names a node for people, escaped.
func (n Node) Label() string {
	var s string
	switch n.Kind {
	case KindKey:
		s = "key " + n.Name
		if strings.HasPrefix(n.Name, "?") {
			s = "a key not found among " + n.Owner + "'s keys (created " + strings.TrimPrefix(n.Name, "?"+n.Owner+"@") + ")"
		} else if n.Owner != "" {
			s += " of " + n.Owner
		}
	case KindUser:
		s = "user " + n.Name
	case KindRole:
		s = "role " + n.Name
		if n.Account != "" {
			s += " in account " + n.Account
		}
	case KindSession:
		s = "session " + n.Name
		if n.Account != "" {
			s += " in account " + n.Account
		}
		if !n.Expires.IsZero() {
			s += ", tokens valid until " + n.Expires.UTC().Format(time.RFC3339)
		}
	case KindPolicy:
		s = "policy " + n.Name
	case KindLoginProfile:
		s = "login profile (console password) of " + n.Owner
	case KindGroup:
		s = "group " + n.Name
	default:
		s = string(n.Kind) + " " + n.Name
	}
	return accesskey.Printable(s)
}

// flags are a node's facts in brackets: leaked, created, pre-existing, present or gone, status.
func (n Node) flags() string {
	var f []string
	switch {
	case n.Leaked:
		f = append(f, "leaked")
	case n.Foreign:
		f = append(f, "not the attacker's")
	case n.Created:
		f = append(f, "created")
	case n.PreExisting:
		f = append(f, "existed before")
	}
	switch {
	case n.Kind == KindSession && n.State == StateGone:
		f = append(f, "expired")
	case n.Kind == KindSession && n.State == StatePresent:
		f = append(f, "may still be in use")
	case n.Kind != KindGroup:
		f = append(f, string(n.State))
	}
	if n.Status != "" {
		f = append(f, n.Status)
	}
	if len(f) == 0 {
		return ""
	}
	return " [" + strings.Join(f, ", ") + "]"
}

// change says whether an edge's change is in effect, for the edges that change a relation.
func (e Edge) change() string {
	on := map[State]string{StatePresent: "in effect", StateGone: "undone", StateUnknown: "unknown"}
	switch {
	case strings.HasPrefix(e.Action, "AttachPolicyTo"):
		on = map[State]string{StatePresent: "attached", StateGone: "detached", StateUnknown: "attachment unknown"}
	case e.Action == "AddUserToGroup":
		on = map[State]string{StatePresent: "member", StateGone: "no longer a member", StateUnknown: "membership unknown"}
	case e.Action == "UpdateAccessKey":
		on = map[State]string{StatePresent: "enabled", StateGone: "disabled or deleted", StateUnknown: "status unknown"}
	default:
		return ""
	}
	return " (" + on[e.State] + ")"
}

// WriteText renders the graph as an indented tree from the leaked key: under each principal,
// the writes it made, in time order, and under each created principal what it did in turn.
func (g *Graph) WriteText(w io.Writer) error {
	var b strings.Builder // written to w at once
	root, _ := g.Node(g.Root)
	fmt.Fprintf(&b, "Incident graph of %s", root.Label())
	if !g.Start.IsZero() {
		fmt.Fprintf(&b, ", events %s to %s", stamp(g.Start), stamp(g.End))
	}
	fmt.Fprintf(&b, "\n")
	if len(g.Edges) == 0 {
		fmt.Fprintf(&b, "No write that created or widened access.\n")
	} else {
		fmt.Fprintf(&b, "First suspicious write %s; from %s.\n", stamp(g.FirstSuspicious), accesskey.Printable(strings.Join(g.AttackerIPs, ", ")))
	}
	if !g.Checked.IsZero() {
		fmt.Fprintf(&b, "Present state as of %s.\n", stamp(g.Checked))
	}
	fmt.Fprintf(&b, "\n%s%s\n", root.Label(), root.flags())
	children := map[string][]Edge{}
	for _, e := range g.Edges {
		children[e.From] = append(children[e.From], e)
	}
	expanded := map[string]bool{g.Root: true}
	var tree func(id, indent string)
	tree = func(id, indent string) {
		list := children[id]
		for i, e := range list {
			branch, next := "├── ", "│   "
			if i == len(list)-1 {
				branch, next = "└── ", "    "
			}
			to, _ := g.Node(e.To)
			fmt.Fprintf(&b, "%s%s%s %s", indent, branch, stamp(e.Time), accesskey.Printable(e.Action))
			if e.Detail != "" {
				fmt.Fprintf(&b, " (%s)", accesskey.Printable(e.Detail))
			}
			if e.SourceIP != "" {
				fmt.Fprintf(&b, " from %s", accesskey.Printable(e.SourceIP))
			}
			fmt.Fprintf(&b, " → %s", to.Label())
			if t, ok := g.Node(e.Target); ok && e.Target != e.To && to.Kind != KindKey && to.Kind != KindLoginProfile && to.Kind != KindSession {
				fmt.Fprintf(&b, " on %s", t.Label())
			}
			fmt.Fprintf(&b, "%s%s\n", to.flags(), e.change())
			switch {
			case len(children[e.To]) == 0:
			case expanded[e.To]:
				fmt.Fprintf(&b, "%s%s(its own writes are shown above)\n", indent, next)
			default:
				expanded[e.To] = true
				tree(e.To, indent+next)
			}
		}
	}
	tree(g.Root, "")
	if len(g.Truncated) > 0 {
		var names []string
		for _, id := range g.Truncated {
			n, _ := g.Node(id)
			names = append(names, n.Label())
		}
		fmt.Fprintf(&b, "\nNot followed (depth limit): %s\n", strings.Join(names, "; "))
	}
	if len(g.Errors) > 0 {
		fmt.Fprintf(&b, "\nCould not read or check:\n")
		for _, e := range g.Errors {
			fmt.Fprintf(&b, "  %s\n", accesskey.Printable(e))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
