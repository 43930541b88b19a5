package doctor

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/rotate/source"
	"github.com/respond-dev/respond/rotate/source/githubtest"
)

const (
	ghToken   = "ghp_doctorTestToken0123456789"
	hookValue = "doctor-webhook-secret-value"
	findValue = "doctor-findings-token-value"
)

// serveStatuses runs doctor on a configuration with only a serve: section against a fake GitHub
// API and returns each serve check as "component | item" → status, the report, and the fake.
func serveStatuses(t *testing.T, env map[string]string, setup func(*githubtest.Server), extra string) (map[string]Check, Report, *githubtest.Server) {
	t.Helper()
	gh := githubtest.New(ghToken)
	t.Cleanup(gh.Close)
	gh.AddRepo("acme/app")
	if setup != nil {
		setup(gh)
	}
	// a sink: the playbooks' replacement must go somewhere (serve cannot --reveal it)
	conf, err := playbooks.ParseConfig("c.yaml", []byte(`
sinks:
  f:
    type: file
    path: "`+t.TempDir()+`/{{.UserName}}.env"
serve:
  token-env: DOCTOR_FINDINGS
  github:
    api-url: `+gh.URL+`/api/v3
    token-env: DOCTOR_GH_TOKEN
    webhook-secret-env: DOCTOR_GH_HOOK
`+extra))
	if err != nil {
		t.Fatal(err)
	}
	rep := Run(context.Background(), Options{Config: conf, Getenv: func(k string) string { return env[k] },
		StateDir: filepath.Join(t.TempDir(), "state")})
	out := map[string]Check{}
	for _, c := range rep.Checks {
		if c.Kind == KindServe {
			out[c.Component+" | "+c.Item] = c
		}
	}
	var b bytes.Buffer
	_ = rep.WriteText(&b)
	_ = json.NewEncoder(&b).Encode(rep)
	for _, v := range []string{ghToken, hookValue, findValue} {
		if strings.Contains(b.String(), v) {
			t.Errorf("the output holds a secret:\n%s", b.String())
		}
	}
	for _, c := range gh.Calls() {
		if !strings.HasPrefix(c, "GET /api/v3/") {
			t.Errorf("a call that is not a read at the configured base URL: %s", c)
		}
	}
	return out, rep, gh
}

// TestRun_serve: the serve: section's secrets resolve (never shown), and GitHub's token can read
// secret-scanning alerts: ok, a token GitHub refuses (401), one that may not read alerts (403),
// alerts GitHub hides (404), and nothing set.
func TestRun_serve(t *testing.T) {
	all := map[string]string{"DOCTOR_GH_TOKEN": ghToken, "DOCTOR_GH_HOOK": hookValue, "DOCTOR_FINDINGS": findValue}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range all {
			m[a] = b
		}
		m[k] = v
		return m
	}
	const read = " | read secret-scanning alerts"
	tests := []struct {
		name   string
		env    map[string]string
		setup  func(*githubtest.Server)
		status map[string]Status // serve checks, by item
		fix    string            // in the read check's fix
		failed bool
	}{
		{"ok", all, nil, map[string]Status{"webhook secret": StatusOK, "API token": StatusOK, "read secret-scanning alerts": StatusOK, "bearer token": StatusOK}, "", false},
		{"bad token", with("DOCTOR_GH_TOKEN", "ghp_wrong"), nil, map[string]Status{"API token": StatusOK, "read secret-scanning alerts": StatusError}, "replace the token", true},
		{"no permission", all, func(g *githubtest.Server) { g.Fail(`/secret-scanning/alerts$`, 403, 0, 1) },
			map[string]Status{"read secret-scanning alerts": StatusMissing}, "Secret scanning alerts", true},
		{"scanning off", all, func(g *githubtest.Server) { g.Fail(`/secret-scanning/alerts$`, 404, 0, 1) },
			map[string]Status{"read secret-scanning alerts": StatusMissing}, "turn secret scanning on", true},
		{"installation token", all, func(g *githubtest.Server) { g.SetInstallation(true) },
			map[string]Status{"read secret-scanning alerts": StatusOK}, "", false},
		{"nothing set", map[string]string{}, nil, map[string]Status{"webhook secret": StatusError, "API token": StatusError,
			"read secret-scanning alerts": StatusNotChecked, "bearer token": StatusError}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, rep, gh := serveStatuses(t, tt.env, tt.setup, "")
			for key, c := range got {
				_, item, _ := strings.Cut(key, " | ")
				if want, ok := tt.status[item]; ok && c.Status != want {
					t.Errorf("%s: %s (%s), want %s", key, c.Status, c.Detail, want)
				}
			}
			c := got["serve github ("+gh.URL+"/api/v3)"+read]
			if tt.fix != "" && !strings.Contains(c.Fix, tt.fix) {
				t.Errorf("fix %q, want %q", c.Fix, tt.fix)
			}
			if rep.OK == tt.failed {
				t.Errorf("ok %v:\n%s", rep.OK, text(rep))
			}
			if tt.name == "ok" && !strings.Contains(c.Detail, "acme/app") {
				t.Errorf("detail %q", c.Detail)
			}
			// The findings token is optional when GitHub is configured.
			if f := got["serve findings (POST /v1/findings) | bearer token"]; f.Required {
				t.Errorf("findings token %+v", f)
			}
		})
	}
}

// TestRun_serveGitLab: serve.gitlab's own token, or the findings token when it names none.
func TestRun_serveGitLab(t *testing.T) {
	file := filepath.Join(t.TempDir(), "gitlab-token")
	if err := os.WriteFile(file, []byte("glpat-doctor\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"DOCTOR_GH_TOKEN": ghToken, "DOCTOR_GH_HOOK": hookValue}
	got, _, _ := serveStatuses(t, env, nil, "  gitlab: {token-file: "+file+"}\n")
	if c := got["serve gitlab (token revocation) | token"]; c.Status != StatusOK || !strings.Contains(c.Detail, file) {
		t.Errorf("gitlab token from a file: %+v", c)
	}
	got, rep, _ := serveStatuses(t, env, nil, "  gitlab: {}\n")
	c := got["serve gitlab (token revocation) | token"]
	if c.Status != StatusError || !c.Failed() || !strings.Contains(c.Detail, "DOCTOR_FINDINGS") {
		t.Errorf("gitlab through the unset findings token: %+v", c)
	}
	if !slices.ContainsFunc(failed(rep), func(s string) bool { return strings.HasPrefix(s, "serve gitlab") }) {
		t.Errorf("failed %q", failed(rep))
	}
}

// TestPollReason: what makes a Security Center poll configured.
func TestPollReason(t *testing.T) {
	dir := t.TempDir()
	if err := source.SavePollState(dir, source.PollState{}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, yaml, dir, want string
	}{
		{"none", "locate: [scan]\n", "", ""},
		{"serve", "serve:\n  security-center: {poll: 5m}\n", "", "serve.security-center"},
		{"rule", "rules:\n  - {match: {sources: [security-center]}, playbook: contain-first}\n", "", "rules[0] matches source security-center"},
		{"trust", "trust:\n  - {source: security-center}\n", "", "trust names source security-center"},
		{"poll state", "locate: [scan]\n", dir, "the state directory remembers a poll (" + source.PollStateFile + ")"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conf, err := playbooks.ParseConfig("c.yaml", []byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			if got := pollReason(conf, tt.dir); got != tt.want {
				t.Errorf("%q, want %q", got, tt.want)
			}
		})
	}
}

// TestGitHubAccess: every answer of the access check, classified.
func TestGitHubAccess(t *testing.T) {
	api := func(status int) error { return &source.APIError{Method: "GET", Path: "/x", Status: status} }
	tests := []struct {
		name   string
		repo   string
		err    error
		status Status
		fix    string
	}{
		{"ok", "a/b", nil, StatusOK, ""},
		{"no repository", "", source.ErrNoRepository, StatusMissing, "access to the repositories"},
		{"no answer", "", api(0), StatusError, "api-url"},
		{"rate limited", "a/b", &source.APIError{Status: 403, RetryAfter: 1e9}, StatusError, "later"},
		{"server error", "a/b", api(502), StatusError, "later"},
		{"bad token", "", api(401), StatusError, "replace the token"},
		{"may not list", "", api(403), StatusMissing, "Secret scanning alerts"},
		{"may not read", "a/b", api(403), StatusMissing, "Secret scanning alerts"},
		{"wrong base URL", "", api(404), StatusError, "api-url"},
		{"hidden alerts", "a/b", api(404), StatusMissing, "turn secret scanning on"},
		{"other", "a/b", api(422), StatusError, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := githubAccess(Check{}, tt.repo, tt.err)
			if c.Status != tt.status || !strings.Contains(c.Fix, tt.fix) || (tt.fix == "" && c.Fix != "") {
				t.Errorf("%+v, want %s with fix %q", c, tt.status, tt.fix)
			}
		})
	}
}
