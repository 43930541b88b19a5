package assess

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/ram/emulator"
	et "github.com/respond-dev/respond/ram/emulator/emulatortest"
)

// The demo organisation's leaked key: 63 global events (RAM, STS) and a sweep of three regions
// (us-west-1 15, ap-southeast-1 38, eu-central-1 4) besides the app's own 24 calls in
// cn-hangzhou: 144 events, of which one region alone shows at most 101.
const demoLeak = "LTAI5tFAKEBILLING0LEAK01"

// emuClient is respond's real client (the SDK underneath) against the emulator, signed by the
// org's administrator, sleeping for real (the LookupEvents pace is real time).
func emuClient(t testing.TB, s *emulator.Server, org *emulator.Org) *ram.Client {
	t.Helper()
	admin := org.Admin()
	c, err := ram.New(context.Background(), ram.Config{
		Endpoint:    s.Endpoint(),
		Credentials: ram.StaticCredentials(admin.AccessKeyID, accesskey.NewSecret(admin.AccessKeySecret)),
		UserAgent:   "respond/test",
		Retry:       ram.RetryPolicy{MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func demoQuery(t testing.TB) ram.EventQuery {
	q, err := Query(ram.EventQuery{AccessKeyID: accesskey.MustParseID(demoLeak)}, 0, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func countsByName(a Assessment) map[string]int {
	m := map[string]int{}
	for _, c := range a.ByAction {
		m[c.Name] = c.Count
	}
	return m
}

func TestEmulatorEveryRegion(t *testing.T) {
	org := emulator.DemoOrg()
	s := et.Start(t, org) // the documented limit is on: 2 LookupEvents per second per region
	c := emuClient(t, s, org)
	col, err := CollectRegions(context.Background(), c, demoQuery(t), Scope{Parallel: 25})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, e := range col.Events {
		if ids[e.ID] {
			t.Errorf("event %s counted twice", e.ID)
		}
		ids[e.ID] = true
	}
	cov := col.Coverage
	if len(col.Events) != 144 || cov.GlobalEvents != 63 || cov.Asked != 25 || cov.Failed != 0 || cov.Partial || cov.Source != SourceActionTrail {
		t.Fatalf("%d events, coverage %+v", len(col.Events), cov)
	}
	a := col.Summarize(Options{Now: time.Now(), Lag: DefaultLag})
	want := "[{global 63} {ap-southeast-1 38} {cn-hangzhou 24} {us-west-1 15} {eu-central-1 4}]"
	if got := fmt.Sprint(a.ByRegion); got != want {
		t.Errorf("by region %s, want %s", got, want)
	}
	if n := countsByName(a); n["Ecs:RunInstances"] != 12 || n["Ecs:DescribeInstances"] != 45 || n["Ram:CreateUser"] != 1 || a.Total != 144 {
		t.Errorf("total %d actions %v", a.Total, n)
	}
	// Every region asked once per page, paced: no throttled answer.
	pages := map[string]int{}
	for _, q := range s.RequestLog() {
		if q.Action == "LookupEvents" {
			pages[q.Params["RegionId"]]++
			if q.Code != "" {
				t.Errorf("LookupEvents in %s: %s", q.Params["RegionId"], q.Code)
			}
		}
	}
	if len(pages) != 25 || pages["ap-southeast-1"] != 3 || pages["cn-beijing"] != 2 {
		t.Errorf("pages per region %v", pages)
	}
	var text strings.Builder
	if err := WriteText(&text, a); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"Looked in 25 regions of the 25 regions ActionTrail lists", "Regions: global (63), ap-southeast-1 (38)", "may be missing"} {
		if !strings.Contains(text.String(), s) {
			t.Errorf("text lacks %q:\n%s", s, text.String())
		}
	}
}

func TestEmulatorRegionFails(t *testing.T) {
	org := emulator.DemoOrg()
	s := et.Start(t, org)
	s.AddFault(emulator.Fault{Action: "LookupEvents", Region: "eu-central-1", Kind: emulator.FaultServerErrorBefore})
	c := emuClient(t, s, org)
	col, err := CollectRegions(context.Background(), c, demoQuery(t), Scope{Parallel: 25})
	if !errors.Is(err, ErrPartial) || !errors.Is(err, ram.ErrTransient) || !strings.Contains(err.Error(), "eu-central-1 failed") {
		t.Fatalf("err %v", err)
	}
	a := col.Summarize(Options{Now: time.Now()})
	if !a.Partial || a.Coverage.Failed != 1 || a.Total != 140 {
		t.Fatalf("partial %v coverage %+v total %d", a.Partial, a.Coverage, a.Total)
	}
	for _, r := range a.Coverage.Regions {
		if (r.Region == "eu-central-1") != (r.Status == RegionFailed) {
			t.Errorf("region %+v", r)
		}
		if r.Region == "eu-central-1" && !strings.Contains(r.Reason, "InternalError") {
			t.Errorf("reason %q", r.Reason)
		}
	}
	var text strings.Builder
	if err := WriteText(&text, a); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(text.String(), "PARTIAL ASSESSMENT") || !strings.Contains(text.String(), "NOT LOOKED AT: eu-central-1 failed") {
		t.Errorf("text:\n%s", text.String())
	}
	// Collect (no coverage) says so too: the events of the others, and the error.
	evs, err := Collect(context.Background(), c, demoQuery(t))
	if len(evs) != 140 || !errors.Is(err, ErrPartial) {
		t.Errorf("Collect: %d events, %v", len(evs), err)
	}
}

func TestEmulatorConfiguredRegions(t *testing.T) {
	org := emulator.DemoOrg()
	s := et.Start(t, org)
	c := emuClient(t, s, org)
	col, err := CollectRegions(context.Background(), c, demoQuery(t), Scope{Regions: []string{"ap-southeast-1", "us-west-1", "eu-central-1"}})
	if err != nil {
		t.Fatal(err)
	}
	cov := col.Coverage
	if len(col.Events) != 120 || cov.Asked != 3 || cov.Skipped != 22 || cov.Partial || cov.Source != SourceConfigured {
		t.Errorf("%d events, coverage %+v", len(col.Events), cov)
	}
	// One region asked alone (--region): its events and the global ones.
	q := demoQuery(t)
	q.Region = "ap-southeast-1"
	evs, err := Collect(context.Background(), c, q)
	if err != nil || len(evs) != 101 {
		t.Errorf("ap-southeast-1 alone: %d events, %v", len(evs), err)
	}
}

func TestEmulatorIngestionLag(t *testing.T) {
	org := emulator.DemoOrg()
	s := et.Start(t, org, emulator.WithActionTrailLag(10*time.Minute))
	c := emuClient(t, s, org)
	const fresh = "LTAI5tFAKECIDEPLOY000001"
	s.AddEvents(org.Admin().AccountID, emulator.Event{Name: "RunInstances", Service: "Ecs", Region: "ap-southeast-1", Ago: 2 * time.Minute, AccessKeyID: fresh})
	q, err := Query(ram.EventQuery{AccessKeyID: accesskey.MustParseID(fresh)}, 0, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	col, err := CollectRegions(context.Background(), c, q, Scope{Regions: []string{"ap-southeast-1"}})
	if err != nil {
		t.Fatal(err)
	}
	a := col.Summarize(Options{Now: q.End, Lag: DefaultLag})
	var text strings.Builder
	if err := WriteText(&text, a); err != nil {
		t.Fatal(err)
	}
	// The cloud has not shown the call yet: the answer says it may be missing, rather than
	// calling the key unused.
	if a.Total != 0 || !strings.Contains(text.String(), "events of the last 10m (after ") {
		t.Errorf("total %d:\n%s", a.Total, text.String())
	}
}

// BenchmarkAssessAllRegions: the demo's leaked key (144 events) in the 25 regions the emulator's
// ActionTrail lists, 20 ms latency per call, with the documented limit of 2 LookupEvents per
// second per region enforced by the emulator and paced by the client, at several parallelisms;
// "unpaced" turns both the limit and the pace off to show the latency floor. Run with
// -benchtime=3x; the numbers are in README.md.
func BenchmarkAssessAllRegions(b *testing.B) {
	for _, bc := range []struct {
		name     string
		parallel int
		unpaced  bool
	}{
		{"p1", 1, false}, {"p5", 5, false}, {"p10", 10, false}, {"p25", 25, false}, {"p25-unpaced", 25, true}, {"p5-unpaced", 5, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			org := emulator.DemoOrg()
			var calls, throttled int
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				opts := []emulator.Option{emulator.WithLatency(20 * time.Millisecond)}
				qps := 0.0
				if bc.unpaced {
					opts, qps = append(opts, emulator.WithLookupEventsLimit(0)), -1
				}
				s := et.Start(b, org, opts...)
				admin := org.Admin()
				c, err := ram.New(context.Background(), ram.Config{Endpoint: s.Endpoint(), LookupEventsQPS: qps,
					Credentials: ram.StaticCredentials(admin.AccessKeyID, accesskey.NewSecret(admin.AccessKeySecret))})
				if err != nil {
					b.Fatal(err)
				}
				q := demoQuery(b)
				b.StartTimer()
				col, err := CollectRegions(context.Background(), c, q, Scope{Parallel: bc.parallel})
				b.StopTimer()
				if err != nil || len(col.Events) != 144 {
					b.Fatalf("%d events, %v", len(col.Events), err)
				}
				for _, r := range s.RequestLog() {
					calls++
					if r.Code != "" {
						throttled++
					}
				}
				s.Close()
			}
			b.ReportMetric(float64(calls)/float64(b.N), "calls/op")
			b.ReportMetric(float64(throttled)/float64(b.N), "refused/op")
		})
	}
}
