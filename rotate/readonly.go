package rotate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/rotate/assess"
)

// AssessKey summarises what a key did over the window that ends at now, from ActionTrail in the
// key's owner's account, found by the owner search in strategies' order (the order a run uses:
// playbooks.Config.SearchOrder, or --locate), in the regions named (empty: every region
// ActionTrail lists), leaving out respond's own calls (ownUserAgent). A window out of bounds is an
// *InvalidError. The report names the account read and why (AssessReport.Trail): when the owner
// was not found, or its account could not be entered, it is respond's home account, which shows
// nothing of a key of another account, and the report has the exit code of an owner not found
// (every account searched) or of a partial run (fix the access, run again). When some regions
// failed or were not asked, the report holds the assessment of the others, Partial, with the exit
// code of a partial run (exitCode maps it; Coverage names the regions); when none answered, the
// error alone.
func (c *Session) AssessKey(ctx context.Context, id accesskey.ID, strategies []string, window time.Duration, now time.Time, ownUserAgent string, regions []string, exitCode func(Severity) int) (AssessReport, error) {
	rep := AssessReport{KeyID: id.String()}
	q, err := assess.Query(ram.EventQuery{AccessKeyID: id}, window, now)
	if err != nil {
		return rep, &InvalidError{Err: err}
	}
	api, sev, err := c.trailAccount(ctx, id, strategies, &rep.Trail)
	if err != nil {
		return rep, err
	}
	col, err := assess.CollectRegions(ctx, api, q, assess.Scope{Regions: regions})
	if err != nil && !errors.Is(err, assess.ErrPartial) {
		return rep, fmt.Errorf("assess %s in the ActionTrail of account %s: %w", id, rep.Trail.Account.ID, err)
	}
	rep.Assessment = summarizeEvents(col.Events, &col.Coverage, window, now, ownUserAgent)
	if rep.Partial = err != nil; rep.Partial { // a partly done work that running it again completes
		sev = max(sev, SeverityPartial)
	}
	if sev != SeverityOK {
		rep.ExitCode = exitCode(sev)
	}
	return rep, nil
}

// How AssessTrail.By says the account read was decided.
const (
	TrailOwner = "owner" // the owner's account: the search found it there
	TrailHome  = "home"  // respond's home account: the owner was not found, or its account not entered
)

// AssessTrail is whose ActionTrail an assessment read, and why.
type AssessTrail struct {
	// Account is the account whose ActionTrail was read.
	Account ram.Account `json:"account"`
	// By is TrailOwner or TrailHome.
	By string `json:"by"`
	// Strategy found the owner; UserName is the owner (empty for a root key), OwnerAccount its
	// account (when By is TrailHome, the one that could not be entered).
	Strategy     string       `json:"strategy,omitempty"`
	UserName     string       `json:"user_name,omitempty"`
	OwnerAccount *ram.Account `json:"owner_account,omitempty"`
	// NotFound: the search covered every account and found no owner. Problem says why the
	// owner's account was not read (not found, search incomplete or failed, account not entered)
	// and what to do; empty when it was.
	NotFound bool   `json:"owner_not_found,omitempty"`
	Problem  string `json:"problem,omitempty"`
}

// trailAccount runs the owner search and chooses whose ActionTrail to read: the owner's account,
// else the home account with the severity of why (not found: every account searched; partial:
// the search or the account's entry failed, which fixing the access and running again completes).
// The error is one of usage (the strategies) or an interruption.
func (c *Session) trailAccount(ctx context.Context, id accesskey.ID, strategies []string, t *AssessTrail) (ram.API, Severity, error) {
	t.By, t.Account = TrailHome, c.HomeAccount()
	home := "the home account's ActionTrail was read, which shows nothing of a key of another account"
	loc, err := c.Locator(ctx, strategies, id, accesskey.Secret{}, nil)
	if err != nil {
		return nil, SeverityOK, err
	}
	owner, err := loc.Locate(ctx, id)
	if ctx.Err() != nil {
		return nil, SeverityOK, fmt.Errorf("locate the owner of %s: %w", id, ctx.Err())
	}
	var nf *ram.NotFoundError
	switch {
	case errors.As(err, &nf) && len(uncovered(nf)) == 0:
		t.NotFound = true
		t.Problem = fmt.Sprintf("owner not found (%s): %s; add the key's account to the configuration (accounts, resource-directory) and run again", accesskey.OneLine(err.Error()), home)
		return c.Home(), SeverityNotFound, nil
	case nf != nil:
		missed := uncovered(nf)
		t.Problem = fmt.Sprintf("owner not found, but no complete search (ims, scan) answered in account %s (%s): %s; fix respond's access (respond doctor names what is missing) and run again",
			strings.Join(missed, ", "), strings.Join(triedErrors(nf.Tried, missed), "; "), home)
		return c.Home(), SeverityPartial, nil
	case err != nil:
		t.Problem = fmt.Sprintf("the owner search failed (%s): %s; fix respond's access (respond doctor names what is missing) and run again", accesskey.OneLine(err.Error()), home)
		return c.Home(), SeverityPartial, nil
	}
	t.Strategy, t.UserName = owner.Strategy, owner.UserName
	api, err := c.Account(ctx, owner.Account.ID)
	if err != nil {
		acct := owner.Account
		t.OwnerAccount = &acct
		t.Problem = fmt.Sprintf("the owner's account %s could not be entered (%s): %s; fix respond's access to it and run again", accountName(acct), accesskey.OneLine(err.Error()), home)
		return c.Home(), SeverityPartial, nil
	}
	t.By, t.Account = TrailOwner, owner.Account
	if t.Account.ID == "" {
		t.Account = c.HomeAccount()
	}
	return api, SeverityOK, nil
}

// uncovered are the accounts of a search that found no owner where no strategy that answers for
// every RAM user of the account (ims, scan) completed: not entered, refused, or not in the order.
// The key may be there.
func uncovered(nf *ram.NotFoundError) []string {
	var out []string
	for _, a := range nf.AccountIDs {
		if !slices.ContainsFunc(nf.Tried, func(r ram.StrategyReport) bool {
			return r.AccountID == a && r.Error == "" && (r.Strategy == ram.StrategyIMS || r.Strategy == ram.StrategyScan)
		}) {
			out = append(out, a)
		}
	}
	return out
}

// triedErrors are the failures an owner search reported in the accounts named, each as "strategy
// in account: error"; of an account not entered, only why.
func triedErrors(tried []ram.StrategyReport, accounts []string) []string {
	entered := func(a string) bool {
		return !slices.ContainsFunc(tried, func(r ram.StrategyReport) bool { return r.AccountID == a && r.Strategy == "enter" })
	}
	var out []string
	for _, r := range tried {
		if r.Error != "" && slices.Contains(accounts, r.AccountID) && (r.Strategy == "enter" || entered(r.AccountID)) {
			out = append(out, fmt.Sprintf("%s in %s: %s", r.Strategy, r.AccountID, accesskey.OneLine(r.Error)))
		}
	}
	return out
}

// accountName is "name (id)", or the id.
func accountName(a ram.Account) string {
	if a.Name == "" {
		return a.ID
	}
	return a.Name + " (" + a.ID + ")"
}

// LocateSchema names the JSON document of an owner search (respond locate --output json).
const LocateSchema = "respond.locate/v1"

// LocateReport is an owner search's answer as data: the owner's fields, the schema, and how long
// the search took, in nanoseconds.
type LocateReport struct {
	Schema string `json:"schema"`
	ram.Owner
	Duration time.Duration `json:"duration_ns"`
}

// NewLocateReport is the JSON document of an owner search that found o in took.
func NewLocateReport(o ram.Owner, took time.Duration) LocateReport {
	if o.Tried == nil {
		o.Tried = []ram.StrategyReport{}
	}
	return LocateReport{Schema: LocateSchema, Owner: o, Duration: took}
}

// LocateKey is an owner search (respond locate): the strategies in order, progress told of each
// account searched, the answer with how long the search took.
func (c *Session) LocateKey(ctx context.Context, strategies []string, id accesskey.ID, progress func(ram.Progress)) (LocateReport, error) {
	loc, err := c.Locator(ctx, strategies, id, accesskey.Secret{}, progress)
	if err != nil {
		return LocateReport{}, err
	}
	start := time.Now()
	owner, err := loc.Locate(ctx, id)
	if err != nil {
		return LocateReport{}, fmt.Errorf("locate %s: %w", id, err)
	}
	return NewLocateReport(owner, time.Since(start)), nil
}

// AssessReport is an assessment as data (respond assess --output json); ExitCode is the CLI's.
// Partial says some ActionTrail regions were not looked at; Trail whose ActionTrail was read.
type AssessReport struct {
	KeyID      string            `json:"key_id"`
	Partial    bool              `json:"partial"`
	ExitCode   int               `json:"exit_code"`
	Trail      AssessTrail       `json:"trail"`
	Assessment assess.Assessment `json:"assessment"`
}

// Incomplete says in one line why the assessment is not the whole answer (its ExitCode is not 0):
// the trail read is not the owner's, or some regions were not looked at; nil when it is.
func (r AssessReport) Incomplete() error {
	var why []string
	if r.Trail.Problem != "" {
		why = append(why, "not the owner's ActionTrail: "+accesskey.Printable(r.Trail.Problem))
	}
	if r.Partial {
		why = append(why, "partial assessment: some ActionTrail regions were not looked at (named above); run it again to look there")
	}
	if len(why) == 0 {
		return nil
	}
	return errors.New(strings.Join(why, "; also "))
}

// WriteText renders the assessment for a human (assess.WriteText), after whose ActionTrail it
// read: when that is not the owner's, in capitals before the events, since "no activity" there
// says nothing of the key.
func (r AssessReport) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Activity of %s\n", r.KeyID)
	acct := accesskey.Printable(accountName(r.Trail.Account))
	switch {
	case r.Trail.By == TrailOwner && r.Trail.UserName != "":
		fmt.Fprintf(&b, "ActionTrail of account %s, the owner's: RAM user %s, found by %s.\n", acct, accesskey.Printable(r.Trail.UserName), r.Trail.Strategy)
	case r.Trail.By == TrailOwner:
		fmt.Fprintf(&b, "ActionTrail of account %s, the owner's: the root account, found by %s.\n", acct, r.Trail.Strategy)
	default:
		fmt.Fprintf(&b, "NOT THE OWNER'S ACCOUNT: ActionTrail of respond's home account %s: %s.\n", acct, accesskey.Printable(r.Trail.Problem))
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	return assess.WriteText(w, r.Assessment)
}

// WriteText renders the report for a human (WriteOwnerText).
func (r LocateReport) WriteText(w io.Writer) error { return WriteOwnerText(w, r.Owner, r.Duration) }

// WriteOwnerText renders an owner search's answer for a human (respond locate): the owner, its
// account, the key's status, and every strategy tried in every account.
func WriteOwnerText(w io.Writer, o ram.Owner, took time.Duration) error {
	var b strings.Builder
	fmt.Fprintf(&b, "key:       %s\n", o.KeyID)
	if o.Root {
		fmt.Fprintf(&b, "owner:     the root account %s (not a RAM user)\n", o.Account.ID)
		b.WriteString("           RAM cannot rotate a root-account key: delete it in the console (AccessKey Management) and use RAM users instead\n")
	} else {
		fmt.Fprintf(&b, "owner:     RAM user %s (id %s)\n", accesskey.Printable(o.UserName), accesskey.Printable(o.UserID))
	}
	fmt.Fprintf(&b, "account:   %s\n", accesskey.Printable(accountName(o.Account)))
	if o.Key.Status != "" {
		fmt.Fprintf(&b, "status:    %s, created %s\n", accesskey.Printable(o.Key.Status), o.Key.CreateDate.Format(time.RFC3339))
	}
	if bin := o.RecycleBin; bin != nil {
		fmt.Fprintf(&b, "status:    deleted %s: in the recycle bin of user %s until %s, restorable until then unless purged (respond --key-id %s purges it)\n",
			bin.RecycleDate.UTC().Format(time.RFC3339), o.UserName, bin.DeleteDate.UTC().Format(time.RFC3339), o.KeyID)
	}
	fmt.Fprintf(&b, "found by:  %s in %s\n", o.Strategy, took.Round(time.Millisecond))
	for _, t := range o.Tried {
		fmt.Fprintf(&b, "  tried %-11s account %-18s calls %-4d", t.Strategy, t.AccountID, t.Calls)
		if t.UsersScanned > 0 {
			fmt.Fprintf(&b, " users %d", t.UsersScanned)
		}
		if t.Found {
			b.WriteString(" found")
		}
		if t.Error != "" {
			b.WriteString(" error: " + accesskey.OneLine(t.Error))
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
