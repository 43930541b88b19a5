package hunt

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/respond-dev/respond/ram"
)

// createSlack is how far a creation date may lie from the event that created the thing: more, and
// the object in the cloud is not the one the attacker created.
const createSlack = 2 * time.Minute

// maxSession is the longest an STS token can live (a role's MaxSessionDuration is at most 12 h).
const maxSession = 12 * time.Hour

// creates are the actions that create the node they point to.
var creates = map[string]bool{"CreateUser": true, "CreateAccessKey": true, "CreateLoginProfile": true, "CreatePolicy": true,
	"CreateGroup": true, "CreateRole": true, "AssumeRole": true}

// reads remembers every answer of the cloud, so each is asked once, also by concurrent checks.
type reads struct {
	c       Cloud
	mu      sync.Mutex
	entries map[string]*entry
}

type entry struct {
	once sync.Once
	v    any
	err  error
}

func newReads(c Cloud) *reads { return &reads{c: c, entries: map[string]*entry{}} }

// once returns the answer to key, reading it the first time.
func once[T any](r *reads, key string, read func() (T, error)) (T, error) {
	r.mu.Lock()
	e := r.entries[key]
	if e == nil {
		e = &entry{}
		r.entries[key] = e
	}
	r.mu.Unlock()
	e.once.Do(func() { e.v, e.err = read() })
	v, _ := e.v.(T)
	return v, e.err
}

func (r *reads) user(ctx context.Context, name string) (ram.User, error) {
	return once(r, "user\x00"+name, func() (ram.User, error) { return r.c.GetUser(ctx, name) })
}

func (r *reads) keysOf(ctx context.Context, user string) ([]ram.AccessKey, error) {
	return once(r, "keys\x00"+user, func() ([]ram.AccessKey, error) { return r.c.ListAccessKeys(ctx, user) })
}

func (r *reads) role(ctx context.Context, name string) (ram.Role, error) {
	return once(r, "role\x00"+name, func() (ram.Role, error) { return r.c.GetRole(ctx, name) })
}

// stateOf maps a read's error to a state: not found is gone, any other error unknown.
func stateOf(err error) State {
	switch {
	case err == nil:
		return StatePresent
	case errors.Is(err, ram.ErrNotFound):
		return StateGone
	}
	return StateUnknown
}

// check reads the present state of every node and edge, through h.reads (set by Run).
func (h *hunter) check(ctx context.Context) error {
	r := h.reads
	first := time.Time{}
	for _, e := range h.g.Edges {
		if first.IsZero() || e.Time.Before(first) {
			first = e.Time
		}
	}
	created := map[string]time.Time{} // node id → the time of the edge that created it
	for _, e := range h.g.Edges {
		if creates[e.Action] {
			if _, ok := created[e.To]; !ok {
				created[e.To] = e.Time
			}
		}
	}
	fail := func(what string, err error) {
		if err != nil && !errors.Is(err, ram.ErrNotFound) {
			h.errorf("check %s: %v", what, err)
		}
	}
	err := parallel(ctx, len(h.nodes), h.in.Parallel, func(i int) { h.checkNode(ctx, r, h.nodes[i], created, first, fail) })
	if err != nil {
		return err
	}
	// The edges once every node is checked (an edge's state may be its node's).
	return parallel(ctx, len(h.g.Edges), h.in.Parallel, func(i int) { h.checkEdge(ctx, r, &h.g.Edges[i], fail) })
}

// checkNode reads one node's present state.
func (h *hunter) checkNode(ctx context.Context, r *reads, n *Node, created map[string]time.Time, first time.Time, fail func(string, error)) {
	c := r.c
	var when time.Time
	switch n.Kind {
	case KindUser:
		u, err := r.user(ctx, n.Name)
		fail("user "+n.Name, err)
		n.State, when = stateOf(err), u.CreateDate
	case KindKey:
		h.checkKey(ctx, r, n, fail)
		when = n.CreateDate
	case KindLoginProfile:
		p, err := once(r, "profile\x00"+n.Owner, func() (ram.LoginProfile, error) { return c.GetLoginProfile(ctx, n.Owner) })
		fail("login profile of "+n.Owner, err)
		n.State, when = stateOf(err), p.CreateDate
	case KindPolicy:
		ref := policyRef(n.Name)
		p, err := once(r, "policy\x00"+n.Name, func() (ram.Policy, error) { return c.GetPolicy(ctx, ref) })
		fail(ref.String(), err)
		n.State, when = stateOf(err), p.CreateDate
	case KindRole:
		if n.Account != "" {
			n.Note = "in account " + n.Account + ": not checked"
			return
		}
		role, err := r.role(ctx, n.Name)
		fail("role "+n.Name, err)
		n.State, when = stateOf(err), role.CreateDate
	case KindGroup:
		n.State = StatePresent // only its memberships are checked (edges)
		return
	case KindSession:
		h.checkSession(ctx, r, n, fail)
		return
	}
	n.CreateDate = when
	if when.IsZero() || n.State != StatePresent {
		return
	}
	if t, ok := created[n.ID]; ok {
		if when.Before(t.Add(-createSlack)) || when.After(t.Add(createSlack)) {
			n.Foreign = true
			n.Note = "its creation date does not match the attacker's event: not the one the attacker created"
		}
	} else if !first.IsZero() && when.Before(first) {
		n.PreExisting = true
	}
}

// parallel runs f(0) … f(n-1), at most limit at a time, and stops starting new ones when ctx ends.
func parallel(ctx context.Context, n, limit int, f func(i int)) error {
	sem := make(chan struct{}, max(limit, 1))
	var wg sync.WaitGroup
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			f(i)
		}()
	}
	wg.Wait()
	return ctx.Err()
}

// checkKey finds a key among its owner's keys: present with its status, or gone.
func (h *hunter) checkKey(ctx context.Context, r *reads, n *Node, fail func(string, error)) {
	if n.Owner == "" {
		n.Note = "an account owner's key, or a key whose user is unknown: not checked"
		return
	}
	if strings.HasPrefix(n.Name, "?") {
		n.Note = "the event does not name the key, and no key of the user was created then"
		return
	}
	if u, err := r.user(ctx, n.Owner); err == nil {
		n.OwnerID = u.UserID
	}
	keys, err := r.keysOf(ctx, n.Owner)
	if err != nil {
		fail("keys of "+n.Owner, err)
		if errors.Is(err, ram.ErrNotFound) {
			n.State = StateGone // the user is gone, and its keys with it
		}
		return
	}
	n.State = StateGone
	for _, k := range keys {
		if k.ID.String() == n.Name {
			n.State, n.Status, n.CreateDate = StatePresent, k.Status, k.CreateDate
		}
	}
}

// checkSession works out the latest moment a session's token can expire, and whether that is past.
func (h *hunter) checkSession(ctx context.Context, r *reads, n *Node, fail func(string, error)) {
	// An AssumeRole without DurationSeconds in its record: its token may live as long as the
	// role allows (12 h when the role cannot be read). Every AssumeRole of the session name may
	// have issued a token: the latest expiry counts.
	if times := h.unbounded[n.ID]; len(times) > 0 {
		d := maxSession
		if n.Account == "" {
			role, err := r.role(ctx, n.Owner)
			fail("role "+n.Owner, err)
			if err == nil && role.MaxSessionDuration > 0 {
				d = role.MaxSessionDuration
			}
		}
		for _, t := range times {
			n.Expires = latest(n.Expires, t.Add(d))
		}
		n.Note = "the event does not say how long the token lives: the role's maximum session duration is assumed"
	}
	n.State = StateGone
	if n.Expires.After(h.in.Now) {
		n.State = StatePresent
	}
}

// checkEdge says whether the change an edge made is still in effect.
func (h *hunter) checkEdge(ctx context.Context, r *reads, e *Edge, fail func(string, error)) {
	to := h.get(e.To)
	e.State = to.State
	switch {
	case strings.HasPrefix(e.Action, "AttachPolicyTo"):
		kind := ram.EntityKind(strings.TrimPrefix(e.Action, "AttachPolicyTo"))
		target := h.get(e.Target)
		if target == nil || target.Account != "" {
			e.State = StateUnknown
			return
		}
		key := string(kind) + "/" + target.Name
		list, err := once(r, "attached\x00"+key, func() ([]ram.AttachedPolicy, error) { return r.c.ListPoliciesFor(ctx, kind, target.Name) })
		fail("policies of "+strings.ToLower(string(kind))+" "+target.Name, err)
		if err != nil {
			e.State = stateOf(err)
			return
		}
		ref := policyRef(to.Name)
		e.State = StateGone
		if slices.ContainsFunc(list, func(a ram.AttachedPolicy) bool { return a.PolicyRef == ref }) {
			e.State = StatePresent
		}
	case e.Action == "AddUserToGroup":
		user := h.get(e.Target).Name
		groups, err := once(r, "groups\x00"+user, func() ([]ram.Group, error) { return r.c.ListGroupsForUser(ctx, user) })
		fail("groups of "+user, err)
		if err != nil {
			e.State = stateOf(err)
			return
		}
		e.State = StateGone
		if slices.ContainsFunc(groups, func(g ram.Group) bool { return g.Name == to.Name }) {
			e.State = StatePresent
		}
	case e.Action == "UpdateAccessKey":
		if to.State == StatePresent && to.Status != ram.StatusActive {
			e.State = StateGone
		}
	}
}

// policyRef reads a policy node's name "<Type>/<Name>".
func policyRef(name string) ram.PolicyRef {
	t, n, _ := strings.Cut(name, "/")
	return ram.PolicyRef{Type: t, Name: n}
}
