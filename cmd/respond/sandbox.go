package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/ram/emulator"
	"github.com/respond-dev/respond/rotate"
)

// startSandbox starts the demo organisation in-process (once per run), for --sandbox.
func (f *Factory) startSandbox() rotate.Sandbox {
	if f.sandbox == nil {
		org := emulator.DemoOrg()
		a := org.Admin()
		f.sandbox, f.sandboxAdmin = emulator.NewServer(org), ram.StaticCredentials(a.AccessKeyID, accesskey.NewSecret(a.AccessKeySecret))
	}
	return rotate.Sandbox{Endpoint: f.sandbox.Endpoint(), Admin: f.sandboxAdmin}
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
	var listen string
	var setup emulator.Setup
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the emulator until interrupted, printing the variables that point clients at it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := f.signalled(cmd.Context())
			defer stop()
			err := setup.Serve(ctx, listen, f.Streams.Out, func(endpoint string, accounts int) {
				fmt.Fprintf(f.Streams.ErrOut, "respond: sandbox serving %d account(s) on %s; Ctrl-C to stop\n", accounts, endpoint)
			})
			if err != nil {
				return &FlagError{Err: fmt.Errorf("sandbox serve: %w", err)}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&listen, "listen", "127.0.0.1:0", "address to listen on (port 0 picks a free one)")
	fl.StringVar(&setup.OrgFile, "org", "", "seed organisation YAML (default: the built-in demo organisation; schema in testdata/orgs/README.md)")
	fl.IntVar(&setup.Users, "users", 0, "generate an organisation with this many users per account")
	fl.IntVar(&setup.Accounts, "accounts", 0, "generate an organisation with this many accounts (with --users)")
	fl.Int64Var(&setup.Seed, "seed", 1, "seed of the generated organisation")
	fl.DurationVar(&setup.Latency, "latency", 0, "added latency per call")
	fl.Float64Var(&setup.QPS, "qps", 0, "rate limit per AccessKeyId in requests per second (Throttling.User beyond it)")
	fl.Float64Var(&setup.ThrottleRate, "throttle-rate", 0, "probability that a call is throttled")
	fl.Float64Var(&setup.ErrorRate, "error-rate", 0, "probability that a call fails with a 5xx before it changes anything")
	fl.Float64Var(&setup.DropRate, "drop-rate", 0, "probability that a connection is dropped without an answer")
	fl.Float64Var(&setup.GarbageRate, "garbage-rate", 0, "probability that a call is answered with a non-JSON body")
	fl.DurationVar(&setup.PropagationDelay, "propagation-delay", 0, "how long key creation and deletion take to affect authentication")
	fl.DurationVar(&setup.ClockSkew, "clock-skew", 0, "shift the emulator's clock (provokes InvalidTimeStamp.Expired past 15m)")
	fl.StringVar(&setup.PauseAt, "pause-at", "", "hold the first call of this action (e.g. CreateAccessKey) for --pause-for")
	fl.DurationVar(&setup.PauseFor, "pause-for", 30*time.Second, "how long --pause-at holds the call")
	fl.BoolVar(&setup.SourceIPHeader, "source-ip-header", false, "TEST ONLY: treat a call carrying the header "+emulator.SourceIPHeader+
		" as coming from that address (for rehearsing IP-conditioned policies; any client can then pretend to be anywhere)")
	fl.DurationVar(&setup.ActionTrailLag, "actiontrail-lag", 0, "how long an ActionTrail event takes to show in LookupEvents (the cloud: about 10m; default: none)")
	return cmd
}
