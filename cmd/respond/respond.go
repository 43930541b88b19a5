package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/respond-dev/respond/detect"
	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/rotate"
	"github.com/respond-dev/respond/rotate/sink"
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
	r := newRun(opts, asJSON, findings)
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
	report := rotate.Report{Schema: rotate.ReportSchema, DryRun: opts.DryRun, Warnings: warnings, Results: []rotate.KeyReport{}}
	if opts.From == fromSecurityCenter {
		if findings, _, err = r.pollSecurityCenter(ctx, b, findings, &report); err != nil {
			return err
		}
	}
	if len(findings) == 0 {
		return r.nothingToDo(report)
	}
	if b.Session == nil {
		cl, err := f.connect(ctx, b.Config)
		if err != nil {
			return err
		}
		b.Session = cl
		caller := cl.Caller()
		report.Caller = &caller
	}
	items, err := b.Run(ctx, findings)
	r.progress.clear()
	if err != nil {
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
	forced, err := loadPlaybook(opts.Playbook, conf)
	if err != nil {
		return nil, err
	}
	if r.stateDir, err = f.stateDir(); err != nil {
		return nil, err
	}
	r.sandboxDir = r.stateDir
	if conf != nil && conf.StateDir != "" && f.Global.StateDir == "" {
		r.stateDir = conf.StateDir
	}
	b := &rotate.Batch{
		Config: conf, Playbook: forced, Strategies: strategies, Progress: r.progress.reporter(),
		OnStep: r.stepPrinter(), Redactor: r.red, OwnUserAgent: f.ownMarker(), DryRun: opts.DryRun,
		Outputs:  rotate.Outputs{Sinks: opts.Sinks, Getenv: f.getenv, Now: f.Now, Fallback: r.sandboxSink()},
		StateDir: r.stateDir, ResumeCommand: f.resumeCommand(opts), Confirmer: r,
	}
	if opts.Reveal {
		b.Outputs.Reveal = r.s.Out // the one place a secret is printed, on purpose
	}
	return b, nil
}

// sandboxSink is where the sandbox stores a replacement when no sink is configured: it
// rehearses the whole response, so the replacement goes to a 0600 file in the state directory.
func (r *run) sandboxSink() func(playbooks.TemplateValues) (sink.Sink, error) {
	if !r.opts.Factory.Global.Sandbox {
		return nil
	}
	return func(vals playbooks.TemplateValues) (sink.Sink, error) {
		dir := filepath.Join(r.sandboxDir, "sandbox")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create the sandbox sink's directory: %w", err)
		}
		return sink.NewFile("sandbox-file", filepath.Join(dir, vals.UserName+".env"), sink.FormatDotenv)
	}
}

// gatherFindings turns --key-id and --from into findings, one per key: the ids named with
// --key-id first, each with the places --from found it too.
func gatherFindings(ctx context.Context, opts *RespondOptions) ([]detect.Finding, []string, error) {
	var findings []detect.Finding
	byID := map[accesskey.ID]int{}
	for _, raw := range opts.KeyIDRaw {
		for _, s := range strings.Split(raw, ",") {
			if s = strings.TrimSpace(s); s == "" {
				continue
			}
			id, err := accesskey.ParseID(s)
			if err != nil {
				return nil, nil, flagErrorf("--key-id: %v", err)
			}
			if _, dup := byID[id]; !dup {
				kind := detect.KindAccessKey
				if id.IsSTS() {
					kind = detect.KindSTS
				}
				byID[id] = len(findings)
				findings = append(findings, detect.Finding{KeyID: id, Kind: kind, Locations: []detect.Location{{Source: "flag"}}})
			}
		}
	}
	if opts.From == "" || opts.From == fromSecurityCenter { // the poll needs the connection: later
		return findings, nil, nil
	}
	res, err := readFindings(ctx, opts.Factory, opts.From, opts.Format)
	if err != nil {
		return nil, nil, err
	}
	for _, fd := range res.Findings { // detect de-duplicated these; only a --key-id may name one again
		i, named := byID[fd.KeyID]
		if !named {
			findings = append(findings, fd)
			continue
		}
		findings[i].Locations = append(findings[i].Locations, fd.Locations...)
		if findings[i].Secret.IsZero() {
			findings[i].Secret = fd.Secret
		}
	}
	return findings, res.Warnings, nil
}

// configAndStrategies reads the configuration and the owner-search strategies: --locate wins over
// the configuration's locate list; empty means each playbook's, else ram's defaults.
func (f *Factory) configAndStrategies(locate string) (*playbooks.Config, []string, error) {
	var strategies []string
	if locate != "" {
		known := append(playbooks.Strategies(), ram.StrategyCaller)
		for p := range strings.SplitSeq(locate, ",") {
			if p = strings.TrimSpace(p); !slices.Contains(known, p) {
				return nil, nil, flagErrorf("--locate: unknown strategy %q; known: %s", p, strings.Join(known, ", "))
			}
			strategies = append(strategies, p)
		}
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

// loadPlaybook reads --playbook: a file, else a playbook the configuration names, else a
// built-in. "" is nil: the configuration's rules choose.
func loadPlaybook(name string, conf *playbooks.Config) (*playbooks.Playbook, error) {
	var pb *playbooks.Playbook
	var err error
	switch {
	case name == "":
		return nil, nil
	case strings.ContainsRune(name, os.PathSeparator) || strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml"):
		if pb, err = playbooks.Load(name); err == nil && conf != nil {
			err = conf.CheckPlaybook(pb)
		}
	default:
		pb, err = conf.Playbook(name) // a nil configuration names only the built-ins
	}
	if err != nil {
		return nil, &FlagError{Err: fmt.Errorf("--playbook %s: %w", name, err)}
	}
	return pb, nil
}

func (f *Factory) resumeCommand(opts *RespondOptions) string {
	cmd := "respond --key-id %s --yes"
	if f.Global.Sandbox {
		cmd += " --sandbox"
	}
	for _, fl := range [][2]string{{"--endpoint", f.Global.Endpoint}, {"--state-dir", f.Global.StateDir},
		{"--config", f.Global.ConfigPath}, {"--playbook", opts.Playbook}} {
		if fl[1] != "" {
			cmd += " " + fl[0] + " " + fl[1]
		}
	}
	return cmd
}
