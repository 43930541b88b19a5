package rotate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/respond-dev/respond/detect"
	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/ram/emulator"
	"github.com/respond-dev/respond/rotate/journal"
	"github.com/respond-dev/respond/rotate/sink"
)

// Verify calls the leaked key dead only when the cloud says it knows no such id
// (InvalidAccessKeyId.NotFound). A signature mismatch means the cloud still knows the id: the
// secret respond holds is not the key's (a wrong or altered secret in the finding), and the key
// may sign for the attacker who has the right one — here while the deletion propagates.
func TestEmulatorVerifyLeakedSecretNeedsUnknownID(t *testing.T) {
	const leaked = "LTAI5tFAKECIDEPLOY000001"
	same := func(s string) string { return s }
	wrong := func(s string) string { return strings.Repeat("w", len(s)) }
	tests := []struct {
		name        string
		secret      func(real string) string
		propagation time.Duration
		fault       emulator.FaultKind // on the leaked pair's GetCallerIdentity (faults follow authentication: the key still signs)
		outcome     journal.Outcome
		detail      string
	}{
		{"right secret, deletion propagated", same, 0, 0, journal.OutcomeRemediated, "leaked secret rejected"},
		{"right secret, deletion propagating", same, time.Hour, 0, journal.OutcomePartial, "the leaked pair still authenticates"},
		{"wrong secret, deletion propagating", wrong, time.Hour, 0, journal.OutcomePartial, "the cloud still knows the leaked key's id"},
		{"wrong secret, deletion propagated", wrong, 0, 0, journal.OutcomeRemediated, "leaked secret rejected"},
		{"check answers 5xx", same, time.Hour, emulator.FaultServerErrorBefore, journal.OutcomePartial, "leaked secret not rejected"},
		{"check throttled", same, time.Hour, emulator.FaultThrottle, journal.OutcomePartial, "leaked secret not rejected"},
		{"check answers garbage", same, time.Hour, emulator.FaultGarbage, journal.OutcomePartial, "leaked secret not rejected"},
		{"check dropped", same, time.Hour, emulator.FaultDropBefore, journal.OutcomePartial, "leaked secret not rejected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEmu(t)
			e.s.SetPropagationDelay(tt.propagation)
			if tt.fault != 0 {
				e.s.AddFault(emulator.Fault{Action: "GetCallerIdentity", Kind: tt.fault})
				cfg := e.cfg
				cfg.Retry = ram.RetryPolicy{MaxAttempts: 1} // the answer itself, not the retries' wait
				e.deps.Verifier = emuVerifier{cfg: cfg}
			}
			ctx := context.Background()
			cred, _ := e.org.Key(leaked)
			f := detect.Finding{KeyID: accesskey.MustParseID(leaked), Secret: accesskey.NewSecret(tt.secret(cred.AccessKeySecret))}
			e.deps.Sinks = nil // contain-only: no replacement, whose own propagation would fail verify too
			s := Settings{Playbook: "contain-only", Steps: []playbooks.StepID{playbooks.StepLocate, playbooks.StepAssess, playbooks.StepDelete, playbooks.StepVerify, playbooks.StepNotify},
				CheckLeakedSecret: true, VerifyTimeout: time.Nanosecond, VerifyInterval: 10 * time.Millisecond, // one try each
				Self: accesskey.MustParseID(e.org.Admin().AccessKeyID)}
			r := Execute(ctx, NewPlan(f, Inspect(ctx, f, e.deps), s), e.deps)
			v := stepResult(r, playbooks.StepVerify)
			if r.Outcome != tt.outcome || !strings.Contains(v.Detail, tt.detail) {
				t.Fatalf("outcome %s, verify %s: %s; want %s with %q", r.Outcome, v.Outcome, v.Detail, tt.outcome, tt.detail)
			}
		})
	}
}

// imsLocator finds the owner as the IMS strategy does when GetUser(UserAccessKeyId) still names
// the user of a deleted key (undocumented, alibaba-api.md §8): the key is not among the user's
// keys, and the locator did not ask the bin. stale: the keys it hands on are a list taken before
// the key came back.
type imsLocator struct {
	c          *ram.Client
	acct, user string
	stale      bool
}

func (l imsLocator) Locate(ctx context.Context, id accesskey.ID) (ram.Owner, error) {
	keys, err := l.c.ListAccessKeys(ctx, l.user)
	if err != nil {
		return ram.Owner{}, err
	}
	if l.stale {
		keys = slices.DeleteFunc(keys, func(k ram.AccessKey) bool { return k.ID == id })
	}
	return ram.Owner{KeyID: id, Account: ram.Account{ID: l.acct}, UserName: l.user, Strategy: ram.StrategyIMS, Keys: keys}, nil
}

// already-remediated is claimed only on the cloud's evidence as the run ends: the key is not
// listed, no recycle bin holds it (a bin that could not be read when planning, a 5xx here, proves
// nothing), and a known leaked secret is refused as an unknown id. Else the run ends partial with
// its alerts open.
func TestEmulatorAlreadyRemediatedNeedsEvidence(t *testing.T) {
	const leaked, user = "LTAI5tFAKECIDEPLOY000001", "ci-deploy"
	tests := []struct {
		name        string
		deleted     bool // deleted by hand (into the bin) before planning
		purged      bool // and purged
		binFaultsAt int  // the bin answers 500 to its first n calls
		stale       bool // the locator's list lacks the live key
		secret      bool // the leaked secret is known
		restore     bool // restored from the bin between planning and the run
		outcome     journal.Outcome
	}{
		{"in the bin, unreadable when planning", true, false, 1, false, false, false, journal.OutcomePartial},
		{"in the bin, unreadable throughout", true, false, 10, false, false, false, journal.OutcomePartial},
		{"purged, unreadable when planning", true, true, 1, false, false, false, journal.OutcomeAlreadyRemediated},
		{"purged, unreadable throughout", true, true, 10, false, false, false, journal.OutcomePartial},
		{"purged, readable", true, true, 0, false, false, false, journal.OutcomeAlreadyRemediated},
		{"purged, secret refused", true, true, 0, false, true, false, journal.OutcomeAlreadyRemediated},
		{"restored after planning", true, false, 1, false, false, true, journal.OutcomePartial},
		{"alive, stale list, secret known", false, false, 0, true, true, false, journal.OutcomePartial},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEmu(t)
			ctx := context.Background()
			cfg := e.cfg
			cfg.Retry = ram.RetryPolicy{MaxAttempts: 1} // each 500 is one answer
			c, err := ram.New(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			acct := e.org.Admin().AccountID
			e.deps.Accounts, e.deps.Locator = fakeAccounts{api: c}, imsLocator{c: c, acct: acct, user: user, stale: tt.stale}
			id := accesskey.MustParseID(leaked)
			u, err := c.GetUser(ctx, user)
			if err != nil {
				t.Fatal(err)
			}
			if tt.deleted {
				if err := c.DeleteAccessKey(ctx, user, id); err != nil {
					t.Fatal(err)
				}
			}
			if tt.purged {
				if err := c.DeleteAccessKeyInRecycleBin(ctx, u.UserID, id); err != nil {
					t.Fatal(err)
				}
			}
			if tt.binFaultsAt > 0 {
				e.s.AddFault(emulator.Fault{Action: "GetAccessKeyInfoInRecycleBin", Kind: emulator.FaultServerErrorBefore, Count: tt.binFaultsAt})
			}
			alert := &countingAlert{}
			e.deps.Alerts = []Alert{alert}
			f := detect.Finding{KeyID: id}
			if tt.secret {
				cred, _ := e.org.Key(leaked)
				f.Secret = accesskey.NewSecret(cred.AccessKeySecret)
			}
			s := Settings{Self: accesskey.MustParseID(e.org.Admin().AccessKeyID), Sinks: DescribeSinks(e.deps.Sinks),
				CloseCalls: closeCalls(e.deps.Alerts), CheckLeakedSecret: true}
			p := NewPlan(f, Inspect(ctx, f, e.deps), s)
			if p.Decision != DecisionAlreadyRemediated {
				t.Fatalf("plan %s: %s", p.Decision, p.Reason)
			}
			if tt.restore {
				if err := c.RestoreAccessKeyFromRecycleBin(ctx, u.UserID, id); err != nil {
					t.Fatal(err)
				}
			}
			r := Execute(ctx, p, e.deps)
			if r.Outcome != tt.outcome {
				t.Fatalf("outcome %s (%v), want %s", r.Outcome, r.Err, tt.outcome)
			}
			if closed := alert.closed > 0; closed != (tt.outcome == journal.OutcomeAlreadyRemediated) {
				t.Errorf("alert closed: %v, outcome %s", closed, r.Outcome)
			}
		})
	}
}

// countingAlert is an alert that counts its closes.
type countingAlert struct{ closed int }

func (a *countingAlert) String() string                 { return "test alert" }
func (a *countingAlert) Action() string                 { return "test:Close" }
func (a *countingAlert) Call(runID, done string) string { return "close" }
func (a *countingAlert) Close(ctx context.Context, runID, done string) (AlertResult, error) {
	a.closed++
	return AlertResult{Outcome: AlertClosed}, nil
}

// A journal that says an earlier run finished is a memory, not proof. A key that is back (here: a
// cloud where it lives again, as after a restore from the bin) is rotated again; a key that has
// left its user's keys since planning (deleted again by hand) may sit restorable in a bin: the run
// does not end already-remediated then, nor close the alerts.
func TestEmulatorJournalDoneKeyBack(t *testing.T) {
	const leaked, user = "LTAI5tFAKECIDEPLOY000001", "ci-deploy"
	for _, binnedSincePlanning := range []bool{false, true} {
		t.Run(fmt.Sprint("binned since planning ", binnedSincePlanning), func(t *testing.T) {
			ctx := context.Background()
			first := newEmu(t)
			id := accesskey.MustParseID(leaked)
			cred, _ := first.org.Key(leaked)
			f := detect.Finding{KeyID: id, Secret: accesskey.NewSecret(cred.AccessKeySecret)}
			s := Settings{Self: accesskey.MustParseID(first.org.Admin().AccessKeyID), Sinks: DescribeSinks(first.deps.Sinks),
				VerifyTimeout: time.Second, VerifyInterval: 10 * time.Millisecond, CheckLeakedSecret: true}
			if r := Execute(ctx, NewPlan(f, Inspect(ctx, f, first.deps), s), first.deps); r.Outcome != journal.OutcomeRemediated {
				t.Fatalf("first run: %s %v", r.Outcome, r.Err)
			}
			e := newEmu(t) // the key is back, with the journal of the run that finished it
			e.deps.StateDir = first.deps.StateDir
			alert := &countingAlert{}
			e.deps.Alerts = []Alert{alert}
			s.CloseCalls = closeCalls(e.deps.Alerts)
			p := NewPlan(f, Inspect(ctx, f, e.deps), s)
			if p.Decision != DecisionRotate {
				t.Fatalf("plan %s: %s", p.Decision, p.Reason)
			}
			if binnedSincePlanning {
				if err := e.admin.DeleteAccessKey(ctx, user, id); err != nil { // by hand, into the bin
					t.Fatal(err)
				}
			}
			r := Execute(ctx, p, e.deps)
			if binnedSincePlanning {
				if r.Outcome != journal.OutcomePartial || alert.closed > 0 {
					t.Fatalf("outcome %s (%v), %d alert(s) closed: the key is restorable from the bin", r.Outcome, r.Err, alert.closed)
				}
				if r.Err == nil || !strings.Contains(r.Err.Error(), "recycle bin") {
					t.Errorf("the error does not say the key is in the bin: %v", r.Err)
				}
				return
			}
			if keys := e.keys(t, user); r.Outcome != journal.OutcomeRemediated || alert.closed != 1 || contains(keys, leaked) {
				t.Fatalf("outcome %s (%v), %d alert(s) closed, keys %v: the key that came back is rotated again", r.Outcome, r.Err, alert.closed, keys)
			}
		})
	}
}

// The close step closes alerts only in the state the outcome calls remediated: a key deleted but
// not (yet) purged is restorable, so its alerts stay open, whatever step order led there.
func TestCloseNeedsThePurge(t *testing.T) {
	for _, purged := range []bool{false, true} {
		alert := &countingAlert{}
		x := &run{p: Plan{KeyID: accesskey.MustParseID(leakedID)}, d: Deps{Alerts: []Alert{alert}}, res: &Result{}, red: accesskey.NewRedactor()}
		x.leakedDeleted, x.leakedPurged = true, purged
		x.close(context.Background(), false)
		if closed := alert.closed > 0; closed != purged {
			t.Errorf("purged %v: alert closed %v", purged, closed)
		}
	}
}

// A key this run deleted must reach a recycle bin: a bin that does not show it yet only lags (the
// delay is undocumented), so the purge waits for it, up to verify-timeout, instead of taking the
// empty bin for "already purged" — after which the key would land in the bin, restorable.
func TestEmulatorPurgeWaitsForALaggingBin(t *testing.T) {
	const leaked = "LTAI5tFAKECIDEPLOY000001"
	for _, lag := range []time.Duration{0, 50 * time.Millisecond} {
		t.Run(lag.String(), func(t *testing.T) {
			e := newEmu(t)
			e.s.SetRecycleBinDelay(lag)
			e.deps.Sleep = ram.Sleep // the bin catches up in real time
			ctx := context.Background()
			cred, _ := e.org.Key(leaked)
			f := detect.Finding{KeyID: accesskey.MustParseID(leaked), Secret: accesskey.NewSecret(cred.AccessKeySecret)}
			s := Settings{CheckLeakedSecret: true, VerifyTimeout: time.Minute, VerifyInterval: 10 * time.Millisecond,
				Self: accesskey.MustParseID(e.org.Admin().AccessKeyID), Sinks: DescribeSinks(e.deps.Sinks)}
			r := Execute(ctx, NewPlan(f, Inspect(ctx, f, e.deps), s), e.deps)
			if r.Outcome != journal.OutcomeRemediated {
				t.Fatalf("%s %v %+v", r.Outcome, r.Err, r.Steps)
			}
			e.s.SetClockSkew(10 * time.Minute) // long after the lag (within the signature's 15 minutes)
			if b, err := e.admin.GetAccessKeyInfoInRecycleBin(ctx, f.KeyID); !errors.Is(err, ram.ErrNotFound) {
				t.Fatalf("remediated, yet the key is in the recycle bin of %s (%v): restorable", b.UserID, err)
			}
		})
	}
}

// Eradication deletes the attacker's keys and purges them: a bin that lags behind the delete must
// not make the purge find nothing and call it done, leaving the attacker's key restorable.
func TestIncidentEradicationWaitsForALaggingBin(t *testing.T) {
	e := newIncidentEnv(t)
	e.s.SetRecycleBinDelay(10 * time.Second) // within verify-timeout (30 s)
	ctx := context.Background()
	sess, err := Connect(ctx, nil, SessionOptions{Base: ram.Config{Endpoint: e.cfg.Endpoint, Scheme: "HTTP", UserAgent: "respond/test", LookupEventsQPS: -1},
		Home: e.cfg.Credentials, FixedEndpoint: true})
	if err != nil {
		t.Fatal(err)
	}
	pb, err := playbooks.Builtin("contain-first")
	if err != nil {
		t.Fatal(err)
	}
	leaked, _ := e.org.Key(incLeaked)
	// the run's waits move the clock the emulator keeps: the bin catches up after 10 s
	sleep := func(ctx context.Context, d time.Duration) error { e.clock.set(e.clock.Now().Add(d)); return ctx.Err() }
	b := &Batch{Session: sess, Playbook: pb, StateDir: e.dir, OwnUserAgent: "respond/test",
		Outputs: Outputs{Fallback: func(playbooks.TemplateValues) (sink.Sink, error) { return e.sink, nil }, Now: e.clock.Now},
		Deps:    Deps{Clock: e.clock, Sleep: sleep, LateCreateWindow: 300 * time.Millisecond}}
	items, err := b.Run(ctx, []detect.Finding{{KeyID: accesskey.MustParseID(incLeaked), Kind: detect.KindAccessKey,
		Secret: accesskey.NewSecret(leaked.AccessKeySecret), Locations: []detect.Location{{Source: "flag"}}}})
	if err != nil || items[0].Err != nil {
		t.Fatalf("%v %v", err, items[0].Err)
	}
	if r := items[0].Result; r.Outcome != journal.OutcomeRemediated {
		t.Fatalf("outcome %s: %+v", r.Outcome, r.Steps)
	}
	e.clock.set(e.clock.Now().Add(time.Hour))
	for _, id := range []string{incLeaked, "LTAI5tINCSVCBACKUP000001"} {
		if bk, err := e.admin.GetAccessKeyInfoInRecycleBin(ctx, accesskey.MustParseID(id)); !errors.Is(err, ram.ErrNotFound) {
			t.Errorf("outcome %s, yet %s is in the recycle bin of %s (%v): restorable", items[0].Result.Outcome, id, bk.UserID, err)
		}
	}
}
