package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/rotate"
)

// Exit codes (design §10).
type exitCode int

const (
	exitOK       exitCode = 0 // done, already remediated, or plan printed
	exitFailed   exitCode = 1 // failed
	exitUsage    exitCode = 2 // bad usage or input
	exitNotFound exitCode = 3 // owner not found
	exitPartial  exitCode = 4 // partially done, re-run to resume
	exitRefused  exitCode = 5 // refused by policy (canary, own key)
	// exitInterrupted is a read-only command stopped by SIGINT/SIGTERM (128+2, as the shell
	// reports a process killed by SIGINT): nothing was changed.
	exitInterrupted exitCode = 130
)

// FlagError is bad usage or bad input: Main prints it and exits 2.
type FlagError struct{ Err error }

func (e *FlagError) Error() string { return e.Err.Error() }
func (e *FlagError) Unwrap() error { return e.Err }

func flagErrorf(format string, a ...any) error { return &FlagError{Err: fmt.Errorf(format, a...)} }

// ExitError carries an exit code decided by a command that has already printed its result (for
// example a JSON report with one outcome per finding). Main prints Err, if any, and exits Code.
type ExitError struct {
	Code exitCode
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit %d", e.Code)
	}
	return e.Err.Error()
}
func (e *ExitError) Unwrap() error { return e.Err }

// Main runs respond with args and streams and returns the process exit code. It is the one place
// that maps errors to exit codes and prints them.
func Main(args []string, s Streams) int {
	if s.Env == nil {
		s.Env = func(string) (string, bool) { return "", false }
	}
	if err := ram.CheckEnv(s.Env); err != nil {
		fmt.Fprintln(s.ErrOut, "respond: refusing to start: "+accesskey.OneLine(err.Error()))
		return int(exitUsage)
	}
	f := newFactory(s)
	if isProcess(s) {
		f.Signals = func(ctx context.Context) (context.Context, context.CancelFunc) {
			return signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		}
	}
	root := newRootCmd(f)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	f.closeSandbox()
	if err == nil {
		return int(exitOK)
	}
	code := codeFor(err)
	var ee *ExitError
	if errors.As(err, &ee) && ee.Err == nil {
		return int(code)
	}
	fmt.Fprintln(s.ErrOut, "respond: "+accesskey.OneLine(err.Error()))
	return int(code)
}

// isProcess reports whether Main runs on the real process streams (not a test).
func isProcess(s Streams) bool { return s.Out == os.Stdout }

func codeFor(err error) exitCode {
	var fe *FlagError
	var ee *ExitError
	switch {
	case errors.As(err, &ee):
		return ee.Code
	case errors.As(err, &fe), errors.Is(err, ram.ErrSDKDebug):
		return exitUsage
	}
	return exitFor[rotate.SeverityOf(err)]
}

func newRootCmd(f *Factory) *cobra.Command {
	s := f.Streams
	opts := &RespondOptions{Factory: f}
	root := &cobra.Command{
		Use:           "respond [--key-id ID]... [--from FILE|-] [flags]",
		Short:         "Respond to a leaked Alibaba Cloud AccessKey: find its owner, replace it, delete it",
		Args:          cobra.NoArgs,
		SilenceErrors: true,
		SilenceUsage:  true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(opts.KeyIDRaw) == 0 && opts.From == "" {
				return flagErrorf("nothing to respond to: pass --key-id LTAI… or --from FILE|- (see respond --help)")
			}
			return respondRun(cmd.Context(), opts)
		},
	}
	root.Version = ram.ReadBuildInfo().String() // respond --version
	root.SetVersionTemplate("respond {{.Version}}\n")
	root.SetIn(s.In)
	root.SetOut(s.Out)
	root.SetErr(s.ErrOut)
	root.PersistentPreRunE = func(*cobra.Command, []string) error { return f.Global.check() }
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return &FlagError{Err: flagHint(c, err)} })

	pf := root.PersistentFlags()
	pf.StringVar(&f.Global.ConfigPath, "config", "", "configuration file (default $XDG_CONFIG_HOME/respond/config.yaml when it exists)")
	pf.StringVar(&f.Global.Endpoint, "endpoint", "", "send every product's API calls here: https://host[:port], or http://host[:port] for plain HTTP (warned unless on this machine); a bare host:port is HTTPS, plain HTTP only on loopback (default $RESPOND_ENDPOINT; for the sandbox)")
	pf.StringVar(&f.Global.Region, "region", "", "region for regional products (default $ALIBABA_CLOUD_REGION_ID or cn-hangzhou)")
	pf.StringVar(&f.Global.Profile, "profile", "", "aliyun CLI profile to use for credentials (default: the SDK's credential chain)")
	pf.StringVar(&f.Global.StateDir, "state-dir", "", "where journals, locks and the audit log live (default $XDG_STATE_HOME/respond)")
	pf.StringVarP(&f.Global.Output, "output", "o", "text", "output format: text or json")
	pf.StringVar(&f.Global.Progress, "progress", "auto", "owner search progress on stderr: auto (live on a terminal, else a line every 10s), plain or none")
	pf.BoolVar(&f.Global.Sandbox, "sandbox", false, "run against a built-in emulated organisation (no cloud account needed)")

	fl := root.Flags()
	fl.StringArrayVar(&opts.KeyIDRaw, "key-id", nil, "the leaked AccessKey id (repeatable)")
	fl.StringVar(&opts.From, "from", "", "read findings from a scanner's output: a file, or - for stdin; security-center polls Alibaba Cloud Security Center")
	fl.StringVar(&opts.Format, "format", "", "input format for --from (default: detected from the content)")
	fl.BoolVar(&opts.DryRun, "dry-run", false, "print the full plan and change nothing")
	fl.BoolVarP(&opts.Yes, "yes", "y", false, "do not ask for confirmation (required without a terminal)")
	fl.StringVar(&opts.Playbook, "playbook", "", "playbook to use (default: chosen by the configuration's rules, else standard)")
	fl.StringVar(&opts.Locate, "locate", "", "owner-location strategies in order (default ims,actiontrail,scan,self,recycle-bin; add caller to sign with the leaked secret, secret-match to find the key of a secret without its id)")
	fl.StringArrayVar(&opts.Sinks, "sink", nil, "sink from the configuration to store the new key in (repeatable; default: the playbook's)")
	fl.BoolVar(&opts.Reveal, "reveal", false, "also print the new secret on the terminal (only with a terminal on stdout)")
	fl.DurationVar(&opts.Since, "since", 0, "with --from security-center: read the records found in this last while (e.g. 720h; default: since the last successful poll)")

	root.AddCommand(
		newCmdSandbox(f),
		newCmdLocate(f),
		newCmdScan(f),
		newCmdAssess(f),
		newCmdStatus(f),
		newCmdPlaybook(f),
		newCmdConfig(f),
		newCmdVersion(f),
		newCmdDoctor(f),
		newCmdDocs(f),
		newCmdServe(f),
	)
	argsAreUsage(root)
	addHelp(root)
	completeValues(f, root)
	return root
}

// argsAreUsage makes a wrong number of positional arguments (cobra's Args checks) bad usage: exit 2,
// with what was probably meant (argsHint).
// A group of commands (respond playbook) shows its help, and refuses an unknown subcommand.
func argsAreUsage(c *cobra.Command) {
	if !c.Runnable() && c.HasSubCommands() {
		c.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
	}
	if check := c.Args; check != nil {
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := check(cmd, args); err != nil {
				return &FlagError{Err: argsHint(cmd, args, err)}
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		argsAreUsage(sub)
	}
}
