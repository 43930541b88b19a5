package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/actiontrail"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/sts"
)

// doctorConfig writes testdata/doctor/config.yaml (testdata/orgs/doctor.yaml's management
// account, its Resource Directory, a KMS, a file and an exec sink, a Slack channel) with the
// file sink in e's sink directory.
func (e *e2e) doctorConfig() string {
	e.t.Helper()
	if err := os.MkdirAll(e.sinkDir(), 0o700); err != nil {
		e.t.Fatal(err)
	}
	raw := mustRead(e.t, filepath.Join("..", "..", "testdata", "doctor", "config.yaml"))
	return e.writeFile("doctor.yaml", strings.ReplaceAll(string(raw), "SINK_DIR", e.sinkDir()))
}

type doctorJSON struct {
	Schema    string        `json:"schema"`
	OK        bool          `json:"ok"`
	ExitCode  int           `json:"exit_code"`
	ProbeUser string        `json:"probe_user"`
	Checks    []doctorCheck `json:"checks"`
}

type doctorCheck struct {
	Component string   `json:"component"`
	Item      string   `json:"item"`
	Status    string   `json:"status"`
	Required  bool     `json:"required"`
	Fix       string   `json:"fix"`
	NeededBy  []string `json:"needed_by"`
}

// doctorFailed decodes doctor's JSON report and lists its failed required checks, sorted, as
// "component | item | status" (and " | fix" with fix).
func doctorFailed(t *testing.T, r runResult, fix bool) (doctorJSON, []string) {
	t.Helper()
	var rep doctorJSON
	if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
		t.Fatalf("doctor json: %v\n%s", err, r.Stdout)
	}
	var failed []string
	for _, c := range rep.Checks {
		if c.Required && (c.Status == "missing" || c.Status == "error" || c.Status == "unknown") {
			line := c.Component + " | " + c.Item + " | " + c.Status
			if fix {
				line += " | " + c.Fix
			}
			failed = append(failed, line)
		}
	}
	sort.Strings(failed)
	return rep, failed
}

// TestE2EDoctor: against the doctor organisation, signed as a responder that lacks chosen
// permissions, respond doctor names exactly the missing ones per account (and the role it cannot
// assume; kms:RotateSecret in doctor-prod, where KMS manages a key), exits 1, and changes
// nothing: every call that succeeded was a read (no key created or deleted, by respond or KMS's
// role; no secret rotated), no call named a real user or secret, no message was sent. As the administrator, with --send-test, it exits 0 and sends
// one test message.
func TestE2EDoctor(t *testing.T) {
	t.Parallel()
	limit(t)
	var posts atomic.Int32
	var body atomic.Value
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		body.Store(string(b))
		posts.Add(1)
	}))
	defer hook.Close()
	e := newE2E(t, orgFromFile(t, "doctor.yaml"))
	resp, ok := e.org.Key("LTAI5tFAKEDOCTORRESP0001")
	if !ok {
		t.Fatal("no responder key")
	}
	e.cred = &resp
	e.env["RESPOND_DOCTOR_WEBHOOK"] = hook.URL + "/services/T0/B0/doctorWebhookToken01"
	conf := e.doctorConfig()

	r := e.run("", "doctor", "--config", conf, "--output", "json")
	wantCode(t, r, 1)
	rep, failed := doctorFailed(t, r, true)
	want := []string{
		"account doctor-locked (3333000000000003) | enter | missing | grant sts:AssumeRole to respond, and a trust policy on the role that trusts respond's account",
		"account doctor-prod (3333000000000002) | kms:RotateSecret | missing | grant kms:RotateSecret",
		"account doctor-prod (3333000000000002) | ram:CreateAccessKey | missing | grant ram:CreateAccessKey",
		"account mgmt (3333000000000001) | ram:DeleteAccessKey | missing | grant ram:DeleteAccessKey",
		"account mgmt (3333000000000001) | ram:DeleteAccessKeyInRecycleBin | missing | grant ram:DeleteAccessKeyInRecycleBin",
	}
	if !slices.Equal(failed, want) {
		t.Errorf("failed checks:\n%s\nwant\n%s", strings.Join(failed, "\n"), strings.Join(want, "\n"))
	}
	if rep.Schema != "respond.doctor/v1" || rep.OK || rep.ExitCode != 1 || !strings.HasPrefix(rep.ProbeUser, "respond-doctor-") {
		t.Errorf("report head %+v", rep)
	}

	r = e.run("", "doctor", "--config", conf)
	wantCode(t, r, 1)
	mustContain(t, "doctor text", r.Stdout, "MISSING", "ram:DeleteAccessKey", "→ grant ram:CreateAccessKey",
		"NOT READY: 5 required check(s) failed", "nothing was changed")
	if strings.Contains(r.Stdout+r.Stderr, "doctorWebhookToken01") || strings.Contains(r.Stdout+r.Stderr, "FakeDoctor") {
		t.Errorf("a secret in the output:\n%s", r)
	}
	if n := posts.Load(); n != 0 {
		t.Errorf("%d messages sent without --send-test", n)
	}
	for _, q := range e.s.RequestLog() {
		if q.Code == "" && !readOnlyAction(q.Action) && q.Action != "GetCallerIdentity" && q.Action != "AssumeRole" {
			t.Errorf("a call that changes state succeeded: %s %v", q.Action, q.Params)
		}
		if u := q.Params["UserName"]; u != "" && !strings.HasPrefix(u, "respond-doctor-") {
			t.Errorf("%s named a real user %q", q.Action, u)
		}
		if n := q.Params["SecretName"]; (q.Action == "RotateSecret" || q.Action == "GetSecretValue") && !strings.HasPrefix(n, "acs/ram/user/respond-doctor-") {
			t.Errorf("%s named secret %q", q.Action, n)
		}
	}
	if ents, _ := os.ReadDir(e.sinkDir()); len(ents) != 0 {
		t.Errorf("the file sink's directory holds %v", ents)
	}
	if got := e.keyIDs("app"); !slices.Equal(got, []string{"LTAI5tFAKEDOCTORAPP00001"}) {
		t.Errorf("app's keys %v", got)
	}

	// The administrator may do everything in the management account; the members' roles are
	// what they are, so leave them out.
	e.cred = nil
	all := e.writeFile("doctor-admin.yaml", strings.Replace(string(mustRead(t, conf)), "  account: mgmt\n",
		"  account: mgmt\n  exclude: [\"3333000000000002\", \"3333000000000003\"]\n", 1))
	r = e.run("", "doctor", "--config", all, "--send-test")
	wantCode(t, r, 0)
	mustContain(t, "doctor text", r.Stdout, "OK: respond can act", "sent, marked as a test")
	if n := posts.Load(); n != 1 || !strings.Contains(body.Load().(string), "TEST from respond doctor") {
		t.Errorf("%d messages; last %v", n, body.Load())
	}
	if ents, _ := os.ReadDir(filepath.Join(e.state)); len(ents) != 0 {
		t.Errorf("doctor wrote in the state directory: %v", ents)
	}
}

// trailWrites lists the events of the signing account's trail (cn-hangzhou and the global
// services) whose call changed state: not a read, and answered without an error code.
func trailWrites(t *testing.T, endpoint string, cred auth.Credential) []string {
	t.Helper()
	at, err := actiontrail.NewClientWithOptions("cn-hangzhou", sdk.NewConfig().WithScheme("HTTP"), cred)
	if err != nil {
		t.Fatal(err)
	}
	at.Domain = endpoint
	var out []string
	n, next := 0, ""
	for page := 0; page == 0 || next != ""; page++ {
		req := actiontrail.CreateLookupEventsRequest()
		req.MaxResults, req.NextToken = "50", next
		resp, err := at.LookupEvents(req)
		if err != nil {
			t.Fatalf("SDK LookupEvents: %v", err)
		}
		for _, ev := range resp.Events {
			n++
			name, _ := ev["eventName"].(string)
			code, _ := ev["errorCode"].(string)
			if code == "" && !readOnlyAction(name) && !slices.Contains([]string{"GetCallerIdentity", "AssumeRole", "ModifyAccessKeyLeakDeal"}, name) {
				out = append(out, name)
			}
		}
		next = resp.NextToken
	}
	if n == 0 {
		t.Fatal("the trail holds no event: doctor's calls were not seen")
	}
	return out
}

// TestE2EDoctorSandboxServe: against `respond sandbox serve --org testdata/orgs/doctor.yaml`
// (another process, as a user would rehearse), with a configuration that also polls Security
// Center and lets a KMS sink create its secret, doctor names exactly what each account lacks,
// and the trails of both accounts it probed (read through the SDK's own ActionTrail client)
// show no call that changed anything.
func TestE2EDoctorSandboxServe(t *testing.T) {
	t.Parallel()
	limit(t)
	e := newE2E(t, orgFromFile(t, "doctor.yaml"))
	_, vars := serveSandbox(t, e, "--org", filepath.Join("..", "..", "testdata", "orgs", "doctor.yaml"))
	resp, _ := e.org.Key("LTAI5tFAKEDOCTORRESP0001")
	e.env["ALIBABA_CLOUD_ACCESS_KEY_ID"], e.env["ALIBABA_CLOUD_ACCESS_KEY_SECRET"] = resp.AccessKeyID, resp.AccessKeySecret
	hook := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer hook.Close()
	e.env["RESPOND_DOCTOR_WEBHOOK"] = hook.URL + "/services/T0/B0/doctorWebhookToken01"
	conf := e.writeFile("doctor-sc.yaml", strings.Replace(string(mustRead(t, e.doctorConfig())),
		"secret-name: respond/app/current", "secret-name: respond/app/next\n    create: true", 1)+
		// standard for every key, Security Center's too (without the rule its built-in one gives
		// them contain-first, whose needs TestE2EDoctorBuiltinRule checks)
		"rules:\n  - playbook: standard\nserve:\n  security-center: {poll: 5m}\n")

	r := e.runRaw("", "doctor", "--config", conf, "--state-dir", e.state, "--output", "json") // the sandbox's RESPOND_ENDPOINT
	wantCode(t, r, 1)
	_, failed := doctorFailed(t, r, false)
	if n := len(e.s.RequestLog()); n != 0 {
		t.Fatalf("doctor called the in-process emulator %d times, not the sandbox", n)
	}
	const mgmt, prod = "account mgmt (3333000000000001)", "account doctor-prod (3333000000000002)"
	want := []string{
		"account doctor-locked (3333000000000003) | enter | missing",
		prod + " | kms:RotateSecret | missing",
		prod + " | ram:CreateAccessKey | missing",
		prod + " | yundun-aegis:DescribeAccesskeyLeakList | missing",
		prod + " | yundun-sas:ModifyAccessKeyLeakDeal | missing",
		mgmt + " | ram:DeleteAccessKey | missing",
		mgmt + " | ram:DeleteAccessKeyInRecycleBin | missing",
		mgmt + " | yundun-aegis:DescribeAccesskeyLeakList | missing",
		mgmt + " | yundun-sas:ModifyAccessKeyLeakDeal | missing",
		"sink app-kms (kms) | kms:CreateSecret in " + mgmt + " | missing",
	}
	if !slices.Equal(failed, want) {
		t.Errorf("failed checks:\n%s\nwant\n%s", strings.Join(failed, "\n"), strings.Join(want, "\n"))
	}

	admin := credentials.NewStaticAKCredentialsProvider(vars["ALIBABA_CLOUD_ACCESS_KEY_ID"], vars["ALIBABA_CLOUD_ACCESS_KEY_SECRET"])
	if w := trailWrites(t, vars["RESPOND_ENDPOINT"], admin); len(w) != 0 {
		t.Errorf("calls that changed state in the management account: %v", w)
	}
	// The member's trail, through the directory's role (which may read it).
	st, err := sts.NewClientWithOptions("cn-hangzhou", sdk.NewConfig().WithScheme("HTTP"), admin)
	if err != nil {
		t.Fatal(err)
	}
	st.Domain = vars["RESPOND_ENDPOINT"]
	ar := sts.CreateAssumeRoleRequest()
	ar.RoleArn, ar.RoleSessionName = "acs:ram::3333000000000002:role/ResourceDirectoryAccountAccessRole", "doctor-test"
	as, err := st.AssumeRole(ar)
	if err != nil {
		t.Fatalf("SDK AssumeRole: %v", err)
	}
	c := as.Credentials
	if w := trailWrites(t, vars["RESPOND_ENDPOINT"], credentials.NewStaticSTSCredentialsProvider(c.AccessKeyId, c.AccessKeySecret, c.SecurityToken)); len(w) != 0 {
		t.Errorf("calls that changed state in the member account: %v", w)
	}
}

// TestE2EDoctorIncident: a configuration whose playbook is contain-first (hunt, contain,
// eradicate), signed as a responder that may do everything it needs but ram:DeleteLoginProfile:
// doctor names exactly that as missing (needed by eradicate), reports ram:CreatePolicy as not
// checked (no harmless probe) with its fix, exits 1, and changes nothing: every call that
// succeeded was a read, and every user, role, group or policy a call named was made up.
func TestE2EDoctorIncident(t *testing.T) {
	t.Parallel()
	limit(t)
	e := newE2E(t, orgFromFile(t, "doctor.yaml"))
	resp, ok := e.org.Key("LTAI5tFAKEDOCTORINCIDNT1")
	if !ok {
		t.Fatal("no incident responder key")
	}
	e.cred = &resp
	hook := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Error("a message was sent") }))
	defer hook.Close()
	e.env["RESPOND_DOCTOR_WEBHOOK"] = hook.URL + "/services/T0/B0/doctorWebhookToken01"
	if err := os.MkdirAll(e.sinkDir(), 0o700); err != nil {
		t.Fatal(err)
	}
	raw := mustRead(t, filepath.Join("..", "..", "testdata", "doctor", "contain-first.yaml"))
	conf := e.writeFile("contain-first.yaml", strings.ReplaceAll(string(raw), "SINK_DIR", e.sinkDir()))
	start := len(e.s.RequestLog())

	r := e.run("", "doctor", "--config", conf, "--output", "json")
	wantCode(t, r, 1)
	rep, failed := doctorFailed(t, r, true)
	want := []string{"account mgmt (3333000000000001) | ram:DeleteLoginProfile | missing | grant ram:DeleteLoginProfile"}
	if !slices.Equal(failed, want) {
		t.Errorf("failed checks:\n%s\nwant\n%s", strings.Join(failed, "\n"), strings.Join(want, "\n"))
	}
	var createPolicy, loginProfile *doctorCheck
	for i, c := range rep.Checks {
		switch c.Item {
		case "ram:CreatePolicy":
			createPolicy = &rep.Checks[i]
		case "ram:DeleteLoginProfile":
			loginProfile = &rep.Checks[i]
		}
	}
	if createPolicy == nil || createPolicy.Status != "not-checked" || createPolicy.Fix != "make sure respond is allowed ram:CreatePolicy" {
		t.Errorf("ram:CreatePolicy: %+v", createPolicy)
	}
	if loginProfile == nil || !slices.Equal(loginProfile.NeededBy, []string{"contain-first (eradicate)"}) {
		t.Errorf("ram:DeleteLoginProfile: %+v", loginProfile)
	}

	r = e.run("", "doctor", "--config", conf)
	wantCode(t, r, 1)
	mustContain(t, "doctor text", r.Stdout, "MISSING", "→ grant ram:DeleteLoginProfile", "ram:GetLoginProfile",
		"ram:AttachPolicyToRole", "NOT READY: 1 required check(s) failed")

	probed := map[string]bool{}
	for _, q := range e.s.RequestLog()[start:] {
		probed[q.Action] = true
		if q.Code == "" && !readOnlyAction(q.Action) && q.Action != "GetCallerIdentity" {
			t.Errorf("a call that changes state succeeded: %s %v", q.Action, q.Params)
		}
		for _, name := range []string{"UserName", "RoleName", "GroupName", "PolicyName"} {
			if v, ok := q.Params[name]; ok && !strings.HasPrefix(v, "respond-doctor-") {
				t.Errorf("%s named %s %q", q.Action, name, v)
			}
		}
	}
	for _, a := range []string{"GetLoginProfile", "ListPoliciesForRole", "GetRole", "DeleteLoginProfile", "RemoveUserFromGroup",
		"DetachPolicyFromGroup", "AttachPolicyToRole", "DeletePolicy", "AttachPolicyToUser"} {
		if !probed[a] {
			t.Errorf("%s not probed", a)
		}
	}
	if probed["CreatePolicy"] {
		t.Error("CreatePolicy was called")
	}
	if ents, _ := os.ReadDir(e.sinkDir()); len(ents) != 0 {
		t.Errorf("the file sink's directory holds %v", ents)
	}
}

// TestE2EDoctorBuiltinRule: no rule chooses, so a Security Center finding gets contain-first by
// the built-in rule (playbooks.BuiltinRule), as a run's choice does. With respond serve polling
// Security Center, doctor checks contain-first's needs too: signed as the responder that lacks
// ram:DeleteLoginProfile (which contain-first's eradicate needs) and Security Center's actions
// (which the poll needs), it names exactly those and exits 1. Without a poll no finding comes
// from Security Center, contain-first answers nothing, and the same responder is ready.
func TestE2EDoctorBuiltinRule(t *testing.T) {
	t.Parallel()
	limit(t)
	e, raw := securityCenterDoctor(t)
	polled := e.writeFile("polled.yaml", raw)
	noPoll, _, found := strings.Cut(raw, "serve:\n")
	if !found {
		t.Fatal("testdata/doctor/security-center.yaml has no serve: section")
	}
	unpolled := e.writeFile("unpolled.yaml", noPoll)

	r := e.run("", "doctor", "--config", polled, "--output", "json")
	wantCode(t, r, 1)
	rep, failed := doctorFailed(t, r, true)
	want := []string{"account mgmt (3333000000000001) | ram:DeleteLoginProfile | missing | grant ram:DeleteLoginProfile",
		"account mgmt (3333000000000001) | yundun-aegis:DescribeAccesskeyLeakList | missing | grant yundun-aegis:DescribeAccesskeyLeakList",
		"account mgmt (3333000000000001) | yundun-sas:ModifyAccessKeyLeakDeal | missing | grant yundun-sas:ModifyAccessKeyLeakDeal"}
	if !slices.Equal(failed, want) {
		t.Errorf("failed checks with a poll:\n%s\nwant\n%s", strings.Join(failed, "\n"), strings.Join(want, "\n"))
	}
	for _, c := range rep.Checks {
		if c.Item == "ram:DeleteLoginProfile" && !slices.Equal(c.NeededBy, []string{"contain-first (eradicate)"}) {
			t.Errorf("ram:DeleteLoginProfile needed by %v, want contain-first (eradicate)", c.NeededBy)
		}
	}

	r = e.run("", "doctor", "--config", unpolled, "--output", "json")
	wantCode(t, r, 0)
	rep, failed = doctorFailed(t, r, true)
	if len(failed) > 0 {
		t.Errorf("failed checks without a poll: %v", failed)
	}
	for _, c := range rep.Checks {
		for _, by := range c.NeededBy {
			if strings.HasPrefix(by, "contain-first") {
				t.Errorf("%s needed by %s without a poll", c.Item, by)
			}
		}
	}
}

// TestE2EDoctorSearchOrder: when a rule chooses by account, the owner search runs before the
// choice, in the configuration's locate: order, whatever the chosen playbook's own locate step
// names. The playbook here names [ims] and the configuration [scan, self]; the responder may list
// users but not call IMS. A run finds the owner (by scan) without IMS, so doctor does not report
// IMS's ram:GetUser as missing: it checks ram:ListUsers for the search, and fails only on the
// ram:DeleteAccessKey the responder lacks.
func TestE2EDoctorSearchOrder(t *testing.T) {
	t.Parallel()
	limit(t)
	e := newE2E(t, orgFromFile(t, "doctor.yaml"))
	resp, ok := e.org.Key("LTAI5tFAKEDOCTORRESP0001")
	if !ok {
		t.Fatal("no responder key")
	}
	e.cred = &resp
	e.writeFile("by-ims.yaml", "name: by-ims\nsteps:\n  - locate: {strategies: [ims]}\n  - delete\n  - verify\n")
	conf := e.writeFile("by-owner.yaml", `accounts:
  - name: mgmt
    id: "3333000000000001"
    credentials: {source: env}
locate: [scan, self]
playbooks:
  - path: by-ims.yaml
rules:
  - match: {accounts: [mgmt]}
    playbook: by-ims
`)
	r := e.run("", "--key-id", "LTAI5tFAKEDOCTORAPP00001", "--dry-run", "--config", conf, "--output", "json")
	wantCode(t, r, 0)
	mustContain(t, "the dry run", r.Stdout, `"playbook": "by-ims"`, `"strategy": "scan"`)

	r = e.run("", "doctor", "--config", conf, "--output", "json")
	wantCode(t, r, 1)
	rep, failed := doctorFailed(t, r, false)
	want := []string{"account mgmt (3333000000000001) | ram:DeleteAccessKey | missing",
		"account mgmt (3333000000000001) | ram:DeleteAccessKeyInRecycleBin | missing"}
	if !slices.Equal(failed, want) {
		t.Errorf("failed checks:\n%s\nwant\n%s", strings.Join(failed, "\n"), strings.Join(want, "\n"))
	}
	listUsers := false
	for _, c := range rep.Checks {
		if c.Item == "ram:ListUsers" && slices.Contains(c.NeededBy, "by-ims (locate)") && c.Required && c.Status == "ok" {
			listUsers = true
		}
	}
	if !listUsers {
		t.Errorf("ram:ListUsers not checked for the search:\n%s", r.Stdout)
	}
}

// TestE2EDoctorNoSink: a configuration without a sink, whose playbook (standard) creates a
// replacement. A run refuses such a key (exit 2: the new secret would reach no one) unless
// --reveal shows it on a terminal, which respond serve cannot do: with a serve: section doctor
// fails on it, without one it reports it (with --reveal as the way out) and does not fail.
func TestE2EDoctorNoSink(t *testing.T) {
	t.Parallel()
	limit(t)
	e := newE2E(t, orgFromFile(t, "doctor.yaml"))
	admin, ok := e.org.Key("LTAI5tFAKEDOCTORADMIN001")
	if !ok {
		t.Fatal("no administrator key")
	}
	e.cred = &admin
	base := "accounts:\n  - name: mgmt\n    id: \"3333000000000001\"\n    credentials: {source: env}\nlocate: [scan, self]\n"
	cli := e.writeFile("no-sink.yaml", base)
	served := e.writeFile("no-sink-serve.yaml", base+"serve:\n  listen: 127.0.0.1:0\n")
	e.env["RESPOND_SERVE_TOKEN"] = serveToken

	r := e.run("", "--key-id", "LTAI5tFAKEDOCTORAPP00001", "--yes", "--config", served)
	wantCode(t, r, 2)
	mustContain(t, "the run", r.Stdout+r.Stderr, "no sink is configured")

	r = e.run("", "doctor", "--config", served, "--output", "json")
	wantCode(t, r, 1)
	_, failed := doctorFailed(t, r, false)
	want := []string{"sinks | a sink for the replacement | missing"}
	if !slices.Equal(failed, want) {
		t.Errorf("failed checks with serve:\n%s\nwant\n%s", strings.Join(failed, "\n"), strings.Join(want, "\n"))
	}

	r = e.run("", "doctor", "--config", cli, "--output", "json")
	wantCode(t, r, 0)
	rep, _ := doctorFailed(t, r, true)
	if !slices.ContainsFunc(rep.Checks, func(c doctorCheck) bool {
		return c.Item == "a sink for the replacement" && c.Status == "missing" && !c.Required && strings.Contains(c.Fix, "--reveal")
	}) {
		t.Errorf("without serve, no optional sink check naming --reveal:\n%s", r.Stdout)
	}
}

// TestE2EDoctorForcedPlaybook: respond --playbook answers every key with that playbook, whatever
// the rules choose; respond doctor --playbook checks what that run needs. The configuration's
// default (standard) is ready for the responder that lacks ram:DeleteLoginProfile; contain-first,
// whose eradicate needs it, is not — nor is a playbook file that names an unknown channel (a
// flag error, as on the main command).
func TestE2EDoctorForcedPlaybook(t *testing.T) {
	t.Parallel()
	limit(t)
	e, raw := securityCenterDoctor(t)
	noPoll, _, _ := strings.Cut(raw, "serve:\n")
	conf := e.writeFile("standard.yaml", noPoll)

	wantCode(t, e.run("", "doctor", "--config", conf, "--output", "json"), 0)
	r := e.run("", "doctor", "--config", conf, "--playbook", "contain-first", "--output", "json")
	wantCode(t, r, 1)
	rep, failed := doctorFailed(t, r, false)
	want := []string{"account mgmt (3333000000000001) | ram:DeleteLoginProfile | missing"}
	if !slices.Equal(failed, want) {
		t.Errorf("failed checks:\n%s\nwant\n%s", strings.Join(failed, "\n"), strings.Join(want, "\n"))
	}
	for _, c := range rep.Checks {
		for _, by := range c.NeededBy {
			if strings.HasPrefix(by, "standard") {
				t.Errorf("%s needed by %s under --playbook contain-first", c.Item, by)
			}
		}
	}
	bad := e.writeFile("bad.yaml", "name: bad\nsteps: [locate, delete, verify, notify]\nnotify: [nobody]\n")
	r = e.run("", "doctor", "--config", conf, "--playbook", bad)
	wantCode(t, r, 2)
	mustContain(t, "stderr", r.Stderr, "--playbook "+bad)
}

// securityCenterDoctor is the doctor organisation signed as its incident responder (which lacks
// ram:DeleteLoginProfile and Security Center's actions), a channel that fails the test if a
// message reaches it, and testdata/doctor/security-center.yaml for it.
func securityCenterDoctor(t *testing.T) (*e2e, string) {
	t.Helper()
	e := newE2E(t, orgFromFile(t, "doctor.yaml"))
	resp, ok := e.org.Key("LTAI5tFAKEDOCTORINCIDNT1")
	if !ok {
		t.Fatal("no incident responder key")
	}
	e.cred = &resp
	hook := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Error("a message was sent") }))
	t.Cleanup(hook.Close)
	e.env["RESPOND_DOCTOR_WEBHOOK"] = hook.URL + "/services/T0/B0/doctorWebhookToken01"
	if err := os.MkdirAll(e.sinkDir(), 0o700); err != nil {
		t.Fatal(err)
	}
	return e, strings.ReplaceAll(string(mustRead(t, filepath.Join("..", "..", "testdata", "doctor", "security-center.yaml"))), "SINK_DIR", e.sinkDir())
}
