package ram

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/ram/emulator"
)

// Config.Observe is told of every request the SDK sends (each attempt of a retried call), with its
// product and action, and which answers were throttles: through the real SDK against the emulator,
// with Throttling injected on ListUsers, and a client entered into a member account (ForAccount)
// inheriting it.
func TestObserveCountsCallsAndThrottles(t *testing.T) {
	ctx := context.Background()
	org := emulator.GenerateOrg(emulator.GenSpec{Accounts: 2, UsersPerAccount: 3, Seed: 5})
	s := emulator.NewServer(org)
	t.Cleanup(s.Close)
	var mu sync.Mutex
	got := map[Call]int{}
	fs := &fakeSleep{}
	admin := org.Admin()
	c, err := New(ctx, Config{
		Endpoint:    s.Endpoint(),
		Credentials: StaticCredentials(admin.AccessKeyID, accesskey.NewSecret(admin.AccessKeySecret)),
		Retry:       RetryPolicy{Sleep: fs.Sleep, Jitter: func() float64 { return 0 }},
		Observe: func(c Call) {
			mu.Lock()
			got[c]++
			mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	s.AddFault(emulator.Fault{Action: "ListUsers", Kind: emulator.FaultThrottle, Count: 2, RetryAfter: 10 * time.Millisecond})
	if err := c.ListUsers(ctx, func(User) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetUser(ctx, "user-0001"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetUser(ctx, "nobody"); err == nil {
		t.Fatal("GetUser(nobody) succeeded")
	}
	member := org.Accounts[1].ID
	mc, err := c.ForAccount(ctx, member, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mc.ListAccessKeys(ctx, "user-0001"); err != nil {
		t.Fatal(err)
	}
	want := map[Call]int{
		{Product: "ram", Action: "ListUsers", Throttled: true}:  2,
		{Product: "ram", Action: "ListUsers", Throttled: false}: 1,
		{Product: "ram", Action: "GetUser"}:                     2, // a not-found is a call, not a throttle
		{Product: "sts", Action: "AssumeRole"}:                  1,
		{Product: "ram", Action: "ListAccessKeys"}:              1,
	}
	mu.Lock()
	defer mu.Unlock()
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%+v observed %d times, want %d (all: %v)", k, got[k], n, got)
		}
	}
	total := 0
	for _, n := range got {
		total += n
	}
	if sent := len(s.RequestLog()); total != sent {
		t.Errorf("observed %d calls, the emulator answered %d", total, sent)
	}
}
