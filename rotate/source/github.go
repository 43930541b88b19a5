package source

// GitHub secret scanning: the secret_scanning_alert webhook (verified, parsed) and the REST API
// respond reads an alert and its locations from, and resolves the alert with once the key is
// remediated. The webhook leaves the secret out, so the alert is always read back through the
// API, with the token and base URL of the configuration (api.github.com or a GitHub Enterprise
// Server's https://HOST/api/v3): never a URL the payload names, so the token goes nowhere else.

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/respond-dev/respond/ram/accesskey"
)

// GitHubName names the source in findings, locations, metrics and playbook matches.
const GitHubName = "github"

// GitHub's secret types of the Alibaba Cloud AccessKey pair.
const (
	SecretTypeAlibabaID     = "alibaba_cloud_access_key_id"
	SecretTypeAlibabaSecret = "alibaba_cloud_access_key_secret"
)

// IsAlibabaSecretType reports whether t is one of the Alibaba Cloud AccessKey secret types.
func IsAlibabaSecretType(t string) bool {
	return t == SecretTypeAlibabaID || t == SecretTypeAlibabaSecret
}

// AlertRef names one secret-scanning alert: the repository (owner/name) and the alert's number.
type AlertRef struct {
	Repository string `json:"repository"`
	Number     int    `json:"number"`
	// Action is the webhook's action (created, reopened, publicly_leaked).
	Action string `json:"action,omitempty"`
	// HTMLURL is the alert's page, for people.
	HTMLURL string `json:"html_url,omitempty"`
}

func (r AlertRef) String() string { return r.Repository + " alert #" + strconv.Itoa(r.Number) }

var repoRe = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}$`)

// Valid reports whether the reference can be put in an API path.
func (r AlertRef) Valid() bool {
	if !repoRe.MatchString(r.Repository) || r.Number <= 0 {
		return false
	}
	owner, name, _ := strings.Cut(r.Repository, "/")
	return owner != "." && owner != ".." && name != "." && name != ".."
}

// Webhook actions respond acts on.
var webhookActions = []string{"created", "reopened", "publicly_leaked"}

// Webhook is what respond reads of a secret_scanning_alert delivery.
type Webhook struct {
	Action     string
	SecretType string
	State      string
	Alert      AlertRef
}

// Actionable reports whether respond acts on the delivery: an Alibaba alert created, reopened or
// found publicly leaked.
func (w Webhook) Actionable() bool {
	for _, a := range webhookActions {
		if w.Action == a {
			return IsAlibabaSecretType(w.SecretType) && w.Alert.Valid()
		}
	}
	return false
}

// ErrBadSignature says a delivery's X-Hub-Signature-256 is missing or wrong.
var ErrBadSignature = errors.New("X-Hub-Signature-256 is missing or does not match the webhook secret")

// VerifySignature checks GitHub's X-Hub-Signature-256 header ("sha256=" and the hex HMAC-SHA256
// of the raw body, keyed with the webhook secret) in constant time.
func VerifySignature(secret accesskey.Secret, body []byte, header string) error {
	hexSum, ok := strings.CutPrefix(header, "sha256=")
	if !ok || secret.IsZero() || len(hexSum) != sha256.Size*2 {
		return ErrBadSignature
	}
	got, err := hex.DecodeString(hexSum)
	if err != nil {
		return ErrBadSignature
	}
	mac := hmac.New(sha256.New, []byte(secret.Reveal()))
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return ErrBadSignature
	}
	return nil
}

// Sign is the X-Hub-Signature-256 value of body (for tests and relays).
func Sign(secret accesskey.Secret, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret.Reveal()))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// ParseWebhook reads a secret_scanning_alert payload (call it only once the signature checked).
func ParseWebhook(body []byte) (Webhook, error) {
	var p struct {
		Action string `json:"action"`
		Alert  struct {
			Number     int    `json:"number"`
			SecretType string `json:"secret_type"`
			State      string `json:"state"`
			HTMLURL    string `json:"html_url"`
		} `json:"alert"`
		Repository struct {
			FullName string `json:"full_name"`
		} `json:"repository"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return Webhook{}, errors.New("read the secret_scanning_alert payload: not JSON")
	}
	return Webhook{Action: p.Action, SecretType: p.Alert.SecretType, State: p.Alert.State,
		Alert: AlertRef{Repository: p.Repository.FullName, Number: p.Alert.Number, Action: p.Action, HTMLURL: p.Alert.HTMLURL}}, nil
}

// GitHubOptions configure a GitHub client.
type GitHubOptions struct {
	// APIURL is the REST API's base URL (default https://api.github.com).
	APIURL string
	// Token authenticates every call (a token that can read and write secret-scanning alerts and
	// read the repositories' contents).
	Token accesskey.Secret
	// HTTPClient, when set, replaces a client with a 30 s timeout.
	HTTPClient *http.Client
	// UserAgent identifies respond (GitHub requires one).
	UserAgent string
	// OnCall, when set, is told each call's status (0: no answer) for metrics.
	OnCall func(status int)
}

// GitHub is a client of GitHub's REST API, safe for concurrent use.
type GitHub struct {
	base *url.URL
	opts GitHubOptions
}

// NewGitHub builds a client.
func NewGitHub(opts GitHubOptions) (*GitHub, error) {
	if opts.APIURL == "" {
		opts.APIURL = "https://api.github.com"
	}
	u, err := url.Parse(strings.TrimSuffix(opts.APIURL, "/"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("GitHub API URL %q: expected https://api.github.com or https://HOST/api/v3", opts.APIURL)
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "respond"
	}
	return &GitHub{base: u, opts: opts}, nil
}

// APIError is an answer of the GitHub API other than success. Its text never holds the body.
type APIError struct {
	Method, Path string
	Status       int
	// RetryAfter is how long GitHub asked to wait (rate limits), when it said.
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("GitHub %s %s: HTTP %d", e.Method, e.Path, e.Status)
	if e.RetryAfter > 0 {
		s += fmt.Sprintf(" (retry after %s)", e.RetryAfter)
	}
	return s
}

// Temporary reports an error worth trying again later (rate limits, server errors).
func (e *APIError) Temporary() bool {
	return e.Status == 0 || e.Status == http.StatusTooManyRequests || e.Status >= 500 || e.RetryAfter > 0
}

// NotFound reports a 404: no such alert (or no access to it).
func (e *APIError) NotFound() bool { return e.Status == http.StatusNotFound }

// maxAnswer bounds an answer respond reads (a blob's JSON is base64 of up to ~6 MiB).
const maxAnswer = 8 << 20

// do sends one request to path (relative to the base URL, or an absolute URL on the base's host)
// and decodes a JSON answer into out; it returns the answer's headers.
func (g *GitHub) do(ctx context.Context, method, path string, body, out any) (http.Header, error) {
	u := *g.base
	if abs, err := url.Parse(path); err == nil && abs.IsAbs() {
		if abs.Scheme != g.base.Scheme || abs.Host != g.base.Host {
			return nil, fmt.Errorf("GitHub %s: refusing a URL on another host than the configured API", method)
		}
		u = *abs
	} else {
		p, q, _ := strings.Cut(path, "?")
		u.Path = strings.TrimSuffix(u.Path, "/") + p
		u.RawQuery = q
	}
	apiErr := &APIError{Method: method, Path: u.Path}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, fmt.Errorf("GitHub %s %s: %w", method, u.Path, err)
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	req.Header.Set("User-Agent", g.opts.UserAgent)
	if !g.opts.Token.IsZero() {
		req.Header.Set("Authorization", "Bearer "+g.opts.Token.Reveal())
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := g.opts.HTTPClient.Do(req)
	if err != nil {
		g.called(0)
		if ctx.Err() != nil {
			return nil, fmt.Errorf("GitHub %s %s: %w", method, u.Path, ctx.Err())
		}
		return nil, apiErr // the transport's error can quote the URL: the status says enough
	}
	defer resp.Body.Close()
	g.called(resp.StatusCode)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		apiErr.Status = resp.StatusCode
		apiErr.RetryAfter = retryAfter(resp)
		return resp.Header, apiErr
	}
	if out == nil {
		return resp.Header, nil
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return nil, fmt.Errorf("GitHub %s %s: read the answer: %w", method, u.Path, err)
	}
	if len(b) > maxAnswer {
		return nil, fmt.Errorf("GitHub %s %s: the answer is larger than %d bytes", method, u.Path, maxAnswer)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return nil, fmt.Errorf("GitHub %s %s: the answer is not the JSON expected", method, u.Path)
	}
	return resp.Header, nil
}

func (g *GitHub) called(status int) {
	if g.opts.OnCall != nil {
		g.opts.OnCall(status)
	}
}

// retryAfter reads Retry-After (seconds), or x-ratelimit-reset when the rate limit is spent.
func retryAfter(resp *http.Response) time.Duration {
	if s := resp.Header.Get("Retry-After"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n >= 0 {
			return time.Duration(n) * time.Second
		}
	}
	if resp.Header.Get("X-RateLimit-Remaining") == "0" {
		if n, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64); err == nil {
			if d := time.Until(time.Unix(n, 0)); d > 0 {
				return d
			}
		}
		return time.Minute
	}
	return 0
}

// AlertLocation is one place an alert's secret was found (a commit's file; other kinds carry
// only URLs).
type AlertLocation struct {
	Type      string `json:"type"`
	Path      string `json:"path"`
	StartLine int    `json:"start_line"`
	BlobSHA   string `json:"blob_sha"`
	CommitSHA string `json:"commit_sha"`
	BlobURL   string `json:"blob_url"`
	HTMLURL   string `json:"html_url"`
}

// Alert is a secret-scanning alert as the REST API answers it.
type Alert struct {
	Number     int
	State      string // open or resolved
	Resolution string
	SecretType string
	// Secret is the alert's secret value: for Alibaba's pair, either the AccessKey id or the
	// AccessKey secret.
	Secret        accesskey.Secret
	HTMLURL       string
	FirstLocation *AlertLocation
}

type alertJSON struct {
	Number                int            `json:"number"`
	State                 string         `json:"state"`
	Resolution            *string        `json:"resolution"`
	SecretType            string         `json:"secret_type"`
	Secret                *string        `json:"secret"`
	HTMLURL               string         `json:"html_url"`
	FirstLocationDetected *AlertLocation `json:"first_location_detected"`
}

func (a alertJSON) alert() Alert {
	out := Alert{Number: a.Number, State: a.State, SecretType: a.SecretType, HTMLURL: a.HTMLURL, FirstLocation: a.FirstLocationDetected}
	if a.Resolution != nil {
		out.Resolution = *a.Resolution
	}
	if a.Secret != nil {
		out.Secret = accesskey.NewSecret(strings.TrimSpace(*a.Secret))
	}
	return out
}

func alertPath(r AlertRef) string {
	return "/repos/" + r.Repository + "/secret-scanning/alerts/" + strconv.Itoa(r.Number)
}

// ErrBadRef says an alert reference cannot name an API path.
var ErrBadRef = errors.New("not a repository (owner/name) and alert number")

// Alert reads one alert (GET /repos/{owner}/{repo}/secret-scanning/alerts/{number}).
func (g *GitHub) Alert(ctx context.Context, r AlertRef) (Alert, error) {
	if !r.Valid() {
		return Alert{}, ErrBadRef
	}
	var a alertJSON
	if _, err := g.do(ctx, http.MethodGet, alertPath(r), nil, &a); err != nil {
		return Alert{}, err
	}
	return a.alert(), nil
}

// maxLocationPages bounds the pages of locations read (100 each).
const maxLocationPages = 10

// Locations reads an alert's locations (every page, at most 1,000 locations).
func (g *GitHub) Locations(ctx context.Context, r AlertRef) ([]AlertLocation, error) {
	if !r.Valid() {
		return nil, ErrBadRef
	}
	var out []AlertLocation
	next := alertPath(r) + "/locations?per_page=100"
	for page := 0; next != "" && page < maxLocationPages; page++ {
		var list []struct {
			Type    string        `json:"type"`
			Details AlertLocation `json:"details"`
		}
		h, err := g.do(ctx, http.MethodGet, next, nil, &list)
		if err != nil {
			return nil, err
		}
		for _, l := range list {
			d := l.Details
			d.Type = l.Type
			out = append(out, d)
		}
		next = nextLink(h.Get("Link"))
	}
	return out, nil
}

// nextLink is the rel="next" URL of a Link header, or "".
func nextLink(h string) string {
	for part := range strings.SplitSeq(h, ",") {
		u, params, ok := strings.Cut(strings.TrimSpace(part), ";")
		if ok && strings.Contains(params, `rel="next"`) {
			return strings.Trim(strings.TrimSpace(u), "<>")
		}
	}
	return ""
}

var shaRe = regexp.MustCompile(`^[0-9a-f]{40}([0-9a-f]{24})?$`)

// maxBlob bounds the blobs read to find the other half of a pair.
const maxBlob = 4 << 20

// Blob reads a file's content by its blob SHA (GET /repos/{owner}/{repo}/git/blobs/{sha}).
func (g *GitHub) Blob(ctx context.Context, repo, sha string) ([]byte, error) {
	if !repoRe.MatchString(repo) || !shaRe.MatchString(sha) {
		return nil, ErrBadRef
	}
	var b struct {
		Content  string `json:"content"`
		Encoding string `json:"encoding"`
		Size     int    `json:"size"`
	}
	if _, err := g.do(ctx, http.MethodGet, "/repos/"+repo+"/git/blobs/"+sha, nil, &b); err != nil {
		return nil, err
	}
	if b.Size > maxBlob {
		return nil, fmt.Errorf("GitHub blob %s of %s: %d bytes, more than respond reads (%d)", sha, repo, b.Size, maxBlob)
	}
	if b.Encoding != "base64" {
		return []byte(b.Content), nil
	}
	out, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(strings.ReplaceAll(b.Content, "\n", ""), "\r", ""))
	if err != nil {
		return nil, fmt.Errorf("GitHub blob %s of %s: not base64", sha, repo)
	}
	return out, nil
}

// ResolveOutcome says what Resolve did.
type ResolveOutcome string

// Outcomes of Resolve.
const (
	Resolved        ResolveOutcome = "resolved"
	AlreadyResolved ResolveOutcome = "already-resolved"
)

// Resolve closes an alert as revoked, with the comment Remark(runID, done) (the run that
// remediated the key and what it did), then reads it again to confirm. An alert already
// resolved is left alone. Call it only for a key respond remediated or found remediated.
func (g *GitHub) Resolve(ctx context.Context, r AlertRef, runID, done string) (ResolveOutcome, error) {
	a, err := g.Alert(ctx, r)
	if err != nil {
		return "", err
	}
	if a.State == "resolved" {
		return AlreadyResolved, nil
	}
	body := map[string]string{"state": "resolved", "resolution": "revoked", "resolution_comment": Remark(runID, done)}
	if _, err := g.do(ctx, http.MethodPatch, alertPath(r), body, nil); err != nil {
		return "", err
	}
	if a, err = g.Alert(ctx, r); err != nil {
		return "", fmt.Errorf("confirm %s is resolved: %w", r, err)
	}
	if a.State != "resolved" {
		return "", fmt.Errorf("%s still reads %q after it was resolved", r, a.State)
	}
	return Resolved, nil
}
