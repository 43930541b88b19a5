package playbooks

import (
	"strings"
	"testing"
	"time"
)

func TestParseConfig_serve(t *testing.T) {
	c, err := ParseConfig("c.yaml", []byte(`
serve:
  listen: 0.0.0.0:9000
  token-env: RESPOND_TOKEN
  max-body: 1048576
  queue: 50
  rate: 2.5
  burst: 10
  workers: 2
  github:
    api-url: https://ghe.example.com/api/v3
    token-env: GITHUB_TOKEN
    webhook-secret-file: /run/secrets/github-webhook
  gitlab:
    token-file: /run/secrets/gitlab
  security-center:
    poll: 2m
`))
	if err != nil {
		t.Fatal(err)
	}
	s := c.Serve
	if s.Listen != "0.0.0.0:9000" || s.TokenEnv != "RESPOND_TOKEN" || s.MaxBody != 1<<20 || s.Queue != 50 || s.Rate != 2.5 || s.Burst != 10 || s.Workers != 2 {
		t.Errorf("serve = %+v", s)
	}
	if s.GitHub == nil || s.GitHub.APIURL != "https://ghe.example.com/api/v3" || s.GitHub.TokenEnv != "GITHUB_TOKEN" || s.GitHub.WebhookSecretFile != "/run/secrets/github-webhook" {
		t.Errorf("github = %+v", s.GitHub)
	}
	if s.GitLab == nil || s.GitLab.TokenFile != "/run/secrets/gitlab" {
		t.Errorf("gitlab = %+v", s.GitLab)
	}
	if s.SecurityCenter == nil || s.SecurityCenter.Poll != 2*time.Minute {
		t.Errorf("security-center = %+v", s.SecurityCenter)
	}

	c, err = ParseConfig("c.yaml", []byte("serve:\n  github: {token-env: T, webhook-secret-env: W}\n  security-center: {}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Serve.GitHub.APIURL != DefaultGitHubAPIURL || c.Serve.SecurityCenter.Poll != DefaultSecurityCenterPoll || c.Serve.Queue != DefaultServeQueue || c.Serve.Listen != DefaultServeListen {
		t.Errorf("defaults not applied: %+v %+v", c.Serve, c.Serve.GitHub)
	}
	// gitlab: without a token of its own takes serve.token-env's (rotate/serve.Configure).
	if c, err := ParseConfig("c.yaml", []byte("serve:\n  gitlab: {}\n")); err != nil || c.Serve.GitLab == nil {
		t.Errorf("gitlab: {} gave %v, %+v", err, c)
	}
	if c, _ := ParseConfig("c.yaml", []byte("locate: [ims]\n")); c.Serve != nil {
		t.Errorf("no serve: section gave %+v", c.Serve)
	}
}

func TestParseConfig_serveInvalid(t *testing.T) {
	for _, tt := range []struct{ yaml, want string }{
		{"serve:\n  token: abc\n", "literal secret"},
		{"serve:\n  tokens: abc\n", "unknown key"},
		{"serve:\n  token-env: 'bad name'\n", "not an environment variable name"},
		{"serve:\n  queue: 0\n", "serve.queue: expected a whole number"},
		{"serve:\n  rate: -1\n", "serve.rate"},
		{"serve:\n  max-body: lots\n", "serve.max-body"},
		{"serve:\n  github: {token-env: T}\n", "missing webhook-secret-env"},
		{"serve:\n  github: {webhook-secret-env: W}\n", "missing token-env"},
		{"serve:\n  github: {token-env: T, token-file: /x, webhook-secret-env: W}\n", "not both"},
		{"serve:\n  github: {api-url: 'ftp://x', token-env: T, webhook-secret-env: W}\n", "not a base URL"},
		{"serve:\n  github: {api-url: 'https://u:p@x', token-env: T, webhook-secret-env: W}\n", "not a base URL"},
		{"serve:\n  gitlab: {token-env: T, token-file: /x}\n", "not both"},
		{"serve:\n  security-center: {poll: 1s}\n", "from 10s to 24h"},
		{"serve:\n  security-center: {poll: soon}\n", "from 10s to 24h"},
	} {
		_, err := ParseConfig("c.yaml", []byte(tt.yaml))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want %q", tt.yaml, err, tt.want)
		}
	}
}
