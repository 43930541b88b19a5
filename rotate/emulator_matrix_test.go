package rotate

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/respond-dev/respond/detect"
	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/ram/emulator"
	"github.com/respond-dev/respond/rotate/assess"
	"github.com/respond-dev/respond/rotate/journal"
	"github.com/respond-dev/respond/rotate/notify"
)

// These tests run the engine against the emulator with the real ram.Client and the real
// ram.Locator (default strategies), and check the end state through the SDK.

const (
	ciKey  = "LTAI5tFAKECIDEPLOY000001"
	ciUser = "ci-deploy"
)

// newRealEmu is newEmu with the real ram.Locator, a fast retry policy, respond's User-Agent and
// a notifier.
func newRealEmu(t *testing.T) *emuEnv {
	e := newEmu(t)
	e.cfg.UserAgent = "respond/test"
	e.cfg.Retry = ram.RetryPolicy{MaxAttempts: 5, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond}
	c, err := ram.New(context.Background(), e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.admin = c
	e.deps.Locator = &ram.Locator{Accounts: []ram.LocatorAccount{{Account: ram.Account{ID: e.org.Admin().AccountID}, API: c}}}
	e.deps.Accounts = fakeAccounts{api: c}
	e.deps.Verifier = emuVerifier{cfg: e.cfg}
	e.deps.Notifiers = []notify.Notifier{&memNotifier{}}
	return e
}

func (e *emuEnv) settings() Settings {
	return Settings{Playbook: "default", CheckLeakedSecret: true, VerifyTimeout: 5 * time.Second, VerifyInterval: 10 * time.Millisecond,
		Self: accesskey.MustParseID(e.org.Admin().AccessKeyID), Sinks: DescribeSinks(e.deps.Sinks),
		Canaries: []accesskey.ID{accesskey.MustParseID("LTAI5tFAKECANARY00000001")}}
}

func (e *emuEnv) finding(t *testing.T, id string) detect.Finding {
	t.Helper()
	cred, ok := e.org.Key(id)
	if !ok {
		t.Fatalf("no seeded key %s", id)
	}
	return detect.Finding{KeyID: accesskey.MustParseID(id), Secret: accesskey.NewSecret(cred.AccessKeySecret)}
}

func (e *emuEnv) run(t *testing.T, id string, s Settings) (Plan, Result) {
	t.Helper()
	ctx := context.Background()
	f := e.finding(t, id)
	p := NewPlan(f, Inspect(ctx, f, e.deps), s)
	return p, Execute(ctx, p, e.deps)
}

// convergedSDK asserts, through the SDK, the end state: the leaked key gone, exactly one other
// key (the replacement) besides keep, the sink holding its secret, which authenticates, no
// UpdateAccessKey ever sent, and no protocol violation.
func (e *emuEnv) convergedSDK(t *testing.T, user, leaked, newKeyID string, keep ...string) {
	t.Helper()
	ids := e.keys(t, user)
	if contains(ids, leaked) {
		t.Fatalf("the leaked key still exists: %v", ids)
	}
	var news []string
	for _, id := range ids {
		if !contains(keep, id) {
			news = append(news, id)
		}
	}
	for _, k := range keep {
		if !contains(ids, k) {
			t.Errorf("the other key %s was touched: %v", k, ids)
		}
	}
	if len(news) != 1 || news[0] != newKeyID {
		t.Fatalf("want exactly one replacement %s (no orphan), keys = %v", newKeyID, ids)
	}
	sec := e.sink.got[newKeyID]
	if sec == "" {
		t.Fatalf("the sink does not hold %s", newKeyID)
	}
	if _, err := (emuVerifier{e.cfg}).Authenticates(context.Background(), accesskey.MustParseID(newKeyID), accesskey.NewSecret(sec)); err != nil {
		t.Errorf("the stored secret does not authenticate: %v", err)
	}
	if b, err := e.admin.GetAccessKeyInfoInRecycleBin(context.Background(), accesskey.MustParseID(leaked)); !errors.Is(err, ram.ErrNotFound) {
		t.Errorf("the leaked key is still in the recycle bin (restorable): %+v, %v", b, err)
	}
	for _, r := range e.s.RequestLog() {
		if r.Action == "UpdateAccessKey" {
			t.Errorf("UpdateAccessKey was sent")
		}
	}
	if v := e.s.Violations(); len(v) > 0 {
		t.Errorf("protocol violations: %v", v)
	}
}

func mutationsIn(log []emulator.Request) []string {
	var out []string
	for _, r := range log {
		if strings.HasPrefix(r.Action, "Create") || strings.HasPrefix(r.Action, "Delete") || strings.HasPrefix(r.Action, "Update") {
			out = append(out, r.Action)
		}
	}
	return out
}

func TestEmulatorRealLocatorRootKey(t *testing.T) {
	e := newRealEmu(t)
	root, _ := e.org.Key("LTAI5tFAKEROOTACME000001")
	p, r := e.run(t, root.AccessKeyID, e.settings())
	var re *RefusedError
	if p.Decision != DecisionRefuseRoot || r.Outcome != journal.OutcomeRefused || !errors.As(r.Err, &re) || re.Decision != DecisionRefuseRoot {
		t.Fatalf("plan %s (%s), result %s %v", p.Decision, p.Reason, r.Outcome, r.Err)
	}
	if len(r.LeftForHuman) == 0 || !strings.Contains(r.LeftForHuman[0], "console") || !strings.Contains(r.Error, "root account") {
		t.Errorf("no guidance: %v / %s", r.LeftForHuman, r.Error)
	}
	if m := mutationsIn(e.s.RequestLog()); len(m) != 0 {
		t.Errorf("mutations: %v", m)
	}
	// the root key still works
	if _, err := (emuVerifier{e.cfg}).Authenticates(context.Background(), accesskey.MustParseID(root.AccessKeyID), accesskey.NewSecret(root.AccessKeySecret)); err != nil {
		t.Errorf("the root key was touched: %v", err)
	}
}

func TestEmulatorRealLocatorAlreadyGone(t *testing.T) {
	t.Run("re-run", func(t *testing.T) {
		e := newRealEmu(t)
		_, r := e.run(t, ciKey, e.settings())
		if r.Outcome != journal.OutcomeRemediated {
			t.Fatalf("%s %v", r.Outcome, r.Err)
		}
		t.Logf("one rotation (real locator, assessment, verify with both secrets): %d API calls", len(e.s.RequestLog()))
		n := len(mutationsIn(e.s.RequestLog()))
		p2, r2 := e.run(t, ciKey, e.settings())
		if p2.Decision != DecisionAlreadyRemediated || r2.Outcome != journal.OutcomeAlreadyRemediated || r2.Err != nil {
			t.Errorf("re-run: %s %s %v", p2.Decision, r2.Outcome, r2.Err)
		}
		if m := mutationsIn(e.s.RequestLog()); len(m) != n {
			t.Errorf("the re-run mutated: %v", m[n:])
		}
		e.convergedSDK(t, ciUser, ciKey, r.NewKeyID)
	})
	t.Run("deleted-between-plan-and-execute", func(t *testing.T) {
		e := newRealEmu(t)
		ctx := context.Background()
		f := e.finding(t, ciKey)
		p := NewPlan(f, Inspect(ctx, f, e.deps), e.settings())
		if err := e.admin.DeleteAccessKey(ctx, ciUser, f.KeyID); err != nil {
			t.Fatal(err)
		}
		r := Execute(ctx, p, e.deps)
		if r.Outcome != journal.OutcomeRemediated {
			t.Fatalf("%s %v %+v", r.Outcome, r.Err, r.Steps)
		}
		e.convergedSDK(t, ciUser, ciKey, r.NewKeyID)
	})
	t.Run("deleted-before-any-run", func(t *testing.T) {
		// No journal knows the owner, but the key is in its user's recycle bin, restorable: the
		// recycle-bin strategy finds it, the plan purges it, and (the user holding no key newer
		// than the leak, the playbook creating one) a replacement is made. Nothing else changes.
		e := newRealEmu(t)
		if err := e.admin.DeleteAccessKey(context.Background(), ciUser, accesskey.MustParseID(ciKey)); err != nil {
			t.Fatal(err)
		}
		n := len(mutationsIn(e.s.RequestLog()))
		p, r := e.run(t, ciKey, e.settings())
		if p.Decision != DecisionPurge || r.Outcome != journal.OutcomeRemediated || r.Err != nil {
			t.Fatalf("%s (%s) %s %v %+v", p.Decision, p.Reason, r.Outcome, r.Err, r.Steps)
		}
		if m := mutationsIn(e.s.RequestLog())[n:]; strings.Join(m, ",") != "CreateAccessKey,DeleteAccessKeyInRecycleBin" {
			t.Errorf("mutated: %v, want the replacement and the purge", m)
		}
		e.convergedSDK(t, ciUser, ciKey, r.NewKeyID)
	})
}

func TestEmulatorRealLocatorStoreFailure(t *testing.T) {
	for _, policy := range []string{playbooks.OnStoreFailureContain, playbooks.OnStoreFailureHold} {
		t.Run(policy, func(t *testing.T) {
			e := newRealEmu(t)
			s := e.settings()
			s.OnStoreFailure = policy
			e.sink.fail = errors.New("vault sealed")
			_, r := e.run(t, ciKey, s)
			ids := e.keys(t, ciUser)
			created := 0
			for _, m := range mutationsIn(e.s.RequestLog()) {
				if m == "CreateAccessKey" {
					created++
				}
			}
			if created != 1 {
				t.Errorf("creates = %d", created)
			}
			if policy == playbooks.OnStoreFailureContain {
				var pe *PartialError
				if r.Outcome != journal.OutcomePartial || !errors.As(r.Err, &pe) || len(ids) != 0 {
					t.Fatalf("contain: %s %v, keys %v (want none: replacement deleted again, leaked key deleted)", r.Outcome, r.Err, ids)
				}
			} else {
				if r.Outcome != journal.OutcomeFailed || len(ids) != 1 || ids[0] != ciKey {
					t.Fatalf("hold: %s %v, keys %v (want the leaked key only)", r.Outcome, r.Err, ids)
				}
			}
			// once the sink works, the same command converges
			e.sink.fail = nil
			_, r = e.run(t, ciKey, s)
			if r.Outcome != journal.OutcomeRemediated {
				t.Fatalf("resume: %s %v %+v", r.Outcome, r.Err, r.Steps)
			}
			e.convergedSDK(t, ciUser, ciKey, r.NewKeyID)
		})
	}
}

// TestEmulatorFaultMatrix: each mutation × {throttling storm, 5xx before/after commit, dropped
// connection before/after commit} ends in success, or in a PartialError followed by a
// successful re-run.
func TestEmulatorFaultMatrix(t *testing.T) {
	kinds := []struct {
		name  string
		kind  emulator.FaultKind
		count int
	}{
		{"throttle-storm", emulator.FaultThrottle, 5},
		{"5xx-before", emulator.FaultServerErrorBefore, 1},
		{"5xx-after", emulator.FaultServerErrorAfter, 1},
		{"drop-before", emulator.FaultDropBefore, 1},
		{"drop-after", emulator.FaultDropAfter, 1},
	}
	for _, action := range []string{"CreateAccessKey", "DeleteAccessKey"} {
		for _, k := range kinds {
			t.Run(action+"/"+k.name, func(t *testing.T) {
				e := newRealEmu(t)
				f := emulator.Fault{Action: action, Kind: k.kind, Count: k.count}
				if action == "DeleteAccessKey" {
					f.KeyID = ciKey // the leaked key's delete, not a clean-up's
				}
				e.s.AddFault(f)
				_, r := e.run(t, ciKey, e.settings())
				first := r.Outcome
				switch r.Outcome {
				case journal.OutcomeRemediated:
				case journal.OutcomePartial:
					var pe *PartialError
					if !errors.As(r.Err, &pe) || pe.Resume == "" {
						t.Errorf("partial without a resume command: %v", r.Err)
					}
					_, r = e.run(t, ciKey, e.settings())
					if r.Outcome != journal.OutcomeRemediated && r.Outcome != journal.OutcomeAlreadyRemediated {
						t.Fatalf("re-run after %s: %s %v %+v", first, r.Outcome, r.Err, r.Steps)
					}
				default:
					t.Fatalf("%s %v", r.Outcome, r.Err)
				}
				if r.NewKeyID == "" {
					t.Fatalf("no replacement: %+v", r)
				}
				e.convergedSDK(t, ciUser, ciKey, r.NewKeyID)
				t.Logf("%s: first run %s", t.Name(), first)
			})
		}
	}
}

func TestEmulatorAssessmentSeededEvents(t *testing.T) {
	e := newRealEmu(t)
	acct := e.org.Admin().AccountID
	e.s.AddEvents(acct,
		emulator.Event{Name: "CreateUser", Service: "Ram", Ago: 2 * time.Hour, AccessKeyID: ciKey, UserName: ciUser,
			SourceIP: "203.0.113.9", UserAgent: "aliyun-cli/3.0.200", Params: map[string]string{"UserName": "backdoor"}},
		emulator.Event{Name: "DescribeInstances", Service: "Ecs", Ago: 3 * time.Hour, Repeat: 120, Every: time.Minute,
			AccessKeyID: ciKey, UserName: ciUser, SourceIP: "203.0.113.9", UserAgent: "python-requests/2.31.0"},
		emulator.Event{Name: "DescribeRegions", Service: "Ecs", Ago: 10 * 24 * time.Hour, AccessKeyID: ciKey, UserName: ciUser,
			SourceIP: "198.51.100.1", UserAgent: "aliyun-cli/3.0.200"}, // outside the window
	)
	// a call respond itself made with the leaked pair (as the opt-in caller strategy does),
	// recognisable by respond's User-Agent
	e.s.AddEvents(acct, emulator.Event{Name: "GetCallerIdentity", Service: "Sts", Ago: time.Hour, AccessKeyID: ciKey, UserName: ciUser,
		SourceIP: "192.0.2.10", UserAgent: "AlibabaCloud (linux; amd64) Go/1.26 Core/1.63.107 respond/0.1.0"})
	before := len(e.s.RequestLog())
	p, r := e.run(t, ciKey, e.settings())
	if r.Outcome != journal.OutcomeRemediated {
		t.Fatalf("%s %v", r.Outcome, r.Err)
	}
	a := p.Assessment
	if a == nil {
		t.Fatalf("no assessment; warnings %v", p.Warnings)
	}
	if a.Total != 121 {
		t.Errorf("total = %d, want the 121 seeded events in the window", a.Total)
	}
	if a.Excluded < 1 {
		t.Errorf("respond's own call was not excluded: total %d excluded %d actions %+v", a.Total, a.Excluded, a.ByAction)
	}
	for _, c := range a.ByAction {
		if strings.Contains(c.Name, "GetCallerIdentity") || strings.Contains(c.Name, "DescribeRegions") {
			t.Errorf("counted %s", c.Name)
		}
	}
	if len(a.SourceIPs) != 1 || a.SourceIPs[0].Name != "203.0.113.9" {
		t.Errorf("source IPs = %+v", a.SourceIPs)
	}
	if !slices.ContainsFunc(a.Flagged, func(f assess.FlaggedEvent) bool { return f.Action == "CreateUser" }) {
		t.Errorf("CreateUser not flagged: %+v", a.Flagged)
	}
	var pages int
	for _, q := range e.s.RequestLog()[before:] {
		if q.Action == "LookupEvents" {
			pages++
		}
	}
	if pages < 3 {
		t.Errorf("LookupEvents pages = %d, want every page of 121 events followed", pages)
	}
	if r.Assessment == nil || r.Assessment.Total != 121 {
		t.Errorf("result assessment = %+v", r.Assessment)
	}
	msgs := e.deps.Notifiers[0].(*memNotifier).msgs
	if len(msgs) != 1 || !strings.Contains(msgs[0].Impact, "203.0.113.9") || !strings.Contains(msgs[0].Impact, "CreateUser") {
		t.Errorf("message impact = %+v", msgs)
	}
	e.convergedSDK(t, ciUser, ciKey, r.NewKeyID)
	// no secret in the message, the plan or the result
	leakedCred, _ := e.org.Key(ciKey)
	mj, _ := json.Marshal(msgs)
	pj, _ := json.Marshal(p)
	rj, _ := json.Marshal(r)
	for _, b := range [][]byte{mj, pj, rj, []byte(notify.Text(msgs[0]))} {
		for _, sec := range []string{leakedCred.AccessKeySecret, e.sink.got[r.NewKeyID]} {
			if sec == "" || strings.Contains(string(b), sec) {
				t.Errorf("a secret (or none to look for) in %s", b)
			}
		}
	}
	// the journal ended done
	ls, _ := journal.List(e.deps.StateDir)
	if len(ls) != 1 || ls[0].Unfinished() {
		t.Errorf("journal: %+v", ls)
	}
}

func TestEmulatorAssessmentFailureNotFatal(t *testing.T) {
	e := newRealEmu(t)
	e.s.AddFault(emulator.Fault{Action: "LookupEvents", Kind: emulator.FaultServerErrorBefore})
	p, r := e.run(t, ciKey, e.settings())
	if r.Outcome != journal.OutcomeRemediated || p.Assessment != nil || len(r.Warnings) != 1 || !strings.HasPrefix(r.Warnings[0], AssessWarningPrefix) {
		t.Fatalf("%s %v assessment %v warnings %v", r.Outcome, r.Err, p.Assessment, r.Warnings)
	}
	e.convergedSDK(t, ciUser, ciKey, r.NewKeyID)
}
