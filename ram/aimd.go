package ram

import (
	"context"
	"sync"
	"time"
)

// aimd paces the calls signed by one key: additive increase, multiplicative decrease. Calls are
// judged in windows of about 100 ms worth (at least 10): a window in which more than a fifth of
// the calls were throttled means the rate is over the cloud's limit, and the rate is cut to 60%
// of what was actually sent and remembered as the ceiling; otherwise the rate climbs fast back to
// 90% of that ceiling, then probes slowly above it. A throttle here and there (the cloud also
// throttles sporadically, below any limit) is retried, not taken as a signal: cutting on every
// throttle would let sporadic throttling drive the rate to the floor. One limiter is shared by
// every caller of a Client, so concurrent callers slow down together instead of each backing off
// blindly.
//
// Two guards keep the rate from swinging (both seen in the load test's request log, where 16
// callers share a key whose work comes and goes):
//   - After a cut, the answers to the calls already given a slot at the old rate (up to
//     settle, the last such slot) are not judged: they say nothing about the new rate, and
//     judging them cut the rate again and again within milliseconds, from 100/s to 13/s.
//   - A window in which the callers did not use the rate (sent less than 80% of it: they had
//     other work, or it spans a pause) is not judged against it: throttling in it does not
//     cut the rate (a cut from such a window's low rate left a key at 1 call/s, and a key
//     climbs back from there by half of 10 calls' worth at a time), and the rate climbs in it
//     only back to 90% of the ceiling, never above: a key with little work to do must not
//     climb far above what the cloud was ever seen to take, or the next burst of work runs
//     into a storm.
type aimd struct {
	mu      sync.Mutex
	rate    float64 // calls per second
	min     float64
	max     float64
	ceiling float64
	next    time.Time
	// settle: observations before it are of calls sent at the rate before the last cut
	settle time.Time
	// the window being judged
	winStart     time.Time
	winCalls     int
	winThrottles int
	throttles    int
	// paced is false until the first cut for a limiter that starts unpaced (a Client's): until
	// the cloud first says slow down, calls are not spaced and the rate is only the basis of the
	// window and of the first cut.
	paced bool
	now   func() time.Time
	sleep func(context.Context, time.Duration) error
}

// overShare is the share of throttled calls in a window above which the rate is cut.
const overShare = 0.2

// usedShare is the share of the rate a window must have used for the rate to grow.
const usedShare = 0.8

func newAIMD(initial, lo, hi float64, now func() time.Time, sleep func(context.Context, time.Duration) error) *aimd {
	if now == nil {
		now = time.Now
	}
	if sleep == nil {
		sleep = Sleep
	}
	return &aimd{rate: initial, min: lo, max: hi, now: now, sleep: sleep, paced: true}
}

// newClientAIMD is the limiter of one Client: unpaced until the first cut, then at most half of
// min(100/s, what was sent) and adapting from there.
func newClientAIMD() *aimd {
	a := newAIMD(100, 1, 2000, nil, nil)
	a.paced = false
	return a
}

// reserve takes the next slot and says how long to wait for it.
func (a *aimd) reserve() time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	t := a.next
	if t.Before(now) {
		t = now
	}
	if a.paced {
		a.next = t.Add(time.Duration(float64(time.Second) / a.rate))
	}
	return t.Sub(now)
}

// Wait reserves the next slot and sleeps until it.
func (a *aimd) Wait(ctx context.Context) error {
	return a.sleep(ctx, a.reserve())
}

// OK records a call that was not throttled.
func (a *aimd) OK() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.observe(false)
}

// Throttled records a throttled call; wait is what the cloud asked for (x-acs-retry-after), and
// no caller starts another call before it has passed.
func (a *aimd) Throttled(wait time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.throttles++
	a.observe(true)
	if wait > 0 {
		if t := a.now().Add(wait); t.After(a.next) {
			a.next = t
		}
	}
}

// observe counts one call in the window and, when the window is full, judges it. A window whose
// throttles alone already pass the share of a full one is judged at once: at a high rate a
// storm must not run through a whole window (every caller's retry budget would go into it).
func (a *aimd) observe(throttled bool) {
	now := a.now()
	if now.Before(a.settle) {
		return // an answer to a call sent at the rate before the last cut
	}
	if a.winCalls == 0 {
		a.winStart = now
	}
	a.winCalls++
	if throttled {
		a.winThrottles++
	}
	size := max(10, int(a.rate/10))
	early := a.winThrottles >= 3 && float64(a.winThrottles) > overShare*float64(size)
	if a.winCalls < size && !early {
		return
	}
	over := float64(a.winThrottles) > overShare*float64(a.winCalls)
	sent := a.rate
	if el := now.Sub(a.winStart).Seconds(); el > 0 && a.winCalls > 1 {
		sent = min(sent, float64(a.winCalls-1)/el)
	}
	a.winCalls, a.winThrottles = 0, 0
	// The callers did not use the pace (they had other work, or the window spans a pause):
	// the window tells nothing about the rate, whether it was throttled or not.
	unused := sent < usedShare*a.rate
	if over && unused && a.paced {
		return // retried; a rate the callers do not reach is no cause to cut it
	}
	if over {
		// A window can look over the limit by chance (sporadic throttling): the ceiling comes
		// down only 10% per cut unless the cut happened above that, so a run of such chance
		// cuts cannot ratchet it down, and a limit that really fell is still followed. The
		// first cut of an unpaced limiter whose callers sent less than its guess sets no
		// ceiling: what they sent is not what the cloud would take (a ceiling from it held a
		// key at 30/s for 10 s); the rate then grows by half per window until a real cut.
		if !unused {
			a.ceiling = max(sent, 0.9*a.ceiling)
		}
		a.paced = true
		a.rate = max(a.min, sent*0.6)
		// Slots given out before the cut still go out at the old rate: their answers are not
		// judged. The next slot is one of the new rate away.
		a.settle = later(a.next, now)
		a.next = later(a.next, now.Add(time.Duration(float64(time.Second)/a.rate)))
		return
	}
	if !a.paced {
		return // nothing to grow from yet
	}
	target := 0.9 * a.ceiling
	switch {
	case a.rate < target:
		a.rate = min(a.rate*1.5, target) // back to what the cloud took before
	case unused:
		return // no sign that more than the ceiling would go through
	case a.ceiling == 0:
		a.rate *= 1.5
	default:
		a.rate += max(1, a.rate*0.02)
	}
	a.rate = min(a.rate, a.max)
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func (a *aimd) snapshot() (rate float64, throttles int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.rate, a.throttles
}
