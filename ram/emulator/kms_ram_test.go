package emulator_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/actiontrail"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/kms"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ram"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/sts"

	"github.com/respond-dev/respond/ram/emulator"
	et "github.com/respond-dev/respond/ram/emulator/emulatortest"
)

const (
	kmsSecretName = "acs/ram/user/payments-app"
	kmsKey        = "LTAI5tFAKEPAYMENTSKMS001"
	ramFilter     = `[{"Key":"SecretType","Values":["RAMCredentials"]}]`
)

// kmsDemo is the demo organisation on a settable clock (rotations follow it).
func kmsDemo(t *testing.T, opts ...emulator.Option) (*emulator.Server, *emulator.Org, *clock, *kms.Client) {
	t.Helper()
	clk := newClock()
	s, org := demo(t, append([]emulator.Option{emulator.WithClock(clk.Now), emulator.WithoutTimestampCheck()}, opts...)...)
	return s, org, clk, et.KMS(t, s, et.AK(org.Admin()))
}

type ramSecretValue struct {
	AccessKeyID       string `json:"AccessKeyId"`
	AccessKeySecret   string `json:"AccessKeySecret"`
	GenerateTimestamp string `json:"GenerateTimestamp"`
}

func secretValue(t *testing.T, k *kms.Client, stage string) (ramSecretValue, *kms.GetSecretValueResponse, error) {
	t.Helper()
	r := kms.CreateGetSecretValueRequest()
	r.SecretName, r.VersionStage = kmsSecretName, stage
	resp, err := k.GetSecretValue(r)
	var v ramSecretValue
	if err == nil {
		if jerr := json.Unmarshal([]byte(resp.SecretData), &v); jerr != nil {
			t.Fatalf("SecretData is not one object: %v", jerr)
		}
	}
	return v, resp, err
}

func rotate(k *kms.Client, version string) (*kms.RotateSecretResponse, error) {
	r := kms.CreateRotateSecretRequest()
	r.SecretName, r.VersionId = kmsSecretName, version
	return k.RotateSecret(r)
}

func mustRotate(t *testing.T, k *kms.Client, version string) {
	t.Helper()
	resp, err := rotate(k, version)
	if err != nil || resp.VersionId != version || resp.SecretName != kmsSecretName ||
		resp.Arn != "acs:kms:cn-hangzhou:"+mgmtID+":secret/"+kmsSecretName {
		t.Fatalf("RotateSecret %s: %+v %v", version, resp, err)
	}
}

func describe(t *testing.T, k *kms.Client) *kms.DescribeSecretResponse {
	t.Helper()
	r := kms.CreateDescribeSecretRequest()
	r.SecretName = kmsSecretName
	d, err := k.DescribeSecret(r)
	if err != nil {
		t.Fatalf("DescribeSecret: %v", err)
	}
	return d
}

func actions(s *emulator.Server, keyPrefix string) []string {
	var out []string
	for _, e := range s.RequestLog() {
		if strings.HasPrefix(e.AccessKeyID, keyPrefix) {
			out = append(out, e.Action+":"+e.Code)
		}
	}
	return out
}

func TestKMSListDescribeGetSeeded(t *testing.T) {
	s, _, _, k := kmsDemo(t)
	for _, tc := range []struct {
		filters, size, page string
		want                string
		total               int
	}{
		{ramFilter, "", "", "[acs/ram/user/payments-app]", 1},
		{"", "1", "1", "[acs/ram/user/payments-app]", 2},
		{"", "1", "2", "[billing-app/credentials]", 2},
		{"", "1", "3", "[]", 2},
		{`[{"Key":"SecretType","Values":["Generic","RAMCredentials"]}]`, "100", "", "[acs/ram/user/payments-app billing-app/credentials]", 2},
		{`[{"Key":"SecretType","Values":["RAMCredentials"]},{"Key":"SecretName","Values":["billing-app/credentials"]}]`, "", "", "[]", 0},
		{`[{"Key":"TagKey","Values":["x"]}]`, "", "", "[]", 0},
		{`[{"Key":"SecretName","Values":[]}]`, "", "", "[acs/ram/user/payments-app billing-app/credentials]", 2},
	} {
		r := kms.CreateListSecretsRequest()
		r.Filters, r.PageSize, r.PageNumber = tc.filters, requests.Integer(tc.size), requests.Integer(tc.page)
		resp, err := k.ListSecrets(r)
		if err != nil {
			t.Fatalf("ListSecrets %+v: %v", tc, err)
		}
		var names []string
		for _, x := range resp.SecretList.Secret {
			names = append(names, x.SecretName)
			if x.SecretName == kmsSecretName && x.SecretType != "RAMCredentials" || x.CreateTime == "" {
				t.Fatalf("secret %+v", x)
			}
		}
		if got := fmt.Sprint(names); got != tc.want || resp.TotalCount != tc.total {
			t.Fatalf("ListSecrets %+v: %s total %d", tc, got, resp.TotalCount)
		}
	}
	d := describe(t, k)
	if d.SecretType != "RAMCredentials" || d.ExtendedConfig != `{"SecretSubType":"RamUserAccessKey","UserName":"payments-app"}` ||
		d.AutomaticRotation != "Disabled" || d.LastRotationDate != "" {
		t.Fatalf("DescribeSecret %+v", d)
	}
	v, resp, err := secretValue(t, k, "")
	if err != nil || v.AccessKeyID != kmsKey || v.AccessKeySecret != "FakePaymentsKmsSecret000000001" ||
		v.GenerateTimestamp != "2024-03-01T10:00:00Z" || resp.VersionId != "v1" || resp.SecretType != "RAMCredentials" || resp.ExtendedConfig != "" {
		t.Fatalf("GetSecretValue %+v %+v %v", v, resp, err)
	}
	r := kms.CreateGetSecretValueRequest()
	r.SecretName, r.FetchExtendedConfig = kmsSecretName, "true"
	if g, err := k.GetSecretValue(r); err != nil || !strings.Contains(g.ExtendedConfig, `"UserName":"payments-app"`) {
		t.Fatalf("FetchExtendedConfig %+v %v", g, err)
	}
	_, _, err = secretValue(t, k, "ACSPrevious")
	serverErr(t, err, 404, "Forbidden.ResourceNotFound")
	_, _, err = secretValue(t, k, "ACSPending")
	serverErr(t, err, 400, "InvalidParameter")
	noViolations(t, s)
	for _, bad := range []struct{ filters, size string }{
		{`{"Key":"SecretType"}`, ""}, {`[{"Key":"Owner","Values":["x"]}]`, ""}, {"", "0"}, {"", "101"}, {"not json", ""},
	} {
		r := kms.CreateListSecretsRequest()
		r.Filters, r.PageSize = bad.filters, requests.Integer(bad.size)
		_, err := k.ListSecrets(r)
		serverErr(t, err, 400, "InvalidParameter")
	}
}

func TestKMSRotation(t *testing.T) {
	s, org, clk, k := kmsDemo(t)
	old := cred(t, org, kmsKey)
	whoami := func(c emulator.Credential) error {
		_, err := et.STSClient(t, s, et.AK(c)).GetCallerIdentity(sts.CreateGetCallerIdentityRequest())
		return err
	}
	mustRotate(t, k, "run-1")
	// In progress: another VersionId is refused, the same one is accepted and does nothing.
	_, err := rotate(k, "run-2")
	serverErr(t, err, 409, "Rejected.RotationInProgress")
	mustRotate(t, k, "run-1")
	if v, _, _ := secretValue(t, k, ""); v.AccessKeyID != kmsKey {
		t.Fatalf("before the first phase the secret still serves %s, got %s", kmsKey, v.AccessKeyID)
	}
	// Phase 1: a new key, ACSCurrent; the old one ACSPrevious and still signing.
	clk.Add(emulator.DefaultKMSRotationDelay)
	cur, resp, err := secretValue(t, k, "ACSCurrent")
	if err != nil || cur.AccessKeyID == kmsKey || resp.VersionId != "run-1" || len(cur.AccessKeySecret) != 30 {
		t.Fatalf("after phase 1: %+v %+v %v", cur.AccessKeyID, resp, err)
	}
	prev, resp, err := secretValue(t, k, "ACSPrevious")
	if err != nil || prev.AccessKeyID != kmsKey || resp.VersionId != "v1" {
		t.Fatalf("ACSPrevious %+v %+v %v", prev.AccessKeyID, resp, err)
	}
	if err := whoami(org.Admin()); err != nil {
		t.Fatal(err)
	}
	if _, err := et.STSClient(t, s, old).GetCallerIdentity(sts.CreateGetCallerIdentityRequest()); err != nil {
		t.Fatalf("the old key signs until phase 2: %v", err)
	}
	_, err = rotate(k, "run-3")
	serverErr(t, err, 409, "Rejected.RotationInProgress")
	// Phase 2: the old key is deleted the way RAM deletes (recycle bin), the new one signs.
	clk.Add(emulator.DefaultKMSRotationDelay)
	_, err = et.STSClient(t, s, old).GetCallerIdentity(sts.CreateGetCallerIdentityRequest())
	serverErr(t, err, 404, "InvalidAccessKeyId.NotFound")
	if err := whoami(emulator.Credential{AccessKeyID: cur.AccessKeyID, AccessKeySecret: cur.AccessKeySecret}); err != nil {
		t.Fatalf("the new key signs: %v", err)
	}
	if got := listKeys(t, et.RAM(t, s, et.AK(org.Admin())), "payments-app"); len(got) != 1 || !strings.HasPrefix(got[0], cur.AccessKeyID) {
		t.Fatalf("payments-app keys %v", got)
	}
	bin := mustIMS(t, et.Common(t, s, et.AK(org.Admin())), "ListAccessKeysInRecycleBin",
		map[string]string{"UserId": userID(t, et.IMS(t, s, et.AK(org.Admin())), "payments-app@acme.onaliyun.com")})
	if ids := binIDs(bin); fmt.Sprint(ids) != "["+kmsKey+"]" {
		t.Fatalf("recycle bin %v", ids)
	}
	if got := fmt.Sprint(actions(s, "STS.KMS")); got != "[CreateAccessKey: DeleteAccessKey:]" {
		t.Fatalf("KMS's RAM calls in the request log: %s", got)
	}
	d := describe(t, k)
	if d.LastRotationDate != clk.Now().Add(-emulator.DefaultKMSRotationDelay).UTC().Format(time.RFC3339) {
		t.Fatalf("LastRotationDate %s", d.LastRotationDate)
	}
	// Done: the same VersionId again is a success that changes nothing; a new one rotates again.
	mustRotate(t, k, "run-1")
	clk.Add(time.Hour)
	if got := len(actions(s, "STS.KMS")); got != 2 {
		t.Fatalf("an idempotent RotateSecret made RAM calls: %d", got)
	}
	mustRotate(t, k, "run-2")
	// ActionTrail: the RAM calls are KMS's role's.
	at := et.ActionTrail(t, s, et.AK(org.Admin()))
	req := actiontrail.CreateLookupEventsRequest()
	req.LookupAttribute = &[]actiontrail.LookupEventsLookupAttribute{{Key: "EventName", Value: "DeleteAccessKey"}}
	ev, err := at.LookupEvents(req)
	if err != nil || len(ev.Events) != 1 {
		t.Fatalf("LookupEvents %v %v", ev, err)
	}
	id, _ := ev.Events[0]["userIdentity"].(map[string]any)
	if !strings.HasPrefix(fmt.Sprint(id["userName"]), emulator.KMSServiceRole+":") || id["type"] != "assumed-role" ||
		ev.Events[0]["userAgent"] != "kms.aliyuncs.com" {
		t.Fatalf("event %v", ev.Events[0])
	}
	noViolations(t, s)
}

func TestKMSRotationKeyLimit(t *testing.T) {
	s, org, clk, k := kmsDemo(t)
	r := et.RAM(t, s, et.AK(org.Admin()))
	cr := ram.CreateCreateAccessKeyRequest()
	cr.UserName = "payments-app"
	if _, err := r.CreateAccessKey(cr); err != nil {
		t.Fatal(err)
	}
	mustRotate(t, k, "run-1")
	clk.Add(emulator.DefaultKMSRotationDelay)
	// RAM refused the third key: the rotation is over, the secret as it was.
	v, resp, err := secretValue(t, k, "")
	if err != nil || v.AccessKeyID != kmsKey || resp.VersionId != "v1" || describe(t, k).LastRotationDate != "" {
		t.Fatalf("after a failed rotation: %+v %+v %v", v, resp, err)
	}
	if got := fmt.Sprint(actions(s, "STS.KMS")); got != "[CreateAccessKey:LimitExceeded.User.AccessKey]" {
		t.Fatalf("KMS's RAM calls %s", got)
	}
	// Not in progress any more: the same VersionId starts a new attempt.
	mustRotate(t, k, "run-1")
	_, err = rotate(k, "run-9")
	serverErr(t, err, 409, "Rejected.RotationInProgress")
}

func TestKMSRotationHourlyLimit(t *testing.T) {
	s, _, clk, k := kmsDemo(t, emulator.WithKMSRotationDelay(0))
	for i := range emulator.KMSRotationsPerHour {
		mustRotate(t, k, fmt.Sprintf("run-%d", i))
		clk.Add(time.Second)
	}
	_, err := rotate(k, "one-too-many")
	serverErr(t, err, 400, "Rejected.LimitExceeded")
	mustRotate(t, k, fmt.Sprintf("run-%d", emulator.KMSRotationsPerHour-1)) // idempotent: no count
	clk.Add(time.Hour - time.Duration(emulator.KMSRotationsPerHour-1)*time.Second)
	mustRotate(t, k, "next-hour")
	if got := len(actions(s, "STS.KMS")); got != 2*(emulator.KMSRotationsPerHour+1) {
		t.Fatalf("RAM calls %d", got)
	}
}

func TestKMSRotationStalled(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  []emulator.Option
		seed bool
	}{
		{"option", []emulator.Option{emulator.WithKMSRotationStalled()}, false},
		{"seed", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			org := emulator.DemoOrg()
			if tc.seed {
				for i, sec := range org.Accounts[0].Secrets {
					if sec.Name == kmsSecretName {
						org.Accounts[0].Secrets[i].Stall = true
					}
				}
			}
			clk := newClock()
			s := et.Start(t, org, append(tc.opt, emulator.WithClock(clk.Now), emulator.WithoutTimestampCheck())...)
			k := et.KMS(t, s, et.AK(org.Admin()))
			mustRotate(t, k, "run-1")
			clk.Add(24 * time.Hour)
			if v, _, err := secretValue(t, k, ""); err != nil || v.AccessKeyID != kmsKey {
				t.Fatalf("a stalled rotation changed the secret: %+v %v", v, err)
			}
			_, err := rotate(k, "run-2")
			serverErr(t, err, 409, "Rejected.RotationInProgress")
			if got := actions(s, "STS.KMS"); len(got) != 0 {
				t.Fatalf("RAM calls %v", got)
			}
		})
	}
}

func TestKMSPermissionsAndErrors(t *testing.T) {
	org := emulator.DemoOrg()
	for i, u := range org.Accounts[0].Users {
		if u.Name == "auditor" {
			org.Accounts[0].Users[i].Allow = append(u.Allow, "kms:ListSecrets", "kms:DescribeSecret", "kms:GetSecretValue")
		}
	}
	s := et.Start(t, org)
	aud := et.KMS(t, s, cred(t, org, "LTAI5tFAKEAUDITOR0000001"))
	r := kms.CreateListSecretsRequest()
	r.Filters = ramFilter
	if resp, err := aud.ListSecrets(r); err != nil || resp.TotalCount != 1 {
		t.Fatalf("auditor ListSecrets %+v %v", resp, err)
	}
	_, err := rotate(aud, "x")
	if se := serverErr(t, err, 403, "Forbidden.NoPermission"); !strings.Contains(se.Recommend()+se.Message()+fmt.Sprint(se), "kms:RotateSecret") {
		t.Fatalf("AuthAction: %s", se.Recommend()+se.Message()+fmt.Sprint(se))
	}
	ci := et.KMS(t, s, cred(t, org, ciKey))
	_, err = ci.ListSecrets(kms.CreateListSecretsRequest())
	serverErr(t, err, 403, "Forbidden.NoPermission")
	cs := kms.CreateCreateSecretRequest()
	cs.SecretName, cs.SecretType, cs.VersionId, cs.SecretData = "$Auto", "RAMCredentials", "v1", "{}"
	_, err = ci.CreateSecret(cs)
	serverErr(t, err, 403, "Forbidden.NoPermission")

	admin := et.KMS(t, s, et.AK(org.Admin()))
	rs := kms.CreateRotateSecretRequest()
	rs.SecretName, rs.VersionId = "billing-app/credentials", "v9"
	_, err = admin.RotateSecret(rs)
	serverErr(t, err, 400, "Rejected.UnsupportedOperation")
	rs.SecretName = "nope"
	_, err = admin.RotateSecret(rs)
	serverErr(t, err, 404, "Forbidden.ResourceNotFound")
	rs.SecretName, rs.VersionId = kmsSecretName, strings.Repeat("v", 65)
	_, err = admin.RotateSecret(rs)
	serverErr(t, err, 400, "InvalidParameter")
	ps := kms.CreatePutSecretValueRequest()
	ps.SecretName, ps.SecretData, ps.VersionId = kmsSecretName, "x", "v2"
	_, err = admin.PutSecretValue(ps)
	serverErr(t, err, 400, "Rejected.UnsupportedOperation")
}

func TestKMSCreateRAMSecret(t *testing.T) {
	s, org := demo(t)
	k := et.KMS(t, s, et.AK(org.Admin()))
	r := et.RAM(t, s, et.AK(org.Admin()))
	cu := ram.CreateCreateUserRequest()
	cu.UserName, cu.DisplayName = "orders-app", "orders.app"
	if _, err := r.CreateUser(cu); err != nil {
		t.Fatal(err)
	}
	ck := ram.CreateCreateAccessKeyRequest()
	ck.UserName = "orders-app"
	nk, err := r.CreateAccessKey(ck)
	if err != nil {
		t.Fatal(err)
	}
	pair := func(id, secret string) string {
		return `{"AccessKeys":[{"AccessKeyId":"` + id + `","AccessKeySecret":"` + secret + `"}]}`
	}
	good := pair(nk.AccessKey.AccessKeyId, nk.AccessKey.AccessKeySecret)
	ec := func(user string) string { return `{"SecretSubType":"RamUserAccessKey","UserName":"` + user + `"}` }
	create := func(name, ext, data, interval string) (*kms.CreateSecretResponse, error) {
		req := kms.CreateCreateSecretRequest()
		req.SecretName, req.SecretType, req.VersionId, req.ExtendedConfig, req.SecretData = name, "RAMCredentials", "v1", ext, data
		if interval != "" {
			req.EnableAutomaticRotation, req.RotationInterval = "true", interval
		}
		return k.CreateSecret(req)
	}
	for _, bad := range []struct{ name, ext, data, interval string }{
		{"orders", ec("orders-app"), good, ""},                                           // not $Auto
		{"$Auto", `{"SecretSubType":"Other","UserName":"orders-app"}`, good, ""},         // sub-type
		{"$Auto", ec("nobody"), good, ""},                                                // no such user
		{"$Auto", ec("orders-app"), pair(nk.AccessKey.AccessKeyId, "wrong"), ""},         // not the user's pair
		{"$Auto", ec("orders-app"), `{"AccessKeys":[]}`, ""},                             // no pair
		{"$Auto", ec("billing-app"), pair(leaked, "FakeBillingLeakedSecret0000001"), ""}, // one of two pairs
		{"$Auto", ec("orders-app"), good, "1h"},                                          // interval below 6h
	} {
		_, err := create(bad.name, bad.ext, bad.data, bad.interval)
		serverErr(t, err, 400, "InvalidParameter")
	}
	c, err := create("$Auto", ec("orders-app"), good, "7d")
	if err != nil || c.SecretName != "acs/ram/user/orders.app" || c.SecretType != "RAMCredentials" || c.AutomaticRotation != "Enabled" ||
		c.RotationInterval != "604800s" || c.NextRotationDate == "" || c.ExtendedConfig != ec("orders-app") {
		t.Fatalf("CreateSecret %+v %v", c, err)
	}
	_, err = create("$Auto", ec("orders-app"), good, "")
	serverErr(t, err, 409, "Rejected.ResourceExist")
	g := kms.CreateGetSecretValueRequest()
	g.SecretName = c.SecretName
	v, err := k.GetSecretValue(g)
	if err != nil || !strings.Contains(v.SecretData, `"AccessKeyId":"`+nk.AccessKey.AccessKeyId+`"`) || v.AutomaticRotation != "Enabled" {
		t.Fatalf("GetSecretValue %+v %v", v.VersionId, err)
	}
	// The display name has characters a secret name cannot: KMS uses the user name [INF].
	two := `{"AccessKeys":[{"AccessKeyId":"` + leaked + `","AccessKeySecret":"FakeBillingLeakedSecret0000001"},` +
		`{"AccessKeyId":"` + keepKey + `","AccessKeySecret":"FakeBillingKeepSecret000000001"}]}`
	if c, err := create("$Auto", ec("billing-app"), two, ""); err != nil || c.SecretName != "acs/ram/user/billing-app" {
		t.Fatalf("CreateSecret billing-app %+v %v", c, err)
	}
	// The request log never holds SecretData.
	for _, e := range s.RequestLog() {
		if strings.Contains(e.Params["SecretData"], "Secret") {
			t.Fatalf("secret data in the request log")
		}
	}
}

// A policy can grant the KMS actions on the RAM secrets only: the resource is the named secret.
func TestKMSPolicyResource(t *testing.T) {
	org := emulator.DemoOrg()
	org.Accounts[0].Policies = append(org.Accounts[0].Policies, emulator.Policy{Name: "rotate-ram-secrets",
		Document: `{"Version":"1","Statement":[{"Effect":"Allow","Action":["kms:RotateSecret","kms:GetSecretValue"],` +
			`"Resource":["acs:kms:*:*:secret/acs/ram/user/*"]}]}`})
	for i, u := range org.Accounts[0].Users {
		if u.Name == "ci-deploy" {
			org.Accounts[0].Users[i].Policies = append(u.Policies, "rotate-ram-secrets")
		}
	}
	s := et.Start(t, org)
	ci := et.KMS(t, s, cred(t, org, ciKey))
	mustRotate(t, ci, "run-1")
	g := kms.CreateGetSecretValueRequest()
	g.SecretName = "billing-app/credentials"
	_, err := ci.GetSecretValue(g)
	serverErr(t, err, 403, "Forbidden.NoPermission")
	_, err = ci.ListSecrets(kms.CreateListSecretsRequest())
	serverErr(t, err, 403, "Forbidden.NoPermission")
}
