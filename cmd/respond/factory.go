package main

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/ram/emulator"
	"github.com/respond-dev/respond/rotate"
	"github.com/respond-dev/respond/rotate/journal"
)

// Factory holds what every command needs: the streams, the global flags, the clock, and the
// sandbox started on first use. It hands out constructors (the configuration, the cloud
// connection); a run's own state lives in the run.
type Factory struct {
	Streams Streams
	Now     func() time.Time
	Global  GlobalOptions

	// Signals, when set, returns a context cancelled by SIGINT/SIGTERM (production) so that a
	// rotation in flight can finish or roll back its step. Tests leave it nil.
	Signals func(context.Context) (context.Context, context.CancelFunc)

	sandbox      *emulator.Server // started on first use when --sandbox is set
	sandboxAdmin ram.CredentialSource
	ownMarker    string // marks this run's calls in its User-Agent (ram.NewRunMarker)
	// sandboxState is the fresh state directory of a --sandbox run, removed at exit unless
	// keepSandboxState (a run that changed something: its journal and audit log are kept).
	sandboxState     string
	keepSandboxState bool

	// observe is told of every cloud call (respond serve's metrics).
	observe func(ram.Call)
}

// GlobalOptions are the persistent flags every command shares.
type GlobalOptions struct {
	ConfigPath string
	Endpoint   string
	Region     string
	Profile    string
	StateDir   string
	Output     string
	Progress   string
	Sandbox    bool
}

func newFactory(s Streams) *Factory {
	return &Factory{Streams: s, Now: time.Now, ownMarker: ram.NewRunMarker()}
}

func (f *Factory) getenv(k string) string {
	if f.Streams.Env == nil {
		return ""
	}
	v, _ := f.Streams.Env(k)
	return v
}

// stateDirFor is this command's state directory (journal.StateDir). A --sandbox run without
// --state-dir gets a fresh one, removed at exit unless the run changed something: each rehearsal
// starts from the demo organisation, so it must not see an earlier run's journals.
func (f *Factory) stateDirFor(conf *playbooks.Config) (string, error) {
	if f.Global.Sandbox && f.Global.StateDir == "" && f.sandboxState == "" {
		d, err := os.MkdirTemp("", "respond-sandbox-")
		if err != nil {
			return "", fmt.Errorf("create a state directory for the sandbox: %w (pass --state-dir)", err)
		}
		f.sandboxState = d
	}
	confDir := ""
	if conf != nil {
		confDir = conf.StateDir
	}
	return journal.StateDir(f.Global.StateDir, confDir, f.sandboxState, f.getenv)
}

// sandboxDir is where a --sandbox run keeps the rehearsal sink's file: --state-dir, else the
// fresh directory.
func (f *Factory) sandboxDir() string { return cmp.Or(f.Global.StateDir, f.sandboxState) }

// checkedStateDir is stateDirFor, refused unless safe (journal.CheckStateDir: an
// *UnsafeStateError, exit 2, with the chmod or chown to run).
func (f *Factory) checkedStateDir(conf *playbooks.Config) (string, error) {
	dir, err := f.stateDirFor(conf)
	if err != nil {
		return "", err
	}
	return dir, journal.CheckStateDir(dir)
}

// runFlags are the main command's flags that shape every rotation of a run, and so its resume
// command: --playbook as typed, --sink, --locate's strategies (none for respond serve).
type runFlags struct {
	playbook          string
	sinks, strategies []string
}

// newBatch is the engine's batch on conf for the main command and respond serve: the checked
// state directory; the run's flags and the command that resumes its rotations with them
// (rotate.Target.Invocation; the sandbox's built-in configuration is its own, not recorded); its
// outputs; under --sandbox, the rehearsal sink for a replacement no sink takes (the sandbox's own
// state directory, even under a configuration's).
func (f *Factory) newBatch(conf *playbooks.Config, run runFlags) (*rotate.Batch, error) {
	stateDir, err := f.checkedStateDir(conf)
	if err != nil {
		return nil, err
	}
	inv, err := f.target().Invocation(stateDir, f.recordedConfig(conf), run.playbook)
	if err != nil {
		return nil, err
	}
	inv.Sinks, inv.Strategies = run.sinks, run.strategies
	b := &rotate.Batch{Config: conf, StateDir: stateDir, ResumeCommand: inv.ResumeCommand(), OwnUserAgent: f.ownMarker,
		Strategies: run.strategies, Outputs: rotate.Outputs{Getenv: f.getenv, Now: f.Now, Sinks: run.sinks}}
	if f.Global.Sandbox {
		b.Outputs.Fallback = rotate.RehearsalSink(f.sandboxDir())
	}
	return b, nil
}

// recordedConfig is the configuration file a command that repeats this one names: conf's file,
// "" for none or the sandbox's built-in one.
func (f *Factory) recordedConfig(conf *playbooks.Config) string {
	if conf != nil && (!f.Global.Sandbox || f.Global.ConfigPath != "") {
		return conf.Source
	}
	return ""
}

// json reports whether --output json was asked for (GlobalOptions.check checked the value).
func (f *Factory) json() bool { return f.Global.Output == "json" }

// outputs and progressModes are the values --output and --progress take (shell completion
// offers them).
var (
	outputs       = []string{"text", "json"}
	progressModes = []string{"auto", "plain", "none"}
)

// check refuses an unknown --output or --progress before any command runs (the root's
// PersistentPreRunE): each command then just reads them.
func (g *GlobalOptions) check() error {
	if g.Output != "" && !slices.Contains(outputs, g.Output) {
		return flagErrorf("--output must be text or json, not %q", g.Output)
	}
	if !slices.Contains(progressModes, g.Progress) {
		return flagErrorf("--progress must be auto, plain or none, not %q", g.Progress)
	}
	return nil
}

// signalled is ctx, cancelled by SIGINT and SIGTERM (Signals; in tests, by nothing).
func (f *Factory) signalled(ctx context.Context) (context.Context, context.CancelFunc) {
	if f.Signals == nil {
		return context.WithCancel(ctx)
	}
	return f.Signals(ctx)
}

// interruptible runs a read-only command's work (what it does, for the message) on a context
// that SIGINT and SIGTERM cancel: an interrupted one says what it was doing and exits 130.
func (f *Factory) interruptible(ctx context.Context, what string, work func(context.Context) error) error {
	ctx, stop := f.signalled(ctx)
	defer stop()
	err := work(ctx)
	if err != nil && ctx.Err() != nil {
		return &ExitError{Code: exitInterrupted, Err: fmt.Errorf("interrupted while %s; nothing was changed", accesskey.Printable(what))}
	}
	return err
}

// closeSandbox stops the in-process sandbox and removes its fresh state directory, unless a run
// that changed something keeps it (and has said where it is).
func (f *Factory) closeSandbox() {
	if f.sandbox != nil {
		f.sandbox.Close()
	}
	if f.sandboxState != "" && !f.keepSandboxState {
		_ = os.RemoveAll(f.sandboxState)
	}
}
