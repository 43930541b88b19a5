package doctor

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/rotate"
	"github.com/respond-dev/respond/rotate/source"
)

// serve checks the serve: section, when the configuration has one: every token and webhook
// secret it names resolves (never shown), and GitHub's token can read secret-scanning alerts.
func (r *runner) serve(ctx context.Context) []Check {
	conf := r.o.Config
	if conf == nil || conf.Serve == nil {
		return nil
	}
	sc := conf.Serve
	var out []Check
	// POST /v1/findings: without its bearer token it refuses every request; a server that only
	// takes GitHub's webhooks or polls Security Center may leave it unset on purpose.
	findings := Check{Kind: KindServe, Component: "serve findings (POST /v1/findings)", Item: "bearer token",
		Required: sc.GitHub == nil && sc.SecurityCenter == nil}
	tokenEnv := cmp.Or(sc.TokenEnv, r.o.ServeTokenEnv)
	findings, _ = r.secretRef(findings, tokenEnv, "", "the bearer token scanners send")
	if findings.Status != StatusOK {
		findings.Detail = "POST /v1/findings refuses every request without it; " + findings.Detail
	}
	out = append(out, findings)
	if gl := sc.GitLab; gl != nil {
		c := Check{Kind: KindServe, Component: "serve gitlab (token revocation)", Item: "token", Required: true}
		if gl.TokenEnv == "" && gl.TokenFile == "" {
			c.Status, c.Detail, c.Fix = findings.Status, "the findings token's (serve.gitlab names none): "+findings.Detail, findings.Fix
		} else {
			c, _ = r.secretRef(c, gl.TokenEnv, gl.TokenFile, "the token GitLab sends")
		}
		out = append(out, c)
	}
	if gh := sc.GitHub; gh != nil {
		out = append(out, r.github(ctx, gh)...)
	}
	return out
}

// secretRef checks that a secret the configuration names (env or file) resolves, through the
// helper respond serve reads it with, and returns it; what says what it is, for the fix.
func (r *runner) secretRef(c Check, env, file, what string) (Check, accesskey.Secret) {
	from := "file " + file
	if env != "" {
		from = "$" + env
	}
	if env == "" && file == "" {
		c.Status, c.Detail = StatusNotChecked, "no variable named"
		return c, accesskey.Secret{}
	}
	secret, err := rotate.ReadSecretRef(r.o.Getenv, env, file)
	if err != nil {
		c.Status, c.Detail, c.Fix = StatusError, err.Error(), "set "+from+" to "+what
		return c, accesskey.Secret{}
	}
	c.Status, c.Detail = StatusOK, "from "+from+" (not shown)"
	return c, secret
}

// github checks serve.github: the webhook secret and the API token resolve, and the token can
// read secret-scanning alerts (one repository's first page, per_page=1, at the configured base
// URL: GitHub Enterprise Server's https://HOST/api/v3 as well as api.github.com).
func (r *runner) github(ctx context.Context, gh *playbooks.ServeGitHub) []Check {
	chk := func(item string) Check {
		return Check{Kind: KindServe, Component: "serve github (" + gh.APIURL + ")", Item: item, Required: true}
	}
	hook, _ := r.secretRef(chk("webhook secret"), gh.WebhookSecretEnv, gh.WebhookSecretFile, "the secret of the GitHub webhook")
	out := []Check{hook}
	tok, secret := r.secretRef(chk("API token"), gh.TokenEnv, gh.TokenFile, "a token that may read and write secret-scanning alerts")
	out = append(out, tok)
	read := chk("read secret-scanning alerts")
	read.Probe = "GET /user/repos, then /repos/{repo}/secret-scanning/alerts (per_page=1)"
	if tok.Status != StatusOK {
		read.Status, read.Detail = StatusNotChecked, "no token"
		return append(out, read)
	}
	client, err := source.NewGitHub(source.GitHubOptions{APIURL: gh.APIURL, Token: secret, HTTPClient: r.o.HTTPClient})
	if err != nil {
		read.Status, read.Detail = StatusError, err.Error()
		return append(out, read)
	}
	repo, err := client.CheckAlerts(ctx)
	return append(out, githubAccess(read, repo, err))
}

const fixGitHubScope = "give the token read and write access to secret-scanning alerts (fine-grained token or GitHub App: " +
	"\"Secret scanning alerts\"; classic token: the repo or security_events scope) on the repositories it answers for"

// githubAccess classifies the access check's answer: 401 is a token GitHub does not accept, 403
// one that may not read alerts (unless it is a rate limit), 404 a repository whose alerts the
// token cannot see or where secret scanning is off.
func githubAccess(c Check, repo string, err error) Check {
	var apiErr *source.APIError
	switch {
	case err == nil:
		c.Status, c.Detail = StatusOK, "read the alerts of "+repo+" (the first repository the token reaches)"
	case errors.Is(err, source.ErrNoRepository):
		c.Status, c.Detail, c.Fix = StatusMissing, err.Error(), "give the token access to the repositories whose alerts respond answers"
	case errors.As(err, &apiErr) && apiErr.Status == 0:
		c.Status, c.Detail, c.Fix = StatusError, "no answer from GitHub ("+err.Error()+")", "check serve.github.api-url and the network path from this host"
	case errors.As(err, &apiErr) && apiErr.Temporary():
		c.Status, c.Detail, c.Fix = StatusError, err.Error(), "try again later (GitHub's rate limit or an outage)"
	case errors.As(err, &apiErr) && apiErr.Status == http.StatusUnauthorized:
		c.Status, c.Detail, c.Fix = StatusError, "GitHub does not accept the token (HTTP 401)", "replace the token: it is wrong, expired or revoked"
	case errors.As(err, &apiErr) && apiErr.Status == http.StatusForbidden && repo == "":
		c.Status, c.Detail, c.Fix = StatusMissing, "the token may not list its repositories (HTTP 403)", fixGitHubScope
	case errors.As(err, &apiErr) && apiErr.Status == http.StatusForbidden:
		c.Status, c.Detail, c.Fix = StatusMissing, "the token may not read the secret-scanning alerts of "+repo+" (HTTP 403)", fixGitHubScope
	case errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound && repo == "":
		c.Status, c.Detail = StatusError, "GitHub answers 404 for the list of the token's repositories"
		c.Fix = "check serve.github.api-url: https://api.github.com, or https://HOST/api/v3 for GitHub Enterprise Server"
	case errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound:
		c.Status, c.Detail = StatusMissing, "GitHub answers 404 for the alerts of "+repo+": the token cannot see them, or secret scanning is off there"
		c.Fix = fixGitHubScope + ", and turn secret scanning on"
	default:
		c.Status, c.Detail = StatusError, err.Error()
	}
	return c
}

// pollReason says why a Security Center poll is configured, or "" when none is: the serve:
// section polls, a playbook answers Security Center's findings, or the state directory
// remembers a poll (respond --from security-center, e.g. on a schedule).
func pollReason(conf *playbooks.Config, stateDir string) string {
	if conf != nil && conf.Serve != nil && conf.Serve.SecurityCenter != nil {
		return "serve.security-center"
	}
	const sc = playbooks.SourceSecurityCenter
	if conf != nil {
		for _, pb := range conf.Playbooks {
			if pb.Playbook != nil && slices.Contains(pb.Playbook.Match.Sources, sc) {
				return "playbook " + pb.Name + " matches source " + sc
			}
		}
		for i, rl := range conf.Rules {
			if slices.Contains(rl.Match.Sources, sc) {
				return "rules[" + strconv.Itoa(i) + "] matches source " + sc
			}
		}
		for _, t := range conf.Trust {
			if t.Source == sc {
				return "trust names source " + sc
			}
		}
	}
	if stateDir != "" {
		if _, err := os.Lstat(filepath.Join(stateDir, source.PollStateFile)); err == nil {
			return "the state directory remembers a poll (" + source.PollStateFile + ")"
		}
	}
	return ""
}
