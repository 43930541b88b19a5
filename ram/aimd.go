package ram

import (
	"context"
	"sync"
	"time"
)

// aimd paces calls to one account: additive increase, multiplicative decrease. Every throttle
// halves the rate (at most once per burst) and remembers it as the ceiling; while calls succeed the
// rate climbs fast back to 90% of that ceiling, then probes slowly above it.
type aimd struct {
	mu        sync.Mutex
	rate      float64 // calls per second
	min, max  float64
	ceiling   float64
	next      time.Time
	clean     int
	lastCut   time.Time
	throttles int
	now       func() time.Time
	sleep     func(context.Context, time.Duration) error
}

func newAIMD(initial, lo, hi float64, now func() time.Time, sleep func(context.Context, time.Duration) error) *aimd {
	if now == nil {
		now = time.Now
	}
	if sleep == nil {
		sleep = sleepCtx
	}
	return &aimd{rate: initial, min: lo, max: hi, now: now, sleep: sleep}
}

// Wait reserves the next slot and sleeps until it.
func (a *aimd) Wait(ctx context.Context) error {
	a.mu.Lock()
	now := a.now()
	t := a.next
	if t.Before(now) {
		t = now
	}
	a.next = t.Add(time.Duration(float64(time.Second) / a.rate))
	a.mu.Unlock()
	return a.sleep(ctx, t.Sub(now))
}

// OK records a call that was not throttled.
func (a *aimd) OK() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.clean++
	window := int(a.rate / 10) // about 100 ms worth of calls
	if window < 1 {
		window = 1
	}
	if a.clean < window {
		return
	}
	a.clean = 0
	target := 0.9 * a.ceiling
	switch {
	case a.ceiling == 0:
		a.rate *= 1.5
	case a.rate < target:
		a.rate = min(a.rate*1.5, target)
	default:
		a.rate += max(1, a.rate*0.02)
	}
	a.rate = min(a.rate, a.max)
}

// Throttled records a throttled call and slows down; wait is what the cloud asked for.
func (a *aimd) Throttled(wait time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.throttles++
	now := a.now()
	a.clean = 0
	gap := time.Duration(2 * float64(time.Second) / a.rate)
	if gap < 100*time.Millisecond {
		gap = 100 * time.Millisecond
	}
	if !a.lastCut.IsZero() && now.Sub(a.lastCut) < gap {
		return // the same burst: one cut is enough
	}
	a.lastCut = now
	a.ceiling = a.rate
	a.rate = max(a.min, a.rate/2)
	pause := time.Duration(float64(time.Second) / a.rate)
	if wait > pause {
		pause = wait
	}
	if t := now.Add(pause); t.After(a.next) {
		a.next = t
	}
}

func (a *aimd) snapshot() (rate float64, throttles int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.rate, a.throttles
}
