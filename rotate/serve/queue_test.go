package serve

import (
	"context"
	"testing"
	"time"
)

func ids(es []*Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

// The queue hands out entries oldest first, never two of one key at once, none before its next
// try, and gives a key back when its entry is released.
func TestQueue(t *testing.T) {
	now := time.Date(2026, 3, 4, 11, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	q := newQueue()
	q.push(&Entry{ID: "a", KeyID: "K1"}, &Entry{ID: "b", KeyID: "K1"}, &Entry{ID: "c", KeyID: "K2"},
		&Entry{ID: "d", KeyID: "K3", NextTry: now.Add(time.Hour)}, &Entry{ID: "e"}, &Entry{ID: "f"})
	ctx := context.Background()
	got := ids(q.take(ctx, 10, 0, clock))
	if want := "[a c e f]"; sprint(got) != want {
		t.Fatalf("first take %v, want %s", got, want)
	}
	if q.len() != 6 {
		t.Errorf("len %d, want 6 (waiting and in flight)", q.len())
	}
	// b waits for K1; d for its time. With nothing due, take waits until ctx ends.
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	if got := q.take(short, 10, 0, clock); got != nil {
		t.Errorf("take with nothing due = %v", ids(got))
	}
	cancel()
	q.release(&Entry{ID: "a", KeyID: "K1"})
	if got := ids(q.take(ctx, 10, 0, clock)); sprint(got) != "[b]" {
		t.Errorf("after K1's release: %v, want [b]", got)
	}
	// A key claimed in flight (a GitHub alert read) is exclusive too.
	e := &Entry{ID: "g"}
	if q.claimKey(e, "K2") || !q.claimKey(e, "K9") || q.claimKey(&Entry{ID: "h"}, "K9") {
		t.Errorf("claimKey: K2 is c's, K9 is g's")
	}
	now = now.Add(2 * time.Hour)
	if got := ids(q.take(ctx, 1, 0, clock)); sprint(got) != "[d]" {
		t.Errorf("once due: %v, want [d]", got)
	}
	if o := q.oldest(); !o.IsZero() {
		t.Errorf("oldest %v of entries without a time", o)
	}
}

func sprint(s []string) string {
	out := "["
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out + "]"
}
