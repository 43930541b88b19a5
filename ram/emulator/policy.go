package emulator

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// RAM policies (alibaba-api.md §10): system policies shared by every account, an account's custom
// policies with up to 5 versions, and their attachments to users, roles and groups. Attached
// policies are enforced (authorize.go).

// iamState is an account's policies, attachments, groups, login profiles, role details and
// AccessKey network policies. Guarded by Server.mu.
type iamState struct {
	policies    map[string]*policy // custom policies by name
	policyOrder []*policy
	attached    map[entityRef][]*attachment
	groups      map[string]*group
	groupOrder  []*group
	profiles    map[string]*loginProfile    // by user name
	roleInfo    map[string]*roleInfo        // by lower-case role name
	keyPolicies map[string]*accessKeyPolicy // IMS SetAccessKeyPolicy, by AccessKey id
}

// entityRef names what a policy is attached to: a user, a role (lower-case name) or a group.
type entityRef struct {
	kind string // "User", "Role", "Group": also the error-code spelling
	name string
}

type attachment struct {
	p  *policy
	at time.Time
}

type policy struct {
	name, ptype, description string
	created, updated         time.Time
	versions                 []*policyVersion
	nextVersion              int
	defaultID                string
}

type policyVersion struct {
	id      string
	doc     string
	parsed  *policyDoc
	created time.Time
}

func (p *policy) version(id string) *policyVersion {
	for _, v := range p.versions {
		if v.id == id {
			return v
		}
	}
	return nil
}

func (p *policy) defaultVersion() *policyVersion { return p.version(p.defaultID) }

// iam returns the account's identity state, creating it on first use. Call with s.mu held.
func (a *account) iam() *iamState {
	if a.iamState == nil {
		a.iamState = &iamState{policies: map[string]*policy{}, attached: map[entityRef][]*attachment{},
			groups: map[string]*group{}, profiles: map[string]*loginProfile{}, roleInfo: map[string]*roleInfo{},
			keyPolicies: map[string]*accessKeyPolicy{}}
	}
	return a.iamState
}

// Limits [DOC ramrepo Limits.md, Error messages.md; spec §10]: policies attached per user 20
// system + 10 custom (roles and groups 20 + 5), 1,500 custom policies, 5 versions each.
const (
	maxCustomPolicies = 1500
	maxPolicyVersions = 5
	maxSystemAttached = 20
)

func maxCustomAttached(kind string) int {
	if kind == "User" {
		return 10
	}
	return 5
}

// systemPolicies are the system policies the emulator knows (a few of Alibaba's; their documents
// are simplified [INF]). Never modified.
var systemPolicies = func() map[string]*policy {
	m := map[string]*policy{}
	created := time.Date(2015, 4, 28, 2, 0, 0, 0, time.UTC)
	for _, p := range []struct{ name, desc, doc string }{
		{"AdministratorAccess", "Provides full access to Alibaba Cloud services and resources.",
			`{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`},
		{"ReadOnlyAccess", "Provides read-only access to Alibaba Cloud services and resources.",
			`{"Version":"1","Statement":[{"Effect":"Allow","Action":["*:Get*","*:List*","*:Describe*","*:Query*","*:Lookup*","*:Check*"],"Resource":"*"}]}`},
		{"AliyunRAMFullAccess", "Provides full access to Resource Access Management (RAM).",
			`{"Version":"1","Statement":[{"Effect":"Allow","Action":"ram:*","Resource":"*"}]}`},
		{"AliyunRAMReadOnlyAccess", "Provides read-only access to Resource Access Management (RAM).",
			`{"Version":"1","Statement":[{"Effect":"Allow","Action":["ram:Get*","ram:List*"],"Resource":"*"}]}`},
		{"AliyunSTSAssumeRoleAccess", "Provides access to call the AssumeRole operation of STS.",
			`{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}`},
		{"AliyunActionTrailFullAccess", "Provides full access to ActionTrail.",
			`{"Version":"1","Statement":[{"Effect":"Allow","Action":"actiontrail:*","Resource":"*"}]}`},
		{"AliyunECSFullAccess", "Provides full access to Elastic Compute Service (ECS).",
			`{"Version":"1","Statement":[{"Effect":"Allow","Action":"ecs:*","Resource":"*"}]}`},
		{"AliyunKMSFullAccess", "Provides full access to Key Management Service (KMS).",
			`{"Version":"1","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}`},
	} {
		doc, e := parsePolicyDoc(p.doc, false)
		if e != nil {
			panic("emulator: system policy " + p.name + ": " + e.Message)
		}
		m[p.name] = &policy{name: p.name, ptype: "System", description: p.desc, created: created, updated: created,
			versions: []*policyVersion{{id: "v1", doc: p.doc, parsed: doc, created: created}}, nextVersion: 2, defaultID: "v1"}
	}
	return m
}()

var rePolicyName = regexp.MustCompile(`^[a-zA-Z0-9\-]{1,128}$`)

func checkPolicyName(name string) *apiError {
	if name == "" {
		return missing("PolicyName")
	}
	if len(name) > 128 {
		return violationf(400, "InvalidParameter.PolicyName.Length", `The parameter - "PolicyName" beyond the length limit.`)
	}
	if !rePolicyName.MatchString(name) {
		return violationf(400, "InvalidParameter.PolicyName.InvalidChars", `The parameter - "PolicyName" contains invalid chars.`)
	}
	return nil
}

func errNoPolicy() *apiError { return errf(404, "EntityNotExist.Policy", "The policy does not exist.") }

// findPolicy resolves PolicyType and PolicyName. PolicyType is required unless optional, and then
// a custom policy of that name wins over a system one.
func findPolicy(c *call, optional bool) (*policy, *apiError) {
	name, ptype := c.p("PolicyName"), c.p("PolicyType")
	if e := checkPolicyName(name); e != nil {
		return nil, e
	}
	switch ptype {
	case "System":
		if p := systemPolicies[name]; p != nil {
			return p, nil
		}
	case "Custom":
		if p := c.acct.iam().policies[name]; p != nil {
			return p, nil
		}
	case "":
		if !optional {
			return nil, missing("PolicyType")
		}
		if p := c.acct.iam().policies[name]; p != nil {
			return p, nil
		}
		if p := systemPolicies[name]; p != nil {
			return p, nil
		}
	default:
		return nil, violationf(400, "InvalidParameter.PolicyType", `The parameter - "PolicyType" is incorrect.`)
	}
	return nil, errNoPolicy()
}

// customPolicy finds a custom policy by PolicyName (the version actions take no PolicyType).
func customPolicy(c *call) (*policy, *apiError) {
	name := c.p("PolicyName")
	if e := checkPolicyName(name); e != nil {
		return nil, e
	}
	p := c.acct.iam().policies[name]
	if p == nil {
		return nil, errNoPolicy()
	}
	return p, nil
}

func policyJSON(p *policy, withDocument bool) map[string]any {
	m := map[string]any{"PolicyName": p.name, "PolicyType": p.ptype, "Description": p.description,
		"DefaultVersion": p.defaultID, "CreateDate": date(p.created), "UpdateDate": date(p.updated)}
	if withDocument {
		m["PolicyDocument"] = p.defaultVersion().doc
	}
	return m
}

func versionJSON(p *policy, v *policyVersion) map[string]any {
	return map[string]any{"VersionId": v.id, "IsDefaultVersion": v.id == p.defaultID, "CreateDate": date(v.created),
		"PolicyDocument": v.doc}
}

// attachmentCount is how many users, roles and groups of the account the policy is attached to.
func (st *iamState) attachmentCount(p *policy) int {
	n := 0
	for _, list := range st.attached {
		for _, at := range list {
			if at.p == p {
				n++
			}
		}
	}
	return n
}

func ramCreatePolicy(s *Server, c *call) (map[string]any, *apiError) {
	name := c.p("PolicyName")
	if e := checkPolicyName(name); e != nil {
		return nil, e
	}
	doc := c.p("PolicyDocument")
	if doc == "" {
		return nil, missing("PolicyDocument")
	}
	if len(c.p("Description")) > 1024 {
		return nil, violationf(400, "InvalidParameter.Description.Length", `The parameter - "Description" beyond the length limit.`)
	}
	parsed, e := parsePolicyDoc(doc, false)
	if e != nil {
		return nil, e
	}
	st := c.acct.iam()
	if st.policies[name] != nil || systemPolicies[name] != nil {
		return nil, errf(409, "EntityAlreadyExists.Policy", "The group does already EXIST.") // sic [DOC]
	}
	if len(st.policies) >= maxCustomPolicies {
		return nil, errf(409, "LimitExceeded.Policy", "The count of policy beyond the current limits.")
	}
	p := &policy{name: name, ptype: "Custom", description: c.p("Description"), created: c.now, updated: c.now,
		versions: []*policyVersion{{id: "v1", doc: doc, parsed: parsed, created: c.now}}, nextVersion: 2, defaultID: "v1"}
	st.policies[name] = p
	st.policyOrder = append(st.policyOrder, p)
	return map[string]any{"Policy": policyJSON(p, false)}, nil
}

func ramGetPolicy(s *Server, c *call) (map[string]any, *apiError) {
	p, e := findPolicy(c, false)
	if e != nil {
		return nil, e
	}
	m := policyJSON(p, true)
	m["AttachmentCount"] = c.acct.iam().attachmentCount(p)
	return map[string]any{"Policy": m, "DefaultPolicyVersion": versionJSON(p, p.defaultVersion())}, nil
}

func ramDeletePolicy(s *Server, c *call) (map[string]any, *apiError) {
	p, e := customPolicy(c)
	if e != nil {
		return nil, e
	}
	st := c.acct.iam()
	for _, kind := range []string{"User", "Group", "Role"} {
		for ref, list := range st.attached {
			if ref.kind == kind && slices.ContainsFunc(list, func(a *attachment) bool { return a.p == p }) {
				// DeleteConflict.Policy.Role is not in the documented list [INF: same pattern].
				return nil, errf(409, "DeleteConflict.Policy."+kind,
					"The policy CAN NOT been attached to any %s while deleting the policy.", strings.ToLower(kind))
			}
		}
	}
	if len(p.versions) > 1 && c.p("CascadingDelete") != "true" {
		return nil, errf(409, "DeleteConflict.Policy.Version", "The policy CAN NOT has any version except the default version.")
	}
	delete(st.policies, p.name)
	st.policyOrder = slices.DeleteFunc(st.policyOrder, func(x *policy) bool { return x == p })
	return map[string]any{}, nil
}

func ramCreatePolicyVersion(s *Server, c *call) (map[string]any, *apiError) {
	p, e := customPolicy(c)
	if e != nil {
		return nil, e
	}
	doc := c.p("PolicyDocument")
	if doc == "" {
		return nil, missing("PolicyDocument")
	}
	parsed, e := parsePolicyDoc(doc, false)
	if e != nil {
		return nil, e
	}
	asDefault := c.p("SetAsDefault") == "true"
	if len(p.versions) >= maxPolicyVersions {
		if c.p("RotateStrategy") != "DeleteOldestNonDefaultVersionWhenLimitExceeded" {
			return nil, errf(409, "LimitExceeded.Policy.Version", "The count of policy version beyond the current limits.")
		}
		i := slices.IndexFunc(p.versions, func(v *policyVersion) bool { return v.id != p.defaultID })
		p.versions = slices.Delete(p.versions, i, i+1)
	}
	v := &policyVersion{id: "v" + strconv.Itoa(p.nextVersion), doc: doc, parsed: parsed, created: c.now}
	p.nextVersion++
	p.versions = append(p.versions, v)
	if asDefault {
		p.defaultID = v.id
	}
	p.updated = c.now
	return map[string]any{"PolicyVersion": versionJSON(p, v)}, nil
}

func policyVersionArg(c *call, p *policy) (*policyVersion, *apiError) {
	id := c.p("VersionId")
	if id == "" {
		return nil, missing("VersionId")
	}
	if len(id) < 2 || id[0] != 'v' || strings.Trim(id[1:], "0123456789") != "" {
		return nil, violationf(400, "InvalidParameter.VersionId.Format", `The format of the parameter - "VersionId" is incorrect.`)
	}
	v := p.version(id)
	if v == nil {
		return nil, errf(404, "EntityNotExist.Policy.Version", "The policy version does not exist.")
	}
	return v, nil
}

func ramSetDefaultPolicyVersion(s *Server, c *call) (map[string]any, *apiError) {
	p, e := customPolicy(c)
	if e != nil {
		return nil, e
	}
	v, e := policyVersionArg(c, p)
	if e != nil {
		return nil, e
	}
	p.defaultID, p.updated = v.id, c.now
	return map[string]any{}, nil
}

func ramGetPolicyVersion(s *Server, c *call) (map[string]any, *apiError) {
	p, e := findPolicy(c, false)
	if e != nil {
		return nil, e
	}
	v, e := policyVersionArg(c, p)
	if e != nil {
		return nil, e
	}
	return map[string]any{"PolicyVersion": versionJSON(p, v)}, nil
}

func ramListPolicyVersions(s *Server, c *call) (map[string]any, *apiError) {
	p, e := findPolicy(c, false)
	if e != nil {
		return nil, e
	}
	list := []map[string]any{}
	for _, v := range p.versions {
		list = append(list, versionJSON(p, v))
	}
	return map[string]any{"PolicyVersions": map[string]any{"PolicyVersion": list}}, nil
}

func ramDeletePolicyVersion(s *Server, c *call) (map[string]any, *apiError) {
	p, e := customPolicy(c)
	if e != nil {
		return nil, e
	}
	v, e := policyVersionArg(c, p)
	if e != nil {
		return nil, e
	}
	if v.id == p.defaultID {
		return nil, errf(409, "DeleteConflict.Policy.Version.Default", "The default policy version CAN NOT been deleted directly.")
	}
	p.versions = slices.DeleteFunc(p.versions, func(x *policyVersion) bool { return x == v })
	return map[string]any{}, nil
}

// entityArg resolves the user, role or group an attach/detach/list action names.
func entityArg(c *call, kind string) (entityRef, *apiError) {
	param := kind + "Name"
	name := c.p(param)
	if name == "" {
		return entityRef{}, missing(param)
	}
	switch kind {
	case "User":
		if e := checkUserName(name); e != nil {
			return entityRef{}, e
		}
		if c.acct.users[name] == nil {
			return entityRef{}, errNoUser()
		}
	case "Role":
		name = strings.ToLower(name)
		if c.acct.roles[name] == nil {
			return entityRef{}, errNoRole()
		}
	case "Group":
		if c.acct.iam().groups[name] == nil {
			return entityRef{}, errNoGroup()
		}
	}
	return entityRef{kind: kind, name: name}, nil
}

// attachArgs resolves the policy and the entity of an attach or detach.
func attachArgs(c *call, kind string) (*policy, entityRef, *apiError) {
	if c.p("PolicyType") == "" {
		return nil, entityRef{}, missing("PolicyType")
	}
	p, e := findPolicy(c, false)
	if e != nil {
		return nil, entityRef{}, e
	}
	ref, e := entityArg(c, kind)
	return p, ref, e
}

func attachTo(kind string) handler {
	return func(s *Server, c *call) (map[string]any, *apiError) {
		p, ref, e := attachArgs(c, kind)
		if e != nil {
			return nil, e
		}
		st := c.acct.iam()
		list := st.attached[ref]
		if slices.ContainsFunc(list, func(a *attachment) bool { return a.p == p }) {
			// EntityAlreadyExists.Role.Policy is not in the documented list [INF: same pattern].
			return nil, errf(409, "EntityAlreadyExists."+kind+".Policy", "The %s has already been attached this policy.", strings.ToLower(kind))
		}
		n, limit := 0, maxSystemAttached
		if p.ptype == "Custom" {
			limit = maxCustomAttached(kind)
		}
		for _, a := range list {
			if a.p.ptype == p.ptype {
				n++
			}
		}
		if n >= limit {
			return nil, errf(409, "LimitExceeded."+kind+".Policy", "The policy count of the %s attached policies beyond the current limits.", strings.ToLower(kind))
		}
		st.attached[ref] = append(list, &attachment{p: p, at: c.now})
		return map[string]any{}, nil
	}
}

func detachFrom(kind string) handler {
	return func(s *Server, c *call) (map[string]any, *apiError) {
		p, ref, e := attachArgs(c, kind)
		if e != nil {
			return nil, e
		}
		st := c.acct.iam()
		list := st.attached[ref]
		i := slices.IndexFunc(list, func(a *attachment) bool { return a.p == p })
		if i < 0 {
			msg := "The indicate policy of the user does not exist."
			if kind != "User" {
				msg = "The indicate policy attached to the " + strings.ToLower(kind) + " does not exist."
			}
			return nil, errf(404, "EntityNotExist."+kind+".Policy", "%s", msg)
		}
		st.attached[ref] = slices.Delete(list, i, i+1)
		if len(st.attached[ref]) == 0 {
			delete(st.attached, ref)
		}
		return map[string]any{}, nil
	}
}

func listPoliciesFor(kind string) handler {
	return func(s *Server, c *call) (map[string]any, *apiError) {
		ref, e := entityArg(c, kind)
		if e != nil {
			return nil, e
		}
		list := []map[string]any{}
		for _, a := range c.acct.iam().attached[ref] {
			m := policyJSON(a.p, false)
			delete(m, "CreateDate")
			delete(m, "UpdateDate")
			m["AttachDate"] = date(a.at)
			list = append(list, m)
		}
		return map[string]any{"Policies": map[string]any{"Policy": list}}, nil
	}
}

func ramListEntitiesForPolicy(s *Server, c *call) (map[string]any, *apiError) {
	p, e := findPolicy(c, false)
	if e != nil {
		return nil, e
	}
	st := c.acct.iam()
	users, roles, groups := []map[string]any{}, []map[string]any{}, []map[string]any{}
	// In the order the account lists them, so the answer is stable.
	attachedAt := func(ref entityRef) (time.Time, bool) {
		for _, a := range st.attached[ref] {
			if a.p == p {
				return a.at, true
			}
		}
		return time.Time{}, false
	}
	for _, u := range c.acct.userOrder {
		if at, ok := attachedAt(entityRef{"User", u.name}); ok {
			users = append(users, map[string]any{"UserId": u.id, "UserName": u.name, "DisplayName": u.displayName, "AttachDate": date(at)})
		}
	}
	for _, r := range sortedRoles(c.acct) {
		if at, ok := attachedAt(entityRef{"Role", strings.ToLower(r.name)}); ok {
			roles = append(roles, map[string]any{"RoleId": r.id, "RoleName": r.name, "Arn": roleArn(r),
				"Description": st.roleInfo[strings.ToLower(r.name)].desc(), "AttachDate": date(at)})
		}
	}
	for _, g := range st.groupOrder {
		if at, ok := attachedAt(entityRef{"Group", g.name}); ok {
			groups = append(groups, map[string]any{"GroupName": g.name, "Comments": g.comments, "AttachDate": date(at)})
		}
	}
	return map[string]any{"Users": map[string]any{"User": users}, "Roles": map[string]any{"Role": roles},
		"Groups": map[string]any{"Group": groups}}, nil
}

// entityPolicies are the documents in force for an entity: the default version of every policy
// attached to it. Call with s.mu held.
func (st *iamState) entityPolicies(ref entityRef, out []*policyDoc) []*policyDoc {
	for _, a := range st.attached[ref] {
		out = append(out, a.p.defaultVersion().parsed)
	}
	return out
}
