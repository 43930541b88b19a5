package rotate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/respond-dev/respond/detect"
	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/rotate/journal"
	src "github.com/respond-dev/respond/rotate/source"
)

// Security Center in, Security Center out (issue 15): a poll lists the pending leak records of
// every account respond is signed in to, the batch responds to their keys, the close step marks
// the records of each key it remediated, and the poll remembers what it left pending and when it
// last read everything. The CLI (respond --from security-center) and the server call this.

// SecurityCenterSource is what --from names to poll Security Center, and the source of its
// findings.
const SecurityCenterSource = src.SecurityCenterName

// leakClients gives the source a client signed in each account of the session (source.Accounts).
type leakClients struct{ s *Session }

func (l leakClients) Client(ctx context.Context, accountID string) (src.LeakAPI, error) {
	a, ok := l.s.byID[accountID]
	switch {
	case !ok:
		return nil, fmt.Errorf("no credentials for account %s: add it to the configuration's accounts or resource_directory", accountID)
	case a.Entry == nil:
		return nil, fmt.Errorf("account %s has no client of respond's own", accountID)
	}
	c, err := a.Entry.Client(ctx)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// SecurityCenter is the session's Security Center source: members' records are read through the
// Resource Directory's management account when there is one.
func (c *Session) SecurityCenter(opts src.Options) *src.SecurityCenter {
	if opts.Management == "" {
		opts.Management = c.mgmt
	}
	return src.NewSecurityCenter(leakClients{c}, opts)
}

// SecurityCenterPoll is one poll: the findings to respond to (one per key), their records, and
// what it could not read.
type SecurityCenterPoll struct {
	// Since is the poll's StartTs (zero: every pending record), Started when it began.
	Since, Started time.Time
	Findings       []detect.Finding
	// Warnings are records skipped or not enriched, and accounts that could not be read.
	Warnings []string
	// Failed are the accounts whose records could not be read: the poll is partial (not
	// remembered as a success, so the next one reads the same window again).
	Failed []string

	sc   *src.SecurityCenter
	keys map[accesskey.ID]*scKey
}

// scKey is one key's records and their alerts.
type scKey struct {
	finding src.Finding
	alerts  []*scAlert
}

// Partial reports whether some account's records could not be read.
func (p *SecurityCenterPoll) Partial() bool { return len(p.Failed) > 0 }

// Records counts the pending records the poll read.
func (p *SecurityCenterPoll) Records() int {
	n := 0
	for _, k := range p.keys {
		n += len(k.finding.Records)
	}
	return n
}

// SecurityCenterReport is what a run did with a poll, in the report (security_center).
type SecurityCenterReport struct {
	// Since is the poll's StartTs (absent: every pending record).
	Since time.Time `json:"since,omitzero"`
	// Records counts the pending records read.
	Records int `json:"records"`
	// AccountsNotRead are the accounts whose records could not be read (the poll is partial:
	// exit 4, and the next poll reads the same window again).
	AccountsNotRead []string `json:"accounts_not_read,omitempty"`
	// LeftPending are the records this run left pending, and why (absent for --dry-run).
	LeftPending []src.Pending `json:"left_pending,omitempty"`
}

// PollSecurityCenter lists the pending leak records of every account of the session found since
// now-since (since 0: since the last successful poll less src.PollOverlap, or every pending
// record on the first poll), each enriched by its detail. An account that cannot be read is in
// Failed and the warnings; the error is for a poll that could not start (the state directory)
// or read no account at all.
func (c *Session) PollSecurityCenter(ctx context.Context, stateDir string, since time.Duration, now time.Time) (*SecurityCenterPoll, error) {
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return nil, fmt.Errorf("create the state directory %s: %w (pass --state-dir)", stateDir, err)
	}
	st, err := src.LoadPollState(stateDir)
	if err != nil {
		return nil, err
	}
	p := &SecurityCenterPoll{Since: src.Since(st, since, now), Started: now, sc: c.SecurityCenter(src.Options{}), keys: map[accesskey.ID]*scKey{}}
	var ids []string
	for _, a := range c.accounts {
		switch {
		case a.Err != nil:
			name := a.Account.ID
			if name == "" {
				name = a.Account.Name
			}
			p.Failed = append(p.Failed, name)
			p.Warnings = append(p.Warnings, fmt.Sprintf("Security Center records of account %s not read: %s", name, accesskey.OneLine(a.Err.Error())))
		case a.Account.ID != "":
			ids = append(ids, a.Account.ID)
		}
	}
	res, err := p.sc.List(ctx, ids, p.Since)
	if ctxErr := ctx.Err(); ctxErr != nil {
		return nil, fmt.Errorf("poll Security Center: %w", ctxErr)
	}
	for _, f := range res.Failed {
		p.Failed = append(p.Failed, f.AccountID)
		p.Warnings = append(p.Warnings, accesskey.OneLine(f.Error()))
	}
	p.Warnings = append(p.Warnings, res.Warnings...)
	if err != nil && len(res.Failed) == len(slices.Compact(slices.Sorted(slices.Values(ids)))) {
		return nil, fmt.Errorf("poll Security Center: no account could be read: %w", err)
	}
	for _, f := range res.Findings {
		k := &scKey{finding: f}
		for _, r := range f.Records {
			k.alerts = append(k.alerts, &scAlert{sc: p.sc, rec: r})
		}
		p.keys[f.KeyID] = k
		p.Findings = append(p.Findings, f.Finding)
	}
	return p, nil
}

// Prepare hands the poll's records to the batch: each key's records become its alerts (the close
// step), and a key whose records say it is a root-account key gets that owner without a search
// (respond refuses it, and leaves the records pending).
func (p *SecurityCenterPoll) Prepare(b *Batch) {
	if b.Alerts == nil {
		b.Alerts = map[accesskey.ID][]Alert{}
	}
	if b.Owners == nil {
		b.Owners = map[accesskey.ID]ram.Owner{}
	}
	for id, k := range p.keys {
		for _, a := range k.alerts {
			b.Alerts[id] = append(b.Alerts[id], a)
		}
		for _, r := range k.finding.Records {
			if r.Root() {
				b.Owners[id] = ram.Owner{KeyID: id, Account: ram.Account{ID: r.AccountID}, Root: true, Strategy: SecurityCenterSource}
			}
		}
	}
}

// Finish remembers what the run did, once the batch has run (not for a dry run, nor a batch that
// stopped before it changed anything): the records left pending, and why, in the state directory
// (respond status lists them; closed ones leave the list); and, when every account was read and
// no rotation ended partial (which a re-run must find again), the poll as the last success. It
// returns the records this run left pending.
func (p *SecurityCenterPoll) Finish(stateDir string, items []*Item, now time.Time) ([]src.Pending, error) {
	var left []src.Pending
	var closed []src.Record
	resume := false
	for _, it := range items {
		k := p.keys[it.Finding.KeyID]
		if k == nil {
			continue
		}
		resume = resume || it.Severity() == SeverityPartial
		l, c := RecordsEnded(it, k.finding.Records)
		left, closed = append(left, l...), append(closed, c...)
	}
	if _, err := src.UpdatePending(stateDir, left, closed, now); err != nil {
		return left, err
	}
	if p.Partial() || resume {
		return left, nil
	}
	return left, src.SavePollState(stateDir, src.PollState{LastSuccess: p.Started})
}

// Conclude adds to the report what became of the poll's records once the batch has run (items:
// none when there was nothing to do) and, unless the report is a dry run, remembers them
// (Finish; a failure to is a warning). A poll that did not read every account makes the report
// partial (exitCode maps the severity), whatever the keys' outcomes: the next poll reads again.
func (p *SecurityCenterPoll) Conclude(r *Report, stateDir string, items []*Item, now time.Time, exitCode func(Severity) int) {
	sc := &SecurityCenterReport{Since: p.Since, Records: p.Records(), AccountsNotRead: p.Failed}
	r.SecurityCenter = sc
	if !r.DryRun {
		left, err := p.Finish(stateDir, items, now)
		if err != nil {
			r.Warnings = append(r.Warnings, "Security Center: "+accesskey.OneLine(err.Error()))
		}
		sc.LeftPending = left
	}
	if p.Partial() {
		r.ExitCode = exitCode(SeverityPartial)
	}
}

// Result is the poll's findings as a scanner's (respond scan security-center).
func (p *SecurityCenterPoll) Result() detect.Result {
	return detect.Result{Findings: p.Findings, Format: detect.FormatSAS, Warnings: p.Warnings}
}

// PartialError says which accounts' records could not be read, or is nil.
func (p *SecurityCenterPoll) PartialError() error {
	if !p.Partial() {
		return nil
	}
	return fmt.Errorf("Security Center records of account(s) %s could not be read (see the warnings)", strings.Join(p.Failed, ", "))
}

// RootRecordReason is why a root-account key's Security Center records are left pending.
const RootRecordReason = "a root-account key: respond does not rotate root keys; as the account owner, delete it in the console (AccessKey management), move its users to a RAM user's key, then mark the record handled in Security Center"

// RecordsEnded says what became of a key's Security Center records once its finding ended (it,
// the finding's item; records, the key's): closed are those the close step marked handled or
// found handled, left the others with why and the run. The CLI's Finish reads a whole poll's
// items with it; respond serve, whose findings end one by one, each finding's.
func RecordsEnded(it *Item, records []src.Record) (left []src.Pending, closed []src.Record) {
	why, runID := notClosedWhy(it)
	results := map[string]AlertResult{}
	if it.Result != nil {
		for _, a := range it.Result.Alerts {
			results[a.Alert] = a
		}
	}
	for _, rec := range records {
		switch a := results[recordAlertName(rec)]; a.Outcome {
		case AlertClosed, AlertAlreadyClosed:
			closed = append(closed, rec)
		case AlertFailed:
			left = append(left, src.Pending{Record: rec, Reason: "the key is remediated but the record could not be closed: " + accesskey.OneLine(a.Error) + "; run again to close it", RunID: runID})
		default:
			left = append(left, src.Pending{Record: rec, Reason: why, RunID: runID})
		}
	}
	return left, closed
}

// notClosedWhy says why a key's records were not closed, from how its item ended.
func notClosedWhy(it *Item) (string, string) {
	switch {
	case it.Err != nil:
		return "not planned: " + accesskey.OneLine(it.Err.Error()), ""
	case it.Result == nil:
		return "not run (interrupted): run again", ""
	}
	r := it.Result
	switch {
	case it.Plan.Decision == DecisionRefuseRoot:
		return RootRecordReason, r.RunID
	case r.Err != nil:
		return "the key was not remediated (" + string(r.Outcome) + "): " + accesskey.OneLine(r.Err.Error()), r.RunID
	case r.Outcome == journal.OutcomeRemediated || r.Outcome == journal.OutcomeAlreadyRemediated:
		return "the key is remediated (" + string(r.Outcome) + ") but the record was not closed (the playbook has no close step?): mark it handled in Security Center", r.RunID
	}
	return "the key was not remediated (" + string(r.Outcome) + ")", r.RunID
}

// scAlert is a Security Center record as an alert of the close step (RecordsEnded reads how its
// close went from the item's alert results, by its name).
type scAlert struct {
	sc  *src.SecurityCenter
	rec src.Record
}

// recordAlertName names a record as an alert (scAlert.String), in the item's alert results.
func recordAlertName(r src.Record) string {
	return "Security Center record " + strconv.FormatInt(r.ID, 10) + " in account " + r.AccountID
}

func (a *scAlert) String() string { return recordAlertName(a.rec) }

func (a *scAlert) Action() string { return "sas:ModifyAccessKeyLeakDeal" }

func (a *scAlert) Call(runID, done string) string { return src.CloseCall(a.rec, runID, done) }

func (a *scAlert) Close(ctx context.Context, runID, done string) (AlertResult, error) {
	r, err := a.sc.Close(ctx, a.rec, runID, done)
	out := AlertResult{Outcome: string(r.Outcome), RequestID: r.RequestID}
	if err != nil {
		var nc *src.NotConfirmedError
		if errors.As(err, &nc) {
			out.RequestID = nc.RequestID
		}
		return out, err
	}
	if r.Outcome == src.AlreadyClosed {
		out.Outcome = AlertAlreadyClosed
	} else {
		out.Outcome = AlertClosed
	}
	return out, nil
}

// Sources are the poll's findings with their records (respond serve keeps them with the findings
// it accepts, and hands them back with PrepareRecords when it runs them).
func (p *SecurityCenterPoll) Sources() []src.Finding {
	out := make([]src.Finding, 0, len(p.keys))
	for _, f := range p.Findings {
		if k := p.keys[f.KeyID]; k != nil {
			out = append(out, k.finding)
		}
	}
	return out
}

// PrepareRecords is Prepare for records an earlier poll read (respond serve runs what it accepted
// later, maybe after a restart): each key's records become its alerts for the close step.
func (c *Session) PrepareRecords(b *Batch, findings []src.Finding) {
	p := &SecurityCenterPoll{sc: c.SecurityCenter(src.Options{}), keys: map[accesskey.ID]*scKey{}}
	for _, f := range findings {
		k := &scKey{finding: f}
		for _, r := range f.Records {
			k.alerts = append(k.alerts, &scAlert{sc: p.sc, rec: r})
		}
		p.keys[f.KeyID] = k
	}
	p.Prepare(b)
}
