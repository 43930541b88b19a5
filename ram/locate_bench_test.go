package ram

import (
	"context"
	"testing"
	"time"

	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/ram/emulator"
)

// The seed's loop, fixed to follow Marker: one call at a time, user by user.
func sequentialFind(ctx context.Context, c *Client, id accesskey.ID) (string, error) {
	var owner string
	errFound := context.Canceled
	err := c.ListUsers(ctx, func(u User) error {
		keys, err := c.ListAccessKeys(ctx, u.UserName)
		if err != nil {
			return err
		}
		if findKey(keys, id) != nil {
			owner = u.UserName
			return errFound
		}
		return nil
	})
	if err == errFound {
		err = nil
	}
	return owner, err
}

// (a) One account of 1,000 users, key of the last user, scan only, 20 ms per call, 100 req/s.
func BenchmarkLocateScan1000(b *testing.B) {
	org := emulator.GenerateOrg(emulator.GenSpec{Accounts: 1, UsersPerAccount: 999, Seed: 21}) // + admin = 1,000
	s := emulator.NewServer(org, emulator.WithLatency(20*time.Millisecond), emulator.WithRateLimit(100))
	b.Cleanup(s.Close)
	c, _ := clientFor(b, s, org.Admin(), 8)
	c.cfg.Retry.Sleep = Sleep
	user, id := lastUserKey(org, 0)
	ctx := context.Background()
	l := &Locator{Accounts: []LocatorAccount{{Account: Account{ID: org.Accounts[0].ID}, Entry: Entered(c)}}, Strategies: []string{StrategyScan}}

	var seqWall time.Duration
	var seqCalls int
	{
		before := len(s.RequestLog())
		t0 := time.Now()
		got, err := sequentialFind(ctx, c, id)
		seqWall = time.Since(t0)
		seqCalls = len(s.RequestLog()) - before
		if err != nil || got != user {
			b.Fatalf("sequential: %q, %v", got, err)
		}
	}
	time.Sleep(time.Second) // refill the emulator's bucket

	b.ResetTimer()
	var wall time.Duration
	var n int
	for range b.N {
		before := len(s.RequestLog())
		t0 := time.Now()
		o, err := l.Locate(ctx, id)
		wall += time.Since(t0)
		n += len(s.RequestLog()) - before
		if err != nil || o.UserName != user {
			b.Fatalf("Locate: %+v, %v", o, err)
		}
		b.StopTimer()
		time.Sleep(time.Second)
		b.StartTimer()
	}
	per := wall / time.Duration(b.N)
	callsPer := float64(n) / float64(b.N)
	floor := time.Duration(callsPer / 100 * float64(time.Second))
	b.ReportMetric(callsPer, "calls/op")
	b.ReportMetric(per.Seconds(), "wall-s/op")
	b.ReportMetric(float64(per)/float64(floor), "ratio-to-floor")
	b.ReportMetric(float64(per)/float64(seqWall), "ratio-to-sequential")
	b.ReportMetric(seqWall.Seconds(), "sequential-wall-s")
	b.ReportMetric(float64(seqCalls), "sequential-calls")
}

// (b) 20 accounts × 1,000 users, key in the last account, default strategies, what `respond
// locate` does: sign in (GetCallerIdentity), list the Resource Directory, enter the members,
// search. 4 round trips in series suffice (GetCallerIdentity ‖ ListAccounts → AssumeRole →
// IMS GetUser → ListAccessKeys): ratio-to-4rtt is the wall time ÷ (4 × latency). At latency 0
// the wall time is the work alone (the SDK, the emulator, the scheduling of ~40 calls on the
// machine's cores), which the other two pay on top of their round trips.
func BenchmarkLocateOrg20x1000(b *testing.B) {
	org := emulator.GenerateOrg(emulator.GenSpec{Accounts: 20, UsersPerAccount: 1000, Seed: 22})
	user, id := lastUserKey(org, 19)
	for _, lat := range []time.Duration{0, 20 * time.Millisecond, 100 * time.Millisecond} {
		b.Run("latency="+lat.String(), func(b *testing.B) {
			s := emulator.NewServer(org, emulator.WithLatency(lat))
			b.Cleanup(s.Close)
			ctx := context.Background()
			var wall time.Duration
			// The request log is read once before and once after: copying it on every
			// iteration made garbage whose collection ran during the next one.
			before := len(s.RequestLog())
			for b.Loop() {
				c, _ := clientFor(b, s, org.Admin(), 8)
				c.cfg.Retry.Sleep = Sleep
				t0 := time.Now()
				// As cmd/respond's connect: the directory is listed while respond signs in.
				accts, err := DirectoryAccounts(ctx, c, "")
				if err != nil {
					b.Fatal(err)
				}
				if _, err := c.Identity(ctx); err != nil {
					b.Fatal(err)
				}
				o, err := (&Locator{Accounts: accts}).Locate(ctx, id)
				wall += time.Since(t0)
				if err != nil || o.UserName != user || o.Account.ID != org.Accounts[19].ID {
					b.Fatalf("Locate: %+v, %v", o, err)
				}
			}
			n := len(s.RequestLog()) - before
			per := wall / time.Duration(b.N)
			b.ReportMetric(float64(n)/float64(b.N), "calls/op")
			b.ReportMetric(per.Seconds(), "wall-s/op")
			if lat > 0 {
				b.ReportMetric(float64(per)/float64(4*lat), "ratio-to-4rtt")
			}
		})
	}
}
