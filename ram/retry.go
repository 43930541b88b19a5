package ram

import (
	"context"
	"errors"
	"time"
)

// RetryPolicy is our retry layer (the SDK's AutoRetry is off: it retries 5xx without backoff and
// never throttling). Only ErrThrottled and ErrTransient are retried, and only on calls that are
// safe to repeat.
type RetryPolicy struct {
	// MaxAttempts counts the first try (default 5; 1 disables retries). Throttled answers have
	// their own budget, MaxThrottled.
	MaxAttempts int
	// MaxThrottled is how many throttled answers one call takes before it gives up with
	// ErrThrottled (default 10; 1 when MaxAttempts is 1). Throttling is expected under load: the
	// client's shared pace slows every caller down, and a call outlasts a short storm.
	MaxThrottled int
	// BaseDelay and MaxDelay bound the jittered exponential backoff (defaults 200 ms and 10 s).
	BaseDelay, MaxDelay time.Duration
	// Sleep waits d or until ctx is done (default: a timer). Tests inject a fake.
	Sleep func(ctx context.Context, d time.Duration) error
	// Jitter returns a number in [0,1) (default: a per-client generator). Tests inject a fixed one.
	Jitter func() float64
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 5
	}
	if p.MaxThrottled <= 0 {
		p.MaxThrottled = 10
		if p.MaxAttempts == 1 {
			p.MaxThrottled = 1
		}
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = 200 * time.Millisecond
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = 10 * time.Second
	}
	if p.Sleep == nil {
		p.Sleep = Sleep
	}
	return p
}

// Sleep waits d, or until ctx ends (its error). It is the wait of every retry and pace here, and
// the engine's default (rotate.Deps.Sleep).
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// backoff is the wait before attempt n+1 (n >= 1): "full jitter" over an exponential cap, and never
// less than what the cloud asked for.
func (c *Client) backoff(n int, asked time.Duration) time.Duration {
	p := c.cfg.Retry
	ceil := p.BaseDelay << (n - 1)
	if ceil <= 0 || ceil > p.MaxDelay {
		ceil = p.MaxDelay
	}
	j := 0.0
	if p.Jitter != nil {
		j = p.Jitter()
	} else {
		j = c.rnd.Float64()
	}
	d := ceil/2 + time.Duration(float64(ceil/2)*j)
	if asked > d {
		d = asked
	}
	return d
}

// spent counts a retryable failure against its budget (throttled answers against MaxThrottled,
// the others against MaxAttempts) and says whether the budget is used up.
func (c *Client) spent(e *Error, failed, throttled *int) bool {
	if errors.Is(e, ErrThrottled) {
		*throttled++
		return *throttled >= c.cfg.Retry.MaxThrottled
	}
	*failed++
	return *failed >= c.cfg.Retry.MaxAttempts
}

// throttleBackoffSteps caps the growth of the backoff after throttled answers: the client's
// shared pace is what slows the callers of a key down under load, so a throttled call waits at
// most 400–800 ms (or what the cloud asked for) before it takes its next slot.
const throttleBackoffSteps = 3

// retryWait is the wait before attempt n+1 after e; throttled counts the throttled answers so far.
func (c *Client) retryWait(e *Error, n, throttled int) time.Duration {
	if errors.Is(e, ErrThrottled) {
		return c.backoff(min(throttled, throttleBackoffSteps), e.RetryAfter)
	}
	return c.backoff(n, e.RetryAfter)
}

// retryable says whether a classified error may be retried by a call that is safe to repeat.
func (c *Client) retryable(e *Error) bool {
	switch {
	case errors.Is(e, ErrTransient):
		return true
	case errors.Is(e, ErrThrottled):
		return c.retryThrottled
	}
	return false
}

// call runs attempt (one SDK call, safe to repeat) with classification and retries. A not-found
// of DeleteAccessKey after an ambiguous failure means the earlier attempt deleted the key: done.
// CreateAccessKey, which must never be repeated blindly, does not go through call.
func (c *Client) call(ctx context.Context, action, keyID string, attempt func(context.Context) error) error {
	var last *Error
	failed, throttled := 0, 0
	for n := 1; ; n++ {
		err := attempt(ctx)
		if err == nil {
			return nil
		}
		e := c.timedOut(classify(ctx, action, keyID, err), err)
		if last != nil && errors.Is(last, ErrTransient) &&
			(goneMeansDone(action) && errors.Is(e, ErrNotFound) || existsMeansDone(action) && errors.Is(e, ErrAlreadyExists)) {
			// The earlier, ambiguous attempt deleted (purged, detached) or attached it.
			return nil
		}
		last = e
		if !c.retryable(e) || c.spent(e, &failed, &throttled) {
			return e
		}
		wait := c.retryWait(e, n, throttled)
		c.noticeRetry(e, wait)
		if serr := c.cfg.Retry.Sleep(ctx, wait); serr != nil {
			return classify(ctx, action, keyID, serr)
		}
	}
}
