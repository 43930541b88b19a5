package main

// End-to-end tests of the built respond binary against the in-process emulator. TestMain builds
// the binary once; every test runs it as a subprocess with a clean environment and checks the
// emulator's state through the Alibaba SDK (never through respond's own packages).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	sdkram "github.com/aliyun/alibaba-cloud-sdk-go/services/ram"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/sts"

	"github.com/respond-dev/respond/ram/emulator"
	"github.com/respond-dev/respond/ram/emulator/emulatortest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/e2e")

// respondBin is the binary TestMain built.
var respondBin string

func TestMain(m *testing.M) {
	flag.Parse()
	// Keep every SDK client of this process (the test's own checks) on the machine.
	for _, v := range []string{"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"} {
		os.Unsetenv(v)
	}
	os.Setenv("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
	os.Setenv("ALIBABA_CLOUD_CLI_PROFILE_DISABLED", "true")
	dir, err := os.MkdirTemp("", "respond-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: temp dir:", err)
		os.Exit(1)
	}
	respondBin = filepath.Join(dir, "respond")
	build := exec.Command("go", "build", "-o", respondBin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: go build ./cmd/respond: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// e2e is one emulator and one respond "machine": a home, config and state directory.
type e2e struct {
	t     testing.TB
	s     *emulator.Server
	org   *emulator.Org
	admin emulator.Credential
	home  string
	state string
	work  string
	env   map[string]string // extra environment for respond
	cred  *emulator.Credential
}

func orgFromFile(t testing.TB, name string) *emulator.Org {
	t.Helper()
	o, err := emulator.LoadOrg(filepath.Join("..", "..", "testdata", "orgs", name))
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func orgFromYAML(t testing.TB, y string) *emulator.Org {
	t.Helper()
	o, err := emulator.ParseOrg([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func newE2E(t testing.TB, org *emulator.Org, opts ...emulator.Option) *e2e {
	t.Helper()
	s := emulator.NewServer(org, opts...)
	t.Cleanup(s.Close)
	root := t.TempDir()
	e := &e2e{t: t, s: s, org: org, admin: org.Admin(), home: filepath.Join(root, "home"),
		state: filepath.Join(root, "state"), work: filepath.Join(root, "work"), env: map[string]string{}}
	for _, d := range []string{e.home, e.work} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// environ is the clean environment of a respond subprocess.
func (e *e2e) environ() []string {
	cred := e.admin
	if e.cred != nil {
		cred = *e.cred
	}
	env := map[string]string{
		"PATH":                                "/usr/local/bin:/usr/bin:/bin",
		"HOME":                                e.home,
		"XDG_CONFIG_HOME":                     filepath.Join(e.home, ".config"),
		"XDG_STATE_HOME":                      filepath.Join(e.home, ".local", "state"),
		"XDG_CACHE_HOME":                      filepath.Join(e.home, ".cache"),
		"ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true",
		"ALIBABA_CLOUD_CLI_PROFILE_DISABLED":  "true",
		"ALIBABA_CLOUD_ACCESS_KEY_ID":         cred.AccessKeyID,
		"ALIBABA_CLOUD_ACCESS_KEY_SECRET":     cred.AccessKeySecret,
		"TZ":                                  "UTC",
	}
	for k, v := range e.env {
		env[k] = v
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// globals are the flags every run gets: the emulator and the state directory.
func (e *e2e) globals() []string {
	return []string{"--endpoint", e.s.Endpoint(), "--state-dir", e.state}
}

type runResult struct {
	Stdout, Stderr string
	Code           int
}

func (r runResult) String() string {
	return fmt.Sprintf("exit %d\n--- stdout\n%s\n--- stderr\n%s", r.Code, r.Stdout, r.Stderr)
}

func (e *e2e) command(stdin string, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	cmd := exec.Command(respondBin, args...)
	cmd.Env = e.environ()
	cmd.Dir = e.work
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	return cmd, &out, &errb
}

// run runs respond with args (plus the global flags) and returns what it printed and its exit code.
func (e *e2e) run(stdin string, args ...string) runResult {
	e.t.Helper()
	return e.runRaw(stdin, append(args, e.globals()...)...)
}

// runRaw runs respond with exactly args.
func (e *e2e) runRaw(stdin string, args ...string) runResult {
	e.t.Helper()
	cmd, out, errb := e.command(stdin, args...)
	err := cmd.Run()
	return e.result(err, out, errb)
}

func (e *e2e) result(err error, out, errb *bytes.Buffer) runResult {
	e.t.Helper()
	r := runResult{Stdout: out.String(), Stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.Code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			r.Code = -int(ws.Signal())
		}
	default:
		e.t.Fatalf("run respond: %v", err)
	}
	return r
}

// started is a respond subprocess running in the background.
type started struct {
	cmd       *exec.Cmd
	out, errb *bytes.Buffer
	done      chan struct{}
	err       error
}

func (e *e2e) start(args ...string) *started {
	e.t.Helper()
	cmd, out, errb := e.command("", append(args, e.globals()...)...)
	if err := cmd.Start(); err != nil {
		e.t.Fatalf("start respond: %v", err)
	}
	st := &started{cmd: cmd, out: out, errb: errb, done: make(chan struct{})}
	go func() { st.err = cmd.Wait(); close(st.done) }()
	e.t.Cleanup(func() {
		select {
		case <-st.done:
		default:
			_ = cmd.Process.Kill()
			<-st.done
		}
	})
	return st
}

func (e *e2e) wait(st *started) runResult {
	e.t.Helper()
	select {
	case <-st.done:
	case <-time.After(60 * time.Second):
		_ = st.cmd.Process.Kill()
		<-st.done
		e.t.Fatalf("respond did not finish in 60s\n%s\n%s", st.out, st.errb)
	}
	return e.result(st.err, st.out, st.errb)
}

// waitReached waits for a pause to hold a call, failing the test if respond exits first.
func (e *e2e) waitReached(p *emulator.Pause, st *started) {
	e.t.Helper()
	select {
	case <-p.Reached:
	case <-st.done:
		e.t.Fatalf("respond exited before the pause was reached\n%s", e.result(st.err, st.out, st.errb))
	case <-time.After(60 * time.Second):
		e.t.Fatal("pause not reached in 60s")
	}
}

// ---- configuration files ----

func (e *e2e) writeFile(name, content string) string {
	e.t.Helper()
	p := filepath.Join(e.work, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// sinkDir is where file sinks write in these tests.
func (e *e2e) sinkDir() string { return filepath.Join(e.work, "sink") }

// fileSinkConfig is a configuration with one JSON file sink per user, plus extra YAML.
func (e *e2e) fileSinkConfig(extra string) string {
	e.t.Helper()
	if err := os.MkdirAll(e.sinkDir(), 0o700); err != nil {
		e.t.Fatal(err)
	}
	return e.writeFile("config.yaml", fmt.Sprintf(`sinks:
  app-file:
    type: file
    path: %s/{{.UserName}}.json
    format: json
%s`, e.sinkDir(), extra))
}

// sinkCredential reads the pair a JSON file sink wrote for user.
func (e *e2e) sinkCredential(user string) (id, secret string) {
	e.t.Helper()
	b, err := os.ReadFile(filepath.Join(e.sinkDir(), user+".json"))
	if err != nil {
		e.t.Fatalf("read the sink file: %v", err)
	}
	var v struct{ AccessKeyId, AccessKeySecret string }
	if err := json.Unmarshal(b, &v); err != nil {
		e.t.Fatalf("decode the sink file: %v", err)
	}
	return v.AccessKeyId, v.AccessKeySecret
}

// ---- the emulator's state, through the SDK ----

func (e *e2e) ramClient() *sdkram.Client {
	return emulatortest.RAM(e.t, e.s, emulatortest.AK(e.admin))
}

// keyIDs lists user's AccessKey ids in the admin's account through the SDK.
func (e *e2e) keyIDs(user string) []string {
	e.t.Helper()
	return listKeys(e.t, emulatortest.RAM(e.t, e.s, emulatortest.AK(e.admin)), user)
}

func listKeys(t testing.TB, c *sdkram.Client, user string) []string {
	t.Helper()
	req := sdkram.CreateListAccessKeysRequest()
	req.UserName = user
	resp, err := c.ListAccessKeys(req)
	if err != nil {
		t.Fatalf("SDK ListAccessKeys(%s): %v", user, err)
	}
	var ids []string
	for _, k := range resp.AccessKeys.AccessKey {
		ids = append(ids, k.AccessKeyId)
	}
	sort.Strings(ids)
	return ids
}

// memberRAM is a RAM client in a member account, through AssumeRole from the admin.
func (e *e2e) memberRAM(account, role string) *sdkram.Client {
	e.t.Helper()
	stc := emulatortest.STSClient(e.t, e.s, emulatortest.AK(e.admin))
	req := sts.CreateAssumeRoleRequest()
	req.RoleArn = "acs:ram::" + account + ":role/" + role
	req.RoleSessionName = "e2e-check"
	resp, err := stc.AssumeRole(req)
	if err != nil {
		e.t.Fatalf("SDK AssumeRole %s: %v", req.RoleArn, err)
	}
	c := resp.Credentials
	return emulatortest.RAM(e.t, e.s, emulatortest.STS(c.AccessKeyId, c.AccessKeySecret, c.SecurityToken))
}

// authenticates signs GetCallerIdentity with the pair through the SDK.
func (e *e2e) authenticates(id, secret string) error {
	c := emulatortest.STSClient(e.t, e.s, credentials.NewStaticAKCredentialsProvider(id, secret))
	_, err := c.GetCallerIdentity(sts.CreateGetCallerIdentityRequest())
	return err
}

// checkRotated asserts the converged end state for user: leaked gone, the other keys kept,
// exactly one new key, and that key is the one in the sink and it authenticates.
func (e *e2e) checkRotated(user, leaked string, kept ...string) (newID, newSecret string) {
	e.t.Helper()
	ids := e.keyIDs(user)
	var fresh []string
	for _, id := range ids {
		if id == leaked {
			e.t.Fatalf("leaked key %s still exists: %v", leaked, ids)
		}
		isKept := false
		for _, k := range kept {
			isKept = isKept || k == id
		}
		if !isKept {
			fresh = append(fresh, id)
		}
	}
	for _, k := range kept {
		found := false
		for _, id := range ids {
			found = found || id == k
		}
		if !found {
			e.t.Errorf("the user's other key %s was touched: keys now %v", k, ids)
		}
	}
	if len(fresh) != 1 {
		e.t.Fatalf("want exactly one replacement for %s, keys are %v (kept %v)", user, ids, kept)
	}
	e.notInBin(leaked)
	id, secret := e.sinkCredential(user)
	if id != fresh[0] {
		e.t.Fatalf("sink holds %s, the replacement is %s", id, fresh[0])
	}
	if err := e.authenticates(id, secret); err != nil {
		e.t.Fatalf("the stored secret does not authenticate: %v", err)
	}
	return id, secret
}

// actions is the request log's actions, in order.
func (e *e2e) actions() []string {
	var out []string
	for _, r := range e.s.RequestLog() {
		out = append(out, r.Action)
	}
	return out
}

func (e *e2e) count(action string) int {
	n := 0
	for _, r := range e.s.RequestLog() {
		if r.Action == action && r.Code == "" {
			n++
		}
	}
	return n
}

// ---- the JSON report ----

type e2eReport struct {
	Schema   string `json:"schema"`
	DryRun   bool   `json:"dry_run"`
	ExitCode int    `json:"exit_code"`
	Caller   *struct {
		AccountID   string `json:"account_id"`
		AccessKeyID string `json:"access_key_id"`
	} `json:"caller"`
	Results []struct {
		KeyID          string `json:"key_id"`
		Kind           string `json:"kind"`
		Playbook       string `json:"playbook"`
		PlaybookReason string `json:"playbook_reason"`
		Error          string `json:"error"`
		ExitCode       int    `json:"exit_code"`
		Plan           *struct {
			Schema   string `json:"schema"`
			Decision string `json:"decision"`
			Reason   string `json:"reason"`
			Playbook string `json:"playbook"`
			Steps    []struct {
				Step string `json:"step"`
			} `json:"steps"`
		} `json:"plan"`
		Result *struct {
			Schema   string `json:"schema"`
			Outcome  string `json:"outcome"`
			Decision string `json:"decision"`
			NewKeyID string `json:"new_key_id"`
			UserName string `json:"user_name"`
			Error    string `json:"error"`
			Steps    []struct {
				Step    string `json:"step"`
				Outcome string `json:"outcome"`
				Detail  string `json:"detail"`
			} `json:"steps"`
		} `json:"result"`
	} `json:"results"`
}

func decodeReport(t testing.TB, r runResult) e2eReport {
	t.Helper()
	var rep e2eReport
	if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
		t.Fatalf("stdout is not a JSON report: %v\n%s", err, r)
	}
	if rep.Schema != "respond.report/v1" {
		t.Fatalf("schema %q, want respond.report/v1", rep.Schema)
	}
	if rep.ExitCode != r.Code {
		t.Errorf("report exit_code %d, process exit %d", rep.ExitCode, r.Code)
	}
	return rep
}

// stepOrder is the executed steps, "step:outcome", of result i.
func (rep e2eReport) stepOrder(i int) []string {
	var out []string
	if rep.Results[i].Result == nil {
		return nil
	}
	for _, s := range rep.Results[i].Result.Steps {
		out = append(out, s.Step+":"+s.Outcome)
	}
	return out
}

// ---- misc ----

func mustContain(t testing.TB, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%s does not contain %q:\n%s", what, sub, s)
		}
	}
}

func wantCode(t testing.TB, r runResult, code int) {
	t.Helper()
	if r.Code != code {
		t.Fatalf("want exit %d, got %s", code, r)
	}
}

// readTree returns every regular file under dir with its content.
func readTree(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err == nil {
			out[p] = b
		}
		return nil
	})
	return out
}

// fifoGate is an exec sink that blocks until released: it writes the pair it got on stdin to
// out, then waits for a line on a FIFO.
type fifoGate struct {
	script, fifo, out, marker string
}

func newFifoGate(t testing.TB, dir string) *fifoGate {
	t.Helper()
	g := &fifoGate{script: filepath.Join(dir, "gate.sh"), fifo: filepath.Join(dir, "gate.fifo"),
		out: filepath.Join(dir, "gate.json"), marker: filepath.Join(dir, "gate.started")}
	if err := syscall.Mkfifo(g.fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\ncat > \"$1.tmp\" && mv \"$1.tmp\" \"$1\"\ntouch \"$3\"\nread line < \"$2\"\nexit 0\n"
	if err := os.WriteFile(g.script, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	return g
}

func (g *fifoGate) argv() string {
	return fmt.Sprintf("[/bin/sh, %q, %q, %q, %q]", g.script, g.out, g.fifo, g.marker)
}

// waitStarted waits until the gate's command is running.
func (g *fifoGate) waitStarted(t testing.TB, st *started) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(g.marker); err == nil {
			return
		}
		select {
		case <-st.done:
			t.Fatalf("respond exited before the sink ran\n%s\n%s", st.out, st.errb)
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatal("the exec sink did not start in 60s")
}

// open lets every later reader of the FIFO through (a writer that stays open).
func (g *fifoGate) open(t testing.TB) {
	t.Helper()
	f, err := os.OpenFile(g.fifo, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.WriteString(f, strings.Repeat("go\n", 16))
	t.Cleanup(func() { f.Close() })
}

// parallelLimit keeps the subprocess-heavy tests from swamping a 2-core machine.
var parallelLimit = make(chan struct{}, 4)

func limit(t testing.TB) {
	parallelLimit <- struct{}{}
	t.Cleanup(func() { <-parallelLimit })
}

var _ = context.Background
var _ sync.Mutex

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

func readDirNames(dir string) ([]string, error) {
	es, err := os.ReadDir(dir)
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out, err
}

func mkdir(p string) error { return os.MkdirAll(p, 0o700) }
