package emulator

import (
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Login profiles (console passwords), user groups and role management (RAM 2015-05-01). The
// emulator keeps no password: a login profile records only that console logon is enabled.

type loginProfile struct {
	user                     string
	resetRequired, mfaNeeded bool
	created, updated         time.Time
}

type group struct {
	name, id, comments string
	created, updated   time.Time
	members            []groupMember
}

type groupMember struct {
	user string
	at   time.Time
}

// roleInfo is what RAM's role actions show beyond the role STS knows (state.go's role).
type roleInfo struct {
	description string
	trustDoc    string
	created     time.Time
}

func (r *roleInfo) desc() string {
	if r == nil {
		return ""
	}
	return r.description
}

func errNoRole() *apiError  { return errf(404, "EntityNotExist.Role", "The role does not exist.") }
func errNoGroup() *apiError { return errf(404, "EntityNotExist.Group", "The group does not exist.") }
func errNoProfile() *apiError {
	return errf(404, "EntityNotExist.User.LoginProfile", "The user login profile does not exist.")
}

// namedUser resolves a required UserName.
func namedUser(c *call) (*user, *apiError) {
	name := c.p("UserName")
	if name == "" {
		return nil, missing("UserName")
	}
	if e := checkUserName(name); e != nil {
		return nil, e
	}
	u := c.acct.users[name]
	if u == nil {
		return nil, errNoUser()
	}
	return u, nil
}

func profileJSON(p *loginProfile) map[string]any {
	return map[string]any{"UserName": p.user, "PasswordResetRequired": p.resetRequired, "MFABindRequired": p.mfaNeeded,
		"CreateDate": date(p.created)}
}

// checkPassword applies the default password policy: 8 to 32 characters [INF: the account's
// password policy is not emulated].
func checkPassword(pw string) *apiError {
	if len(pw) < 8 || len(pw) > 32 {
		return errf(400, "InvalidParameter.Password.TooWeak", `The parameter - "Password" is not compliant with the password policy.`)
	}
	return nil
}

func ramCreateLoginProfile(s *Server, c *call) (map[string]any, *apiError) {
	u, e := namedUser(c)
	if e != nil {
		return nil, e
	}
	pw := c.p("Password")
	if pw == "" {
		return nil, missing("Password")
	}
	if e := checkPassword(pw); e != nil {
		return nil, e
	}
	st := c.acct.iam()
	if st.profiles[u.name] != nil {
		return nil, errf(409, "EntityAlreadyExists.User.LoginProfile", "The user login profile does already EXIST.")
	}
	p := &loginProfile{user: u.name, resetRequired: c.p("PasswordResetRequired") == "true",
		mfaNeeded: c.p("MFABindRequired") == "true", created: c.now, updated: c.now}
	st.profiles[u.name] = p
	return map[string]any{"LoginProfile": profileJSON(p)}, nil
}

// profileArg is the login profile of the user UserName names.
func profileArg(c *call) (*loginProfile, *apiError) {
	u, e := namedUser(c)
	if e != nil {
		return nil, e
	}
	p := c.acct.iam().profiles[u.name]
	if p == nil {
		return nil, errNoProfile()
	}
	return p, nil
}

func ramGetLoginProfile(s *Server, c *call) (map[string]any, *apiError) {
	p, e := profileArg(c)
	if e != nil {
		return nil, e
	}
	return map[string]any{"LoginProfile": profileJSON(p)}, nil
}

func ramUpdateLoginProfile(s *Server, c *call) (map[string]any, *apiError) {
	p, e := profileArg(c)
	if e != nil {
		return nil, e
	}
	if pw, ok := c.params.get("Password"); ok {
		if e := checkPassword(pw); e != nil {
			return nil, e
		}
	}
	if v, ok := c.params.get("PasswordResetRequired"); ok {
		p.resetRequired = v == "true"
	}
	if v, ok := c.params.get("MFABindRequired"); ok {
		p.mfaNeeded = v == "true"
	}
	p.updated = c.now
	return map[string]any{}, nil
}

func ramDeleteLoginProfile(s *Server, c *call) (map[string]any, *apiError) {
	p, e := profileArg(c)
	if e != nil {
		return nil, e
	}
	delete(c.acct.iam().profiles, p.user)
	return map[string]any{}, nil
}

var reGroupName = regexp.MustCompile(`^[a-zA-Z0-9\-]{1,64}$`)

func groupArg(c *call) (*group, *apiError) {
	name := c.p("GroupName")
	if name == "" {
		return nil, missing("GroupName")
	}
	g := c.acct.iam().groups[name]
	if g == nil {
		return nil, errNoGroup()
	}
	return g, nil
}

func groupJSON(g *group) map[string]any {
	return map[string]any{"GroupName": g.name, "GroupId": g.id, "Comments": g.comments, "CreateDate": date(g.created),
		"UpdateDate": date(g.updated)}
}

func ramCreateGroup(s *Server, c *call) (map[string]any, *apiError) {
	name := c.p("GroupName")
	switch {
	case name == "":
		return nil, missing("GroupName")
	case len(name) > 64:
		return nil, violationf(400, "InvalidParameter.GroupName.Length", `The parameter - "GroupName" beyond the length limit.`)
	case !reGroupName.MatchString(name):
		return nil, violationf(400, "InvalidParameter.GroupName.InvalidChars", `The parameter - "GroupName" contains invalid chars.`)
	case len(c.p("Comments")) > 128:
		return nil, violationf(400, "InvalidParameter.Comments.Length", `The parameter - "Comments" beyond the length limit.`)
	}
	st := c.acct.iam()
	if st.groups[name] != nil {
		return nil, errf(409, "EntityAlreadyExists.Group", "The group does already EXIST.")
	}
	if len(st.groups) >= 50 {
		return nil, errf(409, "LimitExceeded.Group", "The count of groups beyond the current limits.")
	}
	g := st.addGroup(name, s.numericID(), c.p("Comments"), c.now)
	return map[string]any{"Group": groupJSON(g)}, nil
}

func (st *iamState) addGroup(name, id, comments string, at time.Time) *group {
	g := &group{name: name, id: id, comments: comments, created: at, updated: at}
	st.groups[name] = g
	st.groupOrder = append(st.groupOrder, g)
	return g
}

func ramGetGroup(s *Server, c *call) (map[string]any, *apiError) {
	g, e := groupArg(c)
	if e != nil {
		return nil, e
	}
	return map[string]any{"Group": groupJSON(g)}, nil
}

func ramDeleteGroup(s *Server, c *call) (map[string]any, *apiError) {
	g, e := groupArg(c)
	if e != nil {
		return nil, e
	}
	st := c.acct.iam()
	if len(g.members) > 0 {
		return nil, errf(409, "DeleteConflict.Group.User", "The group CAN NOT has any user member while deleting the group.")
	}
	if len(st.attached[entityRef{"Group", g.name}]) > 0 {
		return nil, errf(409, "DeleteConflict.Group.Policy", "The entity CAN NOT has any attached policy while deleting the group.")
	}
	delete(st.groups, g.name)
	st.groupOrder = slices.DeleteFunc(st.groupOrder, func(x *group) bool { return x == g })
	return map[string]any{}, nil
}

// maxGroupsPerUser is how many groups a user may join [DOC Error messages: LimitExceeded.User.Group].
const maxGroupsPerUser = 5

func (st *iamState) groupsOf(user string) []*group {
	var out []*group
	for _, g := range st.groupOrder {
		if slices.ContainsFunc(g.members, func(m groupMember) bool { return m.user == user }) {
			out = append(out, g)
		}
	}
	return out
}

func ramAddUserToGroup(s *Server, c *call) (map[string]any, *apiError) {
	g, e := groupArg(c)
	if e != nil {
		return nil, e
	}
	u, e := namedUser(c)
	if e != nil {
		return nil, e
	}
	st := c.acct.iam()
	if slices.ContainsFunc(g.members, func(m groupMember) bool { return m.user == u.name }) {
		return nil, errf(409, "EntityAlreadyExists.User.Group", "The user has already joined the group.")
	}
	if len(st.groupsOf(u.name)) >= maxGroupsPerUser {
		return nil, errf(409, "LimitExceeded.User.Group", "The count of groups the target user joined beyond the current limits.")
	}
	g.members = append(g.members, groupMember{user: u.name, at: c.now})
	return map[string]any{}, nil
}

func ramRemoveUserFromGroup(s *Server, c *call) (map[string]any, *apiError) {
	g, e := groupArg(c)
	if e != nil {
		return nil, e
	}
	u, e := namedUser(c)
	if e != nil {
		return nil, e
	}
	i := slices.IndexFunc(g.members, func(m groupMember) bool { return m.user == u.name })
	if i < 0 {
		return nil, errf(404, "EntityNotExist.User.Group", "The user has not joined the group.")
	}
	g.members = slices.Delete(g.members, i, i+1)
	return map[string]any{}, nil
}

func ramListGroupsForUser(s *Server, c *call) (map[string]any, *apiError) {
	u, e := namedUser(c)
	if e != nil {
		return nil, e
	}
	list := []map[string]any{}
	for _, g := range c.acct.iam().groupsOf(u.name) {
		var joined time.Time
		for _, m := range g.members {
			if m.user == u.name {
				joined = m.at
			}
		}
		list = append(list, map[string]any{"GroupName": g.name, "GroupId": g.id, "Comments": g.comments, "JoinDate": date(joined)})
	}
	return map[string]any{"Groups": map[string]any{"Group": list}}, nil
}

func ramListUsersForGroup(s *Server, c *call) (map[string]any, *apiError) {
	g, e := groupArg(c)
	if e != nil {
		return nil, e
	}
	list := []map[string]any{}
	for _, m := range g.members {
		if u := c.acct.users[m.user]; u != nil {
			list = append(list, map[string]any{"UserName": u.name, "DisplayName": u.displayName, "JoinDate": date(m.at)})
		}
	}
	return map[string]any{"IsTruncated": false, "Users": map[string]any{"User": list}}, nil
}

// userDeleteConflict is why RAM DeleteUser refuses a user that still has a login profile,
// attached policies or groups [DOC ramrepo Error messages: DeleteConflict.User.*].
func (st *iamState) userDeleteConflict(name string) *apiError {
	switch {
	case st.profiles[name] != nil:
		return errf(409, "DeleteConflict.User.LoginProfile", "The user CAN NOT has any login profile while deleting the user.")
	case len(st.attached[entityRef{"User", name}]) > 0:
		return errf(409, "DeleteConflict.User.Policy", "The user CAN NOT has any attached policy while deleting the user.")
	case len(st.groupsOf(name)) > 0:
		return errf(409, "DeleteConflict.User.Group", "The user CAN NOT be in any group while deleting the user.")
	}
	return nil
}

// ---- roles ----

func roleArn(r *role) string { return "acs:ram::" + r.acct.id + ":role/" + r.name }

func sortedRoles(a *account) []*role {
	out := make([]*role, 0, len(a.roles))
	for _, r := range a.roles {
		out = append(out, r)
	}
	slices.SortFunc(out, func(x, y *role) int { return strings.Compare(strings.ToLower(x.name), strings.ToLower(y.name)) })
	return out
}

// trustDocument is the role's trust policy: the one it was created with, or one written from the
// seed's trusted accounts.
func (st *iamState) trustDocument(r *role) string {
	if ri := st.roleInfo[strings.ToLower(r.name)]; ri != nil && ri.trustDoc != "" {
		return ri.trustDoc
	}
	principals := []string{"acs:ram::" + r.acct.id + ":root"}
	for _, t := range r.trust {
		if t == "*" {
			principals = []string{"*"}
			break
		}
		if t != r.acct.id {
			principals = append(principals, "acs:ram::"+t+":root")
		}
	}
	b, _ := json.Marshal(map[string]any{"Version": "1", "Statement": []any{map[string]any{
		"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": map[string]any{"RAM": principals}}}})
	return string(b)
}

func roleJSON(st *iamState, r *role) map[string]any {
	ri := st.roleInfo[strings.ToLower(r.name)]
	var created time.Time
	if ri != nil {
		created = ri.created
	}
	return map[string]any{"RoleId": r.id, "RoleName": r.name, "Arn": roleArn(r), "Description": ri.desc(),
		"AssumeRolePolicyDocument": st.trustDocument(r), "CreateDate": date(created), "UpdateDate": date(created),
		"MaxSessionDuration": r.maxSession}
}

// trustedAccounts reads the accounts a trust policy lets assume the role: RAM principals
// acs:ram::<account>:root (or :user/…, :role/…), a bare account id, or "*".
func trustedAccounts(d *policyDoc) []string {
	var out []string
	for _, p := range d.principals {
		switch {
		case p == "*":
			out = append(out, "*")
		case reDigits16.MatchString(p):
			out = append(out, p)
		case strings.HasPrefix(p, "acs:ram::"):
			if acct, _, ok := strings.Cut(strings.TrimPrefix(p, "acs:ram::"), ":"); ok && reDigits16.MatchString(acct) {
				out = append(out, acct)
			}
		}
	}
	return out
}

func ramCreateRole(s *Server, c *call) (map[string]any, *apiError) {
	name := c.p("RoleName")
	if name == "" {
		return nil, missing("RoleName")
	}
	if !reUserName.MatchString(name) {
		return nil, violationf(400, "InvalidParameter.RoleName.InvalidChars", `The parameter - "RoleName" contains invalid chars.`)
	}
	doc := c.p("AssumeRolePolicyDocument")
	if doc == "" {
		return nil, missing("AssumeRolePolicyDocument")
	}
	parsed, e := parsePolicyDoc(doc, true)
	if e != nil {
		return nil, e
	}
	maxSession := 3600
	if v := c.p("MaxSessionDuration"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 3600 || n > 43200 {
			return nil, violationf(400, "InvalidParameter.MaxSessionDuration", `The parameter - "MaxSessionDuration" must be between 3600 and 43200.`)
		}
		maxSession = n
	}
	key := strings.ToLower(name)
	if c.acct.roles[key] != nil {
		return nil, errf(409, "EntityAlreadyExists.Role", "The role does already EXIST.")
	}
	r := &role{acct: c.acct, name: name, id: s.numericID(), trust: trustedAccounts(parsed), maxSession: maxSession}
	c.acct.roles[key] = r
	st := c.acct.iam()
	st.roleInfo[key] = &roleInfo{description: c.p("Description"), trustDoc: doc, created: c.now}
	return map[string]any{"Role": roleJSON(st, r)}, nil
}

func ramGetRole(s *Server, c *call) (map[string]any, *apiError) {
	name := c.p("RoleName")
	if name == "" {
		return nil, missing("RoleName")
	}
	r := c.acct.roles[strings.ToLower(name)]
	if r == nil {
		return nil, errNoRole()
	}
	return map[string]any{"Role": roleJSON(c.acct.iam(), r)}, nil
}

func ramListRoles(s *Server, c *call) (map[string]any, *apiError) {
	st := c.acct.iam()
	list := []map[string]any{}
	for _, r := range sortedRoles(c.acct) {
		m := roleJSON(st, r)
		delete(m, "AssumeRolePolicyDocument")
		list = append(list, m)
	}
	return map[string]any{"IsTruncated": false, "Roles": map[string]any{"Role": list}}, nil
}
