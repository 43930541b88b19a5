package rotate

import (
	"context"
	"math/rand/v2"
	"slices"
	"sync"
)

// Concurrency: workersPerAccount findings per account at once (a rotation spends much of its
// time on journal fsyncs, sinks and the new key's verification, not on its account's key), at
// least minWorkers and at most maxWorkers in all.
const (
	workersPerAccount = 8
	minWorkers        = 16
	maxWorkers        = 32
)

func workersFor(accounts int) int {
	return min(maxWorkers, max(minWorkers, workersPerAccount*accounts))
}

// spread returns the items in a fixed shuffled order: findings often come grouped (by account,
// by repository), and in that order a pass would work on one account at a time.
func spread[T any](items []T) []T {
	out := slices.Clone(items)
	r := rand.New(rand.NewPCG(uint64(len(items)), 0x5eed))
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// forEach runs fn over items with at most n at a time.
func forEach[T any](ctx context.Context, items []T, n int, fn func(context.Context, T)) {
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for _, it := range items {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			fn(ctx, it)
		})
	}
	wg.Wait()
}

// forEachByAccount runs fn over items with at most n at a time, each next item taken from the
// account (by account) with the fewest items in flight, and among those the one with the most
// left: every account's key stays busy until its work is done, whatever the items' order and
// however long each takes. Items of one account run in their order.
func forEachByAccount[T any](ctx context.Context, items []T, n int, account func(T) string, fn func(context.Context, T)) {
	var order []string
	queues := map[string][]T{}
	for _, it := range items {
		a := account(it)
		if _, ok := queues[a]; !ok {
			order = append(order, a)
		}
		queues[a] = append(queues[a], it)
	}
	var mu sync.Mutex
	inFlight := map[string]int{}
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for range items {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		mu.Lock()
		best := ""
		found := false
		for _, a := range order {
			if len(queues[a]) == 0 {
				continue
			}
			if !found || inFlight[a] < inFlight[best] || (inFlight[a] == inFlight[best] && len(queues[a]) > len(queues[best])) {
				best, found = a, true
			}
		}
		it := queues[best][0]
		queues[best] = queues[best][1:]
		inFlight[best]++
		mu.Unlock()
		wg.Go(func() {
			fn(ctx, it)
			mu.Lock()
			inFlight[best]--
			mu.Unlock()
			<-sem
		})
	}
	wg.Wait()
}
