package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/respond-dev/respond/detect"
	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/rotate"
	"github.com/respond-dev/respond/rotate/journal"
)

// RespondOptions are the flags of the main command.
type RespondOptions struct {
	Factory  *Factory
	KeyIDRaw []string
	From     string
	Format   string
	DryRun   bool
	Yes      bool
	Playbook string
	Locate   string
	Sinks    []string
	Reveal   bool
	// Since is how far back --from security-center reads (0: since the last successful poll).
	Since time.Duration
}

// respondRun is the main command: the findings of --key-id and --from (or Security Center's), the
// engine's batch over them (rotate.Batch: playbook, owner, plan, confirmation, steps), the result.
func respondRun(ctx context.Context, opts *RespondOptions) (err error) {
	r, findings, err := newRun(ctx, opts)
	if err != nil {
		return err
	}
	defer r.close(&err)
	b, err := r.batch()
	if err != nil {
		return err
	}
	if f := opts.Factory; f.Signals != nil {
		var stop context.CancelFunc
		ctx, stop = f.Signals(ctx)
		defer stop()
	}
	report := rotate.NewReport(opts.DryRun, r.warnings)
	if opts.From == fromSecurityCenter || len(findings) > 0 {
		if err := r.connect(ctx, b, &report); err != nil {
			return err
		}
	}
	if opts.From == fromSecurityCenter {
		if findings, err = r.pollSecurityCenter(ctx, b, &report); err != nil {
			return err
		}
	}
	if len(findings) == 0 {
		return r.finish(report, nil)
	}
	items, err := b.Run(ctx, findings)
	r.progress.Clear()
	if report.Declined = errors.Is(err, rotate.ErrNotConfirmed); report.Declined {
		fmt.Fprintln(r.errOut, "Declined: nothing was changed.")
	} else if err != nil {
		return err
	}
	return r.finish(report, items)
}

// batch checks the flags against the terminal, reads the configuration and --playbook, and
// builds the engine's batch for this run (its Session is connected later, when there is work).
func (r *run) batch() (*rotate.Batch, error) {
	f, opts := r.opts.Factory, r.opts
	if err := r.check(); err != nil {
		return nil, err
	}
	conf, strategies, err := f.configAndStrategies(opts.Locate)
	if err != nil {
		return nil, err
	}
	forced, err := playbooks.Resolve(opts.Playbook, conf)
	if err != nil {
		return nil, &FlagError{Err: fmt.Errorf("--playbook %s: %w", opts.Playbook, err)}
	}
	if r.stateDir, err = f.stateDirFor(conf); err != nil {
		return nil, err
	}
	if err := journal.CheckStateDir(r.stateDir); err != nil {
		return nil, err // an *UnsafeStateError: exit 2, with the chmod or chown to run
	}
	inv, err := f.invocation(conf, r.stateDir, opts.Playbook)
	if err != nil {
		return nil, err
	}
	b := &rotate.Batch{
		Config: conf, Playbook: forced, Strategies: strategies, Progress: r.progress.Reporter(),
		OnStep: r.stepPrinter(), Redactor: r.red, OwnUserAgent: f.ownMarker, DryRun: opts.DryRun,
		Outputs:  rotate.Outputs{Sinks: opts.Sinks, Getenv: f.getenv, Now: f.Now},
		StateDir: r.stateDir, ResumeCommand: inv.ResumeCommand(), Confirmer: r,
	}
	if opts.Reveal {
		b.Outputs.Reveal = r.s.Out // the one place a secret is printed, on purpose
	}
	if f.Global.Sandbox { // the sandbox's own state directory, even under a configuration's
		b.Outputs.Fallback = rotate.RehearsalSink(r.sandboxDir())
	}
	return b, nil
}

// connect signs the batch in (Factory.connect); the report names who respond acts as.
func (r *run) connect(ctx context.Context, b *rotate.Batch, report *rotate.Report) error {
	cl, err := r.opts.Factory.connect(ctx, b.Config, r.progress)
	if err != nil {
		return err
	}
	b.Session, r.session = cl, cl
	caller := cl.Caller()
	report.Caller = &caller
	return nil
}

// gatherFindings turns --key-id and --from into findings, one per key (detect.WithNamed).
func gatherFindings(ctx context.Context, opts *RespondOptions) ([]detect.Finding, []string, error) {
	ids, err := parseKeyIDs(opts.KeyIDRaw)
	if err != nil {
		return nil, nil, err
	}
	var res detect.Result
	if opts.From != "" && opts.From != fromSecurityCenter { // the poll needs the connection: later
		if res, err = readFindings(ctx, opts.Factory, opts.From, opts.Format); err != nil {
			return nil, nil, err
		}
	}
	return detect.WithNamed(ids, res.Findings), res.Warnings, nil
}

// configAndStrategies reads the configuration and the owner-search strategies: --locate wins over
// the configuration's locate list; empty means each playbook's, else ram's defaults.
func (f *Factory) configAndStrategies(locate string) (*playbooks.Config, []string, error) {
	strategies, err := rotate.ParseStrategies(locate)
	if err != nil {
		return nil, nil, flagErrorf("--locate: %v", err)
	}
	conf, err := f.loadConfig()
	if err != nil {
		return nil, nil, err
	}
	if conf != nil && len(strategies) == 0 {
		strategies = conf.Locate
	}
	return conf, strategies, nil
}
