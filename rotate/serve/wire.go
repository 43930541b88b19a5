package serve

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/respond-dev/respond/detect"
	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/rotate"
	"github.com/respond-dev/respond/rotate/journal"
	"github.com/respond-dev/respond/rotate/source"
)

// What respond serve needs besides the server: its options from the configuration and the
// environment (Configure), the engine and the cloud (Attach), and the HTTP listener with its
// shutdown (Serve). cmd/respond reads the flags, connects and listens.

// DefaultTokenEnv holds the bearer token of POST /v1/findings when serve.token-env does not name
// another variable.
const DefaultTokenEnv = "RESPOND_SERVE_TOKEN"

// ConfigError is a configuration the server cannot start with (a secret it names cannot be read,
// a bad GitHub URL): bad usage, not a failure.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// Configure makes the options of the configuration's serve: section (its defaults when there is
// none): the tokens and the webhook secret read from the environment variables or files it names,
// the GitHub client (its calls counted in the metrics), new metrics. stateDir is the state
// directory the CLI uses. Errors are *ConfigError.
func Configure(conf *playbooks.Config, stateDir string, getenv func(string) string, userAgent string) (Options, error) {
	sc := playbooks.DefaultServeConfig()
	if conf != nil && conf.Serve != nil {
		sc = conf.Serve
	}
	o := Options{StateDir: stateDir, Config: sc, Metrics: NewMetrics(), TokenEnv: cmp.Or(sc.TokenEnv, DefaultTokenEnv)}
	if v := getenv(o.TokenEnv); v != "" {
		o.Token = accesskey.NewSecret(v)
	}
	secret := func(what, env, file string) (accesskey.Secret, error) {
		s, err := rotate.ReadSecretRef(getenv, env, file)
		if err != nil {
			return s, &ConfigError{Err: fmt.Errorf("%s: %v", what, err)}
		}
		return s, nil
	}
	var err error
	if gh := sc.GitHub; gh != nil {
		if o.WebhookSecret, err = secret("serve.github webhook secret", gh.WebhookSecretEnv, gh.WebhookSecretFile); err != nil {
			return o, err
		}
		tok, err := secret("serve.github token", gh.TokenEnv, gh.TokenFile)
		if err != nil {
			return o, err
		}
		m := o.Metrics
		client, err := source.NewGitHub(source.GitHubOptions{APIURL: gh.APIURL, Token: tok, UserAgent: userAgent,
			OnCall: func(status int) { m.Inc("respond_github_api_calls_total", "status", strconv.Itoa(status)) }})
		if err != nil {
			return o, &ConfigError{Err: err}
		}
		o.GitHub = client
	}
	if gl := sc.GitLab; gl != nil {
		o.GitLabToken = o.Token
		if gl.TokenEnv != "" || gl.TokenFile != "" {
			if o.GitLabToken, err = secret("serve.gitlab token", gl.TokenEnv, gl.TokenFile); err != nil {
				return o, err
			}
		}
	}
	return o, nil
}

// Attach runs the findings through batches from newBatch (the CLI's engine, over sess) and uses
// sess for what the server asks the cloud itself: the credentials' check (GET /readyz), the check
// that a key reported again is gone from its owner (Options.Gone), and the Security Center poll
// when serve.security-center is configured. now is the clock of the poll.
func (o *Options) Attach(sess *rotate.Session, newBatch func() *rotate.Batch, now func() time.Time) {
	o.Runner = BatchRunner{New: newBatch, Session: sess}
	if o.Config != nil && o.Config.SecurityCenter != nil {
		o.SecurityCenter = sessionSC{sess: sess, stateDir: o.StateDir, now: now}
	}
	o.Gone = func(ctx context.Context, st journal.State) (bool, error) {
		api, err := sess.Account(ctx, st.AccountID)
		if err != nil {
			return false, err
		}
		return keyGone(ctx, api, st)
	}
	o.Ready = func(ctx context.Context) error {
		_, err := sess.Home().GetCallerIdentity(ctx)
		return err
	}
}

// goneAsker is what keyGone asks the cloud.
type goneAsker interface {
	ListAccessKeys(ctx context.Context, userName string) ([]ram.AccessKey, error)
	GetAccessKeyInfoInRecycleBin(ctx context.Context, id accesskey.ID) (ram.BinnedKey, error)
}

// keyGone reports whether the key whose journal st says respond remediated it is gone for good:
// not among its user's keys, and in no recycle bin. An entry Gone confirms ends already-remediated
// and closes its alert without the engine, so "gone" needs the bin's not-found: a key deleted again
// since (it was back) sits restorable for 30 days, and a bin that cannot be read proves nothing.
func keyGone(ctx context.Context, api goneAsker, st journal.State) (bool, error) {
	keys, err := api.ListAccessKeys(ctx, st.UserName)
	if err != nil {
		return false, err
	}
	for _, k := range keys {
		if k.ID.String() == st.KeyID {
			return false, nil
		}
	}
	id, err := accesskey.ParseID(st.KeyID)
	if err != nil {
		return false, fmt.Errorf("the journal's key id: %w", err)
	}
	_, err = api.GetAccessKeyInfoInRecycleBin(ctx, id)
	switch {
	case errors.Is(err, ram.ErrNotFound):
		return true, nil
	case err != nil:
		return false, err
	}
	return false, nil // in a bin: the engine purges it
}

// BatchRunner runs a new batch from New for each call: no confirmation (the server acts on what it
// accepted), never a dry run, the call's redactor; the Security Center records the findings carry
// become the alerts of the batch's close step, through Session (the batches' session). (A batch is
// not copied: it holds run state.)
type BatchRunner struct {
	New     func() *rotate.Batch
	Session *rotate.Session
}

// Run implements Runner.
func (r BatchRunner) Run(ctx context.Context, findings []source.Finding, red *accesskey.Redactor) ([]*rotate.Item, error) {
	b := r.New()
	b.Redactor, b.Confirmer, b.DryRun, b.OnStep, b.Progress = red, nil, false, nil, nil
	fs := make([]detect.Finding, len(findings))
	var recorded []source.Finding
	for i, f := range findings {
		fs[i] = f.Finding
		if len(f.Records) > 0 {
			recorded = append(recorded, f)
		}
	}
	if len(recorded) > 0 && r.Session != nil {
		r.Session.PrepareRecords(b, recorded)
	}
	return b.Run(ctx, fs)
}

// sessionSC polls Security Center through the session (rotate.Session.PollSecurityCenter, as the
// CLI's --from security-center) with the poll state the CLI keeps in the state directory.
type sessionSC struct {
	sess     *rotate.Session
	stateDir string
	now      func() time.Time
}

func (p sessionSC) Poll(ctx context.Context) (Polled, error) {
	poll, err := p.sess.PollSecurityCenter(ctx, p.stateDir, 0, p.now())
	if err != nil {
		return Polled{}, err
	}
	return Polled{Findings: poll.Sources(), Warnings: poll.Warnings, Done: func() error {
		if poll.Partial() {
			return nil // the next poll reads the same window again
		}
		return source.SavePollState(p.stateDir, source.PollState{LastSuccess: poll.Started})
	}}, nil
}

// Serve answers on ln and runs the workers until ctx ends; then it stops taking requests (those in
// progress end, for up to 10 s) and lets the batches in flight finish or stop at a step boundary
// (Run): what is left waits in the state directory for the next start.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute,
		WriteTimeout: time.Minute, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10,
		ErrorLog: log.New(quietWriter{}, "", 0)}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	work, stop := context.WithCancel(ctx)
	defer stop()
	worked := make(chan error, 1)
	go func() { worked <- s.Run(work) }()
	if s.opts.Token.IsZero() {
		s.log.Warn("POST /v1/findings refuses every request: the bearer token's variable is empty", "variable", s.opts.TokenEnv)
	}
	s.log.Info("serving", "address", ln.Addr().String(), "state_dir", s.opts.StateDir, "pending", s.Pending(),
		"github", s.opts.GitHub != nil, "gitlab", !s.opts.GitLabToken.IsZero(), "security_center", s.opts.SecurityCenter != nil)
	select {
	case err := <-served:
		stop()
		<-worked
		return fmt.Errorf("serve on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(shut); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		s.log.Warn("shutdown", "error", err.Error())
	}
	<-worked
	s.log.Info("stopped", "pending", s.Pending())
	return nil
}

// quietWriter drops net/http's own log lines (TLS handshake noise, a client that went away): they
// can quote what a client sent.
type quietWriter struct{}

func (quietWriter) Write(p []byte) (int, error) { return len(p), nil }
