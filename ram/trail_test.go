package ram

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/ram/emulator"
)

const demoLeak = "LTAI5tFAKEBILLING0LEAK01"

// realClient signs as the org's admin and really sleeps (the pace of LookupEvents is real time).
func realClient(t testing.TB, s *emulator.Server, cr emulator.Credential) *Client {
	t.Helper()
	c, err := New(context.Background(), Config{
		Endpoint:    s.Endpoint(),
		Credentials: StaticCredentials(cr.AccessKeyID, accesskey.NewSecret(cr.AccessKeySecret)),
		UserAgent:   "respond/test",
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestEmu_describeTrailRegions(t *testing.T) {
	org := emulator.DemoOrg()
	s := emulator.NewServer(org)
	t.Cleanup(s.Close)
	c := realClient(t, s, org.Admin())
	ctx := context.Background()
	rs, err := c.DescribeTrailRegions(ctx)
	if err != nil || len(rs) != 25 {
		t.Fatalf("%d regions, %v", len(rs), err)
	}
	if rs[5] != (Region{ID: "cn-hangzhou", Endpoint: "actiontrail.cn-hangzhou.aliyuncs.com", Name: "China (Hangzhou)"}) {
		t.Errorf("region %+v", rs[5])
	}
	rs[0].ID = "mutated"
	again, err := c.DescribeTrailRegions(ctx)
	if err != nil || again[0].ID != "cn-qingdao" {
		t.Errorf("cached answer %v %v (a caller's change must not leak into the cache)", again[0], err)
	}
	if n := calls(s, "DescribeRegions"); n != 1 {
		t.Errorf("DescribeRegions calls = %d, want 1 (remembered)", n)
	}
	// Many callers at once, on a fresh client (a batch assessing many keys of one account): one
	// call, every caller the same answer.
	s.SetLatency(20 * time.Millisecond)
	c2 := realClient(t, s, org.Admin())
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			rs, err := c2.DescribeTrailRegions(ctx)
			if err == nil && len(rs) != 25 {
				err = errors.New("wrong answer")
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := calls(s, "DescribeRegions"); n != 2 {
		t.Errorf("DescribeRegions calls = %d after 20 concurrent callers, want 2 (one more)", n)
	}
}

func TestEmu_lookupEventsRegional(t *testing.T) {
	org := emulator.DemoOrg()
	s := emulator.NewServer(org) // the documented limit is on: 2 LookupEvents per second per region
	t.Cleanup(s.Close)
	c := realClient(t, s, org.Admin())
	ctx := context.Background()
	leak := accesskey.MustParseID(demoLeak)
	var mu sync.Mutex
	got := map[string][]Event{}
	var wg sync.WaitGroup
	for _, r := range []string{"ap-southeast-1", "us-west-1", "eu-central-1", "cn-hangzhou"} {
		wg.Go(func() {
			err := c.LookupEvents(ctx, EventQuery{AccessKeyID: leak, Region: r}, func(e Event) error {
				mu.Lock()
				got[r] = append(got[r], e)
				mu.Unlock()
				return nil
			})
			if err != nil {
				t.Errorf("%s: %v", r, err)
			}
		})
	}
	wg.Wait()
	want := map[string]int{"ap-southeast-1": 38, "us-west-1": 15, "eu-central-1": 4, "cn-hangzhou": 24}
	ids := map[string]bool{}
	for r, evs := range got {
		regional := 0
		for _, e := range evs {
			ids[e.ID] = true
			switch {
			case e.Global:
				if e.Service != "Ram" && e.Service != "Sts" {
					t.Errorf("%s: global event of %s", r, e.Service)
				}
			case e.Region != r:
				t.Errorf("%s: event of region %s", r, e.Region)
			default:
				regional++
			}
		}
		if regional != want[r] || len(evs) != want[r]+63 {
			t.Errorf("%s: %d events, %d regional; want %d regional + 63 global", r, len(evs), regional, want[r])
		}
	}
	if len(ids) != 144 {
		t.Errorf("%d distinct events, want 144", len(ids))
	}
	// Each region asked with its RegionId, paced under the limit: not one throttled answer
	// although ap-southeast-1 took 3 pages and the regions ran at once.
	pages := map[string]int{}
	for _, q := range s.RequestLog() {
		if q.Action == "LookupEvents" {
			pages[q.Params["RegionId"]]++
			if q.Code != "" {
				t.Errorf("LookupEvents in %s answered %s", q.Params["RegionId"], q.Code)
			}
		}
	}
	if pages["ap-southeast-1"] != 3 || pages["cn-hangzhou"] != 2 || len(pages) != 4 {
		t.Errorf("pages per region %v", pages)
	}
	if v := s.Violations(); len(v) != 0 {
		t.Errorf("violations %v", v)
	}
}

func TestEmu_lookupEventsArguments(t *testing.T) {
	org := emulator.DemoOrg()
	s, c, _ := startEmu(t, org, emulator.WithLookupEventsLimit(0))
	ctx := context.Background()
	leak := accesskey.MustParseID(demoLeak)
	none := func(Event) error { return nil }
	// A lone start or end is completed: the cloud takes both or neither.
	now := time.Now().UTC().Truncate(time.Second)
	for _, q := range []EventQuery{{AccessKeyID: leak, Start: now.Add(-time.Hour)}, {AccessKeyID: leak, End: now}} {
		if err := c.LookupEvents(ctx, q, none); err != nil {
			t.Errorf("%+v: %v", q, err)
		}
	}
	for _, q := range s.RequestLog() {
		if q.Action == "LookupEvents" && (q.Params["StartTime"] == "" || q.Params["EndTime"] == "") {
			t.Errorf("sent %v", q.Params)
		}
	}
	if err := c.LookupEvents(ctx, EventQuery{AccessKeyID: leak, Region: "evil.example.com/"}, none); err == nil || !strings.Contains(err.Error(), "not a region id") {
		t.Errorf("bad region: %v", err)
	}
	// A region the cloud does not serve is the cloud's error, classified.
	err := c.LookupEvents(ctx, EventQuery{AccessKeyID: leak, Region: "xx-nowhere-1"}, none)
	var e *Error
	if !errors.As(err, &e) || e.Code != "InvalidRegionId" || !strings.Contains(err.Error(), "in xx-nowhere-1") {
		t.Errorf("unknown region: %v", err)
	}
}

func TestEventFromMap(t *testing.T) {
	for _, tc := range []struct {
		name, json string
		want       Event
	}{
		{"RAM sample: eventVersion a number, isGlobal", `{"eventId":"e1","eventVersion":1,"eventName":"CreateUser","serviceName":"Ims","acsRegion":"cn-shanghai","isGlobal":true,
		  "eventTime":"2021-08-05T06:59:52Z","userIdentity":{"type":"root-account","accessKeyId":"LTAI5tX","userName":"root"}}`,
			Event{ID: "e1", Name: "CreateUser", Service: "Ims", Region: "cn-shanghai", Global: true, AccessKeyID: "LTAI5tX",
				Time: time.Date(2021, 8, 5, 6, 59, 52, 0, time.UTC), IdentityType: "root-account", UserName: "root"}},
		{"others: eventVersion a string, an error", `{"eventId":"e2","eventVersion":"1","eventName":"RunInstances","serviceName":"Ecs","acsRegion":"ap-southeast-1",
		  "isGlobal":false,"errorCode":"Forbidden","errorMessage":"There is a risk of leakage of this AccessKey.",
		  "userIdentity":{"type":"assumed-role","userName":"admin-role:incident-7","accessKeyId":"STS.x"}}`,
			Event{ID: "e2", Name: "RunInstances", Service: "Ecs", Region: "ap-southeast-1", ErrorCode: "Forbidden",
				ErrorMessage: "There is a risk of leakage of this AccessKey.", AccessKeyID: "STS.x",
				IdentityType: "assumed-role", UserName: "admin-role:incident-7"}},
		{"isGlobal as a string", `{"eventId":"e3","isGlobal":"true"}`, Event{ID: "e3", Global: true}},
		{"wrong types are ignored", `{"eventId":["x"],"userIdentity":"root","isGlobal":3}`, Event{}},
	} {
		var m map[string]any
		if err := json.Unmarshal([]byte(tc.json), &m); err != nil {
			t.Fatal(err)
		}
		if got := eventFromMap(m); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.name, got, tc.want)
		}
	}
}

func FuzzEventFromMap(f *testing.F) {
	f.Add(`{"eventId":"e1","eventVersion":1,"isGlobal":true,"userIdentity":{"accessKeyId":"LTAI5tX"}}`)
	f.Add(`{"eventId":"e2","eventVersion":"1","eventTime":"2021-08-05T06:59:52Z","isGlobal":"false"}`)
	f.Fuzz(func(t *testing.T, s string) {
		var m map[string]any
		if json.Unmarshal([]byte(s), &m) != nil {
			return
		}
		e := eventFromMap(m) // never panics
		if id, ok := m["eventId"].(string); ok && e.ID != id {
			t.Errorf("id %q, want %q", e.ID, id)
		}
	})
}

// The key's own flow control (Throttling.User) refusing a LookupEvents slows the key, not the
// region's pace: ActionTrail's per-region limit did not speak. (The load test's sporadic
// throttling cut the regions' pace and held it down, 1.5–1.9× ActionTrail's floor.)
func TestEmu_lookupEventsUserThrottlingIsNotTheRegions(t *testing.T) {
	org := emulator.DemoOrg()
	s := emulator.NewServer(org)
	t.Cleanup(s.Close)
	c, err := New(context.Background(), Config{
		Endpoint:    s.Endpoint(),
		Credentials: StaticCredentials(org.Admin().AccessKeyID, accesskey.NewSecret(org.Admin().AccessKeySecret)),
		UserAgent:   "respond/test",
		Retry:       RetryPolicy{BaseDelay: time.Millisecond, MaxDelay: time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		fault     emulator.Fault
		regionCut bool
	}{
		{"user flow control", emulator.Fault{Action: "LookupEvents", Kind: emulator.FaultThrottle, Region: "eu-central-1", Count: 2}, false},
		{"the region's limit", emulator.Fault{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			region := "eu-central-1"
			if tc.regionCut {
				region = "us-west-1"
				s.SetLookupEventsLimit(1) // below the client's pace: ActionTrail's own answer, Throttling
				defer s.SetLookupEventsLimit(emulator.DefaultLookupEventsQPS)
			} else {
				defer s.AddFault(tc.fault)()
			}
			n := 0 // two pages: the global events and the region's
			err := c.LookupEvents(context.Background(), EventQuery{AccessKeyID: accesskey.MustParseID(demoLeak), Region: region}, func(Event) error { n++; return nil })
			if err != nil || n < 63 {
				t.Fatalf("%d events, %v", n, err)
			}
			_, regionThrottles := c.trail.pacer(region).snapshot()
			if got := regionThrottles > 0; got != tc.regionCut {
				t.Errorf("region pace throttles %d, want some: %v", regionThrottles, tc.regionCut)
			}
			if _, keyThrottles := c.lim.snapshot(); !tc.regionCut && keyThrottles == 0 {
				t.Error("the key's pace did not hear of its own flow control")
			}
		})
	}
}
