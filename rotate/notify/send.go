package notify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"github.com/respond-dev/respond/ram/accesskey"
)

// Retry bounds how a channel retries a 5xx or 429 answer, or a failed connection.
type Retry struct {
	Max     int           // retries after the first attempt; 0 means 4, negative means none
	WaitMin time.Duration // first backoff; 0 means 1s
	WaitMax time.Duration // longest backoff and longest Retry-After respected; 0 means 30s
	// Wait, when set, receives each computed wait and returns the one actually slept. Tests use it
	// to record the policy's choices and not sleep.
	Wait func(attempt int, computed time.Duration) time.Duration
}

func (r Retry) normalized() Retry {
	if r.Max == 0 {
		r.Max = 4
	}
	if r.Max < 0 {
		r.Max = 0
	}
	if r.WaitMin <= 0 {
		r.WaitMin = time.Second
	}
	if r.WaitMax <= 0 {
		r.WaitMax = 30 * time.Second
	}
	if r.WaitMax < r.WaitMin {
		r.WaitMax = r.WaitMin
	}
	return r
}

// Options are shared by every channel.
type Options struct {
	// HTTPClient sends the requests; nil means a fresh client with a 10 s timeout per attempt.
	HTTPClient *http.Client
	// Logger receives what go-retryablehttp and the channel log, with webhook URLs cut to their
	// host and known secrets redacted. nil means no logging.
	Logger *slog.Logger
	Retry  Retry
	// Now is the clock for signatures and Retry-After dates; nil means time.Now.
	Now func() time.Time
	// Redact, when set, is applied to every outgoing payload as a last net (pass the run's
	// accesskey.Redactor.Redact, so that a secret that slipped into a message never leaves).
	Redact func(string) string
}

// sender posts JSON to one webhook with retries and never lets the URL's token out.
type sender struct {
	name, kind string
	url        *url.URL
	host       string
	secrets    []string // plain values to redact from logs and errors
	client     *retryablehttp.Client
	logger     *slog.Logger
	retry      Retry
	now        func() time.Time
	redactOut  func(string) string
}

func newSender(name, kind string, webhook accesskey.Secret, opts Options, extra ...accesskey.Secret) (*sender, error) {
	if webhook.IsZero() {
		return nil, fmt.Errorf("notify %s (%s): no webhook URL", name, kind)
	}
	u, err := url.Parse(webhook.Reveal())
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		// Never echo the URL: it carries the token.
		return nil, fmt.Errorf("notify %s (%s): the webhook URL is not an http(s) URL", name, kind)
	}
	s := &sender{name: name, kind: kind, url: u, host: u.Host, retry: opts.Retry.normalized(), now: opts.Now, redactOut: opts.Redact}
	if s.now == nil {
		s.now = time.Now
	}
	s.secrets = secretValues(append([]accesskey.Secret{webhook}, extra...), u)
	s.logger = opts.Logger
	hc := &http.Client{Timeout: 10 * time.Second}
	if opts.HTTPClient != nil {
		cp := *opts.HTTPClient // a copy: the caller's client keeps its own redirect policy
		hc = &cp
	}
	// Never follow a redirect: a 307 would re-send the signed message to wherever the answer
	// says, and a 302 would turn into a GET whose answer is not the webhook's. A 3xx is a
	// failure that names its status.
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	s.client = &retryablehttp.Client{
		HTTPClient:   hc,
		RetryWaitMin: s.retry.WaitMin,
		RetryWaitMax: s.retry.WaitMax,
		RetryMax:     s.retry.Max,
		CheckRetry:   s.checkRetry,
		Backoff:      s.backoff,
		// Keep the last answer (to report its status) and never let go-retryablehttp build its
		// own error, which quotes the URL and so the token.
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
		RequestLogHook: func(_ retryablehttp.Logger, req *http.Request, _ int) {
			if n, ok := req.Context().Value(attemptsKey{}).(*atomic.Int32); ok {
				n.Add(1)
			}
		},
	}
	if s.logger != nil {
		s.client.Logger = &redactingLogger{l: s.logger, host: s.host, redact: s.redact}
	}
	return s, nil
}

// secretValues lists what must never be logged: each secret, and the token-bearing parts of the
// URL (its path and query, and each query value).
func secretValues(secrets []accesskey.Secret, u *url.URL) []string {
	var out []string
	for _, s := range secrets {
		if !s.IsZero() {
			out = append(out, s.Reveal())
		}
	}
	if u.Path != "" && u.Path != "/" {
		out = append(out, u.Path, url.PathEscape(u.Path))
		for _, seg := range strings.Split(u.Path, "/") {
			if len(seg) >= 8 {
				out = append(out, seg)
			}
		}
	}
	if u.RawQuery != "" {
		out = append(out, u.RawQuery)
		for _, vs := range u.Query() {
			for _, v := range vs {
				if len(v) >= 4 {
					out = append(out, v, url.QueryEscape(v))
				}
			}
		}
	}
	return out
}

var urlPattern = regexp.MustCompile(`(?i)\bhttps?://[^\s"'<>]+`)

// redact cuts every URL down to scheme and host and replaces every known secret.
func (s *sender) redact(v string) string {
	v = urlPattern.ReplaceAllStringFunc(v, func(m string) string {
		u, err := url.Parse(m)
		if err != nil || u.Host == "" {
			return accesskey.Redacted
		}
		return u.Scheme + "://" + u.Host + "/" + accesskey.Redacted
	})
	for _, sec := range s.secrets {
		if sec != "" {
			v = strings.ReplaceAll(v, sec, accesskey.Redacted)
		}
	}
	return v
}

func (s *sender) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if err != nil {
		return true, nil
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable:
		if d, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), s.now()); ok && d > s.retry.WaitMax {
			// The server asks for a longer pause than we are willing to take: give up now.
			return false, nil
		}
		return true, nil
	case resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented:
		return true, nil
	}
	return false, nil
}

// backoff is exponential from WaitMin to WaitMax, or the server's Retry-After when it sent one.
func (s *sender) backoff(_, _ time.Duration, attempt int, resp *http.Response) time.Duration {
	d := Backoff(s.retry, attempt, resp, s.now())
	if s.retry.Wait != nil {
		return s.retry.Wait(attempt, d)
	}
	return d
}

// Backoff is the wait before retry number attempt+1: the server's Retry-After (bounded by
// WaitMax) when the answer carried one, otherwise WaitMin·2^attempt bounded by WaitMax.
func Backoff(r Retry, attempt int, resp *http.Response, now time.Time) time.Duration {
	r = r.normalized()
	if resp != nil {
		if d, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), now); ok {
			return min(d, r.WaitMax)
		}
	}
	mult := math.Pow(2, float64(attempt)) * float64(r.WaitMin)
	if mult > float64(r.WaitMax) || math.IsInf(mult, 0) {
		return r.WaitMax
	}
	return time.Duration(mult)
}

// ParseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 || n > int64(math.MaxInt64/int64(time.Second)) {
			return 0, false
		}
		return time.Duration(n) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	if d := t.Sub(now); d > 0 {
		return d, true
	}
	return 0, true
}

// attemptsKey carries a request's attempt counter through go-retryablehttp to RequestLogHook.
type attemptsKey struct{}

// maxResponse bounds how much of an answer is read.
const maxResponse = 64 << 10

// post sends body to u (the webhook URL, possibly with signature parameters added) and hands the
// answer to check. Every error names the channel and the host only.
func (s *sender) post(ctx context.Context, u *url.URL, body []byte, header http.Header, check func(status int, body []byte) error) error {
	if s.redactOut != nil {
		body = []byte(s.redactOut(string(body)))
	}
	var attempts atomic.Int32
	ctx = context.WithValue(ctx, attemptsKey{}, &attempts)
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPost, u.String(), body)
	if err != nil {
		return s.errorf("build request: %s", s.redact(err.Error()))
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "respond-notify")
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := s.client.Do(req)
	tries := int(attempts.Load())
	if resp != nil {
		defer resp.Body.Close()
	}
	if ctx.Err() != nil {
		return s.errorf("%v", ctx.Err())
	}
	if err != nil && resp == nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return s.errorf("post to %s failed after %d attempt(s): %s", s.host, tries, s.redact(err.Error()))
	}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		// The status only: the answer's body is another service's text, never copied into
		// respond's errors, reports, journal or audit log.
		msg := fmt.Sprintf("%s answered HTTP %d after %d attempt(s)", s.host, resp.StatusCode, tries)
		if resp.StatusCode >= 300 && resp.StatusCode <= 399 {
			msg += " (a redirect: respond does not follow redirects; configure the webhook's final URL)"
		}
		if d, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), s.now()); ok && d > s.retry.WaitMax {
			msg += fmt.Sprintf(" and asked to wait %s, longer than the %s respond waits", d.Round(time.Second), s.retry.WaitMax)
		}
		return s.errorf("%s", msg)
	}
	if check != nil {
		if err := check(resp.StatusCode, data); err != nil {
			return s.errorf("%s rejected the message: %s", s.host, s.redact(err.Error()))
		}
	}
	if s.logger != nil {
		s.logger.Info("notification sent", "channel", s.name, "kind", s.kind, "host", s.host, "attempts", tries)
	}
	return nil
}

func (s *sender) errorf(format string, args ...any) error {
	return fmt.Errorf("notify %s (%s): %s", s.name, s.kind, fmt.Sprintf(format, args...))
}

// redactingLogger is the go-retryablehttp LeveledLogger: it replaces the url value by the host
// and redacts every other value, then logs through slog.
type redactingLogger struct {
	l      *slog.Logger
	host   string
	redact func(string) string
}

func (r *redactingLogger) args(kv []any) []any {
	out := make([]any, 0, len(kv)+2)
	out = append(out, "host", r.host)
	for i := 0; i+1 < len(kv); i += 2 {
		k := fmt.Sprint(kv[i])
		if k == "url" {
			continue
		}
		switch v := kv[i+1].(type) {
		case time.Duration, int, int64, bool:
			out = append(out, k, v)
		default:
			out = append(out, k, r.redact(fmt.Sprint(v)))
		}
	}
	return out
}

func (r *redactingLogger) Error(msg string, kv ...any) { r.l.Error(r.redact(msg), r.args(kv)...) }
func (r *redactingLogger) Info(msg string, kv ...any)  { r.l.Info(r.redact(msg), r.args(kv)...) }
func (r *redactingLogger) Debug(msg string, kv ...any) { r.l.Debug(r.redact(msg), r.args(kv)...) }
func (r *redactingLogger) Warn(msg string, kv ...any)  { r.l.Warn(r.redact(msg), r.args(kv)...) }

var _ retryablehttp.LeveledLogger = (*redactingLogger)(nil)
