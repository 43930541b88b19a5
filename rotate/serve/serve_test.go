package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	sdkram "github.com/aliyun/alibaba-cloud-sdk-go/services/ram"

	"github.com/respond-dev/respond/detect"
	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/ram/emulator"
	"github.com/respond-dev/respond/ram/emulator/emulatortest"
	"github.com/respond-dev/respond/rotate"
	"github.com/respond-dev/respond/rotate/journal"
	"github.com/respond-dev/respond/rotate/source"
	"github.com/respond-dev/respond/rotate/source/githubtest"
)

// The demo organisation's keys the tests post (fake values of the emulator's demo.yaml).
const (
	ciKey       = "LTAI5tFAKECIDEPLOY000001"
	ciSecret    = "FakeCiDeploySecret000000000001"
	token       = "test-bearer-token-0123456789"
	hookSecret  = "test-webhook-secret"
	githubToken = "test-github-token"
	repo        = "acme/site"
)

// env is the emulator, respond's engine over it (the same rotate.Batch the CLI runs, signed in as
// the demo's administrator, a file sink) and a state directory.
type env struct {
	t     *testing.T
	emu   *emulator.Server
	org   *emulator.Org
	state string
	sinks string
	batch *rotate.Batch
	gh    *githubtest.Server
	logs  *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newEnv(t *testing.T) *env {
	e := &env{t: t, org: emulator.DemoOrg(), state: filepath.Join(t.TempDir(), "state"), sinks: t.TempDir(), logs: &syncBuffer{}}
	e.emu = emulatortest.Start(t, e.org)
	conf, err := playbooks.ParseConfig("serve.yaml", []byte(fmt.Sprintf(`
accounts:
  - name: acme-management
    credentials: {source: default}
resource-directory:
  account: acme-management
canaries: [LTAI5tFAKECANARY00000001]
sinks:
  file:
    type: file
    path: %s/{{.UserName}}.env
    format: dotenv
`, e.sinks)))
	if err != nil {
		t.Fatal(err)
	}
	admin := e.org.Admin()
	sess, err := rotate.Connect(context.Background(), conf, rotate.SessionOptions{
		Base:          ram.Config{Endpoint: e.emu.Endpoint(), UserAgent: "respond-test"},
		Home:          ram.StaticCredentials(admin.AccessKeyID, accesskey.NewSecret(admin.AccessKeySecret)),
		FixedEndpoint: true,
		Profile:       func(string) (ram.CredentialSource, bool) { return ram.CredentialSource{}, false },
	})
	if err != nil {
		t.Fatal(err)
	}
	e.batch = &rotate.Batch{Session: sess, Config: conf, StateDir: e.state, ResumeCommand: "respond serve",
		OwnUserAgent: "respond-test", Outputs: rotate.Outputs{Now: time.Now}}
	return e
}

func (e *env) server(opts Options) *Server {
	e.t.Helper()
	opts.StateDir = e.state
	opts.Runner = BatchRunner{New: func() *rotate.Batch {
		return &rotate.Batch{Session: e.batch.Session, Config: e.batch.Config, StateDir: e.batch.StateDir,
			ResumeCommand: e.batch.ResumeCommand, OwnUserAgent: e.batch.OwnUserAgent, Outputs: e.batch.Outputs}
	}, Session: e.batch.Session.(*rotate.Session)}
	if opts.Token.IsZero() {
		opts.Token = accesskey.NewSecret(token)
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.NewTextHandler(e.logs, nil))
	}
	if opts.Gather == 0 {
		opts.Gather = -1
	}
	if e.gh != nil && opts.GitHub == nil {
		g, err := source.NewGitHub(source.GitHubOptions{APIURL: e.gh.URL, Token: accesskey.NewSecret(githubToken)})
		if err != nil {
			e.t.Fatal(err)
		}
		opts.GitHub, opts.WebhookSecret = g, accesskey.NewSecret(hookSecret)
	}
	s, err := New(opts)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// start runs s's workers until the test ends.
func start(t *testing.T, s *Server) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = s.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

func do(t *testing.T, h http.Handler, method, path, auth string, body []byte, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, path, bytes.NewReader(body))
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func accepted(t *testing.T, w *httptest.ResponseRecorder) Accepted {
	t.Helper()
	var a Accepted
	if err := json.Unmarshal(w.Body.Bytes(), &a); err != nil {
		t.Fatalf("answer %d %q: %v", w.Code, w.Body.String(), err)
	}
	return a
}

// waitDone polls GET /v1/findings/{id} until the entry has finished.
func waitDone(t *testing.T, h http.Handler, id string) Entry {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		w := do(t, h, "GET", "/v1/findings/"+id, "Bearer "+token, nil)
		var e Entry
		if w.Code == http.StatusOK && json.Unmarshal(w.Body.Bytes(), &e) == nil && !e.Finished.IsZero() {
			return e
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("finding %s did not finish", id)
	return Entry{}
}

// keys lists a user's keys through the SDK (not respond's code).
func (e *env) keys(user string) []string {
	e.t.Helper()
	c := emulatortest.RAM(e.t, e.emu, emulatortest.AK(e.org.Admin()))
	req := sdkram.CreateListAccessKeysRequest()
	req.UserName = user
	resp, err := c.ListAccessKeys(req)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, k := range resp.AccessKeys.AccessKey {
		out = append(out, k.AccessKeyId)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestFindings_acceptedOnDiskThenRemediated(t *testing.T) {
	e := newEnv(t)
	s := e.server(Options{})
	h := s.Handler()
	body := []byte("ALIBABA_CLOUD_ACCESS_KEY_ID=" + ciKey + "\nALIBABA_CLOUD_ACCESS_KEY_SECRET=" + ciSecret + "\n")
	w := do(t, h, "POST", "/v1/findings", "Bearer "+token, body)
	if w.Code != http.StatusAccepted {
		t.Fatalf("POST /v1/findings = %d %s", w.Code, w.Body)
	}
	a := accepted(t, w)
	if len(a.Findings) != 1 || a.Findings[0].KeyID != ciKey {
		t.Fatalf("accepted %+v", a)
	}
	id := a.Findings[0].ID
	// On disk before the answer (no worker has run yet), in the intake log, 0600, with the secret
	// only there.
	p := filepath.Join(e.state, SpoolDir, "intake", "00000001.jsonl")
	st, err := os.Lstat(p)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("intake log %s: %v %v", p, st, err)
	}
	if b, _ := os.ReadFile(p); !bytes.Contains(b, []byte(`"id":"`+id+`"`)) || !bytes.Contains(b, []byte(ciSecret)) {
		t.Fatalf("intake log %s lacks the entry: %s", p, b)
	}
	if s.Pending() != 1 {
		t.Errorf("Pending = %d", s.Pending())
	}
	start(t, s)
	got := waitDone(t, h, id)
	if got.Outcome != "remediated" || got.RunID == "" {
		t.Fatalf("entry %+v", got)
	}
	if k := e.keys("ci-deploy"); contains(k, ciKey) || len(k) != 1 {
		t.Errorf("ci-deploy's keys after the rotation: %v", k)
	}
	// The done record is written first, then the intake log (with the secret) removed.
	for i := 0; i < 500 && s.Pending() == 0; i++ {
		if _, err := os.Lstat(p); os.IsNotExist(err) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := os.Lstat(p); !os.IsNotExist(err) {
		t.Errorf("the intake log (with the secret) is still there: %v", err)
	}
	// The secret is nowhere in the state directory (the sink is elsewhere), the log, or the answers.
	filepath.Walk(e.state, func(path string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			if b, _ := os.ReadFile(path); bytes.Contains(b, []byte(ciSecret)) {
				t.Errorf("%s holds the leaked secret", path)
			}
		}
		return nil
	})
	if strings.Contains(e.logs.String(), ciSecret) || strings.Contains(e.logs.String(), token) {
		t.Errorf("the log holds a secret:\n%s", e.logs)
	}
	m := metricsText(t, h)
	for _, want := range []string{`respond_findings_received_total{source="findings"} 1`, `respond_rotations_total{outcome="remediated"} 1`,
		"respond_queue_depth 0", `respond_accept_seconds_count 1`} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, m)
		}
	}
}

func metricsText(t *testing.T, h http.Handler) string {
	t.Helper()
	w := do(t, h, "GET", "/metrics", "", nil)
	if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("/metrics = %d %s", w.Code, w.Header())
	}
	return w.Body.String()
}

func TestFindings_refusals(t *testing.T) {
	e := newEnv(t)
	s := e.server(Options{Config: &playbooks.ServeConfig{MaxBody: 64, Queue: 2, Rate: 1000, Burst: 1000, Workers: 1}})
	h := s.Handler()
	pair := []byte(ciKey + " " + ciSecret)
	for _, tt := range []struct {
		name   string
		auth   string
		body   []byte
		status int
	}{
		{"no token", "", pair, http.StatusUnauthorized},
		{"wrong token", "Bearer nope", pair, http.StatusUnauthorized},
		{"token without Bearer", token, pair, http.StatusUnauthorized},
		{"too large", "Bearer " + token, bytes.Repeat([]byte("x"), 65), http.StatusRequestEntityTooLarge},
		{"no key", "Bearer " + token, []byte(`{"plugins_used":[],"results":{}}`), http.StatusUnprocessableEntity},
		{"empty", "Bearer " + token, nil, http.StatusAccepted},
		{"first", "Bearer " + token, pair, http.StatusAccepted},
		{"second", "Bearer " + token, []byte("LTAI5tFAKEBILLING0LEAK01 FakeBillingLeakedSecret0000001"), http.StatusAccepted},
		{"queue full", "Bearer " + token, []byte("LTAI5tFAKEBILLING0KEEP01 FakeBillingKeepSecret000000001"), http.StatusTooManyRequests},
	} {
		w := do(t, h, "POST", "/v1/findings", tt.auth, tt.body)
		if w.Code != tt.status {
			t.Errorf("%s: %d %s, want %d", tt.name, w.Code, w.Body, tt.status)
		}
		if tt.status == http.StatusTooManyRequests && w.Header().Get("Retry-After") == "" {
			t.Errorf("%s: no Retry-After", tt.name)
		}
		if tt.status == http.StatusUnauthorized && w.Header().Get("WWW-Authenticate") == "" {
			t.Errorf("%s: no WWW-Authenticate", tt.name)
		}
	}
	if s.Pending() != 2 {
		t.Errorf("Pending = %d, want 2", s.Pending())
	}
	m := metricsText(t, h)
	for _, want := range []string{`respond_requests_rejected_total{source="findings",reason="unauthorized"} 3`,
		`respond_requests_rejected_total{source="findings",reason="queue_full"} 1`, "respond_queue_capacity 2", "respond_queue_depth 2"} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(e.logs.String(), ciSecret) || strings.Contains(e.logs.String(), token) {
		t.Errorf("the log holds a secret")
	}
	// Per-source rate limit: a burst of 2, then 429 with Retry-After; other sources keep theirs.
	s2 := e.server(Options{Config: &playbooks.ServeConfig{MaxBody: 1 << 20, Queue: 100, Rate: 0.001, Burst: 2, Workers: 1}})
	h2 := s2.Handler()
	codes := []int{}
	for range 3 {
		codes = append(codes, do(t, h2, "POST", "/v1/findings", "Bearer "+token, nil).Code)
	}
	if fmt.Sprint(codes) != "[202 202 429]" {
		t.Errorf("rate-limited codes %v", codes)
	}
}

func TestRestartResumesAcceptedFindings(t *testing.T) {
	e := newEnv(t)
	s := e.server(Options{})
	w := do(t, s.Handler(), "POST", "/v1/findings", "Bearer "+token, []byte(ciKey+","+ciSecret+"\n"))
	if w.Code != http.StatusAccepted {
		t.Fatal(w.Code, w.Body)
	}
	id := accepted(t, w).Findings[0].ID
	// The process dies before any worker ran: a new server over the same state directory has it.
	s2 := e.server(Options{})
	if s2.Pending() != 1 {
		t.Fatalf("after restart Pending = %d, want 1", s2.Pending())
	}
	start(t, s2)
	if got := waitDone(t, s2.Handler(), id); got.Outcome != "remediated" {
		t.Fatalf("resumed entry: %+v", got)
	}
	if s3 := e.server(Options{}); s3.Pending() != 0 {
		t.Errorf("a finished finding came back: %d pending", s3.Pending())
	}
}

func TestProbes(t *testing.T) {
	e := newEnv(t)
	var fail error
	calls := 0
	s := e.server(Options{Ready: func(ctx context.Context) error { calls++; return fail }})
	h := s.Handler()
	if w := do(t, h, "GET", "/healthz", "", nil); w.Code != 200 {
		t.Errorf("/healthz = %d", w.Code)
	}
	if w := do(t, h, "GET", "/readyz", "", nil); w.Code != 200 {
		t.Errorf("/readyz = %d %s", w.Code, w.Body)
	}
	fail = fmt.Errorf("InvalidAccessKeyId.NotFound")
	s.readyAt = time.Time{}
	if w := do(t, h, "GET", "/readyz", "", nil); w.Code != 503 || !strings.Contains(w.Body.String(), "credentials") {
		t.Errorf("/readyz with failing credentials = %d %s", w.Code, w.Body)
	}
	// The probe is unauthenticated: a failure is remembered like a success, not checked again at
	// every request.
	before := calls
	if w := do(t, h, "GET", "/readyz", "", nil); w.Code != 503 || calls != before {
		t.Errorf("/readyz again within 10 s = %d, %d more credential checks (want 503, 0)", w.Code, calls-before)
	}
	fail = nil
	if err := os.Chmod(filepath.Join(e.state, SpoolDir, "pending"), 0o500); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(filepath.Join(e.state, SpoolDir, "pending"), 0o700)
	if os.Getuid() != 0 {
		if w := do(t, h, "GET", "/readyz", "", nil); w.Code != 503 || !strings.Contains(w.Body.String(), "writable") {
			t.Errorf("/readyz with a read-only state directory = %d %s", w.Code, w.Body)
		}
	}
}

// A key respond's journal says it remediated, reported again, ends already-remediated after the
// cloud confirms it gone for good (the owner's key list, then the recycle bin), without the
// engine's owner search over every account.
func TestSameKeyAgainIsAlreadyRemediated(t *testing.T) {
	e := newEnv(t)
	gone := 0
	s := e.server(Options{Remediated: func(ctx context.Context, f detect.Finding) (journal.State, bool, error) {
		gone++
		return e.batch.Fresh().RemediatedBefore(ctx, f)
	}})
	start(t, s)
	h := s.Handler()
	post := func() string {
		w := do(t, h, "POST", "/v1/findings", "Bearer "+token, []byte(ciKey+" "+ciSecret))
		if w.Code != http.StatusAccepted {
			t.Fatal(w.Code, w.Body)
		}
		return accepted(t, w).Findings[0].ID
	}
	if got := waitDone(t, h, post()); got.Outcome != "remediated" {
		t.Fatalf("first: %+v", got)
	}
	before := len(e.emu.RequestLog())
	got := waitDone(t, h, post())
	if got.Outcome != "already-remediated" || gone != 2 { // asked for each finding; yes the second time
		t.Fatalf("second: %+v (Remediated asked %d times)", got, gone)
	}
	var actions []string
	for _, r := range e.emu.RequestLog()[before:] {
		actions = append(actions, r.Action)
	}
	if fmt.Sprint(actions) != "[ListAccessKeys GetAccessKeyInfoInRecycleBin]" {
		t.Errorf("the second report made the calls %v, want one ListAccessKeys and one recycle-bin lookup", actions)
	}
}
