// Package source holds the sources respond pulls leaks from or is pushed leaks by, and the
// closing of their alerts once a key is remediated. This file: Alibaba Cloud Security Center's
// "AccessKey leak detection" (Sas 2018-12-03), which has no push event, so respond polls it.
//
// List reads the pending records of every configured account, enriches each with its detail, and
// turns them into findings (one per key). Close marks a record handled after the key was
// remediated and re-reads it to confirm. The records' detail Code may hold the secret: it stays an
// accesskey.Secret and is used only to pair the secret with its id; it never reaches an error, a
// note, a warning or a result's JSON.
package source

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/respond-dev/respond/detect"
	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
)

// SecurityCenterName names the source in findings, playbook matches (sources: [security-center])
// and reports.
const SecurityCenterName = "security-center"

// LeakAPI is the Security Center calls the source makes (*ram.Client implements it).
type LeakAPI interface {
	ListLeaks(ctx context.Context, q ram.LeakQuery, fn func(ram.Leak) error) error
	GetLeakDetail(ctx context.Context, id int64, memberAccountID string) (ram.LeakDetail, error)
	MarkLeaksHandled(ctx context.Context, ids []int64, remark string) (string, error)
}

var _ LeakAPI = (*ram.Client)(nil)

// Accounts gives a client signed in each configured account (cmd implements it: the configured
// accounts' credentials, Resource Directory members entered with AssumeRole). Client may be called
// concurrently and more than once for an account; it should cache.
type Accounts interface {
	Client(ctx context.Context, accountID string) (LeakAPI, error)
}

// Options tune a SecurityCenter source.
type Options struct {
	// Management is the Resource Directory management account. The other accounts' records are
	// then read through its client (ResourceDirectoryAccountId: one set of credentials for the
	// reads), falling back to the member's own client when that is refused. "" reads every
	// account with its own client. Marking always uses the record's own account (the API has no
	// ResourceDirectoryAccountId there).
	Management string
	// Concurrency bounds the calls in flight across accounts (default 8).
	Concurrency int
	// ConfirmAttempts is how often Close re-lists a record it marked before it gives up
	// (default 3), waiting ConfirmWait between them (default 2 s).
	ConfirmAttempts int
	ConfirmWait     time.Duration
	// Sleep waits d or until ctx is done (default: a timer). Tests inject a fake.
	Sleep func(ctx context.Context, d time.Duration) error
}

// SecurityCenter is the Security Center source.
type SecurityCenter struct {
	accounts Accounts
	opts     Options
}

// NewSecurityCenter builds the source over accounts.
func NewSecurityCenter(accounts Accounts, opts Options) *SecurityCenter {
	if opts.Concurrency <= 0 {
		opts.Concurrency = 8
	}
	if opts.ConfirmAttempts <= 0 {
		opts.ConfirmAttempts = 3
	}
	if opts.ConfirmWait <= 0 {
		opts.ConfirmWait = 2 * time.Second
	}
	return &SecurityCenter{accounts: accounts, opts: opts}
}

// wait sleeps d (Options.Sleep when set) or until ctx is done.
func (s *SecurityCenter) wait(ctx context.Context, d time.Duration) error {
	if s.opts.Sleep != nil {
		return s.opts.Sleep(ctx, d)
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// Record is one Security Center record and the account that holds it. It never holds the
// detail's Code.
type Record struct {
	AccountID   string       `json:"account_id"`
	ID          int64        `json:"id"`
	KeyID       accesskey.ID `json:"key_id"`
	UserType    string       `json:"user_type,omitempty"` // master (root account) or ram
	AliUserName string       `json:"ali_user_name,omitempty"`
	URL         string       `json:"url,omitempty"`
	Status      string       `json:"status"`
	DealType    string       `json:"deal_type,omitempty"`
	Found       time.Time    `json:"found,omitzero"`
	// Detailed says the detail call answered; the fields below come from it.
	Detailed   bool   `json:"detailed"`
	TokenValid int    `json:"token_valid"` // 0 not confirmed, 1 valid, 2 invalid
	GithubUser string `json:"github_user,omitempty"`
	RepoURL    string `json:"repo_url,omitempty"`
	FileName   string `json:"file_name,omitempty"`
}

// Root reports whether the record is a root-account (master) key: respond never rotates those
// and leaves their records pending.
func (r Record) Root() bool { return r.UserType == ram.LeakUserMaster }

// Finding is a key Security Center reported, with every record of it. Security Center findings
// are a trusted id-only source: Alibaba itself found the key in public. The embedded finding's
// Evidence is detect.EvidenceSource and its Source SecurityCenterName.
type Finding struct {
	detect.Finding
	Records []Record `json:"records"`
}

// Root reports whether any record says the key is a root-account key.
func (f Finding) Root() bool { return slices.ContainsFunc(f.Records, Record.Root) }

// AccountError is an account whose records could not be listed.
type AccountError struct {
	AccountID string
	Err       error
}

func (e *AccountError) Error() string {
	return "Security Center records of account " + e.AccountID + ": " + e.Err.Error()
}

func (e *AccountError) Unwrap() error { return e.Err }

// ListResult is what List found.
type ListResult struct {
	Findings []Finding
	// Warnings are records skipped or not enriched, and reads that fell back to member
	// credentials. They never hold a secret; their text from the cloud is escaped.
	Warnings []string
	// Failed are the accounts that could not be listed (List's error joins them).
	Failed []*AccountError
}

// List reads the pending records found since since (zero: all pending records) in every
// account, enriches each with its detail, and returns one finding per key. An account that
// cannot be read does not stop the others: its error is in Failed and in the returned error (then
// the poll was not a success: do not record it).
func (s *SecurityCenter) List(ctx context.Context, accounts []string, since time.Time) (ListResult, error) {
	l := &lister{s: s, since: since, sem: make(chan struct{}, s.opts.Concurrency)}
	var wg sync.WaitGroup
	for _, a := range dedupe(accounts) {
		wg.Go(func() { l.account(ctx, a) })
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return ListResult{}, err
	}
	res := ListResult{Warnings: l.warnings, Failed: l.failed}
	slices.SortFunc(res.Failed, func(a, b *AccountError) int { return cmp.Compare(a.AccountID, b.AccountID) })
	slices.Sort(res.Warnings)
	res.Findings = findings(ctx, l.records)
	var errs []error
	for _, f := range res.Failed {
		errs = append(errs, f)
	}
	return res, errors.Join(errs...)
}

func dedupe(accounts []string) []string {
	out := slices.Clone(accounts)
	slices.Sort(out)
	return slices.Compact(out)
}

// lister is one List call's shared state.
type lister struct {
	s     *SecurityCenter
	since time.Time
	sem   chan struct{}

	mu       sync.Mutex
	records  []detailed
	warnings []string
	failed   []*AccountError
}

// detailed is a record with its detail's Code (kept only until the secret is paired).
type detailed struct {
	Record
	code accesskey.Secret
}

func (l *lister) warn(format string, a ...any) {
	l.mu.Lock()
	l.warnings = append(l.warnings, accesskey.Printable(fmt.Sprintf(format, a...))) // (errors quote the cloud)
	l.mu.Unlock()
}

func (l *lister) acquire(ctx context.Context) bool {
	select {
	case l.sem <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

func (l *lister) release() { <-l.sem }

// account lists one account's pending records: through the management account when configured
// (falling back to the member's own client), else with its own client; then the details.
func (l *lister) account(ctx context.Context, accountID string) {
	mgmt := l.s.opts.Management
	var leaks []ram.Leak
	var c LeakAPI
	member := ""
	var err error
	if mgmt != "" && accountID != mgmt {
		if c, err = l.s.accounts.Client(ctx, mgmt); err == nil {
			leaks, err = l.list(ctx, c, accountID, accountID)
		}
		if err == nil {
			member = accountID
		} else if ctx.Err() == nil {
			l.warn("Security Center records of account %s could not be read through the management account %s (%v); read with the account's own credentials", accountID, mgmt, err)
		}
	}
	if member == "" {
		if c, err = l.s.accounts.Client(ctx, accountID); err == nil {
			leaks, err = l.list(ctx, c, accountID, "")
		}
	}
	if err != nil {
		if ctx.Err() == nil {
			l.mu.Lock()
			l.failed = append(l.failed, &AccountError{AccountID: accountID, Err: err})
			l.mu.Unlock()
		}
		return
	}
	var wg sync.WaitGroup
	out := make([]detailed, len(leaks))
	for i, lk := range leaks {
		out[i] = detailed{Record: Record{AccountID: accountID, ID: lk.ID, KeyID: lk.KeyID, UserType: lk.UserType,
			AliUserName: lk.AliUserName, URL: lk.URL, Status: lk.Status, DealType: lk.DealType, Found: lk.Found}}
		if !l.acquire(ctx) {
			break
		}
		wg.Go(func() {
			defer l.release()
			d, err := c.GetLeakDetail(ctx, lk.ID, member)
			if err != nil {
				if ctx.Err() == nil {
					l.warn("Security Center record %d of account %s: detail unavailable (%v); the finding has the list's fields only", lk.ID, accountID, err)
				}
				return
			}
			r := &out[i]
			r.Detailed, r.TokenValid, r.GithubUser, r.RepoURL, r.FileName = true, d.TokenValid, d.GithubUser, d.RepoURL, d.FileName
			r.code = d.Code
		})
	}
	wg.Wait()
	l.mu.Lock()
	l.records = append(l.records, out...)
	l.mu.Unlock()
}

// list reads one account's pending records (member != "": through the management account),
// de-duplicated by id (records found while paging shift the pages), skipping invalid key ids.
func (l *lister) list(ctx context.Context, c LeakAPI, accountID, member string) ([]ram.Leak, error) {
	if !l.acquire(ctx) {
		return nil, ctx.Err()
	}
	defer l.release()
	seen := map[int64]bool{}
	var out []ram.Leak
	err := c.ListLeaks(ctx, ram.LeakQuery{Status: ram.LeakPending, Since: l.since, MemberAccountID: member}, func(lk ram.Leak) error {
		switch {
		case seen[lk.ID]:
		case lk.KeyID.IsZero():
			l.warn("Security Center record %d of account %s: AccesskeyId %q is not a valid AccessKey id; skipped", lk.ID, accountID, lk.RawKeyID)
		case lk.Status != ram.LeakPending:
		default:
			out = append(out, lk)
		}
		seen[lk.ID] = true
		return nil
	})
	return out, err
}

// findings groups the records by key, one finding per key, sorted by key id.
func findings(ctx context.Context, records []detailed) []Finding {
	byKey := map[string][]detailed{}
	for _, r := range records {
		byKey[r.KeyID.String()] = append(byKey[r.KeyID.String()], r)
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]Finding, 0, len(keys))
	for _, k := range keys {
		rs := byKey[k]
		slices.SortFunc(rs, func(a, b detailed) int {
			return cmp.Or(cmp.Compare(a.AccountID, b.AccountID), cmp.Compare(a.ID, b.ID))
		})
		var f Finding
		f.KeyID, f.Kind, f.Evidence, f.Source = rs[0].KeyID, detect.KindAccessKey, detect.EvidenceSource, SecurityCenterName
		if f.KeyID.IsSTS() {
			f.Kind = detect.KindSTS
		}
		var secrets []accesskey.Secret
		for _, r := range rs {
			f.Records = append(f.Records, r.Record)
			f.Locations = append(f.Locations, location(r.Record))
			f.Notes = append(f.Notes, notes(r.Record)...)
			if s := pairSecret(ctx, r.KeyID, r.code); !s.IsZero() &&
				!slices.ContainsFunc(secrets, func(x accesskey.Secret) bool { return x.Equal(s) }) {
				secrets = append(secrets, s)
			}
		}
		switch len(secrets) {
		case 0:
		case 1:
			f.Secret = secrets[0]
			f.Notes = append(f.Notes, "Security Center's snippet of the leak holds the secret: paired")
		default:
			f.Notes = append(f.Notes, "Security Center's snippets hold different secrets for this id: none paired")
		}
		// a leak-reporting service's record: evidence of a leak even without the secret
		f.Finding.Source, f.Evidence = SecurityCenterName, detect.EvidenceSource
		if !f.Secret.IsZero() {
			f.Evidence = detect.EvidenceSecret
		}
		out = append(out, f)
	}
	return out
}

// location is where a record says the key leaked.
func location(r Record) detect.Location {
	loc := detect.Location{Source: SecurityCenterName, Format: string(detect.FormatSAS), URL: r.URL,
		Fingerprint: "leak " + strconv.FormatInt(r.ID, 10), Rule: "sas:AccessKey"}
	owner, repo, commit, file := githubBlob(r.URL)
	if owner != "" && repo != "" {
		loc.Repository = owner + "/" + repo
	}
	loc.Commit, loc.File = commit, file
	if loc.File == "" {
		loc.File = r.FileName
	}
	return loc
}

// githubBlob splits https://github.com/{owner}/{repo}/blob/{commit}/{path}.
func githubBlob(u string) (owner, repo, commit, file string) {
	rest, ok := strings.CutPrefix(u, "https://github.com/")
	if !ok {
		return "", "", "", ""
	}
	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		rest = rest[:i]
	}
	parts := strings.SplitN(rest, "/", 5)
	if len(parts) >= 2 {
		owner, repo = parts[0], parts[1]
	}
	if len(parts) == 5 && parts[2] == "blob" {
		commit, file = parts[3], parts[4]
	}
	return owner, repo, commit, file
}

func notes(r Record) []string {
	n := []string{fmt.Sprintf("Security Center record %d in account %s (found %s)", r.ID, r.AccountID, foundText(r.Found))}
	if r.Root() {
		n = append(n, "Security Center says this is a root-account (master) key: respond will not rotate it or mark the record")
	} else if r.AliUserName != "" {
		n = append(n, fmt.Sprintf("Security Center names the owner %q", r.AliUserName))
	}
	switch {
	case !r.Detailed:
	case r.TokenValid == ram.TokenValid:
		n = append(n, "Alibaba found the key valid when it checked")
	case r.TokenValid == ram.TokenInvalid:
		n = append(n, "Alibaba found the key invalid when it checked")
	default:
		n = append(n, "Alibaba has not confirmed whether the key is valid")
	}
	if r.GithubUser != "" {
		n = append(n, fmt.Sprintf("pushed to GitHub by %q", r.GithubUser))
	}
	return n
}

func foundText(t time.Time) string {
	if t.IsZero() {
		return "at an unknown time"
	}
	return t.UTC().Format(time.RFC3339)
}

// pairSecret finds the secret of id in a record's snippet: the text scanner pairs an id with a
// secret on its line or a nearby one. Nothing of the snippet leaves: not its warnings, not its
// errors.
func pairSecret(ctx context.Context, id accesskey.ID, code accesskey.Secret) accesskey.Secret {
	if code.IsZero() {
		return accesskey.Secret{}
	}
	res, err := detect.Read(ctx, strings.NewReader(code.Reveal()), detect.Options{Format: detect.FormatText, Source: SecurityCenterName})
	if err != nil {
		return accesskey.Secret{}
	}
	for _, f := range res.Findings {
		if f.KeyID == id && f.Secret.LooksLikeAccessKeySecret() {
			return f.Secret
		}
	}
	return accesskey.Secret{}
}
