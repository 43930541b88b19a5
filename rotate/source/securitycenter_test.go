package source_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/sas"

	"github.com/respond-dev/respond/detect"
	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/ram/emulator"
	et "github.com/respond-dev/respond/ram/emulator/emulatortest"
	"github.com/respond-dev/respond/rotate/source"
)

const (
	demoMgmt    = "1000000000000001"
	demoLeaked  = "LTAI5tFAKEBILLING0LEAK01"
	demoSecret  = "FakeBillingLeakedSecret0000001"
	demoRoot    = "LTAI5tFAKEROOTACME000001"
	demoLeakRec = 389357
	demoRootRec = 389358
)

// accounts is the test's source.Accounts: the admin's client for the management account, and
// AssumeRole into ResourceDirectoryAccountAccessRole for the members (what cmd will do).
type accounts struct {
	admin *ram.Client
	mgmt  string
	fail  map[string]error
	wrap  func(source.LeakAPI) source.LeakAPI

	mu      sync.Mutex
	clients map[string]source.LeakAPI
	entered int
}

func (a *accounts) Client(ctx context.Context, id string) (source.LeakAPI, error) {
	if err := a.fail[id]; err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if c := a.clients[id]; c != nil {
		return c, nil
	}
	var c source.LeakAPI = a.admin
	if id != a.mgmt {
		mc, err := a.admin.ForAccount(ctx, id, "")
		if err != nil {
			return nil, err
		}
		a.entered++
		c = mc
	}
	if a.wrap != nil {
		c = a.wrap(c)
	}
	if a.clients == nil {
		a.clients = map[string]source.LeakAPI{}
	}
	a.clients[id] = c
	return c, nil
}

type env struct {
	s    *emulator.Server
	org  *emulator.Org
	acct *accounts
	ids  []string // account ids, management first
}

func start(t testing.TB, org *emulator.Org, opts ...emulator.Option) *env {
	t.Helper()
	s := et.Start(t, org, opts...)
	e := &env{s: s, org: org}
	e.acct = &accounts{admin: e.client(t, org.Admin()), mgmt: org.Admin().AccountID}
	for _, a := range org.Accounts {
		e.ids = append(e.ids, a.ID)
	}
	return e
}

// sasStatus reads a record's status with the SDK's own typed client (not respond's code).
func (e *env) sasStatus(t testing.TB, account string, id int64) (status, dealType string) {
	t.Helper()
	c := et.SAS(t, e.s, et.AK(e.org.Admin()))
	for page := 1; ; page++ {
		req := sas.CreateDescribeAccesskeyLeakListRequest()
		req.CurrentPage, req.PageSize = requests.NewInteger(page), "100"
		if account != e.acct.mgmt {
			req.QueryParams["ResourceDirectoryAccountId"] = account
		}
		resp, err := c.DescribeAccesskeyLeakList(req)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range resp.AccessKeyLeakList {
			if l.Id == id {
				return l.Status, l.DealType
			}
		}
		if len(resp.AccessKeyLeakList) < 100 {
			t.Fatalf("record %d not listed in %s", id, account)
		}
	}
}

func calls(s *emulator.Server, action string) int {
	n := 0
	for _, r := range s.RequestLog() {
		if r.Action == action {
			n++
		}
	}
	return n
}

// threeAccounts seeds n pending leaks per account (plus one handled one each) into a generated
// three-account Resource Directory.
func threeAccounts(t testing.TB, n int, opts ...emulator.Option) *env {
	t.Helper()
	org := emulator.GenerateOrg(emulator.GenSpec{Accounts: 3, UsersPerAccount: 2, Seed: 9})
	for ai := range org.Accounts {
		for i := range n {
			org.Accounts[ai].Leaks = append(org.Accounts[ai].Leaks, emulator.Leak{
				AccessKeyID: fmt.Sprintf("LTAI5tA%dLEAK%012d", ai, i), TokenValid: 1,
				URL:  fmt.Sprintf("https://github.com/org%d/repo/blob/c0ffee/src/file%d.py", ai, i),
				Code: fmt.Sprintf("key = 'LTAI5tA%dLEAK%012d'", ai, i), Ago: time.Duration(i+1) * time.Minute})
		}
		org.Accounts[ai].Leaks = append(org.Accounts[ai].Leaks, emulator.Leak{AccessKeyID: fmt.Sprintf("LTAI5tA%dDONE%012d", ai, 0),
			URL: "https://github.com/o/r/blob/c/f", Status: "dealed"})
	}
	return start(t, org, opts...)
}

func TestListPagingAcrossAccounts(t *testing.T) {
	for _, mode := range []string{"through the management account", "each account's own credentials"} {
		t.Run(mode, func(t *testing.T) {
			e := threeAccounts(t, 120)
			opts := source.Options{}
			if mode == "through the management account" {
				opts.Management = e.acct.mgmt
			}
			sc := source.NewSecurityCenter(e.acct, opts)
			res, err := sc.List(context.Background(), append(e.ids, e.ids[1]), time.Time{}) // a repeated account is read once
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Findings) != 360 || len(res.Warnings) != 0 || len(res.Failed) != 0 {
				t.Fatalf("%d findings, warnings %q, failed %v", len(res.Findings), res.Warnings, res.Failed)
			}
			perAccount := map[string]int{}
			for _, f := range res.Findings {
				if len(f.Records) != 1 || f.Source != source.SecurityCenterName || f.Evidence != detect.EvidenceSource || !f.Records[0].Detailed || f.Records[0].TokenValid != 1 ||
					f.Records[0].Status != ram.LeakPending || len(f.Locations) != 1 || f.Locations[0].Repository == "" {
					t.Fatalf("finding %+v", f)
				}
				perAccount[f.Records[0].AccountID]++
			}
			for _, id := range e.ids {
				if perAccount[id] != 120 {
					t.Fatalf("account %s: %d findings", id, perAccount[id])
				}
			}
			// Every page (100 a page: 2 per account), one detail per record.
			if got := calls(e.s, "DescribeAccesskeyLeakList"); got != 6 {
				t.Errorf("%d list calls, want 6", got)
			}
			if got := calls(e.s, "DescribeAccessKeyLeakDetail"); got != 360 {
				t.Errorf("%d detail calls, want 360", got)
			}
			delegated := 0
			for _, r := range e.s.RequestLog() {
				if r.Action == "DescribeAccesskeyLeakList" {
					if r.Params["Status"] != "pending" || r.Params["PageSize"] != "100" || r.Params["StartTs"] != "" {
						t.Fatalf("list parameters %v", r.Params)
					}
					if r.Params["ResourceDirectoryAccountId"] != "" {
						delegated++
					}
				}
			}
			wantDelegated, wantEntered := 4, 0
			if opts.Management == "" {
				wantDelegated, wantEntered = 0, 2
			}
			if delegated != wantDelegated || e.acct.entered != wantEntered {
				t.Errorf("%d delegated list calls (want %d), %d members entered (want %d)", delegated, wantDelegated, e.acct.entered, wantEntered)
			}
			if v := e.s.Violations(); len(v) != 0 {
				t.Fatal(v)
			}
		})
	}
}

func TestListDemoEnrichmentAndPairing(t *testing.T) {
	e := start(t, emulator.DemoOrg())
	sc := source.NewSecurityCenter(e.acct, source.Options{Management: demoMgmt})
	res, err := sc.List(context.Background(), e.ids, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != 2 {
		t.Fatalf("findings %+v", res.Findings)
	}
	billing, root := res.Findings[0], res.Findings[1] // sorted by key id
	if billing.KeyID.String() != demoLeaked || root.KeyID.String() != demoRoot {
		t.Fatalf("order: %s %s", billing.KeyID, root.KeyID)
	}
	if billing.Secret.Reveal() != demoSecret {
		t.Fatal("the secret in the record's Code was not paired with its id")
	}
	loc := billing.Locations[0]
	if loc.Source != "security-center" || loc.Repository != "acme-example/billing-app" || loc.File != "config/settings.py" ||
		loc.Commit != "4f6c1e2d9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d" || !strings.HasPrefix(loc.URL, "https://github.com/") || loc.Fingerprint != "leak 389357" {
		t.Fatalf("location %+v", loc)
	}
	r := billing.Records[0]
	if billing.Root() || r.AccountID != demoMgmt || r.ID != demoLeakRec || r.GithubUser != "acme-dev-jane" || r.AliUserName != "billing-app" ||
		r.RepoURL != "https://github.com/acme-example/billing-app" || r.FileName != "settings.py" {
		t.Fatalf("record %+v", r)
	}
	notes := strings.Join(billing.Notes, "\n")
	for _, want := range []string{"record 389357 in account 1000000000000001", "valid when it checked", `"acme-dev-jane"`, "holds the secret: paired"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}
	if !root.Root() || !root.Secret.IsZero() || !strings.Contains(strings.Join(root.Notes, "\n"), "root-account (master) key") {
		t.Fatalf("root finding %+v", root)
	}
	assertNoSecret(t, res, demoSecret)
}

func TestListSince(t *testing.T) {
	e := start(t, emulator.DemoOrg())
	sc := source.NewSecurityCenter(e.acct, source.Options{})
	res, err := sc.List(context.Background(), e.ids, time.Now().Add(-10*time.Hour))
	if err != nil || len(res.Findings) != 1 || res.Findings[0].KeyID.String() != demoRoot {
		t.Fatalf("since 10h: %+v %v", res.Findings, err)
	}
	for _, r := range e.s.RequestLog() {
		if r.Action == "DescribeAccesskeyLeakList" && r.Params["StartTs"] == "" {
			t.Fatalf("no StartTs: %v", r.Params)
		}
	}
}

func TestListFallbackAndFailures(t *testing.T) {
	e := threeAccounts(t, 3)
	e.s.SetMonitored(e.ids[1], false)
	boom := errors.New("no credentials configured for this account")
	e.acct.fail = map[string]error{e.ids[2]: boom}
	sc := source.NewSecurityCenter(e.acct, source.Options{Management: e.acct.mgmt})
	res, err := sc.List(context.Background(), e.ids, time.Time{})
	// Account 1: refused through the management account, read with its own credentials.
	// Account 2: its records are read through the management account; no client of its own is needed.
	if err != nil || len(res.Findings) != 9 || len(res.Failed) != 0 {
		t.Fatalf("findings %d, failed %v, err %v", len(res.Findings), res.Failed, err)
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "could not be read through the management account") ||
		!strings.Contains(res.Warnings[0], e.ids[1]) || !strings.Contains(res.Warnings[0], "NoPermission") {
		t.Fatalf("warnings %q", res.Warnings)
	}
	// Without the management account, account 2's missing credentials fail it alone.
	sc = source.NewSecurityCenter(e.acct, source.Options{})
	res, err = sc.List(context.Background(), e.ids, time.Time{})
	var ae *source.AccountError
	if !errors.As(err, &ae) || ae.AccountID != e.ids[2] || !errors.Is(err, boom) || len(res.Failed) != 1 || len(res.Findings) != 6 {
		t.Fatalf("findings %d, failed %v, err %v", len(res.Findings), res.Failed, err)
	}
}

func TestListDetailFailureKeepsTheRecord(t *testing.T) {
	e := start(t, emulator.DemoOrg())
	e.s.AddFault(emulator.Fault{Action: "DescribeAccessKeyLeakDetail", Kind: emulator.FaultGarbage})
	sc := source.NewSecurityCenter(e.acct, source.Options{})
	res, err := sc.List(context.Background(), []string{demoMgmt}, time.Time{})
	if err != nil || len(res.Findings) != 2 || len(res.Warnings) != 2 {
		t.Fatalf("findings %d, warnings %q, err %v", len(res.Findings), res.Warnings, err)
	}
	if f := res.Findings[0]; f.Records[0].Detailed || !f.Secret.IsZero() || f.Locations[0].URL == "" {
		t.Fatalf("finding without detail %+v", f)
	}
	if !strings.Contains(res.Warnings[0], "detail unavailable") {
		t.Fatalf("warnings %q", res.Warnings)
	}
	assertNoSecret(t, res, demoSecret)
}

// demoListed lists the demo organisation's records (billing key first, then the root key).
func demoListed(t *testing.T) (*env, *source.SecurityCenter, source.ListResult) {
	t.Helper()
	e := start(t, emulator.DemoOrg())
	sc := source.NewSecurityCenter(e.acct, source.Options{})
	res, err := sc.List(context.Background(), e.ids, time.Time{})
	if err != nil || len(res.Findings) != 2 {
		t.Fatalf("demo records: %+v %v", res.Findings, err)
	}
	return e, sc, res
}

func TestClose(t *testing.T) {
	e, sc, res := demoListed(t)
	ctx := context.Background()
	rec := res.Findings[0].Records[0]
	if call := source.CloseCall(rec, "run-42", "key deleted"); !strings.Contains(call, "ModifyAccessKeyLeakDeal Id=389357 Type=manual") ||
		!strings.Contains(call, `"respond run run-42: key deleted"`) {
		t.Fatalf("plan line %q", call)
	}
	if calls(e.s, "ModifyAccessKeyLeakDeal") != 0 {
		t.Fatal("CloseCall wrote")
	}
	cr, err := sc.Close(ctx, rec, "run-42", "key deleted and purged; replacement stored")
	if err != nil || cr.Outcome != source.Closed || cr.RequestID == "" || cr.Record.Status != ram.LeakDealed ||
		cr.Remark != "respond run run-42: key deleted and purged; replacement stored" {
		t.Fatalf("close: %+v %v", cr, err)
	}
	if st, dt := e.sasStatus(t, demoMgmt, demoLeakRec); st != "dealed" || dt != "manual" {
		t.Fatalf("the SDK's client reads %s/%s", st, dt)
	}
	var remark string
	for _, r := range e.s.RequestLog() {
		if r.Action == "ModifyAccessKeyLeakDeal" {
			remark = r.Params["Remark"]
		}
	}
	if remark != cr.Remark {
		t.Fatalf("remark sent %q", remark)
	}
	// Idempotent: a second close finds it handled and writes nothing.
	cr, err = sc.Close(ctx, rec, "run-43", "key already remediated")
	if err != nil || cr.Outcome != source.AlreadyClosed || cr.RequestID != "" || calls(e.s, "ModifyAccessKeyLeakDeal") != 1 {
		t.Fatalf("re-close: %+v %v (%d marks)", cr, err, calls(e.s, "ModifyAccessKeyLeakDeal"))
	}
	// A re-poll no longer finds it.
	if res, err := sc.List(ctx, e.ids, time.Time{}); err != nil || len(res.Findings) != 1 || res.Findings[0].KeyID.String() != demoRoot {
		t.Fatalf("re-poll %+v %v", res.Findings, err)
	}
}

func TestCloseRefusesRoot(t *testing.T) {
	e, sc, res := demoListed(t)
	ctx := context.Background()
	root := res.Findings[1]
	results, err := sc.CloseAll(ctx, root, "run-1", "nothing")
	var re *source.RootRecordError
	if !errors.Is(err, source.ErrRootRecord) || !errors.As(err, &re) || re.Record.ID != demoRootRec || len(results) != 1 ||
		!strings.Contains(err.Error(), "delete the key in the console") {
		t.Fatalf("root close: %v", err)
	}
	if !strings.HasPrefix(source.CloseCall(root.Records[0], "r", "d"), "none:") {
		t.Fatal("the plan shows a write for a root record")
	}
	// The caller's copy says ram, the cloud says master: still refused, after one read.
	rec := root.Records[0]
	rec.UserType = "ram"
	if _, err := sc.Close(ctx, rec, "run-1", "x"); !errors.Is(err, source.ErrRootRecord) {
		t.Fatalf("relabelled root record: %v", err)
	}
	if n := calls(e.s, "ModifyAccessKeyLeakDeal"); n != 0 {
		t.Fatalf("%d marks of a root record", n)
	}
	if st, _ := e.sasStatus(t, demoMgmt, demoRootRec); st != "pending" {
		t.Fatalf("root record %s", st)
	}
}

// dropMarks accepts marks without passing them on: the cloud's "200 only means accepted".
type dropMarks struct{ source.LeakAPI }

func (dropMarks) MarkLeaksHandled(context.Context, []int64, string) (string, error) {
	return "REQ-ACCEPTED", nil
}

func TestCloseUnconfirmedAndMemberAccounts(t *testing.T) {
	e := threeAccounts(t, 2)
	ctx := context.Background()
	var waits []time.Duration
	opts := source.Options{Management: e.acct.mgmt, ConfirmAttempts: 3, ConfirmWait: time.Second,
		Sleep: func(ctx context.Context, d time.Duration) error { waits = append(waits, d); return nil }}
	sc := source.NewSecurityCenter(e.acct, opts)
	res, err := sc.List(ctx, e.ids, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var member source.Record
	for _, f := range res.Findings {
		if f.Records[0].AccountID == e.ids[2] {
			member = f.Records[0]
		}
	}
	// A member's record is marked with the member's own credentials (the deal call has no
	// ResourceDirectoryAccountId) and confirmed.
	cr, err := sc.Close(ctx, member, "run-7", "key deleted")
	if err != nil || cr.Outcome != source.Closed {
		t.Fatalf("member close %+v %v", cr, err)
	}
	if st, _ := e.sasStatus(t, e.ids[2], member.ID); st != "dealed" {
		t.Fatalf("member record %s", st)
	}
	for _, r := range e.s.RequestLog() {
		if r.Action == "ModifyAccessKeyLeakDeal" && !strings.HasPrefix(r.AccessKeyID, "STS.") {
			t.Fatalf("a member's record marked with %s", r.AccessKeyID)
		}
	}
	// Accepted but never applied: not confirmed after 3 reads, 2 waits; the record stays pending.
	e.acct.clients, e.acct.wrap = nil, func(c source.LeakAPI) source.LeakAPI { return dropMarks{c} }
	var other source.Record
	for _, f := range res.Findings {
		if f.Records[0].AccountID == e.ids[1] {
			other = f.Records[0]
		}
	}
	_, err = sc.Close(ctx, other, "run-7", "key deleted")
	var nc *source.NotConfirmedError
	if !errors.As(err, &nc) || !errors.Is(err, source.ErrNotConfirmed) || nc.RequestID != "REQ-ACCEPTED" || nc.Status != "pending" || len(waits) != 2 {
		t.Fatalf("unconfirmed: %v (waits %v)", err, waits)
	}
	// A record Security Center no longer lists.
	gone := other
	gone.ID = 1
	if _, err := sc.Close(ctx, gone, "run-7", "x"); !errors.Is(err, source.ErrRecordGone) {
		t.Fatalf("gone record: %v", err)
	}
}

func TestCloseErrors(t *testing.T) {
	e, sc, res := demoListed(t)
	ctx := context.Background()
	rec := res.Findings[0].Records[0]
	e.s.AddFault(emulator.Fault{Action: "ModifyAccessKeyLeakDeal", Kind: emulator.FaultThrottle, Count: 1})
	if cr, err := sc.Close(ctx, rec, "r", "d"); err != nil || cr.Outcome != source.Closed {
		t.Fatalf("after one throttle: %+v %v", cr, err)
	}
	// Permission refused: the error says so, the record stays as it was.
	auditor, _ := e.org.Key("LTAI5tFAKEAUDITOR0000001")
	e2 := start(t, emulator.DemoOrg())
	e2acc := &accounts{admin: e2.client(t, auditor), mgmt: demoMgmt}
	_, err := source.NewSecurityCenter(e2acc, source.Options{}).Close(ctx, rec, "r", "d")
	if !errors.Is(err, ram.ErrNoPermission) {
		t.Fatalf("auditor close: %v", err)
	}
	if st, _ := e2.sasStatus(t, demoMgmt, demoLeakRec); st != "pending" {
		t.Fatalf("after a refused close: %s", st)
	}
	assertNoSecret(t, err, demoSecret)
}

// client is a ram.Client signed with c, retrying fast.
func (e *env) client(t testing.TB, c emulator.Credential) *ram.Client {
	t.Helper()
	cl, err := ram.New(context.Background(), ram.Config{Endpoint: e.s.Endpoint(),
		Credentials: ram.StaticCredentials(c.AccessKeyID, accesskey.NewSecret(c.AccessKeySecret)), UserAgent: "respond/test",
		Retry: ram.RetryPolicy{BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

func TestRemark(t *testing.T) {
	if got := source.Remark("r1", "deleted\n\x1b[2J and\tpurged"); got != "respond run r1: deleted  [2J and purged" {
		t.Fatalf("remark %q", got)
	}
	if got := source.Remark("r1", strings.Repeat("é", 500)); len([]rune(got)) != 200 || !strings.HasSuffix(got, "…") {
		t.Fatalf("long remark: %d runes", len([]rune(got)))
	}
}

// assertNoSecret fails when secret shows in v printed every way a person or a file might see it.
func assertNoSecret(t *testing.T, v any, secret string) {
	t.Helper()
	j, _ := json.Marshal(v)
	for _, s := range []string{string(j), fmt.Sprintf("%v", v), fmt.Sprintf("%+v", v), fmt.Sprintf("%#v", v)} {
		if strings.Contains(s, secret) {
			t.Fatalf("the secret shows in %s", s)
		}
	}
}

// blankStatus lists records as an answer without their status field would read (once marked
// only, when afterMark).
type blankStatus struct {
	source.LeakAPI
	afterMark, marked bool
}

func (b *blankStatus) ListLeaks(ctx context.Context, q ram.LeakQuery, fn func(ram.Leak) error) error {
	return b.LeakAPI.ListLeaks(ctx, q, func(l ram.Leak) error {
		if b.marked || !b.afterMark {
			l.Status = ""
		}
		return fn(l)
	})
}

func (b *blankStatus) MarkLeaksHandled(ctx context.Context, ids []int64, remark string) (string, error) {
	b.marked = true
	return "REQ-ACCEPTED", nil // accepted, not applied: only the status could say otherwise
}

// Only the handled status closes a record: a status that is neither pending nor handled (here an
// answer without the field) is neither taken for "already closed" nor for the mark's confirmation.
func TestCloseNeedsTheHandledStatus(t *testing.T) {
	for _, afterMark := range []bool{false, true} {
		e, _, res := demoListed(t)
		ctx := context.Background()
		rec := res.Findings[0].Records[0]
		b := &blankStatus{afterMark: afterMark}
		e.acct.clients, e.acct.wrap = nil, func(c source.LeakAPI) source.LeakAPI { b.LeakAPI = c; return b }
		sc := source.NewSecurityCenter(e.acct, source.Options{Management: e.acct.mgmt, ConfirmAttempts: 2,
			Sleep: func(ctx context.Context, d time.Duration) error { return nil }})
		cr, err := sc.Close(ctx, rec, "run-9", "key deleted")
		if err == nil || cr.Outcome != "" || b.marked != afterMark {
			t.Errorf("status blank after the mark %v: %+v, %v, marked %v", afterMark, cr, err, b.marked)
		}
	}
}
