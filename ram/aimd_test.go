package ram

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/respond-dev/respond/ram/emulator"
)

// paceSim drives a limiter in virtual time against a token bucket of limit calls/s (burst =
// limit) that also throttles a share noise of the calls it lets through at random, the way the
// emulator does. Callers are always waiting (a saturated key). It returns the calls that went
// through per second and the throttled calls.
func paceSim(a *aimd, clock *time.Time, limit, noise float64, d time.Duration, seed uint64) (okPerS float64, limited, noisy int) {
	r := rand.New(rand.NewPCG(seed, 1))
	start := *clock
	tokens, last := limit, *clock
	ok := 0
	for clock.Before(start.Add(d)) {
		*clock = clock.Add(a.reserve())
		tokens = min(limit, tokens+clock.Sub(last).Seconds()*limit)
		last = *clock
		switch {
		case tokens < 1:
			limited++
			a.Throttled(0)
		case r.Float64() < noise:
			tokens--
			noisy++
			a.Throttled(0)
		default:
			tokens--
			ok++
			a.OK()
		}
		*clock = clock.Add(time.Millisecond) // the call itself
	}
	return float64(ok) / d.Seconds(), limited, noisy
}

func TestAIMD_pacesAtTheLimitDespiteSporadicThrottling(t *testing.T) {
	tests := []struct {
		name         string
		client       bool // unpaced until the first throttling window
		noise        float64
		minShare     float64 // of the throughput the bucket allows (limit × (1-noise))
		maxLimitedPc float64 // calls throttled by the limit, in % of all calls
	}{
		{"scan limiter, no noise", false, 0, 0.92, 15},
		{"scan limiter, 10% sporadic throttling", false, 0.10, 0.92, 15},
		{"client limiter, no noise", true, 0, 0.92, 15},
		{"client limiter, 10% sporadic throttling", true, 0.10, 0.92, 15},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := time.Unix(1000, 0)
			now := func() time.Time { return clock }
			a := newAIMD(40, 1, 2000, now, nil)
			if tt.client {
				a = newClientAIMD()
				a.now = now
			}
			const limit = 50.0
			for seed := uint64(1); seed <= 5; seed++ {
				okPerS, limited, noisy := paceSim(a, &clock, limit, tt.noise, 60*time.Second, seed)
				total := float64(int(okPerS*60) + limited + noisy)
				if want := tt.minShare * limit * (1 - tt.noise); okPerS < want {
					t.Errorf("seed %d: %.1f calls/s got through, want at least %.1f (rate now %.1f)", seed, okPerS, want, a.rate)
				}
				if pc := 100 * float64(limited) / total; pc > tt.maxLimitedPc {
					t.Errorf("seed %d: %.1f%% of the calls over the limit, want at most %.0f%%", seed, pc, tt.maxLimitedPc)
				}
			}
		})
	}
}

func TestAIMD_clientLimiterIsUnpacedUntilThrottled(t *testing.T) {
	clock := time.Unix(1000, 0)
	a := newClientAIMD()
	a.now = func() time.Time { return clock }
	for range 500 {
		if d := a.reserve(); d != 0 {
			t.Fatalf("an unthrottled client waited %v", d)
		}
		a.OK()
	}
	// a storm: every call throttled (the callers wait for their slots: time passes)
	var waited time.Duration
	for range 30 {
		d := a.reserve()
		waited += d
		clock = clock.Add(d + time.Millisecond)
		a.Throttled(0)
	}
	if waited == 0 || !a.paced || a.rate > 50 {
		t.Errorf("after a storm: waited %v, paced %v, rate %.1f; want paced at most 50/s", waited, a.paced, a.rate)
	}
}

func TestRetry_throttledHasItsOwnBudget(t *testing.T) {
	s, ep := newScript(t, map[string][]canned{"GetUser": {
		{status: 400, body: errBody("Throttling.User", "slow down")},
		{status: 400, body: errBody("Throttling.User", "slow down")},
		{status: 400, body: errBody("Throttling.User", "slow down")},
		{status: 400, body: errBody("Throttling.User", "slow down")},
		{status: 500, body: errBody("InternalError", "x")},
		{status: 200, body: `{"RequestId":"R","User":{"UserId":"1","UserName":"alice"}}`},
	}})
	c, fs := newClient(t, ep, 3) // 3 attempts: 4 throttles and a 500 would exhaust one shared budget
	if _, err := c.GetUser(context.Background(), "alice"); err != nil {
		t.Fatalf("GetUser: %v", err)
	}
	if got := s.Hits("GetUser"); got != 6 {
		t.Errorf("%d calls, want 6", got)
	}
	// Jitter 0.5, base 200 ms: throttled waits grow to 600 ms and stop there; the 500 (the
	// fifth attempt) waits as the fifth attempt does.
	// (The storm also made the client pace itself: its waits for a slot are shorter.)
	ms := time.Millisecond
	w := slices.DeleteFunc(fs.Waits(), func(d time.Duration) bool { return d < 100*ms })
	if want := []time.Duration{150 * ms, 300 * ms, 600 * ms, 600 * ms, 2400 * ms}; !slices.Equal(w, want) {
		t.Errorf("waits %v, want %v", w, want)
	}
	s2, ep2 := newScript(t, map[string][]canned{"GetUser": {{status: 400, body: errBody("Throttling.User", "slow down")}}})
	c1, _ := newClient(t, ep2, 1)
	if _, err := c1.GetUser(context.Background(), "alice"); !errors.Is(err, ErrThrottled) || s2.Hits("GetUser") != 1 {
		t.Errorf("MaxAttempts 1: %v after %d calls, want ErrThrottled after 1", err, s2.Hits("GetUser"))
	}
}

func TestEmu_createAfterListDoesNotListAgain(t *testing.T) {
	org := emulator.GenerateOrg(emulator.GenSpec{Accounts: 1, UsersPerAccount: 3, Seed: 11})
	org.Accounts[0].Users[3].Keys = org.Accounts[0].Users[3].Keys[:1]
	s, c, _ := startEmu(t, org)
	ctx := context.Background()
	before, err := c.ListAccessKeys(ctx, "user-0003")
	if err != nil {
		t.Fatal(err)
	}
	nk, err := c.CreateAccessKey(ctx, "user-0003", before)
	if err != nil {
		t.Fatal(err)
	}
	if got := calls(s, "ListAccessKeys"); got != 1 {
		t.Errorf("%d ListAccessKeys calls, want 1 (the caller's)", got)
	}
	// An ambiguous create is still judged against the caller's list.
	s.AddFault(emulator.Fault{Action: "CreateAccessKey", Kind: emulator.FaultServerErrorAfter, Count: 1})
	_ = c.DeleteAccessKey(ctx, "user-0003", nk.ID)
	before, _ = c.ListAccessKeys(ctx, "user-0003")
	_, err = c.CreateAccessKey(ctx, "user-0003", before)
	var amb *AmbiguousCreateError
	if !errors.As(err, &amb) || len(amb.NewKeyIDs) != 1 {
		t.Errorf("ambiguous create: %v, want an AmbiguousCreateError naming the new key", err)
	}
}

// concEvent is one step of a caller in concSim: 0 asks for a slot, 1 sends, 2 gets the answer.
type concEvent struct {
	at     time.Time
	caller int
	kind   int
	thr    bool
	seq    int
}

// concSim drives a limiter in virtual time with n concurrent callers that are always waiting
// (a saturated key), against a token bucket of limit calls/s (burst = limit) that also throttles
// a share noise of the calls at random without taking a token. An answer comes lat after the
// call plus an exponential jitter of mean lat; with stall > 0 the process is descheduled for
// stall out of every 300 ms and the answers pile up (the load test's 2 cores shared with other
// work). A throttled caller backs off as the retry layer does (100–200 ms, then up to 400–800).
func concSim(a *aimd, clock *time.Time, n int, lat, stall time.Duration, limit, noise float64, d time.Duration, seed uint64) (okPerS float64, limited int) {
	r := rand.New(rand.NewPCG(seed, 7))
	start := *clock
	tokens, last := limit, *clock
	var q []concEvent
	seq := 0
	push := func(e concEvent) {
		seq++
		e.seq = seq
		q = append(q, e)
	}
	throttledRun := make([]int, n)
	for c := range n {
		push(concEvent{at: *clock, caller: c})
	}
	ok := 0
	for len(q) > 0 {
		i := 0
		for j := range q {
			if q[j].at.Before(q[i].at) || (q[j].at.Equal(q[i].at) && q[j].seq < q[i].seq) {
				i = j
			}
		}
		e := q[i]
		q = slices.Delete(q, i, i+1)
		if e.at.After(start.Add(d)) {
			break
		}
		*clock = e.at
		switch e.kind {
		case 0:
			push(concEvent{at: e.at.Add(a.reserve()), caller: e.caller, kind: 1})
		case 1:
			tokens = min(limit, tokens+e.at.Sub(last).Seconds()*limit)
			last = e.at
			thr := false
			switch {
			case tokens < 1:
				limited++
				thr = true
			case r.Float64() < noise:
				thr = true
			default:
				tokens--
				ok++
			}
			at := e.at.Add(lat + time.Duration(r.ExpFloat64()*float64(lat)))
			if stall > 0 {
				if off := at.Sub(start) % (300 * time.Millisecond); off < stall {
					at = at.Add(stall - off)
				}
			}
			push(concEvent{at: at, caller: e.caller, kind: 2, thr: thr})
		case 2:
			next := e.at
			if e.thr {
				a.Throttled(0)
				throttledRun[e.caller]++
				ceil := 200 * time.Millisecond << (min(throttledRun[e.caller], throttleBackoffSteps) - 1)
				next = next.Add(ceil/2 + time.Duration(float64(ceil/2)*r.Float64()))
			} else {
				a.OK()
				throttledRun[e.caller] = 0
			}
			push(concEvent{at: next, caller: e.caller})
		}
	}
	return float64(ok) / d.Seconds(), limited
}

// Many callers of one key, answers late and in bursts: the key still runs near its limit (the
// pace is not cut again and again by the answers to calls sent before a cut).
func TestAIMD_concurrentCallersKeepTheKeyBusy(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		callers   int
		lat       time.Duration
		stall     time.Duration
		minPerSec float64 // the bucket lets 50/s through (its burst adds 2.5/s over 20 s)
	}{
		{6, 5 * ms, 0, 42},
		{16, 5 * ms, 0, 42},
		{16, 30 * ms, 0, 42},
		{16, 5 * ms, 60 * ms, 40},
		{16, 30 * ms, 60 * ms, 40},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d callers, %v, stall %v", tt.callers, tt.lat, tt.stall), func(t *testing.T) {
			total, limited := 0.0, 0
			for seed := uint64(1); seed <= 5; seed++ {
				clock := time.Unix(1000, 0)
				a := newClientAIMD()
				a.now = func() time.Time { return clock }
				okPerS, lim := concSim(a, &clock, tt.callers, tt.lat, tt.stall, 50, 0.10, 20*time.Second, seed)
				total += okPerS
				limited += lim
			}
			if avg := total / 5; avg < tt.minPerSec {
				t.Errorf("%.1f calls/s got through on average, want at least %.0f", avg, tt.minPerSec)
			}
		})
	}
}

// 16 callers hold slots at 100/s when the cloud says slow down, and all their answers come back
// throttled at once: that is one cut, not one per three throttles (which took 100/s to 13/s).
func TestAIMD_oneCutForTheAnswersOfOneRate(t *testing.T) {
	clock := time.Unix(1000, 0)
	a := newAIMD(100, 1, 2000, func() time.Time { return clock }, nil)
	a.ceiling = 100
	for range 16 {
		a.reserve()
	}
	clock = clock.Add(20 * time.Millisecond)
	for range 16 {
		a.Throttled(0)
	}
	if a.rate < 50 || a.rate > 70 {
		t.Errorf("rate %.1f after one burst of throttled answers, want one cut (to about 60)", a.rate)
	}
	// After the slots given out at the old rate, throttling is judged again.
	clock = a.next.Add(time.Millisecond)
	before := a.rate
	for range 12 {
		a.Throttled(0)
	}
	if a.rate >= before {
		t.Errorf("rate %.1f after a storm at the new rate, want below %.1f", a.rate, before)
	}
}

// A key with little work does not climb while idle: the next burst of work must not start far
// above what the cloud was seen to take.
func TestAIMD_noGrowthWhileUnused(t *testing.T) {
	clock := time.Unix(1000, 0)
	a := newAIMD(45, 1, 2000, func() time.Time { return clock }, nil)
	a.ceiling = 50
	for range 200 { // 5 calls/s for 40 s, none throttled
		clock = clock.Add(a.reserve() + 200*time.Millisecond)
		a.OK()
	}
	if a.rate > 46 {
		t.Errorf("rate %.1f after 40 s at 5 calls/s, want it held at 45", a.rate)
	}
	for range 100 { // saturated: it grows again
		clock = clock.Add(a.reserve())
		a.OK()
	}
	if a.rate <= 46 {
		t.Errorf("rate %.1f after saturated calls, want growth above 45", a.rate)
	}
}

// A key whose callers pause (their other work: the other accounts' findings) gets a window that
// spans the pause, and sporadic throttling in it: that is no cause to cut (a cut from that
// window's rate once left a key at 1 call/s for a minute). A cut that did happen is made good in
// such windows up to 90% of the ceiling.
func TestAIMD_aPauseDoesNotCutTheRate(t *testing.T) {
	clock := time.Unix(1000, 0)
	a := newAIMD(45, 1, 2000, func() time.Time { return clock }, nil)
	a.ceiling = 50
	for i := range 30 { // 30 calls over 6 s, every third throttled
		clock = clock.Add(a.reserve() + 200*time.Millisecond)
		if i%3 == 0 {
			a.Throttled(0)
		} else {
			a.OK()
		}
	}
	if a.rate < 45 {
		t.Errorf("rate %.1f after a pause with sporadic throttling, want 45 kept", a.rate)
	}
	a.rate = 10 // a cut made while the callers were busy
	for range 40 {
		clock = clock.Add(a.reserve() + 200*time.Millisecond)
		a.OK()
	}
	if a.rate < 44 || a.rate > 45.1 {
		t.Errorf("rate %.1f after unused windows, want back at 45 (90%% of the ceiling) and not above", a.rate)
	}
}

// An unpaced client whose callers send 30/s when the cloud first throttles them sets no ceiling
// from those 30/s: once the callers have more work, the rate grows fast past it.
func TestAIMD_firstCutBelowTheGuessSetsNoCeiling(t *testing.T) {
	clock := time.Unix(1000, 0)
	a := newClientAIMD()
	a.now = func() time.Time { return clock }
	for i := range 10 { // 30 calls/s, every other one throttled
		clock = clock.Add(a.reserve() + 33*time.Millisecond)
		if i%2 == 0 {
			a.Throttled(0)
		} else {
			a.OK()
		}
	}
	if !a.paced || a.ceiling != 0 || a.rate > 30 {
		t.Fatalf("after the first storm: paced %v, ceiling %.1f, rate %.1f; want paced below 30/s and no ceiling", a.paced, a.ceiling, a.rate)
	}
	for range 100 { // saturated, nothing throttled
		clock = clock.Add(a.reserve() + time.Millisecond)
		a.OK()
	}
	if a.rate < 60 {
		t.Errorf("rate %.1f after 100 saturated calls, want above 60 (no ceiling at 30 to creep past)", a.rate)
	}
}
