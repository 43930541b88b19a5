package rotate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/respond-dev/respond/detect"
	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/rotate/journal"
	"github.com/respond-dev/respond/rotate/notify"
	"github.com/respond-dev/respond/rotate/sink"
)

const user = "ci-deploy"

type env struct {
	t     *testing.T
	f     *fakeAPI
	sink  *memSink
	notif *memNotifier
	dir   string
	audit *journal.Audit
	s     Settings
	out   [][]byte // every plan/result JSON the engine produced
}

func newEnv(t *testing.T, keys ...string) *env {
	f := newFake(user, keys...)
	dir := t.TempDir()
	a, err := journal.OpenAudit(filepath.Join(dir, journal.AuditFile))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	e := &env{t: t, f: f, sink: &memSink{name: "ci-env"}, notif: &memNotifier{}, dir: dir, audit: a}
	e.s = Settings{Playbook: "default", CheckLeakedSecret: true, VerifyTimeout: time.Second, VerifyInterval: time.Millisecond,
		Self: accesskey.MustParseID(selfID), Canaries: []accesskey.ID{accesskey.MustParseID("LTAI5tCANARY000000000001")}}
	return e
}

func (e *env) deps() Deps {
	return Deps{
		Locator:   fakeLocator{f: e.f, owner: ram.Owner{Account: ram.Account{ID: "1"}, UserName: user, Strategy: "ims"}},
		Accounts:  fakeAccounts{api: e.f},
		Verifier:  e.f,
		Sinks:     []sink.Sink{e.sink},
		Notifiers: []notify.Notifier{e.notif},
		StateDir:  e.dir,
		Audit:     e.audit,
		Caller:    ram.Identity{Arn: "acs:ram::1:user/responder", AccessKeyID: selfID},
		Sleep:     func(ctx context.Context, d time.Duration) error { return ctx.Err() },
		// the fake never carries a call out late: a short window settles a lost create at once
		LateCreateWindow: 50 * time.Millisecond,
	}
}

func (e *env) finding(id string) detect.Finding {
	e.f.mu.Lock()
	defer e.f.mu.Unlock()
	return detect.Finding{KeyID: accesskey.MustParseID(id), Secret: accesskey.NewSecret(e.f.secrets[id])}
}

func (e *env) run(ctx context.Context, id string) Result {
	return e.runWith(ctx, id, e.deps())
}

func (e *env) runWith(ctx context.Context, id string, d Deps) Result {
	f := e.finding(id)
	s := e.s
	s.Sinks = DescribeSinks(d.Sinks)
	p := NewPlan(f, Inspect(ctx, f, d), s)
	r := Execute(ctx, p, d)
	pj, _ := json.Marshal(p)
	rj, _ := json.Marshal(r)
	e.out = append(e.out, pj, rj)
	return r
}

// converged asserts the end state of design §6 rule 5 through the fake's own state.
func (e *env) converged(others ...string) {
	e.t.Helper()
	ids := e.f.ids(user)
	var news []string
	for _, id := range ids {
		if id == leakedID {
			e.t.Fatalf("the leaked key still exists: %v", ids)
		}
		if !contains(others, id) {
			news = append(news, id)
		}
	}
	for _, o := range others {
		if !contains(ids, o) {
			e.t.Errorf("the other key %s was touched: %v", o, ids)
		}
	}
	if len(news) != 1 {
		e.t.Fatalf("want exactly one replacement, keys = %v", ids)
	}
	if contains(e.f.binned(), leakedID) {
		e.t.Fatalf("the leaked key is still in the recycle bin (restorable): %v", e.f.binned())
	}
	if got := e.sink.got[news[0]]; got == "" || got != e.f.secrets[news[0]] {
		e.t.Errorf("the sink does not hold the replacement's secret (sink %v)", e.sink.got)
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// noSecrets greps every byte the engine wrote (state dir, plan/result JSON) for every secret.
func (e *env) noSecrets(secrets ...string) {
	e.t.Helper()
	for _, s := range e.sink.got {
		secrets = append(secrets, s)
	}
	var blobs [][]byte
	filepath.Walk(e.dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			b, _ := os.ReadFile(p)
			blobs = append(blobs, b)
		}
		return nil
	})
	blobs = append(blobs, e.out...)
	for _, b := range blobs {
		for _, s := range secrets {
			if s != "" && bytes.Contains(b, []byte(s)) {
				e.t.Errorf("a secret was written outside the sink: %q", b)
			}
		}
	}
}

func (e *env) mutations() []string {
	var out []string
	for _, c := range e.f.calls {
		if strings.HasPrefix(c, "CreateAccessKey") || strings.HasPrefix(c, "DeleteAccessKey") {
			out = append(out, c)
		}
	}
	return out
}

func TestExecuteNormal(t *testing.T) {
	e := newEnv(t, leakedID)
	leakedSecret := e.f.secrets[leakedID]
	r := e.run(context.Background(), leakedID)
	if r.Outcome != journal.OutcomeRemediated || r.Err != nil {
		t.Fatalf("outcome %s, err %v, steps %+v", r.Outcome, r.Err, r.Steps)
	}
	e.converged()
	want := []string{"CreateAccessKey", "DeleteAccessKey " + leakedID, "DeleteAccessKeyInRecycleBin " + leakedID}
	if got := e.mutations(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("mutations = %v, want %v", got, want)
	}
	if len(r.Steps) != 8 || r.NewKeyID == "" || len(r.Receipts) != 1 {
		t.Errorf("result = %+v", r)
	}
	for _, s := range r.Steps {
		// the fake gives no incident calls: the default playbook's hunt says so and is skipped
		if s.Step == playbooks.StepHunt && s.Outcome == journal.OutcomeSkipped && strings.Contains(s.Detail, "no incident calls") {
			continue
		}
		if s.Outcome != journal.OutcomeDone {
			t.Errorf("step %s: %s %s", s.Step, s.Outcome, s.Detail)
		}
	}
	if !strings.Contains(r.Steps[6].Detail, "leaked secret rejected") || !strings.Contains(r.Steps[6].Detail, "new key authenticates") {
		t.Errorf("verify = %s", r.Steps[6].Detail)
	}
	if len(e.notif.msgs) != 1 || e.notif.msgs[0].Outcome != journal.OutcomeRemediated {
		t.Errorf("notifications = %+v", e.notif.msgs)
	}
	e.noSecrets(leakedSecret)

	// re-run after success: already remediated, no mutation
	n := len(e.mutations())
	r2 := e.run(context.Background(), leakedID)
	if r2.Outcome != journal.OutcomeAlreadyRemediated || r2.Err != nil {
		t.Errorf("re-run: %s %v", r2.Outcome, r2.Err)
	}
	if len(e.mutations()) != n {
		t.Errorf("the re-run mutated: %v", e.mutations()[n:])
	}
	ls, _ := journal.List(e.dir)
	if len(ls) != 1 || ls[0].Unfinished() {
		t.Errorf("status = %+v", ls)
	}
	e.noSecrets(leakedSecret)
}

func TestExecuteAtKeyLimitDeletesFirst(t *testing.T) {
	for _, steps := range [][]playbooks.StepID{builtinSteps("standard"), builtinSteps("contain-first")} {
		e := newEnv(t, leakedID, otherID)
		e.s.Steps = steps
		r := e.run(context.Background(), leakedID)
		if r.Outcome != journal.OutcomeRemediated {
			t.Fatalf("%v: %s %v", steps, r.Outcome, r.Err)
		}
		want := []string{"DeleteAccessKey " + leakedID, "DeleteAccessKeyInRecycleBin " + leakedID, "CreateAccessKey"}
		if got := e.mutations(); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("mutations = %v, want %v", got, want)
		}
		e.converged(otherID)
	}
}

// A create that hits the key limit the list did not show (another key appeared) deletes the
// leaked key first and creates again, against a list taken again: never against the stale one.
func TestExecuteKeyLimitCreatesAgainstAFreshList(t *testing.T) {
	e := newEnv(t, leakedID)
	e.f.fault = func(a string, n int) (error, bool) {
		if a == "CreateAccessKey" && n == 1 {
			return &ram.Error{Action: a, Code: "LimitExceeded.User.AccessKey", Class: ram.ErrKeyLimit}, false
		}
		return nil, false
	}
	r := e.run(context.Background(), leakedID)
	if r.Outcome != journal.OutcomeRemediated {
		t.Fatalf("%s %v", r.Outcome, r.Err)
	}
	// the purge is the delete step's, after the store
	want := []string{"CreateAccessKey", "DeleteAccessKey " + leakedID, "CreateAccessKey", "DeleteAccessKeyInRecycleBin " + leakedID}
	if got := e.mutations(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("mutations = %v, want %v", got, want)
	}
	if i := slices.Index(e.f.calls, "DeleteAccessKey "+leakedID); i < 0 || e.f.calls[i+1] != "ListAccessKeys" {
		t.Errorf("no list between the delete and the second create: %v", e.f.calls)
	}
	if e.f.stale != 0 {
		t.Errorf("%d create(s) against a stale list", e.f.stale)
	}
	e.converged()
}

func TestExecuteRefusals(t *testing.T) {
	tests := []struct {
		name, id string
		root     bool
		decision Decision
	}{
		{"self", selfID, false, DecisionRefuseSelf},
		{"canary", "LTAI5tCANARY000000000001", false, DecisionRefuseCanary},
		{"root", leakedID, true, DecisionRefuseRoot},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.id)
			d := e.deps()
			d.Locator = fakeLocator{f: e.f, owner: ram.Owner{Account: ram.Account{ID: "1"}, UserName: user, Root: tt.root}}
			r := e.runWith(context.Background(), tt.id, d)
			var re *RefusedError
			if r.Outcome != journal.OutcomeRefused || !errors.As(r.Err, &re) || re.Decision != tt.decision {
				t.Fatalf("outcome %s err %v", r.Outcome, r.Err)
			}
			if m := e.mutations(); len(m) != 0 {
				t.Errorf("mutations: %v", m)
			}
			if tt.name == "canary" && (len(e.notif.msgs) != 1 || !e.notif.msgs[0].Canary) {
				t.Errorf("a canary must raise an alert: %+v", e.notif.msgs)
			}
		})
	}
}

func TestExecuteOwnerNotFound(t *testing.T) {
	e := newEnv(t, otherID)
	f := detect.Finding{KeyID: accesskey.MustParseID(leakedID)}
	p := NewPlan(f, Inspect(context.Background(), f, e.deps()), e.s)
	r := Execute(context.Background(), p, e.deps())
	if r.Outcome != journal.OutcomeNotFound || !errors.Is(r.Err, ram.ErrOwnerNotFound) {
		t.Errorf("%s %v", r.Outcome, r.Err)
	}
}

func TestExecuteStoreFailure(t *testing.T) {
	for _, policy := range []string{playbooks.OnStoreFailureContain, playbooks.OnStoreFailureHold} {
		t.Run(policy, func(t *testing.T) {
			e := newEnv(t, leakedID, otherID)
			e.f.keys[user] = e.f.keys[user][:1] // leaked only: create first
			e.s.OnStoreFailure = policy
			e.sink.fail = errors.New("disk full")
			r := e.run(context.Background(), leakedID)
			ids := e.f.ids(user)
			if policy == playbooks.OnStoreFailureContain {
				var pe *PartialError
				if r.Outcome != journal.OutcomePartial || !errors.As(r.Err, &pe) || len(ids) != 0 {
					t.Fatalf("contain: %s %v keys %v", r.Outcome, r.Err, ids)
				}
				// fixed sink, re-run converges
				e.sink.fail = nil
				r = e.run(context.Background(), leakedID)
				if r.Outcome != journal.OutcomeRemediated {
					t.Fatalf("resume: %s %v", r.Outcome, r.Err)
				}
				e.converged()
			} else {
				if r.Outcome != journal.OutcomeFailed || len(ids) != 1 || ids[0] != leakedID {
					t.Fatalf("hold: %s %v keys %v", r.Outcome, r.Err, ids)
				}
			}
		})
	}
}

func TestExecuteDeleteNotFoundIsDone(t *testing.T) {
	e := newEnv(t, leakedID)
	e.f.hook = func(a string) {
		if a == "DeleteAccessKey "+leakedID {
			e.f.mu.Lock()
			e.f.keys[user] = e.f.keys[user][1:] // someone else deleted it first
			delete(e.f.secrets, leakedID)
			e.f.mu.Unlock()
		}
	}
	r := e.run(context.Background(), leakedID)
	if r.Outcome != journal.OutcomeRemediated {
		t.Fatalf("%s %v", r.Outcome, r.Err)
	}
	e.converged()
}

func TestExecuteAmbiguousCreate(t *testing.T) {
	e := newEnv(t, leakedID)
	e.f.fault = func(a string, n int) (error, bool) {
		if a == "CreateAccessKey" && n == 1 {
			return &ram.Error{Action: a, Status: 503, Class: ram.ErrTransient}, true // created, answer lost
		}
		return nil, false
	}
	r := e.run(context.Background(), leakedID)
	if r.Outcome != journal.OutcomeRemediated {
		t.Fatalf("%s %v", r.Outcome, r.Err)
	}
	e.converged()
	if e.f.count["CreateAccessKey"] != 2 {
		t.Errorf("creates = %d, want 2", e.f.count["CreateAccessKey"])
	}
}

// TestCrashResume interrupts a run at each step boundary (cancellation, or a hard stop with no
// cleanup), runs again, and asserts convergence.
func TestCrashResume(t *testing.T) {
	type point struct {
		name  string
		hard  bool   // runtime.Goexit: no cleanup at all, like SIGKILL
		at    string // fake action or "store"
		after bool   // after the action took effect
	}
	var points []point
	for _, hard := range []bool{false, true} {
		for _, p := range []point{
			{at: "CreateAccessKey"}, {at: "CreateAccessKey", after: true}, {at: "store"}, {at: "store", after: true},
			{at: "DeleteAccessKey " + leakedID}, {at: "DeleteAccessKey " + leakedID, after: true}, {at: "GetCallerIdentity"},
		} {
			p.hard = hard
			p.name = strings.ReplaceAll(p.at, " "+leakedID, "")
			if p.after {
				p.name += "-after"
			}
			if hard {
				p.name += "-kill"
			}
			points = append(points, p)
		}
	}
	for _, steps := range [][]playbooks.StepID{builtinSteps("standard"), builtinSteps("contain-first")} {
		for _, pt := range points {
			t.Run(string(steps[2])+"-first/"+pt.name, func(t *testing.T) {
				e := newEnv(t, leakedID)
				leakedSecret := e.f.secrets[leakedID]
				e.s.Steps = steps
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				var once sync.Once
				stop := func() {
					once.Do(func() {
						if pt.hard {
							runtime.Goexit()
						}
						cancel()
					})
				}
				e.f.fault = func(a string, n int) (error, bool) {
					if strings.HasPrefix(a, pt.at) && !pt.hard {
						once.Do(cancel)
						return &ram.Error{Action: a, Class: ram.ErrTransient, Err: context.Canceled}, pt.after
					}
					return nil, false
				}
				if pt.hard {
					e.f.fault = nil
					e.f.hook = func(a string) {
						if strings.HasPrefix(a, pt.at) && !pt.after {
							stop()
						}
					}
				}
				e.sink.hook = func() {
					if pt.at == "store" && !pt.after {
						stop()
					}
				}
				done := make(chan Result, 1)
				go func() {
					defer close(done)
					r := e.run(ctx, leakedID)
					done <- r
				}()
				r, ok := <-done
				if ok && r.Outcome == journal.OutcomePartial {
					var pe *PartialError
					if !errors.As(r.Err, &pe) || !strings.Contains(pe.Error(), "respond --key-id "+leakedID) {
						t.Errorf("partial without a resume command: %v", r.Err)
					}
				}
				e.f.fault, e.f.hook, e.sink.hook = nil, nil, nil
				r = e.run(context.Background(), leakedID)
				if r.Outcome != journal.OutcomeRemediated && r.Outcome != journal.OutcomeAlreadyRemediated {
					t.Fatalf("resume: %s %v %+v", r.Outcome, r.Err, r.Steps)
				}
				e.converged()
				e.noSecrets(leakedSecret)
			})
		}
	}
}

func TestConcurrentRunsOneRotation(t *testing.T) {
	e := newEnv(t, leakedID)
	d := e.deps()
	d.LockWait = 10 * time.Second
	var wg sync.WaitGroup
	results := make([]Result, 4)
	var mu sync.Mutex
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f := e.finding(leakedID)
			s := e.s
			s.Sinks = DescribeSinks(d.Sinks)
			p := NewPlan(f, Snapshot{Owner: ram.Owner{Account: ram.Account{ID: "1"}, UserName: user}, Found: true,
				Keys: []ram.AccessKey{{ID: f.KeyID}}}, s)
			r := Execute(context.Background(), p, d)
			mu.Lock()
			results[i] = r
			mu.Unlock()
		}()
	}
	wg.Wait()
	var remediated int
	for _, r := range results {
		switch r.Outcome {
		case journal.OutcomeRemediated:
			remediated++
		case journal.OutcomeAlreadyRemediated:
		default:
			t.Errorf("outcome %s %v", r.Outcome, r.Err)
		}
	}
	if remediated != 1 || e.f.count["CreateAccessKey"] != 1 {
		t.Errorf("remediated %d, creates %d", remediated, e.f.count["CreateAccessKey"])
	}
	e.converged()

	// without waiting, a second run gets the typed in-progress error
	l, err := journal.TryLock(e.dir, accesskey.MustParseID(leakedID))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	d.LockWait = 0
	r := e.runWith(context.Background(), leakedID, d)
	var le *journal.LockedError
	// the key is gone, so Inspect says already remediated unless the journal is unfinished
	if r.Outcome != journal.OutcomeAlreadyRemediated && !(errors.Is(r.Err, ErrInProgress) && errors.As(r.Err, &le)) {
		t.Errorf("locked: %s %v", r.Outcome, r.Err)
	}
}

func TestLockedReturnsInProgress(t *testing.T) {
	e := newEnv(t, leakedID)
	l, err := journal.TryLock(e.dir, accesskey.MustParseID(leakedID))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	r := e.run(context.Background(), leakedID)
	var le *journal.LockedError
	if r.Outcome != journal.OutcomeInProgress || !errors.Is(r.Err, ErrInProgress) || !errors.As(r.Err, &le) {
		t.Errorf("%s %v", r.Outcome, r.Err)
	}
	if len(e.mutations()) != 0 {
		t.Error("mutated while locked")
	}
}

// echoSink fails with an error that quotes the secret it was given: the engine must keep it out of
// the journal, the audit log, the result and the notification.
type echoSink struct{ seen []string }

func (*echoSink) Name() string     { return "echo" }
func (*echoSink) Kind() string     { return "memory" }
func (*echoSink) Describe() string { return "fails quoting the secret" }
func (s *echoSink) Store(ctx context.Context, c sink.Credential) (sink.Receipt, error) {
	s.seen = append(s.seen, c.Secret.Reveal())
	return sink.Receipt{}, errors.New("rejected secret " + c.Secret.Reveal())
}

func TestExecuteRedactsSecretInSinkError(t *testing.T) {
	e := newEnv(t, leakedID, otherID)
	e.f.keys[user] = e.f.keys[user][:1] // leaked only: create first
	e.s.OnStoreFailure = playbooks.OnStoreFailureContain
	leaked := e.finding(leakedID).Secret.Reveal()
	echo := &echoSink{}
	d := e.deps()
	d.Sinks = []sink.Sink{echo}
	var steps []string
	d.OnStep = func(sr StepResult) { steps = append(steps, sr.Detail) }
	r := e.runWith(context.Background(), leakedID, d)
	if r.Outcome != journal.OutcomePartial || r.Error == "" {
		t.Fatalf("outcome %s, error %q", r.Outcome, r.Error)
	}
	if len(echo.seen) == 0 || echo.seen[0] == "" {
		t.Fatal("the sink was never given the new secret")
	}
	secrets := append([]string{leaked}, echo.seen...)
	e.noSecrets(secrets...)
	var pe *PartialError
	if !errors.As(r.Err, &pe) || r.Err.Error() != r.Error {
		t.Errorf("Err %v: want a *PartialError whose text is Error %q", r.Err, r.Error)
	}
	texts := append([]string{r.Error, r.Err.Error()}, steps...)
	texts = append(texts, r.Warnings...)
	for _, m := range e.notif.msgs {
		for _, s := range m.Steps {
			texts = append(texts, s.Detail)
		}
	}
	if !slices.ContainsFunc(texts, func(s string) bool { return strings.Contains(s, "rejected secret "+accesskey.Redacted) }) {
		t.Errorf("the sink's error is not reported (redacted): %q", texts)
	}
	for _, s := range texts {
		for _, sec := range secrets {
			if strings.Contains(s, sec) {
				t.Errorf("a secret reached the result, a step line, a warning or a notification: %q", s)
			}
		}
	}
}

// The run's one redactor (Deps.Redactor) learns the leaked secret and the new one from the
// engine itself, before any sink is called: whatever the CLI prints afterwards through it is safe.
func TestExecuteTeachesTheRunsRedactor(t *testing.T) {
	e := newEnv(t, leakedID)
	leakedSecret := e.f.secrets[leakedID]
	red := accesskey.NewRedactor()
	d := e.deps()
	d.Redactor = red
	var atStore string
	e.sink.hook = func() {
		for id, s := range e.f.secrets {
			if id != leakedID {
				atStore = red.Redact("new " + s)
			}
		}
	}
	r := e.runWith(context.Background(), leakedID, d)
	if r.Outcome != journal.OutcomeRemediated {
		t.Fatalf("outcome %s %v", r.Outcome, r.Err)
	}
	newSecret := e.sink.got[r.NewKeyID]
	if newSecret == "" {
		t.Fatal("the sink holds no new secret")
	}
	if atStore != "new "+accesskey.Redacted {
		t.Errorf("the redactor did not know the new secret when the sink ran: %q", atStore)
	}
	for _, s := range []string{leakedSecret, newSecret} {
		if got := red.Redact("x " + s + " y"); got != "x "+accesskey.Redacted+" y" {
			t.Errorf("the run's redactor does not know a secret: %q", got)
		}
	}
}

// A key that appears after an ambiguous create and before the next attempt's list (the late
// result of the first attempt) is not recorded as one of the user's own keys in the journal: it
// stays a key respond may delete, and verify deletes it.
func TestExecuteRetryKeepsTheLateKeyOutOfBefore(t *testing.T) {
	e := newEnv(t, leakedID)
	e.s.Steps = builtinSteps("contain-first")
	const lateID = "LTAI5tLATEKEY00000000001"
	e.f.fault = func(a string, n int) (error, bool) {
		if a == "CreateAccessKey" && n == 1 {
			return &ram.Error{Action: a, Class: ram.ErrTransient, Err: errors.New("read timeout")}, false // no answer
		}
		return nil, false
	}
	lists := 0
	e.f.hook = func(a string) {
		if a != "ListAccessKeys" || e.f.count["CreateAccessKey"] != 1 {
			return
		}
		if lists++; lists == 2 { // the list of the second attempt (the first is the ambiguous create's clean-up)
			e.f.mu.Lock()
			e.f.keys[user] = append(e.f.keys[user], ram.AccessKey{ID: accesskey.MustParseID(lateID), Status: ram.StatusActive, CreateDate: time.Now()})
			e.f.mu.Unlock()
		}
	}
	r := e.run(context.Background(), leakedID)
	if r.Outcome != journal.OutcomeRemediated {
		t.Fatalf("%s %v %+v", r.Outcome, r.Err, r.Steps)
	}
	if lists < 2 {
		t.Fatalf("the second attempt did not list the keys (%d lists after the first create)", lists)
	}
	ls, _ := journal.List(e.dir)
	if len(ls) != 1 || slices.Contains(ls[0].Before, lateID) {
		t.Errorf("the late key is recorded as the user's own: %+v", ls)
	}
	e.converged()
}
