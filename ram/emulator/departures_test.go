package emulator_test

import (
	"strings"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/actiontrail"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ims"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ram"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/sts"

	"github.com/respond-dev/respond/ram/emulator"
	et "github.com/respond-dev/respond/ram/emulator/emulatortest"
)

const exposedKey = "LTAI5tFAKEBINEXPOSED0001"

// TestRestrictiveProtection: a flagged key is valid (STS answers) but every RAM and IMS call it
// signs gets the documented Forbidden; another principal can still delete it (spec §14).
func TestRestrictiveProtection(t *testing.T) {
	s, org := binOrg(t)
	flagged := cred(t, org, exposedKey)
	_, err := et.RAM(t, s, flagged).ListAccessKeys(ram.CreateListAccessKeysRequest())
	se := serverErr(t, err, 403, "Forbidden")
	if se.Message() != "There is a risk of leakage of this AccessKey." {
		t.Fatalf("message %q", se.Message())
	}
	gu := ims.CreateGetUserRequest()
	gu.UserAccessKeyId = exposedKey
	_, err = et.IMS(t, s, flagged).GetUser(gu)
	serverErr(t, err, 403, "Forbidden")
	id, err := callerIdentity(et.STSClient(t, s, flagged))
	if err != nil || !strings.HasSuffix(id.Arn, ":user/exposed-app") {
		t.Fatalf("STS with a flagged key: %+v %v", id, err)
	}

	// The blocked calls are in ActionTrail with their error code.
	at := et.ActionTrail(t, s, et.AK(org.Admin()))
	q := actiontrail.CreateLookupEventsRequest()
	q.LookupAttribute = &[]actiontrail.LookupEventsLookupAttribute{{Key: "EventAccessKeyId", Value: exposedKey}}
	ev, err := at.LookupEvents(q)
	if err != nil {
		t.Fatal(err)
	}
	blocked := 0
	for _, e := range ev.Events {
		if e["errorCode"] == "Forbidden" {
			blocked++
		}
	}
	if blocked != 2 {
		t.Fatalf("%d Forbidden events, want 2: %v", blocked, ev.Events)
	}

	// FlagKey flags a key at run time; the administrator deletes it and it is gone.
	admin := et.RAM(t, s, et.AK(org.Admin()))
	k, err := createKey(admin, "exposed-app")
	if err != nil {
		t.Fatal(err)
	}
	fresh := et.AK(emulator.Credential{AccessKeyID: k.AccessKey.AccessKeyId, AccessKeySecret: k.AccessKey.AccessKeySecret})
	// exposed-app may call nothing: unflagged, its new key meets the permission check...
	_, err = et.RAM(t, s, fresh).ListAccessKeys(ram.CreateListAccessKeysRequest())
	serverErr(t, err, 403, "NoPermission")
	if !s.FlagKey(k.AccessKey.AccessKeyId) || s.FlagKey("LTAI5tFAKENOSUCHKEY00001") {
		t.Fatal("FlagKey result")
	}
	// ...flagged, the protection answers first.
	_, err = et.RAM(t, s, fresh).ListAccessKeys(ram.CreateListAccessKeysRequest())
	serverErr(t, err, 403, "Forbidden")
	if err := deleteKey(admin, "exposed-app", exposedKey); err != nil {
		t.Fatalf("delete a flagged key as another principal: %v", err)
	}
	_, err = callerIdentity(et.STSClient(t, s, flagged))
	serverErr(t, err, 404, "InvalidAccessKeyId.NotFound")
	noViolations(t, s)
}

func TestAssumeRoleDocumentedLimits(t *testing.T) {
	s, org := demo(t)
	c := et.STSClient(t, s, et.AK(org.Admin()))
	policy := func(n int) string { // valid JSON of exactly n bytes
		p := `{"Version":"1","Statement":[],"Pad":""}`
		return p[:len(p)-2] + strings.Repeat("x", n-len(p)) + `"}`
	}
	for _, tc := range []struct {
		name, session, policy, code, msg string
	}{
		{"64-char session", strings.Repeat("s", 64), "", "", ""},
		{"65-char session", strings.Repeat("s", 65), "", "InvalidParameter.RoleSessionName", "The parameter RoleSessionName is wrongly formed."},
		{"2048-byte policy", "ok", policy(2048), "", ""},
		{"2049-byte policy", "ok", policy(2049), "InvalidParameter.PolicySize", "The size of Policy must be smaller than 2048 bytes."},
	} {
		r := sts.CreateAssumeRoleRequest()
		r.RoleArn, r.RoleSessionName, r.Policy = prodRole, tc.session, tc.policy
		resp, err := c.AssumeRole(r)
		if tc.code == "" {
			if err != nil || !strings.HasSuffix(resp.AssumedRoleUser.Arn, ":role/ResourceDirectoryAccountAccessRole/"+tc.session) {
				t.Fatalf("%s: %+v %v", tc.name, resp, err)
			}
			continue
		}
		if se := serverErr(t, err, 400, tc.code); se.Message() != tc.msg {
			t.Fatalf("%s: message %q", tc.name, se.Message())
		}
	}
	// The account owner cannot assume a role.
	r := sts.CreateAssumeRoleRequest()
	r.RoleArn, r.RoleSessionName = prodRole, "root"
	_, err := et.STSClient(t, s, cred(t, org, rootKey)).AssumeRole(r)
	if se := serverErr(t, err, 403, "NoPermission"); se.Message() != "Roles may not be assumed by root accounts." {
		t.Fatalf("root AssumeRole message %q", se.Message())
	}
	if v := s.Violations(); len(v) != 2 {
		t.Fatalf("violations %q", v)
	}
}

func TestDocumentedUserShapes(t *testing.T) {
	s, org := binOrg(t)
	admin := et.AK(org.Admin())
	// GetCallerIdentity: PrincipalId is not the UserId.
	id, err := callerIdentity(et.STSClient(t, s, admin))
	if err != nil || id.UserId == "" || id.PrincipalId == id.UserId || len(id.PrincipalId) != 18 {
		t.Fatalf("GetCallerIdentity %+v %v", id, err)
	}
	// RAM GetUser carries LastLoginDate.
	r := et.RAM(t, s, admin)
	gu := ram.CreateGetUserRequest()
	gu.UserName = "deploy-bot"
	u, err := r.GetUser(gu)
	if err != nil || u.User.LastLoginDate != "2026-11-02T08:00:00Z" {
		t.Fatalf("RAM GetUser %+v %v", u, err)
	}
	// IMS: Status active/freeze; ListUsers shows active users unless asked.
	c := et.IMS(t, s, admin)
	ig := ims.CreateGetUserRequest()
	ig.UserPrincipalName = "exposed-app@binco.onaliyun.com"
	iu, err := c.GetUser(ig)
	if err != nil || iu.User.Status != "freeze" || iu.User.LastLoginDate != "" {
		t.Fatalf("IMS GetUser %+v %v", iu, err)
	}
	ig.UserPrincipalName = "deploy-bot@binco.onaliyun.com"
	if iu, err := c.GetUser(ig); err != nil || iu.User.Status != "active" || iu.User.LastLoginDate != "2026-11-02T08:00:00Z" {
		t.Fatalf("IMS GetUser %+v %v", iu, err)
	}
	names := func(status string) string {
		req := ims.CreateListUsersRequest()
		req.Status = status
		resp, err := c.ListUsers(req)
		if err != nil {
			t.Fatal(err)
		}
		var n []string
		for _, u := range resp.Users.User {
			n = append(n, strings.TrimSuffix(u.UserPrincipalName, "@binco.onaliyun.com"))
		}
		return strings.Join(n, ",")
	}
	if got := names(""); got != "admin,deploy-bot" {
		t.Fatalf("IMS ListUsers default: %s", got)
	}
	if got := names("freeze"); got != "exposed-app" {
		t.Fatalf("IMS ListUsers freeze: %s", got)
	}
	if got := names("active,freeze"); got != "admin,deploy-bot,exposed-app" {
		t.Fatalf("IMS ListUsers both: %s", got)
	}
	// ActionTrail GetAccessKeyLastUsedInfo names the service in English.
	at := et.ActionTrail(t, s, admin)
	lr := actiontrail.CreateGetAccessKeyLastUsedInfoRequest()
	lr.AccessKey = exposedKey
	lu, err := at.GetAccessKeyLastUsedInfo(lr)
	if err != nil || lu.ServiceName != "Ecs" || lu.ServiceNameEn != "Elastic Compute Service" {
		t.Fatalf("GetAccessKeyLastUsedInfo %+v %v", lu, err)
	}
	// CreateUser of an existing name: the documented message.
	cu := ram.CreateCreateUserRequest()
	cu.UserName = "deploy-bot"
	_, err = r.CreateUser(cu)
	if se := serverErr(t, err, 409, "EntityAlreadyExists.User"); se.Message() != "The user does already EXIST." {
		t.Fatalf("EntityAlreadyExists.User message %q", se.Message())
	}
	noViolations(t, s)
}
