package rotate

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/rotate/journal"
)

// fakeAlert is a source's alert that records the closes made on it.
type fakeAlert struct {
	mu     sync.Mutex
	name   string
	closed bool
	calls  []string // "runID|done" per Close
	err    error    // Close fails with it
}

func (a *fakeAlert) String() string { return a.name }
func (a *fakeAlert) Action() string { return "fake:Close" }
func (a *fakeAlert) Call(runID, done string) string {
	return "fake:Close " + a.name + " remark=" + runID + ": " + done
}

func (a *fakeAlert) Close(_ context.Context, runID, done string) (AlertResult, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls = append(a.calls, runID+"|"+done)
	if a.err != nil {
		return AlertResult{RequestID: "req-fail"}, a.err
	}
	if a.closed {
		return AlertResult{Outcome: AlertAlreadyClosed}, nil
	}
	a.closed = true
	return AlertResult{Outcome: AlertClosed, RequestID: "req-" + a.name}, nil
}

// ownerLocator finds the owner of any key (as the recycle-bin strategy finds a deleted key's).
type ownerLocator struct{ owner ram.Owner }

func (l ownerLocator) Locate(_ context.Context, id accesskey.ID) (ram.Owner, error) {
	o := l.owner
	o.KeyID = id
	return o, nil
}

func withSinks(s Settings, d Deps) Settings {
	s.Sinks = DescribeSinks(d.Sinks)
	return s
}

func journalRecords(t *testing.T, dir string) []journal.Record {
	t.Helper()
	j, err := journal.Open(dir, accesskey.MustParseID(leakedID))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	recs, err := j.Records()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func stepsOf(r Result) []string {
	var out []string
	for _, s := range r.Steps {
		out = append(out, string(s.Step)+":"+string(s.Outcome))
	}
	return out
}

// The close step marks a finding's alerts once the key is remediated, journaled; a key found
// remediated on a re-run has its alerts closed again under its lock (idempotent); a finding
// without alerts has no close step at all.
func TestCloseStep(t *testing.T) {
	e := newEnv(t, leakedID)
	e.s.Steps = builtinSteps("standard")
	a1, a2 := &fakeAlert{name: "record 1"}, &fakeAlert{name: "record 2"}
	d := e.deps()
	d.Alerts = []Alert{a1, a2}
	e.s.CloseCalls = closeCalls(d.Alerts)
	f := e.finding(leakedID)
	p := NewPlan(f, Inspect(context.Background(), f, d), withSinks(e.s, d))
	if !p.hasStep(playbooks.StepClose) || !strings.Contains(strings.Join(p.Steps[len(p.Steps)-2].Actions, "\n"), "fake:Close record 2 remark=<run-id>") {
		t.Fatalf("plan steps %+v", p.Steps)
	}
	if len(a1.calls) != 0 {
		t.Fatal("planning closed an alert")
	}
	r := Execute(context.Background(), p, d)
	if r.Outcome != journal.OutcomeRemediated {
		t.Fatalf("outcome %s %v", r.Outcome, r.Err)
	}
	want := []string{"locate:done", "assess:done", "hunt:skipped", "create:done", "store:done", "delete:done", "verify:done", "close:done", "notify:done"}
	if got := stepsOf(r); !slices.Equal(got, want) {
		t.Errorf("steps %v, want %v", got, want)
	}
	if !a1.closed || !a2.closed || len(r.Alerts) != 2 || r.Alerts[0].Outcome != AlertClosed || r.Alerts[1].RequestID != "req-record 2" {
		t.Fatalf("alerts %+v", r.Alerts)
	}
	if c := a1.calls[0]; !strings.HasPrefix(c, r.RunID+"|leaked key "+leakedID+" deleted; replacement "+r.NewKeyID+" stored") {
		t.Errorf("close remark %q", c)
	}
	// journaled: an intent and a result per alert, the result with its request id
	recs := journalRecords(t, e.dir)
	var closeRecs []string
	for _, rec := range recs {
		if rec.Step == string(playbooks.StepClose) {
			closeRecs = append(closeRecs, rec.Kind+" "+rec.Detail+" "+rec.RequestID)
		}
	}
	if len(closeRecs) != 4 || !strings.HasPrefix(closeRecs[0], "intent record 1") || !strings.Contains(closeRecs[1], "req-record 1") {
		t.Errorf("journal of the close step: %q", closeRecs)
	}

	// The re-run finds the key remediated: its alerts are closed again (already closed, no
	// write by the fake), under the lock and journaled.
	r2 := e.runWith(context.Background(), leakedID, d)
	if r2.Outcome != journal.OutcomeAlreadyRemediated || r2.Err != nil {
		t.Fatalf("re-run %s %v", r2.Outcome, r2.Err)
	}
	if len(r2.Alerts) != 2 || r2.Alerts[0].Outcome != AlertAlreadyClosed || len(a1.calls) != 2 {
		t.Errorf("re-run alerts %+v, calls %v", r2.Alerts, a1.calls)
	}
	if !strings.Contains(a1.calls[1], "already deleted") {
		t.Errorf("re-run remark %q", a1.calls[1])
	}
	if ls, _ := journal.List(e.dir); len(ls) != 1 || ls[0].Unfinished() {
		t.Errorf("journal after the re-run: %+v", ls)
	}

	// Without alerts: no close step in the plan or the run.
	e2 := newEnv(t, leakedID)
	e2.s.Steps = builtinSteps("standard")
	r3 := e2.run(context.Background(), leakedID)
	if slices.ContainsFunc(r3.Steps, func(s StepResult) bool { return s.Step == playbooks.StepClose }) || r3.Outcome != journal.OutcomeRemediated {
		t.Errorf("without alerts: %v %s", stepsOf(r3), r3.Outcome)
	}
}

// An alert is never closed for a key that is not remediated; a close that fails leaves the key
// remediated, with a warning and the alert reported open.
func TestCloseStepOnlyWhenRemediated(t *testing.T) {
	e := newEnv(t, leakedID)
	e.s.Steps = builtinSteps("standard")
	e.f.fault = func(action string, nth int) (error, bool) {
		if strings.HasPrefix(action, "DeleteAccessKey "+leakedID) {
			return errors.New("InternalError: boom"), false
		}
		return nil, false
	}
	a := &fakeAlert{name: "record 1"}
	d := e.deps()
	d.Alerts = []Alert{a}
	e.s.CloseCalls = closeCalls(d.Alerts)
	r := e.runWith(context.Background(), leakedID, d)
	if r.Outcome == journal.OutcomeRemediated || len(a.calls) != 0 {
		t.Fatalf("outcome %s, closes %v", r.Outcome, a.calls)
	}
	if len(r.Alerts) > 0 && r.Alerts[0].Outcome != AlertLeftOpen {
		t.Errorf("alerts %+v", r.Alerts)
	}

	// The verify step fails (the new key never authenticates): the run goes on to close, which
	// leaves the alert open.
	e = newEnv(t, leakedID)
	e.s.Steps = builtinSteps("standard")
	e.f.fault = func(action string, nth int) (error, bool) {
		if action == "GetCallerIdentity" {
			return errors.New("InternalError: boom"), false
		}
		return nil, false
	}
	a = &fakeAlert{name: "record 1"}
	d = e.deps()
	d.Alerts = []Alert{a}
	e.s.CloseCalls = closeCalls(d.Alerts)
	r = e.runWith(context.Background(), leakedID, d)
	if r.Outcome == journal.OutcomeRemediated || len(a.calls) != 0 {
		t.Fatalf("verify failed: outcome %s, closes %v", r.Outcome, a.calls)
	}
	if len(r.Alerts) != 1 || r.Alerts[0].Outcome != AlertLeftOpen || !slices.Contains(stepsOf(r), "close:skipped") {
		t.Errorf("verify failed: alerts %+v, steps %v", r.Alerts, stepsOf(r))
	}

	e = newEnv(t, leakedID)
	e.s.Steps = builtinSteps("contain-only")
	bad := &fakeAlert{name: "record 9", err: errors.New("NoPermission: caller has no permission")}
	d = e.deps()
	d.Sinks = nil
	d.Alerts = []Alert{bad}
	e.s.CloseCalls = closeCalls(d.Alerts)
	r = e.runWith(context.Background(), leakedID, d)
	if r.Outcome != journal.OutcomeRemediated || r.Err != nil {
		t.Fatalf("a failed close changed the outcome: %s %v", r.Outcome, r.Err)
	}
	if len(r.Alerts) != 1 || r.Alerts[0].Outcome != AlertFailed || !strings.Contains(r.Alerts[0].Error, "NoPermission") {
		t.Errorf("alerts %+v", r.Alerts)
	}
	if !slices.ContainsFunc(r.Warnings, func(w string) bool { return strings.Contains(w, "record 9 left open") }) {
		t.Errorf("warnings %v", r.Warnings)
	}
	if c := bad.calls[0]; !strings.Contains(c, "deleted (no replacement: contain-only)") {
		t.Errorf("remark %q", c)
	}
}

// A plan that finds the key already gone shows only the close step, and its execution closes
// the alerts under the key's lock with a journal of its own.
func TestCloseAlreadyRemediated(t *testing.T) {
	e := newEnv(t, otherID) // the leaked key is not among the user's keys any more
	a := &fakeAlert{name: "record 3"}
	d := e.deps()
	d.Locator = ownerLocator{ram.Owner{Account: ram.Account{ID: "1"}, UserName: user, Strategy: "recycle-bin"}}
	d.Alerts = []Alert{a}
	e.s.Steps = builtinSteps("contain-first")
	e.s.CloseCalls = closeCalls(d.Alerts)
	f := e.finding(leakedID)
	p := NewPlan(f, Inspect(context.Background(), f, d), withSinks(e.s, d))
	if p.Decision != DecisionAlreadyRemediated || len(p.Steps) != 1 || p.Steps[0].Step != playbooks.StepClose {
		t.Fatalf("plan %s %+v", p.Decision, p.Steps)
	}
	r := Execute(context.Background(), p, d)
	if r.Outcome != journal.OutcomeAlreadyRemediated || !a.closed || r.RunID == "" {
		t.Fatalf("result %s %+v %v", r.Outcome, r.Alerts, a.calls)
	}
	if _, err := os.Stat(filepath.Join(e.dir, journal.FileName(f.KeyID))); err != nil {
		t.Errorf("no journal of the close: %v", err)
	}
	if ls, _ := journal.List(e.dir); len(ls) != 1 || ls[0].Unfinished() || ls[0].LastOutcome != journal.OutcomeAlreadyRemediated {
		t.Errorf("journal %+v", ls)
	}
}
