package doctor

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/ram/emulator"
	"github.com/respond-dev/respond/rotate"
	"github.com/respond-dev/respond/rotate/journal"
)

const (
	responderKey = "LTAI5tFAKEDOCTORRESP0001"
	mgmtID       = "3333000000000001"
	prodID       = "3333000000000002"
	lockedID     = "3333000000000003"
)

// webhook is a channel's receiving end: it records what it is sent.
type webhook struct {
	srv    *httptest.Server
	mu     sync.Mutex
	bodies []string
}

func newWebhook(t *testing.T) *webhook {
	w := &webhook{}
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.mu.Lock()
		w.bodies = append(w.bodies, string(b))
		w.mu.Unlock()
		_, _ = rw.Write([]byte("ok"))
	}))
	t.Cleanup(w.srv.Close)
	return w
}

func (w *webhook) received() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.bodies...)
}

// fixture is the doctor organisation served, a configuration naming it, and the options to run
// doctor signed as key.
type fixture struct {
	s    *emulator.Server
	org  *emulator.Org
	conf *playbooks.Config
	opts Options
	hook *webhook
	dir  string
}

func newFixture(t *testing.T, key string) *fixture {
	t.Helper()
	return newFixtureWith(t, key, func(s string) string { return s })
}

// newFixtureWith is newFixture with the configuration's text passed through edit.
func newFixtureWith(t *testing.T, key string, edit func(string) string) *fixture {
	t.Helper()
	return newFixtureFrom(t, key, "config.yaml", edit)
}

// newFixtureFrom is newFixtureWith with another configuration of testdata/doctor.
func newFixtureFrom(t *testing.T, key, config string, edit func(string) string) *fixture {
	t.Helper()
	org, err := emulator.LoadOrg(filepath.Join("..", "..", "testdata", "orgs", "doctor.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s := emulator.NewServer(org)
	t.Cleanup(s.Close)
	dir := t.TempDir()
	sinkDir := filepath.Join(dir, "sink")
	if err := os.Mkdir(sinkDir, 0o700); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "doctor", config))
	if err != nil {
		t.Fatal(err)
	}
	conf, err := playbooks.ParseConfig("config.yaml", []byte(edit(strings.ReplaceAll(string(raw), "SINK_DIR", sinkDir))))
	if err != nil {
		t.Fatal(err)
	}
	cr, ok := org.Key(key)
	if !ok {
		t.Fatalf("no key %s", key)
	}
	hook := newWebhook(t)
	env := map[string]string{"RESPOND_DOCTOR_WEBHOOK": hook.srv.URL + "/hooks/T000/B000/secretToken0123"}
	f := &fixture{s: s, org: org, conf: conf, hook: hook, dir: dir}
	f.opts = Options{
		Config: conf,
		Connect: func(ctx context.Context, c *playbooks.Config) (*rotate.Session, error) {
			return rotate.Connect(ctx, c, rotate.SessionOptions{
				Base:          ram.Config{Endpoint: s.Endpoint(), Retry: ram.RetryPolicy{MaxAttempts: 2}},
				Home:          ram.StaticCredentials(cr.AccessKeyID, accesskey.NewSecret(cr.AccessKeySecret)),
				FixedEndpoint: true,
			})
		},
		StateDir: filepath.Join(dir, "state"),
		Getenv:   func(k string) string { return env[k] },
	}
	return f
}

// failed lists the required checks that failed, as "component | item | status".
func failed(rep Report) []string {
	var out []string
	for _, c := range rep.Checks {
		if c.Failed() {
			out = append(out, c.Component+" | "+c.Item+" | "+string(c.Status))
		}
	}
	sort.Strings(out)
	return out
}

// readOnly asserts that every call the emulator served since start that succeeded was a read
// (or one of also): nothing was created, changed or deleted; and that no call named a real user.
func readOnly(t *testing.T, s *emulator.Server, start int, also ...string) {
	t.Helper()
	reads := append([]string{"GetCallerIdentity", "AssumeRole", "ListAccounts", "ListUsers", "GetUser", "ListAccessKeys",
		"GetAccessKeyLastUsed", "GetAccessKeyLastUsedInfo", "LookupEvents", "DescribeSecret", "DescribeAccesskeyLeakList",
		"DescribeRegions", "GetAccessKeyInfoInRecycleBin", "ListSecrets", "GetSecretValue"}, also...)
	for _, r := range s.RequestLog()[start:] {
		if r.Code == "" && !slices.Contains(reads, r.Action) {
			t.Errorf("a call that changes state succeeded: %s %v", r.Action, r.Params)
		}
		if u := r.Params["UserName"]; u != "" && !strings.HasPrefix(u, "respond-doctor-") {
			t.Errorf("%s named a real user %q", r.Action, u)
		}
	}
}

// TestRun_missingPermissions: doctor names exactly the permissions each account lacks, and the
// role it cannot assume; the optional ones are reported without failing; nothing changes.
func TestRun_missingPermissions(t *testing.T) {
	f := newFixture(t, responderKey)
	start := len(f.s.RequestLog())
	rep := Run(context.Background(), f.opts)
	want := []string{
		"account doctor-locked (" + lockedID + ") | enter | missing",
		"account doctor-prod (" + prodID + ") | kms:RotateSecret | missing",
		"account doctor-prod (" + prodID + ") | ram:CreateAccessKey | missing",
		"account mgmt (" + mgmtID + ") | ram:DeleteAccessKey | missing",
		"account mgmt (" + mgmtID + ") | ram:DeleteAccessKeyInRecycleBin | missing",
	}
	if got := failed(rep); !slices.Equal(got, want) {
		t.Errorf("failed checks:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if rep.OK || rep.ExitCode != 1 || rep.Schema != Schema || !strings.HasPrefix(rep.ProbeUser, "respond-doctor-") {
		t.Errorf("report %+v", rep)
	}
	find := func(comp, item string) Check {
		for _, c := range rep.Checks {
			if strings.HasPrefix(c.Component, comp) && c.Item == item {
				return c
			}
		}
		t.Fatalf("no check %s / %s in\n%s", comp, item, text(rep))
		return Check{}
	}
	del := find("account mgmt", "ram:DeleteAccessKey")
	if del.Fix != "grant ram:DeleteAccessKey" || !slices.Contains(del.NeededBy, "standard (delete)") || del.Answer != "NoPermission" {
		t.Errorf("delete check %+v", del)
	}
	if c := find("account mgmt", "ram:CreateAccessKey"); c.Status != StatusOK || !c.Inferred || c.Answer != "EntityNotExist.User" {
		t.Errorf("create check %+v", c)
	}
	// Optional: missing, reported, not failed.
	if c := find("account mgmt", "actiontrail:LookupEvents"); c.Status != StatusMissing || c.Required {
		t.Errorf("ActionTrail check %+v", c)
	}
	// Required: a run is done only once its purge's check finds the key in no recycle bin (a
	// refused purge fails the delete step: the run ends partial, the alerts open). The
	// recycle-bin permission is named as the endpoint checked it (AuthAction).
	purge := Check{}
	for _, c := range rep.Checks {
		if strings.HasPrefix(c.Component, "account mgmt") && strings.HasSuffix(c.Item, ":DeleteAccessKeyInRecycleBin") {
			purge = c
		}
	}
	if purge.Status != StatusMissing || !purge.Required || purge.Fix != "grant "+purge.Item || !slices.Contains(purge.NeededBy, "standard (delete)") {
		t.Errorf("recycle-bin check %+v", purge)
	}
	if c := find("account doctor-prod", "ram:DeleteAccessKey"); c.Status != StatusOK {
		t.Errorf("prod delete %+v", c)
	}
	if c := find("sink app-kms", "secret respond/app/current in account mgmt ("+mgmtID+")"); c.Status != StatusOK {
		t.Errorf("kms secret %+v", c)
	}
	if c := find("sink app-kms", "kms:PutSecretValue in account mgmt ("+mgmtID+")"); c.Status != StatusOK {
		t.Errorf("kms put %+v", c)
	}
	if c := find("sink app-file", "directory "+filepath.Join(f.dir, "sink")); c.Status != StatusOK {
		t.Errorf("file sink %+v", c)
	}
	if c := find("notify oncall", "reachable"); c.Status != StatusOK {
		t.Errorf("channel %+v", c)
	}
	if c := find("notify oncall", "test message"); c.Status != StatusNotChecked || c.Required {
		t.Errorf("test message without --send-test %+v", c)
	}
	if len(f.hook.received()) != 0 {
		t.Errorf("the channel was sent %q without --send-test", f.hook.received())
	}
	for _, c := range rep.Checks {
		if strings.Contains(c.Component+c.Item+c.Detail+c.Probe, "secretToken0123") {
			t.Errorf("the webhook token leaked: %+v", c)
		}
	}
	readOnly(t, f.s, start)
	if ents, _ := os.ReadDir(filepath.Join(f.dir, "sink")); len(ents) != 0 {
		t.Errorf("the sink directory holds %v", ents)
	}
	for _, name := range []string{"text", "json"} {
		var b bytes.Buffer
		if name == "text" {
			_ = rep.WriteText(&b)
		} else {
			_ = json.NewEncoder(&b).Encode(rep)
		}
		if strings.Contains(b.String(), "FakeDoctor") || strings.Contains(b.String(), "secretToken0123") {
			t.Errorf("%s output holds a secret:\n%s", name, b.String())
		}
	}
}

func text(rep Report) string {
	var b bytes.Buffer
	_ = rep.WriteText(&b)
	return b.String()
}

// TestRun_allGranted: the administrator may do everything: exit 0, and --send-test sends one
// message, marked as a test.
func TestRun_allGranted(t *testing.T) {
	f := newFixture(t, "LTAI5tFAKEDOCTORADMIN001")
	// The members' roles lack permissions whatever respond signs as: leave them out.
	f.conf.ResourceDirectory.Exclude = []string{lockedID, prodID}
	f.opts.SendTest = true
	f.opts.SecurityCenter = true
	start := len(f.s.RequestLog())
	rep := Run(context.Background(), f.opts)
	if !rep.OK || rep.ExitCode != 0 || len(failed(rep)) != 0 {
		t.Fatalf("not ready:\n%s", text(rep))
	}
	got := f.hook.received()
	if len(got) != 1 || !strings.Contains(got[0], "TEST from respond doctor") {
		t.Errorf("webhook received %q", got)
	}
	sawLeak := false
	for _, c := range rep.Checks {
		sawLeak = sawLeak || c.Item == "yundun-aegis:DescribeAccesskeyLeakList"
	}
	if !sawLeak {
		t.Errorf("--security-center checked nothing:\n%s", text(rep))
	}
	// ModifyAccessKeyLeakDeal of a record that cannot exist is accepted and ignored.
	for _, r := range f.s.RequestLog()[start:] {
		if id := r.Params["Id"]; r.Action == "ModifyAccessKeyLeakDeal" && len(id) < 16 {
			t.Errorf("ModifyAccessKeyLeakDeal on record %s: a record that may exist", id)
		}
	}
	readOnly(t, f.s, start, "ModifyAccessKeyLeakDeal")
}

// TestRun_cannotSignIn: bad credentials are one failed check, and the local checks still run.
func TestRun_cannotSignIn(t *testing.T) {
	f := newFixture(t, responderKey)
	f.opts.Connect = func(ctx context.Context, c *playbooks.Config) (*rotate.Session, error) {
		return rotate.Connect(ctx, c, rotate.SessionOptions{
			Base: ram.Config{Endpoint: f.s.Endpoint(), Retry: ram.RetryPolicy{MaxAttempts: 1}},
			Home: ram.StaticCredentials("LTAI5tFAKENOSUCHKEY00001", accesskey.NewSecret("NoSuchSecret00000000000000000x")), FixedEndpoint: true,
		})
	}
	rep := Run(context.Background(), f.opts)
	got := failed(rep)
	if len(got) != 1 || !strings.Contains(got[0], "sign in | error") {
		t.Errorf("failed %q", got)
	}
	if !slices.ContainsFunc(rep.Checks, func(c Check) bool { return c.Kind == KindSink && c.Status == StatusOK }) {
		t.Errorf("the sinks were not checked:\n%s", text(rep))
	}
}

// TestRun_localFailures: a missing sink directory, a program that is not there, a channel
// whose URL is not set, an unsafe state directory with an unfinished rotation: each named, with
// its fix.
func TestRun_localFailures(t *testing.T) {
	dir := t.TempDir()
	conf, err := playbooks.ParseConfig("c.yaml", []byte(`
sinks:
  gone:
    type: file
    path: "`+dir+`/nope/app.env"
  push:
    type: exec
    command: [`+dir+`/no-such-program]
notify:
  oncall:
    type: dingtalk
    url-env: RESPOND_UNSET
`))
	if err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "state")
	if err := os.Mkdir(state, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(state, 0o777); err != nil {
		t.Fatal(err)
	}
	rep := Run(context.Background(), Options{Config: conf, StateDir: state, Now: func() time.Time { return time.Unix(0, 0) }})
	want := []string{
		"notify oncall (dingtalk) | webhook URL | error",
		"sink gone (file) | directory " + dir + "/nope | error",
		"sink push (exec) | program " + dir + "/no-such-program | error",
		"state directory " + state + " | owner and mode | error",
	}
	if got := failed(rep); !slices.Equal(got, want) {
		t.Errorf("failed:\n%s\nwant\n%s\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"), text(rep))
	}
	for _, c := range rep.Checks {
		if c.Failed() && c.Fix == "" && c.Kind != KindNotify {
			t.Errorf("no fix for %+v", c)
		}
		if c.Kind == KindState && c.Item == "owner and mode" && !strings.Contains(c.Fix, "chmod go-w") {
			t.Errorf("state fix %q", c.Fix)
		}
	}
}

// TestRun_unfinishedRotation: a journal that shows a rotation did not finish is a failed check
// whose fix is the command that resumes it.
func TestRun_unfinishedRotation(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state")
	if err := os.Mkdir(state, 0o700); err != nil {
		t.Fatal(err)
	}
	id, _ := accesskey.ParseID("LTAI5tFAKEDOCTORAPP00001")
	j, err := journal.Open(state, id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := j.Append(journal.Record{Kind: journal.KindBegin, KeyID: id.String(), UserName: "app", AccountID: mgmtID}); err != nil {
		t.Fatal(err)
	}
	_ = j.Close()
	rep := Run(context.Background(), Options{StateDir: state})
	got := failed(rep)
	if len(got) != 1 || got[0] != "state directory "+state+" | unfinished rotation of LTAI5tFAKEDOCTORAPP00001 | error" {
		t.Fatalf("failed %q\n%s", got, text(rep))
	}
	for _, c := range rep.Checks {
		if c.Failed() && !strings.Contains(c.Fix, "respond --key-id LTAI5tFAKEDOCTORAPP00001") {
			t.Errorf("fix %q", c.Fix)
		}
	}
}

// TestRun_kmsCreate: a KMS sink with create: true whose secret does not exist yet needs
// kms:CreateSecret, probed without creating anything: the responder lacks it (missing, required),
// the administrator has it (ok, inferred from the made-up KMS key not being found). When the
// secret exists, a run only adds a version: the permission is reported, not required.
func TestRun_kmsCreate(t *testing.T) {
	toNew := func(s string) string {
		return strings.Replace(s, "secret-name: respond/app/current", "secret-name: respond/app/next\n    create: true", 1)
	}
	toExisting := func(s string) string {
		return strings.Replace(s, "secret-name: respond/app/current", "secret-name: respond/app/current\n    create: true", 1)
	}
	item := "kms:CreateSecret in account mgmt (" + mgmtID + ")"
	for _, tt := range []struct {
		name     string
		key      string
		edit     func(string) string
		status   Status
		required bool
	}{
		{"new secret, no permission", responderKey, toNew, StatusMissing, true},
		{"new secret, granted", "LTAI5tFAKEDOCTORADMIN001", toNew, StatusOK, true},
		{"existing secret, no permission", responderKey, toExisting, StatusMissing, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixtureWith(t, tt.key, tt.edit)
			f.conf.ResourceDirectory.Exclude = []string{lockedID, prodID}
			start := len(f.s.RequestLog())
			rep := Run(context.Background(), f.opts)
			var c *Check
			for i := range rep.Checks {
				if rep.Checks[i].Component == "sink app-kms (kms)" && rep.Checks[i].Item == item {
					c = &rep.Checks[i]
				}
			}
			if c == nil {
				t.Fatalf("no %s check:\n%s", item, text(rep))
			}
			if c.Status != tt.status || c.Required != tt.required || c.Failed() != (tt.required && tt.status != StatusOK) {
				t.Errorf("check %+v", *c)
			}
			if !strings.HasPrefix(c.Probe, "CreateSecret(EncryptionKeyId=") || !strings.Contains(c.Probe, "respond-doctor-") {
				t.Errorf("probe %s", c.Probe)
			}
			if tt.status == StatusOK && (!c.Inferred || c.Answer != "Forbidden.ResourceNotFound") {
				t.Errorf("granted check %+v", *c)
			}
			if tt.status == StatusMissing && c.Fix != "grant kms:CreateSecret" {
				t.Errorf("fix %q", c.Fix)
			}
			readOnly(t, f.s, start, "ModifyAccessKeyLeakDeal") // of a record that cannot exist
			n := 0
			for _, r := range f.s.RequestLog()[start:] {
				if r.Action == "CreateSecret" {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%d CreateSecret calls, want the one probe", n)
			}
		})
	}
}

// TestRun_securityCenterConfigured: a poll in the configuration makes Security Center's
// permissions required in every account, without --security-center; without one they are not.
func TestRun_securityCenterConfigured(t *testing.T) {
	withPoll := func(s string) string { return s + "serve:\n  security-center: {poll: 5m}\n" }
	for _, tt := range []struct {
		name string
		edit func(string) string
		want bool
	}{{"configured", withPoll, true}, {"not configured", func(s string) string { return s }, false}} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixtureWith(t, responderKey, tt.edit)
			f.conf.ResourceDirectory.Exclude = []string{lockedID}
			rep := Run(context.Background(), f.opts)
			got := failed(rep)
			for _, acct := range []string{"account mgmt (" + mgmtID + ")", "account doctor-prod (" + prodID + ")"} {
				for _, perm := range []string{"yundun-aegis:DescribeAccesskeyLeakList", "yundun-sas:ModifyAccessKeyLeakDeal"} {
					if slices.Contains(got, acct+" | "+perm+" | missing") != tt.want {
						t.Errorf("%s %s failed: %v, want %v\n%s", acct, perm, !tt.want, tt.want, strings.Join(got, "\n"))
					}
				}
			}
			if tt.want {
				for _, c := range rep.Checks {
					if c.Item == "yundun-aegis:DescribeAccesskeyLeakList" && !slices.Contains(c.NeededBy, "security-center poll (serve.security-center)") {
						t.Errorf("needed by %q", c.NeededBy)
					}
				}
			}
		})
	}
}

// TestRun_fileSinkPerAccountFileName: a file sink whose file name (not its directory) names the
// account is checked at each configured account's target, and its directory once: a file that
// respond did not write at one account's target fails, and no made-up account's path is shown.
func TestRun_fileSinkPerAccountFileName(t *testing.T) {
	dir := t.TempDir()
	conf, err := playbooks.ParseConfig("c.yaml", []byte(`
accounts:
  - {name: prod, id: "1234567890123456", credentials: {source: env}}
  - {name: stage, id: "1234567890123457", credentials: {source: env}}
sinks:
  keys:
    type: file
    path: "`+dir+`/{{.AccountName}}.env"
`))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "stage.env"), []byte("SOMEONE=else\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rep := Run(context.Background(), Options{Config: conf, Now: func() time.Time { return time.Unix(0, 0) }})
	var items []string
	for _, c := range rep.Checks {
		if c.Kind == KindSink {
			items = append(items, c.Item+" | "+string(c.Status))
		}
	}
	want := []string{"directory " + dir + " | ok", "target " + dir + "/prod.env | ok", "target " + dir + "/stage.env | error"}
	if !slices.Equal(items, want) {
		t.Errorf("sink checks:\n%s\nwant\n%s", strings.Join(items, "\n"), strings.Join(want, "\n"))
	}
}

// TestRun_incidentSteps: with contain-first (hunt, contain, eradicate), signed as a responder
// that may do everything that playbook needs but ram:DeleteLoginProfile, doctor names exactly
// that as missing, probes each of the incident steps' calls (ram:CreatePolicy, which has no
// harmless probe, is reported not checked with its fix), and changes nothing. As the
// administrator the same configuration is ready.
func TestRun_incidentSteps(t *testing.T) {
	f := newFixtureFrom(t, "LTAI5tFAKEDOCTORINCIDNT1", "contain-first.yaml", func(s string) string { return s })
	start := len(f.s.RequestLog())
	rep := Run(context.Background(), f.opts)
	want := []string{"account mgmt (" + mgmtID + ") | ram:DeleteLoginProfile | missing"}
	if got := failed(rep); !slices.Equal(got, want) || rep.ExitCode != 1 {
		t.Errorf("failed %v (exit %d), want %v\n%s", got, rep.ExitCode, want, text(rep))
	}
	checks := map[string]Check{}
	for _, c := range rep.Checks {
		checks[c.Item] = c
	}
	for _, perm := range []string{"ram:GetLoginProfile", "ram:ListPoliciesForRole", "ram:GetRole", "ram:AttachPolicyToUser",
		"ram:DeletePolicy", "ram:RemoveUserFromGroup", "ram:DetachPolicyFromGroup", "ram:AttachPolicyToRole", "ram:DeleteAccessKeyInRecycleBin",
		"ram:GetAccessKeyInfoInRecycleBin"} {
		if c, ok := checks[perm]; !ok || c.Status != StatusOK || !c.Required {
			t.Errorf("%s: %+v, want a required check that passed", perm, c)
		}
	}
	if c := checks["ram:CreatePolicy"]; c.Status != StatusNotChecked || !c.Required || c.Fix != "make sure respond is allowed ram:CreatePolicy" ||
		!strings.Contains(c.Detail, "no harmless call") || c.Probe != "" || !slices.Contains(c.NeededBy, "contain-first (contain)") {
		t.Errorf("ram:CreatePolicy: %+v", c)
	}
	if c := checks["ram:DeleteLoginProfile"]; c.Fix != "grant ram:DeleteLoginProfile" || !slices.Equal(c.NeededBy, []string{"contain-first (eradicate)"}) {
		t.Errorf("ram:DeleteLoginProfile: %+v", c)
	}
	readOnly(t, f.s, start, "GetLoginProfile", "ListPoliciesForUser", "ListPoliciesForRole", "ListPoliciesForGroup",
		"GetPolicy", "ListGroupsForUser", "GetRole")
	for _, r := range f.s.RequestLog()[start:] {
		for _, name := range []string{"RoleName", "GroupName", "PolicyName"} {
			if v, ok := r.Params[name]; ok && !strings.HasPrefix(v, "respond-doctor-") {
				t.Errorf("%s named %s %q", r.Action, name, v)
			}
		}
	}

	admin := newFixtureFrom(t, "LTAI5tFAKEDOCTORADMIN001", "contain-first.yaml", func(s string) string { return s })
	if rep := Run(context.Background(), admin.opts); !rep.OK {
		t.Errorf("as the administrator: not ready\n%s", text(rep))
	}
}
