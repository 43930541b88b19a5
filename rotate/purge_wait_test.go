package rotate

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
)

// The purge of a key this run deleted moments ago waits for a lagging recycle bin; only a wait
// that saw nothing but the bin's not-found until verify-timeout may end "nothing to purge". A
// wait cut short by an interruption, or a bin that stopped answering, proves nothing: the purge
// fails (the key is not called purged, its alerts stay open) and a run again resumes it.
func TestPurgeWaitCutShortIsNotPurged(t *testing.T) {
	const leaked = "LTAI5tFAKECIDEPLOY000001"
	throttled := &ram.Error{Action: "GetAccessKeyInfoInRecycleBin", Code: "Throttling.User", Class: ram.ErrTransient}
	for _, tc := range []struct {
		name string
		// fault makes the nth GetAccessKeyInfoInRecycleBin (from 1) fail; cancel interrupts
		// the wait at its first sleep.
		fault      func(nth int) error
		cancel     bool
		wantPurged bool
		wantErr    string
	}{
		{name: "never binned", wantPurged: true},
		{name: "interrupted", cancel: true, wantErr: "interrupted"},
		{name: "bin stops answering", fault: func(nth int) error {
			if nth > 1 {
				return throttled
			}
			return nil
		}, wantErr: "reach the recycle bin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake("alice")
			if tc.fault != nil {
				f.fault = func(action string, nth int) (error, bool) {
					if strings.HasPrefix(action, "GetAccessKeyInfoInRecycleBin") {
						return tc.fault(nth), false
					}
					return nil, false
				}
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			clock := &movableClock{t: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)}
			sleeps := 0
			sleep := func(ctx context.Context, d time.Duration) error {
				sleeps++
				if tc.cancel {
					cancel()
				}
				clock.set(clock.Now().Add(d))
				return ctx.Err()
			}
			x := &run{p: Plan{KeyID: accesskey.MustParseID(leaked), Owner: &ram.Owner{UserName: "alice"},
				VerifyTimeout: 30 * time.Second, VerifyInterval: 2 * time.Second},
				api: f, d: Deps{Clock: clock, Sleep: sleep}, res: &Result{}, red: accesskey.NewRedactor()}
			x.binExpected = true
			detail, _, _, err := x.purgeLeaked(ctx)
			if x.leakedPurged != tc.wantPurged {
				t.Fatalf("leakedPurged %v, want %v (detail %q, err %v)", x.leakedPurged, tc.wantPurged, detail, err)
			}
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("err %v", err)
			case tc.wantErr == "" && (sleeps == 0 || !strings.Contains(detail, "did not show in a recycle bin within 30s")):
				t.Fatalf("after %d wait(s): %q", sleeps, detail)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr) || errors.Is(err, ram.ErrNotFound)):
				t.Fatalf("err %v, want one saying %q (not a not-found)", err, tc.wantErr)
			}
		})
	}
}
