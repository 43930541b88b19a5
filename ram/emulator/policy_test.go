package emulator_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ram"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/sts"

	"github.com/respond-dev/respond/ram/emulator"
	et "github.com/respond-dev/respond/ram/emulator/emulatortest"
)

// Policies, login profiles, groups, roles and AccessKey network policies through the real SDK.

const iamOrgYAML = `
accounts:
  - id: "1000000000000001"
    alias: acme
    management: true
    policies:
      - name: read-users
        document: '{"Version":"1","Statement":[{"Effect":"Allow","Action":["ram:ListUsers","ram:GetUser"],"Resource":"*"}]}'
    groups:
      - name: readers
        policies: [read-users]
    users:
      - name: admin
        admin: true
        keys:
          - {id: LTAI5tIAMADMIN0000000001, secret: IamAdminSecret0000000000000001}
      - name: app
        allow: ["sts:AssumeRole"]
        keys:
          - {id: LTAI5tIAMAPP000000000001, secret: IamAppSecret000000000000000001}
      - name: ops
        allow: ["ram:*"]
        keys:
          - {id: LTAI5tIAMOPS000000000001, secret: IamOpsSecret000000000000000001}
      - name: reader
        groups: [readers]
        keys:
          - {id: LTAI5tIAMREADER000000001, secret: IamReaderSecret000000000000001}
      - name: pinned
        keys:
          - {id: LTAI5tIAMPINNED000000001, secret: IamPinnedSecret000000000000001, sourceIp: 198.51.100.9}
    roles:
      - name: ops-admin
        allow: ["*"]
        maxSessionDuration: 7200
`

const (
	iamAdmin  = "LTAI5tIAMADMIN0000000001"
	iamApp    = "LTAI5tIAMAPP000000000001"
	iamOps    = "LTAI5tIAMOPS000000000001"
	iamReader = "LTAI5tIAMREADER000000001"
	iamPinned = "LTAI5tIAMPINNED000000001"
	attacker  = "185.220.101.34"
	appIP     = "10.0.3.17"
	roleArnOp = "acs:ram::1000000000000001:role/ops-admin"
)

func iamServer(t *testing.T, opts ...emulator.Option) (*emulator.Server, *emulator.Org) {
	t.Helper()
	org, err := emulator.ParseOrg([]byte(iamOrgYAML))
	if err != nil {
		t.Fatal(err)
	}
	return et.Start(t, org, append([]emulator.Option{emulator.WithLookupEventsLimit(0)}, opts...)...), org
}

// from makes a request come from ip (honoured only WithSourceIPHeader).
func from[R interface{ GetHeaders() map[string]string }](r R, ip string) R {
	r.GetHeaders()[emulator.SourceIPHeader] = ip
	return r
}

func attachUser(t *testing.T, c *ram.Client, ptype, name, user string) {
	t.Helper()
	r := ram.CreateAttachPolicyToUserRequest()
	r.PolicyType, r.PolicyName, r.UserName = ptype, name, user
	if _, err := c.AttachPolicyToUser(r); err != nil {
		t.Fatalf("attach %s to %s: %v", name, user, err)
	}
}

func createPolicy(t *testing.T, c *ram.Client, name, doc string) {
	t.Helper()
	r := ram.CreateCreatePolicyRequest()
	r.PolicyName, r.PolicyDocument = name, doc
	if _, err := c.CreatePolicy(r); err != nil {
		t.Fatalf("create policy %s: %v", name, err)
	}
}

func TestPolicyLifecycle(t *testing.T) {
	s, org := iamServer(t)
	admin := et.RAM(t, s, cred(t, org, iamAdmin))
	doc := `{"Version":"1","Statement":[{"Effect":"Deny","Action":"ram:*","Resource":"*"}]}`
	cr := ram.CreateCreatePolicyRequest()
	cr.PolicyName, cr.PolicyDocument, cr.Description = "quarantine", doc, "deny RAM"
	created, err := admin.CreatePolicy(cr)
	if err != nil || created.Policy.PolicyType != "Custom" || created.Policy.DefaultVersion != "v1" || created.Policy.CreateDate == "" {
		t.Fatalf("CreatePolicy %+v %v", created, err)
	}
	_, err = admin.CreatePolicy(cr)
	serverErr(t, err, 409, "EntityAlreadyExists.Policy")

	attachUser(t, admin, "Custom", "quarantine", "app")
	ar := ram.CreateAttachPolicyToUserRequest()
	ar.PolicyType, ar.PolicyName, ar.UserName = "Custom", "quarantine", "app"
	_, err = admin.AttachPolicyToUser(ar)
	serverErr(t, err, 409, "EntityAlreadyExists.User.Policy")
	ar.PolicyType = "Bogus"
	_, err = admin.AttachPolicyToUser(ar)
	serverErr(t, err, 400, "InvalidParameter.PolicyType")
	ar.PolicyType, ar.UserName = "Custom", "nobody"
	_, err = admin.AttachPolicyToUser(ar)
	serverErr(t, err, 404, "EntityNotExist.User")

	rr := ram.CreateAttachPolicyToRoleRequest()
	rr.PolicyType, rr.PolicyName, rr.RoleName = "System", "AdministratorAccess", "OPS-ADMIN" // role names ignore case
	if _, err := admin.AttachPolicyToRole(rr); err != nil {
		t.Fatal(err)
	}
	gr := ram.CreateAttachPolicyToGroupRequest()
	gr.PolicyType, gr.PolicyName, gr.GroupName = "Custom", "quarantine", "readers"
	if _, err := admin.AttachPolicyToGroup(gr); err != nil {
		t.Fatal(err)
	}

	get := ram.CreateGetPolicyRequest()
	get.PolicyType, get.PolicyName = "Custom", "quarantine"
	got, err := admin.GetPolicy(get)
	if err != nil || got.Policy.AttachmentCount != 2 || got.Policy.PolicyDocument != doc ||
		got.DefaultPolicyVersion.VersionId != "v1" || !got.DefaultPolicyVersion.IsDefaultVersion {
		t.Fatalf("GetPolicy %+v %v", got, err)
	}
	get.PolicyType, get.PolicyName = "System", "AdministratorAccess"
	if sys, err := admin.GetPolicy(get); err != nil || sys.Policy.PolicyType != "System" || sys.Policy.AttachmentCount != 1 {
		t.Fatalf("GetPolicy system %+v %v", sys, err)
	}
	get.PolicyType, get.PolicyName = "Custom", "nope"
	_, err = admin.GetPolicy(get)
	serverErr(t, err, 404, "EntityNotExist.Policy")

	lu := ram.CreateListPoliciesForUserRequest()
	lu.UserName = "app"
	pu, err := admin.ListPoliciesForUser(lu)
	if err != nil || len(pu.Policies.Policy) != 1 || pu.Policies.Policy[0].PolicyName != "quarantine" || pu.Policies.Policy[0].AttachDate == "" {
		t.Fatalf("ListPoliciesForUser %+v %v", pu, err)
	}
	lr := ram.CreateListPoliciesForRoleRequest()
	lr.RoleName = "ops-admin"
	if pr, err := admin.ListPoliciesForRole(lr); err != nil || len(pr.Policies.Policy) != 1 || pr.Policies.Policy[0].PolicyType != "System" {
		t.Fatalf("ListPoliciesForRole %+v %v", pr, err)
	}
	le := ram.CreateListEntitiesForPolicyRequest()
	le.PolicyType, le.PolicyName = "Custom", "quarantine"
	ents, err := admin.ListEntitiesForPolicy(le)
	if err != nil || len(ents.Users.User) != 1 || ents.Users.User[0].UserName != "app" || len(ents.Groups.Group) != 1 ||
		ents.Groups.Group[0].GroupName != "readers" || len(ents.Roles.Role) != 0 {
		t.Fatalf("ListEntitiesForPolicy %+v %v", ents, err)
	}

	// Versions: a new default, then a delete that needs the cascade.
	vr := ram.CreateCreatePolicyVersionRequest()
	vr.PolicyName, vr.PolicyDocument, vr.SetAsDefault = "quarantine", `{"Version":"1","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}`, "true"
	v2, err := admin.CreatePolicyVersion(vr)
	if err != nil || v2.PolicyVersion.VersionId != "v2" || !v2.PolicyVersion.IsDefaultVersion {
		t.Fatalf("CreatePolicyVersion %+v %v", v2, err)
	}
	sd := ram.CreateSetDefaultPolicyVersionRequest()
	sd.PolicyName, sd.VersionId = "quarantine", "v9"
	_, err = admin.SetDefaultPolicyVersion(sd)
	serverErr(t, err, 404, "EntityNotExist.Policy.Version")
	sd.VersionId = "v1"
	if _, err := admin.SetDefaultPolicyVersion(sd); err != nil {
		t.Fatal(err)
	}
	lv := ram.CreateListPolicyVersionsRequest()
	lv.PolicyType, lv.PolicyName = "Custom", "quarantine"
	if vs, err := admin.ListPolicyVersions(lv); err != nil || len(vs.PolicyVersions.PolicyVersion) != 2 || !vs.PolicyVersions.PolicyVersion[0].IsDefaultVersion {
		t.Fatalf("ListPolicyVersions %+v %v", vs, err)
	}

	del := ram.CreateDeletePolicyRequest()
	del.PolicyName = "quarantine"
	_, err = admin.DeletePolicy(del)
	serverErr(t, err, 409, "DeleteConflict.Policy.User")
	dr := ram.CreateDetachPolicyFromUserRequest()
	dr.PolicyType, dr.PolicyName, dr.UserName = "Custom", "quarantine", "app"
	if _, err := admin.DetachPolicyFromUser(dr); err != nil {
		t.Fatal(err)
	}
	_, err = admin.DetachPolicyFromUser(dr)
	serverErr(t, err, 404, "EntityNotExist.User.Policy")
	dg := ram.CreateDetachPolicyFromGroupRequest()
	dg.PolicyType, dg.PolicyName, dg.GroupName = "Custom", "quarantine", "readers"
	if _, err := admin.DetachPolicyFromGroup(dg); err != nil {
		t.Fatal(err)
	}
	_, err = admin.DeletePolicy(del)
	serverErr(t, err, 409, "DeleteConflict.Policy.Version")
	del.QueryParams["CascadingDelete"] = "true" // not a typed field in v1.63.107 (spec §10)
	if _, err := admin.DeletePolicy(del); err != nil {
		t.Fatal(err)
	}
	_, err = admin.DeletePolicy(del)
	serverErr(t, err, 404, "EntityNotExist.Policy")

	for _, bad := range []string{`{"Version":"2","Statement":[]}`, `not json`,
		`{"Version":"1","Statement":[{"Effect":"Maybe","Action":"*","Resource":"*"}]}`,
		`{"Version":"1","Statement":[{"Effect":"Allow","Action":"*"}]}`,
		`{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"IpAddressish":{"acs:SourceIp":"1.2.3.4"}}}]}`,
		`{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"IpAddress":{"acs:SourceIp":"not-an-ip"}}}]}`,
	} {
		cr.PolicyName, cr.PolicyDocument = "bad", bad
		_, err = admin.CreatePolicy(cr)
		serverErr(t, err, 400, "MalformedPolicyDocument")
	}
	if v := s.Violations(); len(v) != 1 || !strings.HasPrefix(v[0], "InvalidParameter.PolicyType ") {
		t.Fatalf("violations %q, want the bogus PolicyType only", v)
	}
}

// listUsersAs calls ListUsers with the given key, from ip.
func listUsersAs(t *testing.T, s *emulator.Server, org *emulator.Org, key, ip string) error {
	t.Helper()
	_, err := et.RAM(t, s, cred(t, org, key)).ListUsers(from(ram.CreateListUsersRequest(), ip))
	return err
}

func TestPolicyEnforcement(t *testing.T) {
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	for _, tc := range []struct {
		name   string
		key    string // signs ListUsers
		docs   []string
		ip     string
		denied string // "", ImplicitDeny or ExplicitDeny
	}{
		{name: "no policy, no allow-list", key: iamApp, ip: appIP, denied: "ImplicitDeny"},
		{name: "allow by policy", key: iamApp, docs: []string{`{"Version":"1","Statement":[{"Effect":"Allow","Action":"ram:List*","Resource":"*"}]}`}, ip: appIP},
		{name: "action case-insensitive", key: iamApp, docs: []string{`{"Version":"1","Statement":[{"Effect":"Allow","Action":"RAM:listusers","Resource":"*"}]}`}, ip: appIP},
		{name: "allow other action only", key: iamApp, docs: []string{`{"Version":"1","Statement":[{"Effect":"Allow","Action":"ram:GetUser","Resource":"*"}]}`}, ip: appIP, denied: "ImplicitDeny"},
		{name: "deny wins over allow", key: iamApp, docs: []string{`{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"ram:ListUsers","Resource":"*"}]}`}, ip: appIP, denied: "ExplicitDeny"},
		{name: "deny wins over the allow-list", key: iamOps, docs: []string{`{"Version":"1","Statement":[{"Effect":"Deny","Action":"ram:*","Resource":"*"}]}`}, ip: appIP, denied: "ExplicitDeny"},
		{name: "allow-list alone", key: iamOps, ip: appIP},
		{name: "deny from the attacker's IP, caller is the attacker", key: iamOps, ip: attacker, denied: "ExplicitDeny",
			docs: []string{`{"Version":"1","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"IpAddress":{"acs:SourceIp":["185.220.101.0/24"]}}}]}`}},
		{name: "deny from the attacker's IP, caller elsewhere", key: iamOps, ip: appIP,
			docs: []string{`{"Version":"1","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"IpAddress":{"acs:SourceIp":["185.220.101.34"]}}}]}`}},
		{name: "deny all but the app's IP, caller elsewhere", key: iamOps, ip: attacker, denied: "ExplicitDeny",
			docs: []string{`{"Version":"1","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"NotIpAddress":{"acs:SourceIp":["10.0.3.0/24"]}}}]}`}},
		{name: "deny all but the app's IP, caller is the app", key: iamOps, ip: appIP,
			docs: []string{`{"Version":"1","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"NotIpAddress":{"acs:SourceIp":["10.0.3.0/24"]}}}]}`}},
		{name: "deny until a future time", key: iamOps, ip: appIP, denied: "ExplicitDeny",
			docs: []string{`{"Version":"1","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateLessThan":{"acs:CurrentTime":"` + future + `"}}}]}`}},
		{name: "a deny that expired", key: iamOps, ip: appIP,
			docs: []string{`{"Version":"1","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateLessThan":{"acs:CurrentTime":"` + past + `"}}}]}`}},
		{name: "deny after a past time", key: iamOps, ip: appIP, denied: "ExplicitDeny",
			docs: []string{`{"Version":"1","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateGreaterThan":{"acs:CurrentTime":"` + past + `"}}}]}`}},
		{name: "conditions are ANDed", key: iamOps, ip: attacker,
			docs: []string{`{"Version":"1","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"IpAddress":{"acs:SourceIp":"185.220.101.34"},"DateLessThan":{"acs:CurrentTime":"` + past + `"}}}]}`}},
		{name: "NotAction", key: iamOps, ip: appIP, denied: "ExplicitDeny",
			docs: []string{`{"Version":"1","Statement":[{"Effect":"Deny","NotAction":"ram:Get*","Resource":"*"}]}`}},
		{name: "resource pattern of another user", key: iamApp, ip: appIP, denied: "ImplicitDeny",
			docs: []string{`{"Version":"1","Statement":[{"Effect":"Allow","Action":"ram:*","Resource":"acs:ram:*:*:user/bob"}]}`}},
		{name: "a group's policy", key: iamReader, ip: appIP},
		{name: "the seeded source IP of a key", key: iamPinned, ip: "", denied: "ExplicitDeny",
			docs: []string{`{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"IpAddress":{"acs:SourceIp":"198.51.100.9"}}}]}`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, org := iamServer(t, emulator.WithSourceIPHeader())
			admin := et.RAM(t, s, cred(t, org, iamAdmin))
			c, _ := org.Key(tc.key)
			for i, d := range tc.docs {
				name := "p" + string(rune('a'+i))
				createPolicy(t, admin, name, d)
				attachUser(t, admin, "Custom", name, c.UserName)
			}
			err := listUsersAs(t, s, org, tc.key, tc.ip)
			if tc.denied == "" {
				if err != nil {
					t.Fatalf("denied: %v", err)
				}
				return
			}
			se := serverErr(t, err, 403, "NoPermission")
			if d := se.AccessDeniedDetail(); d["NoPermissionType"] != tc.denied || d["AuthAction"] != "ram:ListUsers" {
				t.Fatalf("AccessDeniedDetail %v, want %s", d, tc.denied)
			}
			noViolations(t, s)
		})
	}
}

func TestRootIgnoresPoliciesAndHeaderNeedsOption(t *testing.T) {
	s, org := iamServer(t) // no WithSourceIPHeader
	admin := et.RAM(t, s, cred(t, org, iamAdmin))
	createPolicy(t, admin, "deny-attacker", `{"Version":"1","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"IpAddress":{"acs:SourceIp":"185.220.101.34"}}}]}`)
	attachUser(t, admin, "Custom", "deny-attacker", "ops")
	// The header is ignored: the call comes from 127.0.0.1.
	if err := listUsersAs(t, s, org, iamOps, attacker); err != nil {
		t.Fatalf("header honoured without WithSourceIPHeader: %v", err)
	}
	ev := events(t, s, org, "EventAccessKeyId", iamOps)
	if len(ev) == 0 || ev[0]["sourceIpAddress"] != "127.0.0.1" {
		t.Fatalf("events %v", ev)
	}
}

// events returns the account's events matching one attribute, newest first.
func events(t *testing.T, s *emulator.Server, org *emulator.Org, key, value string) []map[string]any {
	t.Helper()
	return lookup(t, et.ActionTrail(t, s, et.AK(org.Admin())), "cn-hangzhou", key, value)
}

func TestRoleSessionDenyByIPUntilExpiry(t *testing.T) {
	clk := newClock()
	s, org := iamServer(t, emulator.WithSourceIPHeader(), emulator.WithClock(clk.Now), emulator.WithoutTimestampCheck())
	admin := et.RAM(t, s, cred(t, org, iamAdmin))
	// The attacker (with the app's key) assumes the role from its IP; so does the app, from its own.
	assume := func(ip string) *ram.Client {
		r := from(sts.CreateAssumeRoleRequest(), ip)
		r.RoleArn, r.RoleSessionName, r.DurationSeconds = roleArnOp, "s-"+strings.ReplaceAll(ip, ".", "-"), "7200"
		resp, err := et.STSClient(t, s, cred(t, org, iamApp)).AssumeRole(r)
		if err != nil {
			t.Fatal(err)
		}
		c := resp.Credentials
		return et.RAM(t, s, et.STS(c.AccessKeyId, c.AccessKeySecret, c.SecurityToken))
	}
	evil, legit := assume(attacker), assume(appIP)
	call := func(c *ram.Client, ip string) error {
		_, err := c.ListUsers(from(ram.CreateListUsersRequest(), ip))
		return err
	}
	for _, c := range []*ram.Client{evil, legit} {
		if err := call(c, appIP); err != nil {
			t.Fatal(err)
		}
	}
	expiry := clk.Now().Add(2 * time.Hour).Format(time.RFC3339)
	createPolicy(t, admin, "respond-deny-ops-admin", `{"Version":"1","Statement":[{"Effect":"Deny","Action":"*","Resource":"*",
		"Condition":{"IpAddress":{"acs:SourceIp":["185.220.101.34"]},"DateLessThan":{"acs:CurrentTime":"`+expiry+`"}}}]}`)
	rr := ram.CreateAttachPolicyToRoleRequest()
	rr.PolicyType, rr.PolicyName, rr.RoleName = "Custom", "respond-deny-ops-admin", "ops-admin"
	if _, err := admin.AttachPolicyToRole(rr); err != nil {
		t.Fatal(err)
	}
	// The attacker's token used from the attacker's IP is denied; the same token from elsewhere,
	// and the legitimate session, still work (a token is not bound to an IP).
	se := serverErr(t, call(evil, attacker), 403, "NoPermission")
	if se.AccessDeniedDetail()["NoPermissionType"] != "ExplicitDeny" || se.AccessDeniedDetail()["AuthPrincipalType"] != "AssumedRoleUser" {
		t.Fatalf("detail %v", se.AccessDeniedDetail())
	}
	serverErr(t, call(legit, attacker), 403, "NoPermission")
	if err := call(legit, appIP); err != nil {
		t.Fatalf("legitimate session denied: %v", err)
	}
	if err := call(evil, appIP); err != nil {
		t.Fatalf("deny applied outside the attacker's IPs: %v", err)
	}
	// Past the deny's own expiry (the sessions would have expired too) it no longer applies.
	clk.Add(2*time.Hour + time.Second)
	fresh := assume(attacker)
	if err := call(fresh, attacker); err != nil {
		t.Fatalf("the deny outlived its expiry: %v", err)
	}
	noViolations(t, s)
}

func TestLoginProfileGroupsRoles(t *testing.T) {
	s, org := iamServer(t)
	admin := et.RAM(t, s, cred(t, org, iamAdmin))
	cl := ram.CreateCreateLoginProfileRequest()
	cl.UserName, cl.Password, cl.PasswordResetRequired = "app", "Sup3r-secret-pw!", "true"
	lp, err := admin.CreateLoginProfile(cl)
	if err != nil || lp.LoginProfile.UserName != "app" || !lp.LoginProfile.PasswordResetRequired || lp.LoginProfile.CreateDate == "" {
		t.Fatalf("CreateLoginProfile %+v %v", lp, err)
	}
	_, err = admin.CreateLoginProfile(cl)
	serverErr(t, err, 409, "EntityAlreadyExists.User.LoginProfile")
	cl.UserName, cl.Password = "ops", "short"
	_, err = admin.CreateLoginProfile(cl)
	serverErr(t, err, 400, "InvalidParameter.Password.TooWeak")
	ul := ram.CreateUpdateLoginProfileRequest()
	ul.UserName, ul.Password, ul.PasswordResetRequired = "app", "An0ther-secret-pw", "false"
	if _, err := admin.UpdateLoginProfile(ul); err != nil {
		t.Fatal(err)
	}
	gl := ram.CreateGetLoginProfileRequest()
	gl.UserName = "app"
	if got, err := admin.GetLoginProfile(gl); err != nil || got.LoginProfile.PasswordResetRequired {
		t.Fatalf("GetLoginProfile %+v %v", got, err)
	}
	// No password is ever logged or recorded.
	for _, r := range s.RequestLog() {
		for k, v := range r.Params {
			if strings.Contains(v, "secret-pw") {
				t.Fatalf("request log keeps %s=%s", k, v)
			}
		}
	}
	for _, e := range events(t, s, org, "EventName", "CreateLoginProfile") {
		if b, _ := json.Marshal(e); strings.Contains(string(b), "secret-pw") || strings.Contains(string(b), "Password\"") {
			t.Fatalf("event keeps the password: %s", b)
		}
	}
	// DeleteUser refuses a user with a login profile, policies or groups.
	if _, err := admin.DeleteAccessKey(func() *ram.DeleteAccessKeyRequest {
		r := ram.CreateDeleteAccessKeyRequest()
		r.UserName, r.UserAccessKeyId = "app", iamApp
		return r
	}()); err != nil {
		t.Fatal(err)
	}
	du := ram.CreateDeleteUserRequest()
	du.UserName = "app"
	_, err = admin.DeleteUser(du)
	serverErr(t, err, 409, "DeleteConflict.User.LoginProfile")
	dl := ram.CreateDeleteLoginProfileRequest()
	dl.UserName = "app"
	if _, err := admin.DeleteLoginProfile(dl); err != nil {
		t.Fatal(err)
	}
	_, err = admin.GetLoginProfile(gl)
	serverErr(t, err, 404, "EntityNotExist.User.LoginProfile")
	_, err = admin.DeleteLoginProfile(dl)
	serverErr(t, err, 404, "EntityNotExist.User.LoginProfile")

	cg := ram.CreateCreateGroupRequest()
	cg.GroupName, cg.Comments = "admins", "attacker's"
	if g, err := admin.CreateGroup(cg); err != nil || g.Group.GroupName != "admins" {
		t.Fatalf("CreateGroup %+v %v", g, err)
	}
	_, err = admin.CreateGroup(cg)
	serverErr(t, err, 409, "EntityAlreadyExists.Group")
	ag := ram.CreateAddUserToGroupRequest()
	ag.GroupName, ag.UserName = "admins", "app"
	if _, err := admin.AddUserToGroup(ag); err != nil {
		t.Fatal(err)
	}
	_, err = admin.AddUserToGroup(ag)
	serverErr(t, err, 409, "EntityAlreadyExists.User.Group")
	_, err = admin.DeleteUser(du)
	serverErr(t, err, 409, "DeleteConflict.User.Group")
	lg := ram.CreateListGroupsForUserRequest()
	lg.UserName = "app"
	if gs, err := admin.ListGroupsForUser(lg); err != nil || len(gs.Groups.Group) != 1 || gs.Groups.Group[0].JoinDate == "" {
		t.Fatalf("ListGroupsForUser %+v %v", gs, err)
	}
	rg := ram.CreateRemoveUserFromGroupRequest()
	rg.GroupName, rg.UserName = "admins", "app"
	if _, err := admin.RemoveUserFromGroup(rg); err != nil {
		t.Fatal(err)
	}
	_, err = admin.RemoveUserFromGroup(rg)
	serverErr(t, err, 404, "EntityNotExist.User.Group")
	if _, err := admin.DeleteUser(du); err != nil {
		t.Fatalf("DeleteUser once clean: %v", err)
	}

	// A role created with a trust policy: its own account may assume it, another may not.
	crr := ram.CreateCreateRoleRequest()
	crr.RoleName, crr.MaxSessionDuration = "backdoor", "43200"
	crr.AssumeRolePolicyDocument = `{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":["acs:ram::1000000000000001:root"]}}]}`
	role, err := admin.CreateRole(crr)
	if err != nil || role.Role.Arn != "acs:ram::1000000000000001:role/backdoor" || role.Role.MaxSessionDuration != 43200 {
		t.Fatalf("CreateRole %+v %v", role, err)
	}
	_, err = admin.CreateRole(crr)
	serverErr(t, err, 409, "EntityAlreadyExists.Role")
	gr := ram.CreateGetRoleRequest()
	gr.RoleName = "ops-admin"
	if got, err := admin.GetRole(gr); err != nil || !strings.Contains(got.Role.AssumeRolePolicyDocument, "acs:ram::1000000000000001:root") ||
		got.Role.MaxSessionDuration != 7200 {
		t.Fatalf("GetRole %+v %v", got, err)
	}
	gr.RoleName = "nope"
	_, err = admin.GetRole(gr)
	serverErr(t, err, 404, "EntityNotExist.Role")
	ar := sts.CreateAssumeRoleRequest()
	ar.RoleArn, ar.RoleSessionName, ar.DurationSeconds = "acs:ram::1000000000000001:role/backdoor", "evil", "43200"
	if _, err := et.STSClient(t, s, cred(t, org, iamAdmin)).AssumeRole(ar); err != nil {
		t.Fatalf("AssumeRole of a created role: %v", err)
	}
	noViolations(t, s)
}

// keyPolicy calls IMS Set/GetAccessKeyPolicy (no typed request in v1.63.107, spec §11).
func keyPolicy(c *sdk.Client, action string, params map[string]string) (map[string]string, error) {
	r := requests.NewCommonRequest()
	r.Method = requests.POST
	r.Product, r.Version, r.ApiName, r.Scheme = "Ims", "2019-08-15", action, "http"
	for k, v := range params {
		r.QueryParams[k] = v
	}
	resp, err := c.ProcessCommonRequest(r)
	if err != nil {
		return nil, err
	}
	var out map[string]string
	err = json.Unmarshal(resp.GetHttpContentBytes(), &out)
	return out, err
}

func TestAccessKeyNetworkPolicy(t *testing.T) {
	s, org := iamServer(t, emulator.WithSourceIPHeader())
	admin := et.Common(t, s, cred(t, org, iamAdmin))
	got, err := keyPolicy(admin, "GetAccessKeyPolicy", map[string]string{"UserPrincipalName": "ops@acme.onaliyun.com", "UserAccessKeyId": iamOps})
	if err != nil || got["AccessKeyPolicy"] != `{"Version":1,"Status":"Inactive","Statements":[]}` || got["AccessKeyId"] != iamOps {
		t.Fatalf("GetAccessKeyPolicy %v %v", got, err)
	}
	pol := `{"Version":1,"Status":"Active","Statements":[{"Type":"ClassicWhiteList","IPList":["10.0.3.0/24","2001:db8::1"]}]}`
	set, err := keyPolicy(admin, "SetAccessKeyPolicy", map[string]string{"UserPrincipalName": "ops@acme.onaliyun.com", "UserAccessKeyId": iamOps, "AccessKeyPolicy": pol})
	if err != nil || set["AccessKeyPolicy"] != pol {
		t.Fatalf("SetAccessKeyPolicy %v %v", set, err)
	}
	if err := listUsersAs(t, s, org, iamOps, appIP); err != nil {
		t.Fatalf("listed IP refused: %v", err)
	}
	se := serverErr(t, listUsersAs(t, s, org, iamOps, attacker), 403, "NoPermission")
	if se.AccessDeniedDetail()["PolicyType"] != "AccessKeyNetworkPolicy" {
		t.Fatalf("detail %v", se.AccessDeniedDetail())
	}
	// Another key of the account is not concerned.
	if err := listUsersAs(t, s, org, iamAdmin, attacker); err != nil {
		t.Fatal(err)
	}
	_, err = keyPolicy(admin, "SetAccessKeyPolicy", map[string]string{"UserPrincipalName": "ops@acme.onaliyun.com", "UserAccessKeyId": iamOps,
		"AccessKeyPolicy": `{"Version":1,"Status":"Active","Statements":[{"Type":"ClassicWhiteList","IPList":["nope"]}]}`})
	serverErr(t, err, 400, "InvalidParameter.AccessKeyPolicy")
	if _, err := keyPolicy(admin, "SetAccessKeyPolicy", map[string]string{"UserPrincipalName": "ops@acme.onaliyun.com", "UserAccessKeyId": iamOps,
		"AccessKeyPolicy": `{"Version":1,"Status":"Inactive","Statements":[]}`}); err != nil {
		t.Fatal(err)
	}
	if err := listUsersAs(t, s, org, iamOps, attacker); err != nil {
		t.Fatalf("inactive policy still enforced: %v", err)
	}
	_, err = keyPolicy(admin, "GetAccessKeyPolicy", map[string]string{"UserPrincipalName": "ops@acme.onaliyun.com", "UserAccessKeyId": iamApp})
	serverErr(t, err, 404, "EntityNotExist.User.AccessKey")
}

func TestIdentityEventsCarryResponseAndSourceIP(t *testing.T) {
	s, org := iamServer(t, emulator.WithSourceIPHeader())
	admin := et.RAM(t, s, cred(t, org, iamAdmin))
	cu := from(ram.CreateCreateUserRequest(), attacker)
	cu.UserName = "backdoor"
	if _, err := admin.CreateUser(cu); err != nil {
		t.Fatal(err)
	}
	ck := from(ram.CreateCreateAccessKeyRequest(), attacker)
	ck.UserName = "backdoor"
	key, err := admin.CreateAccessKey(ck)
	if err != nil {
		t.Fatal(err)
	}
	evs := events(t, s, org, "EventName", "CreateAccessKey")
	if len(evs) != 1 || evs[0]["sourceIpAddress"] != attacker {
		t.Fatalf("events %v", evs)
	}
	b, _ := json.Marshal(evs[0])
	if strings.Contains(string(b), key.AccessKey.AccessKeySecret) {
		t.Fatalf("the event carries the secret: %s", b)
	}
	re, _ := evs[0]["responseElements"].(map[string]any)
	ak, _ := re["AccessKey"].(map[string]any)
	if ak["AccessKeyId"] != key.AccessKey.AccessKeyId || ak["Status"] != "Active" {
		t.Fatalf("responseElements %v", re)
	}
	evs = events(t, s, org, "EventName", "CreateUser")
	re, _ = evs[0]["responseElements"].(map[string]any)
	if u, _ := re["User"].(map[string]any); len(evs) != 1 || u["UserName"] != "backdoor" {
		t.Fatalf("CreateUser event %v", evs)
	}
	// Reads carry no responseElements; the key's last use shows the source IP.
	for _, e := range events(t, s, org, "EventName", "GetUser") {
		if _, ok := e["responseElements"]; ok {
			t.Fatalf("a read with responseElements: %v", e)
		}
	}
	noViolations(t, s)
}

func TestSeedValidationIAM(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{`accounts: [{id: "1000000000000001", policies: [{name: "bad name", document: '{}'}]}]`, "policy name"},
		{`accounts: [{id: "1000000000000001", policies: [{name: p, document: 'nope'}]}]`, "MalformedPolicyDocument"},
		{`accounts: [{id: "1000000000000001", policies: [{name: AdministratorAccess, document: '{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'}]}]`, "system policy"},
		{`accounts: [{id: "1000000000000001", users: [{name: u, policies: [NoSuchPolicy]}]}]`, "neither a custom policy"},
		{`accounts: [{id: "1000000000000001", users: [{name: u, groups: [nogroup]}]}]`, "unknown group"},
		{`accounts: [{id: "1000000000000001", roles: [{name: r, policies: [Nope]}]}]`, "neither a custom policy"},
		{`accounts: [{id: "1000000000000001", users: [{name: u, keys: [{id: LTAI5tIAMPINNED000000001, secret: IamPinnedSecret000000000000001, sourceIp: "1.2.3"}]}]}]`, "sourceIp"},
	} {
		_, err := emulator.ParseOrg([]byte(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want %q", tc.yaml, err, tc.want)
		}
	}
}
