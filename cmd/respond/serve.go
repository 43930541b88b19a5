package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"

	"github.com/spf13/cobra"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/rotate/serve"
)

// ServeOptions are the flags of `respond serve`.
type ServeOptions struct {
	Factory *Factory
	Listen  string
}

func newCmdServe(f *Factory) *cobra.Command {
	opts := &ServeOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run respond as a service: scanner posts, GitHub secret-scanning webhooks, GitLab revocation",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return serveRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Listen, "listen", "", "address to listen on (default serve.listen, else "+playbooks.DefaultServeListen+")")
	return cmd
}

func serveRun(ctx context.Context, opts *ServeOptions) error {
	f := opts.Factory
	conf, err := f.loadConfig()
	if err != nil {
		return err
	}
	b, err := f.newBatch(conf, runFlags{})
	if err != nil {
		return err
	}
	so, err := serve.Configure(conf, b.StateDir, f.getenv, ram.UserAgent())
	if ce := (*serve.ConfigError)(nil); errors.As(err, &ce) {
		return &FlagError{Err: ce}
	} else if err != nil {
		return err
	}
	f.observe = so.Metrics.ObserveCloud // every cloud call and throttle, in /metrics
	ctx, stop := f.signalled(ctx)
	defer stop()
	sess, err := f.connect(ctx, conf, nil)
	if err != nil {
		return err
	}
	b.Session = sess
	so.Attach(sess, b.Fresh, f.Now) // a batch per delivery, as the CLI's
	so.Log = slog.New(slog.NewJSONHandler(f.Streams.ErrOut, nil))
	srv, err := serve.New(so)
	if err != nil {
		return err
	}
	listen := cmp.Or(opts.Listen, so.Config.Listen)
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return &FlagError{Err: fmt.Errorf("listen on %s: %w", listen, err)}
	}
	fmt.Fprintf(f.Streams.Out, "RESPOND_SERVE_URL=http://%s\n", ln.Addr())
	if w, ok := f.Streams.Out.(interface{ Sync() error }); ok {
		_ = w.Sync()
	}
	return srv.Serve(ctx, ln)
}
