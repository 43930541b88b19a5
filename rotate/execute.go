package rotate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/respond-dev/respond/detect"
	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/rotate/assess"
	"github.com/respond-dev/respond/rotate/journal"
	"github.com/respond-dev/respond/rotate/notify"
	"github.com/respond-dev/respond/rotate/sink"
)

// ResultSchema names the JSON schema of a Result (see README.md).
const ResultSchema = "respond.result/v1"

// Locator finds the owner of a key (ram.Locator).
type Locator interface {
	Locate(ctx context.Context, id accesskey.ID) (ram.Owner, error)
}

// Cloud is every call the engine makes in the owner's account (*ram.Client implements it). The
// engine never asks for more, and never asserts past it.
type Cloud interface {
	ListAccessKeys(ctx context.Context, userName string) ([]ram.AccessKey, error)
	// CreateAccessKey creates a key against before, the user's keys as the engine just listed
	// them (see ram.Client.CreateAccessKey).
	CreateAccessKey(ctx context.Context, userName string, before []ram.AccessKey) (ram.NewAccessKey, error)
	DeleteAccessKey(ctx context.Context, userName string, id accesskey.ID) error
	GetAccessKeyLastUsed(ctx context.Context, userName string, id accesskey.ID) (time.Time, error)
	assess.EventLister // ActionTrail LookupEvents
}

// Accounts gives the calls of one account (the owner's).
type Accounts interface {
	API(ctx context.Context, accountID string) (Cloud, error)
}

// Verifier checks whether a pair authenticates (STS GetCallerIdentity signed with it). It returns
// an error wrapping ram.ErrInvalidCredentials when the cloud rejects the pair.
type Verifier interface {
	Authenticates(ctx context.Context, id accesskey.ID, secret accesskey.Secret) (ram.Identity, error)
}

// Clock tells the time.
type Clock interface{ Now() time.Time }

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

// Deps are what Inspect and Execute act through.
type Deps struct {
	Locator   Locator
	Accounts  Accounts
	Verifier  Verifier
	Sinks     []sink.Sink
	Notifiers []notify.Notifier
	// StateDir holds the journals and locks (required for Execute; see journal.DefaultDir).
	StateDir string
	// Audit is the audit log (optional).
	Audit *journal.Audit
	// Caller is who respond is signed in as (GetCallerIdentity), for the audit log.
	Caller ram.Identity
	Clock  Clock
	// Sleep waits d or until ctx is done (default: a timer).
	Sleep func(ctx context.Context, d time.Duration) error
	// LockWait is how long to wait for another run on the same key; 0 fails at once with an
	// error matching ErrInProgress.
	LockWait time.Duration
	// CleanupTimeout bounds the cleanup after a cancellation (store or delete the replacement in
	// flight), on a context detached from the cancelled one. Default 15 s.
	CleanupTimeout time.Duration
	// ResumeCommand is the command printed to resume, with %s for the key id.
	// Default "respond --key-id %s".
	ResumeCommand string
	// OnStep, when set, is called after each step (progress output).
	OnStep func(StepResult)
	// AssessWindow is the ActionTrail window Inspect reads: set it to Settings.AssessWindow (0
	// means playbooks.DefaultAssessWindow). When it is shorter than the plan's window, the plan warns and
	// Execute's assess step reads the whole window again.
	AssessWindow time.Duration
	// NoEvents turns off the ActionTrail read in Inspect (the assess step of Execute still reads).
	NoEvents bool
	// Redactor is the run's redactor (one per run, shared by every key of the run and by the
	// CLI's outputs): Execute teaches it the leaked secret and each new secret as soon as it
	// exists, and passes every text it writes through it. nil means a redactor of this Execute's
	// own.
	Redactor *accesskey.Redactor
	// LateCreateWindow is how long after a CreateAccessKey whose answer never came (a read
	// timeout, a dropped connection, an interruption) respond keeps watching for the key the
	// cloud may still create: verify waits for it (within its own timeout) and deletes it; once
	// the window has passed with no such key, the create is taken as not carried out. 0 means
	// DefaultLateCreateWindow.
	LateCreateWindow time.Duration
}

// DefaultLateCreateWindow is the default Deps.LateCreateWindow: as long again as ram's default
// read timeout (a server still working on a call 10 s after its client gave up on it is not
// plausible), and shorter than the default verify timeout, so that a run that lost a create
// settles it in its own verify step.
const DefaultLateCreateWindow = 10 * time.Second

// CreateDateSkew is the clock skew allowed when the cloud's CreateDate of a key is compared with
// the journal's (local) time of a create: a key created more than this before the rotation's
// first create is never taken for respond's own.
const CreateDateSkew = 2 * time.Minute

func (d Deps) lateWindow() time.Duration {
	if d.LateCreateWindow <= 0 {
		return DefaultLateCreateWindow
	}
	return d.LateCreateWindow
}

func (d Deps) now() time.Time {
	if d.Clock == nil {
		return time.Now()
	}
	return d.Clock.Now()
}

func (d Deps) sleep(ctx context.Context, dur time.Duration) error {
	if d.Sleep != nil {
		return d.Sleep(ctx, dur)
	}
	t := time.NewTimer(dur)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// StepResult is one step's outcome.
type StepResult struct {
	Step       playbooks.StepID `json:"step"`
	Outcome    journal.Outcome  `json:"outcome"` // done | skipped | failed
	Detail     string           `json:"detail,omitempty"`
	RequestID  string           `json:"request_id,omitempty"` // the main call's request id
	RequestIDs []string         `json:"request_ids,omitempty"`
	Started    time.Time        `json:"started"`
	Duration   time.Duration    `json:"duration_ns"`
}

// Result is the outcome of one rotation. Its JSON form is respond.result/v1 (README.md).
type Result struct {
	Schema    string          `json:"schema"`
	RunID     string          `json:"run_id,omitempty"`
	KeyID     accesskey.ID    `json:"key_id"`
	Decision  Decision        `json:"decision"`
	Outcome   journal.Outcome `json:"outcome"`
	AccountID string          `json:"account_id,omitempty"`
	UserName  string          `json:"user_name,omitempty"`
	NewKeyID  string          `json:"new_key_id,omitempty"`
	Receipts  []sink.Receipt  `json:"receipts,omitempty"`
	Steps     []StepResult    `json:"steps"`
	// Error is Err as text.
	Error        string   `json:"error,omitempty"`
	LeftForHuman []string `json:"left_for_human,omitempty"`
	// Assessment is what the key did (see Plan.Assessment); nil when it could not be read.
	Assessment *assess.Assessment `json:"assessment,omitempty"`
	// Warnings are problems that did not change the outcome: the assessment could not be read,
	// a notification failed.
	Warnings []string `json:"warnings,omitempty"`
	Err      error    `json:"-"`
}

// Inspect gathers the Snapshot Plan needs: the owner (by the Locator, or from the journal of an
// earlier run when the key is already gone), the owner's keys, the key's last use, the key's
// ActionTrail events over Deps.AssessWindow (every page; a failure is kept in AssessErr, never
// fatal), and the journal's state. It only reads.
func Inspect(ctx context.Context, f detect.Finding, d Deps) Snapshot {
	var snap Snapshot
	if st, ok, err := readState(d.StateDir, f.KeyID); err == nil && ok {
		snap.Resume = &st
	}
	if !f.KeyID.Rotatable() {
		return snap
	}
	owner, err := d.Locator.Locate(ctx, f.KeyID)
	if err != nil {
		snap.LocateErr = fmt.Errorf("locate owner of %s: %w", f.KeyID, err)
		if snap.Resume == nil || snap.Resume.UserName == "" || !errors.Is(err, ram.ErrOwnerNotFound) {
			return snap
		}
		// The key is gone from every user; the journal knows whose it was.
		owner = ram.Owner{KeyID: f.KeyID, Account: ram.Account{ID: snap.Resume.AccountID},
			UserName: snap.Resume.UserName, Strategy: "journal"}
	} else {
		snap.Found = true
	}
	snap.Owner = owner
	if owner.Root {
		// the root key cannot be rotated, but what it did still matters to whoever deletes it
		if api, err := d.Accounts.API(ctx, owner.Account.ID); err == nil {
			inspectEvents(ctx, &snap, api, f.KeyID, d)
		}
		return snap
	}
	api, err := d.Accounts.API(ctx, owner.Account.ID)
	if err != nil {
		snap.LocateErr = fmt.Errorf("open account %s: %w", owner.Account.ID, err)
		snap.Found = false
		return snap
	}
	// The locator's list was taken moments ago, and nothing changed the keys since.
	keys := owner.Keys
	if !snap.Found || keys == nil {
		if keys, err = api.ListAccessKeys(ctx, owner.UserName); err != nil {
			snap.LocateErr = fmt.Errorf("list access keys of %s: %w", owner.UserName, err)
			return snap
		}
	}
	snap.Keys = keys
	if !slices.ContainsFunc(keys, func(k ram.AccessKey) bool { return k.ID == f.KeyID }) {
		snap.AlreadyGone = true
		snap.Found = false
		return snap
	}
	snap.LocateErr = nil
	snap.Found = true
	if t, err := api.GetAccessKeyLastUsed(ctx, owner.UserName, f.KeyID); err == nil {
		snap.LastUsed = t
	} else {
		snap.LastUsedErr = fmt.Errorf("get last use of %s: %w", f.KeyID, err)
	}
	inspectEvents(ctx, &snap, api, f.KeyID, d)
	return snap
}

// inspectEvents reads the key's ActionTrail events into snap.
func inspectEvents(ctx context.Context, snap *Snapshot, api assess.EventLister, id accesskey.ID, d Deps) {
	if d.NoEvents {
		return
	}
	q, err := assess.Query(ram.EventQuery{AccessKeyID: id}, d.AssessWindow, d.now())
	if err != nil {
		snap.AssessErr = err
		return
	}
	evs, err := assess.Collect(ctx, api, q)
	if err != nil {
		snap.AssessErr = err
		return
	}
	snap.Events, snap.EventQuery = evs, q
}

func readState(dir string, id accesskey.ID) (journal.State, bool, error) {
	if dir == "" || id.IsZero() {
		return journal.State{}, false, nil
	}
	ls, err := journal.List(dir)
	if err != nil {
		return journal.State{}, false, err
	}
	for _, s := range ls {
		if s.KeyID == id.String() {
			return s, true, nil
		}
	}
	return journal.State{}, false, nil
}

// Execute carries out a plan. Every outcome is in the Result; Result.Err is a *RefusedError, a
// *PartialError, an error matching ram.ErrOwnerNotFound or ErrInProgress, or another failure.
func Execute(ctx context.Context, p Plan, d Deps) Result {
	res := Result{Schema: ResultSchema, KeyID: p.KeyID, Decision: p.Decision}
	if p.Owner != nil {
		res.AccountID, res.UserName = p.Owner.Account.ID, p.Owner.UserName
	}
	res.LeftForHuman = p.LeftForHuman
	res.Assessment = p.Assessment
	res.Warnings = append([]string(nil), p.Warnings...)
	red := d.Redactor
	if red == nil {
		red = accesskey.NewRedactor()
	}
	red.Add(p.secret)
	switch p.Decision {
	case DecisionRotate:
		x := &run{p: p, d: d, res: &res, red: red}
		x.rotate(ctx)
	case DecisionAlreadyRemediated:
		res.Outcome = journal.OutcomeAlreadyRemediated
	case DecisionOwnerNotFound:
		res.Outcome = journal.OutcomeNotFound
		res.Err = fmt.Errorf("locate owner of %s: %w", p.KeyID, ram.ErrOwnerNotFound)
	case DecisionRefuseCanary:
		res.Outcome = journal.OutcomeRefused
		res.Err = &RefusedError{KeyID: p.KeyID, Decision: p.Decision, Reason: p.Reason}
		x := &run{p: p, d: d, res: &res, red: red, assessment: p.Assessment}
		x.notify(ctx, journal.OutcomeCanary, "canary key "+p.KeyID.String()+" was exposed: it is never rotated; treat its use as an intrusion signal")
	default:
		res.Outcome = journal.OutcomeRefused
		res.Err = &RefusedError{KeyID: p.KeyID, Decision: p.Decision, Reason: p.Reason}
	}
	if res.Err != nil {
		res.Err = redactErr(red, res.Err)
		res.Error = res.Err.Error()
	}
	return res
}

// run is one Execute of a rotate plan.
type run struct {
	p     Plan
	d     Deps
	res   *Result
	j     *journal.Journal
	api   Cloud
	runID string
	user  string
	acct  string

	keys []ram.AccessKey // the user's keys as last seen
	// keysFresh: keys is the cloud's list, taken under the lock, with only this run's own
	// completed changes applied since (no failed or ambiguous call in between).
	keysFresh     bool
	st            journal.State     // the journal at start
	newKey        *ram.NewAccessKey // created by this run (secret held in memory only)
	replacement   string            // id of the replacement stored in every sink
	storeFailed   bool
	leakedDeleted bool
	stopped       playbooks.StepID // the step that ended the run early
	stopErr       error
	interrupted   bool
	assessment    *assess.Assessment
	// red knows the leaked secret and, once created, the new one: record, report and audit pass
	// every text through it, as a last net behind the Secret type.
	red *accesskey.Redactor
}

func (x *run) resume() string {
	c := x.d.ResumeCommand
	if c == "" {
		c = "respond --key-id %s"
	}
	return fmt.Sprintf(c, x.p.KeyID)
}

func (x *run) sinkNames() []string {
	var out []string
	for _, s := range x.d.Sinks {
		out = append(out, s.Name())
	}
	return out
}

func (x *run) rotate(ctx context.Context) {
	x.user, x.acct = x.p.Owner.UserName, x.p.Owner.Account.ID
	now := x.d.now()
	x.runID = fmt.Sprintf("%s-%d", now.UTC().Format("20060102T150405.000000000Z"), os.Getpid())
	x.res.RunID = x.runID
	if x.d.StateDir == "" {
		x.fail(playbooks.StepLocate, errors.New("no state directory: the journal is required to rotate"))
		return
	}
	lctx, cancel := context.WithTimeout(ctx, x.d.LockWait)
	lock, err := journal.Lock(lctx, x.d.StateDir, x.p.KeyID)
	cancel()
	if err != nil {
		x.res.Outcome = journal.OutcomeInProgress
		x.res.Err = errors.Join(ErrInProgress, err)
		return
	}
	defer lock.Unlock()
	j, err := journal.Open(x.d.StateDir, x.p.KeyID)
	if err != nil {
		x.fail(playbooks.StepLocate, err)
		return
	}
	defer j.Close()
	x.j = j
	if x.st, err = j.State(); err != nil {
		x.fail(playbooks.StepLocate, err)
		return
	}
	if err := x.record(journal.Record{Kind: journal.KindBegin, Detail: "playbook " + x.p.Playbook + ", decision " + string(x.p.Decision)}); err != nil {
		x.fail(playbooks.StepLocate, err)
		return
	}
	x.audit(journal.AuditEntry{Event: "start", Playbook: x.p.Playbook, Decision: string(x.p.Decision)})
	if err := x.checkSinks(); err != nil {
		x.fail(playbooks.StepStore, err)
		x.end()
		return
	}
	if x.api, err = x.d.Accounts.API(ctx, x.acct); err != nil {
		x.fail(playbooks.StepLocate, fmt.Errorf("open account %s: %w", x.acct, err))
		x.end()
		return
	}
	if done := x.reconcile(ctx); done {
		x.end()
		return
	}
	for _, ps := range x.p.Steps {
		if x.stopped != "" {
			break
		}
		if ctx.Err() != nil && ps.Step != playbooks.StepNotify {
			x.interrupt(ps.Step, ctx.Err())
			break
		}
		x.step(ctx, ps.Step)
	}
	x.end()
}

func (x *run) checkSinks() error {
	if !x.p.hasStep(playbooks.StepStore) {
		return nil // contain-only: no replacement, nothing to store
	}
	for _, ps := range x.p.Sinks {
		if !slices.Contains(x.sinkNames(), ps.Name) {
			return fmt.Errorf("sink %q of the plan is not configured", ps.Name)
		}
	}
	if len(x.d.Sinks) == 0 {
		return errors.New("no sink configured: the new secret would be lost")
	}
	return nil
}

// reconcile lists the user's keys and squares them with the journal: a replacement created by an
// earlier run and stored in every sink is kept; one created but not stored everywhere (its secret
// is lost with the run that created it) is deleted; a key that appeared after an interrupted
// create is deleted. The user's other keys are never touched. It reports true when there is
// nothing left to do.
func (x *run) reconcile(ctx context.Context) bool {
	started := x.d.now()
	keys, err := x.api.ListAccessKeys(ctx, x.user)
	if err != nil {
		x.fail(playbooks.StepAssess, fmt.Errorf("list access keys of %s: %w", x.user, err))
		return true
	}
	x.keys, x.keysFresh = keys, true
	leakedPresent := x.has(x.p.KeyID.String())
	if x.st.Runs == 0 {
		return false
	}
	if !leakedPresent && x.st.Done {
		x.res.Outcome = journal.OutcomeAlreadyRemediated
		if k := x.lastStored(); k != "" {
			x.res.NewKeyID = k
		}
		// a create whose answer was lost may have landed after that run ended
		_, late, err := x.sweepLate(ctx, playbooks.StepAssess, x.st)
		if err != nil {
			x.res.Outcome = ""
			x.fail(playbooks.StepAssess, err)
			return true
		}
		d := "an earlier run finished this rotation"
		if len(late) > 0 {
			d += "; " + strings.Join(late, "; ")
		}
		x.report(StepResult{Step: playbooks.StepAssess, Outcome: journal.OutcomeSkipped, Detail: d, Started: started})
		return true
	}
	sinks := x.sinkNames()
	var notes []string
	var keep string
	// the newest stored replacement that still exists is the one to keep
	for i := len(x.st.NewKeys) - 1; i >= 0; i-- {
		k := x.st.NewKeys[i]
		if !k.Deleted && !k.StoreFailed && k.StoredIn(sinks) && x.has(k.ID) {
			keep = k.ID
			break
		}
	}
	for _, k := range keys {
		id := k.ID.String()
		if id == x.p.KeyID.String() || id == keep {
			continue
		}
		nk, ours := x.st.Key(id)
		if !ours || nk.Deleted {
			continue // a key respond never got the secret of: sweepLate judges it below
		}
		if err := x.deleteNewKey(ctx, playbooks.StepCreate, k.ID, "orphan replacement (secret never stored): deleted, a new one will be created"); err != nil {
			x.fail(playbooks.StepCreate, err)
			return true
		}
		notes = append(notes, "deleted orphan "+id)
	}
	x.replacement = keep
	// keys that appeared after a create whose answer was lost (a timeout, a crash)
	_, late, err := x.sweepLate(ctx, playbooks.StepCreate, x.st)
	if err != nil {
		x.fail(playbooks.StepCreate, err)
		return true
	}
	notes = append(notes, late...)
	if keep != "" {
		notes = append(notes, "replacement "+keep+" was created and stored by an earlier run")
	}
	if !leakedPresent {
		x.leakedDeleted = true
		notes = append(notes, "leaked key already deleted")
	}
	if len(notes) > 0 {
		x.report(StepResult{Step: playbooks.StepAssess, Outcome: journal.OutcomeDone, Detail: "resumed: " + strings.Join(notes, "; "), Started: started, Duration: x.d.now().Sub(started)})
	}
	return false
}

func (x *run) lastStored() string {
	for i := len(x.st.NewKeys) - 1; i >= 0; i-- {
		if k := x.st.NewKeys[i]; !k.Deleted && !k.StoreFailed {
			return k.ID
		}
	}
	return ""
}

func (x *run) has(id string) bool {
	return slices.ContainsFunc(x.keys, func(k ram.AccessKey) bool { return k.ID.String() == id })
}

func (x *run) drop(id string) {
	x.keys = slices.DeleteFunc(x.keys, func(k ram.AccessKey) bool { return k.ID.String() == id })
}

func (x *run) step(ctx context.Context, s playbooks.StepID) {
	switch s {
	case playbooks.StepLocate:
		x.report(StepResult{Step: s, Outcome: journal.OutcomeDone, Started: x.d.now(),
			Detail: fmt.Sprintf("RAM user %s in account %s (found by %s)", x.user, x.acct, x.p.Owner.Strategy)})
	case playbooks.StepAssess:
		x.assess(ctx)
	case playbooks.StepCreate:
		x.create(ctx)
	case playbooks.StepStore:
		x.store(ctx)
	case playbooks.StepDelete:
		x.deleteLeaked(ctx, playbooks.StepDelete)
	case playbooks.StepVerify:
		x.verify(ctx)
	case playbooks.StepNotify:
		x.notify(ctx, "", "")
	}
}

// assess reports the key's status, last use and other keys, and what the key did: the plan's
// assessment, or a fresh read of the whole window when the plan has none or read less. A failed
// read is a warning, never fatal.
func (x *run) assess(ctx context.Context) {
	started := x.d.now()
	d := fmt.Sprintf("key %s", orUnknown(x.p.KeyStatus))
	if !x.p.KeyCreated.IsZero() {
		d += ", created " + x.p.KeyCreated.UTC().Format(time.RFC3339)
	}
	if !x.p.LastUsed.IsZero() {
		d += ", last used " + x.p.LastUsed.UTC().Format(time.RFC3339)
	} else {
		d += ", last use unknown"
	}
	switch n := len(x.p.OtherKeys); n {
	case 0:
		d += ", no other key"
	case 1:
		d += ", 1 other key (not touched)"
	default:
		d += fmt.Sprintf(", %d other keys (not touched)", n)
	}
	a := x.p.Assessment
	window := x.p.AssessWindow
	if window == 0 {
		window = playbooks.DefaultAssessWindow
	}
	if a == nil || time.Duration(a.Window) < window || x.planReadShort() {
		q, err := assess.Query(ram.EventQuery{AccessKeyID: x.p.KeyID}, window, started)
		var evs []ram.Event
		if err == nil {
			evs, err = assess.Collect(ctx, x.api, q)
		}
		if err != nil {
			x.warnAssess(AssessWarningPrefix + "unavailable (" + err.Error() + "); the rotation goes on without it")
		} else {
			na := assess.Summarize(evs, assess.Options{Window: window, Now: q.End, OwnUserAgent: x.p.OwnUserAgent})
			a = &na
			x.warnAssess("")
		}
	}
	x.assessment = a
	x.res.Assessment = a
	if a != nil {
		d += fmt.Sprintf("; impact: %d event(s) in the last %s (%d excluded: respond's own or outside the window), %d flagged",
			a.Total, humanWindow(time.Duration(a.Window)), a.Excluded, len(a.Flagged))
	} else {
		d += "; impact unknown (warning: ActionTrail could not be read)"
	}
	x.report(StepResult{Step: playbooks.StepAssess, Outcome: journal.OutcomeDone, Started: started, Duration: x.d.now().Sub(started), Detail: d})
}

// planReadShort reports whether the plan warned that it read less than the window.
func (x *run) planReadShort() bool {
	return slices.ContainsFunc(x.p.Warnings, func(w string) bool {
		return strings.HasPrefix(w, AssessWarningPrefix) && strings.Contains(w, "read over")
	})
}

// warnAssess replaces the result's assessment warnings with w ("" drops them).
func (x *run) warnAssess(w string) {
	x.res.Warnings = slices.DeleteFunc(x.res.Warnings, func(s string) bool { return strings.HasPrefix(s, AssessWarningPrefix) })
	if w != "" {
		x.res.Warnings = append(x.res.Warnings, w)
	}
}

func orUnknown(s string) string {
	if s == "" {
		return "status unknown"
	}
	return s
}

func (x *run) create(ctx context.Context) {
	started := x.d.now()
	if x.replacement != "" {
		x.report(StepResult{Step: playbooks.StepCreate, Outcome: journal.OutcomeSkipped, Started: started,
			Detail: "replacement " + x.replacement + " already created and stored by an earlier run"})
		return
	}
	if x.storeFailed {
		x.report(StepResult{Step: playbooks.StepCreate, Outcome: journal.OutcomeSkipped, Started: started, Detail: "a sink failed earlier in this run"})
		return
	}
	var reqs []string
	const attempts = 3
	for n := 1; ; n++ {
		if err := ctx.Err(); err != nil {
			x.interrupt(playbooks.StepCreate, err)
			return
		}
		if !x.keysFresh {
			// a failed or ambiguous call since the last list: the create is judged against a
			// list taken now
			keys, err := x.api.ListAccessKeys(ctx, x.user)
			if err != nil {
				if ctx.Err() != nil {
					x.interrupt(playbooks.StepCreate, err)
				} else {
					x.fail(playbooks.StepCreate, fmt.Errorf("list access keys of %s: %w", x.user, err))
				}
				return
			}
			x.keys, x.keysFresh = keys, true
		}
		before := make([]string, 0, len(x.keys))
		for _, k := range x.keys {
			before = append(before, k.ID.String())
		}
		if err := x.record(journal.Record{Kind: journal.KindIntent, Step: string(playbooks.StepCreate), Action: "ram:CreateAccessKey", Before: before}); err != nil {
			x.fail(playbooks.StepCreate, err)
			return
		}
		nk, err := x.createAccessKey(ctx)
		if err == nil {
			reqs = append(reqs, nk.RequestID)
			_ = x.record(journal.Record{Kind: journal.KindResult, Step: string(playbooks.StepCreate), Action: "ram:CreateAccessKey",
				NewKeyID: nk.ID.String(), Outcome: journal.OutcomeDone, RequestID: nk.RequestID, Lost: nk.LostAttempts})
			x.newKey = &nk
			x.red.Add(nk.Secret)
			x.keys = append(x.keys, ram.AccessKey{ID: nk.ID, Status: nk.Status, CreateDate: nk.CreateDate})
			detail := "created " + nk.ID.String() + " for " + x.user
			if nk.LostAttempts > 0 {
				detail += fmt.Sprintf("; %d earlier attempt(s) got no answer and may still be carried out by the cloud: verify watches for the key and deletes it", nk.LostAttempts)
			}
			x.report(StepResult{Step: playbooks.StepCreate, Outcome: journal.OutcomeDone, Started: started, Duration: x.d.now().Sub(started),
				Detail: detail, RequestID: nk.RequestID, RequestIDs: reqs})
			return
		}
		reqs = append(reqs, requestID(err))
		switch {
		case errors.Is(err, ram.ErrKeyLimit) && x.has(x.p.KeyID.String()):
			x.keysFresh = false // the cloud counts a key the list did not show
			_ = x.record(journal.Record{Kind: journal.KindResult, Step: string(playbooks.StepCreate), Action: "ram:CreateAccessKey",
				Outcome: journal.OutcomeFailed, Error: err.Error(), Detail: "at the key limit: deleting the leaked key first", RequestID: requestID(err)})
			if !x.deleteLeaked(ctx, playbooks.StepCreate) {
				return
			}
		case errors.Is(err, ram.ErrTransient) || ctx.Err() != nil:
			x.keysFresh = false
			found, cerr := x.cleanAmbiguous(ctx, before, err)
			_ = x.record(journal.Record{Kind: journal.KindResult, Step: string(playbooks.StepCreate), Action: "ram:CreateAccessKey",
				Outcome: journal.OutcomeUnknown, Error: err.Error(), RequestID: requestID(err), Lost: max(0, lostAttempts(ctx, err)-found)})
			if cerr != nil {
				x.fail(playbooks.StepCreate, errors.Join(err, cerr))
				return
			}
			if ctx.Err() != nil {
				x.interrupt(playbooks.StepCreate, ctx.Err())
				return
			}
			if n >= attempts {
				x.fail(playbooks.StepCreate, err)
				return
			}
		default:
			_ = x.record(journal.Record{Kind: journal.KindResult, Step: string(playbooks.StepCreate), Action: "ram:CreateAccessKey",
				Outcome: journal.OutcomeFailed, Error: err.Error(), RequestID: requestID(err)})
			x.fail(playbooks.StepCreate, err)
			return
		}
	}
}

// createAccessKey creates the replacement against the run's list of the user's keys: the list
// an ambiguous create is judged against (ram compares the keys after it with this one), which the
// journal's intent record carries too.
func (x *run) createAccessKey(ctx context.Context) (ram.NewAccessKey, error) {
	return x.api.CreateAccessKey(ctx, x.user, slices.Clone(x.keys))
}

// lostAttempts is how many attempts of a failed create got no answer, so that the cloud may
// still carry them out later: what ram counted, or one for a transport failure or an
// interruption in flight.
func lostAttempts(ctx context.Context, err error) int {
	var amb *ram.AmbiguousCreateError
	if errors.As(err, &amb) && amb.LostAttempts > 0 {
		return amb.LostAttempts
	}
	var re *ram.Error
	if ctx.Err() != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		errors.As(err, &re) && re.Status == 0 && errors.Is(err, ram.ErrTransient) {
		return 1
	}
	return 0
}

// cleanAmbiguous deletes the keys an ambiguous CreateAccessKey left behind (their secret is lost),
// never a key that was there before, nor one the cloud dates from before the create (a human's,
// which a list can miss when it was taken earlier). It returns how many it deleted.
func (x *run) cleanAmbiguous(ctx context.Context, before []string, err error) (int, error) {
	cctx, cancel := x.cleanupCtx(ctx)
	defer cancel()
	var hint []accesskey.ID
	var amb *ram.AmbiguousCreateError
	if errors.As(err, &amb) && !amb.Unverified {
		hint = amb.NewKeyIDs
	}
	// list again even when ram named the new keys: their CreateDate tells ours from a human's
	keys, lerr := x.api.ListAccessKeys(cctx, x.user)
	if lerr != nil {
		return 0, fmt.Errorf("list access keys of %s after an ambiguous create: %w", x.user, lerr)
	}
	since := x.d.now().Add(-CreateDateSkew)
	if x.j != nil {
		if st, serr := x.j.State(); serr == nil && !st.FirstCreate.IsZero() {
			since = st.FirstCreate.Add(-CreateDateSkew)
		}
	}
	found := 0
	for _, k := range keys {
		id := k.ID.String()
		if slices.Contains(before, id) || k.ID == x.p.KeyID || (len(hint) > 0 && !slices.Contains(hint, k.ID)) {
			continue // never a key that existed before the create
		}
		if !k.CreateDate.IsZero() && k.CreateDate.Before(since) {
			x.warn(humanKeyWarning(k, x.user))
			continue
		}
		if derr := x.deleteKey(cctx, playbooks.StepCreate, k.ID, "orphan of an ambiguous create (secret lost): deleted", false); derr != nil {
			return found, derr
		}
		found++
	}
	return found, nil
}

func humanKeyWarning(k ram.AccessKey, user string) string {
	return "key " + k.ID.String() + " of " + user + " (created " + k.CreateDate.UTC().Format(time.RFC3339) +
		") is not one respond created: not touched; check who created it"
}

// warn adds w to the result's warnings once.
func (x *run) warn(w string) {
	if !slices.Contains(x.res.Warnings, w) {
		x.res.Warnings = append(x.res.Warnings, w)
	}
}

// sweepLate deletes the keys in x.keys that are the late result of a create whose answer never
// came (st.LostCreates): a key that is not the leaked key, not one the user held before any
// create (st.Before), not a key respond knows (this journal's replacements, another journal's)
// and that the cloud dates from the rotation's first create (less CreateDateSkew) to the end of
// the late-create window after the last lost create (plus CreateDateSkew). Any other unknown key
// is a human's: never touched, reported as a warning. It returns how many it deleted and one
// note per key for the step's detail.
func (x *run) sweepLate(ctx context.Context, s playbooks.StepID, st journal.State) (int, []string, error) {
	if st.FirstCreate.IsZero() {
		return 0, nil, nil // no create yet (contain-only, contain-first before its create): nothing of ours to find
	}
	var cands []ram.AccessKey
	for _, k := range x.keys {
		id := k.ID.String()
		if k.ID == x.p.KeyID || slices.Contains(st.Before, id) || id == x.replacement ||
			(x.newKey != nil && k.ID == x.newKey.ID) {
			continue
		}
		if _, ours := st.Key(id); ours {
			continue
		}
		cands = append(cands, k)
	}
	if len(cands) == 0 {
		return 0, nil, nil
	}
	others := x.othersNewKeys()
	from := st.FirstCreate.Add(-CreateDateSkew)
	to := st.LastLost.Add(x.d.lateWindow() + CreateDateSkew)
	found := 0
	var notes []string
	for _, k := range cands {
		id := k.ID.String()
		if others[id] {
			continue // the replacement of another leaked key of this user
		}
		if st.LostCreates == 0 || k.CreateDate.IsZero() ||
			k.CreateDate.Before(from) || k.CreateDate.After(to) {
			x.warn(humanKeyWarning(k, x.user))
			continue
		}
		why := "deleted orphan " + id + " (created " + k.CreateDate.UTC().Format(time.RFC3339) +
			"): the late result of a CreateAccessKey whose answer never came; its secret was never known"
		if err := x.deleteKey(ctx, s, k.ID, why, true); err != nil {
			return found, notes, err
		}
		found++
		notes = append(notes, why)
	}
	return found, notes, nil
}

// othersNewKeys are the replacements other journals in the state directory recorded (another
// leaked key of the same user may be rotated at the same time): never taken for orphans here.
func (x *run) othersNewKeys() map[string]bool {
	out := map[string]bool{}
	ls, _ := journal.List(x.d.StateDir)
	for _, st := range ls {
		if st.KeyID == x.p.KeyID.String() {
			continue
		}
		for _, k := range st.NewKeys {
			out[k.ID] = true
		}
	}
	return out
}

func (x *run) cleanupCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	t := x.d.CleanupTimeout
	if t <= 0 {
		t = 15 * time.Second
	}
	return context.WithTimeout(context.WithoutCancel(ctx), t)
}

// deleteNewKey deletes a replacement respond created (journaled with NewKeyID).
func (x *run) deleteNewKey(ctx context.Context, s playbooks.StepID, id accesskey.ID, why string) error {
	return x.deleteKey(ctx, s, id, why, false)
}

// deleteKey deletes a key respond created (journaled with NewKeyID); late marks the late result
// of a lost create (journal.Record.Late).
func (x *run) deleteKey(ctx context.Context, s playbooks.StepID, id accesskey.ID, why string, late bool) error {
	rec := journal.Record{Kind: journal.KindIntent, Step: string(s), Action: "ram:DeleteAccessKey", NewKeyID: id.String(), Detail: why, Late: late}
	if err := x.record(rec); err != nil {
		return err
	}
	err := x.api.DeleteAccessKey(ctx, x.user, id)
	if err != nil && !errors.Is(err, ram.ErrNotFound) {
		rec.Kind, rec.Outcome, rec.Error, rec.RequestID = journal.KindResult, journal.OutcomeFailed, err.Error(), requestID(err)
		_ = x.record(rec)
		return fmt.Errorf("delete replacement %s: %w", id, err)
	}
	rec.Kind, rec.Outcome = journal.KindResult, journal.OutcomeDone
	_ = x.record(rec)
	x.drop(id.String())
	x.audit(journal.AuditEntry{Event: "step", Step: string(s), Outcome: journal.OutcomeDone, Detail: why, NewKeyID: id.String(),
		RequestIDs: nonEmpty(requestID(err))})
	return nil
}

func (x *run) store(ctx context.Context) {
	started := x.d.now()
	if x.replacement != "" {
		x.report(StepResult{Step: playbooks.StepStore, Outcome: journal.OutcomeSkipped, Started: started,
			Detail: "replacement " + x.replacement + " already stored in every sink by an earlier run"})
		return
	}
	if x.newKey == nil {
		x.report(StepResult{Step: playbooks.StepStore, Outcome: journal.OutcomeSkipped, Started: started, Detail: "no replacement was created"})
		return
	}
	nk := *x.newKey
	cred := sink.Credential{KeyID: nk.ID, Secret: nk.Secret, UserName: x.user, AccountID: x.acct,
		AccountName: x.p.Owner.Account.Name, Created: nk.CreateDate}
	sctx := ctx
	var cancel context.CancelFunc = func() {}
	if ctx.Err() != nil {
		// interrupted between create and store: store it now if it is quick, else delete it
		sctx, cancel = x.cleanupCtx(ctx)
	}
	defer cancel()
	var wheres []string
	var failed error
	for _, s := range x.d.Sinks {
		rec := journal.Record{Kind: journal.KindIntent, Step: string(playbooks.StepStore), Action: "sink:Store", NewKeyID: nk.ID.String(), Sink: s.Name()}
		if err := x.record(rec); err != nil {
			failed = err
			break
		}
		rcpt, err := s.Store(sctx, cred)
		if err == nil && sctx.Err() != nil && ctx == sctx {
			err = sctx.Err()
		}
		if err != nil {
			if ctx.Err() != nil && sctx == ctx {
				// cancelled during the store: finish it on a detached context
				cctx, ccancel := x.cleanupCtx(ctx)
				rcpt, err = s.Store(cctx, cred)
				ccancel()
			}
		}
		if err != nil {
			rec.Kind, rec.Outcome, rec.Error = journal.KindResult, journal.OutcomeFailed, err.Error()
			_ = x.record(rec)
			failed = fmt.Errorf("store %s in sink %s: %w", nk.ID, s.Name(), err)
			break
		}
		rec.Kind, rec.Outcome, rec.Where = journal.KindResult, journal.OutcomeDone, rcpt.Where
		_ = x.record(rec)
		x.res.Receipts = append(x.res.Receipts, rcpt)
		wheres = append(wheres, s.Name()+": "+rcpt.Where)
	}
	if failed == nil {
		x.replacement = nk.ID.String()
		x.report(StepResult{Step: playbooks.StepStore, Outcome: journal.OutcomeDone, Started: started, Duration: x.d.now().Sub(started),
			Detail: "stored " + nk.ID.String() + " in " + strings.Join(wheres, "; ")})
		if ctx.Err() != nil {
			x.interrupt(playbooks.StepStore, ctx.Err())
		}
		return
	}
	// a replacement that cannot be stored is deleted again: no orphans
	x.storeFailed = true
	cctx, ccancel := x.cleanupCtx(ctx)
	derr := x.deleteNewKey(cctx, playbooks.StepStore, nk.ID, "replacement could not be stored: deleted again")
	ccancel()
	x.newKey = nil
	detail := failed.Error() + "; the replacement " + nk.ID.String() + " was deleted again"
	if derr != nil {
		detail += " (delete failed: " + derr.Error() + ")"
	}
	if x.p.OnStoreFailure == playbooks.OnStoreFailureHold {
		detail += "; the leaked key is kept (on-store-failure: hold)"
	} else {
		detail += "; the leaked key is still deleted (on-store-failure: contain)"
	}
	x.report(StepResult{Step: playbooks.StepStore, Outcome: journal.OutcomeFailed, Started: started, Duration: x.d.now().Sub(started), Detail: detail})
	err := errors.Join(failed, derr)
	if ctx.Err() != nil {
		x.interrupt(playbooks.StepStore, errors.Join(ctx.Err(), err))
		return
	}
	if x.p.OnStoreFailure == playbooks.OnStoreFailureHold {
		x.stop(playbooks.StepStore, err)
	} else if x.stopErr == nil {
		x.stopErr = &StepError{KeyID: x.p.KeyID, Step: playbooks.StepStore, Err: err}
	}
}

// deleteLeaked deletes the leaked key; a not-found counts as done. It reports whether the run
// may go on.
func (x *run) deleteLeaked(ctx context.Context, s playbooks.StepID) bool {
	started := x.d.now()
	if x.leakedDeleted || !x.has(x.p.KeyID.String()) {
		if s == playbooks.StepDelete {
			x.report(StepResult{Step: playbooks.StepDelete, Outcome: journal.OutcomeSkipped, Started: started, Detail: "the leaked key is already deleted"})
		}
		x.leakedDeleted = true
		return true
	}
	if err := ctx.Err(); err != nil {
		x.interrupt(playbooks.StepDelete, err)
		return false
	}
	rec := journal.Record{Kind: journal.KindIntent, Step: string(playbooks.StepDelete), Action: "ram:DeleteAccessKey", Detail: "delete the leaked key (never disable)"}
	if err := x.record(rec); err != nil {
		x.fail(playbooks.StepDelete, err)
		return false
	}
	err := x.api.DeleteAccessKey(ctx, x.user, x.p.KeyID)
	rec.Kind, rec.RequestID = journal.KindResult, requestID(err)
	detail := "deleted the leaked key " + x.p.KeyID.String() + " (deleted, not disabled)"
	switch {
	case err == nil:
		rec.Outcome = journal.OutcomeDone
	case errors.Is(err, ram.ErrNotFound):
		rec.Outcome, rec.Detail = journal.OutcomeDone, "already gone (not found counts as done)"
		detail = "the leaked key was already gone (not found counts as done)"
	default:
		rec.Outcome, rec.Error = journal.OutcomeFailed, err.Error()
		if ctx.Err() != nil || errors.Is(err, ram.ErrTransient) {
			rec.Outcome = journal.OutcomeUnknown
		}
		_ = x.record(rec)
		x.report(StepResult{Step: playbooks.StepDelete, Outcome: journal.OutcomeFailed, Started: started, Duration: x.d.now().Sub(started), Detail: err.Error(), RequestID: requestID(err)})
		if ctx.Err() != nil {
			x.interrupt(playbooks.StepDelete, err)
		} else {
			x.stop(playbooks.StepDelete, err)
		}
		return false
	}
	_ = x.record(rec)
	x.leakedDeleted = true
	x.drop(x.p.KeyID.String())
	note := ""
	if s == playbooks.StepCreate {
		note = " before creating the replacement: " + ReorderReason
	}
	x.report(StepResult{Step: playbooks.StepDelete, Outcome: journal.OutcomeDone, Started: started, Duration: x.d.now().Sub(started),
		Detail: detail + note, RequestID: rec.RequestID, RequestIDs: nonEmpty(rec.RequestID)})
	return true
}

func (x *run) verify(ctx context.Context) {
	started := x.d.now()
	if x.storeFailed && x.p.OnStoreFailure == playbooks.OnStoreFailureHold {
		return
	}
	var problems, checks []string
	keys, err := x.api.ListAccessKeys(ctx, x.user)
	listed := err == nil
	if err != nil {
		problems = append(problems, "list access keys: "+err.Error())
	} else {
		x.keys, x.keysFresh = keys, true
		if x.has(x.p.KeyID.String()) {
			problems = append(problems, "the leaked key is still listed")
		} else {
			checks = append(checks, "leaked key gone from ListAccessKeys")
		}
		if x.replacement != "" {
			if x.has(x.replacement) {
				checks = append(checks, "replacement "+x.replacement+" listed")
			} else {
				problems = append(problems, "replacement "+x.replacement+" is not listed")
			}
		}
	}
	deadline := started.Add(x.p.VerifyTimeout)
	if x.newKey != nil && x.replacement == x.newKey.ID.String() && x.d.Verifier != nil {
		if err := x.retry(ctx, deadline, func() error {
			_, err := x.d.Verifier.Authenticates(ctx, x.newKey.ID, x.newKey.Secret)
			return err
		}); err != nil {
			problems = append(problems, "the new key does not authenticate: "+err.Error())
		} else {
			checks = append(checks, "new key authenticates")
		}
	} else if x.replacement != "" {
		checks = append(checks, "authentication of replacement "+x.replacement+" NOT checked: its secret is no longer in memory "+
			"(an earlier run created and stored it) and respond never reads it back from the sinks; check that the application "+
			"reading "+strings.Join(x.sinkNames(), ", ")+" signs in with it")
	}
	if x.p.CheckLeakedSecret && !x.p.secret.IsZero() && x.d.Verifier != nil {
		if err := x.retry(ctx, deadline, func() error {
			_, err := x.d.Verifier.Authenticates(ctx, x.p.KeyID, x.p.secret)
			if errors.Is(err, ram.ErrInvalidCredentials) {
				return nil
			}
			if err == nil {
				return errors.New("the leaked pair still authenticates")
			}
			return err
		}); err != nil {
			problems = append(problems, "leaked secret not rejected: "+err.Error())
		} else {
			checks = append(checks, "leaked secret rejected")
		}
	}
	if listed {
		c, p := x.watchLate(ctx, deadline)
		checks, problems = append(checks, c...), append(problems, p...)
	}
	if len(problems) > 0 {
		err := errors.New(strings.Join(problems, "; "))
		x.report(StepResult{Step: playbooks.StepVerify, Outcome: journal.OutcomeFailed, Started: started, Duration: x.d.now().Sub(started), Detail: err.Error()})
		if ctx.Err() != nil {
			x.interrupt(playbooks.StepVerify, err)
		} else if x.stopErr == nil {
			x.stopErr = &StepError{KeyID: x.p.KeyID, Step: playbooks.StepVerify, Err: err}
		}
		return
	}
	x.report(StepResult{Step: playbooks.StepVerify, Outcome: journal.OutcomeDone, Started: started, Duration: x.d.now().Sub(started), Detail: strings.Join(checks, "; ")})
}

// watchLate deals with creates whose answer never came (journal.State.LostCreates): it deletes
// the keys that are their late result (sweepLate) in the list verify just took, and while some
// are still missing and the late-create window is open, lists the user's keys again every
// VerifyInterval until the verify deadline. A lost create that is still unaccounted for at the
// end is a problem (the run ends partial, and a re-run looks again); once the window has passed
// with no key, the create is taken as not carried out. A run with no lost create makes no call.
func (x *run) watchLate(ctx context.Context, deadline time.Time) (checks, problems []string) {
	if x.j == nil {
		return nil, nil
	}
	st, err := x.j.State()
	if err != nil {
		return nil, []string{err.Error()}
	}
	found, notes, err := x.sweepLate(ctx, playbooks.StepVerify, st)
	checks = append(checks, notes...)
	if err != nil {
		return checks, []string{err.Error()}
	}
	if st.LostCreates == 0 {
		return checks, nil
	}
	pending := st.LostPending() - found
	until := st.LastLost.Add(x.d.lateWindow())
	for pending > 0 && x.d.now().Before(until) {
		wait := x.p.VerifyInterval
		if !x.d.now().Add(wait).Before(deadline) || ctx.Err() != nil {
			break
		}
		if err := x.d.sleep(ctx, wait); err != nil {
			break
		}
		keys, err := x.api.ListAccessKeys(ctx, x.user)
		if err != nil {
			problems = append(problems, "list access keys (watching for the late result of a lost create): "+err.Error())
			return checks, problems
		}
		x.keys, x.keysFresh = keys, true
		n, notes, err := x.sweepLate(ctx, playbooks.StepVerify, st)
		checks = append(checks, notes...)
		if err != nil {
			return checks, append(problems, err.Error())
		}
		pending -= n
	}
	switch {
	case pending <= 0:
		if found > 0 || len(notes) > 0 || st.LateFound > 0 {
			checks = append(checks, "every CreateAccessKey that got no answer is accounted for")
		}
	case !x.d.now().Before(until):
		checks = append(checks, fmt.Sprintf("%d CreateAccessKey attempt(s) that got no answer left no key within %s: not carried out", pending, x.d.lateWindow()))
	default:
		problems = append(problems, fmt.Sprintf("%d CreateAccessKey attempt(s) got no answer and no key from them has appeared yet, "+
			"but the cloud may still carry them out (until about %s): run `%s` again to look again and delete such a key",
			pending, until.UTC().Format(time.RFC3339), x.resume()))
	}
	return checks, problems
}

// retry calls fn until it succeeds or the deadline passes, sleeping VerifyInterval in between.
func (x *run) retry(ctx context.Context, deadline time.Time, fn func() error) error {
	for {
		err := fn()
		if err == nil {
			return nil
		}
		if !x.d.now().Add(x.p.VerifyInterval).Before(deadline) || ctx.Err() != nil {
			return err
		}
		if serr := x.d.sleep(ctx, x.p.VerifyInterval); serr != nil {
			return errors.Join(err, serr)
		}
	}
}

// Message builds the notification of the run so far: the key, the owner, the outcome, the step
// lines, what is left for a human and the impact. outcome "" means a rotation (its outcome is
// worked out from the run); "canary" is an alert. Every text goes through a redactor that knows
// the run's secrets, as a last net behind the Secret type.
func (x *run) message(outcome journal.Outcome, summary string) notify.Message {
	m := notify.Message{KeyID: x.p.KeyID.String(), Outcome: outcome, Summary: summary, Time: x.d.now().UTC(), Canary: x.p.Canary}
	if x.p.Owner != nil {
		m.UserName, m.AccountID, m.AccountName = x.p.Owner.UserName, x.p.Owner.Account.ID, x.p.Owner.Account.Name
	}
	if outcome == "" {
		o := x.provisionalOutcome()
		m.Outcome, m.Summary = o, x.summary(o)
		m.LeftForHuman = notify.DefaultLeftForHuman()
		for _, s := range x.res.Steps {
			m.Steps = append(m.Steps, notify.StepLine{Step: string(s.Step), Outcome: s.Outcome, Detail: s.Detail})
		}
	} else {
		m.LeftForHuman = append([]string(nil), x.p.LeftForHuman...)
	}
	if x.assessment != nil {
		var b strings.Builder
		if err := assess.WriteText(&b, *x.assessment); err == nil {
			m.Impact = b.String()
		}
	} else if slices.ContainsFunc(x.res.Warnings, func(w string) bool { return strings.HasPrefix(w, AssessWarningPrefix) }) {
		m.Impact = "Unknown: ActionTrail could not be read (see the run's warnings)."
	}
	r := x.red
	m.Summary, m.Impact = r.Redact(m.Summary), r.Redact(m.Impact)
	for i := range m.Steps {
		m.Steps[i].Detail = r.Redact(m.Steps[i].Detail)
	}
	for i := range m.LeftForHuman {
		m.LeftForHuman[i] = r.Redact(m.LeftForHuman[i])
	}
	return m
}

// notify sends the message to every notifier. A failure is recorded (the step fails, naming the
// channel, in the result, the journal and the audit log) and never changes the rotation's
// outcome; each channel retries on its own.
func (x *run) notify(ctx context.Context, outcome journal.Outcome, summary string) {
	started := x.d.now()
	if len(x.d.Notifiers) == 0 {
		detail := "no notifier configured"
		if outcome == journal.OutcomeCanary {
			detail = "no notifier configured: the canary alert was not sent"
			x.res.Warnings = append(x.res.Warnings, detail)
		}
		x.report(StepResult{Step: playbooks.StepNotify, Outcome: journal.OutcomeSkipped, Started: started, Detail: detail})
		return
	}
	m := x.message(outcome, summary)
	nctx := ctx
	if ctx.Err() != nil {
		var cancel context.CancelFunc
		nctx, cancel = x.cleanupCtx(ctx)
		defer cancel()
	}
	var failed, sent []string
	for _, n := range x.d.Notifiers {
		err := n.Notify(nctx, m)
		rec := journal.Record{Kind: journal.KindResult, Step: string(playbooks.StepNotify), Action: "notify:" + n.Name(), Outcome: journal.OutcomeDone}
		if err != nil {
			msg := x.red.Redact("notification channel " + n.Name() + " failed: " + err.Error())
			failed = append(failed, msg)
			rec.Outcome, rec.Error = journal.OutcomeFailed, msg
		} else {
			sent = append(sent, n.Name())
		}
		_ = x.record(rec)
	}
	sr := StepResult{Step: playbooks.StepNotify, Outcome: journal.OutcomeDone, Started: started, Duration: x.d.now().Sub(started),
		Detail: "sent (" + string(m.Outcome) + ") to " + strings.Join(sent, ", ")}
	if len(failed) > 0 {
		sr.Outcome = journal.OutcomeFailed
		sr.Detail = strings.Join(failed, "; ") + " (not fatal: the rotation's outcome is unchanged)"
		if len(sent) > 0 {
			sr.Detail += "; sent to " + strings.Join(sent, ", ")
		}
		x.res.Warnings = append(x.res.Warnings, sr.Detail)
	}
	x.report(sr)
}

func (x *run) provisionalOutcome() journal.Outcome {
	switch {
	case x.stopErr != nil || x.interrupted:
		return journal.OutcomePartial
	case x.stopped != "":
		return journal.OutcomeFailed
	}
	return journal.OutcomeRemediated
}

func (x *run) summary(outcome journal.Outcome) string {
	switch outcome {
	case journal.OutcomeRemediated:
		s := "leaked key " + x.p.KeyID.String() + " of " + x.user + " deleted"
		if x.replacement != "" {
			s += "; replacement " + x.replacement + " stored"
		}
		return s
	case journal.OutcomePartial:
		return "rotation of " + x.p.KeyID.String() + " is partly done; run `" + x.resume() + "` to resume"
	}
	return "rotation of " + x.p.KeyID.String() + " failed"
}

// interrupt records that the run stopped because ctx ended (or mid-step).
func (x *run) interrupt(s playbooks.StepID, err error) {
	x.interrupted = true
	if x.stopped == "" {
		x.stopped = s
		x.stopErr = &StepError{KeyID: x.p.KeyID, Step: s, Err: err}
	}
	// a created but unstored replacement is rolled back on a detached context
	if x.newKey != nil && x.replacement != x.newKey.ID.String() {
		cctx, cancel := x.cleanupCtx(context.Background())
		_ = x.deleteNewKey(cctx, s, x.newKey.ID, "interrupted before the replacement was stored: deleted")
		cancel()
		x.newKey = nil
	}
}

// stop ends the run at step s with err (a failure that is not an interruption).
func (x *run) stop(s playbooks.StepID, err error) {
	if x.stopped == "" {
		x.stopped = s
		x.stopErr = &StepError{KeyID: x.p.KeyID, Step: s, Err: err}
	}
}

// fail is stop for failures before any mutation could have happened in this step.
func (x *run) fail(s playbooks.StepID, err error) {
	x.stop(s, err)
	if x.newKey != nil && x.replacement != x.newKey.ID.String() {
		cctx, cancel := x.cleanupCtx(context.Background())
		_ = x.deleteNewKey(cctx, s, x.newKey.ID, "run failed before the replacement was stored: deleted")
		cancel()
		x.newKey = nil
	}
}

// end sets the outcome, writes the end record and the audit entry.
func (x *run) end() {
	r := x.res
	if r.Outcome == "" {
		changed := x.leakedDeleted || x.replacement != ""
		switch {
		case x.stopErr == nil && x.leakedDeleted && (x.replacement != "" || !x.p.hasStep(playbooks.StepCreate)):
			// the end state: leaked key deleted and, unless the playbook contains only, replaced
			r.Outcome = journal.OutcomeRemediated
		case x.stopErr == nil:
			// nothing failed but the end state is not reached (e.g. no create step ran)
			r.Outcome = journal.OutcomePartial
			x.stopErr = &StepError{KeyID: x.p.KeyID, Step: playbooks.StepVerify, Err: errors.New("the end state (leaked key deleted, replacement stored) was not reached")}
			x.stopped = playbooks.StepVerify
		case x.interrupted || changed || x.storeFailed && x.p.OnStoreFailure != playbooks.OnStoreFailureHold:
			r.Outcome = journal.OutcomePartial
		case errors.Is(x.stopErr, ram.ErrThrottled) || errors.Is(x.stopErr, ram.ErrTransient):
			// nothing changed, but the cloud only asked us to come back later: running the same
			// command again is the fix (exit 4 with the command), not a failure to investigate
			r.Outcome = journal.OutcomePartial
		default:
			r.Outcome = journal.OutcomeFailed
		}
		if r.Outcome == journal.OutcomePartial && x.stopErr != nil {
			step := x.stopped
			var se *StepError
			if errors.As(x.stopErr, &se) {
				step = se.Step
			}
			r.Err = &PartialError{KeyID: x.p.KeyID, Step: step, Resume: x.resume(), Err: x.stopErr}
		} else if x.stopErr != nil {
			r.Err = x.stopErr
		}
	}
	if x.replacement != "" {
		r.NewKeyID = x.replacement
	}
	if x.j != nil {
		rec := journal.Record{Kind: journal.KindEnd, Outcome: r.Outcome, NewKeyID: r.NewKeyID}
		if r.Err != nil {
			rec.Error = r.Err.Error()
		}
		_ = x.record(rec)
	}
	e := journal.AuditEntry{Event: "end", Outcome: r.Outcome, NewKeyID: r.NewKeyID, Decision: string(x.p.Decision)}
	if r.Err != nil {
		e.Error = r.Err.Error()
	}
	x.audit(e)
}

func (x *run) record(r journal.Record) error {
	if x.j == nil {
		return nil
	}
	r.RunID = x.runID
	r.Detail, r.Error = x.red.Redact(r.Detail), x.red.Redact(r.Error)
	r.AccountID = x.acct
	r.UserName = x.user
	if r.Kind == journal.KindBegin {
		r.Sinks = x.sinkNames()
	}
	r.Time = x.d.now().UTC()
	if _, err := x.j.Append(r); err != nil {
		return fmt.Errorf("journal %s: %w", x.p.KeyID, err)
	}
	return nil
}

func (x *run) report(sr StepResult) {
	sr.Detail = x.red.Redact(sr.Detail)
	if sr.RequestID == "" && len(sr.RequestIDs) > 0 {
		sr.RequestID = sr.RequestIDs[0]
	}
	x.res.Steps = append(x.res.Steps, sr)
	e := journal.AuditEntry{Event: "step", Step: string(sr.Step), Outcome: sr.Outcome, Detail: sr.Detail, RequestIDs: sr.RequestIDs}
	if len(e.RequestIDs) == 0 && sr.RequestID != "" {
		e.RequestIDs = []string{sr.RequestID}
	}
	x.audit(e)
	if x.d.OnStep != nil {
		x.d.OnStep(sr)
	}
}

func (x *run) audit(e journal.AuditEntry) {
	if x.d.Audit == nil {
		return
	}
	e.Time = x.d.now().UTC()
	e.Detail, e.Error = x.red.Redact(e.Detail), x.red.Redact(e.Error)
	e.Caller = x.d.Caller.Arn
	e.CallerKeyID = x.d.Caller.AccessKeyID
	e.RunID = x.runID
	e.KeyID = x.p.KeyID.String()
	e.AccountID = x.acct
	e.UserName = x.user
	for _, l := range x.p.Locations {
		e.Finding = append(e.Finding, locationText(l))
	}
	_ = x.d.Audit.Write(e)
}

func requestID(err error) string {
	var e *ram.Error
	if errors.As(err, &e) {
		return e.RequestID
	}
	return ""
}

func nonEmpty(s ...string) []string {
	var out []string
	for _, x := range s {
		if x != "" {
			out = append(out, x)
		}
	}
	return out
}

// humanWindow says 7 days, not 168h0m0s.
func humanWindow(d time.Duration) string {
	if d >= 24*time.Hour && d%(24*time.Hour) == 0 {
		n := int(d / (24 * time.Hour))
		if n == 1 {
			return "1 day"
		}
		return fmt.Sprintf("%d days", n)
	}
	return d.String()
}
