package source

import (
	"context"
	"crypto/sha1"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/respond-dev/respond/detect"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/rotate/source/githubtest"
)

// The files of the test repository the recorded payloads were made from
// (../shared/formats/scripts/make_gitleaks_samples.sh): their git blob SHAs are the ones the
// recorded alerts and locations name.
const (
	envFile   = "APP_ENV=production\nALIBABA_ACCESS_KEY_ID=\"LTAI5tFAKEb8HnR4sW6cJq2d\"\nALIBABA_ACCESS_KEY_SECRET=\"FAKEm7Lp2Qx9Vr4Ts8Nk3Hd6Bz1Wc5\"\n"
	envSHA    = "4d6901bd8057e2a96b5fc867cfc461f037c107af"
	deploy    = "#!/bin/sh\n# deploy static site to OSS\nexport ALIBABA_CLOUD_ACCESS_KEY_ID=LTAI5tFAKEk3yQ9mZ7pR2wXn\nexport ALIBABA_CLOUD_ACCESS_KEY_SECRET=FAKEs3cr3tQ9mZ7pR2wXnB4vL8tY6u\nossutil cp -r ./public oss://example-site-bucket/\n"
	deploySHA = "20a5124329b592ce672930b9093195416fd4d91d"
	repo      = "example-org/leaky-repo"
)

func gitBlobSHA(content string) string {
	return fmt.Sprintf("%x", sha1.Sum([]byte(fmt.Sprintf("blob %d\x00%s", len(content), content))))
}

func TestRecordedBlobsAreTheTestRepository(t *testing.T) {
	if got := gitBlobSHA(envFile); got != envSHA {
		t.Errorf(".env blob = %s, want %s", got, envSHA)
	}
	if got := gitBlobSHA(deploy); got != deploySHA {
		t.Errorf("deploy.sh blob = %s, want %s", got, deploySHA)
	}
}

func readFormat(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "formats", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

// fakeWithRecorded serves the recorded alerts (github-secret-scanning.json: #2 holds the secret,
// #1 the id), the recorded locations of #2, a location of #1 in deploy.sh, and both files.
func fakeWithRecorded(t *testing.T) *githubtest.Server {
	t.Helper()
	f := githubtest.New("gh-token")
	t.Cleanup(f.Close)
	var alerts []map[string]any
	readFormat(t, "github-secret-scanning.json", &alerts)
	var locs2 []any
	readFormat(t, "github-secret-scanning-locations.json", &locs2)
	for _, a := range alerts {
		var locs []any
		switch a["number"].(float64) {
		case 2:
			locs = locs2
		case 1:
			locs = []any{map[string]any{"type": "commit", "details": a["first_location_detected"]}}
		}
		f.AddAlert(repo, a, locs)
	}
	f.AddBlob(repo, envSHA, []byte(envFile))
	f.AddBlob(repo, deploySHA, []byte(deploy))
	return f
}

func newClient(t *testing.T, f *githubtest.Server, token string) *GitHub {
	t.Helper()
	g, err := NewGitHub(GitHubOptions{APIURL: f.URL, Token: accesskey.NewSecret(token), HTTPClient: f.Client()})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestVerifySignature(t *testing.T) {
	secret := accesskey.NewSecret("It's a Secret to Everybody")
	body := []byte("Hello, World!")
	// GitHub's documented example ("Validating webhook deliveries").
	const documented = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
	if got := Sign(secret, body); got != documented {
		t.Fatalf("Sign = %s, want GitHub's documented %s", got, documented)
	}
	for _, tt := range []struct {
		name   string
		secret accesskey.Secret
		body   []byte
		header string
		ok     bool
	}{
		{"documented", secret, body, documented, true},
		{"other body", secret, []byte("Hello, World?"), documented, false},
		{"other secret", accesskey.NewSecret("guess"), body, documented, false},
		{"no secret configured", accesskey.Secret{}, body, Sign(accesskey.Secret{}, body), false},
		{"sha1 header", secret, body, "sha1=757107ea0eb2509fc211221cce984b8a37570b6d", false},
		{"no prefix", secret, body, strings.TrimPrefix(documented, "sha256="), false},
		{"upper-case hex", secret, body, strings.ToUpper(documented), false},
		{"not hex", secret, body, "sha256=" + strings.Repeat("zz", 32), false},
		{"short", secret, body, documented[:len(documented)-2], false},
		{"empty", secret, body, "", false},
	} {
		err := VerifySignature(tt.secret, tt.body, tt.header)
		if (err == nil) != tt.ok {
			t.Errorf("%s: VerifySignature = %v, want ok=%v", tt.name, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrBadSignature) {
			t.Errorf("%s: error %v is not ErrBadSignature", tt.name, err)
		}
	}
}

func TestParseWebhook_recorded(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "formats", "github-secret-scanning-webhook.json"))
	if err != nil {
		t.Fatal(err)
	}
	w, err := ParseWebhook(b)
	if err != nil {
		t.Fatal(err)
	}
	want := Webhook{Action: "created", SecretType: SecretTypeAlibabaSecret, State: "open",
		Alert: AlertRef{Repository: repo, Number: 2, Action: "created", HTMLURL: "https://github.com/example-org/leaky-repo/security/secret-scanning/2"}}
	if w != want {
		t.Errorf("ParseWebhook = %+v, want %+v", w, want)
	}
	if !w.Actionable() {
		t.Error("a created Alibaba alert is not actionable")
	}
	for _, tt := range []struct {
		edit func(w *Webhook)
		ok   bool
	}{
		{func(w *Webhook) { w.Action = "reopened" }, true},
		{func(w *Webhook) { w.Action = "publicly_leaked" }, true},
		{func(w *Webhook) { w.SecretType = SecretTypeAlibabaID }, true},
		{func(w *Webhook) { w.Action = "resolved" }, false},
		{func(w *Webhook) { w.Action = "validated" }, false},
		{func(w *Webhook) { w.SecretType = "github_personal_access_token" }, false},
		{func(w *Webhook) { w.Alert.Repository = "../../etc" }, false},
		{func(w *Webhook) { w.Alert.Repository = "a/.." }, false},
		{func(w *Webhook) { w.Alert.Repository = "no-owner" }, false},
		{func(w *Webhook) { w.Alert.Number = 0 }, false},
	} {
		c := w
		tt.edit(&c)
		if c.Actionable() != tt.ok {
			t.Errorf("%+v: Actionable = %v, want %v", c, !tt.ok, tt.ok)
		}
	}
	if _, err := ParseWebhook([]byte("not json")); err == nil {
		t.Error("ParseWebhook accepted text")
	}
}

func TestAlertFinding_recorded(t *testing.T) {
	f := fakeWithRecorded(t)
	g := newClient(t, f, "gh-token")
	ctx := context.Background()
	for _, tt := range []struct {
		number     int
		id, secret string
		file       string
		line       int
	}{
		// The alert holds the secret: the id is read from the file the pair was found in.
		{2, "LTAI5tFAKEb8HnR4sW6cJq2d", "FAKEm7Lp2Qx9Vr4Ts8Nk3Hd6Bz1Wc5", ".env", 3},
		// The alert holds the id: the secret is read from the file.
		{1, "LTAI5tFAKEk3yQ9mZ7pR2wXn", "FAKEs3cr3tQ9mZ7pR2wXnB4vL8tY6u", "deploy.sh", 3},
	} {
		af, err := g.AlertFinding(ctx, AlertRef{Repository: repo, Number: tt.number})
		if err != nil {
			t.Fatalf("alert %d: %v", tt.number, err)
		}
		fd := af.Finding
		if fd.KeyID.String() != tt.id || fd.Secret.Reveal() != tt.secret || fd.Kind != detect.KindAccessKey || fd.Evidence != detect.EvidenceSecret || fd.Source != GitHubName {
			t.Errorf("alert %d: finding %s %v %s %s %s", tt.number, fd.KeyID, fd.Secret.Reveal() == tt.secret, fd.Kind, fd.Evidence, fd.Source)
		}
		if len(fd.Locations) != 1 || fd.Locations[0].File != tt.file || fd.Locations[0].Line != tt.line || fd.Locations[0].Repository != repo ||
			fd.Locations[0].Fingerprint != fmt.Sprintf("alert #%d", tt.number) || !strings.HasPrefix(fd.Locations[0].URL, "https://github.com/") {
			t.Errorf("alert %d: locations %+v", tt.number, fd.Locations)
		}
		for _, s := range []string{fmt.Sprintf("%v", af), fmt.Sprintf("%+v", af), fmt.Sprintf("%#v", af)} {
			if strings.Contains(s, tt.secret) {
				t.Errorf("alert %d: the secret shows in %q", tt.number, s)
			}
		}
	}
	if n := f.Count("PATCH"); n != 0 {
		t.Errorf("reading made %d PATCH calls", n)
	}
}

func TestAlertFinding_cases(t *testing.T) {
	ctx := context.Background()
	alert := func(n int, typ, secret, state string) map[string]any {
		return map[string]any{"number": n, "state": state, "secret_type": typ, "secret": secret,
			"html_url": fmt.Sprintf("https://github.com/%s/security/secret-scanning/%d", repo, n)}
	}
	loc := func(path, sha string, line int) any {
		return map[string]any{"type": "commit", "details": map[string]any{"path": path, "blob_sha": sha, "commit_sha": strings.Repeat("c", 40), "start_line": line}}
	}
	sha := func(i int) string { return fmt.Sprintf("%040x", i) }
	f := githubtest.New("tok")
	t.Cleanup(f.Close)
	g := newClient(t, f, "tok")
	// 3: the id; the blob is gone: GitHub saw the pair, so the finding is trusted by source.
	f.AddAlert(repo, alert(3, SecretTypeAlibabaID, "LTAI5tFAKEb8HnR4sW6cJq2d", "open"), []any{loc("a.env", sha(3), 1)})
	// 4: the secret; its file has two ids and neither stands with it: a secret-only finding.
	f.AddAlert(repo, alert(4, SecretTypeAlibabaSecret, "FAKEm7Lp2Qx9Vr4Ts8Nk3Hd6Bz1Wc5", "open"), []any{loc("b.txt", sha(4), 2)})
	f.AddBlob(repo, sha(4), []byte("ids: LTAI5tFAKEb8HnR4sW6cJq2d LTAI5tFAKEk3yQ9mZ7pR2wXn\n\n\n\n\n\nnothing here\n"))
	// 5: the secret; its file has exactly one id, far from it: GitHub's pattern paired them.
	f.AddAlert(repo, alert(5, SecretTypeAlibabaSecret, "FAKEm7Lp2Qx9Vr4Ts8Nk3Hd6Bz1Wc5", "open"), []any{loc("c.txt", sha(5), 9)})
	f.AddBlob(repo, sha(5), []byte("id = LTAI5tFAKEk3yQ9mZ7pR2wXn\n\n\n\n\n\n\n\nFAKEm7Lp2Qx9Vr4Ts8Nk3Hd6Bz1Wc5\n"))
	f.AddAlert(repo, alert(6, SecretTypeAlibabaID, "LTAI5tFAKEb8HnR4sW6cJq2d", "resolved"), nil)
	f.AddAlert(repo, alert(7, "github_personal_access_token", "ghp_x", "open"), nil)
	f.AddAlert(repo, alert(8, SecretTypeAlibabaSecret, "not a secret", "open"), nil)
	// 9: many locations over several pages.
	var many []any
	for i := 0; i < 7; i++ {
		many = append(many, loc(fmt.Sprintf("f%d", i), sha(100+i), i+1))
	}
	f.AddAlert(repo, alert(9, SecretTypeAlibabaID, "LTAI5tFAKEb8HnR4sW6cJq2d", "open"), many)
	f.SetPageSize(3)

	af, err := g.AlertFinding(ctx, AlertRef{Repository: repo, Number: 3})
	if err != nil || af.Finding.Evidence != detect.EvidenceSource || !af.Finding.Secret.IsZero() || af.Finding.KeyID.String() != "LTAI5tFAKEb8HnR4sW6cJq2d" {
		t.Errorf("3: %+v, %v", af.Finding, err)
	}
	af, err = g.AlertFinding(ctx, AlertRef{Repository: repo, Number: 4})
	if err != nil || af.Finding.Kind != detect.KindSecretOnly || !af.Finding.KeyID.IsZero() || af.Finding.Secret.IsZero() {
		t.Errorf("4: %+v, %v", af.Finding, err)
	}
	af, err = g.AlertFinding(ctx, AlertRef{Repository: repo, Number: 5})
	if err != nil || af.Finding.KeyID.String() != "LTAI5tFAKEk3yQ9mZ7pR2wXn" || af.Finding.Evidence != detect.EvidenceSecret {
		t.Errorf("5: %+v, %v", af.Finding, err)
	}
	af, err = g.AlertFinding(ctx, AlertRef{Repository: repo, Number: 6})
	if err != nil || af.Alert.State != "resolved" || !af.Finding.KeyID.IsZero() {
		t.Errorf("6 (resolved): %+v, %v", af, err)
	}
	if _, err = g.AlertFinding(ctx, AlertRef{Repository: repo, Number: 7}); !errors.Is(err, ErrNotAlibaba) {
		t.Errorf("7 (not Alibaba): %v", err)
	}
	if _, err = g.AlertFinding(ctx, AlertRef{Repository: repo, Number: 8}); !errors.Is(err, ErrNoKey) {
		t.Errorf("8 (no key): %v", err)
	}
	af, err = g.AlertFinding(ctx, AlertRef{Repository: repo, Number: 9})
	if err != nil || len(af.Finding.Locations) != 7 {
		t.Errorf("9 (paged): %d locations, %v", len(af.Finding.Locations), err)
	}
	var ae *APIError
	if _, err = g.AlertFinding(ctx, AlertRef{Repository: repo, Number: 99}); !errors.As(err, &ae) || !ae.NotFound() || ae.Temporary() {
		t.Errorf("99 (none): %v", err)
	}
	if _, err = g.AlertFinding(ctx, AlertRef{Repository: "../x", Number: 1}); !errors.Is(err, ErrBadRef) {
		t.Errorf("bad repository: %v", err)
	}
	// Wrong token: 401, never retried as temporary.
	bad := newClient(t, f, "wrong")
	if _, err = bad.Alert(ctx, AlertRef{Repository: repo, Number: 3}); !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized || ae.Temporary() {
		t.Errorf("wrong token: %v", err)
	}
	// A rate limit says when to come back; a blob that cannot be read for now fails the read.
	f.Fail(`^GET /repos/.*/alerts/3$`, http.StatusTooManyRequests, 17, 1)
	if _, err = g.AlertFinding(ctx, AlertRef{Repository: repo, Number: 3}); !errors.As(err, &ae) || !ae.Temporary() || ae.RetryAfter.Seconds() != 17 {
		t.Errorf("rate limited: %v", err)
	}
	f.Fail(`^GET /repos/.*/git/blobs/`, http.StatusBadGateway, 0, 1)
	if _, err = g.AlertFinding(ctx, AlertRef{Repository: repo, Number: 5}); !errors.As(err, &ae) || !ae.Temporary() {
		t.Errorf("blob 502: %v", err)
	}
	for _, s := range []string{fmt.Sprint(err)} {
		if strings.Contains(s, "FAKEm7") || strings.Contains(s, "tok") && strings.Contains(s, "Bearer") {
			t.Errorf("error shows a secret: %s", s)
		}
	}
}

func TestResolve(t *testing.T) {
	f := fakeWithRecorded(t)
	g := newClient(t, f, "gh-token")
	ctx := context.Background()
	ref := AlertRef{Repository: repo, Number: 2}
	out, err := g.Resolve(ctx, ref, "r-123", "key LTAI5tFAKEb8HnR4sW6cJq2d deleted and purged;\x1b[2J replacement stored")
	if err != nil || out != Resolved {
		t.Fatalf("Resolve = %s, %v", out, err)
	}
	a := f.Alert(repo, 2)
	comment, _ := a["resolution_comment"].(string)
	if a["state"] != "resolved" || a["resolution"] != "revoked" || !strings.Contains(comment, "respond run r-123") || strings.ContainsRune(comment, 0x1b) {
		t.Errorf("alert after Resolve: state %v resolution %v comment %q", a["state"], a["resolution"], comment)
	}
	if n := f.Count("PATCH"); n != 1 {
		t.Errorf("%d PATCH calls, want 1", n)
	}
	out, err = g.Resolve(ctx, ref, "r-124", "again")
	if err != nil || out != AlreadyResolved || f.Count("PATCH") != 1 {
		t.Errorf("second Resolve = %s, %v (%d PATCH calls)", out, err, f.Count("PATCH"))
	}
	f.Fail(`^PATCH `, http.StatusServiceUnavailable, 0, 1)
	var ae *APIError
	if _, err := g.Resolve(ctx, AlertRef{Repository: repo, Number: 1}, "r", "d"); !errors.As(err, &ae) || !ae.Temporary() {
		t.Errorf("Resolve with a 503: %v", err)
	}
	if a := f.Alert(repo, 1); a["state"] != "open" {
		t.Errorf("alert 1 is %v after a failed PATCH", a["state"])
	}
}

func TestGitHubStaysOnItsHost(t *testing.T) {
	if got := nextLink(`<https://api.github.com/x?page=2>; rel="next", <https://api.github.com/x?page=5>; rel="last"`); got != "https://api.github.com/x?page=2" {
		t.Errorf("nextLink = %q", got)
	}
	if got := nextLink(`<https://api.github.com/x?page=1>; rel="prev"`); got != "" {
		t.Errorf("nextLink without next = %q", got)
	}
	var seen []string
	other := githubtest.New("tok")
	defer other.Close()
	f := githubtest.New("tok")
	defer f.Close()
	// A Link header pointing at another host must not receive the token.
	f.AddAlert(repo, map[string]any{"number": 1, "state": "open", "secret_type": SecretTypeAlibabaID, "secret": "LTAI5tFAKEb8HnR4sW6cJq2d"}, nil)
	g, _ := NewGitHub(GitHubOptions{APIURL: f.URL, Token: accesskey.NewSecret("tok"), OnCall: func(s int) { seen = append(seen, fmt.Sprint(s)) }})
	if _, err := g.do(context.Background(), http.MethodGet, other.URL+"/repos/"+repo+"/secret-scanning/alerts/1", nil, nil); err == nil {
		t.Error("a call to another host was made")
	}
	if len(other.Calls()) != 0 {
		t.Errorf("the other host got %v", other.Calls())
	}
	if _, err := g.Alert(context.Background(), AlertRef{Repository: repo, Number: 1}); err != nil || len(seen) != 1 || seen[0] != "200" {
		t.Errorf("Alert: %v; OnCall saw %v", err, seen)
	}
	if _, err := NewGitHub(GitHubOptions{APIURL: "ftp://x"}); err == nil {
		t.Error("NewGitHub accepted ftp://")
	}
}
