package ram

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/kms"

	"github.com/respond-dev/respond/ram/emulator"
	et "github.com/respond-dev/respond/ram/emulator/emulatortest"
)

const demoRAMSecret = "acs/ram/user/payments-app" // the demo's KMS-managed key (payments-app)

// TestProbe_kmsManaged: the probes of the rotate-via-kms permissions, through the real SDK against
// the emulator (rotations due at once, so that one accepted by mistake would show): as the
// administrator each is granted — ListSecrets by its answer, with the account's count of RAM
// credentials secrets; DescribeSecret, GetSecretValue and RotateSecret by the probe user's secret
// not being found (inferred) — and as ci-deploy each is denied, named by the action the emulator
// checked. Nothing changes: the demo's RAM secret keeps its version and its user its key, no key
// is created or deleted (by respond or by KMS's role), no secret is created.
func TestProbe_kmsManaged(t *testing.T) {
	org := emulator.DemoOrg()
	s, admin, _ := startEmu(t, org, emulator.WithKMSRotationDelay(0))
	cr, _ := org.Key(demoCIDeploy)
	denied, _ := clientFor(t, s, cr, 1)
	ctx := context.Background()
	k := et.KMS(t, s, et.AK(org.Admin()))
	state := func() string {
		t.Helper()
		g := kms.CreateGetSecretValueRequest()
		g.SecretName = demoRAMSecret
		v, err := k.GetSecretValue(g)
		if err != nil {
			t.Fatal(err)
		}
		d := kms.CreateDescribeSecretRequest()
		d.SecretName = demoRAMSecret
		ds, err := k.DescribeSecret(d)
		if err != nil {
			t.Fatal(err)
		}
		keys, err := admin.ListAccessKeys(ctx, "payments-app")
		if err != nil {
			t.Fatal(err)
		}
		l := kms.CreateListSecretsRequest()
		l.PageSize = "100"
		ls, err := k.ListSecrets(l)
		if err != nil {
			t.Fatal(err)
		}
		return v.VersionId + " " + ds.LastRotationDate + " " + strings.Join(v.VersionStages.VersionStage, ",") + " " +
			keys[0].ID.String() + " " + strconv.Itoa(len(keys)) + " secrets " + strconv.Itoa(ls.TotalCount)
	}
	pt := probeTarget(t)
	pt.SecretName = pt.RAMSecretName() // DescribeSecret's name, as respond doctor sets it
	before := state()
	start := len(s.RequestLog())

	list := admin.Probe(ctx, ProbeListSecrets, pt)
	if list.Grant != GrantGranted || list.Inferred || list.Code != "" || list.Total == nil || *list.Total != 1 {
		t.Errorf("ListSecrets as admin: %+v", list)
	}
	if !strings.Contains(list.Call, `"RAMCredentials"`) || !strings.Contains(list.Call, "PageSize=1") {
		t.Errorf("ListSecrets call %s", list.Call)
	}
	if d := denied.Probe(ctx, ProbeListSecrets, pt); d.Grant != GrantDenied || d.Missing() != "kms:ListSecrets" || d.Total != nil {
		t.Errorf("ListSecrets as ci-deploy: %+v", d)
	}
	for _, kind := range []ProbeKind{ProbeDescribeSecret, ProbeGetSecretValue, ProbeRotateSecret} {
		g := admin.Probe(ctx, kind, pt)
		if g.Grant != GrantGranted || !g.Inferred || g.Code != "Forbidden.ResourceNotFound" {
			t.Errorf("%s as admin: %+v", kind, g)
		}
		if !strings.Contains(g.Call, "SecretName=acs/ram/user/"+pt.UserName) {
			t.Errorf("%s call %s", kind, g.Call)
		}
		perm := "kms:" + strings.TrimPrefix(string(kind), "Kms.")
		if d := denied.Probe(ctx, kind, pt); d.Grant != GrantDenied || d.Missing() != perm || d.Inferred {
			t.Errorf("%s as ci-deploy: %+v, want denied %s", kind, d, perm)
		}
	}
	_ = state() // a rotation started by mistake would run its two phases at these requests
	if after := state(); after != before {
		t.Errorf("the probes changed KMS or the user:\nbefore %s\nafter  %s", before, after)
	}
	rotations := 0
	for _, r := range s.RequestLog()[start:] {
		switch r.Action {
		case "CreateAccessKey", "DeleteAccessKey", "CreateSecret", "PutSecretValue":
			t.Errorf("%s was called (by %s): %v", r.Action, r.AccessKeyID, r.Params)
		case "RotateSecret":
			rotations++
			if r.Code == "" || r.Params["SecretName"] != "acs/ram/user/"+pt.UserName {
				t.Errorf("RotateSecret %v answered %q", r.Params, r.Code)
			}
		}
	}
	if rotations != 2 {
		t.Errorf("%d RotateSecret calls, want the two probes", rotations)
	}
}

// TestProbe_rotateSecretNeverNamesARealSecret: RotateSecret and GetSecretValue are probed only on
// the probe user's secret: a target's SecretName (a sink's secret, a real RAM secret) is never
// what they name, and without a probe user no call is made.
func TestProbe_rotateSecretNeverNamesARealSecret(t *testing.T) {
	s, admin, _ := startEmu(t, emulator.DemoOrg(), emulator.WithKMSRotationDelay(0))
	ctx := context.Background()
	n := len(s.RequestLog())
	for _, pt := range []ProbeTarget{{SecretName: demoRAMSecret}, {UserName: "payments-app", SecretName: demoRAMSecret}} {
		for _, kind := range []ProbeKind{ProbeRotateSecret, ProbeGetSecretValue} {
			if r := admin.Probe(ctx, kind, pt); r.Grant != GrantError || r.Detail == "" {
				t.Errorf("%s on %+v: %+v", kind, pt, r)
			}
		}
	}
	if got := len(s.RequestLog()); got != n {
		t.Errorf("%d calls made without a probe user", got-n)
	}
	pt := probeTarget(t)
	pt.SecretName = demoRAMSecret
	r := admin.Probe(ctx, ProbeRotateSecret, pt)
	if strings.Contains(r.Call, "payments-app") || r.Code != "Forbidden.ResourceNotFound" {
		t.Errorf("RotateSecret with a real SecretName in the target: %+v", r)
	}
}
