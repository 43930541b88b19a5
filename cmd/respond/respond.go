package main

import (
	"context"
	"fmt"
	"time"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/rotate"
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

// respondRun is the main command: the input of --key-id and --from (rotate.Input), the engine's
// batch over it (rotate.Batch.Respond: Security Center's records, playbook, owner, plan,
// confirmation, steps, report), the result.
func respondRun(ctx context.Context, opts *RespondOptions) (err error) {
	r, in, err := newRun(ctx, opts)
	if err != nil {
		return err
	}
	defer r.close(&err)
	b, err := r.batch()
	if err != nil {
		return err
	}
	ctx, stop := opts.Factory.signalled(ctx) // a rotation in flight finishes or rolls back its step
	defer stop()
	connect := func(ctx context.Context) (*rotate.Session, error) {
		return opts.Factory.connect(ctx, b.Config, r.progress)
	}
	report, _, err := b.Respond(ctx, in, connect, exitOf)
	r.progress.Clear()
	if err != nil {
		return err
	}
	if report.Declined {
		fmt.Fprintln(r.errOut, "Declined: nothing was changed.")
	}
	return r.finish(report)
}

// batch checks the flags against the terminal, reads the configuration and --playbook, and
// builds the engine's batch for this run (Respond connects it when there is work).
func (r *run) batch() (*rotate.Batch, error) {
	f, opts := r.opts.Factory, r.opts
	if err := r.check(); err != nil {
		return nil, err
	}
	conf, strategies, err := f.configAndStrategies(opts.Locate)
	if err != nil {
		return nil, err
	}
	forced, err := forcedPlaybook(opts.Playbook, conf)
	if err != nil {
		return nil, err
	}
	b, err := f.newBatch(conf, runFlags{playbook: opts.Playbook, sinks: opts.Sinks, strategies: strategies})
	if err != nil {
		return nil, err
	}
	b.Playbook, b.DryRun = forced, opts.DryRun                            // the flags
	b.Progress, b.Redactor, b.Confirmer = r.progress.Reporter(), r.red, r // the terminal
	if !r.asJSON {
		b.StepLines = r.errOut // each step's line on stderr as it ends
	}
	if opts.Reveal {
		b.Outputs.Reveal = r.s.Out // the one place a secret is printed, on purpose
	}
	return b, nil
}

// forcedPlaybook is the playbook --playbook names (nil for none: the rules choose), for a run and
// for respond doctor; one that cannot be read or used with conf is a FlagError.
func forcedPlaybook(value string, conf *playbooks.Config) (*playbooks.Playbook, error) {
	pb, err := playbooks.Resolve(value, conf)
	if err != nil {
		return nil, &FlagError{Err: fmt.Errorf("--playbook %s: %w", value, err)}
	}
	return pb, nil
}

// input turns --key-id, --from and --since into the batch's input.
func input(ctx context.Context, opts *RespondOptions) (rotate.Input, error) {
	ids, err := parseKeyIDs(opts.KeyIDRaw)
	if err != nil {
		return rotate.Input{}, err
	}
	in := rotate.Input{Named: ids, SecurityCenter: opts.From == rotate.SecurityCenterSource, Since: opts.Since}
	if opts.From != "" && !in.SecurityCenter { // the poll needs the connection: the engine's
		in.Read, err = readFindings(ctx, opts.Factory, opts.From, opts.Format)
	}
	return in, err
}

// configAndOrder is configAndStrategies for a command without a playbook (locate, assess): without
// --locate, the configuration's order, else the default (playbooks.Config.SearchOrder).
func (f *Factory) configAndOrder(locate string) (*playbooks.Config, []string, error) {
	conf, strategies, err := f.configAndStrategies(locate)
	if err == nil && len(strategies) == 0 {
		strategies = conf.SearchOrder(nil, false)
	}
	return conf, strategies, err
}

// configAndStrategies reads --locate's strategies and the configuration (rotate.Batch.Strategies
// says which order applies without --locate).
func (f *Factory) configAndStrategies(locate string) (*playbooks.Config, []string, error) {
	strategies, err := rotate.ParseStrategies(locate)
	if err != nil {
		return nil, nil, flagErrorf("--locate: %v", err)
	}
	conf, err := f.loadConfig()
	return conf, strategies, err
}
