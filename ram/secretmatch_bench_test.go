package ram

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/ram/emulator"
	"github.com/respond-dev/respond/ram/emulator/emulatortest"
)

// BenchmarkMatchSecretOrg20x1000: the secret-match search in a Resource Directory of 20 accounts
// × 1,000 users (1–2 keys each: ~30,000 candidates), 20 ms per call, every key limited to qps
// calls/s (the emulator's bucket, full at the start), the matching key the last user's of the
// last account (listed last). What respond does: sign in while listing the directory, enter the
// members, list every account's keys and try them as they come. max-candidates is raised to
// 50,000 (the default, 10,000, would stop before the key).
//
// The pace floor is the time the busiest key needs, at qps, for the calls it must make: those it
// had answered (the management key's: ListAccounts, GetCallerIdentity, 19 AssumeRole, its own
// keys, ListUsers, ListAccessKeys × 1,001; a member's session: about 1,002), not the throttled
// ones. Every candidate signs one call of its own, which no key's pace delays. ratio-to-floor is
// the wall time ÷ that floor. At 100/s the ~50,000 calls (SDK and emulator
// both on this machine, ~0.7 ms of CPU each) need more CPU than 2 shared cores give in 10 s:
// cpu-s/op says how much.
func BenchmarkMatchSecretOrg20x1000(b *testing.B) {
	org := emulator.GenerateOrg(emulator.GenSpec{Accounts: 20, UsersPerAccount: 1000, Seed: 22})
	us := org.Accounts[19].Users
	last := us[len(us)-1]
	want := accesskey.MustParseID(last.Keys[0].ID)
	secret := accesskey.NewSecret(last.Keys[0].Secret)
	for _, qps := range []float64{20, 100} {
		b.Run("qps="+strconv.Itoa(int(qps)), func(b *testing.B) {
			s := emulator.NewServer(org, emulator.WithLatency(20*time.Millisecond), emulator.WithRateLimit(qps),
				emulator.WithRequestLogLimit(1<<20))
			b.Cleanup(s.Close)
			ctx := context.Background()
			var wall, cpu time.Duration
			var calls, tried, busiest int
			for b.Loop() {
				b.StopTimer()
				time.Sleep(time.Second) // refill the emulator's buckets
				before := len(s.RequestLog())
				c, _ := clientFor(b, s, org.Admin(), 8)
				c.cfg.Retry.Sleep = Sleep
				b.StartTimer()
				t0, cpu0 := time.Now(), emulatortest.ProcessCPU()
				accts, err := DirectoryAccounts(ctx, c, "")
				if err != nil {
					b.Fatal(err)
				}
				o, rep, err := (&Locator{Accounts: accts}).MatchSecret(ctx, SecretMatch{Checker: c.PairCheck(secret), MaxCandidates: 50000})
				wall += time.Since(t0)
				cpu += emulatortest.ProcessCPU() - cpu0
				if err != nil || o.KeyID != want || o.UserName != last.Name || o.Account.ID != org.Accounts[19].ID {
					b.Fatalf("MatchSecret: %+v, %v", o, err)
				}
				log := s.RequestLog()[before:]
				perKey := map[string]int{} // the calls each key had answered (its throttled ones are not needed)
				for _, r := range log {
					if r.Code != "Throttling.User" {
						perKey[r.AccessKeyID]++
					}
				}
				for _, n := range perKey {
					busiest = max(busiest, n)
				}
				calls += len(log)
				tried += rep.Tried
			}
			per := wall / time.Duration(b.N)
			floor := time.Duration(float64(busiest) / qps * float64(time.Second))
			b.ReportMetric(float64(calls)/float64(b.N), "calls/op")
			b.ReportMetric(float64(tried)/float64(b.N), "tried/op")
			b.ReportMetric(per.Seconds(), "wall-s/op")
			b.ReportMetric(floor.Seconds(), "floor-s")
			b.ReportMetric(float64(per)/float64(floor), "ratio-to-floor")
			b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
		})
	}
}
