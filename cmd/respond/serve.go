package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/rotate"
	"github.com/respond-dev/respond/rotate/journal"
	"github.com/respond-dev/respond/rotate/serve"
	"github.com/respond-dev/respond/rotate/source"
)

// ServeOptions are the flags of `respond serve`.
type ServeOptions struct {
	Factory *Factory
	Listen  string
}

// DefaultServeTokenEnv holds the bearer token of POST /v1/findings when serve.token-env does not
// name another variable.
const DefaultServeTokenEnv = "RESPOND_SERVE_TOKEN"

func newCmdServe(f *Factory) *cobra.Command {
	opts := &ServeOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run respond as a service: scanner posts, GitHub secret-scanning webhooks, GitLab revocation",
		Long: `Run respond as a service until SIGTERM or SIGINT. Every finding is written to the state
directory before it is acknowledged (202 Accepted), then handled by the same engine, playbooks,
journal and locks as the CLI; a restart resumes every accepted finding.

  POST /v1/findings              any input respond --from reads (Authorization: Bearer $RESPOND_SERVE_TOKEN)
  GET  /v1/findings/{id}         where an accepted finding stands
  POST /v1/github                GitHub secret_scanning_alert webhooks (serve.github)
  GET  /v1/revocable_token_types GitLab's token-revocation API (serve.gitlab)
  POST /v1/revoke_tokens
  GET  /healthz, /readyz, /metrics

It prints RESPOND_SERVE_URL=http://ADDR on stdout once it listens, and logs one JSON line per
request and per finding on stderr (never a secret, a header or a body). See the README,
"Running respond as a service".`,
		Example: `  RESPOND_SERVE_TOKEN=$(openssl rand -hex 32) respond serve --listen 127.0.0.1:8080 --config respond.yaml
  gitleaks git . --report-format json --report-path - |
    curl -sS -H "Authorization: Bearer $RESPOND_SERVE_TOKEN" --data-binary @- http://127.0.0.1:8080/v1/findings`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return serveRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Listen, "listen", "", "address to listen on (default serve.listen, else "+playbooks.DefaultServeListen+")")
	return cmd
}

// secretFrom reads a secret the configuration names; what says where it is, for the error.
func (f *Factory) secretFrom(what, env, file string) (accesskey.Secret, error) {
	s, err := rotate.ReadSecretRef(f.getenv, env, file)
	if err != nil {
		return s, flagErrorf("%s: %v", what, err)
	}
	return s, nil
}

func serveRun(ctx context.Context, opts *ServeOptions) error {
	f := opts.Factory
	conf, _, err := f.configAndStrategies("")
	if err != nil {
		return err
	}
	sc := playbooks.DefaultServeConfig()
	if conf != nil && conf.Serve != nil {
		sc = conf.Serve
	}
	stateDir, err := f.stateDir()
	if err != nil {
		return err
	}
	if conf != nil && conf.StateDir != "" && f.Global.StateDir == "" {
		stateDir = conf.StateDir
	}
	if err := journal.CheckStateDir(stateDir); err != nil {
		return &FlagError{Err: err}
	}
	so := serve.Options{StateDir: stateDir, Config: sc, Metrics: serve.NewMetrics()}
	tokenEnv := cmp.Or(sc.TokenEnv, DefaultServeTokenEnv)
	if v := f.getenv(tokenEnv); v != "" {
		so.Token = accesskey.NewSecret(v)
	}
	if gh := sc.GitHub; gh != nil {
		if so.WebhookSecret, err = f.secretFrom("serve.github webhook secret", gh.WebhookSecretEnv, gh.WebhookSecretFile); err != nil {
			return err
		}
		tok, err := f.secretFrom("serve.github token", gh.TokenEnv, gh.TokenFile)
		if err != nil {
			return err
		}
		client, err := source.NewGitHub(source.GitHubOptions{APIURL: gh.APIURL, Token: tok, UserAgent: userAgent(),
			OnCall: func(status int) { so.Metrics.Inc("respond_github_api_calls_total", "status", strconv.Itoa(status)) }})
		if err != nil {
			return &FlagError{Err: err}
		}
		so.GitHub = client
	}
	if gl := sc.GitLab; gl != nil {
		so.GitLabToken = so.Token
		if gl.TokenEnv != "" || gl.TokenFile != "" {
			if so.GitLabToken, err = f.secretFrom("serve.gitlab token", gl.TokenEnv, gl.TokenFile); err != nil {
				return err
			}
		}
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	sess, err := f.connect(ctx, conf, nil)
	if err != nil {
		return err
	}
	inv := rotate.Invocation{Sandbox: f.Global.Sandbox, StateDir: stateDir, Profile: f.Global.Profile,
		Region: cmp.Or(f.Global.Region, f.getenv("ALIBABA_CLOUD_REGION_ID")), Endpoint: cmp.Or(f.Global.Endpoint, f.getenv("RESPOND_ENDPOINT"))}
	if conf != nil {
		inv.Config = conf.Source
	}
	so.Runner = serve.BatchRunner{New: func() *rotate.Batch {
		return &rotate.Batch{Session: sess, Config: conf, StateDir: stateDir, ResumeCommand: inv.ResumeCommand(),
			OwnUserAgent: f.ownMarker, Outputs: rotate.Outputs{Getenv: f.getenv, Now: f.Now}}
	}}
	if sc.SecurityCenter != nil {
		so.SecurityCenter = newSCPoller(sess, stateDir, f.Now)
	}
	so.Gone = func(ctx context.Context, st journal.State) (bool, error) {
		api, err := sess.Account(ctx, st.AccountID)
		if err != nil {
			return false, err
		}
		keys, err := api.ListAccessKeys(ctx, st.UserName)
		if err != nil {
			return false, err
		}
		for _, k := range keys {
			if k.ID.String() == st.KeyID {
				return false, nil
			}
		}
		return true, nil
	}
	so.Ready = func(ctx context.Context) error {
		_, err := sess.Home().GetCallerIdentity(ctx)
		return err
	}
	so.Log = slog.New(slog.NewJSONHandler(f.Streams.ErrOut, nil))
	srv, err := serve.New(so)
	if err != nil {
		return err
	}
	listen := cmp.Or(opts.Listen, sc.Listen)
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return &FlagError{Err: fmt.Errorf("listen on %s: %w", listen, err)}
	}
	if so.Token.IsZero() {
		so.Log.Warn("POST /v1/findings refuses every request: the bearer token's variable is empty", "variable", tokenEnv)
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute,
		WriteTimeout: time.Minute, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10,
		ErrorLog: log.New(quietWriter{}, "", 0)}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	worked := make(chan error, 1)
	go func() { worked <- srv.Run(ctx) }()
	fmt.Fprintf(f.Streams.Out, "RESPOND_SERVE_URL=http://%s\n", ln.Addr())
	if w, ok := f.Streams.Out.(interface{ Sync() error }); ok {
		_ = w.Sync()
	}
	so.Log.Info("serving", "address", ln.Addr().String(), "state_dir", stateDir, "pending", srv.Pending(),
		"github", so.GitHub != nil, "gitlab", !so.GitLabToken.IsZero(), "security_center", so.SecurityCenter != nil)
	select {
	case err := <-served:
		stop()
		<-worked
		return fmt.Errorf("serve on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	// Stop taking requests (those in progress end), then let the batches in flight finish or stop
	// at a step boundary: what is left waits in the state directory for the next start.
	shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(shut); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		so.Log.Warn("shutdown", "error", err.Error())
	}
	<-worked
	so.Log.Info("stopped", "pending", srv.Pending())
	return nil
}

// quietWriter drops net/http's own log lines (TLS handshake noise, a client that went away):
// they can quote what a client sent.
type quietWriter struct{}

func (quietWriter) Write(p []byte) (int, error) { return len(p), nil }
