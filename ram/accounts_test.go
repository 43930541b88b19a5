package ram

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
)

// once: one computation for callers at the same time, its result kept, a failure too, unless
// the caller that computed it gave up.
func TestOnce(t *testing.T) {
	errDenied := errors.New("denied")
	tests := []struct {
		name      string
		results   []error // what each computation returns, in order
		cancelled []bool  // whether the caller's context ends during its computation
		wantCalls int
		wantErrs  []error // what each of the sequential callers gets
	}{
		{"success kept", []error{nil}, []bool{false}, 1, []error{nil, nil, nil}},
		{"failure kept", []error{errDenied}, []bool{false}, 1, []error{errDenied, errDenied, errDenied}},
		{"a caller that gave up leaves it to the next", []error{context.Canceled, nil}, []bool{true, false}, 2, []error{context.Canceled, nil, nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := newOnce[int]()
			calls := 0
			for i, want := range tt.wantErrs {
				ctx, cancel := context.WithCancel(context.Background())
				v, err := o.get(ctx, func(ctx context.Context) (int, error) {
					n := calls
					calls++
					if n < len(tt.cancelled) && tt.cancelled[n] {
						cancel()
					}
					if n < len(tt.results) && tt.results[n] != nil {
						return 0, tt.results[n]
					}
					return 42, nil
				})
				cancel()
				if !errors.Is(err, want) || err == nil && v != 42 {
					t.Errorf("caller %d: %d, %v; want %v", i, v, err, want)
				}
			}
			if calls != tt.wantCalls {
				t.Errorf("%d computations, want %d", calls, tt.wantCalls)
			}
		})
	}
}

func TestOnce_concurrentCallersShareOneComputation(t *testing.T) {
	o := newOnce[int]()
	var calls atomic.Int32
	release := make(chan struct{})
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			v, err := o.get(context.Background(), func(context.Context) (int, error) {
				calls.Add(1)
				<-release
				return 7, nil
			})
			if v != 7 || err != nil {
				t.Errorf("got %d, %v", v, err)
			}
		})
	}
	close(release)
	wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Errorf("%d computations, want 1", n)
	}
	// A caller whose context has ended does not wait for the slot.
	o2 := newOnce[int]()
	o2.slot <- struct{}{} // busy
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := o2.get(ctx, func(context.Context) (int, error) { return 1, nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("waiting with an ended context: %v", err)
	}
}
