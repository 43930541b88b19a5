package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/respond-dev/respond/detect"
	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/rotate"
	"github.com/respond-dev/respond/rotate/journal"
	"github.com/respond-dev/respond/rotate/notify"
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
}

// ReportSchema names the JSON document respond --output json prints.
const ReportSchema = "respond.report/v1"

// Report is the JSON form of a run: one entry per leaked key (README "JSON output").
type Report struct {
	Schema   string        `json:"schema"`
	DryRun   bool          `json:"dry_run"`
	Caller   *ram.Identity `json:"caller,omitempty"`
	Warnings []string      `json:"warnings,omitempty"`
	Results  []KeyReport   `json:"results"`
	ExitCode int           `json:"exit_code"`
}

// KeyReport is one leaked key: the plan, and the result when it ran.
type KeyReport struct {
	KeyID          string            `json:"key_id"`
	Kind           string            `json:"kind"`
	Playbook       string            `json:"playbook,omitempty"`
	PlaybookReason string            `json:"playbook_reason,omitempty"`
	Locations      []detect.Location `json:"locations,omitempty"`
	Notes          []string          `json:"notes,omitempty"`
	Plan           *rotate.Plan      `json:"plan,omitempty"`
	Result         *rotate.Result    `json:"result,omitempty"`
	Error          string            `json:"error,omitempty"`
	ExitCode       int               `json:"exit_code"`
}

// item is one finding on its way through the run.
type item struct {
	finding detect.Finding
	plan    rotate.Plan
	deps    rotate.Deps
	err     error // a problem found while planning (bad playbook, no sink...)
	result  *rotate.Result
	// The playbook and why it was chosen: by prepareItem from the finding alone, then by
	// planItem again once the owner is known (the configuration's rules can match on it).
	pb       *playbooks.Playbook
	pbReason string
	source   string
	owner    *onceLocator
}

func respondRun(ctx context.Context, opts *RespondOptions) error {
	f := opts.Factory
	asJSON, err := f.outputJSON()
	if err != nil {
		return err
	}
	findings, warnings, err := gatherFindings(ctx, opts)
	if err != nil {
		return err
	}
	// The second net behind the Secret type: everything respond prints from here on passes a
	// redactor that knows the run's secrets (the leaked ones now; the engine teaches it each new
	// one as soon as it exists).
	redactor := accesskey.NewRedactor()
	for _, fd := range findings {
		redactor.Add(fd.Secret)
	}
	f.redactor = redactor
	rawOut := f.Streams.Out
	out, errOut := redactor.Writer(f.Streams.Out), redactor.Writer(f.Streams.ErrOut)
	f.Streams.Out, f.Streams.ErrOut, f.rawOut = out, errOut, rawOut
	defer func() { _ = out.Flush(); _ = errOut.Flush() }()
	if !opts.DryRun && !opts.Yes && !f.Streams.InTTY {
		reason := "stdin is not a terminal"
		if opts.From == "-" {
			reason = "stdin carries the findings"
		}
		return flagErrorf("refusing to change anything without confirmation (%s): pass --yes to proceed, or --dry-run to see the plan", reason)
	}
	if opts.Reveal && (!f.Streams.OutTTY || asJSON) {
		return flagErrorf("--reveal prints the new secret and is allowed only with text output on a terminal; configure a sink instead (see README \"Sinks\")")
	}
	conf, strategies, err := f.configAndStrategies(opts.Locate)
	if err != nil {
		return err
	}
	if opts.Playbook != "" {
		if _, _, err := f.choosePlaybook(opts, conf, playbooks.PlaybookInput{}); err != nil {
			return err
		}
	}
	stateDir, err := f.stateDir()
	if err != nil {
		return err
	}
	if conf != nil && conf.StateDir != "" && f.Global.StateDir == "" {
		stateDir = conf.StateDir
	}
	if f.Signals != nil {
		var stop context.CancelFunc
		ctx, stop = f.Signals(ctx)
		defer stop()
	}

	report := Report{Schema: ReportSchema, DryRun: opts.DryRun, Warnings: warnings, Results: []KeyReport{}}
	if len(findings) == 0 {
		if asJSON {
			return writeJSON(f.Streams.Out, report)
		}
		fmt.Fprintln(f.Streams.Out, "No AccessKey ids found: nothing to do.")
		return nil
	}

	cl, err := f.connect(ctx, conf)
	if err != nil {
		return err
	}
	report.Caller = &cl.caller
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return fmt.Errorf("create the state directory %s: %w (pass --state-dir)", stateDir, err)
	}
	var audit *journal.Audit
	if !opts.DryRun {
		audit, err = journal.OpenAudit(filepath.Join(stateDir, journal.AuditFile))
		if err != nil {
			return fmt.Errorf("open the audit log: %w", err)
		}
		defer audit.Close()
	}
	notifiers, err := f.buildNotifiers(conf)
	if err != nil {
		return err
	}

	progress := f.progressPrinter()
	items := make([]*item, len(findings))
	for i, fd := range findings {
		items[i] = &item{finding: fd}
	}
	// Inspect (read-only) every finding, several at a time, in two passes that keep every
	// account's key busy at once (each account's client paces its own calls): first the owner
	// search, in shuffled order (findings often come grouped by account, and the search's last
	// call, the owner's key list, is signed in the owner's account), then the rest of the
	// inspection, which is all in the owner's account, spread evenly over the accounts.
	n := workersFor(len(cl.accounts))
	for _, it := range items {
		f.prepareItem(it, opts, conf, cl, strategies, progress)
	}
	forEach(ctx, spread(items), n, func(ctx context.Context, it *item) {
		if it.err == nil && it.finding.KeyID.Rotatable() {
			_, _ = it.owner.Locate(ctx, it.finding.KeyID) // kept for Inspect, errors included
		}
	})
	forEachByAccount(ctx, items, n, func(it *item) string { return it.owner.accountID() }, func(ctx context.Context, it *item) {
		f.planItem(ctx, it, opts, conf, cl, stateDir, audit, notifiers)
	})
	if f.Streams.ErrTTY {
		fmt.Fprint(f.Streams.ErrOut, "\r\033[K") // clear the scan's progress line
	}
	if err := ctx.Err(); err != nil {
		return &ExitError{Code: exitPartial, Err: fmt.Errorf("interrupted while planning; nothing was changed: %w", err)}
	}

	if !asJSON {
		for _, it := range items {
			f.printPlan(it)
		}
	}
	if opts.DryRun {
		return f.finish(report, items, asJSON, true)
	}
	runnable := 0
	for _, it := range items {
		if it.err == nil && it.plan.Decision == rotate.DecisionRotate {
			runnable++
		}
	}
	if runnable > 0 && !opts.Yes {
		ok, err := f.confirm(fmt.Sprintf("Rotate %d key(s) as planned above? This deletes the leaked key(s). [y/N] ", runnable))
		if err != nil {
			return err
		}
		if !ok {
			fmt.Fprintln(f.Streams.ErrOut, "respond: not confirmed; nothing was changed")
			return &ExitError{Code: exitFailed}
		}
	}
	// Spread evenly over the owners' accounts, so that every account's key is busy at once.
	forEachByAccount(ctx, items, n, planAccount, func(ctx context.Context, it *item) {
		if it.err != nil {
			return
		}
		res := rotate.Execute(ctx, it.plan, it.deps)
		it.result = &res
	})
	return f.finish(report, items, asJSON, false)
}

// gatherFindings turns --key-id and --from into de-duplicated findings.
func gatherFindings(ctx context.Context, opts *RespondOptions) ([]detect.Finding, []string, error) {
	var findings []detect.Finding
	var warnings []string
	seen := map[string]int{}
	for _, raw := range opts.KeyIDRaw {
		for _, s := range strings.Split(raw, ",") {
			s = strings.TrimSpace(s)
			if s == "" {
				continue
			}
			id, err := accesskey.ParseID(s)
			if err != nil {
				return nil, nil, flagErrorf("--key-id: %v", err)
			}
			if _, dup := seen[id.String()]; dup {
				continue
			}
			kind := detect.KindAccessKey
			if id.IsSTS() {
				kind = detect.KindSTS
			}
			seen[id.String()] = len(findings)
			findings = append(findings, detect.Finding{KeyID: id, Kind: kind, Locations: []detect.Location{{Source: "flag"}}})
		}
	}
	if opts.From != "" {
		res, err := readFindings(ctx, opts.Factory, opts.From, opts.Format)
		if err != nil {
			return nil, nil, err
		}
		warnings = append(warnings, res.Warnings...)
		for _, fd := range res.Findings {
			if i, dup := seen[fd.KeyID.String()]; dup {
				findings[i].Locations = append(findings[i].Locations, fd.Locations...)
				if findings[i].Secret.IsZero() {
					findings[i].Secret = fd.Secret
				}
				continue
			}
			seen[fd.KeyID.String()] = len(findings)
			findings = append(findings, fd)
		}
	}
	return findings, warnings, nil
}

// configAndStrategies reads the configuration and the owner-search strategies: --locate wins over
// the configuration's locate list; empty means each playbook's, else ram's defaults.
func (f *Factory) configAndStrategies(locate string) (*playbooks.Config, []string, error) {
	strategies, err := parseStrategies(locate)
	if err != nil {
		return nil, nil, err
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

func parseStrategies(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	var out []string
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if !slices.Contains(append(playbooks.Strategies(), ram.StrategyCaller), p) {
			return nil, flagErrorf("--locate: unknown strategy %q; known: ims, actiontrail, scan, self, caller", p)
		}
		out = append(out, p)
	}
	return out, nil
}

// prepareItem chooses a finding's first playbook and its owner search (no call yet).
func (f *Factory) prepareItem(it *item, opts *RespondOptions, conf *playbooks.Config, cl *cloud, strategies []string, progress func(ram.Progress)) {
	fd := it.finding
	it.source = "flag"
	if len(fd.Locations) > 0 {
		it.source = firstNonEmpty(fd.Locations[0].Format, fd.Locations[0].Source)
	}
	// The playbook may set the strategies; --locate and the configuration win over it.
	pb, reason, err := f.choosePlaybook(opts, conf, playbooks.PlaybookInput{KeyID: fd.KeyID.String(), Source: it.source})
	if err != nil {
		it.err = err
		return
	}
	it.pb, it.pbReason = pb, reason
	locStrategies := strategies
	if len(locStrategies) == 0 {
		if st, ok := pb.Step(playbooks.StepLocate); ok && len(st.Options.Strategies) > 0 {
			locStrategies = st.Options.Strategies
		}
	}
	loc, err := cl.locator(locStrategies, fd.KeyID, fd.Secret, progress)
	if err != nil {
		it.err = err
		return
	}
	it.owner = &onceLocator{loc: loc}
}

// planItem inspects one finding (its owner search already ran: prepareItem) and plans its
// rotation.
func (f *Factory) planItem(ctx context.Context, it *item, opts *RespondOptions, conf *playbooks.Config, cl *cloud,
	stateDir string, audit *journal.Audit, notifiers []notify.Notifier) {
	if it.err != nil {
		return
	}
	fd, pb, source := it.finding, it.pb, it.source
	deps := rotate.Deps{
		Locator: it.owner, Accounts: cl, Verifier: cl, StateDir: stateDir, Audit: audit, Caller: cl.caller,
		Notifiers: notifiers, LockWait: 0, ResumeCommand: f.resumeCommand(opts), Redactor: f.redactor,
		OnStep: f.stepPrinter(fd.KeyID),
	}
	if st, ok := pb.Step(playbooks.StepAssess); ok {
		deps.AssessWindow = st.Options.AssessWindow
	}
	snap := rotate.Inspect(ctx, fd, deps)
	// Now that the owner is known, the configuration's rules can choose with everything.
	if snap.Found && opts.Playbook == "" && conf != nil {
		in := playbooks.PlaybookInput{KeyID: fd.KeyID.String(), Source: source, AccountID: snap.Owner.Account.ID,
			AccountName: accountName(conf, cl, snap.Owner.Account.ID), UserName: snap.Owner.UserName}
		if pb2, reason2, err := conf.Select(in); err == nil {
			pb, it.pb, it.pbReason = pb2, pb2, reason2
		}
	}
	sinks, err := f.buildSinks(ctx, pb, conf, cl, snap, opts)
	if err != nil {
		it.err = err
		return
	}
	deps.Sinks = sinks
	settings := settingsFor(pb, conf, cl, sinks)
	settings.OwnUserAgent = f.ownMarker()
	deps.AssessWindow = settings.AssessWindow
	if err := settings.Validate(); err != nil {
		it.err = &FlagError{Err: fmt.Errorf("playbook %s: %w", pb.Name, err)}
		return
	}
	it.plan = rotate.NewPlan(fd, snap, settings)
	it.deps = deps
	if it.plan.Decision == rotate.DecisionRotate && pb.Has(playbooks.StepCreate) && len(sinks) == 0 {
		it.err = flagErrorf("key %s: the %s playbook creates a replacement but no sink is configured to receive it; add a sink to the configuration (README \"Sinks\"), pass --reveal on a terminal, or use --playbook contain-only", fd.KeyID, pb.Name)
	}
}

func (f *Factory) choosePlaybook(opts *RespondOptions, conf *playbooks.Config, in playbooks.PlaybookInput) (*playbooks.Playbook, string, error) {
	if opts.Playbook != "" {
		var pb *playbooks.Playbook
		var err error
		isFile := strings.ContainsRune(opts.Playbook, os.PathSeparator) || strings.HasSuffix(opts.Playbook, ".yaml") || strings.HasSuffix(opts.Playbook, ".yml")
		switch {
		case isFile:
			pb, err = playbooks.Load(opts.Playbook)
			if err == nil && conf != nil {
				err = conf.CheckPlaybook(pb)
			}
		case conf != nil:
			pb, err = conf.Playbook(opts.Playbook)
		default:
			pb, err = playbooks.Builtin(opts.Playbook)
		}
		if err != nil {
			return nil, "", &FlagError{Err: fmt.Errorf("--playbook %s: %w", opts.Playbook, err)}
		}
		if conf != nil && len(pb.Sinks) == 0 && pb.Has(playbooks.StepStore) {
			// As for a playbook the rules choose: no sinks named means every configured sink.
			pb.Sinks = slices.Sorted(maps.Keys(conf.Sinks))
		}
		return pb, "chosen with --playbook", nil
	}
	if conf == nil {
		pb, err := playbooks.Builtin(playbooks.DefaultPlaybook)
		return pb, "no configuration: the default playbook", err
	}
	pb, reason, err := conf.Select(in)
	if err != nil {
		return nil, "", &FlagError{Err: fmt.Errorf("choose a playbook for %s: %w", in.KeyID, err)}
	}
	return pb, reason, nil
}

func accountName(conf *playbooks.Config, cl *cloud, id string) string {
	for _, a := range cl.accounts {
		if a.Account.ID == id {
			return a.Account.Name
		}
	}
	return ""
}

// settingsFor maps a playbook (and the configuration) onto the engine's settings.
func settingsFor(pb *playbooks.Playbook, conf *playbooks.Config, cl *cloud, sinks []sink.Sink) rotate.Settings {
	s := rotate.Settings{Playbook: pb.Name, OnStoreFailure: pb.OnStoreFailure, Sinks: rotate.DescribeSinks(sinks)}
	for _, st := range pb.Steps {
		s.Steps = append(s.Steps, st.ID)
		switch st.ID {
		case playbooks.StepVerify:
			s.VerifyTimeout, s.VerifyInterval, s.CheckLeakedSecret = st.Options.VerifyTimeout, st.Options.VerifyInterval, st.Options.CheckLeakedSecret
		case playbooks.StepAssess:
			s.AssessWindow = st.Options.AssessWindow
		}
	}
	if id, err := accesskey.ParseID(cl.caller.AccessKeyID); err == nil {
		s.Self = id
	}
	if conf != nil {
		for _, c := range conf.Canaries {
			if id, err := accesskey.ParseID(c); err == nil {
				s.Canaries = append(s.Canaries, id)
			}
		}
	}
	return s
}

func (f *Factory) resumeCommand(opts *RespondOptions) string {
	cmd := "respond --key-id %s --yes"
	if f.Global.Sandbox {
		cmd += " --sandbox"
	}
	if f.Global.Endpoint != "" {
		cmd += " --endpoint " + f.Global.Endpoint
	}
	if f.Global.StateDir != "" {
		cmd += " --state-dir " + f.Global.StateDir
	}
	if f.Global.ConfigPath != "" {
		cmd += " --config " + f.Global.ConfigPath
	}
	if opts.Playbook != "" {
		cmd += " --playbook " + opts.Playbook
	}
	return cmd
}

// Concurrency: workersPerAccount findings per account at once (a rotation spends much of its
// time on journal fsyncs, sinks and the new key's verification, not on its account's key), at
// least minWorkers and at most maxWorkers in all.
const (
	workersPerAccount = 8
	minWorkers        = 16
	maxWorkers        = 32
)

func workersFor(accounts int) int {
	return min(maxWorkers, max(minWorkers, workersPerAccount*accounts))
}

// onceLocator runs the owner search once and answers every later Locate with its result, so
// that the search can run for every finding before the rest of the inspection (rotate.Inspect)
// does. Its calls never overlap (one finding, one goroutine at a time).
type onceLocator struct {
	loc   rotate.Locator
	done  bool
	owner ram.Owner
	err   error
}

func (o *onceLocator) Locate(ctx context.Context, id accesskey.ID) (ram.Owner, error) {
	if !o.done {
		o.owner, o.err = o.loc.Locate(ctx, id)
		o.done = ctx.Err() == nil // an interrupted search is not an answer
	}
	return o.owner, o.err
}

// accountID is the account of the owner found, or "" (not searched, not found, no search).
func (o *onceLocator) accountID() string {
	if o == nil || !o.done || o.err != nil {
		return ""
	}
	return o.owner.Account.ID
}

// planAccount is the account of a planned item's owner, or "".
func planAccount(it *item) string {
	if it.err != nil || it.plan.Owner == nil {
		return ""
	}
	return it.plan.Owner.Account.ID
}

// spread returns the items in a fixed shuffled order: findings often come grouped (by account,
// by repository), and in that order a pass would work on one account at a time.
func spread(items []*item) []*item {
	out := slices.Clone(items)
	r := rand.New(rand.NewPCG(uint64(len(items)), 0x5eed))
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// forEach runs fn over items with at most n at a time.
func forEach(ctx context.Context, items []*item, n int, fn func(context.Context, *item)) {
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for _, it := range items {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			fn(ctx, it)
		}()
	}
	wg.Wait()
}

// forEachByAccount runs fn over items with at most n at a time, each next item taken from the
// account (by account) with the fewest items in flight, and among those the one with the most
// left: every account's key stays busy until its work is done, whatever the items' order and
// however long each takes. Items of one account run in their order.
func forEachByAccount(ctx context.Context, items []*item, n int, account func(*item) string, fn func(context.Context, *item)) {
	var order []string
	queues := map[string][]*item{}
	for _, it := range items {
		a := account(it)
		if _, ok := queues[a]; !ok {
			order = append(order, a)
		}
		queues[a] = append(queues[a], it)
	}
	var mu sync.Mutex
	inFlight := map[string]int{}
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for range items {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		mu.Lock()
		best := ""
		found := false
		for _, a := range order {
			if len(queues[a]) == 0 {
				continue
			}
			if !found || inFlight[a] < inFlight[best] || (inFlight[a] == inFlight[best] && len(queues[a]) > len(queues[best])) {
				best, found = a, true
			}
		}
		it := queues[best][0]
		queues[best] = queues[best][1:]
		inFlight[best]++
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(ctx, it)
			mu.Lock()
			inFlight[best]--
			mu.Unlock()
			<-sem
		}()
	}
	wg.Wait()
}

// confirm asks on the terminal.
func (f *Factory) confirm(question string) (bool, error) {
	fmt.Fprint(f.Streams.ErrOut, question)
	flush(f.Streams.ErrOut)
	line, err := bufio.NewReader(f.Streams.In).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return false, fmt.Errorf("read the confirmation: %w", err)
	}
	a := strings.ToLower(strings.TrimSpace(line))
	return a == "y" || a == "yes", nil
}

// progressPrinter shows scan progress on stderr when it is a terminal.
func (f *Factory) progressPrinter() func(ram.Progress) {
	if !f.Streams.ErrTTY {
		return nil
	}
	var mu sync.Mutex
	return func(p ram.Progress) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(f.Streams.ErrOut, "\rscanning %s: %d/%d users, %.0f calls/s, %d throttled   ", p.Account, p.UsersScanned, p.UsersTotal, p.Rate, p.Throttles)
		flush(f.Streams.ErrOut)
	}
}

func (f *Factory) stepPrinter(id accesskey.ID) func(rotate.StepResult) {
	if f.Global.Output == "json" {
		return nil
	}
	var mu sync.Mutex
	return func(r rotate.StepResult) {
		mu.Lock()
		defer mu.Unlock()
		line := fmt.Sprintf("  %s %-7s %s", id.Short(), r.Step, r.Outcome)
		if r.Detail != "" {
			line += ": " + r.Detail
		}
		fmt.Fprintln(f.Streams.ErrOut, line)
	}
}

func (f *Factory) printPlan(it *item) {
	out := f.Streams.Out
	if it.err != nil {
		fmt.Fprintf(out, "Key %s: cannot plan: %s\n\n", it.finding.KeyID, oneLine(it.err.Error()))
		return
	}
	if it.pbReason != "" {
		fmt.Fprintf(out, "Playbook %s (%s)\n", it.pb.Name, it.pbReason)
	}
	_ = rotate.WritePlanText(out, it.plan)
	for _, n := range it.finding.Notes {
		fmt.Fprintf(out, "  note: %s\n", n)
	}
	fmt.Fprintln(out)
}

// finish prints the results and decides the exit code: the most urgent outcome wins
// (4 partial > 1 failed > 3 not found > 5 refused > 0).
func (f *Factory) finish(report Report, items []*item, asJSON, dryRun bool) error {
	worst := exitOK
	rank := map[exitCode]int{exitOK: 0, exitRefused: 1, exitNotFound: 2, exitUsage: 3, exitFailed: 4, exitPartial: 5}
	for _, it := range items {
		kr := KeyReport{KeyID: it.finding.KeyID.String(), Kind: string(it.finding.Kind), Playbook: it.playbookName(),
			PlaybookReason: it.pbReason, Locations: it.finding.Locations, Notes: it.finding.Notes}
		code := exitOK
		switch {
		case it.err != nil:
			kr.Error = oneLine(it.err.Error())
			code = codeFor(it.err)
		default:
			p := it.plan
			kr.Plan = &p
			if it.result != nil {
				kr.Result = it.result
				if it.result.Err != nil {
					code = codeFor(it.result.Err)
				}
			} else if !dryRun {
				code = exitPartial // planned but never ran (interrupted)
			}
		}
		if dryRun && code != exitUsage {
			code = exitOK
		}
		kr.ExitCode = int(code)
		if rank[code] > rank[worst] {
			worst = code
		}
		report.Results = append(report.Results, kr)
	}
	report.ExitCode = int(worst)
	if asJSON {
		if err := writeJSON(f.Streams.Out, report); err != nil {
			return err
		}
	} else if !dryRun {
		f.printSummary(items)
		if f.sandboxState != "" {
			fmt.Fprintf(f.Streams.Out, "Sandbox state (journal, audit log, the new key's file): %s\n", f.sandboxState)
		}
	}
	if worst == exitOK {
		return nil
	}
	return &ExitError{Code: worst}
}

func (f *Factory) printSummary(items []*item) {
	out := f.Streams.Out
	fmt.Fprintln(out, "Summary")
	for _, it := range items {
		if it.err != nil {
			fmt.Fprintf(out, "  %s  not run: %s\n", it.finding.KeyID, oneLine(it.err.Error()))
			continue
		}
		if it.result == nil {
			fmt.Fprintf(out, "  %s  not run (interrupted)\n", it.finding.KeyID)
			continue
		}
		r := it.result
		line := fmt.Sprintf("  %s  %s", r.KeyID, r.Outcome)
		if r.UserName != "" {
			line += fmt.Sprintf(" (user %s, account %s)", r.UserName, r.AccountID)
		}
		fmt.Fprintln(out, line)
		if r.NewKeyID != "" {
			fmt.Fprintf(out, "      new key %s\n", r.NewKeyID)
		}
		for _, rc := range r.Receipts {
			fmt.Fprintf(out, "      stored by %s (%s): %s\n", rc.Sink, rc.Kind, rc.Where)
		}
		if r.Err != nil {
			fmt.Fprintf(out, "      %s\n", oneLine(r.Err.Error()))
			var pe *rotate.PartialError
			if errors.As(r.Err, &pe) && pe.Resume != "" {
				fmt.Fprintf(out, "      resume with: %s\n", pe.Resume)
			}
		}
		for _, h := range r.LeftForHuman {
			fmt.Fprintf(out, "      to do: %s\n", h)
		}
	}
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// flush pushes out what a redacting writer held back (a prompt has no newline).
func flush(w io.Writer) {
	if fl, ok := w.(interface{ Flush() error }); ok {
		_ = fl.Flush()
	}
}

func (it *item) playbookName() string {
	if it.pb == nil {
		return ""
	}
	return it.pb.Name
}
