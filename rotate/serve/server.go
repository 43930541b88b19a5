// Package serve is respond as a service (`respond serve`): findings arrive over HTTP (scanner
// output POSTed to /v1/findings, GitHub secret-scanning webhooks, GitLab's token-revocation API)
// or from Security Center polls; each is written to the state directory before it is
// acknowledged, then run through the same engine as the CLI (rotate.Batch: the same playbooks,
// journal and per-key locks), and the source's alert is closed once the key is remediated. A
// restart resumes every accepted finding that had not ended. cmd/respond wires it (flags,
// configuration, credentials, the listener, signals).
package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/respond-dev/respond/detect"
	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/rotate"
	"github.com/respond-dev/respond/rotate/journal"
	"github.com/respond-dev/respond/rotate/source"
)

// Sources of findings, as entries, metrics and logs name them.
const (
	SourceFindings = "findings"
	SourceGitHub   = source.GitHubName
	SourceGitLab   = source.GitLabName
)

// Runner runs findings through respond's engine with the batch's redactor (which knows the
// findings' secrets); a finding's Security Center records are the alerts its close step marks
// handled. BatchRunner is the one respond serve uses.
type Runner interface {
	Run(ctx context.Context, findings []source.Finding, red *accesskey.Redactor) ([]*rotate.Item, error)
}

// GitHub is what the server needs of GitHub (*source.GitHub implements it).
type GitHub interface {
	AlertFinding(ctx context.Context, r source.AlertRef) (source.AlertFinding, error)
	Resolve(ctx context.Context, r source.AlertRef, runID, done string) (source.ResolveOutcome, error)
}

// SecurityCenter is what the server needs of Security Center: a poll of the pending records (the
// engine's close step marks them handled once their key is remediated).
type SecurityCenter interface {
	Poll(ctx context.Context) (Polled, error)
}

// Polled is one poll: a finding per key with its records, what could not be read, and Done, to
// call once the findings are in the spool (it remembers the poll when every account was read).
type Polled struct {
	Findings []source.Finding
	Warnings []string
	Done     func() error
}

// Options configure a Server.
type Options struct {
	// StateDir is the state directory the CLI uses too (journals, locks, audit): the spool lives
	// in its serve/ subdirectory.
	StateDir string
	Config   *playbooks.ServeConfig
	Runner   Runner
	// Token authenticates POST /v1/findings (Authorization: Bearer); zero refuses every post.
	// TokenEnv names where it was read (for the warning when it is zero).
	Token    accesskey.Secret
	TokenEnv string
	// GitHub and WebhookSecret turn on POST /v1/github.
	GitHub        GitHub
	WebhookSecret accesskey.Secret
	// GitLabToken turns on the GitLab token-revocation API (zero: off).
	GitLabToken accesskey.Secret
	// SecurityCenter turns on polling every Config.SecurityCenter.Poll.
	SecurityCenter SecurityCenter
	// Remediated says whether a finding is of a key an earlier run remediated and the engine
	// would find nothing left to do for, confirmed gone from the journal's owner (Attach:
	// rotate.Batch.RemediatedBefore: one ListAccessKeys, one recycle-bin lookup), with that journal. Such a finding (the
	// same leak reported again) then ends already-remediated without the engine, whose owner
	// search would scan every account for a key that no longer exists. Nil: always the engine.
	Remediated func(ctx context.Context, f detect.Finding) (journal.State, bool, error)
	// ResumeCommand is the command that resumes a rotation, %s for the key id (Attach: the
	// batches' own, rotate.Batch.ResumeCommand, with the state directory and configuration): an
	// entry given up on names it.
	ResumeCommand string
	// Ready checks that the credentials work (GET /readyz); nil: always.
	Ready func(ctx context.Context) error
	// Metrics, when set, are the counters to use (cmd counts GitHub calls into them too).
	Metrics *Metrics
	// Log receives the access log and the server's events (never a secret, never a body).
	Log *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Retry is the first wait before a finding is tried again (doubling, at most an hour;
	// default 30 s); MaxAttempts how often it is tried before it is left to a human (default 8).
	Retry       time.Duration
	MaxAttempts int
	// MaxBatch is the most findings one batch runs (default 100); Gather how long a worker
	// waits for more to arrive once it has one (default 200 ms).
	MaxBatch int
	Gather   time.Duration
	// Grace is how long a shutdown lets the batches in flight finish before it interrupts them
	// (they stop at a step boundary and resume on restart; default 20 s).
	Grace time.Duration
}

// Server is respond serve.
type Server struct {
	opts    Options
	conf    playbooks.ServeConfig
	spool   *Spool
	q       *queue
	limits  *limiter
	Metrics *Metrics
	log     *slog.Logger

	readyMu  sync.Mutex
	readyAt  time.Time
	readyErr error
	// leftMu serializes the updates of the Security Center records left pending (a read, then
	// the file replaced: source.UpdatePending), which workers make as their findings end.
	leftMu sync.Mutex
}

// New opens the spool and loads every pending entry (a restart resumes them).
func New(opts Options) (*Server, error) {
	if opts.Runner == nil {
		return nil, errors.New("serve: no engine")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Retry <= 0 {
		opts.Retry = 30 * time.Second
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 8
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 100
	}
	if opts.Gather == 0 {
		opts.Gather = 200 * time.Millisecond
	}
	if opts.Grace <= 0 {
		opts.Grace = 20 * time.Second
	}
	conf := playbooks.DefaultServeConfig()
	if opts.Config != nil {
		conf = opts.Config
	}
	sp, err := OpenSpool(opts.StateDir)
	if err != nil {
		return nil, err
	}
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics()
	}
	s := &Server{opts: opts, conf: *conf, spool: sp, q: newQueue(), limits: newLimiter(conf.Rate, conf.Burst, opts.Now),
		Metrics: opts.Metrics, log: opts.Log}
	s.Metrics.gauges = s.gauges
	pending, err := sp.Pending()
	if err != nil {
		s.log.Warn("some spooled findings cannot be read and are left as they are", "error", err.Error())
	}
	for _, e := range pending {
		e.NextTry = time.Time{} // a restart tries again at once
	}
	s.q.push(pending...)
	if len(pending) > 0 {
		s.log.Info("resuming accepted findings", "count", len(pending))
	}
	sp.Prune(opts.Now().Add(-30 * 24 * time.Hour))
	return s, nil
}

func (s *Server) gauges() map[string]float64 {
	age := 0.0
	if t := s.q.oldest(); !t.IsZero() {
		age = max(0, s.opts.Now().Sub(t).Seconds())
	}
	return map[string]float64{"respond_queue_depth": float64(s.q.len()), "respond_oldest_pending_seconds": age,
		"respond_queue_capacity": float64(s.conf.Queue)}
}

// Pending counts the findings accepted and not finished.
func (s *Server) Pending() int { return s.q.len() }

// Run runs the workers (and the Security Center poll) until ctx ends, then lets the batches in
// flight finish for Options.Grace before interrupting them. Stop taking requests first (the
// http.Server's Shutdown): what is accepted after Run returns still waits in the spool.
func (s *Server) Run(ctx context.Context) error {
	work, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	var wg sync.WaitGroup
	for range max(s.conf.Workers, 1) {
		wg.Go(func() { s.worker(ctx, work) })
	}
	if s.opts.SecurityCenter != nil && s.conf.SecurityCenter != nil {
		wg.Go(func() { s.pollSecurityCenter(ctx) })
	}
	<-ctx.Done()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-time.After(s.opts.Grace):
		s.log.Warn("interrupting the batches in flight; they resume on restart", "grace", s.opts.Grace.String())
		stopWork()
		<-done
		return nil
	}
}

// Handler routes the API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/findings", s.postFindings)
	mux.HandleFunc("GET /v1/findings/{id}", s.getFinding)
	mux.HandleFunc("POST /v1/github", s.postGitHub)
	mux.HandleFunc("GET /v1/revocable_token_types", s.gitlabTypes)
	mux.HandleFunc("POST /v1/revoke_tokens", s.gitlabRevoke)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { writeText(w, http.StatusOK, "ok\n") })
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_ = s.Metrics.Write(w)
	})
	return s.accessLog(mux)
}

// readyz: the state directory takes a file, and the credentials work (checked at most every
// 10 s, a failure as a success: the probe is unauthenticated, and a caller must not be able to
// make respond call the cloud at will).
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if err := s.spool.Writable(); err != nil {
		writeText(w, http.StatusServiceUnavailable, "not ready: "+err.Error()+"\n")
		return
	}
	if s.opts.Ready != nil {
		s.readyMu.Lock()
		if now := s.opts.Now(); now.Sub(s.readyAt) > 10*time.Second {
			ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
			s.readyErr, s.readyAt = s.opts.Ready(ctx), now
			cancel()
		}
		err := s.readyErr
		s.readyMu.Unlock()
		if err != nil {
			writeText(w, http.StatusServiceUnavailable, "not ready: the credentials do not work: "+accesskey.Printable(err.Error())+"\n")
			return
		}
	}
	writeText(w, http.StatusOK, "ready\n")
}

func writeText(w http.ResponseWriter, status int, s string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = fmt.Fprint(w, s)
}
