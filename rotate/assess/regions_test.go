package assess

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
)

// regionalFake is ActionTrail in a few regions: each region returns its own events plus the
// global ones, like the cloud.
type regionalFake struct {
	regions []string
	listErr error
	events  map[string][]ram.Event // by region; "global" for the global ones
	fail    map[string]error       // a region that fails, after its first event when failLate
	late    bool
	shuffle bool // answer after a random short delay (order independence)

	mu        sync.Mutex
	asked     []string
	inFlight  int
	maxFlight int
}

func (f *regionalFake) DescribeTrailRegions(ctx context.Context) ([]ram.Region, error) {
	if f.listErr != nil {
		return nil, f.listErr
	}
	var out []ram.Region
	for _, r := range f.regions {
		out = append(out, ram.Region{ID: r})
	}
	return out, nil
}

func (f *regionalFake) LookupEvents(ctx context.Context, q ram.EventQuery, fn func(ram.Event) error) error {
	f.mu.Lock()
	f.asked = append(f.asked, q.Region)
	f.inFlight++
	f.maxFlight = max(f.maxFlight, f.inFlight)
	f.mu.Unlock()
	defer func() { f.mu.Lock(); f.inFlight--; f.mu.Unlock() }()
	if f.shuffle {
		time.Sleep(time.Duration(rand.IntN(3)) * time.Millisecond)
	}
	region := q.Region
	if region == "" {
		region = "cn-hangzhou"
	}
	err := f.fail[region]
	if err != nil && !f.late {
		return err
	}
	evs := append(append([]ram.Event(nil), f.events[region]...), f.events["global"]...)
	for i, e := range evs {
		if e.Global {
			e.Region = "cn-hangzhou" // acsRegion of a global event says nothing of where it was asked
		}
		if i == 1 && err != nil {
			return err
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

func ev(id, region, name string, global bool) ram.Event {
	svc := "Ecs"
	if strings.HasPrefix(id, "g") {
		svc = "Ram"
	}
	return ram.Event{ID: id, Name: name, Service: svc, Region: region,
		Global: global, Time: time.Date(2026, 3, 8, 1, 0, 0, 0, time.UTC), SourceIP: "198.51.100.23"}
}

func newRegionalFake() *regionalFake {
	return &regionalFake{
		regions: []string{"cn-hangzhou", "ap-southeast-1", "us-west-1", "eu-central-1", "cn-beijing"},
		events: map[string][]ram.Event{
			"ap-southeast-1": {ev("a1", "", "RunInstances", false), ev("a2", "", "RunInstances", false)},
			"us-west-1":      {ev("u1", "us-west-1", "DescribeInstances", false)},
			"eu-central-1":   {ev("e1", "eu-central-1", "RunInstances", false)},
			// g2 has no isGlobal field: a RAM event is global all the same
			"global": {ev("g1", "", "CreateUser", true), ev("g2", "", "CreateAccessKey", false)},
		},
	}
}

var leakedID = accesskey.MustParseID("LTAI5tLeakedKeyAAAABBBBC")

func regionsOf(c Coverage, status string) []string {
	var out []string
	for _, r := range c.Regions {
		if r.Status == status {
			out = append(out, r.Region)
		}
	}
	return out
}

func TestCollectRegions(t *testing.T) {
	ctx := context.Background()
	q := ram.EventQuery{AccessKeyID: leakedID}
	for _, tc := range []struct {
		name        string
		setup       func(f *regionalFake)
		scope       Scope
		q           ram.EventQuery
		ids         string // the distinct events found, in order
		ok, failed  []string
		skipped     []string
		partial     bool
		errIs       error
		source      string
		listError   bool
		globalCount int
	}{
		{name: "every region, global events once", ids: "g1 g2 a1 a2 u1 e1",
			ok: []string{"cn-hangzhou", "ap-southeast-1", "us-west-1", "eu-central-1", "cn-beijing"}, source: SourceActionTrail, globalCount: 2},
		{name: "a region fails", setup: func(f *regionalFake) { f.fail = map[string]error{"us-west-1": ram.ErrTransient} },
			ids: "g1 g2 a1 a2 e1", ok: []string{"cn-hangzhou", "ap-southeast-1", "eu-central-1", "cn-beijing"}, failed: []string{"us-west-1"},
			partial: true, errIs: ErrPartial, source: SourceActionTrail, globalCount: 2},
		{name: "a region fails after a page: its events are kept", setup: func(f *regionalFake) {
			f.fail, f.late = map[string]error{"ap-southeast-1": ram.ErrThrottled}, true
		}, ids: "g1 g2 a1 u1 e1", ok: []string{"cn-hangzhou", "us-west-1", "eu-central-1", "cn-beijing"}, failed: []string{"ap-southeast-1"},
			partial: true, errIs: ram.ErrThrottled, source: SourceActionTrail, globalCount: 2},
		{name: "configured regions", scope: Scope{Regions: []string{"eu-central-1", "ap-southeast-1", "eu-central-1"}},
			ids: "e1 g1 g2 a1 a2", ok: []string{"eu-central-1", "ap-southeast-1"},
			skipped: []string{"cn-hangzhou", "us-west-1", "cn-beijing"}, source: SourceConfigured, globalCount: 2},
		{name: "a configured region ActionTrail does not list, and a bad id", scope: Scope{Regions: []string{"us-west-1", "mars-north-1", "Bad Region"}},
			ids: "u1 g1 g2", ok: []string{"us-west-1"}, skipped: []string{"mars-north-1", "Bad Region", "cn-hangzhou", "ap-southeast-1", "eu-central-1", "cn-beijing"},
			partial: true, errIs: ErrPartial, source: SourceConfigured, globalCount: 2},
		{name: "the query's region", q: ram.EventQuery{AccessKeyID: leakedID, Region: "us-west-1"},
			ids: "u1 g1 g2", ok: []string{"us-west-1"}, skipped: []string{"cn-hangzhou", "ap-southeast-1", "eu-central-1", "cn-beijing"},
			source: SourceConfigured, globalCount: 2},
		{name: "no region list: the client's region only, partial", setup: func(f *regionalFake) { f.listErr = ram.ErrNoPermission },
			ids: "g1 g2", ok: []string{DefaultRegionLabel}, partial: true, errIs: ErrPartial, source: SourceClient, listError: true, globalCount: 2},
		{name: "no region list, configured regions: all asked", setup: func(f *regionalFake) { f.listErr = ram.ErrNoPermission },
			scope: Scope{Regions: []string{"ap-southeast-1", "mars-north-1"}}, ids: "a1 a2 g1 g2",
			ok: []string{"ap-southeast-1", "mars-north-1"}, source: SourceConfigured, listError: true, globalCount: 2},
		{name: "every region fails: the failure itself", setup: func(f *regionalFake) {
			f.fail = map[string]error{}
			for _, r := range f.regions {
				f.fail[r] = ram.ErrNoPermission
			}
		}, ids: "", failed: []string{"cn-hangzhou", "ap-southeast-1", "us-west-1", "eu-central-1", "cn-beijing"},
			partial: true, errIs: ram.ErrNoPermission, source: SourceActionTrail},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newRegionalFake()
			f.shuffle = true
			if tc.setup != nil {
				tc.setup(f)
			}
			qq := q
			if tc.q.Region != "" {
				qq = tc.q
			}
			c, err := CollectRegions(ctx, f, qq, tc.scope)
			var ids []string
			for _, e := range c.Events {
				ids = append(ids, e.ID)
			}
			if got := strings.Join(ids, " "); got != tc.ids {
				t.Errorf("events %q, want %q", got, tc.ids)
			}
			cov := c.Coverage
			if !slices.Equal(regionsOf(cov, RegionOK), tc.ok) || !slices.Equal(regionsOf(cov, RegionFailed), tc.failed) ||
				!slices.Equal(regionsOf(cov, RegionSkipped), tc.skipped) {
				t.Errorf("ok %v failed %v skipped %v", regionsOf(cov, RegionOK), regionsOf(cov, RegionFailed), regionsOf(cov, RegionSkipped))
			}
			if cov.Partial != tc.partial || cov.Source != tc.source || (cov.ListError != "") != tc.listError || cov.GlobalEvents != tc.globalCount {
				t.Errorf("coverage %+v", cov)
			}
			if cov.Asked != len(tc.ok)+len(tc.failed) || cov.Failed != len(tc.failed) || cov.Skipped != len(tc.skipped) {
				t.Errorf("asked %d failed %d skipped %d", cov.Asked, cov.Failed, cov.Skipped)
			}
			switch {
			case tc.errIs == nil && err != nil:
				t.Errorf("err %v", err)
			case tc.errIs != nil && !errors.Is(err, tc.errIs):
				t.Errorf("err %v, want %v", err, tc.errIs)
			case err != nil && !strings.Contains(err.Error(), leakedID.String()):
				t.Errorf("err %v does not name the key", err)
			}
			for _, r := range tc.failed {
				if !strings.Contains(err.Error(), r) && tc.errIs == ErrPartial {
					t.Errorf("err %v does not name %s", err, r)
				}
			}
			for _, e := range c.Events {
				if e.Global != strings.HasPrefix(e.ID, "g") || !e.Global && e.Region == "" {
					t.Errorf("event %+v", e)
				}
			}
		})
	}
}

func TestCollectRegionsPerRegionCounts(t *testing.T) {
	f := newRegionalFake()
	c, err := CollectRegions(context.Background(), f, ram.EventQuery{AccessKeyID: leakedID}, Scope{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][2]int{}
	for _, r := range c.Coverage.Regions {
		got[r.Region] = [2]int{r.Events, r.Global}
	}
	want := map[string][2]int{"cn-hangzhou": {0, 2}, "ap-southeast-1": {2, 2}, "us-west-1": {1, 2}, "eu-central-1": {1, 2}, "cn-beijing": {0, 2}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("per region %v, want %v", got, want)
	}
	a := c.Summarize(Options{})
	if a.Total != 6 || a.Partial || fmt.Sprint(a.ByRegion) != "[{ap-southeast-1 2} {global 2} {eu-central-1 1} {us-west-1 1}]" {
		t.Errorf("total %d partial %v by region %v", a.Total, a.Partial, a.ByRegion)
	}
}

func TestCollectRegionsParallelBound(t *testing.T) {
	f := newRegionalFake()
	for i := range 20 {
		f.regions = append(f.regions, fmt.Sprintf("xx-test-%d", i))
	}
	f.shuffle = true
	for _, p := range []int{1, 3} {
		f.maxFlight = 0
		if _, err := CollectRegions(context.Background(), f, ram.EventQuery{AccessKeyID: leakedID}, Scope{Parallel: p}); err != nil {
			t.Fatal(err)
		}
		if f.maxFlight > p {
			t.Errorf("parallel %d: %d regions at once", p, f.maxFlight)
		}
	}
}

func TestCollectRegionsCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c, err := CollectRegions(ctx, newRegionalFake(), ram.EventQuery{AccessKeyID: leakedID}, Scope{})
	if !errors.Is(err, context.Canceled) || !c.Coverage.Partial || len(regionsOf(c.Coverage, RegionSkipped)) != 5 {
		t.Errorf("err %v coverage %+v", err, c.Coverage)
	}
	if c.Coverage.Regions[0].Reason != reasonCancelled {
		t.Errorf("reason %q", c.Coverage.Regions[0].Reason)
	}
}

func TestRestrictiveProtection(t *testing.T) {
	for _, tc := range []struct {
		code, msg string
		want      bool
	}{
		{"Forbidden", "There is a risk of leakage of this AccessKey.", true},
		{"Forbidden", "there is a RISK OF LEAKAGE of this accesskey", true},
		{"Forbidden", "You are not authorized to do this action.", false},
		{"NoPermission", "", false},
		{"", "", false},
	} {
		if got := RestrictiveProtection(ram.Event{ErrorCode: tc.code, ErrorMessage: tc.msg}); got != tc.want {
			t.Errorf("%s %q: %v", tc.code, tc.msg, got)
		}
	}
	events := []ram.Event{
		{ID: "1", Name: "ListUsers", Service: "Ram", RW: "Read", ErrorCode: "Forbidden", ErrorMessage: "There is a risk of leakage of this AccessKey.", Time: time.Unix(10, 0)},
		{ID: "2", Name: "GetObject", Service: "Oss", RW: "Read", ErrorCode: "Forbidden", ErrorMessage: "There is a risk of leakage of this AccessKey.", Time: time.Unix(20, 0)},
		{ID: "3", Name: "GetObject", Service: "Oss", RW: "Read", Time: time.Unix(30, 0)},
	}
	a := Summarize(events, Options{})
	if a.Blocked != 2 || len(a.Flagged) != 2 || !a.Flagged[0].Blocked || a.Flagged[1].Reason != "refused by restrictive protection" {
		t.Errorf("blocked %d flagged %+v", a.Blocked, a.Flagged)
	}
}

func TestSummarizeLag(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	a := Summarize(nil, Options{Now: now, Lag: DefaultLag})
	if !a.FreshUntil.Equal(now.Add(-10*time.Minute)) || time.Duration(a.Lag) != DefaultLag {
		t.Errorf("fresh until %s lag %s", a.FreshUntil, time.Duration(a.Lag))
	}
	var b strings.Builder
	if err := WriteText(&b, a); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "events of the last 10m (after 2026-03-10T11:50:00Z) may be missing") {
		t.Errorf("text %q", b.String())
	}
}
