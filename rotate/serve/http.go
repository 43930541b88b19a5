package serve

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/respond-dev/respond/detect"
	"github.com/respond-dev/respond/ram/accesskey"
)

// Accepted is the answer to a request that accepted findings (202).
type Accepted struct {
	Findings []AcceptedFinding `json:"findings"`
	Warnings []string          `json:"warnings,omitempty"`
}

// AcceptedFinding is one accepted finding: its id (GET /v1/findings/{id}) and key.
type AcceptedFinding struct {
	ID    string      `json:"id"`
	KeyID string      `json:"key_id,omitempty"`
	Kind  detect.Kind `json:"kind,omitempty"`
	// Duplicate says the finding was accepted before (a redelivery).
	Duplicate bool `json:"duplicate,omitempty"`
}

// Problem is the answer to a request that was refused.
type Problem struct {
	Error string `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// refuse answers a refusal and counts it.
func (s *Server) refuse(w http.ResponseWriter, src, reason string, status int, msg string) {
	s.Metrics.Inc("respond_requests_rejected_total", "source", src, "reason", reason)
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="respond"`)
	}
	writeJSON(w, status, Problem{Error: accesskey.Printable(msg)})
}

// tooMany answers 429 with Retry-After.
func (s *Server) tooMany(w http.ResponseWriter, src, reason string, wait time.Duration, msg string) {
	w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(max(wait, time.Second).Seconds()))))
	s.refuse(w, src, reason, http.StatusTooManyRequests, msg)
}

// authorized compares a request's token with want in constant time: "Authorization: Bearer T",
// or (GitLab sends the pre-shared token as it is) "Authorization: T" when raw is allowed.
func authorized(r *http.Request, want accesskey.Secret, raw bool) bool {
	if want.IsZero() {
		return false
	}
	h := r.Header.Get("Authorization")
	got, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		if !raw {
			return false
		}
		got = h
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(want.Reveal())) == 1
}

// readBody reads the request body up to the configured limit; false when it answered already.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, src string) ([]byte, bool) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.conf.MaxBody))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		s.refuse(w, src, "too_large", http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is larger than %d bytes (serve.max-body)", s.conf.MaxBody))
		return nil, false
	case err != nil:
		s.refuse(w, src, "bad_body", http.StatusBadRequest, "the body could not be read")
		return nil, false
	}
	return b, true
}

// admit checks the source's rate; false when it answered 429.
func (s *Server) admit(w http.ResponseWriter, src string) bool {
	if ok, wait := s.limits.allow(src); !ok {
		s.tooMany(w, src, "rate_limited", wait, "too many requests from "+src+" (serve.rate); retry later")
		return false
	}
	return true
}

// roomFor checks the queue's room for n more findings; false when it answered 429.
func (s *Server) roomFor(w http.ResponseWriter, src string, n int) bool {
	if s.q.len()+n > s.conf.Queue {
		s.tooMany(w, src, "queue_full", s.opts.Retry, fmt.Sprintf("the queue holds %d findings (serve.queue); retry later", s.conf.Queue))
		return false
	}
	return true
}

// accept writes the findings to the spool's intake log (one write and one sync, shared with the
// requests that arrive meanwhile), then queues them: they are on disk before the caller answers.
// On an error none is accepted.
func (s *Server) accept(src string, findings []detect.Finding) ([]AcceptedFinding, error) {
	now := s.opts.Now()
	out := []AcceptedFinding{}
	es := make([]*Entry, 0, len(findings))
	for _, f := range findings {
		e := &Entry{ID: NewID("f", now), Received: now, Source: src, Finding: spoolFinding(f), KeyID: f.KeyID.String()}
		es = append(es, e)
		out = append(out, AcceptedFinding{ID: e.ID, KeyID: e.KeyID, Kind: f.Kind})
	}
	if err := s.spool.Append(es); err != nil {
		return nil, err
	}
	s.q.push(es...)
	s.Metrics.Add("respond_findings_received_total", float64(len(es)), "source", src)
	return out, nil
}

// postFindings: POST /v1/findings — any input detect reads (?format= forces one), with the bearer
// token. 202 with the findings' ids once they are on disk.
func (s *Server) postFindings(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	src := SourceFindings
	if !authorized(r, s.opts.Token, false) {
		s.refuse(w, src, "unauthorized", http.StatusUnauthorized, "missing or wrong bearer token (the environment variable serve.token-env names)")
		return
	}
	if !s.admit(w, src) {
		return
	}
	body, ok := s.readBody(w, r, src)
	if !ok {
		return
	}
	res, err := detect.Read(r.Context(), bytes.NewReader(body), detect.Options{Format: detect.Format(r.URL.Query().Get("format")), Source: src})
	if err != nil && !errors.Is(err, detect.ErrEmptyInput) {
		status := http.StatusBadRequest
		if errors.Is(err, detect.ErrUnusable) {
			status = http.StatusUnprocessableEntity
		}
		s.refuse(w, src, "invalid", status, err.Error())
		return
	}
	if !s.roomFor(w, src, len(res.Findings)) {
		return
	}
	acc, err := s.accept(src, res.Findings)
	if err != nil {
		s.log.Error("spool write failed", "error", err.Error())
		s.refuse(w, src, "spool", http.StatusServiceUnavailable, "the state directory failed: no finding was accepted; retry")
		return
	}
	warnings := make([]string, 0, len(res.Warnings))
	for _, wn := range res.Warnings {
		warnings = append(warnings, accesskey.Printable(wn))
	}
	s.Metrics.observeAccept(time.Since(start))
	writeJSON(w, http.StatusAccepted, Accepted{Findings: acc, Warnings: warnings})
}

// getFinding: GET /v1/findings/{id} — where an accepted finding stands (never its secret).
func (s *Server) getFinding(w http.ResponseWriter, r *http.Request) {
	if !authorized(r, s.opts.Token, false) {
		s.refuse(w, SourceFindings, "unauthorized", http.StatusUnauthorized, "missing or wrong bearer token")
		return
	}
	e, err := s.spool.Get(r.PathValue("id"))
	if err != nil {
		writeJSON(w, http.StatusNotFound, Problem{Error: "no such finding"})
		return
	}
	writeJSON(w, http.StatusOK, e)
}

// statusWriter remembers the status and size of an answer for the access log.
type statusWriter struct {
	http.ResponseWriter
	status int
	size   int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.size += n
	return n, err
}

// routes are the paths metrics name; anything else is "other" (a path is input).
var routes = []string{"/v1/findings", "/v1/github", "/v1/revocable_token_types", "/v1/revoke_tokens", "/healthz", "/readyz", "/metrics"}

func route(p string) string {
	for _, r := range routes {
		if p == r {
			return r
		}
	}
	if strings.HasPrefix(p, "/v1/findings/") {
		return "/v1/findings/{id}"
	}
	return "other"
}

// accessLog logs each request: method, route, status, size, duration, the client's address. Never
// a header (tokens, signatures), a query or a body (secrets).
func (s *Server) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		if f, ok := w.(http.Flusher); ok {
			f.Flush() // the answer goes now, not after the log line (a slow log must not delay a 202)
		}
		rt := route(r.URL.Path)
		s.Metrics.Inc("respond_http_requests_total", "route", rt, "status", strconv.Itoa(sw.status))
		if rt == "/healthz" || rt == "/readyz" || rt == "/metrics" {
			return // probes and scrapes would drown the log
		}
		s.log.Info("request", "method", accesskey.Printable(r.Method), "route", rt, "status", sw.status, "bytes", sw.size,
			"duration_ms", time.Since(start).Milliseconds(), "remote", accesskey.Printable(r.RemoteAddr))
	})
}
