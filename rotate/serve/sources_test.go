package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/respond-dev/respond/detect"
	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/rotate"
	"github.com/respond-dev/respond/rotate/source"
	"github.com/respond-dev/respond/rotate/source/githubtest"
)

const blobSHA = "1111111111111111111111111111111111111111"

// webhook is the recorded secret_scanning_alert payload, for alert number of repo.
func webhook(t testing.TB, action string, number int) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "formats", "github-secret-scanning-webhook.json"))
	if err != nil {
		t.Fatal(err)
	}
	var p map[string]any
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	p["action"] = action
	p["alert"].(map[string]any)["number"] = number
	p["repository"].(map[string]any)["full_name"] = repo
	out, _ := json.Marshal(p)
	return out
}

// addLeak puts an alert on the fake GitHub whose secret is key's secret, found in a .env file
// that holds the pair.
func addLeak(gh *githubtest.Server, number int, key, secret string) {
	gh.AddAlert(repo, map[string]any{"number": number, "state": "open", "secret_type": source.SecretTypeAlibabaSecret, "secret": secret,
		"html_url": fmt.Sprintf("https://github.com/%s/security/secret-scanning/%d", repo, number)},
		[]any{map[string]any{"type": "commit", "details": map[string]any{"path": ".env", "start_line": 2, "blob_sha": blobSHA, "commit_sha": strings.Repeat("a", 40)}}})
	gh.AddBlob(repo, blobSHA, []byte("ALIBABA_CLOUD_ACCESS_KEY_ID="+key+"\nALIBABA_CLOUD_ACCESS_KEY_SECRET="+secret+"\n"))
}

func postHook(t *testing.T, h http.Handler, body []byte, delivery, secret string) (int, Accepted) {
	t.Helper()
	w := do(t, h, "POST", "/v1/github", "", body, "X-GitHub-Event", "secret_scanning_alert", "X-GitHub-Delivery", delivery,
		"X-Hub-Signature-256", source.Sign(accesskey.NewSecret(secret), body))
	var a Accepted
	_ = json.Unmarshal(w.Body.Bytes(), &a)
	return w.Code, a
}

func TestGitHub_webhookRotatesAndResolves(t *testing.T) {
	e := newEnv(t)
	e.gh = githubtest.New(githubToken)
	t.Cleanup(e.gh.Close)
	addLeak(e.gh, 5, ciKey, ciSecret)
	s := e.server(Options{Retry: 10 * time.Millisecond})
	h := s.Handler()

	// A wrong signature is refused before anything is read or written.
	if code, _ := postHook(t, h, webhook(t, "created", 5), "d-bad", "not-the-secret"); code != http.StatusUnauthorized {
		t.Fatalf("wrongly signed delivery: %d", code)
	}
	if s.Pending() != 0 {
		t.Fatalf("a wrongly signed delivery was accepted")
	}
	code, a := postHook(t, h, webhook(t, "created", 5), "72d3162e-cc78-11e3-81ab-4c9367dc0958", hookSecret)
	if code != http.StatusAccepted || len(a.Findings) != 1 {
		t.Fatalf("signed delivery: %d %+v", code, a)
	}
	id := a.Findings[0].ID
	// The same delivery again (GitHub redelivers): recognised, not queued twice.
	if code, again := postHook(t, h, webhook(t, "created", 5), "72d3162e-cc78-11e3-81ab-4c9367dc0958", hookSecret); code != http.StatusOK || !again.Findings[0].Duplicate || again.Findings[0].ID != id {
		t.Fatalf("redelivery: %d %+v", code, again)
	}
	// Another delivery for the same alert (publicly leaked): queued, and it must not rotate twice.
	code, b := postHook(t, h, webhook(t, "publicly_leaked", 5), "b-2", hookSecret)
	if code != http.StatusAccepted {
		t.Fatalf("second delivery: %d", code)
	}
	// Ignored: another secret type, another action, a ping.
	other := []byte(strings.Replace(string(webhook(t, "created", 5)), source.SecretTypeAlibabaSecret, "slack_api_token", 1))
	if code, _ := postHook(t, h, other, "c-3", hookSecret); code != http.StatusOK {
		t.Errorf("non-Alibaba alert: %d", code)
	}
	if code, _ := postHook(t, h, webhook(t, "resolved", 5), "c-4", hookSecret); code != http.StatusOK {
		t.Errorf("resolved action: %d", code)
	}
	if s.Pending() != 2 {
		t.Fatalf("Pending = %d, want 2", s.Pending())
	}
	if n := len(e.gh.Calls()); n != 0 {
		t.Fatalf("the handler called GitHub %d times; only the worker does", n)
	}
	e.gh.Fail(`^GET /repos/.*/alerts/5$`, http.StatusBadGateway, 0, 1) // a transient failure is retried
	start(t, s)
	first, second := waitDone(t, h, id), waitDone(t, h, b.Findings[0].ID)
	// One rotates; the other finds the key remediated, or (read after that) the alert resolved.
	outcomes := map[string]int{first.Outcome: 1}
	outcomes[second.Outcome]++
	if outcomes["remediated"] != 1 || outcomes["already-remediated"]+outcomes["ignored"] != 1 {
		t.Fatalf("outcomes %v (%+v / %+v)", outcomes, first, second)
	}
	if k := e.keys("ci-deploy"); contains(k, ciKey) || len(k) != 1 {
		t.Errorf("ci-deploy's keys: %v (want exactly one replacement)", k)
	}
	al := e.gh.Alert(repo, 5)
	comment, _ := al["resolution_comment"].(string)
	runID := first.RunID
	if first.Outcome != "remediated" {
		runID = second.RunID
	}
	if al["state"] != "resolved" || al["resolution"] != "revoked" || !strings.Contains(comment, "respond run "+runID) || !strings.Contains(comment, ciKey) {
		t.Errorf("alert after remediation: %v %v %q (run %s)", al["state"], al["resolution"], comment, runID)
	}
	if n := e.gh.Count("PATCH"); n != 1 {
		t.Errorf("%d PATCH calls, want 1", n)
	}
	m := metricsText(t, h)
	for _, want := range []string{`respond_findings_received_total{source="github"} 2`, `respond_requests_rejected_total{source="github",reason="bad_signature"} 1`,
		`respond_requests_rejected_total{source="github",reason="duplicate"} 1`, `respond_alerts_closed_total{source="github",result="resolved"} 1`,
		`respond_retries_total{reason="github"} 1`} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(e.logs.String(), ciSecret) || strings.Contains(e.logs.String(), hookSecret) || strings.Contains(e.logs.String(), githubToken) {
		t.Errorf("the log holds a secret:\n%s", e.logs)
	}
	// After the finding ended, the redelivery is still recognised.
	if code, again := postHook(t, h, webhook(t, "created", 5), "72d3162e-cc78-11e3-81ab-4c9367dc0958", hookSecret); code != http.StatusOK || !again.Findings[0].Duplicate {
		t.Errorf("redelivery after the end: %d %+v", code, again)
	}
}

func TestGitHub_notConfigured(t *testing.T) {
	e := newEnv(t)
	s := e.server(Options{})
	if code, _ := postHook(t, s.Handler(), webhook(t, "created", 5), "x", hookSecret); code != http.StatusNotFound {
		t.Errorf("POST /v1/github without serve.github: %d", code)
	}
}

func TestGitLab_revocationAPI(t *testing.T) {
	e := newEnv(t)
	s := e.server(Options{GitLabToken: accesskey.NewSecret("gitlab-pre-shared")})
	h := s.Handler()
	for _, auth := range []string{"gitlab-pre-shared", "Bearer gitlab-pre-shared"} {
		w := do(t, h, "GET", "/v1/revocable_token_types", auth, nil)
		var types struct{ Types []string }
		if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &types) != nil || len(types.Types) != 2 {
			t.Errorf("types with %q: %d %s", auth, w.Code, w.Body)
		}
	}
	if w := do(t, h, "GET", "/v1/revocable_token_types", "wrong", nil); w.Code != http.StatusUnauthorized {
		t.Errorf("types with a wrong token: %d", w.Code)
	}
	loc := "https://gitlab.example.com/acme/site/-/blob/abcdef0123/deploy/.env#L3"
	body, _ := json.Marshal([]map[string]string{
		{"type": source.GitLabTypeAlibabaID, "token": ciKey, "location": loc},
		{"type": source.GitLabTypeAlibabaSecret, "token": `alibaba_secret = "` + ciSecret + `"`, "location": strings.Replace(loc, "L3", "L4", 1)},
	})
	for _, tt := range []struct {
		body   string
		status int
	}{
		{`[{"type":"gitleaks_rule_id_gitlab_personal_access_token","token":"glpat-x","location":"x"}]`, http.StatusBadRequest},
		{`{"not":"a list"}`, http.StatusBadRequest},
		{`[{"type":"gitleaks_rule_id_alibaba_accesskey_id","token":"nothing","location":"x"}]`, http.StatusBadRequest},
		{string(body), http.StatusNoContent},
	} {
		if w := do(t, h, "POST", "/v1/revoke_tokens", "gitlab-pre-shared", []byte(tt.body)); w.Code != tt.status {
			t.Errorf("revoke %s: %d %s, want %d", tt.body, w.Code, w.Body, tt.status)
		}
	}
	if s.Pending() != 1 {
		t.Fatalf("Pending = %d, want 1 (the id and the secret of one file are one key)", s.Pending())
	}
	s.q.mu.Lock()
	id := s.q.waiting[0].ID // (204 names no finding)
	s.q.mu.Unlock()
	start(t, s)
	got := waitDone(t, h, id)
	if got.Outcome != "remediated" || got.Finding == nil || got.Finding.Evidence != detect.EvidenceSecret || got.Finding.Locations[0].File != "deploy/.env" {
		t.Errorf("GitLab finding: %+v %+v", got, got.Finding)
	}
	if k := e.keys("ci-deploy"); contains(k, ciKey) {
		t.Errorf("ci-deploy still holds %s", ciKey)
	}
}

// nopRunner is an engine that must not run (the fuzz test only posts).
type nopRunner struct{}

func (nopRunner) Run(context.Context, []source.Finding, *accesskey.Redactor) ([]*rotate.Item, error) {
	return nil, errors.New("not in this test")
}

// FuzzGitHubWebhook: whatever is posted, a delivery whose signature does not match is refused
// with 401 and nothing is queued; nothing answers 5xx; the handler never calls GitHub.
func FuzzGitHubWebhook(f *testing.F) {
	body := webhook(f, "created", 5)
	f.Add(body, source.Sign(accesskey.NewSecret(hookSecret), body), "secret_scanning_alert", "d-1")
	f.Add(body, "sha256=00", "secret_scanning_alert", "d-2")
	f.Add([]byte(`{"action":"created","alert":{"number":1,"secret_type":"alibaba_cloud_access_key_id"},"repository":{"full_name":"../x"}}`), "", "ping", "")
	gh := githubtest.New(githubToken)
	defer gh.Close()
	g, _ := source.NewGitHub(source.GitHubOptions{APIURL: gh.URL, Token: accesskey.NewSecret(githubToken)})
	conf := playbooks.DefaultServeConfig()
	conf.Rate, conf.Burst = 1e6, 1e6
	s, err := New(Options{StateDir: f.TempDir(), Runner: nopRunner{}, GitHub: g, WebhookSecret: accesskey.NewSecret(hookSecret), Config: conf})
	if err != nil {
		f.Fatal(err)
	}
	h := s.Handler()
	f.Fuzz(func(t *testing.T, body []byte, sig, event, delivery string) {
		before := s.Pending()
		w := do(t, h, "POST", "/v1/github", "", body, "X-Hub-Signature-256", sig, "X-GitHub-Event", event, "X-GitHub-Delivery", delivery)
		signed := source.VerifySignature(accesskey.NewSecret(hookSecret), body, sig) == nil
		// (429: the rate limit, also checked before the body is read.)
		if !signed && (w.Code != http.StatusUnauthorized && w.Code != http.StatusTooManyRequests || s.Pending() != before) {
			t.Fatalf("unsigned delivery: %d, pending %d → %d", w.Code, before, s.Pending())
		}
		if w.Code >= 500 {
			t.Fatalf("answered %d: %s", w.Code, w.Body)
		}
		if n := len(gh.Calls()); n != 0 {
			t.Fatalf("the handler called GitHub %d times", n)
		}
	})
}
