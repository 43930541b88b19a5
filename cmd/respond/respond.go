package main

import (
	"cmp"
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

func respondRun(ctx context.Context, opts *RespondOptions) (err error) {
	f := opts.Factory
	asJSON, err := f.outputJSON()
	if err != nil {
		return err
	}
	if err := checkSince(opts.From, opts.Since); err != nil {
		return err
	}
	findings, warnings, err := gatherFindings(ctx, opts)
	if err != nil {
		return err
	}
	r, err := newRun(opts, asJSON, findings)
	if err != nil {
		return err
	}
	defer r.close(&err)
	b, err := r.batch()
	if err != nil {
		return err
	}
	if f.Signals != nil {
		var stop context.CancelFunc
		ctx, stop = f.Signals(ctx)
		defer stop()
	}
	report := rotate.NewReport(opts.DryRun, warnings)
	if opts.From == fromSecurityCenter {
		if findings, _, err = r.pollSecurityCenter(ctx, b, findings, &report); err != nil {
			return err
		}
	}
	if len(findings) == 0 {
		return r.nothingToDo(report)
	}
	if b.Session == nil {
		cl, err := f.connect(ctx, b.Config, r.progress)
		if err != nil {
			return err
		}
		b.Session = cl
		caller := cl.Caller()
		report.Caller = &caller
	}
	items, err := b.Run(ctx, findings)
	r.progress.clear()
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
	if r.stateDir, err = f.stateDir(); err != nil {
		return nil, err
	}
	r.sandboxDir = r.stateDir
	if conf != nil && conf.StateDir != "" && f.Global.StateDir == "" {
		r.stateDir = conf.StateDir
	}
	if err := journal.CheckStateDir(r.stateDir); err != nil {
		return nil, err // an *UnsafeStateError: exit 2, with the chmod or chown to run
	}
	b := &rotate.Batch{
		Config: conf, Playbook: forced, Strategies: strategies, Progress: r.progress.reporter(),
		OnStep: r.stepPrinter(), Redactor: r.red, OwnUserAgent: f.ownMarker, DryRun: opts.DryRun,
		Outputs:  rotate.Outputs{Sinks: opts.Sinks, Getenv: f.getenv, Now: f.Now},
		StateDir: r.stateDir, ResumeCommand: r.invocation(conf).ResumeCommand(), Confirmer: r,
	}
	if opts.Reveal {
		b.Outputs.Reveal = r.s.Out // the one place a secret is printed, on purpose
	}
	if f.Global.Sandbox {
		b.Outputs.Fallback = rotate.RehearsalSink(r.sandboxDir)
	}
	return b, nil
}

// gatherFindings turns --key-id and --from into findings, one per key (detect.WithNamed).
func gatherFindings(ctx context.Context, opts *RespondOptions) ([]detect.Finding, []string, error) {
	ids, err := detect.ParseIDs(opts.KeyIDRaw)
	if err != nil {
		return nil, nil, badKeyIDs(opts.KeyIDRaw) // says what the value looks like, never repeats it
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

// invocation is what this run used, for the command that resumes it (recorded in the journal,
// printed by respond status).
func (r *run) invocation(conf *playbooks.Config) rotate.Invocation {
	f := r.opts.Factory
	inv := rotate.Invocation{Sandbox: f.Global.Sandbox, StateDir: r.stateDir, Profile: f.Global.Profile,
		Region: cmp.Or(f.Global.Region, f.getenv("ALIBABA_CLOUD_REGION_ID")), Playbook: r.opts.Playbook}
	if !f.Global.Sandbox {
		inv.Endpoint = cmp.Or(f.Global.Endpoint, f.getenv("RESPOND_ENDPOINT"))
	}
	if conf != nil && (!f.Global.Sandbox || f.Global.ConfigPath != "") {
		inv.Config = conf.Source
	}
	return inv
}
