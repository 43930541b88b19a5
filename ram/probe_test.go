package ram

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/kms"

	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/ram/emulator"
	et "github.com/respond-dev/respond/ram/emulator/emulatortest"
)

const (
	demoCIDeploy = "LTAI5tFAKECIDEPLOY000001" // ci-deploy: no RAM, IMS, KMS, ActionTrail or SAS permission
	demoSecret   = "billing-app/credentials"
)

// probeTarget is a fresh target with the KMS names of the demo organisation.
func probeTarget(t *testing.T) ProbeTarget {
	t.Helper()
	pt, err := NewProbeTarget()
	if err != nil {
		t.Fatal(err)
	}
	pt.SecretName = "respond/doctor/" + pt.UserName
	pt.AccountID = "1000000000000001" // the demo organisation's management account
	return pt
}

// orgState is everything a probe could change in the demo organisation, read through the
// client (the administrator, who sees everything): users, their keys and recycle bins, the
// KMS secret's current version, the Security Center records' states.
func orgState(t *testing.T, s *emulator.Server, org *emulator.Org, c *Client, created ...string) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	err := c.ListUsers(ctx, func(u User) error {
		keys, err := c.ListAccessKeys(ctx, u.UserName)
		if err != nil {
			return err
		}
		bin, err := c.ListAccessKeysInRecycleBin(ctx, u.UserID)
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "user %s %s keys %v bin %d\n", u.UserName, u.UserID, keys, len(bin))
		pols, err := c.ListPoliciesFor(ctx, EntityUser, u.UserName)
		if err != nil {
			return err
		}
		groups, err := c.ListGroupsForUser(ctx, u.UserName)
		if err != nil {
			return err
		}
		_, lerr := c.GetLoginProfile(ctx, u.UserName)
		fmt.Fprintf(&b, "  policies %v groups %v login profile %v\n", pols, groups, lerr == nil)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	k := et.KMS(t, s, et.AK(org.Admin()))
	get := kms.CreateGetSecretValueRequest()
	get.SecretName = demoSecret
	v, err := k.GetSecretValue(get)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "secret %s version %s\n", demoSecret, v.VersionId)
	for _, name := range created {
		d := kms.CreateDescribeSecretRequest()
		d.SecretName = name
		_, err := k.DescribeSecret(d)
		fmt.Fprintf(&b, "secret %s: %v\n", name, err == nil)
	}
	err = c.ListLeaks(ctx, LeakQuery{}, func(l Leak) error {
		fmt.Fprintf(&b, "leak %d %s %s\n", l.ID, l.Status, l.DealType)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// The policy probes need actions another change adds to the emulator: until then they answer
// InvalidApi.NotFound, classified GrantNotProbed.
var policyProbes = []ProbeKind{ProbeAttachPolicyToUser, ProbeDetachPolicyFromUser}

// TestProbe_emulator makes every probe as the administrator (each permission granted) and as
// ci-deploy (none granted): each is classified right, changes nothing, and every write probe's
// answer is a refusal.
func TestProbe_emulator(t *testing.T) {
	org := emulator.DemoOrg()
	s, admin, _ := startEmu(t, org)
	cr, ok := org.Key(demoCIDeploy)
	if !ok {
		t.Fatal("no ci-deploy key in the demo org")
	}
	denied, _ := clientFor(t, s, cr, 1)
	ctx := context.Background()
	var secrets []string
	targets := map[ProbeKind]ProbeTarget{}
	for _, info := range ProbeCatalog() {
		targets[info.Kind] = probeTarget(t)
		secrets = append(secrets, targets[info.Kind].SecretName)
	}
	before := orgState(t, s, org, admin, secrets...)
	start := len(s.RequestLog())
	for _, info := range ProbeCatalog() {
		t.Run(string(info.Kind), func(t *testing.T) {
			pt := targets[info.Kind]
			g := admin.Probe(ctx, info.Kind, pt)
			d := denied.Probe(ctx, info.Kind, pt)
			if info.Unprobed != "" {
				if g.Grant != GrantNotProbed || d.Grant != GrantNotProbed || g.Detail != info.Unprobed || g.Code != "" {
					t.Errorf("a permission without a harmless probe: %+v / %+v", g, d)
				}
				return
			}
			if slices.Contains(policyProbes, info.Kind) && g.Grant == GrantNotProbed {
				if d.Grant != GrantNotProbed || g.Code != "InvalidApi.NotFound" {
					t.Errorf("policy probe on an emulator without it: %+v / %+v", g, d)
				}
				t.Logf("%s: the emulator does not know the action yet: not probed", info.Kind)
				return
			}
			if g.Grant != GrantGranted {
				t.Errorf("as admin: %+v, want granted", g)
			}
			if d.Grant != GrantDenied {
				t.Errorf("as ci-deploy: %+v, want denied", d)
			}
			if d.Missing() == "" || !strings.HasSuffix(d.Missing(), ":"+strings.SplitN(string(info.Kind), ".", 2)[1]) {
				t.Errorf("as ci-deploy: missing %q, want the action the emulator checked", d.Missing())
			}
			if info.Write && g.Code == "" && info.Kind != ProbeLeakDeal {
				t.Errorf("write probe %s succeeded: %+v", info.Kind, g)
			}
			if info.Write && !strings.Contains(g.Call, pt.UserName) && !strings.Contains(g.Call, pt.KeyID.String()) &&
				!strings.Contains(g.Call, fmt.Sprint(pt.LeakID)) && !strings.Contains(g.Call, pt.KMSKeyID) {
				t.Errorf("write probe %s names none of the target's random names", g.Call)
			}
		})
	}
	if after := orgState(t, s, org, admin, secrets...); after != before {
		t.Errorf("the probes changed the organisation:\nbefore\n%s\nafter\n%s", before, after)
	}
	writes := map[string]bool{}
	for _, info := range ProbeCatalog() {
		if info.Write {
			writes[strings.SplitN(string(info.Kind), ".", 2)[1]] = true
		}
	}
	for _, r := range s.RequestLog()[start:] {
		if r.Action == "CreatePolicy" {
			t.Errorf("ram:CreatePolicy was called: %v", r.Params)
		}
		for _, name := range []string{"UserName", "RoleName", "GroupName", "PolicyName"} {
			if v, ok := r.Params[name]; ok && writes[r.Action] && !strings.HasPrefix(v, "respond-doctor-") {
				t.Errorf("%s names %s %q", r.Action, name, v)
			}
		}
		if writes[r.Action] && r.Code == "" && r.Action != "ModifyAccessKeyLeakDeal" {
			t.Errorf("a write probe succeeded: %s %v", r.Action, r.Params)
		}
		if r.Action == "CreateAccessKey" || r.Action == "DeleteAccessKey" {
			if !strings.HasPrefix(r.Params["UserName"], "respond-doctor-") {
				t.Errorf("%s on user %q", r.Action, r.Params["UserName"])
			}
		}
	}
}

// TestProbe_existingTargets: the KMS probes on the secret that exists and DescribeSecret say
// whether it exists (Code "" or not-found), both granted.
func TestProbe_describeSecret(t *testing.T) {
	_, admin, _ := startEmu(t, emulator.DemoOrg())
	pt := probeTarget(t)
	ctx := context.Background()
	missing := admin.Probe(ctx, ProbeDescribeSecret, pt)
	pt.SecretName = demoSecret
	present := admin.Probe(ctx, ProbeDescribeSecret, pt)
	if missing.Grant != GrantGranted || missing.Code != "Forbidden.ResourceNotFound" || !missing.Inferred {
		t.Errorf("describe a missing secret: %+v", missing)
	}
	if present.Grant != GrantGranted || present.Code != "" || present.Inferred || present.RequestID == "" {
		t.Errorf("describe the demo secret: %+v", present)
	}
}

// TestProbe_createSecret: kms:CreateSecret is probed on a secret that does not exist (the case
// where create: true matters), and the probe creates nothing: as the administrator the made-up
// KMS key is not found (granted, inferred), as ci-deploy the call is refused (denied). The same
// call without EncryptionKeyId does create the secret: the made-up key is what keeps it harmless.
func TestProbe_createSecret(t *testing.T) {
	org := emulator.DemoOrg()
	s, admin, _ := startEmu(t, org)
	cr, _ := org.Key(demoCIDeploy)
	denied, _ := clientFor(t, s, cr, 1)
	ctx := context.Background()
	pt := probeTarget(t)
	k := et.KMS(t, s, et.AK(org.Admin()))
	exists := func() bool {
		d := kms.CreateDescribeSecretRequest()
		d.SecretName = pt.SecretName
		_, err := k.DescribeSecret(d)
		return err == nil
	}
	g := admin.Probe(ctx, ProbeCreateSecret, pt)
	d := denied.Probe(ctx, ProbeCreateSecret, pt)
	if g.Grant != GrantGranted || !g.Inferred || g.Code != "Forbidden.ResourceNotFound" {
		t.Errorf("as admin: %+v", g)
	}
	if d.Grant != GrantDenied || d.Missing() != "kms:CreateSecret" {
		t.Errorf("as ci-deploy: %+v", d)
	}
	if !strings.Contains(g.Call, "EncryptionKeyId="+pt.KMSKeyID) || strings.Contains(g.Call, "SecretData") {
		t.Errorf("call %s", g.Call)
	}
	if exists() {
		t.Fatal("the probe created the secret")
	}
	cs := kms.CreateCreateSecretRequest()
	cs.SecretName, cs.SecretData, cs.VersionId = pt.SecretName, "x", "v1"
	if _, err := k.CreateSecret(cs); err != nil || !exists() {
		t.Errorf("the same call without the made-up key: %v, created %v", err, exists())
	}
}

// TestProbe_neverWithoutTarget: a probe without its target is not made (an empty UserName is the
// caller itself: CreateAccessKey would create a key for respond).
func TestProbe_neverWithoutTarget(t *testing.T) {
	s, admin, _ := startEmu(t, emulator.DemoOrg())
	n := len(s.RequestLog())
	for _, k := range []ProbeKind{ProbeCreateAccessKey, ProbeDeleteAccessKey, ProbeDeleteAccessKeyInRecycleBin,
		ProbePutSecretValue, ProbeCreateSecret, ProbeAttachPolicyToUser, ProbeLeakDeal, ProbeDeletePolicy, ProbeAttachPolicyToRole,
		ProbeDetachPolicyFromRole, ProbeDetachPolicyFromGroup, ProbeDeleteLoginProfile, ProbeRemoveUserFromGroup, ProbeSetAccessKeyPolicy} {
		r := admin.Probe(context.Background(), k, ProbeTarget{})
		if r.Grant != GrantError || r.Detail == "" {
			t.Errorf("%s without a target: %+v", k, r)
		}
	}
	if got := len(s.RequestLog()); got != n {
		t.Errorf("%d calls made without a target", got-n)
	}
}

// TestProbe_classify: every kind of answer, from a stub that answers what the test says (the
// SDK does not check who answers).
func TestProbe_classify(t *testing.T) {
	denied := `{"RequestId":"R1","Code":"NoPermission","Message":"You are not authorized to do this action.",` +
		`"AccessDeniedDetail":{"AuthAction":"ram:DeleteAccessKey","NoPermissionType":"ImplicitDeny"}}`
	tests := []struct {
		name     string
		kind     ProbeKind
		status   int
		body     string
		grant    Grant
		inferred bool
		auth     string
	}{
		{"write refused for permission", ProbeDeleteAccessKey, 403, denied, GrantDenied, false, "ram:DeleteAccessKey"},
		{"write refused for the user", ProbeDeleteAccessKey, 404, `{"RequestId":"R2","Code":"EntityNotExist.User","Message":"The user does not exist."}`, GrantGranted, true, ""},
		{"write refused for the key", ProbeDeleteAccessKeyInRecycleBin, 404, `{"RequestId":"R2","Code":"EntityNotExist.User.AccessKey","Message":"x"}`, GrantGranted, true, ""},
		{"kms not found", ProbePutSecretValue, 404, `{"RequestId":"r","Code":"Forbidden.ResourceNotFound","Message":"x"}`, GrantGranted, true, ""},
		{"kms refused", ProbePutSecretValue, 403, `{"RequestId":"r","Code":"Forbidden.NoPermission","Message":"x"}`, GrantDenied, false, ""},
		{"create secret: no such key", ProbeCreateSecret, 404, `{"RequestId":"r","Code":"Forbidden.ResourceNotFound","Message":"x"}`, GrantGranted, true, ""},
		{"create secret: no such key (KMS key spelling)", ProbeCreateSecret, 404, `{"RequestId":"r","Code":"Forbidden.KeyNotFound","Message":"x"}`, GrantGranted, true, ""},
		{"create secret refused", ProbeCreateSecret, 403, `{"RequestId":"r","Code":"Forbidden.NoPermission","Message":"x","AccessDeniedDetail":{"AuthAction":"kms:CreateSecret"}}`, GrantDenied, false, "kms:CreateSecret"},
		{"create secret refused for the made-up key", ProbeCreateSecret, 403, `{"RequestId":"r","Code":"Forbidden.NoPermission","Message":"x","AccessDeniedDetail":{"AuthAction":"kms:GenerateDataKey"}}`, GrantUnknown, false, "kms:GenerateDataKey"},
		{"create secret: exists says nothing", ProbeCreateSecret, 409, `{"RequestId":"r","Code":"Rejected.ResourceExist","Message":"x"}`, GrantUnknown, false, ""},
		{"create secret that succeeded", ProbeCreateSecret, 200, `{"RequestId":"r","SecretName":"x"}`, GrantUnknown, false, ""},
		{"exists means nothing elsewhere", ProbePutSecretValue, 409, `{"RequestId":"r","Code":"Rejected.ResourceExist","Message":"x"}`, GrantUnknown, false, ""},
		{"a parameter refused", ProbeCreateAccessKey, 400, `{"RequestId":"R3","Code":"InvalidParameter.UserName.InvalidChars","Message":"x"}`, GrantUnknown, false, ""},
		{"a write that succeeded", ProbeCreateAccessKey, 200, `{"RequestId":"R4","AccessKey":{"AccessKeyId":"LTAI5tXXXXXXXXXXXXXXXXXX","AccessKeySecret":"S"}}`, GrantUnknown, false, ""},
		{"a read that succeeded", ProbeListUsers, 200, `{"RequestId":"R5","Users":{"User":[]}}`, GrantGranted, false, ""},
		{"a member account", ProbeListAccounts, 403, `{"RequestId":"R6","Code":"MemberAccountAccessDenied","Message":"x"}`, GrantDenied, false, ""},
		{"unknown action", ProbeAttachPolicyToUser, 404, `{"RequestId":"R7","Code":"InvalidApi.NotFound","Message":"x"}`, GrantNotProbed, false, ""},
		{"unknown action (spec spelling)", ProbeDetachPolicyFromUser, 404, `{"RequestId":"R7","Code":"InvalidAction.NotFound","Message":"x"}`, GrantNotProbed, false, ""},
		{"our credentials", ProbeListUsers, 404, `{"RequestId":"R8","Code":"InvalidAccessKeyId.NotFound","Message":"x"}`, GrantError, false, ""},
		{"flagged", ProbeListUsers, 403, `{"RequestId":"R9","Code":"Forbidden","Message":"There is a risk of leakage of this AccessKey."}`, GrantError, false, ""},
		{"server error", ProbeDeleteAccessKey, 500, `{"RequestId":"R10","Code":"InternalError","Message":"x"}`, GrantError, false, ""},
		{"rotate: no such secret", ProbeRotateSecret, 404, `{"RequestId":"r","Code":"Forbidden.ResourceNotFound","Message":"x"}`, GrantGranted, true, ""},
		{"rotate refused", ProbeRotateSecret, 403, `{"RequestId":"r","Code":"Forbidden.NoPermission","Message":"x","AccessDeniedDetail":{"AuthAction":"kms:RotateSecret"}}`, GrantDenied, false, "kms:RotateSecret"},
		{"rotate: in progress says nothing", ProbeRotateSecret, 409, `{"RequestId":"r","Code":"Rejected.RotationInProgress","Message":"x"}`, GrantUnknown, false, ""},
		{"rotate: a generic secret says nothing", ProbeRotateSecret, 400, `{"RequestId":"r","Code":"Rejected.UnsupportedOperation","Message":"x"}`, GrantUnknown, false, ""},
		{"rotate that succeeded", ProbeRotateSecret, 200, `{"RequestId":"r","SecretName":"x","VersionId":"v"}`, GrantUnknown, false, ""},
		{"get secret value: no such secret", ProbeGetSecretValue, 404, `{"RequestId":"r","Code":"Forbidden.ResourceNotFound","Message":"x"}`, GrantGranted, true, ""},
		{"list secrets refused", ProbeListSecrets, 403, `{"RequestId":"r","Code":"Forbidden.NoPermission","Message":"x"}`, GrantDenied, false, ""},
		{"list secrets", ProbeListSecrets, 200, `{"RequestId":"r","TotalCount":3,"SecretList":{"Secret":[{"SecretName":"acs/ram/user/a"}]}}`, GrantGranted, false, ""},
		{"role deny: no such role", ProbeAttachPolicyToRole, 404, `{"RequestId":"r","Code":"EntityNotExist.Role","Message":"The role does not exist."}`, GrantGranted, true, ""},
		{"detach from a group: no such policy", ProbeDetachPolicyFromGroup, 404, `{"RequestId":"r","Code":"EntityNotExist.Policy","Message":"x"}`, GrantGranted, true, ""},
		{"delete login profile refused", ProbeDeleteLoginProfile, 403, `{"RequestId":"r","Code":"NoPermission","Message":"x","AccessDeniedDetail":{"AuthAction":"ram:DeleteLoginProfile"}}`, GrantDenied, false, "ram:DeleteLoginProfile"},
		{"remove from group: no such group", ProbeRemoveUserFromGroup, 404, `{"RequestId":"r","Code":"EntityNotExist.Group","Message":"x"}`, GrantGranted, true, ""},
		{"network policy: a parameter refused", ProbeSetAccessKeyPolicy, 400, `{"RequestId":"r","Code":"InvalidParameter.UserPrincipalName","Message":"x"}`, GrantUnknown, false, ""},
		{"network policy that succeeded", ProbeSetAccessKeyPolicy, 200, `{"RequestId":"r"}`, GrantUnknown, false, ""},
		{"hunt read: no such role", ProbeGetRole, 404, `{"RequestId":"r","Code":"EntityNotExist.Role","Message":"x"}`, GrantGranted, true, ""},
		{"leak deal accepted", ProbeLeakDeal, 200, `{"RequestId":"R11"}`, GrantGranted, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			c, err := New(context.Background(), Config{Endpoint: srv.Listener.Addr().String(),
				Credentials: StaticCredentials(testKeyID, accesskey.NewSecret(testSecret)),
				Retry:       RetryPolicy{MaxAttempts: 1}})
			if err != nil {
				t.Fatal(err)
			}
			pt := probeTarget(t)
			r := c.Probe(context.Background(), tt.kind, pt)
			if r.Grant != tt.grant || r.Inferred != tt.inferred || r.AuthAction != tt.auth {
				t.Errorf("got %+v, want %s inferred=%v auth=%q", r, tt.grant, tt.inferred, tt.auth)
			}
			if strings.Contains(fmt.Sprintf("%+v", r), `"S"`) || r.RequestID == "" {
				t.Errorf("result %+v", r)
			}
			if wantTotal := tt.kind == ProbeListSecrets && tt.status == 200; (r.Total != nil) != wantTotal || wantTotal && *r.Total != 3 {
				t.Errorf("total %v", r.Total)
			}
		})
	}
}

var uuidRe = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestNewProbeTarget(t *testing.T) {
	a, b := probeTarget(t), probeTarget(t)
	if a.UserName == b.UserName || a.KeyID == b.KeyID || a.UserID == b.UserID || a.LeakID == b.LeakID || a.KMSKeyID == b.KMSKeyID {
		t.Errorf("two targets share a name: %+v %+v", a, b)
	}
	if !strings.HasPrefix(a.UserName, "respond-doctor-") || len(a.UserName) != len("respond-doctor-")+16 ||
		!strings.HasPrefix(a.KeyID.String(), "LTAIDOCTOR") || len(a.UserID) != 18 || a.LeakID < 1<<53 ||
		!uuidRe.MatchString(a.KMSKeyID) {
		t.Errorf("target %+v", a)
	}
	if reflect.DeepEqual(a, ProbeTarget{}) {
		t.Error("empty target")
	}
}
