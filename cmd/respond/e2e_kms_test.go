package main

import (
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/kms"

	"github.com/respond-dev/respond/ram/emulator"
)

// The demo organisation's payments-app: its key is owned by a KMS RAM credentials secret.
const (
	kmsUser   = "payments-app"
	kmsLeak   = "LTAI5tFAKEPAYMENTSKMS001"
	kmsSecret = "acs/ram/user/payments-app"
)

// kmsCurrent reads the secret's ACSCurrent AccessKeyId through the SDK's typed kms client.
func (e *e2e) kmsCurrent() string {
	e.t.Helper()
	return kmsCurrentAt(e.t, e.s.Endpoint(), e.admin.AccessKeyID, e.admin.AccessKeySecret)
}

func kmsCurrentAt(t testing.TB, endpoint, id, secret string) string {
	t.Helper()
	c, err := kms.NewClientWithAccessKey("cn-hangzhou", id, secret)
	if err != nil {
		t.Fatal(err)
	}
	req := kms.CreateGetSecretValueRequest()
	req.SecretName = kmsSecret
	req.SetDomain(strings.TrimPrefix(endpoint, "http://"))
	req.SetScheme("HTTP")
	resp, err := c.GetSecretValue(req)
	if err != nil {
		t.Fatalf("SDK GetSecretValue: %v", err)
	}
	i := strings.Index(resp.SecretData, `"AccessKeyId":"`)
	if i < 0 {
		t.Fatal("SDK GetSecretValue: no AccessKeyId in SecretData")
	}
	rest := resp.SecretData[i+len(`"AccessKeyId":"`):]
	return rest[:strings.IndexByte(rest, '"')]
}

// callsBy counts the successful calls of action signed by a key starting with prefix.
func (e *e2e) callsBy(action, prefix string) int {
	n := 0
	for _, r := range e.s.RequestLog() {
		if r.Action == action && r.Code == "" && strings.HasPrefix(r.AccessKeyID, prefix) {
			n++
		}
	}
	return n
}

// checkKMSRotatedByKMS checks the end state of a rotation through KMS: the secret's ACSCurrent
// holds a new key the user has, the leaked key is deleted and purged, KMS (its role) created the
// key and respond none, nothing was written to a sink.
func (e *e2e) checkKMSRotatedByKMS(newKey string) {
	e.t.Helper()
	cur := e.kmsCurrent()
	keys := e.keyIDs(kmsUser)
	if cur == kmsLeak || len(keys) != 1 || keys[0] != cur || (newKey != "" && newKey != cur) {
		e.t.Fatalf("ACSCurrent %s, keys of %s %v, result's new key %s", cur, kmsUser, keys, newKey)
	}
	e.notInBin(kmsLeak)
	if n := e.callsBy("CreateAccessKey", e.admin.AccessKeyID); n != 0 {
		e.t.Errorf("respond created %d keys; KMS creates the replacement", n)
	}
	if n := e.callsBy("CreateAccessKey", "STS.KMS"); n != 1 {
		e.t.Errorf("KMS's role created %d keys, want 1", n)
	}
	for _, a := range []string{"PutSecretValue", "CreateSecret"} {
		if n := e.count(a); n != 0 {
			e.t.Errorf("%d %s calls: KMS is the sink, respond writes none", n, a)
		}
	}
}

// A leaked key that KMS manages, in the sandbox: the plan rotates through KMS; the run asks KMS
// once, waits for it, purges the leaked key, verifies the new one.
func TestE2EKMSRotation(t *testing.T) {
	t.Parallel()
	limit(t)
	e := newE2E(t, emulator.DemoOrg(), emulator.WithKMSRotationDelay(300*time.Millisecond))
	r := e.run("", "--key-id", kmsLeak, "--dry-run")
	wantCode(t, r, 0)
	mustContain(t, "dry run", r.Stdout, "decision:   rotate-via-kms",
		"kms:RotateSecret(SecretName="+kmsSecret+", VersionId=respond-<run id>)",
		"none: KMS is the sink", "KMS: secret "+kmsSecret+" manages this key (the secret's ACSCurrent version holds the leaked key)",
		"refreshes every 6 hours", "restart them")
	if strings.Contains(r.Stdout, "ram:CreateAccessKey") {
		t.Errorf("the plan creates a key:\n%s", r.Stdout)
	}
	e.noMutation()

	start, before := time.Now(), len(e.s.RequestLog())
	r = e.run("", "--key-id", kmsLeak, "--yes", "--output", "json")
	took := time.Since(start)
	byAction := map[string]int{}
	for _, q := range e.s.RequestLog()[before:] {
		if q.AccessKeyID == e.admin.AccessKeyID {
			byAction[q.Action]++
		}
	}
	wantCode(t, r, 0)
	rep := decodeReport(t, r)
	res := rep.Results[0].Result
	if res == nil || res.Decision != "rotate-via-kms" || res.Outcome != "remediated" {
		t.Fatalf("result %+v\n%s", res, r)
	}
	if n := e.count("RotateSecret"); n != 1 {
		t.Errorf("RotateSecret called %d times, want once", n)
	}
	if n := e.callsBy("DeleteAccessKey", e.admin.AccessKeyID); n != 0 {
		t.Errorf("respond deleted %d keys itself; KMS deletes the leaked key", n)
	}
	if n := e.callsBy("DeleteAccessKeyInRecycleBin", e.admin.AccessKeyID); n != 1 {
		t.Errorf("respond purged %d times, want 1", n)
	}
	e.checkKMSRotatedByKMS(res.NewKeyID)
	for _, s := range res.Steps {
		if s.Step == "verify" && !strings.Contains(s.Detail, "new key authenticates") {
			t.Errorf("verify did not check KMS's new key: %s", s.Detail)
		}
	}
	t.Logf("KMS rotation in the sandbox (rotation delay 300ms per phase): %s wall; respond's calls %v", took, byAction)
	// A re-run changes nothing.
	wantCode(t, e.run("", "--key-id", kmsLeak, "--yes"), 0)
	if e.count("RotateSecret") != 1 || e.callsBy("CreateAccessKey", "STS.KMS") != 1 {
		t.Error("a re-run rotated again")
	}
}

// respond killed while it waits for KMS: the same command again converges.
func TestE2EKMSCrashInTheWait(t *testing.T) {
	t.Parallel()
	limit(t)
	e := newE2E(t, emulator.DemoOrg(), emulator.WithKMSRotationDelay(2*time.Second))
	args := []string{"--key-id", kmsLeak, "--yes"}
	st := e.start(args...)
	deadline := time.Now().Add(60 * time.Second)
	for {
		rotated, looked := false, 0
		for _, q := range e.s.RequestLog() {
			if q.Action == "RotateSecret" {
				rotated = true
			} else if rotated && q.Action == "GetSecretValue" {
				looked++
			}
		}
		if looked >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("respond never reached the wait")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := st.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if r := e.wait(st); r.Code != -int(syscall.SIGKILL) {
		t.Fatalf("respond was not killed: %s", r)
	}
	r := e.run("", args...)
	wantCode(t, r, 0)
	e.checkKMSRotatedByKMS("")
	if n := e.callsBy("DeleteAccessKey", e.admin.AccessKeyID); n != 0 {
		t.Errorf("respond deleted %d keys itself", n)
	}
	t.Logf("RotateSecret requests: %d (one rotation)", e.count("RotateSecret"))
}

// KMS stalls: after kms-wait respond deletes the leaked key itself, says that KMS serves a dead
// key, and exits 4.
func TestE2EKMSStallFallback(t *testing.T) {
	t.Parallel()
	limit(t)
	e := newE2E(t, emulator.DemoOrg(), emulator.WithKMSRotationStalled())
	e.writeFile("playbooks/kms-fast.yaml", `name: kms-fast
steps: [locate, assess, create, store, {delete: {kms-wait: 2s}}, verify, notify]
`)
	cfg := e.writeFile("config.yaml", "playbooks:\n  - path: playbooks/kms-fast.yaml\n")
	r := e.run("", "--key-id", kmsLeak, "--yes", "--config", cfg, "--playbook", "kms-fast", "--output", "json")
	wantCode(t, r, 4)
	rep := decodeReport(t, r)
	res := rep.Results[0].Result
	if res == nil || res.Outcome != "partial" {
		t.Fatalf("result %+v", res)
	}
	mustContain(t, "error", res.Error, "KMS did not replace and delete the leaked key within 2s (kms-wait)",
		"respond deleted the leaked key itself", "serves a dead key until its rotation completes")
	if keys := e.keyIDs(kmsUser); len(keys) != 0 {
		t.Errorf("keys of %s: %v, want none (the leaked key deleted, KMS created none)", kmsUser, keys)
	}
	e.notInBin(kmsLeak)
	if n := e.callsBy("DeleteAccessKey", e.admin.AccessKeyID); n != 1 {
		t.Errorf("respond deleted %d keys, want the leaked one", n)
	}
	if n := e.count("CreateAccessKey"); n != 0 {
		t.Errorf("%d keys created", n)
	}
	if n := e.count("RotateSecret"); n != 1 {
		t.Errorf("RotateSecret called %d times", n)
	}
	if cur := e.kmsCurrent(); cur != kmsLeak {
		t.Errorf("ACSCurrent %s: a stalled KMS still serves the (now dead) leaked key", cur)
	}
}

// The same against `respond sandbox serve` (its default KMS rotation delay, 2 s a phase): checked
// through the SDK and the sandbox's ActionTrail: respond's key made exactly the KMS request and
// the purge, no key write of its own.
func TestE2EKMSSandboxServe(t *testing.T) {
	t.Parallel()
	limit(t)
	e := newE2E(t, orgFromFile(t, "small.yaml")) // for the home and state directories only
	_, vars := serveSandbox(t, e)
	c := cloud{t: t, endpoint: vars["RESPOND_ENDPOINT"],
		cred: credentials.NewStaticAKCredentialsProvider(vars["ALIBABA_CLOUD_ACCESS_KEY_ID"], vars["ALIBABA_CLOUD_ACCESS_KEY_SECRET"])}
	start := time.Now().Add(-time.Second)
	began := time.Now()
	r := e.runRaw("", "--key-id", kmsLeak, "--yes", "--output", "json", "--state-dir", e.state, "--endpoint", vars["RESPOND_ENDPOINT"])
	took := time.Since(began)
	wantCode(t, r, 0)
	res := decodeReport(t, r).Results[0].Result
	if res == nil || res.Decision != "rotate-via-kms" || res.Outcome != "remediated" {
		t.Fatalf("result %+v", res)
	}
	cur := kmsCurrentAt(t, vars["RESPOND_ENDPOINT"], vars["ALIBABA_CLOUD_ACCESS_KEY_ID"], vars["ALIBABA_CLOUD_ACCESS_KEY_SECRET"])
	if cur == kmsLeak || cur != res.NewKeyID {
		t.Fatalf("ACSCurrent %s, result's new key %s", cur, res.NewKeyID)
	}
	var lk struct {
		AccessKeys struct {
			AccessKey []struct{ AccessKeyId string }
		}
	}
	if err := c.ramCall("ListAccessKeys", map[string]string{"UserName": kmsUser}, &lk); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, k := range lk.AccessKeys.AccessKey {
		keys = append(keys, k.AccessKeyId)
	}
	if len(keys) != 1 || keys[0] != cur {
		t.Fatalf("keys of %s: %v, want only ACSCurrent's %s (the leaked key deleted)", kmsUser, keys, cur)
	}
	writes := c.writesBy(vars["ALIBABA_CLOUD_ACCESS_KEY_ID"], start)
	sort.Strings(writes)
	if strings.Join(writes, ",") != "DeleteAccessKeyInRecycleBin,RotateSecret" {
		t.Errorf("respond's writes in ActionTrail: %v, want RotateSecret and the purge only", writes)
	}
	t.Logf("KMS rotation against sandbox serve (2 s a phase): %s wall", took)
}

// kmsPermsOrg is one account whose responder holds exactly README's core RAM actions and, as a
// custom policy, the KMS statements of "Keys managed by KMS" as README writes them (the secret
// actions on acs:kms:*:*:secret/acs/ram/user/* only; GetSecretValue only when asked for).
func kmsPermsOrg(getValue bool) string {
	secretActions := `"kms:DescribeSecret", "kms:RotateSecret"`
	if getValue {
		secretActions = `"kms:DescribeSecret", "kms:GetSecretValue", "kms:RotateSecret"`
	}
	return `accounts:
  - id: "4444000000000001"
    name: kms-perms
    management: true
    policies:
      - name: respond-kms
        document: '{"Version":"1","Statement":[{"Effect":"Allow","Resource":"*","Action":["kms:ListSecrets"]},{"Effect":"Allow","Resource":"acs:kms:*:*:secret/acs/ram/user/*","Action":[` + secretActions + `]}]}'
    users:
      - name: admin
        admin: true
        keys:
          - {id: LTAI5tFAKEKMSPERMADMIN01, secret: FakeKmsPermAdminSecret00000010}
      - name: responder
        allow: ["ram:GetUser", "ram:ListUsers", "ram:ListAccessKeys", "ram:CreateAccessKey", "ram:DeleteAccessKey",
                "ram:GetAccessKeyLastUsed", "ram:GetAccessKeyInfoInRecycleBin", "ram:DeleteAccessKeyInRecycleBin"]
        policies: [respond-kms]
        keys:
          - {id: LTAI5tFAKEKMSPERMRESP001, secret: FakeKmsPermResponderSecret0010}
      - name: payments-app
        keys:
          - {id: LTAI5tFAKEKMSPERMAPP0001, secret: FakeKmsPermAppSecret0000000010}
    secrets:
      - name: acs/ram/user/payments-app
        type: RAMCredentials
        user: payments-app
        key: LTAI5tFAKEKMSPERMAPP0001
`
}

// README's permissions suffice: with them (and without kms:GetSecretValue, which is optional) a
// responder rotates the KMS-managed key through KMS.
func TestE2EKMSPermissions(t *testing.T) {
	t.Parallel()
	for _, getValue := range []bool{true, false} {
		t.Run(map[bool]string{true: "with GetSecretValue", false: "without GetSecretValue"}[getValue], func(t *testing.T) {
			limit(t)
			e := newE2E(t, orgFromYAML(t, kmsPermsOrg(getValue)), emulator.WithKMSRotationDelay(100*time.Millisecond))
			e.cred = &emulator.Credential{AccessKeyID: "LTAI5tFAKEKMSPERMRESP001", AccessKeySecret: "FakeKmsPermResponderSecret0010"}
			r := e.run("", "--key-id", "LTAI5tFAKEKMSPERMAPP0001", "--yes", "--locate", "ims,scan", "--output", "json")
			wantCode(t, r, 0)
			res := decodeReport(t, r).Results[0].Result
			if res == nil || res.Decision != "rotate-via-kms" || res.Outcome != "remediated" {
				t.Fatalf("result %+v\n%s", res, r)
			}
			for _, q := range e.s.RequestLog() {
				if q.Code == "Forbidden.NoPermission" && q.Action != "GetSecretValue" && q.AccessKeyID == e.cred.AccessKeyID {
					if q.Action != "LookupEvents" && q.Action != "DescribeRegions" && q.Action != "GetAccessKeyLastUsedInfo" {
						t.Errorf("%s denied", q.Action)
					}
				}
			}
			if keys := e.keyIDs("payments-app"); len(keys) != 1 || keys[0] == "LTAI5tFAKEKMSPERMAPP0001" {
				t.Errorf("payments-app's keys: %v", keys)
			}
			e.notInBin("LTAI5tFAKEKMSPERMAPP0001")
		})
	}
}
