package rotate

import (
	"context"
	"sync"
	"time"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/rotate/assess"
)

// ActionTrail allows 2 LookupEvents per second per account and region, so a batch's assessments
// are bound by ActionTrail, not by the accounts' keys: the batch starts each key's read as soon as
// its owner is found (during the owner search of the other keys), and the inspection takes it
// from there instead of starting it then.

// trailRead is one key's ActionTrail read, started early.
type trailRead struct {
	id     accesskey.ID
	window time.Duration // as asked (0: the default)
	done   chan struct{}
	q      ram.EventQuery
	col    assess.Collection
	err    error
}

// prefetches are the reads a batch started; Run waits for them before it returns.
type prefetches struct{ wg sync.WaitGroup }

// start reads the key's events in the owner's account in the background.
func (p *prefetches) start(ctx context.Context, accts Accounts, account string, id accesskey.ID, window time.Duration, regions []string, now time.Time) *trailRead {
	r := &trailRead{id: id, window: window, done: make(chan struct{})}
	p.wg.Go(func() {
		defer close(r.done)
		api, err := accts.API(ctx, account)
		if err != nil {
			r.err = err
			return
		}
		if r.q, r.err = assess.Query(ram.EventQuery{AccessKeyID: id}, window, now); r.err != nil {
			return
		}
		r.col, r.err = collectEvents(ctx, api, r.q, regions)
	})
	return r
}

// wait waits for the reads still running.
func (p *prefetches) wait() { p.wg.Wait() }

// prefetch starts the read of a located item's events, when its playbook is chosen already (the
// window is its assess step's) and the inspection will read them.
func (b *Batch) prefetch(ctx context.Context, it *Item) {
	if it.Playbook == nil || it.deps.NoEvents || it.Finding.KeyID.IsSTS() {
		return
	}
	window := time.Duration(0)
	if st, ok := it.Playbook.Step(playbooks.StepAssess); ok {
		window = st.Options.AssessWindow
	}
	it.trail = b.pre.start(ctx, it.deps.Accounts, it.owner.Account.ID, it.Finding.KeyID, window, it.deps.AssessRegions, it.deps.now())
}

// take is the read of the key over the window, once done, when it is the one inspectEvents would
// make; ok is false otherwise (then it reads itself).
func (r *trailRead) take(ctx context.Context, id accesskey.ID, window time.Duration) (ram.EventQuery, assess.Collection, error, bool) {
	if r == nil || r.id != id || r.window != window {
		return ram.EventQuery{}, assess.Collection{}, nil, false
	}
	select {
	case <-r.done:
	case <-ctx.Done():
		return ram.EventQuery{}, assess.Collection{}, ctx.Err(), true
	}
	return r.q, r.col, r.err, true
}
