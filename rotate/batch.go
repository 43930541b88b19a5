package rotate

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/respond-dev/respond/detect"
	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/rotate/journal"
	"github.com/respond-dev/respond/rotate/sink"
)

// Connection is what a Batch needs of the accounts respond is signed in to (*Session is one).
type Connection interface {
	Accounts
	Verifier
	// Account is the client of an account, for every call (the KMS sink).
	Account(ctx context.Context, accountID string) (ram.API, error)
	// Caller is who respond is signed in as.
	Caller() ram.Identity
	// Entered are the accounts respond entered: the owner search covers them.
	Entered() []ram.LocatorAccount
	// Locator builds the owner search of one key over every account.
	Locator(ctx context.Context, strategies []string, leaked accesskey.ID, secret accesskey.Secret, progress func(ram.Progress)) (Locator, error)
	// IncidentAccounts gives the hunt, contain and eradicate steps' calls.
	IncidentAccounts
	// MatchSecret finds the key of a secret found without its id (the secret-match strategy,
	// secretonly.go); m.Checker is the connection's.
	MatchSecret(ctx context.Context, secret accesskey.Secret, m ram.SecretMatch, progress func(ram.Progress)) (ram.Owner, ram.MatchReport, error)
}

// Confirmer decides, once every finding is planned and before anything changes, whether the
// plans are carried out (respond's CLI shows them and asks on the terminal, or not with --yes).
type Confirmer interface {
	Confirm(ctx context.Context, items []*Item) (bool, error)
}

// ErrNotConfirmed is Batch.Run's error when the Confirmer said no: nothing was changed.
var ErrNotConfirmed = errors.New("not confirmed; nothing was changed")

// Batch is the response to many findings at once (design §3): for each finding, the playbook
// the configuration's rules choose (once, with the reason), the owner searched once, the plan;
// then one confirmation; then the rotations. Each pass is spread over the owners' accounts so
// that every account's key is busy at once (each account's client paces its own calls).
type Batch struct {
	Session Connection
	// Config is the configuration; nil means none (the default playbook, no canaries).
	Config *playbooks.Config
	// Playbook, when set, answers every finding (--playbook); else the configuration's rules
	// choose.
	Playbook *playbooks.Playbook
	// Strategies, when set, replace the playbooks' owner search strategies (--locate). Without
	// them playbooks.Config.SearchOrder says: a chosen playbook's (the configuration's locate:
	// where it names none), or the configuration's locate: when the choice waits for the owner,
	// else the default order.
	Strategies []string
	// Progress is told how the owner search's scans go.
	Progress func(ram.Progress)
	// OnStep, when set, gives the step reporter of each key (progress output).
	OnStep func(accesskey.ID) func(StepResult)
	// StepLines, when set and OnStep is not, gets one line per step as it ends (StepLines), each
	// key named short but told apart from the batch's others (accesskey.Shorts).
	StepLines io.Writer
	Outputs   Outputs
	// Redactor is the run's one redactor: it knows the leaked secrets, and the engine teaches it
	// each new secret as soon as it exists (Deps.Redactor).
	Redactor *accesskey.Redactor
	// StateDir holds the journals, the locks and the audit log (created, 0700, when missing).
	StateDir string
	// ResumeCommand is the command printed to resume a rotation (Deps.ResumeCommand).
	ResumeCommand string
	// Deps tune every rotation (Clock, Sleep, LockWait, timeouts); the batch sets the rest: the
	// state directory, the audit log, and each finding's owner account, sinks, notification
	// channels (its playbook's: playbooks.Config.Channels) and step reporter.
	Deps Deps
	// OwnUserAgent marks respond's own calls in ActionTrail (Settings.OwnUserAgent).
	OwnUserAgent string
	// DryRun stops after the plans: nothing is confirmed or changed.
	DryRun bool
	// Confirmer is asked before anything changes; nil goes ahead (--yes).
	Confirmer Confirmer
	// Alerts are each key's alerts at its source (Security Center records), which the close step
	// marks handled once the key is remediated (SecurityCenterPoll.Prepare sets them).
	Alerts map[accesskey.ID][]Alert
	// Owners are owners a source already knows (a Security Center record of a root-account key):
	// the owner search is not run for these keys.
	Owners map[accesskey.ID]ram.Owner

	pre prefetches // the ActionTrail reads started as owners are found (prefetch.go)
	// chans are the configuration's channels, each opened once a chosen playbook names it.
	chans *channels
	// onStep is OnStep, or the StepLines of this run's keys.
	onStep func(accesskey.ID) func(StepResult)
}

// Item is one finding on its way through a batch.
type Item struct {
	Finding detect.Finding
	// Playbook is the one chosen (nil when none could be), and PlaybookReason why.
	Playbook       *playbooks.Playbook
	PlaybookReason string
	// Plan is the finding's plan when Err is nil.
	Plan Plan
	// Result is the rotation's, once it ran.
	Result *Result
	// Err is why the finding could not be planned (an *InvalidError when the configuration, the
	// playbook or the flags do not allow it).
	Err error

	loc       Locator
	trail     *trailRead // the key's ActionTrail read, started once the owner was found
	owner     ram.Owner  // found by loc, unless locErr
	locErr    error
	deps      Deps
	executing bool // the batch went on to execute (not a dry run, confirmed)
	// a secret-only finding: whether secret-match may search for its key, and what it did
	secretMatch bool
	match       *ram.MatchReport
}

// Fresh is a new batch with b's settings (every exported field but Alerts and Owners, which a
// poll sets for one run) and none of its run's state: respond serve makes one per delivery from
// the one it configured (a batch is not copied: it holds run state).
func (b *Batch) Fresh() *Batch {
	return &Batch{Session: b.Session, Config: b.Config, Playbook: b.Playbook, Strategies: b.Strategies,
		Progress: b.Progress, OnStep: b.OnStep, StepLines: b.StepLines, Outputs: b.Outputs, Redactor: b.Redactor,
		StateDir: b.StateDir, ResumeCommand: b.ResumeCommand, Deps: b.Deps, OwnUserAgent: b.OwnUserAgent,
		DryRun: b.DryRun, Confirmer: b.Confirmer}
}

// open creates the state directory and opens the audit log (unless it is a dry run): the Deps
// every rotation shares. The notification channels are opened as chosen playbooks name them.
func (b *Batch) open() (Deps, func(), error) {
	d := b.Deps
	d.StateDir, d.ResumeCommand = b.StateDir, b.ResumeCommand
	d.Accounts, d.Verifier, d.Caller, d.Redactor = b.Session, b.Session, b.Session.Caller(), b.Redactor
	d.Incident = b.Session
	d.kms = newKMSSecrets()
	d.AssessRegions = b.assessRegions()
	if err := os.MkdirAll(b.StateDir, 0o700); err != nil {
		return d, nil, fmt.Errorf("create the state directory %s: %w (pass --state-dir)", b.StateDir, err)
	}
	if err := journal.CheckStateDir(b.StateDir); err != nil {
		// an unsafe directory (an *UnsafeStateError) is bad input, and nothing is planned over it;
		// each key's own journal is checked as it is inspected (Snapshot.StateErr), not every
		// journal here: serve opens a batch per delivery, and its directory keeps every key it
		// ever remediated
		return d, nil, &InvalidError{Err: err}
	}
	closeAudit := func() {}
	if !b.DryRun {
		a, err := journal.OpenAudit(filepath.Join(b.StateDir, journal.AuditFile))
		if err != nil {
			return d, nil, fmt.Errorf("open the audit log: %w", err)
		}
		d.Audit, closeAudit = a, func() { _ = a.Close() }
	}
	redact := func(s string) string { return s }
	if b.Redactor != nil {
		redact = b.Redactor.Redact
	}
	b.chans = newChannels(b.Config, b.Outputs.getenv, redact)
	return d, closeAudit, nil
}

// Run plans every finding and, unless it is a dry run or the Confirmer says no, executes the
// plans. The items are in the findings' order, one per finding, except that a finding of a key
// that secret-match found for a secret-only finding is folded into that one (mergeMatched). Its error says the batch stopped before
// anything changed: the state directory or the audit log could not be opened, it was interrupted
// while planning, ErrNotConfirmed, the Confirmer's error. (A channel a finding's playbook names
// that cannot be opened makes that finding's item invalid.)
func (b *Batch) Run(ctx context.Context, findings []detect.Finding) ([]*Item, error) {
	d, closeAudit, err := b.open()
	if err != nil {
		return nil, err
	}
	defer closeAudit()
	items := make([]*Item, len(findings))
	ids := make([]accesskey.ID, len(findings))
	for i, fd := range findings {
		items[i], ids[i] = &Item{Finding: fd, deps: d}, fd.KeyID
		b.prepare(ctx, items[i])
	}
	if b.onStep = b.OnStep; b.onStep == nil && b.StepLines != nil {
		b.onStep = StepLines(b.StepLines, accesskey.Shorts(ids))
	}
	// Inspect (read-only) every finding, several at a time, in two passes: first the owner
	// search, in shuffled order (findings often come grouped by account, and the search's last
	// call, the owner's key list, is signed in the owner's account), then the rest of the
	// inspection, which is all in the owner's account, spread evenly over the accounts.
	n := workersFor(len(b.Session.Entered()))
	forEach(ctx, spread(items), n, b.locate)
	items = mergeMatched(items)
	forEachByAccount(ctx, items, n, (*Item).ownerAccount, b.plan)
	b.pre.wait()
	if err := ctx.Err(); err != nil {
		return items, fmt.Errorf("interrupted while planning; nothing was changed: %w", err)
	}
	if b.DryRun {
		return items, nil
	}
	if b.Confirmer != nil {
		ok, err := b.Confirmer.Confirm(ctx, items)
		if err != nil {
			return items, err
		}
		if !ok {
			return items, ErrNotConfirmed
		}
	}
	for _, it := range items {
		it.executing = true
	}
	forEachByAccount(ctx, items, n, (*Item).planAccount, func(ctx context.Context, it *Item) {
		if it.Err == nil {
			res := Execute(ctx, it.Plan, it.deps)
			it.Result = &res
		}
	})
	return items, nil
}

// source is what the rules match a finding's source on, and what a trust entry names: a
// leak-reporting service's name (security-center) for its records, else the first location's
// format (the scanner), else its source ("flag" for --key-id).
func source(fd detect.Finding) string {
	if fd.Source != "" { // the format or source detect read it from (security-center, flag, gitleaks-json…)
		return fd.Source
	}
	if len(fd.Locations) == 0 {
		return detect.SourceOperator
	}
	return cmp.Or(fd.Locations[0].Format, fd.Locations[0].Source)
}

// prepare chooses the finding's playbook when the choice cannot depend on the owner, and builds
// the owner search (no call yet) with the strategies Strategies says.
func (b *Batch) prepare(ctx context.Context, it *Item) {
	if !b.choiceNeedsOwner() {
		if it.Err = b.choose(it, nil); it.Err != nil {
			return
		}
	}
	strategies := b.Strategies
	if len(strategies) == 0 { // the chosen playbook's, or the configuration's when chosen by owner
		strategies = b.Config.SearchOrder(it.Playbook, b.Playbook != nil)
	}
	if isSecretOnly(it.Finding) {
		it.secretMatch = allowsSecretMatch(strategies)
		return
	}
	it.loc, it.Err = b.Session.Locator(ctx, strategies, it.Finding.KeyID, it.Finding.Secret, b.Progress)
}

// choiceNeedsOwner reports whether the playbook can be chosen only once the owner is found
// (playbooks.Config.ChoosesByOwner; never with --playbook): prepare's order applies then.
func (b *Batch) choiceNeedsOwner() bool { return b.Playbook == nil && b.Config.ChoosesByOwner() }

// choose sets the finding's playbook and the reason: the forced one, else the configuration's
// rules (with the owner when known), else the default.
func (b *Batch) choose(it *Item, owner *ram.Owner) error {
	switch {
	case b.Playbook != nil: // completed as the rules' choice is: the configured sinks, channels, locate order
		it.Playbook, it.PlaybookReason = b.Config.Completed(b.Playbook), "chosen with --playbook"
		return nil
	case b.Config == nil:
		name, reason, ok := playbooks.BuiltinRule(playbooks.PlaybookInput{KeyID: it.Finding.KeyID.String(), Source: source(it.Finding)})
		if !ok {
			name, reason = playbooks.DefaultPlaybook, "no configuration: the default playbook"
		}
		pb, err := playbooks.Builtin(name)
		it.Playbook, it.PlaybookReason = pb, reason
		return err
	}
	in := playbooks.PlaybookInput{KeyID: it.Finding.KeyID.String(), Source: source(it.Finding), Evidence: string(evidenceOf(it.Finding))}
	if owner != nil {
		in.AccountID, in.UserName = owner.Account.ID, owner.UserName
		for _, a := range b.Session.Entered() {
			if a.Account.ID == owner.Account.ID {
				in.AccountName = a.Account.Name
			}
		}
	}
	pb, reason, err := b.Config.Select(in)
	if err != nil {
		return &InvalidError{Err: fmt.Errorf("choose a playbook for %s: %w", in.KeyID, err)}
	}
	it.Playbook, it.PlaybookReason = pb, reason
	return nil
}

// locate runs the finding's owner search, once.
func (b *Batch) locate(ctx context.Context, it *Item) {
	if o, known := b.Owners[it.Finding.KeyID]; known && it.Err == nil {
		it.owner = o
		b.prefetch(ctx, it)
		return
	}
	if it.Err == nil && isSecretOnly(it.Finding) {
		b.matchSecret(ctx, it)
		return
	}
	if it.Err == nil && it.Finding.KeyID.Rotatable() && !b.untrusted(it.Finding) {
		if it.owner, it.locErr = it.loc.Locate(ctx, it.Finding.KeyID); it.locErr == nil {
			b.prefetch(ctx, it)
		}
	}
}

// ownerAccount is the account of the owner found, or "" (not searched, not found, no search).
func (it *Item) ownerAccount() string {
	if it.Err != nil || it.loc == nil || it.locErr != nil {
		return ""
	}
	return it.owner.Account.ID
}

// planAccount is the account of a planned item's owner, or "".
func (it *Item) planAccount() string {
	if it.Err != nil || it.Plan.Owner == nil {
		return ""
	}
	return it.Plan.Owner.Account.ID
}

// plan inspects one finding (its owner search already ran) and plans its rotation.
func (b *Batch) plan(ctx context.Context, it *Item) {
	if it.Err != nil {
		return
	}
	if it.Playbook == nil {
		var owner *ram.Owner
		if it.locErr == nil && it.Finding.KeyID.Rotatable() {
			owner = &it.owner
		}
		if it.Err = b.choose(it, owner); it.Err != nil {
			return
		}
	}
	if isSecretOnly(it.Finding) {
		it.Plan = secretOnlyPlan(it.Finding, it.Playbook, it.match, it.locErr)
		return
	}
	fd, pb, d := it.Finding, it.Playbook, it.deps
	if b.onStep != nil {
		d.OnStep = b.onStep(fd.KeyID)
	}
	if st, ok := pb.Step(playbooks.StepAssess); ok {
		d.AssessWindow = st.Options.AssessWindow
	}
	d.Hunt = huntOptions(pb, b.OwnUserAgent)
	d.Alerts = b.Alerts[fd.KeyID]
	d.trail = it.trail
	f := fd
	if b.untrusted(f) {
		// an id alone from an untrusted source: planned without a call (evidence.go)
		it.Plan, it.deps = NewPlan(f, Snapshot{}, b.settings(pb, nil)), d
		return
	}
	snap := InspectLocated(ctx, f, it.owner, it.locErr, d)
	if snap.StateErr != nil { // the key's journal is unsafe or unreadable: bad input (exit 2)
		it.Err = &InvalidError{Err: snap.StateErr}
		return
	}
	sinks, err := b.sinksFor(ctx, pb, snap)
	if err != nil {
		it.Err = err
		return
	}
	d.Sinks = sinks
	s := b.settings(pb, sinks)
	d.AssessWindow = s.AssessWindow
	s.CloseCalls = closeCalls(d.Alerts)
	if err := s.Validate(); err != nil {
		it.Err = &InvalidError{Err: fmt.Errorf("playbook %s: %w", pb.Name, err)}
		return
	}
	it.Plan = NewPlan(f, snap, s)
	if d.Notifiers, err = b.chans.named(b.Config.Channels(pb, it.Plan.Decision == DecisionRefuseCanary)); err != nil {
		it.Err = err
		return
	}
	it.deps = d
	it.Plan.SecretMatch = it.match
	if (it.Plan.Decision == DecisionRotate || it.Plan.Decision == DecisionPurge) && it.Plan.hasStep(playbooks.StepCreate) && len(sinks) == 0 {
		it.Err = invalidf("key %s: the %s playbook creates a replacement but no sink is configured to receive it; add a sink to the configuration (README \"Sinks\"), pass --reveal on a terminal, or use --playbook contain-only", fd.KeyID, pb.Name)
	}
}

// assessRegions are the ActionTrail regions the assessment asks: the Deps', else the
// configuration's assess.regions (playbooks.Config.AssessRegions).
func (b *Batch) assessRegions() []string { return b.Config.AssessRegions(b.Deps.AssessRegions) }

// settings maps a playbook (and the configuration) onto the engine's settings.
func (b *Batch) settings(pb *playbooks.Playbook, sinks []sink.Sink) Settings {
	s := Settings{Playbook: pb.Name, OnStoreFailure: pb.OnStoreFailure, Sinks: DescribeSinks(sinks), OwnUserAgent: b.OwnUserAgent,
		AssessRegions: b.assessRegions()}
	for _, st := range pb.Steps {
		s.Steps = append(s.Steps, st.ID)
		switch st.ID {
		case playbooks.StepVerify:
			s.VerifyTimeout, s.VerifyInterval, s.CheckLeakedSecret = st.Options.VerifyTimeout, st.Options.VerifyInterval, st.Options.CheckLeakedSecret
		case playbooks.StepAssess:
			s.AssessWindow = st.Options.AssessWindow
		case playbooks.StepHunt:
			s.Incident.HuntDepth, s.Incident.KnownIPs = st.Options.HuntDepth, st.Options.KnownIPs
		case playbooks.StepContain:
			s.Incident.ContainMethod, s.Incident.AllowIPs = st.Options.ContainMethod, st.Options.AllowIPs
		case playbooks.StepDelete:
			s.KMSWait = st.Options.KMSWait
		}
	}
	if id, err := accesskey.ParseID(b.Session.Caller().AccessKeyID); err == nil {
		s.Self = id
	}
	s.Trusts, s.Canaries = b.Config.Trusts, b.Config.CanaryIDs()
	return s
}
