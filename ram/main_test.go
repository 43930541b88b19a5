package ram

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/respond-dev/respond/ram/accesskey"
)

// TestMain keeps every SDK call on the machine: no proxy, no ECS metadata, no CLI profile.
func TestMain(m *testing.M) {
	for _, v := range []string{"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"} {
		os.Unsetenv(v)
	}
	os.Setenv("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
	os.Setenv("ALIBABA_CLOUD_CLI_PROFILE_DISABLED", "true")
	os.Exit(m.Run())
}

const (
	testKeyID  = "LTAI5tTESTKEYID000000001"
	testSecret = "testSecretTESTSECRET0000000001"
)

// fakeSleep records backoff waits instead of sleeping.
type fakeSleep struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (f *fakeSleep) Sleep(ctx context.Context, d time.Duration) error {
	f.mu.Lock()
	f.waits = append(f.waits, d)
	f.mu.Unlock()
	return ctx.Err()
}

func (f *fakeSleep) Waits() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.waits...)
}

// newClient builds a Client against endpoint (host:port) with static test credentials, fast
// fake sleeps and a fixed jitter.
func newClient(t testing.TB, endpoint string, attempts int) (*Client, *fakeSleep) {
	t.Helper()
	fs := &fakeSleep{}
	c, err := New(context.Background(), Config{
		Endpoint:    endpoint,
		Credentials: StaticCredentials(testKeyID, accesskey.NewSecret(testSecret)),
		ReadTimeout: 5 * time.Second,
		UserAgent:   "respond/test",
		Retry:       RetryPolicy{MaxAttempts: attempts, Sleep: fs.Sleep, Jitter: func() float64 { return 0.5 }},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c, fs
}

// canned is one scripted answer of a fake server.
type canned struct {
	status int
	body   string
	header map[string]string
	drop   bool // hijack and close without an answer
}

// script serves the answers in order (the last one repeats) and counts the requests by Action.
type script struct {
	mu      sync.Mutex
	answers map[string][]canned
	hits    map[string]int
	queries []string
}

func newScript(t *testing.T, answers map[string][]canned) (*script, string) {
	t.Helper()
	s := &script{answers: answers, hits: map[string]int{}}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, strings.TrimPrefix(srv.URL, "http://")
}

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	action := r.Form.Get("Action")
	s.mu.Lock()
	n := s.hits[action]
	s.hits[action]++
	s.queries = append(s.queries, r.URL.RawQuery)
	list := s.answers[action]
	s.mu.Unlock()
	if len(list) == 0 {
		w.WriteHeader(404)
		_, _ = w.Write([]byte(`{"RequestId":"X","HostId":"h","Code":"InvalidAction.NotFound","Message":"Specified api is not found, please check your url and method."}`))
		return
	}
	a := list[min(n, len(list)-1)]
	if a.drop {
		hj, _ := w.(http.Hijacker)
		conn, _, err := hj.Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	for k, v := range a.header {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(a.status)
	_, _ = w.Write([]byte(a.body))
}

func (s *script) Hits(action string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[action]
}

func errBody(code, msg string) string {
	return `{"RequestId":"REQ-1","HostId":"ram.aliyuncs.com","Code":"` + code + `","Message":"` + msg + `","Recommend":"https://api.aliyun.com/troubleshoot?q=x"}`
}
