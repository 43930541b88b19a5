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
	Factory  *Factory
	Listen   string
	OrgFile  string
	Users    int
	Accounts int
	Seed     int64

	Latency          time.Duration
	QPS              float64
	ThrottleRate     float64
	ErrorRate        float64
	DropRate         float64
	GarbageRate      float64
	PropagationDelay time.Duration
	ClockSkew        time.Duration
	PauseAt          string
	PauseFor         time.Duration
	// ActionTrailLag is how long an event takes to show in LookupEvents (the cloud: about 10
	// minutes); 0 keeps the emulator's own (none, or the organisation's actiontrail.lag).
	ActionTrailLag time.Duration
}

func newCmdSandbox(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sandbox",
		Short: "A local emulated Alibaba Cloud organisation to rehearse on",
		Long: `The sandbox is respond's Alibaba Cloud emulator (RAM, IMS, STS, ActionTrail, KMS, Resource
Directory), which the real Alibaba SDK and the aliyun CLI cannot tell from the cloud: it checks
signatures against its own live keys, keeps state, and can inject faults.

Use --sandbox on any command to run it in-process, or 'respond sandbox serve' to serve it.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newCmdSandboxServe(f, nil))
	return cmd
}

func newCmdSandboxServe(f *Factory, runF func(context.Context, *SandboxServeOptions) error) *cobra.Command {
	opts := &SandboxServeOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the emulator until interrupted, printing the variables that point clients at it",
		Long: `Serve the emulator until interrupted. It first prints, one per line:

  ALIBABA_CLOUD_ACCESS_KEY_ID=…      the sandbox administrator's key
  ALIBABA_CLOUD_ACCESS_KEY_SECRET=…  (a sandbox secret, not a real one)
  RESPOND_ENDPOINT=host:port

so that exporting them points respond and any other Alibaba client (aliyun --endpoint
host:port --insecure) at it:

  respond sandbox serve --listen 127.0.0.1:8080 > /tmp/sandbox.env &
  sleep 1; export $(head -3 /tmp/sandbox.env | xargs)`,
		Example: `  respond sandbox serve --listen 127.0.0.1:8080
  respond sandbox serve --users 1000 --accounts 3 --latency 20ms --qps 100
  respond sandbox serve --org testdata/orgs/multi-account.yaml --throttle-rate 0.1 --error-rate 0.02`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.OrgFile != "" && (opts.Users > 0 || opts.Accounts > 0) {
				return flagErrorf("--org and --users/--accounts are exclusive: a seed file or a generated organisation")
			}
			for _, r := range []struct {
				name string
				v    float64
			}{{"--throttle-rate", opts.ThrottleRate}, {"--error-rate", opts.ErrorRate}, {"--drop-rate", opts.DropRate}, {"--garbage-rate", opts.GarbageRate}} {
				if r.v < 0 || r.v > 1 {
					return flagErrorf("%s is a probability between 0 and 1, not %v", r.name, r.v)
				}
			}
			if opts.ActionTrailLag < 0 {
				return flagErrorf("--actiontrail-lag must not be negative, not %s", opts.ActionTrailLag)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
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
	fl.DurationVar(&opts.ActionTrailLag, "actiontrail-lag", 0, "how long an ActionTrail event takes to show in LookupEvents (the cloud: about 10m; default: none)")
	return cmd
}

func sandboxServeRun(ctx context.Context, opts *SandboxServeOptions) error {
	var org *emulator.Org
	switch {
	case opts.OrgFile != "":
		o, err := emulator.LoadOrg(opts.OrgFile)
		if err != nil {
			return &FlagError{Err: fmt.Errorf("load sandbox organisation: %w", err)}
		}
		org = o
	case opts.Users > 0 || opts.Accounts > 0:
		org = emulator.GenerateOrg(emulator.GenSpec{Accounts: max(opts.Accounts, 1), UsersPerAccount: max(opts.Users, 1), Seed: opts.Seed})
	default:
		org = emulator.DemoOrg()
	}
	// Zero is each option's default: no latency, no rate limit, no propagation delay, no skew.
	emuOpts := []emulator.Option{emulator.WithLatency(max(opts.Latency, 0)), emulator.WithRateLimit(opts.QPS),
		emulator.WithPropagationDelay(max(opts.PropagationDelay, 0))}
	if opts.ActionTrailLag > 0 { // only when set: the organisation's own actiontrail.lag stands otherwise
		emuOpts = append(emuOpts, emulator.WithActionTrailLag(opts.ActionTrailLag))
	}
	srv := emulator.NewUnstartedServer(org, emuOpts...)
	srv.SetClockSkew(opts.ClockSkew)
	for _, fl := range []struct {
		p    float64
		kind emulator.FaultKind
	}{
		{opts.ThrottleRate, emulator.FaultThrottle},
		{opts.ErrorRate, emulator.FaultServerErrorBefore},
		{opts.DropRate, emulator.FaultDropBefore},
		{opts.GarbageRate, emulator.FaultGarbage},
	} {
		if fl.p > 0 {
			srv.AddFault(emulator.Fault{Kind: fl.kind, Probability: fl.p})
		}
	}
	if err := srv.Listen(opts.Listen); err != nil {
		return &FlagError{Err: fmt.Errorf("listen on %s: %w", opts.Listen, err)}
	}
	defer srv.Close()
	if opts.PauseAt != "" {
		p := srv.PauseAt(opts.PauseAt)
		go func() {
			<-p.Reached
			time.Sleep(opts.PauseFor)
			p.Release()
		}()
	}
	admin := org.Admin()
	out := opts.Factory.Streams.Out
	fmt.Fprintf(out, "ALIBABA_CLOUD_ACCESS_KEY_ID=%s\n", admin.AccessKeyID)
	// The sandbox administrator's secret is a sandbox value, printed on purpose so that clients can
	// be pointed at the emulator; it opens nothing outside this process.
	fmt.Fprintf(out, "ALIBABA_CLOUD_ACCESS_KEY_SECRET=%s\n", admin.AccessKeySecret)
	fmt.Fprintf(out, "RESPOND_ENDPOINT=%s\n", srv.Endpoint())
	if w, ok := out.(interface{ Sync() error }); ok {
		_ = w.Sync()
	}
	fmt.Fprintf(opts.Factory.Streams.ErrOut, "respond: sandbox serving %d account(s) on %s; Ctrl-C to stop\n", len(org.Accounts), srv.Endpoint())

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	return nil
}
