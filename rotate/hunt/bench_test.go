package hunt_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/emulator"
	"github.com/respond-dev/respond/rotate/hunt"
)

// The hunt's cost at 20 ms per call (go test ./rotate/hunt -run '^$' -bench Hunt): the calls it
// makes itself, given the leaked key's events (assess has already paged them), and its wall
// time, with LookupEvents paced at ActionTrail's documented 2 per second per region (what
// respond does against the cloud) and unpaced.

const benchLatency = 20 * time.Millisecond

// benchOrg is an organisation whose leaked key (user app) has n events: a sweep of
// DescribeInstances and, among them, backdoors users each created with a key by the leaked key;
// each backdoor key then gave its own user a console password.
func benchOrg(n, backdoors int) *emulator.Org {
	const leaked = "LTAI5tBENCHLEAKED0000001"
	acct := emulator.Account{ID: "9000000000000001", Management: true}
	acct.Users = append(acct.Users,
		emulator.User{Name: "admin", Admin: true, Keys: []emulator.Key{{ID: "LTAI5tBENCHADMIN00000001", Secret: "BenchAdminSecret00000000000001"}}},
		emulator.User{Name: "app", Allow: []string{"ram:*"}, Keys: []emulator.Key{{ID: leaked, Secret: "BenchLeakedSecret0000000000001"}}})
	for i := range backdoors {
		name := fmt.Sprintf("backdoor-%03d", i)
		key := fmt.Sprintf("LTAI5tBENCHKEY%010d", i)
		ago := 10*time.Hour - time.Duration(i)*time.Minute
		acct.Users = append(acct.Users, emulator.User{Name: name, CreatedAgo: ago, LoginProfile: &emulator.LoginProfile{CreatedAgo: ago - 2*time.Minute},
			Keys: []emulator.Key{{ID: key, Secret: fmt.Sprintf("BenchSecret%019d", i), CreatedAgo: ago - time.Minute}}})
		acct.Events = append(acct.Events,
			emulator.Event{Name: "CreateUser", Ago: ago, AccessKeyID: leaked, UserName: "app", SourceIP: "185.220.101.34",
				Params: map[string]string{"UserName": name}},
			emulator.Event{Name: "CreateAccessKey", Ago: ago - time.Minute, AccessKeyID: leaked, UserName: "app", SourceIP: "185.220.101.34",
				Params: map[string]string{"UserName": name}, Response: map[string]any{"AccessKey": map[string]any{"AccessKeyId": key}}},
			emulator.Event{Name: "CreateLoginProfile", Ago: ago - 2*time.Minute, AccessKeyID: key, UserName: name, SourceIP: "45.9.148.3",
				Params: map[string]string{"UserName": name}})
	}
	if rest := n - 2*backdoors; rest > 0 {
		acct.Events = append(acct.Events, emulator.Event{Name: "DescribeInstances", Service: "Ecs", Region: "cn-hangzhou", Ago: time.Hour,
			Repeat: rest, Every: 30 * time.Second, AccessKeyID: leaked, UserName: "app", SourceIP: "185.220.101.34"})
	}
	return &emulator.Org{Accounts: []emulator.Account{acct}}
}

func benchHunt(b *testing.B, org *emulator.Org, key, owner string, paced bool) {
	s := emulator.NewServer(org, emulator.WithClock(func() time.Time { return fixedNow }), emulator.WithoutTimestampCheck(),
		emulator.WithoutNonceCheck(), emulator.WithLookupEventsLimit(0))
	b.Cleanup(s.Close)
	c := client(b, s, org.Admin(), "")
	var regions []string
	for _, r := range s.TrailRegions() {
		regions = append(regions, r.ID)
	}
	// What assess collects: every region's events, the global ones once.
	var evs []ram.Event
	seen := map[string]bool{}
	for _, r := range regions {
		err := c.LookupEvents(context.Background(), ram.EventQuery{AccessKeyID: mustID(b, key), Region: r,
			Start: fixedNow.Add(-7 * 24 * time.Hour), End: fixedNow}, func(e ram.Event) error {
			if !seen[e.ID] {
				seen[e.ID] = true
				evs = append(evs, e)
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	if paced {
		c = pacedClient(b, s, org.Admin(), "", 0)
	}
	s.SetLatency(benchLatency)
	in := hunt.Input{Key: mustID(b, key), Owner: owner, AccountID: org.Accounts[0].ID, Events: evs,
		Start: fixedNow.Add(-7 * 24 * time.Hour), End: fixedNow}
	var calls, edges int
	b.ResetTimer()
	for range b.N {
		before := len(s.RequestLog())
		g, err := hunt.Run(context.Background(), in, hunt.TrailSource{Trail: c, Regions: regions}, c)
		if err != nil || len(g.Errors) > 0 {
			b.Fatal(err, g.Errors)
		}
		calls, edges = len(s.RequestLog())-before, len(g.Edges)
	}
	b.ReportMetric(float64(calls), "calls/op")
	b.ReportMetric(float64(len(evs)), "events")
	b.ReportMetric(float64(edges), "findings")
}

func BenchmarkHuntDemo(b *testing.B) {
	for _, paced := range []bool{true, false} {
		b.Run(map[bool]string{true: "paced", false: "unpaced"}[paced], func(b *testing.B) {
			benchHunt(b, emulator.DemoOrg(), "LTAI5tFAKEBILLING0LEAK01", "billing-app", paced)
		})
	}
}

func BenchmarkHunt10k(b *testing.B) {
	for _, paced := range []bool{true, false} {
		b.Run(map[bool]string{true: "paced", false: "unpaced"}[paced], func(b *testing.B) {
			benchHunt(b, benchOrg(10000, 25), "LTAI5tBENCHLEAKED0000001", "app", paced)
		})
	}
}
