package rotate

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
)

// itemsIn makes items whose account is told by acct (by index), in that order.
func itemsIn(accts ...string) ([]*Item, map[*Item]string) {
	var items []*Item
	acct := map[*Item]string{}
	for _, a := range accts {
		it := &Item{}
		items = append(items, it)
		acct[it] = a
	}
	return items, acct
}

func repeat(a string, n int) []string { return slices.Repeat([]string{a}, n) }

// forEachByAccount takes each next item from the account with the fewest in flight, whatever
// the items' order: findings that come grouped by account still keep every account's key busy.
func TestForEachByAccount_takesFromTheLeastBusyAccount(t *testing.T) {
	accts := append(append(append(repeat("A", 12), repeat("B", 12)...), repeat("C", 3)...), repeat("", 1)...)
	items, acct := itemsIn(accts...)
	const n = 6
	started := make(chan *Item)
	release := map[*Item]chan struct{}{}
	for _, it := range items {
		release[it] = make(chan struct{})
	}
	done := make(chan struct{})
	go func() {
		forEachByAccount(context.Background(), items, n, func(it *Item) string { return acct[it] }, func(_ context.Context, it *Item) {
			started <- it
			<-release[it]
		})
		close(done)
	}()
	inFlight := map[string]int{}
	var running []*Item
	var order []string
	take := func() {
		it := <-started
		inFlight[acct[it]]++
		running = append(running, it)
		order = append(order, acct[it])
	}
	for range n {
		take()
	}
	// 4 accounts (one is "no owner"), 6 slots: nobody has more than 2, everybody has one.
	for _, a := range []string{"A", "B", "C", ""} {
		if inFlight[a] < 1 || inFlight[a] > 2 {
			t.Fatalf("first %d started: %v, want every account once or twice", n, order)
		}
	}
	// From here on, finish the oldest item and check that the next one comes from an
	// account with the fewest in flight among those with work left.
	left := map[string]int{"A": 12, "B": 12, "C": 3, "": 1}
	for _, a := range order {
		left[a]--
	}
	for len(running) > 0 {
		it := running[0]
		running = running[1:]
		close(release[it])
		inFlight[acct[it]]--
		if left["A"]+left["B"]+left["C"]+left[""] == 0 {
			continue
		}
		fewest := -1
		for a, l := range left {
			if l > 0 && (fewest < 0 || inFlight[a] < fewest) {
				fewest = inFlight[a]
			}
		}
		before := len(order)
		take()
		got := order[before]
		if inFlight[got]-1 != fewest {
			t.Fatalf("after %v: took from %q with %d in flight, want an account with %d", order[:before], got, inFlight[got]-1, fewest)
		}
		left[got]--
	}
	<-done
	if len(order) != len(items) {
		t.Errorf("%d items ran, want %d", len(order), len(items))
	}
}

func TestForEachByAccount_runsEachItemOnceInAccountOrder(t *testing.T) {
	for _, n := range []int{1, 3, 16} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			var accts []string
			for i := range 40 {
				accts = append(accts, string(rune('A'+(i*7)%3)))
			}
			items, acct := itemsIn(accts...)
			var mu sync.Mutex
			ran := map[*Item]int{}
			var seq []*Item
			forEachByAccount(context.Background(), items, n, func(it *Item) string { return acct[it] }, func(_ context.Context, it *Item) {
				mu.Lock()
				defer mu.Unlock()
				ran[it]++
				seq = append(seq, it)
			})
			for i, it := range items {
				if ran[it] != 1 {
					t.Errorf("item %d ran %d times", i, ran[it])
				}
			}
			if n == 1 {
				// one at a time: each account's items start in their order
				pos := map[*Item]int{}
				for i, it := range seq {
					pos[it] = i
				}
				last := map[string]int{}
				for _, it := range items {
					if p, ok := last[acct[it]]; ok && pos[it] < p {
						t.Errorf("account %q: items out of order", acct[it])
					}
					last[acct[it]] = pos[it]
				}
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	items, acct := itemsIn(repeat("A", 5)...)
	calls := 0
	forEachByAccount(ctx, items, 2, func(it *Item) string { return acct[it] }, func(context.Context, *Item) { calls++ })
	if calls != 0 {
		t.Errorf("cancelled: %d items ran, want 0", calls)
	}
}

func TestSpread_isAFixedPermutation(t *testing.T) {
	items, _ := itemsIn(repeat("A", 50)...)
	a, b := spread(items), spread(items)
	if !slices.Equal(a, b) {
		t.Error("two spreads of the same items differ")
	}
	if slices.Equal(a, items) {
		t.Error("spread kept the order")
	}
	sorted := func(s []*Item) []string {
		var out []string
		for _, it := range s {
			out = append(out, fmt.Sprintf("%p", it))
		}
		slices.Sort(out)
		return out
	}
	if !slices.Equal(sorted(a), sorted(items)) {
		t.Error("spread is not a permutation of the items")
	}
}
