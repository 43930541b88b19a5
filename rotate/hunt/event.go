package hunt

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/respond-dev/respond/ram"
)

// The walk over one event: which writes created or widened access, and what they touched.

// eventKey identifies an event across the principals' listings (the same event is listed for a
// user and for its key).
func eventKey(e ram.Event) string {
	if e.ID != "" {
		return e.ID
	}
	return e.RequestID + "\x00" + e.Name + "\x00" + e.Time.String() + "\x00" + e.AccessKeyID
}

// identityService reports the services whose writes the hunt follows.
func identityService(s string) bool {
	switch strings.ToLower(s) {
	case "ram", "ims", "sts":
		return true
	}
	return false
}

// event turns one event of a principal into graph edges and new principals to follow.
func (h *hunter) event(ctx context.Context, t task, e ram.Event) {
	k := eventKey(e)
	if h.seen[k] {
		return
	}
	h.seen[k] = true
	if e.ErrorCode != "" || !identityService(e.Service) || strings.Contains(e.UserAgent, h.in.OwnUserAgent) ||
		h.known[e.SourceIP] || e.Time.Before(h.in.Start) || !h.in.End.IsZero() && e.Time.After(h.in.End) {
		return
	}
	actor := h.get(t.node)
	// An event signed by a key the graph knows belongs to that key (a followed user's events
	// include its keys').
	if e.AccessKeyID != "" && e.AccessKeyID != actor.Name {
		if n := h.get(nodeID(KindKey, e.AccessKeyID)); n != nil {
			actor = n
		}
	}
	depth := actor.Depth + 1
	self := h.callerUser(actor, e)
	p := e.Params
	edge := Edge{From: actor.ID, Action: e.Name, Service: e.Service, Time: e.Time.UTC(), SourceIP: e.SourceIP,
		EventID: e.ID, State: StateUnknown}
	switch e.Name {
	case "CreateUser":
		name := userParam(p, "")
		if name == "" {
			return
		}
		n := h.node(KindUser, name, depth)
		n.Created = true
		edge.To = n.ID
		h.follow(n.ID, Principal{KindUser, name}, e.Time)
	case "CreateAccessKey":
		owner := userParam(p, self)
		id := e.Response["AccessKey.AccessKeyId"]
		if id == "" {
			// The cloud's record may not name the new key: find it by its creation time.
			id = h.keyCreatedAt(ctx, owner, e.Time)
		}
		n := h.node(KindKey, id, depth)
		n.Created, n.Owner = true, owner
		edge.To = n.ID
		if owner != "" {
			edge.Target = h.node(KindUser, owner, depth).ID
		}
		if on := h.get(nodeID(KindUser, owner)); (on == nil || !on.Created) && !strings.HasPrefix(id, "?") {
			h.follow(n.ID, Principal{KindKey, id}, e.Time)
		}
	case "UpdateAccessKey":
		if p["Status"] != ram.StatusActive || p["UserAccessKeyId"] == "" {
			return
		}
		n := h.node(KindKey, p["UserAccessKeyId"], depth)
		if n.Owner == "" {
			n.Owner = userParam(p, self)
		}
		edge.To, edge.Detail = n.ID, "Status=Active"
		h.follow(n.ID, Principal{KindKey, n.Name}, e.Time)
	case "CreateLoginProfile", "UpdateLoginProfile":
		owner := userParam(p, self)
		if owner == "" {
			return
		}
		n := h.node(KindLoginProfile, owner, depth)
		n.Owner = owner
		if e.Name == "CreateLoginProfile" {
			n.Created = true
		}
		edge.To, edge.Target = n.ID, h.node(KindUser, owner, depth).ID
	case "AttachPolicyToUser", "AttachPolicyToRole", "AttachPolicyToGroup":
		kind := strings.TrimPrefix(e.Name, "AttachPolicyTo")
		entity := p[kind+"Name"]
		if kind == "User" {
			entity = userParam(p, self)
		}
		if p["PolicyName"] == "" || entity == "" {
			return
		}
		n := h.node(KindPolicy, policyName(p), depth)
		edge.To, edge.Target = n.ID, nodeID(entityKind(kind), entity)
		h.node(entityKind(kind), entity, depth)
	case "AddUserToGroup":
		user := userParam(p, self)
		if p["GroupName"] == "" || user == "" {
			return
		}
		n := h.node(KindGroup, p["GroupName"], depth)
		edge.To, edge.Target = n.ID, nodeID(KindUser, user)
		h.node(KindUser, user, depth)
	case "CreateGroup", "CreatePolicy", "CreateRole":
		c := simpleCreates[e.Name]
		if p[c.param] == "" {
			return
		}
		n := h.node(c.kind, c.prefix+p[c.param], depth)
		n.Created = true
		edge.To = n.ID
	case "CreatePolicyVersion", "SetDefaultPolicyVersion":
		if p["PolicyName"] == "" {
			return
		}
		n := h.node(KindPolicy, ram.PolicyCustom+"/"+p["PolicyName"], depth)
		edge.To = n.ID
		if v := p["VersionId"]; v != "" {
			edge.Detail = "default version " + v
		} else if p["SetAsDefault"] == "true" {
			edge.Detail = "new default version"
		}
	case "AssumeRole":
		acct, role, ok := parseRoleArn(p["RoleArn"])
		session := p["RoleSessionName"]
		if !ok || session == "" {
			return
		}
		rn := h.node(KindRole, role, depth)
		if acct != h.in.AccountID && h.in.AccountID != "" {
			rn.Account = acct
		}
		n := h.node(KindSession, role+":"+session, depth)
		n.Created, n.Owner, n.Account = true, role, rn.Account
		if d, err := strconv.Atoi(p["DurationSeconds"]); err == nil && d > 0 {
			n.Expires = latest(n.Expires, e.Time.UTC().Add(time.Duration(d)*time.Second))
		} else {
			h.unbounded[n.ID] = append(h.unbounded[n.ID], e.Time.UTC())
		}
		edge.To, edge.Target = n.ID, rn.ID
		h.follow(n.ID, Principal{KindSession, n.Name}, e.Time)
	default:
		return
	}
	h.g.Edges = append(h.g.Edges, edge)
	if e.SourceIP != "" {
		h.ips[e.SourceIP] = true
	}
}

func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// simpleCreates are the creations that name what they create in one parameter.
var simpleCreates = map[string]struct {
	param, prefix string
	kind          Kind
}{
	"CreateGroup":  {"GroupName", "", KindGroup},
	"CreatePolicy": {"PolicyName", ram.PolicyCustom + "/", KindPolicy},
	"CreateRole":   {"RoleName", "", KindRole},
}

// keyCreatedAt finds the key of owner created at t (within createSlack) that the graph does not
// know yet; when none or several match, a placeholder "?<owner>@<time>" stands for it.
func (h *hunter) keyCreatedAt(ctx context.Context, owner string, t time.Time) string {
	placeholder := "?" + owner + "@" + t.UTC().Format(time.RFC3339)
	if h.reads == nil || owner == "" {
		return placeholder
	}
	keys, err := h.reads.keysOf(ctx, owner)
	if err != nil {
		h.errorf("find the key created for %s at %s: %v", owner, t.UTC().Format(time.RFC3339), err)
		return placeholder
	}
	var match []string
	for _, k := range keys {
		if d := k.CreateDate.Sub(t); d >= -createSlack && d <= createSlack && h.get(nodeID(KindKey, k.ID.String())) == nil {
			match = append(match, k.ID.String())
		}
	}
	if len(match) != 1 {
		return placeholder
	}
	return match[0]
}

// follow queues a principal's own events, unless it is at the depth limit.
func (h *hunter) follow(id string, p Principal, since time.Time) {
	n := h.get(id)
	if n == nil || n.Leaked {
		return
	}
	for _, t := range h.queue {
		if t.node == id {
			return
		}
	}
	if n.Depth >= h.in.MaxDepth {
		if !slices.Contains(h.g.Truncated, id) {
			h.g.Truncated = append(h.g.Truncated, id)
		}
		return
	}
	if n.Followed {
		return
	}
	n.Followed = true // queued once; reset to false if the source fails
	h.queue = append(h.queue, task{node: id, p: p, since: since})
}

// callerUser is the user an action without a user parameter applies to: the actor's own.
func (h *hunter) callerUser(actor *Node, e ram.Event) string {
	switch actor.Kind {
	case KindKey:
		return actor.Owner
	case KindUser:
		return actor.Name
	}
	if e.IdentityType == "ram-user" {
		return e.UserName
	}
	return ""
}

// userParam is the user a RAM (UserName) or IMS (UserPrincipalName) call names, else def.
func userParam(p map[string]string, def string) string {
	if u := p["UserName"]; u != "" {
		return u
	}
	if upn := p["UserPrincipalName"]; upn != "" {
		name, _, _ := strings.Cut(upn, "@")
		return name
	}
	return def
}

func policyName(p map[string]string) string {
	t := p["PolicyType"]
	if t != ram.PolicySystem {
		t = ram.PolicyCustom
	}
	return t + "/" + p["PolicyName"]
}

func entityKind(kind string) Kind {
	switch kind {
	case "Role":
		return KindRole
	case "Group":
		return KindGroup
	}
	return KindUser
}

// parseRoleArn reads acs:ram::<account>:role/<name>.
func parseRoleArn(arn string) (account, role string, ok bool) {
	rest, ok := strings.CutPrefix(arn, "acs:ram::")
	if !ok {
		return "", "", false
	}
	account, role, ok = strings.Cut(rest, ":role/")
	return account, role, ok && account != "" && role != "" && !strings.ContainsAny(role, "/:")
}
