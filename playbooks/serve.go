package playbooks

import (
	"net/url"
	"strconv"
	"time"
)

// ServeConfig is the configuration's serve: section, read by `respond serve`. Like a
// notification channel's URL, every token and webhook secret is named (an environment variable
// or a file), never written in the configuration.
type ServeConfig struct {
	// Listen is the address to listen on (--listen wins); default DefaultServeListen.
	Listen string
	// TokenEnv names the environment variable holding the bearer token of POST /v1/findings
	// (and, unless gitlab: names its own, of the GitLab token-revocation endpoints).
	TokenEnv string
	// MaxBody bounds a request body in bytes; default DefaultServeMaxBody.
	MaxBody int64
	// Queue bounds the findings accepted and not yet finished; default DefaultServeQueue.
	Queue int
	// Rate and Burst are each source's request rate (per second) and burst; defaults
	// DefaultServeRate and DefaultServeBurst.
	Rate  float64
	Burst int
	// Workers is how many batches run at once; default DefaultServeWorkers.
	Workers int
	// GitHub turns on POST /v1/github; nil when not configured.
	GitHub *ServeGitHub
	// GitLab turns on the GitLab token-revocation API; nil when not configured.
	GitLab *ServeGitLab
	// SecurityCenter turns on Security Center polling; nil when not configured.
	SecurityCenter *ServeSecurityCenter
}

// ServeGitHub configures GitHub secret-scanning webhooks and the REST API respond reads the
// alerts from and resolves them with (GitHub Enterprise Server: https://HOST/api/v3).
type ServeGitHub struct {
	APIURL string
	// TokenEnv or TokenFile: the token of the REST API (secret_scanning_alerts read and write).
	TokenEnv, TokenFile string
	// WebhookSecretEnv or WebhookSecretFile: the webhook's secret (X-Hub-Signature-256).
	WebhookSecretEnv, WebhookSecretFile string
}

// ServeGitLab configures GitLab's token-revocation API (GET /v1/revocable_token_types, POST
// /v1/revoke_tokens): the pre-shared token GitLab sends in Authorization.
type ServeGitLab struct {
	TokenEnv, TokenFile string
}

// ServeSecurityCenter configures Security Center polling.
type ServeSecurityCenter struct {
	// Poll is the time between two polls; default DefaultSecurityCenterPoll.
	Poll time.Duration
}

// Defaults of the serve: section.
const (
	DefaultServeListen        = "127.0.0.1:8080"
	DefaultServeMaxBody       = 10 << 20
	DefaultServeQueue         = 10000
	DefaultServeRate          = 100
	DefaultServeBurst         = 1000
	DefaultServeWorkers       = 4
	DefaultGitHubAPIURL       = "https://api.github.com"
	DefaultSecurityCenterPoll = 5 * time.Minute
)

var (
	serveKeys          = []string{"listen", "token-env", "max-body", "queue", "rate", "burst", "workers", "github", "gitlab", "security-center"}
	serveGitHubKeys    = []string{"api-url", "token-env", "token-file", "webhook-secret-env", "webhook-secret-file"}
	serveGitLabKeys    = []string{"token-env", "token-file"}
	serveSecCenterKeys = []string{"poll"}
)

// DefaultServeConfig is the serve: section of a configuration without one: findings only, on
// DefaultServeListen.
func DefaultServeConfig() *ServeConfig {
	return &ServeConfig{Listen: DefaultServeListen, MaxBody: DefaultServeMaxBody, Queue: DefaultServeQueue,
		Rate: DefaultServeRate, Burst: DefaultServeBurst, Workers: DefaultServeWorkers}
}

func (c *Config) decodeServe(l *errList, f field) {
	s := DefaultServeConfig()
	envName := func(g field) string {
		v, ok := scalar(l, g.v, g.place, "an environment variable name")
		if ok && !envNameRe.MatchString(v) {
			l.addAt(at(g.v), "%s: %s is not an environment variable name", g.place, show(v))
		}
		return v
	}
	positive := func(g field, max int64) int64 {
		v, ok := scalar(l, g.v, g.place, "a positive whole number")
		if !ok {
			return 0
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 || n > max {
			l.addAt(at(g.v), "%s: expected a whole number from 1 to %d, got %s", g.place, max, show(v))
			return 0
		}
		return n
	}
	for _, g := range mapping(l, f.v, f.place, serveKeys) {
		c.pos[g.place] = at(g.v)
		switch g.key {
		case "listen":
			s.Listen, _ = scalar(l, g.v, g.place, "an address such as 127.0.0.1:8080 or :8080")
		case "token-env":
			s.TokenEnv = envName(g)
		case "max-body":
			s.MaxBody = positive(g, 1<<30)
		case "queue":
			s.Queue = int(positive(g, 10_000_000))
		case "burst":
			s.Burst = int(positive(g, 1_000_000))
		case "workers":
			s.Workers = int(positive(g, 256))
		case "rate":
			v, ok := scalar(l, g.v, g.place, "requests per second")
			if !ok {
				break
			}
			r, err := strconv.ParseFloat(v, 64)
			if err != nil || r <= 0 || r > 1e6 {
				l.addAt(at(g.v), "%s: expected requests per second (a number above 0), got %s", g.place, show(v))
			}
			s.Rate = r
		case "github":
			gh := &ServeGitHub{APIURL: DefaultGitHubAPIURL}
			for _, h := range mapping(l, g.v, g.place, serveGitHubKeys) {
				c.pos[h.place] = at(h.v)
				switch h.key {
				case "api-url":
					gh.APIURL, _ = scalar(l, h.v, h.place, "the REST API's base URL")
					if u, err := url.Parse(gh.APIURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" {
						l.addAt(at(h.v), "%s: %s is not a base URL: expected https://api.github.com or https://HOST/api/v3 (GitHub Enterprise Server)", h.place, show(gh.APIURL))
					}
				case "token-env":
					gh.TokenEnv = envName(h)
				case "token-file":
					gh.TokenFile, _ = scalar(l, h.v, h.place, "a file path")
				case "webhook-secret-env":
					gh.WebhookSecretEnv = envName(h)
				case "webhook-secret-file":
					gh.WebhookSecretFile, _ = scalar(l, h.v, h.place, "a file path")
				}
			}
			oneOf(l, c.pos, g.place, "token", gh.TokenEnv, gh.TokenFile)
			oneOf(l, c.pos, g.place, "webhook-secret", gh.WebhookSecretEnv, gh.WebhookSecretFile)
			s.GitHub = gh
		case "gitlab":
			gl := &ServeGitLab{}
			for _, h := range mapping(l, g.v, g.place, serveGitLabKeys) {
				c.pos[h.place] = at(h.v)
				switch h.key {
				case "token-env":
					gl.TokenEnv = envName(h)
				case "token-file":
					gl.TokenFile, _ = scalar(l, h.v, h.place, "a file path")
				}
			}
			// Neither is fine: the GitLab endpoints then take serve.token-env's token.
			notBoth(l, c.pos, g.place, "token", gl.TokenEnv, gl.TokenFile)
			s.GitLab = gl
		case "security-center":
			sc := &ServeSecurityCenter{Poll: DefaultSecurityCenterPoll}
			for _, h := range mapping(l, g.v, g.place, serveSecCenterKeys) {
				c.pos[h.place] = at(h.v)
				v, ok := scalar(l, h.v, h.place, "a duration such as 5m")
				if !ok {
					continue
				}
				d, ok := parseDuration(v)
				if !ok || d < 10*time.Second || d > 24*time.Hour {
					l.addAt(at(h.v), "%s: expected a duration from 10s to 24h (e.g. 5m), got %s", h.place, show(v))
					continue
				}
				sc.Poll = d
			}
			s.SecurityCenter = sc
		}
	}
	c.Serve = s
}

// oneOf reports a secret reference with neither or both of NAME-env and NAME-file.
func oneOf(l *errList, ps positions, place, name, env, file string) {
	if env == "" && file == "" {
		l.addAt(ps.at(place), "%s: missing %s-env (an environment variable holding it) or %s-file (a file holding it)", place, name, name)
		return
	}
	notBoth(l, ps, place, name, env, file)
}

// notBoth reports a secret reference with both NAME-env and NAME-file.
func notBoth(l *errList, ps positions, place, name, env, file string) {
	if env != "" && file != "" {
		l.addAt(ps.at(place+"."+name+"-file"), "%s: expected one of %s-env or %s-file, not both", place, name, name)
	}
}
