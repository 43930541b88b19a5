package main

// End-to-end tests of `respond serve`: the built binary against the in-process emulator and the
// fake GitHub REST API, checked through the Alibaba SDK and the fake's own state.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/sas"

	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/ram/emulator"
	"github.com/respond-dev/respond/ram/emulator/emulatortest"
	"github.com/respond-dev/respond/rotate/source"
	"github.com/respond-dev/respond/rotate/source/githubtest"
)

const (
	serveToken   = "e2e-serve-token-5b0c1f"
	serveHook    = "e2e-webhook-secret"
	serveGHToken = "e2e-github-token"
	serveRepo    = "acme/site"
)

// served is a running respond serve.
type served struct {
	cmd  *exec.Cmd
	url  string
	errb *lockedBuffer
	done chan struct{}
	err  error
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// serveConfig writes a configuration with a file sink and serve: pointed at the fake GitHub.
func (e *e2e) serveConfig(gh *githubtest.Server) string {
	e.env["RESPOND_SERVE_TOKEN"] = serveToken
	e.env["E2E_GITHUB_TOKEN"] = serveGHToken
	e.env["E2E_GITHUB_HOOK"] = serveHook
	return e.fileSinkConfig(fmt.Sprintf(`accounts:
  - name: acme-management
    credentials: {source: default}
resource-directory:
  account: acme-management
serve:
  listen: 127.0.0.1:0
  github:
    api-url: %s
    token-env: E2E_GITHUB_TOKEN
    webhook-secret-env: E2E_GITHUB_HOOK
`, gh.URL))
}

// serve starts respond serve and waits for its address.
func (e *e2e) serve(config string) *served {
	e.t.Helper()
	return e.serveArgs(append([]string{"serve", "--config", config}, e.globals()...)...)
}

// serveArgs starts respond with args (a serve command) and waits for its address.
func (e *e2e) serveArgs(args ...string) *served {
	e.t.Helper()
	cmd := exec.Command(respondBin, args...)
	cmd.Env, cmd.Dir = e.environ(), e.work
	out, err := cmd.StdoutPipe()
	if err != nil {
		e.t.Fatal(err)
	}
	s := &served{cmd: cmd, errb: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stderr = s.errb
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "RESPOND_SERVE_URL="); ok {
				urls <- u
			}
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	go func() { s.err = cmd.Wait(); close(s.done) }()
	e.t.Cleanup(func() {
		select {
		case <-s.done:
		default:
			_ = cmd.Process.Kill()
			<-s.done
		}
	})
	select {
	case s.url = <-urls:
	case <-s.done:
		e.t.Fatalf("respond serve exited: %v\n%s", s.err, s.errb)
	case <-time.After(60 * time.Second):
		e.t.Fatalf("respond serve did not listen in 60 s\n%s", s.errb)
	}
	return s
}

func (s *served) request(t testing.TB, method, path string, body []byte, hdr ...string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, s.url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (s *served) hook(t testing.TB, body []byte, delivery, secret string) (int, string) {
	t.Helper()
	code, b := s.request(t, "POST", "/v1/github", body, "X-GitHub-Event", "secret_scanning_alert",
		"X-GitHub-Delivery", delivery, "X-Hub-Signature-256", source.Sign(accesskey.NewSecret(secret), body))
	var a struct{ Findings []struct{ ID string } }
	_ = json.Unmarshal(b, &a)
	if len(a.Findings) == 1 {
		return code, a.Findings[0].ID
	}
	return code, ""
}

// finding polls GET /v1/findings/{id} until it finished.
func (s *served) finished(t testing.TB, id string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		code, b := s.request(t, "GET", "/v1/findings/"+id, nil, "Authorization", "Bearer "+serveToken)
		var e map[string]any
		if code == 200 && json.Unmarshal(b, &e) == nil && e["finished"] != nil {
			return e
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("finding %s did not finish\n%s", id, s.errb)
	return nil
}

func (s *served) metrics(t testing.TB) string {
	t.Helper()
	code, b := s.request(t, "GET", "/metrics", nil)
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	return string(b)
}

// githubLeak puts on the fake GitHub an alert whose secret is user's key secret, in a .env file
// that holds the pair; it returns the webhook payload GitHub would post for it.
func githubLeak(t *testing.T, gh *githubtest.Server, number int, key emulator.Key) []byte {
	t.Helper()
	sha := fmt.Sprintf("%040x", number)
	gh.AddAlert(serveRepo, map[string]any{"number": number, "state": "open", "secret_type": source.SecretTypeAlibabaSecret,
		"secret": key.Secret, "html_url": fmt.Sprintf("https://github.com/%s/security/secret-scanning/%d", serveRepo, number)},
		[]any{map[string]any{"type": "commit", "details": map[string]any{"path": ".env", "start_line": 2, "blob_sha": sha, "commit_sha": strings.Repeat("b", 40)}}})
	gh.AddBlob(serveRepo, sha, []byte("ALIBABA_CLOUD_ACCESS_KEY_ID="+key.ID+"\nALIBABA_CLOUD_ACCESS_KEY_SECRET="+key.Secret+"\n"))
	payload, _ := json.Marshal(map[string]any{"action": "created",
		"alert":      map[string]any{"number": number, "secret_type": source.SecretTypeAlibabaSecret, "state": "open"},
		"repository": map[string]any{"full_name": serveRepo}})
	return payload
}

// userKey finds a user's key (id and secret) in the organisation.
func userKey(t *testing.T, org *emulator.Org, user string, index int) emulator.Key {
	t.Helper()
	for _, a := range org.Accounts {
		for _, u := range a.Users {
			if u.Name == user {
				return u.Keys[index]
			}
		}
	}
	t.Fatalf("no user %s", user)
	return emulator.Key{}
}

func TestE2E_Serve_GitHubWebhook(t *testing.T) {
	e := newE2E(t, emulator.DemoOrg())
	gh := githubtest.New(serveGHToken)
	t.Cleanup(gh.Close)
	ci := userKey(t, e.org, "ci-deploy", 0)
	payload := githubLeak(t, gh, 7, ci)
	s := e.serve(e.serveConfig(gh))

	// A wrongly signed delivery: 401, nothing queued, GitHub never asked.
	if code, _ := s.hook(t, payload, "d-forged", "guessed-secret"); code != http.StatusUnauthorized {
		t.Fatalf("forged delivery: %d", code)
	}
	if m := s.metrics(t); !strings.Contains(m, "respond_queue_depth 0") {
		t.Errorf("the forged delivery was queued:\n%s", m)
	}
	if n := len(gh.Calls()); n != 0 {
		t.Errorf("a forged delivery made %d GitHub calls", n)
	}
	// Signed: 202; the same delivery again: one finding, one rotation. The cloud throttles the
	// delete once: respond retries it, and /metrics counts both calls and the throttle.
	e.s.AddFault(emulator.Fault{Action: "DeleteAccessKey", Kind: emulator.FaultThrottle, Count: 1})
	code, id := s.hook(t, payload, "5a1e6f9e-0000-4000-8000-000000000007", serveHook)
	if code != http.StatusAccepted || id == "" {
		t.Fatalf("signed delivery: %d %q\n%s", code, id, s.errb)
	}
	if code, again := s.hook(t, payload, "5a1e6f9e-0000-4000-8000-000000000007", serveHook); code != http.StatusOK || again != id {
		t.Errorf("redelivery: %d %q (want 200 and %s)", code, again, id)
	}
	got := s.finished(t, id)
	if got["outcome"] != "remediated" {
		t.Fatalf("finding ended %v\n%s", got, s.errb)
	}
	// The key is rotated: checked through the SDK.
	keys := e.keyIDs("ci-deploy")
	if len(keys) != 1 || keys[0] == ci.ID {
		t.Errorf("ci-deploy's keys after the webhook: %v (leaked %s)", keys, ci.ID)
	}
	if newID, _ := e.sinkCredential("ci-deploy"); len(keys) == 1 && newID != keys[0] {
		t.Errorf("the sink holds %s, the user %v", newID, keys)
	}
	// The alert is resolved as revoked, naming the run.
	al := gh.Alert(serveRepo, 7)
	comment, _ := al["resolution_comment"].(string)
	if al["state"] != "resolved" || al["resolution"] != "revoked" || !strings.Contains(comment, fmt.Sprint(got["run_id"])) {
		t.Errorf("alert after remediation: %v %v %q (run %v)", al["state"], al["resolution"], comment, got["run_id"])
	}
	m := s.metrics(t)
	for _, want := range []string{`respond_findings_received_total{source="github"} 1`, `respond_rotations_total{outcome="remediated"} 1`,
		`respond_alerts_closed_total{source="github",result="resolved"} 1`, `respond_requests_rejected_total{source="github",reason="bad_signature"} 1`,
		`respond_github_api_calls_total{status="200"}`, `respond_cloud_api_calls_total{product="ram",action="DeleteAccessKey"} 2`,
		`respond_cloud_api_throttles_total{product="ram",action="DeleteAccessKey"} 1`, `respond_cloud_api_calls_total{product="sts",action="AssumeRole"}`} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %q\n%s", want, m)
		}
	}
	// SIGTERM: stops, exit 0.
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
		if s.err != nil {
			t.Errorf("respond serve after SIGTERM: %v\n%s", s.err, s.errb)
		}
	case <-time.After(60 * time.Second):
		t.Error("respond serve did not stop on SIGTERM")
	}
	for _, secret := range []string{ci.Secret, serveToken, serveHook, serveGHToken} {
		if strings.Contains(s.errb.String(), secret) {
			t.Errorf("stderr holds a secret (%.6s…)", secret)
		}
	}
}

// Killed (SIGKILL) after the 202 and in the middle of the rotation, respond serve finishes the
// finding when it starts again.
func TestE2E_Serve_KilledAfterAccept(t *testing.T) {
	e := newE2E(t, emulator.DemoOrg())
	gh := githubtest.New(serveGHToken)
	t.Cleanup(gh.Close)
	conf := e.serveConfig(gh)
	leaked, keep := userKey(t, e.org, "billing-app", 0), userKey(t, e.org, "billing-app", 1)
	pause := e.s.PauseAt("DeleteAccessKey")
	s := e.serve(conf)
	code, b := s.request(t, "POST", "/v1/findings", []byte("ALIBABA_CLOUD_ACCESS_KEY_ID="+leaked.ID+"\nALIBABA_CLOUD_ACCESS_KEY_SECRET="+leaked.Secret+"\n"),
		"Authorization", "Bearer "+serveToken)
	var a struct{ Findings []struct{ ID string } }
	if code != http.StatusAccepted || json.Unmarshal(b, &a) != nil || len(a.Findings) != 1 {
		t.Fatalf("POST /v1/findings: %d %s", code, b)
	}
	select {
	case <-pause.Reached:
	case <-time.After(60 * time.Second):
		t.Fatalf("the rotation never reached DeleteAccessKey\n%s", s.errb)
	}
	_ = s.cmd.Process.Kill()
	<-s.done
	pause.Release()

	s2 := e.serve(conf)
	got := s2.finished(t, a.Findings[0].ID)
	if got["outcome"] != "remediated" && got["outcome"] != "already-remediated" {
		t.Fatalf("after restart the finding ended %v\n%s", got, s2.errb)
	}
	keys := e.keyIDs("billing-app")
	if len(keys) != 2 || !containsString(keys, keep.ID) || containsString(keys, leaked.ID) {
		t.Errorf("billing-app's keys: %v (leaked %s, kept %s): want the kept key and one replacement\njournal:\n%s\nafter the restart:\n%s", keys, leaked.ID, keep.ID,
			readFile(t, filepath.Join(e.state, leaked.ID+".jsonl")), s2.errb)
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// With serve.security-center, respond serve polls Security Center at start: the demo's pending
// leak of billing-app's key is remediated and its record marked handled (checked through the
// SDK's sas client); the root key's record is left pending. respond status, over the same state
// directory, lists the root key's record as left pending, and no longer the billing-app record
// an earlier run had left pending.
func TestE2E_Serve_SecurityCenterPoll(t *testing.T) {
	e := newE2E(t, emulator.DemoOrg())
	gh := githubtest.New(serveGHToken)
	t.Cleanup(gh.Close)
	conf := e.serveConfig(gh)
	e.writeFile("config.yaml", readFile(t, conf)+"  security-center:\n    poll: 10m\n")
	if err := os.MkdirAll(e.state, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := source.UpdatePending(context.Background(), e.state, []source.Pending{{Reason: "left by an earlier run", Record: source.Record{AccountID: "1000000000000001",
		ID: demoLeakRecord, KeyID: accesskey.MustParseID("LTAI5tFAKEBILLING0LEAK01")}}}, nil, time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	s := e.serve(conf)
	deadline := time.Now().Add(90 * time.Second)
	// The finding has ended once it is counted as a rotation (its records' list is updated first).
	for m := s.metrics(t); !strings.Contains(m, `respond_alerts_closed_total{source="security-center",result="closed"} 1`) ||
		!strings.Contains(m, `respond_rotations_total{outcome="remediated"} 1`); m = s.metrics(t) {
		if time.Now().After(deadline) {
			t.Fatalf("the Security Center record was never closed\n%s\n%s", s.metrics(t), s.errb)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if keys := e.keyIDs("billing-app"); containsString(keys, "LTAI5tFAKEBILLING0LEAK01") {
		t.Errorf("billing-app still holds the leaked key: %v", keys)
	}
	c := emulatortest.SAS(t, e.s, emulatortest.AK(e.admin))
	req := sas.CreateDescribeAccesskeyLeakListRequest()
	req.PageSize = "100"
	resp, err := c.DescribeAccesskeyLeakList(req)
	if err != nil {
		t.Fatal(err)
	}
	status := map[string]string{}
	for _, l := range resp.AccessKeyLeakList {
		status[l.AccesskeyId] = l.Status
	}
	if status["LTAI5tFAKEBILLING0LEAK01"] != "dealed" || status["LTAI5tFAKEROOTACME000001"] != "pending" {
		t.Errorf("Security Center records: %v", status)
	}
	// Closed by the engine's close step, after the key was deleted, journaled, once.
	j := readFile(t, filepath.Join(e.state, "LTAI5tFAKEBILLING0LEAK01.jsonl"))
	del, closed := strings.Index(j, `"action":"ram:DeleteAccessKey"`), strings.Index(j, `"step":"close"`)
	if del < 0 || closed < del || !strings.Contains(j[closed:], "sas:ModifyAccessKeyLeakDeal") {
		t.Errorf("the journal does not record the close after the delete:\n%s", j)
	}
	deals := 0
	for _, r := range e.s.RequestLog() {
		if r.Action == "ModifyAccessKeyLeakDeal" {
			deals++
		}
	}
	if deals != 1 {
		t.Errorf("%d ModifyAccessKeyLeakDeal calls, want 1", deals)
	}
	r := e.run("", "status", "--output", "json")
	var st struct {
		Pending []struct {
			Record struct {
				ID    int64  `json:"id"`
				KeyID string `json:"key_id"`
			} `json:"record"`
			Reason string `json:"reason"`
		} `json:"security_center_pending"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &st); err != nil || r.Code != 0 || len(st.Pending) != 1 || st.Pending[0].Record.ID != demoRootRecord ||
		!strings.Contains(st.Pending[0].Reason, "root-account key") {
		t.Errorf("respond status: %v %d %s\n%s", err, r.Code, r.Stdout, r.Stderr)
	}
}

// respond serve --sandbox, with no sink configured, stores the replacement where the CLI's
// --sandbox does (a 0600 dotenv file in the state directory's sandbox/), so the run is whole.
func TestE2E_Serve_SandboxStoresWithoutASink(t *testing.T) {
	e := newE2E(t, emulator.DemoOrg())
	e.env["RESPOND_SERVE_TOKEN"] = serveToken
	leaked := userKey(t, e.org, "billing-app", 0)
	s := e.serveArgs("serve", "--sandbox", "--state-dir", e.state, "--listen", "127.0.0.1:0")
	code, b := s.request(t, "POST", "/v1/findings", []byte("ALIBABA_CLOUD_ACCESS_KEY_ID="+leaked.ID+"\nALIBABA_CLOUD_ACCESS_KEY_SECRET="+leaked.Secret+"\n"),
		"Authorization", "Bearer "+serveToken)
	var a struct{ Findings []struct{ ID string } }
	if code != http.StatusAccepted || json.Unmarshal(b, &a) != nil || len(a.Findings) != 1 {
		t.Fatalf("POST /v1/findings: %d %s", code, b)
	}
	got := s.finished(t, a.Findings[0].ID)
	if got["outcome"] != "remediated" {
		t.Fatalf("the sandbox finding ended %v\n%s", got, s.errb)
	}
	p := filepath.Join(e.state, "sandbox", "billing-app.env")
	st, err := os.Stat(p)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("the sandbox sink's file %s: %v %v", p, st, err)
	}
	if env := readFile(t, p); !strings.Contains(env, "ALIBABA_CLOUD_ACCESS_KEY_ID=LTAI") || strings.Contains(env, leaked.ID) {
		t.Errorf("the sandbox sink holds no new key id:\n%s", strings.SplitN(env, "\n", 2)[0])
	}
}

// An id-only finding is never acted on unless its source is trusted (design §6 rule 8), even
// when respond remediated the key before: respond serve ends it id-only, as `respond --from -`
// does, without asking the cloud about it — not already-remediated after a look at the key's
// owner (the shortcut serve takes for a key reported again, which holds only for a finding the
// engine would act on).
func TestE2E_Serve_IDOnlyAfterRemediation(t *testing.T) {
	e := newE2E(t, emulator.DemoOrg())
	gh := githubtest.New(serveGHToken)
	t.Cleanup(gh.Close)
	conf := e.serveConfig(gh)
	leaked := userKey(t, e.org, "billing-app", 0)
	s := e.serve(conf)
	post := func(body string) string {
		t.Helper()
		code, b := s.request(t, "POST", "/v1/findings", []byte(body), "Authorization", "Bearer "+serveToken)
		var a struct{ Findings []struct{ ID string } }
		if code != http.StatusAccepted || json.Unmarshal(b, &a) != nil || len(a.Findings) != 1 {
			t.Fatalf("POST /v1/findings: %d %s", code, b)
		}
		return a.Findings[0].ID
	}
	pair := "ALIBABA_CLOUD_ACCESS_KEY_ID=" + leaked.ID + "\nALIBABA_CLOUD_ACCESS_KEY_SECRET=" + leaked.Secret + "\n"
	if got := s.finished(t, post(pair)); got["outcome"] != "remediated" {
		t.Fatalf("the pair ended %v\n%s", got, s.errb)
	}
	idOnly := "see OSSAccessKeyId=" + leaked.ID + "\n"
	before := len(e.s.RequestLog())
	got := s.finished(t, post(idOnly))
	for _, q := range e.s.RequestLog()[before:] {
		t.Errorf("respond serve asked the cloud about an id-only finding: %s %v", q.Action, q.Params)
	}

	r := e.run(idOnly, "--from", "-", "--yes", "--config", conf, "--output", "json")
	wantCode(t, r, 5)
	rep := decodeReport(t, r)
	if len(rep.Results) != 1 || rep.Results[0].Result == nil {
		t.Fatalf("respond --from -: %+v", rep.Results)
	}
	if cli := string(rep.Results[0].Result.Outcome); got["outcome"] != cli || cli != "id-only" {
		t.Errorf("the id-only finding ended %v through respond serve, %s through respond --from -", got["outcome"], cli)
	}
}
