package main

import (
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// crashCase kills respond at one step boundary: hold names how the test holds it there.
type crashCase struct {
	playbook string
	boundary string
	// hold installs the pause (or relies on the gate) and waits until respond is held; it returns
	// what to release after the kill.
	hold func(t *testing.T, e *e2e, g *fifoGate, st *started) (release func())
}

// holdAt pauses the first call of action.
func holdAt(action string) func(t *testing.T, e *e2e, g *fifoGate, st *started) func() {
	return func(t *testing.T, e *e2e, g *fifoGate, st *started) func() {
		g.open(t)
		p := e.s.PauseAt(action)
		e.waitReached(p, st)
		return p.Release
	}
}

// holdAfter waits for the first call of first, then pauses the next call of then (so that an
// action respond also makes earlier, like GetCallerIdentity at sign-in, is held at the right one).
func holdAfter(first, then string) func(t *testing.T, e *e2e, g *fifoGate, st *started) func() {
	return func(t *testing.T, e *e2e, g *fifoGate, st *started) func() {
		g.open(t)
		p1 := e.s.PauseAt(first)
		e.waitReached(p1, st)
		p2 := e.s.PauseAt(then)
		p1.Release()
		e.waitReached(p2, st)
		return p2.Release
	}
}

// holdInSink waits until the exec sink is running (blocked on its FIFO).
func holdInSink(t *testing.T, e *e2e, g *fifoGate, st *started) func() {
	g.waitStarted(t, st)
	return func() {}
}

// For each step boundary of the standard and the contain-first order: SIGKILL respond there, run
// the same command again, and check the converged end state through the SDK.
func TestE2ECrashResume(t *testing.T) {
	t.Parallel()
	cases := []crashCase{
		{"standard", "before CreateAccessKey", holdAt("CreateAccessKey")},
		{"standard", "after CreateAccessKey, during the sink write", holdInSink},
		{"standard", "before DeleteAccessKey", holdAt("DeleteAccessKey")},
		{"standard", "after DeleteAccessKey, before the purge from the recycle bin", holdAt("DeleteAccessKeyInRecycleBin")},
		{"standard", "after DeleteAccessKey, during verification", holdAfter("DeleteAccessKey", "GetCallerIdentity")},
		{"contain-first", "before DeleteAccessKey", holdAt("DeleteAccessKey")},
		{"contain-first", "after DeleteAccessKey, before the purge from the recycle bin", holdAt("DeleteAccessKeyInRecycleBin")},
		{"contain-first", "after DeleteAccessKey, before CreateAccessKey", holdAt("CreateAccessKey")},
		{"contain-first", "after CreateAccessKey, during the sink write", holdInSink},
		{"contain-first", "during verification", holdAfter("CreateAccessKey", "GetCallerIdentity")},
	}
	for _, tc := range cases {
		t.Run(tc.playbook+"/"+tc.boundary, func(t *testing.T) {
			t.Parallel()
			limit(t)
			e := newE2E(t, orgFromFile(t, "small.yaml"))
			g := newFifoGate(t, e.work)
			cfg := e.writeFile("config.yaml", "sinks:\n  gate:\n    type: exec\n    command: "+g.argv()+"\n")
			args := []string{"--key-id", smallLeak, "--yes", "--config", cfg, "--playbook", tc.playbook}
			st := e.start(args...)
			release := tc.hold(t, e, g, st)
			if err := st.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			r := e.wait(st)
			if r.Code != -int(syscall.SIGKILL) {
				t.Fatalf("respond was not killed: %s", r)
			}
			release()
			g.open(t)
			r = e.run("", args...)
			wantCode(t, r, 0)
			e.checkGateRotated(g, smallUser, smallLeak)
			// A third run changes nothing.
			before := e.count("CreateAccessKey")
			wantCode(t, e.run("", args...), 0)
			if e.count("CreateAccessKey") != before {
				t.Error("a run after convergence created a key")
			}
		})
	}
}

// checkGateRotated is checkRotated for the exec gate sink.
func (e *e2e) checkGateRotated(g *fifoGate, user, leaked string) {
	e.t.Helper()
	ids := e.keyIDs(user)
	if slices.Contains(ids, leaked) || len(ids) != 1 {
		e.t.Fatalf("keys %v: want the leaked key gone and exactly one replacement (no orphan)", ids)
	}
	e.notInBin(leaked)
	id, secret := readPair(e.t, g.out)
	if id != ids[0] {
		e.t.Fatalf("the sink holds %s, the replacement is %s", id, ids[0])
	}
	if err := e.authenticates(id, secret); err != nil {
		e.t.Fatalf("the stored secret does not authenticate: %v", err)
	}
}

// Two respond processes started at once on the same key: one rotation; the other reports the
// rotation in progress (exit 4) or already done (exit 0).
func TestE2EConcurrentRuns(t *testing.T) {
	t.Parallel()
	limit(t)
	e := newE2E(t, orgFromFile(t, "small.yaml"))
	cfg := e.fileSinkConfig("")
	args := []string{"--key-id", smallLeak, "--yes", "--config", cfg, "--output", "json"}
	a, b := e.start(args...), e.start(args...)
	ra, rb := e.wait(a), e.wait(b)
	outcomes := []string{}
	for _, r := range []runResult{ra, rb} {
		if r.Code != 0 && r.Code != 4 {
			t.Fatalf("unexpected exit: %s", r)
		}
		rep := decodeReport(t, r)
		o := rep.Results[0].Error
		if res := rep.Results[0].Result; res != nil {
			o = res.Outcome
		}
		outcomes = append(outcomes, o)
	}
	slices.Sort(outcomes)
	t.Logf("outcomes %v", outcomes)
	if !slices.Contains(outcomes, "remediated") {
		t.Errorf("no run remediated: %v", outcomes)
	}
	if n := e.count("CreateAccessKey"); n != 1 {
		t.Errorf("%d CreateAccessKey calls, want one rotation", n)
	}
	e.checkRotated(smallUser, smallLeak)

	// Deterministically: the second starts while the first is held in CreateAccessKey.
	e2 := newE2E(t, orgFromFile(t, "small.yaml"))
	cfg2 := e2.fileSinkConfig("")
	args2 := []string{"--key-id", smallLeak, "--yes", "--config", cfg2, "--output", "json"}
	p := e2.s.PauseAt("CreateAccessKey")
	first := e2.start(args2...)
	e2.waitReached(p, first)
	second := e2.run("", args2...)
	wantCode(t, second, 4)
	rep := decodeReport(t, second)
	if res := rep.Results[0].Result; res == nil || res.Outcome != "in-progress" {
		t.Errorf("second run: %+v, want in-progress", rep.Results[0])
	}
	p.Release()
	wantCode(t, e2.wait(first), 0)
	e2.checkRotated(smallUser, smallLeak)
}

// SIGINT while CreateAccessKey is held: exit 4 with the resume command, then the resume converges.
func TestE2ESigint(t *testing.T) {
	t.Parallel()
	limit(t)
	e := newE2E(t, orgFromFile(t, "small.yaml"))
	cfg := e.fileSinkConfig("")
	args := []string{"--key-id", smallLeak, "--yes", "--config", cfg}
	p := e.s.PauseAt("CreateAccessKey")
	st := e.start(args...)
	e.waitReached(p, st)
	if err := st.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	r := e.wait(st)
	p.Release()
	wantCode(t, r, 4)
	mustContain(t, "output", r.Stdout+r.Stderr, "respond --key-id "+smallLeak)
	st2 := e.run("", "status", "--output", "json")
	mustContain(t, "status", st2.Stdout, `"unfinished": true`)
	r = e.run("", args...)
	wantCode(t, r, 0)
	e.checkRotated(smallUser, smallLeak)
	if s := e.run("", "status"); !strings.Contains(s.Stdout, "No unfinished") {
		t.Errorf("status after resume:\n%s", s.Stdout)
	}
}
