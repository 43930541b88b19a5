package rotate

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/ram/emulator"
	"github.com/respond-dev/respond/rotate/journal"
)

// A CreateAccessKey whose answer is lost (the client's read timeout) may still be carried out
// by the cloud after the client gave up: the emulator's FaultLatency does exactly that. These
// tests run the real ram.Client with a 300 ms read timeout against answers that come later.

const (
	billingLeak = "LTAI5tFAKEBILLING0LEAK01"
	billingKeep = "LTAI5tFAKEBILLING0KEEP01"
	billingUser = "billing-app"
	lateTimeout = 300 * time.Millisecond
)

// newLateEmu is newRealEmu with a short read timeout, real sleeps, an audit log and the given
// late-create window.
func newLateEmu(t *testing.T, window time.Duration) *emuEnv {
	e := newRealEmu(t)
	e.cfg.ReadTimeout = lateTimeout
	c, err := ram.New(context.Background(), e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.deps.Locator = &ram.Locator{Accounts: []ram.LocatorAccount{{Account: ram.Account{ID: e.org.Admin().AccountID}, API: c}}}
	e.deps.Accounts = fakeAccounts{api: c}
	e.deps.Sleep = nil // verify really waits for the late key
	e.deps.LateCreateWindow = window
	a, err := journal.OpenAudit(filepath.Join(e.deps.StateDir, "audit.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	e.deps.Audit = a
	return e
}

// lateCreate makes the next CreateAccessKey for user commit after delay, its answer long lost.
func (e *emuEnv) lateCreate(user string, delay time.Duration) {
	e.s.AddFault(emulator.Fault{Action: "CreateAccessKey", UserName: user, Kind: emulator.FaultLatency, Delay: delay, Count: 1})
}

// settle waits until the late call has been carried out (or refused) by the emulator.
func settle(start time.Time, delay time.Duration) {
	time.Sleep(time.Until(start.Add(delay + 400*time.Millisecond)))
}

func (e *emuEnv) creates() int {
	n := 0
	for _, r := range e.s.RequestLog() {
		if r.Action == "CreateAccessKey" {
			n++
		}
	}
	return n
}

// lateDeletes are the journal's deletions of a late key (Record.Late results).
func lateDeletes(t *testing.T, e *emuEnv, leaked string) []string {
	t.Helper()
	j, err := journal.Open(e.deps.StateDir, accesskey.MustParseID(leaked))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	recs, err := j.Records()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range recs {
		if r.Kind == journal.KindResult && r.Action == "ram:DeleteAccessKey" && r.Late && r.Outcome == journal.OutcomeDone {
			out = append(out, r.NewKeyID)
		}
	}
	return out
}

// orphanDeletes counts the journal's completed deletions of keys respond created (not the
// leaked key's): late keys and ambiguous creates' orphans.
func orphanDeletes(t *testing.T, e *emuEnv, leaked string) int {
	t.Helper()
	recs, err := readRecords(e, leaked)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range recs {
		if r.Kind == journal.KindResult && r.Action == "ram:DeleteAccessKey" && r.NewKeyID != "" && r.Outcome == journal.OutcomeDone {
			n++
		}
	}
	return n
}

func readRecords(e *emuEnv, leaked string) ([]journal.Record, error) {
	b, err := os.ReadFile(filepath.Join(e.deps.StateDir, journal.FileName(accesskey.MustParseID(leaked))))
	if err != nil {
		return nil, err
	}
	return journal.ParseRecords(bytes.NewReader(b))
}

func TestLateCreateNoOrphan(t *testing.T) {
	cases := []struct {
		name, leaked, user string
		steps              []playbooks.StepID
		keep               []string
		// lands: the late create finds room and makes a key, which must be deleted; at the
		// two-key limit it is refused by the cloud instead, and the window settles it.
		lands bool
	}{
		// the user holds one other key: at the limit, the plan deletes the leaked key first
		{"one-other-key", billingLeak, billingUser, nil, []string{billingKeep}, false},
		{"contain-first", ciKey, ciUser, builtinSteps("contain-first"), nil, true},
		// the leaked key is the user's only key: whether the late key finds room depends on
		// whether the leaked key is already deleted 600 ms in; both must converge
		{"no-other-key", ciKey, ciUser, nil, nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			const delay = 600 * time.Millisecond
			e := newLateEmu(t, 3*time.Second)
			e.lateCreate(c.user, delay)
			s := e.settings()
			s.Steps = c.steps
			start := time.Now()
			_, r := e.run(t, c.leaked, s)
			settle(start, delay)
			first := r.Outcome
			if r.Outcome == journal.OutcomePartial {
				var pe *PartialError
				if !errors.As(r.Err, &pe) || pe.Resume == "" {
					t.Fatalf("partial without a resume command: %v", r.Err)
				}
				_, r = e.run(t, c.leaked, s)
			}
			if r.Outcome != journal.OutcomeRemediated {
				t.Fatalf("outcome %s (first run %s): %v %+v", r.Outcome, first, r.Err, r.Steps)
			}
			if n := e.creates(); n < 2 {
				t.Fatalf("%d CreateAccessKey calls: the fault did not make an answer late", n)
			}
			e.convergedSDK(t, c.user, c.leaked, r.NewKeyID, c.keep...)
			late := lateDeletes(t, e, c.leaked)
			// (on a slow machine the late key may already show in ram's list right after the
			// timeout: then it is deleted as an ambiguous create's orphan instead)
			if n := orphanDeletes(t, e, c.leaked); c.lands && n != 1 {
				t.Errorf("orphan deletions in the journal = %d (late: %v), want one", n, late)
			}
			for _, id := range late {
				if id == r.NewKeyID || slices.Contains(c.keep, id) {
					t.Errorf("deleted %s as a late key", id)
				}
				if !stepSays(r, "deleted orphan "+id) && first == journal.OutcomeRemediated {
					t.Errorf("no step says the late key %s was deleted: %+v", id, r.Steps)
				}
				if !auditSays(t, e, "deleted orphan "+id) {
					t.Errorf("the audit log does not record the deletion of %s", id)
				}
			}
			t.Logf("first run %s, late keys deleted %v, %d creates", first, late, e.creates())
		})
	}
}

// The late key has not appeared when verify gives up: the run ends partial (not remediated), and
// a re-run deletes the key once it is there.
func TestLateCreatePartialThenRerun(t *testing.T) {
	const delay = 2 * time.Second
	e := newLateEmu(t, 10*time.Second)
	e.lateCreate(ciUser, delay)
	s := e.settings()
	s.Steps = builtinSteps("contain-first")
	s.VerifyTimeout = 300 * time.Millisecond
	start := time.Now()
	_, r := e.run(t, ciKey, s)
	var pe *PartialError
	if r.Outcome != journal.OutcomePartial || !errors.As(r.Err, &pe) || pe.Step != playbooks.StepVerify {
		t.Fatalf("want partial at verify while a lost create may still land: %s %v", r.Outcome, r.Err)
	}
	if !strings.Contains(r.Error, "got no answer") || !strings.Contains(r.Error, "again") {
		t.Errorf("the error does not say what is pending and what to do: %s", r.Error)
	}
	settle(start, delay)
	if ids := e.keys(t, ciUser); len(ids) != 2 {
		t.Fatalf("the late create did not land: %v", ids)
	}
	// Another key's journal that cannot be read (a link): its replacements are unknown, so the
	// late key is not deleted (it could be that rotation's replacement), and the run says why.
	other := filepath.Join(e.deps.StateDir, "LTAI5tFAKEOTHERJOURNAL01.jsonl")
	if err := os.Symlink(filepath.Join(t.TempDir(), "elsewhere"), other); err != nil {
		t.Fatal(err)
	}
	_, rb := e.run(t, ciKey, s)
	if rb.Outcome == journal.OutcomeRemediated || len(lateDeletes(t, e, ciKey)) != 0 || !strings.Contains(rb.Error, "no late key deleted") {
		t.Fatalf("with another journal unreadable: %s, late deletions %v, error %q", rb.Outcome, lateDeletes(t, e, ciKey), rb.Error)
	}
	if ids := e.keys(t, ciUser); len(ids) != 2 {
		t.Fatalf("keys %v after a sweep that could not read the other journals", ids)
	}
	if err := os.Remove(other); err != nil {
		t.Fatal(err)
	}
	_, r2 := e.run(t, ciKey, s)
	if r2.Outcome != journal.OutcomeRemediated {
		t.Fatalf("re-run: %s %v %+v", r2.Outcome, r2.Err, r2.Steps)
	}
	if r2.NewKeyID != r.NewKeyID {
		t.Errorf("re-run replaced the stored replacement: %s, was %s", r2.NewKeyID, r.NewKeyID)
	}
	if late := lateDeletes(t, e, ciKey); len(late) != 1 || !stepSays(r2, "deleted orphan "+late[0]) {
		t.Errorf("late deletions %v, steps %+v", late, r2.Steps)
	}
	e.convergedSDK(t, ciUser, ciKey, r2.NewKeyID)
}

// The late create is refused at the two-key limit, so no key ever appears: within the window a
// run ends partial; a re-run after the window takes the create as not carried out.
func TestLateCreateSettledAfterWindow(t *testing.T) {
	const delay = 600 * time.Millisecond
	e := newLateEmu(t, 10*time.Second)
	e.lateCreate(billingUser, delay)
	s := e.settings()
	s.VerifyTimeout = 300 * time.Millisecond
	start := time.Now()
	_, r := e.run(t, billingLeak, s)
	if r.Outcome != journal.OutcomePartial {
		t.Fatalf("want partial within the window: %s %v", r.Outcome, r.Err)
	}
	settle(start, delay)
	_, r2 := e.run(t, billingLeak, s) // still within the window
	if r2.Outcome != journal.OutcomePartial {
		t.Fatalf("re-run within the window: %s %v", r2.Outcome, r2.Err)
	}
	e.deps.Clock = shiftedClock{d: time.Minute}
	_, r3 := e.run(t, billingLeak, s)
	if r3.Outcome != journal.OutcomeRemediated || !stepSays(r3, "not carried out") {
		t.Fatalf("re-run after the window: %s %v %+v", r3.Outcome, r3.Err, r3.Steps)
	}
	if late := lateDeletes(t, e, billingLeak); len(late) != 0 {
		t.Errorf("deleted %v", late)
	}
	e.convergedSDK(t, billingUser, billingLeak, r3.NewKeyID, billingKeep)
}

// A key the user's human created before the rotation, which respond never listed before its
// create (it appeared while the leaked key was being deleted), is never deleted, not even when
// it shows up right after a create whose answer was lost; it is reported as a warning.
func TestLateCreateHumanKeyKept(t *testing.T) {
	const delay = 600 * time.Millisecond
	e := newLateEmu(t, 3*time.Second)
	s := e.settings()
	s.Steps = builtinSteps("contain-first")
	ctx := context.Background()
	f := e.finding(t, ciKey)
	p := NewPlan(f, Inspect(ctx, f, e.deps), s)
	pause := e.s.PauseAt("DeleteAccessKey")
	done := make(chan Result, 1)
	go func() { done <- Execute(ctx, p, e.deps) }()
	select {
	case <-pause.Reached:
	case <-time.After(10 * time.Second):
		t.Fatal("the run never reached DeleteAccessKey")
	}
	// the human's key, dated 5 minutes before the rotation
	e.s.SetClockSkew(-5 * time.Minute)
	hks, err := e.admin.ListAccessKeys(ctx, ciUser)
	if err != nil {
		pause.Release()
		t.Fatal(err)
	}
	hk, err := e.admin.CreateAccessKey(ctx, ciUser, hks)
	e.s.SetClockSkew(0)
	if err != nil {
		pause.Release()
		t.Fatal(err)
	}
	human := hk.ID.String()
	e.lateCreate(ciUser, delay) // respond's create, not the human's
	pause.Release()
	r := <-done
	t.Logf("first run %s %v warnings %v", r.Outcome, r.Err, r.Warnings)
	settle(time.Now(), delay)
	if r.Outcome == journal.OutcomePartial || r.Outcome == journal.OutcomeFailed {
		_, r = e.run(t, ciKey, s)
	}
	if r.Outcome != journal.OutcomeRemediated {
		t.Fatalf("%s %v %+v", r.Outcome, r.Err, r.Steps)
	}
	if n := e.creates(); n < 3 {
		t.Fatalf("%d CreateAccessKey calls: respond's create did not lose its answer", n)
	}
	if !slices.Contains(e.keys(t, ciUser), human) {
		t.Fatalf("the human's key %s was deleted", human)
	}
	e.convergedSDK(t, ciUser, ciKey, r.NewKeyID, human)
	if !slices.ContainsFunc(r.Warnings, func(w string) bool { return strings.Contains(w, human) && strings.Contains(w, "not touched") }) {
		t.Errorf("no warning names the human's key: %v", r.Warnings)
	}
	for _, m := range e.s.RequestLog() {
		if m.Action == "DeleteAccessKey" && m.Params["UserAccessKeyId"] == human {
			t.Errorf("DeleteAccessKey was sent for the human's key")
		}
	}
}

type shiftedClock struct{ d time.Duration }

func (c shiftedClock) Now() time.Time { return time.Now().Add(c.d) }

func stepSays(r Result, s string) bool {
	return slices.ContainsFunc(r.Steps, func(st StepResult) bool { return strings.Contains(st.Detail, s) })
}

func auditSays(t *testing.T, e *emuEnv, s string) bool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(e.deps.StateDir, "audit.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Contains(string(b), s)
}

// With no lost create, the rule costs nothing and says nothing: one list in verify, no warning
// about the user's other key, whether a replacement is made (standard) or not (contain-only).
func TestLateCreateNormalRunOnePass(t *testing.T) {
	for _, steps := range [][]playbooks.StepID{nil, {playbooks.StepLocate, playbooks.StepAssess, playbooks.StepDelete, playbooks.StepVerify, playbooks.StepNotify}} {
		e := newLateEmu(t, 3*time.Second)
		s := e.settings()
		s.Steps = steps
		if steps != nil {
			s.Playbook, s.Sinks = "contain-only", nil
			e.deps.Sinks = nil
		}
		ctx := context.Background()
		f := e.finding(t, billingLeak)
		p := NewPlan(f, Inspect(ctx, f, e.deps), s)
		n := len(e.s.RequestLog())
		r := Execute(ctx, p, e.deps)
		if r.Outcome != journal.OutcomeRemediated || len(r.Warnings) != 0 {
			t.Fatalf("%s: %s %v warnings %v %+v", s.Playbook, r.Outcome, r.Err, r.Warnings, r.Steps)
		}
		lists := 0
		for _, q := range e.s.RequestLog()[n:] {
			if q.Action == "ListAccessKeys" {
				lists++
			}
		}
		if lists != 2 {
			t.Errorf("%s: %d ListAccessKeys, want 2 (reconcile, verify)", s.Playbook, lists)
		}
		if !slices.Contains(e.keys(t, billingUser), billingKeep) {
			t.Errorf("%s: the other key was touched", s.Playbook)
		}
	}
}
