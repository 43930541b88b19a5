package emulator

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// The seed's policies, groups, attachments, login profiles and key source IPs.

// Policy is a custom RAM policy of a seeded account (its only version is v1).
type Policy struct {
	Name        string    `yaml:"name"` // 1-128 of [a-zA-Z0-9-]
	Description string    `yaml:"description,omitempty"`
	Document    string    `yaml:"document"` // the policy document, JSON text
	Created     time.Time `yaml:"created,omitempty"`
	// CreatedAgo places Created that long before the server starts.
	CreatedAgo time.Duration `yaml:"createdAgo,omitempty"`
}

// Group is a RAM user group; its members are the users naming it in User.Groups.
type Group struct {
	Name     string    `yaml:"name"` // 1-64 of [a-zA-Z0-9-]
	Comments string    `yaml:"comments,omitempty"`
	Created  time.Time `yaml:"created,omitempty"`
	Policies []string  `yaml:"policies,omitempty"` // as User.Policies
}

// LoginProfile enables a user's console logon (the emulator keeps no password).
type LoginProfile struct {
	PasswordResetRequired bool          `yaml:"passwordResetRequired,omitempty"`
	MFABindRequired       bool          `yaml:"mfaBindRequired,omitempty"`
	Created               time.Time     `yaml:"created,omitempty"`
	CreatedAgo            time.Duration `yaml:"createdAgo,omitempty"` // instead of Created
}

func orNow(t, now time.Time) time.Time {
	if t.IsZero() {
		return now
	}
	return t.UTC()
}

// seedPolicy resolves a policy reference: the account's custom policy of that name, else the
// system policy.
func seedPolicy(st *iamState, name string) *policy {
	if p := st.policies[name]; p != nil {
		return p
	}
	return systemPolicies[name]
}

// loadIAM seeds an account's identity state (during load, after its users and roles): key
// source IPs, relative creation dates, policies, groups, attachments, login profiles.
func (s *Server) loadIAM(acc *account, a Account, now time.Time) {
	if s.iamOpts.keyIPs == nil {
		s.iamOpts.keyIPs = map[string]string{}
	}
	seedKey := func(k Key) {
		if k.SourceIP != "" {
			s.iamOpts.keyIPs[k.ID] = k.SourceIP
		}
		if ks := s.keys[k.ID]; ks != nil && k.CreatedAgo > 0 {
			ks.created = now.Add(-k.CreatedAgo)
			ks.updated = ks.created
		}
	}
	for _, k := range a.RootKeys {
		seedKey(k)
	}
	for _, u := range a.Users {
		for _, k := range append(u.Keys[:len(u.Keys):len(u.Keys)], u.RecycleBin...) {
			seedKey(k)
		}
		if usr := acc.users[u.Name]; usr != nil && u.CreatedAgo > 0 {
			usr.created = now.Add(-u.CreatedAgo)
			usr.updated = usr.created
		}
	}
	needed := len(a.Policies) > 0 || len(a.Groups) > 0
	for _, u := range a.Users {
		needed = needed || len(u.Policies) > 0 || len(u.Groups) > 0 || u.LoginProfile != nil
	}
	for _, r := range a.Roles {
		needed = needed || len(r.Policies) > 0
	}
	if !needed {
		return
	}
	st := acc.iam()
	for _, p := range a.Policies {
		doc, e := parsePolicyDoc(p.Document, false)
		if e != nil {
			continue // validate refused it already
		}
		at := orNow(p.Created, now)
		if p.CreatedAgo > 0 {
			at = now.Add(-p.CreatedAgo)
		}
		np := &policy{name: p.Name, ptype: "Custom", description: p.Description, created: at, updated: at,
			versions: []*policyVersion{{id: "v1", doc: p.Document, parsed: doc, created: at}}, nextVersion: 2, defaultID: "v1"}
		st.policies[p.Name] = np
		st.policyOrder = append(st.policyOrder, np)
	}
	attach := func(ref entityRef, names []string, at time.Time) {
		for _, n := range names {
			if p := seedPolicy(st, n); p != nil {
				st.attached[ref] = append(st.attached[ref], &attachment{p: p, at: at})
			}
		}
	}
	for _, g := range a.Groups {
		at := orNow(g.Created, now)
		st.addGroup(g.Name, s.numericID(), g.Comments, at)
		attach(entityRef{"Group", g.Name}, g.Policies, at)
	}
	for _, u := range a.Users {
		usr := acc.users[u.Name]
		if usr == nil {
			continue // in the user recycle bin
		}
		attach(entityRef{"User", u.Name}, u.Policies, usr.created)
		for _, gn := range u.Groups {
			if g := st.groups[gn]; g != nil {
				g.members = append(g.members, groupMember{user: u.Name, at: usr.created})
			}
		}
		if lp := u.LoginProfile; lp != nil {
			at := orNow(lp.Created, usr.created)
			if lp.CreatedAgo > 0 {
				at = now.Add(-lp.CreatedAgo)
			}
			st.profiles[u.Name] = &loginProfile{user: u.Name, resetRequired: lp.PasswordResetRequired,
				mfaNeeded: lp.MFABindRequired, created: at, updated: at}
		}
	}
	for _, r := range a.Roles {
		attach(entityRef{"Role", strings.ToLower(r.Name)}, r.Policies, now)
	}
}

// validateIAM checks the seed's policies, groups, attachments and key source IPs.
func (o *Org) validateIAM(bad func(msg string, p ...any)) {
	for ai, a := range o.Accounts {
		ap := []any{"accounts", ai}
		at := func(p ...any) []any { return append(append([]any{}, ap...), p...) }
		custom := map[string]bool{}
		for pi, p := range a.Policies {
			switch {
			case !rePolicyName.MatchString(p.Name):
				bad(fmt.Sprintf("policy name %q is not 1-128 of [a-zA-Z0-9-]", p.Name), at("policies", pi, "name")...)
			case custom[p.Name] || systemPolicies[p.Name] != nil:
				bad(fmt.Sprintf("policy %s is defined twice or is a system policy", p.Name), at("policies", pi, "name")...)
			}
			custom[p.Name] = true
			if !p.Created.IsZero() && p.CreatedAgo != 0 {
				bad("created and createdAgo are both set", at("policies", pi)...)
			}
			if _, e := parsePolicyDoc(p.Document, false); e != nil {
				bad(fmt.Sprintf("policy %s: %s: %s", p.Name, e.Code, e.Message), at("policies", pi, "document")...)
			}
		}
		known := func(names []string, p ...any) {
			for i, n := range names {
				if !custom[n] && systemPolicies[n] == nil {
					bad(fmt.Sprintf("policy %q is neither a custom policy of the account nor a system policy", n), append(at(p...), "policies", i)...)
				}
			}
		}
		groups := map[string]bool{}
		for gi, g := range a.Groups {
			if !reGroupName.MatchString(g.Name) || groups[g.Name] {
				bad(fmt.Sprintf("group name %q is invalid or duplicate", g.Name), at("groups", gi, "name")...)
			}
			groups[g.Name] = true
			known(g.Policies, "groups", gi)
		}
		checkIP := func(k Key, p ...any) {
			if k.SourceIP == "" {
				return
			}
			if _, err := netip.ParseAddr(k.SourceIP); err != nil {
				bad(fmt.Sprintf("key %s: sourceIp %q is not an IP address", k.ID, k.SourceIP), append(at(p...), "sourceIp")...)
			}
		}
		for ki, k := range a.RootKeys {
			checkIP(k, "rootKeys", ki)
		}
		both := func(set bool, p ...any) {
			if set {
				bad("created and createdAgo are both set", at(p...)...)
			}
		}
		for ui, u := range a.Users {
			known(u.Policies, "users", ui)
			if len(u.Groups) > maxGroupsPerUser {
				bad(fmt.Sprintf("user %s is in %d groups; at most %d", u.Name, len(u.Groups), maxGroupsPerUser), at("users", ui, "groups")...)
			}
			for gi, gn := range u.Groups {
				if !groups[gn] {
					bad(fmt.Sprintf("user %s: unknown group %q", u.Name, gn), at("users", ui, "groups", gi)...)
				}
			}
			both(!u.Created.IsZero() && u.CreatedAgo != 0, "users", ui)
			if lp := u.LoginProfile; lp != nil {
				both(!lp.Created.IsZero() && lp.CreatedAgo != 0, "users", ui, "loginProfile")
			}
			for ki, k := range u.Keys {
				checkIP(k, "users", ui, "keys", ki)
				both(!k.Created.IsZero() && k.CreatedAgo != 0, "users", ui, "keys", ki)
			}
			for ki, k := range u.RecycleBin {
				checkIP(k, "users", ui, "recycleBin", ki)
			}
		}
		for ri, r := range a.Roles {
			known(r.Policies, "roles", ri)
		}
	}
}
