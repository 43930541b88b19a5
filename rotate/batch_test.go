package rotate

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/respond-dev/respond/detect"
	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
)

// fakeConn is a Connection over one fakeAPI account; each key's owner search is a countingLocator.
type fakeConn struct {
	f   *fakeAPI
	mu  sync.Mutex
	loc map[accesskey.ID]*countingLocator
	// strategies are the strategies each key's search was built with.
	strategies map[accesskey.ID][]string
	locate     func(ctx context.Context, id accesskey.ID) (ram.Owner, error)
	// match answers MatchSecret (secretonly_test.go); nil: the fake cannot search.
	match func(ctx context.Context, secret accesskey.Secret, m ram.SecretMatch) (ram.Owner, ram.MatchReport, error)
}

func newFakeConn(f *fakeAPI, locate func(context.Context, accesskey.ID) (ram.Owner, error)) *fakeConn {
	return &fakeConn{f: f, loc: map[accesskey.ID]*countingLocator{}, strategies: map[accesskey.ID][]string{}, locate: locate}
}

func (c *fakeConn) API(ctx context.Context, id string) (Cloud, error) { return c.f, nil }
func (c *fakeConn) Account(ctx context.Context, id string) (ram.API, error) {
	return nil, errors.New("the fake connection has no full account client")
}
func (c *fakeConn) Incident(ctx context.Context, id string) (IncidentCloud, error) {
	return nil, errors.New("the fake connection has no incident calls")
}
func (c *fakeConn) Authenticates(ctx context.Context, id accesskey.ID, s accesskey.Secret) (ram.Identity, error) {
	return c.f.Authenticates(ctx, id, s)
}
func (c *fakeConn) Caller() ram.Identity {
	return ram.Identity{AccountID: "1001", Arn: "acs:ram::1001:user/responder", AccessKeyID: selfID}
}
func (c *fakeConn) Entered() []ram.LocatorAccount {
	return []ram.LocatorAccount{{Account: ram.Account{ID: "1001", Name: "prod"}}}
}
func (c *fakeConn) Locator(ctx context.Context, strategies []string, id accesskey.ID, _ accesskey.Secret, _ func(ram.Progress)) (Locator, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	l := &countingLocator{fn: c.locate}
	c.loc[id], c.strategies[id] = l, strategies
	return l, nil
}

func (c *fakeConn) MatchSecret(ctx context.Context, secret accesskey.Secret, m ram.SecretMatch, _ func(ram.Progress)) (ram.Owner, ram.MatchReport, error) {
	if c.match == nil {
		return ram.Owner{}, ram.MatchReport{}, errors.New("the fake connection cannot match a secret")
	}
	return c.match(ctx, secret, m)
}

type countingLocator struct {
	mu    sync.Mutex
	calls int
	fn    func(ctx context.Context, id accesskey.ID) (ram.Owner, error)
}

func (c *countingLocator) Locate(ctx context.Context, id accesskey.ID) (ram.Owner, error) {
	c.mu.Lock()
	c.calls++
	c.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return ram.Owner{}, err
	}
	return c.fn(ctx, id)
}

func finding(id string) detect.Finding {
	return detect.Finding{KeyID: accesskey.MustParseID(id), Kind: detect.KindAccessKey, Locations: []detect.Location{{Source: "stdin", Format: "gitleaks-json"}}}
}

// Each key's owner is searched once, before the rest of the inspection, and the plan and the
// rotation use that one answer: a found owner, the search's own error, or an interruption that
// stops the batch before anything changes.
func TestBatch_locatesEachKeyOnce(t *testing.T) {
	const leaked = "LTAI5tFAKEONCE0000000001"
	id := accesskey.MustParseID(leaked)
	contain, err := playbooks.Builtin("contain-only")
	if err != nil {
		t.Fatal(err)
	}
	found := func(ctx context.Context, id accesskey.ID) (ram.Owner, error) {
		return ram.Owner{KeyID: id, UserName: user, Account: ram.Account{ID: "1001"}, Strategy: "ims"}, nil
	}
	tests := []struct {
		name     string
		locate   func(ctx context.Context, id accesskey.ID, cancel func()) (ram.Owner, error)
		wantAcct string // the plan's owner account
		wantErr  error  // the rotation's error (errors.Is)
		runErr   error  // Run's error (errors.Is)
		sev      Severity
	}{
		{"found", func(ctx context.Context, id accesskey.ID, _ func()) (ram.Owner, error) { return found(ctx, id) }, "1001", nil, nil, SeverityOK},
		{"not found", func(ctx context.Context, id accesskey.ID, _ func()) (ram.Owner, error) {
			return ram.Owner{}, &ram.NotFoundError{KeyID: id}
		}, "", ram.ErrOwnerNotFound, nil, SeverityNotFound},
		{"interrupted: the batch stops", func(ctx context.Context, id accesskey.ID, cancel func()) (ram.Owner, error) {
			cancel()
			return ram.Owner{}, ctx.Err()
		}, "", nil, context.Canceled, SeverityOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			f := newFake(user, leaked)
			conn := newFakeConn(f, func(ctx context.Context, id accesskey.ID) (ram.Owner, error) { return tt.locate(ctx, id, cancel) })
			b := &Batch{Session: conn, Playbook: contain, StateDir: t.TempDir(), Deps: Deps{Sleep: func(ctx context.Context, d time.Duration) error { return ctx.Err() }}}
			items, err := b.Run(ctx, []detect.Finding{finding(leaked)})
			if !errors.Is(err, tt.runErr) || (tt.runErr == nil) != (err == nil) {
				t.Fatalf("Run: %v, want %v", err, tt.runErr)
			}
			if got := conn.loc[id].calls; got != 1 {
				t.Errorf("%d searches, want 1", got)
			}
			// The ActionTrail read started once the owner was found is the plan's (and the
			// rotation's): one read in all.
			if got := f.count["LookupEvents"]; tt.wantAcct != "" && got != 1 {
				t.Errorf("%d ActionTrail reads, want 1", got)
			}
			it := items[0]
			if tt.runErr != nil {
				if it.Result != nil || deleted(f) {
					t.Errorf("an interrupted batch ran: %+v, calls %v", it.Result, f.calls)
				}
				return
			}
			if it.Err != nil {
				t.Fatalf("not planned: %v", it.Err)
			}
			if acct := it.ownerAccount(); acct != tt.wantAcct {
				t.Errorf("owner account %q, want %q", acct, tt.wantAcct)
			}
			if tt.wantAcct != "" && (it.Plan.Owner == nil || it.Plan.Owner.Account.ID != tt.wantAcct) {
				t.Errorf("plan owner %+v, want account %s", it.Plan.Owner, tt.wantAcct)
			}
			if it.Result == nil {
				t.Fatal("not run")
			}
			if tt.wantErr != nil && !errors.Is(it.Result.Err, tt.wantErr) || tt.wantErr == nil && it.Result.Err != nil {
				t.Errorf("result error %v, want %v", it.Result.Err, tt.wantErr)
			}
			if it.Severity() != tt.sev || Worst(items) != tt.sev {
				t.Errorf("severity %d (worst %d), want %d", it.Severity(), Worst(items), tt.sev)
			}
		})
	}
	// A key that cannot be rotated (an STS id) is never searched, and has no account.
	conn := newFakeConn(newFake(user), found)
	b := &Batch{Session: conn, Playbook: contain, DryRun: true, StateDir: t.TempDir()}
	items, err := b.Run(context.Background(), []detect.Finding{{KeyID: accesskey.MustParseID("STS.NTHxSgi1Xp6eQzcvDW6yJj3Ut"), Kind: detect.KindSTS}})
	if err != nil {
		t.Fatal(err)
	}
	for k, l := range conn.loc {
		if l.calls != 0 {
			t.Errorf("%s searched %d times", k, l.calls)
		}
	}
	if items[0].ownerAccount() != "" || items[0].Plan.Decision != DecisionRefuseSTS {
		t.Errorf("STS id: account %q, decision %s", items[0].ownerAccount(), items[0].Plan.Decision)
	}
}

// The playbook is chosen once per finding: before the owner search when no rule can depend on
// the owner (then that playbook's strategies drive the search), after it when one can.
func TestBatch_choosesThePlaybookOnce(t *testing.T) {
	const leaked = "LTAI5tFAKECHOOSE00000001"
	ownStrategies := filepath.Join(t.TempDir(), "own-order.yaml")
	if err := os.WriteFile(ownStrategies, []byte("name: own-order\nsteps:\n  - locate: {strategies: [scan, ims]}\n  - delete\n  - verify\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name           string
		config         string
		wantPlaybook   string
		wantReason     string
		wantStrategies []string
	}{
		{"by source, before the search", "locate: [ims, scan]\nrules:\n  - match: {sources: [gitleaks-json]}\n    playbook: contain-only\n",
			"contain-only", `source "gitleaks-json"`, []string{"ims", "scan"}},
		{"by user, once the owner is found: the configuration's order", "locate: [ims, scan]\nrules:\n  - match: {users: [" + user + "]}\n    playbook: contain-only\n",
			"contain-only", `user "` + user + `" matches`, []string{"ims", "scan"}},
		{"a playbook's own strategies over the configuration's", "locate: [ims, scan]\nplaybooks:\n  - path: " + ownStrategies + "\nrules:\n  - match: {sources: [gitleaks-json]}\n    playbook: own-order\n",
			"own-order", `source "gitleaks-json"`, []string{"scan", "ims"}},
		{"by account name, once the owner is found", "rules:\n  - match: {accounts: [prod]}\n    playbook: contain-only\n",
			"contain-only", `account prod (1001) matches "prod"`, playbooks.Strategies()},
		{"no rule matches", "rules:\n  - match: {users: [nobody]}\n    playbook: contain-only\n",
			"standard", "no rule matched", playbooks.Strategies()},
		{"a forced playbook's own order, though the rules choose by owner", "locate: [ims]\nplaybooks:\n  - path: " + ownStrategies + "\nrules:\n  - match: {accounts: [prod]}\n    playbook: contain-only\n",
			"own-order", "--playbook", []string{"scan", "ims"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.yaml") // loaded from a file: it names a playbook file
			if err := os.WriteFile(path, []byte(tt.config), 0o600); err != nil {
				t.Fatal(err)
			}
			conf, err := playbooks.LoadConfig(path)
			if err != nil {
				t.Fatal(err)
			}
			f := newFake(user, leaked)
			conn := newFakeConn(f, func(ctx context.Context, id accesskey.ID) (ram.Owner, error) {
				return ram.Owner{KeyID: id, UserName: user, Account: ram.Account{ID: "1001"}, Strategy: "ims"}, nil
			})
			b := &Batch{Session: conn, Config: conf, DryRun: true, StateDir: t.TempDir()}
			if tt.wantReason == "--playbook" {
				if b.Playbook, err = playbooks.Resolve(tt.wantPlaybook, conf); err != nil {
					t.Fatal(err)
				}
			}
			items, err := b.Run(context.Background(), []detect.Finding{finding(leaked)})
			if err != nil {
				t.Fatal(err)
			}
			it := items[0]
			if it.Playbook == nil || it.Playbook.Name != tt.wantPlaybook || !strings.Contains(it.PlaybookReason, tt.wantReason) {
				t.Errorf("playbook %v (%s; %v), want %s (%s)", it.Playbook, it.PlaybookReason, it.Err, tt.wantPlaybook, tt.wantReason)
			}
			if it.Err == nil && it.Plan.Playbook != tt.wantPlaybook {
				t.Errorf("plan's playbook %s, want %s", it.Plan.Playbook, tt.wantPlaybook)
			}
			if got := conn.strategies[accesskey.MustParseID(leaked)]; !slices.Equal(got, tt.wantStrategies) {
				t.Errorf("searched with %v, want %v", got, tt.wantStrategies)
			}
		})
	}
}

// A Confirmer that says no stops the batch before anything changes; a dry run never asks.
func TestBatch_confirmation(t *testing.T) {
	const leaked = "LTAI5tFAKECONFIRM0000001"
	contain, err := playbooks.Builtin("contain-only")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name    string
		dryRun  bool
		answer  bool
		asked   int
		wantErr error
		deleted bool
	}{
		{"yes", false, true, 1, nil, true},
		{"no", false, false, 1, ErrNotConfirmed, false},
		{"dry run", true, true, 0, nil, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(user, leaked)
			conn := newFakeConn(f, func(ctx context.Context, id accesskey.ID) (ram.Owner, error) {
				return ram.Owner{KeyID: id, UserName: user, Account: ram.Account{ID: "1001"}}, nil
			})
			c := &answer{yes: tt.answer}
			b := &Batch{Session: conn, Playbook: contain, DryRun: tt.dryRun, Confirmer: c,
				StateDir: t.TempDir(), Deps: Deps{Sleep: func(ctx context.Context, d time.Duration) error { return ctx.Err() }}}
			items, err := b.Run(context.Background(), []detect.Finding{finding(leaked)})
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("Run: %v, want %v", err, tt.wantErr)
			}
			if c.asked != tt.asked {
				t.Errorf("asked %d times, want %d", c.asked, tt.asked)
			}
			if got := deleted(f); got != tt.deleted {
				t.Errorf("deleted: %v, want %v (calls %v)", got, tt.deleted, f.calls)
			}
			if !tt.deleted && items[0].Result != nil {
				t.Errorf("ran without confirmation: %+v", items[0].Result)
			}
		})
	}
}

// deleted reports whether the fake saw a DeleteAccessKey.
func deleted(f *fakeAPI) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.ContainsFunc(f.calls, func(c string) bool { return strings.HasPrefix(c, "DeleteAccessKey") })
}

type answer struct {
	yes   bool
	asked int
}

func (a *answer) Confirm(ctx context.Context, items []*Item) (bool, error) {
	a.asked++
	return a.yes, nil
}

// The exit-code ranking as data: the most urgent outcome wins (design §10: 4, 1, 2, 3, 5, 0).
func TestSeverity(t *testing.T) {
	id := accesskey.MustParseID("LTAI5tFAKESEVERITY000001")
	tests := []struct {
		name string
		it   Item
		want Severity
	}{
		{"planned, dry run", Item{}, SeverityOK},
		{"cannot plan: configuration", Item{Err: invalidf("no sink")}, SeverityInvalid},
		{"cannot plan, dry run: only usage counts", Item{Err: errors.New("boom")}, SeverityOK},
		{"cannot plan", Item{Err: errors.New("boom"), executing: true}, SeverityFailed},
		{"interrupted before it ran", Item{executing: true}, SeverityPartial},
		{"remediated", Item{executing: true, Result: &Result{}}, SeverityOK},
		{"refused", Item{executing: true, Result: &Result{Err: &RefusedError{KeyID: id}}}, SeverityRefused},
		{"not found", Item{executing: true, Result: &Result{Err: &ram.NotFoundError{KeyID: id}}}, SeverityNotFound},
		{"partial", Item{executing: true, Result: &Result{Err: &PartialError{KeyID: id}}}, SeverityPartial},
		{"in progress", Item{executing: true, Result: &Result{Err: ErrInProgress}}, SeverityPartial},
		{"failed", Item{executing: true, Result: &Result{Err: errors.New("boom")}}, SeverityFailed},
	}
	var all []*Item
	for _, tt := range tests {
		if got := tt.it.Severity(); got != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, got, tt.want)
		}
		all = append(all, &tt.it)
	}
	if w := Worst(all); w != SeverityPartial {
		t.Errorf("worst %d, want partial", w)
	}
	if w := Worst(all[:3]); w != SeverityInvalid {
		t.Errorf("worst of the dry run %d, want invalid", w)
	}
	if w := Worst(nil); w != SeverityOK {
		t.Errorf("worst of nothing %d", w)
	}
}

// A source's alerts reach the close step of their key only, and an owner the source knows (a
// Security Center record of a root-account key) is taken without a search: the key is refused,
// its alert never closed.
func TestBatch_alertsAndKnownOwners(t *testing.T) {
	const leaked, root = "LTAI5tFAKEALERT000000001", "LTAI5tFAKEROOTALERT00001"
	f := newFake(user, leaked)
	conn := newFakeConn(f, func(ctx context.Context, id accesskey.ID) (ram.Owner, error) {
		return ram.Owner{KeyID: id, UserName: user, Account: ram.Account{ID: "1001"}, Strategy: "ims"}, nil
	})
	contain, err := playbooks.Builtin("contain-only")
	if err != nil {
		t.Fatal(err)
	}
	a1, a2 := &fakeAlert{name: "record 1"}, &fakeAlert{name: "record 2"}
	b := &Batch{Session: conn, Playbook: contain, StateDir: t.TempDir(), Deps: Deps{Sleep: func(ctx context.Context, d time.Duration) error { return ctx.Err() }},
		Alerts: map[accesskey.ID][]Alert{accesskey.MustParseID(leaked): {a1}, accesskey.MustParseID(root): {a2}},
		Owners: map[accesskey.ID]ram.Owner{accesskey.MustParseID(root): {KeyID: accesskey.MustParseID(root), Account: ram.Account{ID: "1001"}, Root: true, Strategy: "security-center"}}}
	items, err := b.Run(context.Background(), []detect.Finding{finding(leaked), finding(root)})
	if err != nil {
		t.Fatal(err)
	}
	if it := items[0]; it.Result == nil || it.Result.Outcome != "remediated" || !a1.closed || len(it.Result.Alerts) != 1 {
		t.Errorf("leaked key: %+v", it.Result)
	}
	if c := conn.loc[accesskey.MustParseID(root)].calls; c != 0 {
		t.Errorf("the known owner was searched %d times", c)
	}
	if it := items[1]; it.Plan.Decision != DecisionRefuseRoot || it.Severity() != SeverityRefused || a2.closed || len(a2.calls) != 0 {
		t.Errorf("root key: %s, severity %d, alert closes %v", it.Plan.Decision, it.Severity(), a2.calls)
	}
}

// Fresh keeps every setting of the batch it comes from and none of a run's alerts, owners or
// prefetches; a field added to Batch must be sorted into one or the other here.
func TestBatch_Fresh(t *testing.T) {
	b := &Batch{Session: &fakeConn{}, Config: &playbooks.Config{}, Playbook: &playbooks.Playbook{Name: "p"}, Strategies: []string{"ims"},
		Progress: func(ram.Progress) {}, OnStep: func(accesskey.ID) func(StepResult) { return nil }, StepLines: io.Discard,
		Outputs: Outputs{Sinks: []string{"s"}}, Redactor: accesskey.NewRedactor(), StateDir: "/state", ResumeCommand: "respond …",
		Deps: Deps{LockWait: time.Second}, OwnUserAgent: "ua", DryRun: true, Confirmer: &answer{},
		Alerts: map[accesskey.ID][]Alert{}, Owners: map[accesskey.ID]ram.Owner{}}
	b.pre.wg.Add(1)
	defer b.pre.wg.Done()
	got := b.Fresh()
	if got.Alerts != nil || got.Owners != nil || got.onStep != nil {
		t.Errorf("Fresh kept a run's state: alerts %v, owners %v", got.Alerts, got.Owners)
	}
	bt, gv, bv := reflect.TypeFor[Batch](), reflect.ValueOf(got).Elem(), reflect.ValueOf(b).Elem()
	for i := range bt.NumField() {
		f := bt.Field(i)
		if !f.IsExported() || f.Name == "Alerts" || f.Name == "Owners" {
			continue
		}
		if bv.Field(i).IsZero() {
			t.Errorf("the test sets no %s: set it above", f.Name)
			continue
		}
		same := gv.Field(i).Kind() == reflect.Func && gv.Field(i).Pointer() == bv.Field(i).Pointer() ||
			gv.Field(i).Kind() != reflect.Func && reflect.DeepEqual(gv.Field(i).Interface(), bv.Field(i).Interface())
		if !same {
			t.Errorf("Fresh lost %s", f.Name)
		}
	}
}

// A finding's run notifies the channels its playbook names (every configured one when it names
// none), and only those are opened: a channel no chosen playbook names may lack its URL; one it
// names that cannot be opened makes that finding invalid. A canary's alert, when the playbook has
// no notify step, goes to every channel.
func TestBatch_notifiesThePlaybooksChannels(t *testing.T) {
	const leaked = "LTAI5tFAKENOTIFY00000001"
	dir := t.TempDir()
	for name, body := range map[string]string{
		"to-a.yaml":   "name: to-a\nsteps: [locate, delete, verify, notify]\nnotify: [a]\n",
		"to-b.yaml":   "name: to-b\nsteps: [locate, delete, verify, notify]\nnotify: [b]\n",
		"silent.yaml": "name: silent\nsteps: [locate, delete, verify]\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	channels := "notify:\n  a: {type: webhook, url-env: HOOK_A}\n  b: {type: webhook, url-env: HOOK_B}\n" +
		"playbooks:\n  - path: " + dir + "/to-a.yaml\n  - path: " + dir + "/to-b.yaml\n  - path: " + dir + "/silent.yaml\n"
	tests := []struct {
		name, rule string
		canary     bool
		env        map[string]string
		want       []string // the channels of the finding's run; nil with invalid
		invalid    bool
	}{
		{"the playbook's", "to-a", false, map[string]string{"HOOK_A": "http://127.0.0.1:1/a", "HOOK_B": "http://127.0.0.1:1/b"}, []string{"a"}, false},
		{"every one when it names none", "contain-only", false, map[string]string{"HOOK_A": "http://127.0.0.1:1/a", "HOOK_B": "http://127.0.0.1:1/b"}, []string{"a", "b"}, false},
		{"one no playbook names is not opened", "to-a", false, map[string]string{"HOOK_A": "http://127.0.0.1:1/a"}, []string{"a"}, false},
		{"one the playbook names cannot be opened", "to-b", false, map[string]string{"HOOK_A": "http://127.0.0.1:1/a"}, nil, true},
		{"a canary's alert without a notify step", "silent", true, map[string]string{"HOOK_A": "http://127.0.0.1:1/a", "HOOK_B": "http://127.0.0.1:1/b"}, []string{"a", "b"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := channels + "rules:\n  - playbook: " + tt.rule + "\n"
			if tt.canary {
				src += "canaries: [" + leaked + "]\n"
			}
			path := filepath.Join(t.TempDir(), "config.yaml")
			if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
				t.Fatal(err)
			}
			conf, err := playbooks.LoadConfig(path)
			if err != nil {
				t.Fatal(err)
			}
			f := newFake(user, leaked)
			conn := newFakeConn(f, func(ctx context.Context, id accesskey.ID) (ram.Owner, error) {
				return ram.Owner{KeyID: id, UserName: user, Account: ram.Account{ID: "1001"}, Strategy: "ims"}, nil
			})
			b := &Batch{Session: conn, Config: conf, DryRun: true, StateDir: t.TempDir(), Outputs: Outputs{Getenv: func(k string) string { return tt.env[k] }}}
			items, err := b.Run(context.Background(), []detect.Finding{finding(leaked)})
			if err != nil {
				t.Fatal(err)
			}
			it := items[0]
			var ie *InvalidError
			if tt.invalid != errors.As(it.Err, &ie) {
				t.Fatalf("error %v, want invalid %v", it.Err, tt.invalid)
			}
			var got []string
			for _, n := range it.deps.Notifiers {
				got = append(got, n.Name())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("channels %v, want %v", got, tt.want)
			}
		})
	}
}

// Each key's own journal is checked as the key is inspected, not every journal in the state
// directory at every batch (serve opens one per delivery, over every key it ever remediated): an
// unsafe journal of another key does not stop this one; this key's own makes it invalid (exit 2).
func TestBatch_checksTheKeysOwnJournal(t *testing.T) {
	const leaked, other = "LTAI5tFAKEOWNJOURNAL0001", "LTAI5tFAKEOTHERJOURNAL01"
	for _, tc := range []struct {
		name    string
		planted string // the journal planted as a link
		invalid bool
	}{
		{"another key's journal is a link", other, false},
		{"the key's own journal is a link", leaked, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.Symlink(filepath.Join(t.TempDir(), "victim"), filepath.Join(dir, tc.planted+".jsonl")); err != nil {
				t.Fatal(err)
			}
			conn := newFakeConn(newFake(user, leaked), func(ctx context.Context, id accesskey.ID) (ram.Owner, error) {
				return ram.Owner{KeyID: id, UserName: user, Account: ram.Account{ID: "1001"}, Strategy: "ims"}, nil
			})
			contain, err := playbooks.Builtin("contain-only")
			if err != nil {
				t.Fatal(err)
			}
			b := &Batch{Session: conn, Playbook: contain, DryRun: true, StateDir: dir}
			items, err := b.Run(context.Background(), []detect.Finding{finding(leaked)})
			if err != nil {
				t.Fatal(err)
			}
			var ie *InvalidError
			if got := errors.As(items[0].Err, &ie); got != tc.invalid {
				t.Fatalf("invalid = %v (%v), want %v", got, items[0].Err, tc.invalid)
			}
			if tc.invalid && !strings.Contains(items[0].Err.Error(), "symbolic link") {
				t.Errorf("the error does not say what is wrong: %v", items[0].Err)
			}
			if !tc.invalid && items[0].Plan.Decision != DecisionRotate {
				t.Errorf("decision %s, want rotate", items[0].Plan.Decision)
			}
		})
	}
}
