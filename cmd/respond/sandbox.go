package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/respond-dev/respond/ram/emulator"
)

// sandboxEnv is an in-process emulator serving the demo organisation, for --sandbox.
type sandboxEnv struct {
	srv   *emulator.Server
	admin emulator.Credential
}

func (e *sandboxEnv) Close() { e.srv.Close() }

// startSandbox starts the demo organisation in-process (once per run).
func (f *Factory) startSandbox() *sandboxEnv {
	if f.sandbox == nil {
		org := emulator.DemoOrg()
		f.sandbox = &sandboxEnv{srv: emulator.NewServer(org), admin: org.Admin()}
	}
	return f.sandbox
}

// SandboxServeOptions are the flags of `respond sandbox serve`.
type SandboxServeOptions struct {
	Factory *Factory
	Listen  string
	emulator.Setup
}

func newCmdSandbox(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sandbox",
		Short: "A local emulated Alibaba Cloud organisation to rehearse on",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newCmdSandboxServe(f))
	return cmd
}

func newCmdSandboxServe(f *Factory) *cobra.Command {
	opts := &SandboxServeOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the emulator until interrupted, printing the variables that point clients at it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return sandboxServeRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Listen, "listen", "127.0.0.1:0", "address to listen on (port 0 picks a free one)")
	fl.StringVar(&opts.OrgFile, "org", "", "seed organisation YAML (default: the built-in demo organisation; schema in testdata/orgs/README.md)")
	fl.IntVar(&opts.Users, "users", 0, "generate an organisation with this many users per account")
	fl.IntVar(&opts.Accounts, "accounts", 0, "generate an organisation with this many accounts (with --users)")
	fl.Int64Var(&opts.Seed, "seed", 1, "seed of the generated organisation")
	fl.DurationVar(&opts.Latency, "latency", 0, "added latency per call")
	fl.Float64Var(&opts.QPS, "qps", 0, "rate limit per AccessKeyId in requests per second (Throttling.User beyond it)")
	fl.Float64Var(&opts.ThrottleRate, "throttle-rate", 0, "probability that a call is throttled")
	fl.Float64Var(&opts.ErrorRate, "error-rate", 0, "probability that a call fails with a 5xx before it changes anything")
	fl.Float64Var(&opts.DropRate, "drop-rate", 0, "probability that a connection is dropped without an answer")
	fl.Float64Var(&opts.GarbageRate, "garbage-rate", 0, "probability that a call is answered with a non-JSON body")
	fl.DurationVar(&opts.PropagationDelay, "propagation-delay", 0, "how long key creation and deletion take to affect authentication")
	fl.DurationVar(&opts.ClockSkew, "clock-skew", 0, "shift the emulator's clock (provokes InvalidTimeStamp.Expired past 15m)")
	fl.StringVar(&opts.PauseAt, "pause-at", "", "hold the first call of this action (e.g. CreateAccessKey) for --pause-for")
	fl.DurationVar(&opts.PauseFor, "pause-for", 30*time.Second, "how long --pause-at holds the call")
	fl.BoolVar(&opts.SourceIPHeader, "source-ip-header", false, "TEST ONLY: treat a call carrying the header "+emulator.SourceIPHeader+
		" as coming from that address (for rehearsing IP-conditioned policies; any client can then pretend to be anywhere)")
	fl.DurationVar(&opts.ActionTrailLag, "actiontrail-lag", 0, "how long an ActionTrail event takes to show in LookupEvents (the cloud: about 10m; default: none)")
	return cmd
}

func sandboxServeRun(ctx context.Context, opts *SandboxServeOptions) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := opts.Serve(ctx, opts.Listen, opts.Factory.Streams.Out, func(endpoint string, accounts int) {
		fmt.Fprintf(opts.Factory.Streams.ErrOut, "respond: sandbox serving %d account(s) on %s; Ctrl-C to stop\n", accounts, endpoint)
	})
	if err != nil {
		return &FlagError{Err: fmt.Errorf("sandbox serve: %w", err)}
	}
	return nil
}
