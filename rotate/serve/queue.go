package serve

import (
	"context"
	"sync"
	"time"

	"github.com/respond-dev/respond/rotate/source"
)

// queue holds the pending entries in memory (the spool holds them on disk): the ones waiting, in
// arrival order, and the ones a worker has. Two entries of one key are never handed out at once,
// so a key is never rotated by two batches of this server at the same time (the journal's lock
// keeps it from other processes).
type queue struct {
	mu       sync.Mutex
	waiting  []*Entry
	inflight map[string]*Entry // by entry id
	keys     map[string]string // key id → the id of the entry a worker has it for
	wake     chan struct{}     // signalled when an entry is added or released
	closed   bool
}

func newQueue() *queue {
	return &queue{inflight: map[string]*Entry{}, keys: map[string]string{}, wake: make(chan struct{}, 1)}
}

func (q *queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// len counts the entries waiting or in flight.
func (q *queue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.waiting) + len(q.inflight)
}

// oldest is the arrival time of the oldest entry waiting or in flight (zero when none).
func (q *queue) oldest() time.Time {
	q.mu.Lock()
	defer q.mu.Unlock()
	var t time.Time
	for _, e := range q.waiting {
		if t.IsZero() || e.Received.Before(t) {
			t = e.Received
		}
	}
	for _, e := range q.inflight {
		if t.IsZero() || e.Received.Before(t) {
			t = e.Received
		}
	}
	return t
}

// push adds entries to the end of the queue.
func (q *queue) push(es ...*Entry) {
	q.mu.Lock()
	q.waiting = append(q.waiting, es...)
	q.mu.Unlock()
	q.signal()
}

// take hands out up to n entries that are due (NextTry passed) and whose key no worker has,
// oldest first, waiting until there is one or ctx ends (nil). Having found some, it waits up to
// gather for more to arrive, so that a burst runs as a few batches rather than many.
func (q *queue) take(ctx context.Context, n int, gather time.Duration, now func() time.Time) []*Entry {
	var out []*Entry
	var deadline <-chan time.Time
	for {
		q.mu.Lock()
		next := time.Time{}
		keep := q.waiting[:0]
		for _, e := range q.waiting {
			switch {
			case len(out) >= n:
				keep = append(keep, e)
			case e.NextTry.After(now()):
				if next.IsZero() || e.NextTry.Before(next) {
					next = e.NextTry
				}
				keep = append(keep, e)
			case e.KeyID != "" && q.keys[e.KeyID] != "":
				keep = append(keep, e)
			default:
				if e.KeyID != "" {
					q.keys[e.KeyID] = e.ID
				}
				q.inflight[e.ID] = e
				out = append(out, e)
			}
		}
		clear(q.waiting[len(keep):])
		q.waiting = keep
		q.mu.Unlock()
		if len(out) >= n || (len(out) > 0 && gather <= 0) {
			return out
		}
		if len(out) > 0 && deadline == nil {
			deadline = time.After(gather)
		}
		var timer <-chan time.Time
		var t *time.Timer
		if !next.IsZero() {
			t = time.NewTimer(max(next.Sub(now()), time.Millisecond))
			timer = t.C
		}
		select {
		case <-ctx.Done():
			q.release(out...)
			q.push(out...)
			return nil
		case <-q.wake:
		case <-timer:
		case <-deadline:
			return out
		}
		if t != nil {
			t.Stop()
		}
	}
}

// claimKey marks the key of an entry in flight whose key just became known (a GitHub alert
// read); false when another entry in flight has it.
func (q *queue) claimKey(e *Entry, key string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if key == "" {
		return true
	}
	if h := q.keys[key]; h != "" && h != e.ID {
		return false
	}
	q.keys[key] = e.ID
	return true
}

// release gives back entries a worker had (finished, or to push again) and their keys.
func (q *queue) release(es ...*Entry) {
	q.mu.Lock()
	for _, e := range es {
		delete(q.inflight, e.ID)
		for k, id := range q.keys {
			if id == e.ID {
				delete(q.keys, k)
			}
		}
	}
	q.mu.Unlock()
	q.signal()
}

// keyRecords reports whether an entry of the key is waiting or in flight, and the Security
// Center records such entries carry.
func (q *queue) keyRecords(key string) (bool, []source.Record) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var recs []source.Record
	has := false
	if e := q.inflight[q.keys[key]]; q.keys[key] != "" {
		has = true
		if e != nil {
			recs = append(recs, e.Records...)
		}
	}
	for _, e := range q.waiting {
		if e.KeyID == key {
			has = true
			recs = append(recs, e.Records...)
		}
	}
	return has, recs
}
