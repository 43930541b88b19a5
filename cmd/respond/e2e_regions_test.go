package main

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/respond-dev/respond/ram/emulator"
)

// assessJSON is respond assess --output json.
type assessJSON struct {
	KeyID    string `json:"key_id"`
	Partial  bool   `json:"partial"`
	ExitCode int    `json:"exit_code"`
	Trail    struct {
		Account struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"account"`
		By           string `json:"by"`
		Strategy     string `json:"strategy"`
		UserName     string `json:"user_name"`
		NotFound     bool   `json:"owner_not_found"`
		Problem      string `json:"problem"`
		OwnerAccount *struct {
			ID string `json:"id"`
		} `json:"owner_account"`
	} `json:"trail"`
	Assessment struct {
		Total    int  `json:"total"`
		Partial  bool `json:"partial"`
		ByRegion []struct {
			Name  string `json:"name"`
			Count int    `json:"count"`
		} `json:"by_region"`
		Lag        string    `json:"lag"`
		FreshUntil time.Time `json:"fresh_until"`
		Coverage   struct {
			Source       string `json:"source"`
			Asked        int    `json:"asked"`
			Failed       int    `json:"failed"`
			Skipped      int    `json:"skipped"`
			Partial      bool   `json:"partial"`
			GlobalEvents int    `json:"global_events"`
			Regions      []struct {
				Region string `json:"region"`
				Status string `json:"status"`
				Events int    `json:"events"`
				Reason string `json:"reason"`
			} `json:"regions"`
		} `json:"coverage"`
	} `json:"assessment"`
}

func decodeAssess(t *testing.T, r runResult) assessJSON {
	t.Helper()
	var a assessJSON
	if err := json.Unmarshal([]byte(r.Stdout), &a); err != nil {
		t.Fatalf("assess JSON: %v\n%s", err, r)
	}
	if a.ExitCode != r.Code {
		t.Errorf("exit_code %d, process exit %d", a.ExitCode, r.Code)
	}
	return a
}

func (a assessJSON) byRegion() map[string]int {
	m := map[string]int{}
	for _, c := range a.Assessment.ByRegion {
		m[c.Name] = c.Count
	}
	return m
}

// Issue 21 through the binary: the demo's leaked key has events in four regions (cn-hangzhou,
// ap-southeast-1, us-west-1, eu-central-1) plus 63 global RAM/STS events. respond assess asks
// every region ActionTrail lists and finds all 144, each once; --region and the configuration
// narrow it (the rest reported as not asked); one region failing makes the assessment partial:
// the report names it, and the exit code is 4. A rotation's plan carries the same coverage and
// warns, without changing the rotation's own outcome.
func TestE2EAssessRegions(t *testing.T) {
	t.Parallel()
	limit(t)
	e := newE2E(t, orgFromFile(t, "demo.yaml"))
	want := map[string]int{"global": 63, "ap-southeast-1": 38, "cn-hangzhou": 24, "us-west-1": 15, "eu-central-1": 4}

	r := e.run("", "assess", "--key-id", demoLeak, "--output", "json")
	wantCode(t, r, 0)
	a := decodeAssess(t, r)
	if a.Assessment.Total != 144 || a.Partial || a.Assessment.Partial || !maps.Equal(a.byRegion(), want) {
		t.Errorf("every region: total %d, partial %v, by region %v (want 144, %v)", a.Assessment.Total, a.Partial, a.byRegion(), want)
	}
	cov := a.Assessment.Coverage
	if cov.Source != "actiontrail" || cov.Asked != 25 || cov.Failed != 0 || cov.Skipped != 0 || cov.GlobalEvents != 63 {
		t.Errorf("coverage %+v", cov)
	}
	if a.Assessment.Lag != "10m0s" || a.Assessment.FreshUntil.IsZero() {
		t.Errorf("lag %q, fresh until %v", a.Assessment.Lag, a.Assessment.FreshUntil)
	}
	if n := e.count("DescribeRegions"); n != 1 {
		t.Errorf("DescribeRegions called %d times", n)
	}

	// --region (repeatable and comma-separated) narrows it; the others are named, not partial.
	r = e.run("", "assess", "--key-id", demoLeak, "--region", "cn-hangzhou", "--region", "us-west-1,cn-hangzhou", "--output", "json")
	wantCode(t, r, 0)
	a = decodeAssess(t, r)
	if a.Assessment.Total != 63+24+15 || a.Assessment.Coverage.Source != "configured" || a.Assessment.Coverage.Asked != 2 || a.Assessment.Coverage.Skipped != 23 || a.Partial {
		t.Errorf("--region: total %d, coverage %+v", a.Assessment.Total, a.Assessment.Coverage)
	}
	r = e.run("", "assess", "--key-id", demoLeak, "--region", "cn-hangzhou")
	wantCode(t, r, 0)
	mustContain(t, "text", r.Stdout, "Looked in 1 region of the 1 region configured", "Not asked (not in the configured regions): ", "ap-southeast-1")

	// The configuration's assess.regions, and --all-regions over it.
	cfg := e.writeFile("regions.yaml", "assess:\n  regions: [ap-southeast-1, eu-central-1]\n")
	r = e.run("", "assess", "--key-id", demoLeak, "--config", cfg, "--output", "json")
	wantCode(t, r, 0)
	if a = decodeAssess(t, r); a.Assessment.Total != 63+38+4 || a.Assessment.Coverage.Asked != 2 {
		t.Errorf("assess.regions: total %d, coverage %+v", a.Assessment.Total, a.Assessment.Coverage)
	}
	r = e.run("", "assess", "--key-id", demoLeak, "--config", cfg, "--all-regions", "--output", "json")
	wantCode(t, r, 0)
	if a = decodeAssess(t, r); a.Assessment.Total != 144 || a.Assessment.Coverage.Asked != 25 {
		t.Errorf("--all-regions: total %d, coverage %+v", a.Assessment.Total, a.Assessment.Coverage)
	}
	for _, bad := range [][]string{{"--region", "Hangzhou"}, {"--region", "cn-hangzhou", "--all-regions"}} {
		r = e.run("", append([]string{"assess", "--key-id", demoLeak}, bad...)...)
		wantCode(t, r, 2)
	}

	// One region failing: partial, named, exit 4; the counts are the others'.
	e.s.AddFault(emulator.Fault{Action: "LookupEvents", Region: "eu-central-1", Kind: emulator.FaultServerErrorBefore})
	r = e.run("", "assess", "--key-id", demoLeak, "--output", "json")
	wantCode(t, r, 4)
	a = decodeAssess(t, r)
	failed := slices.IndexFunc(a.Assessment.Coverage.Regions, func(x struct {
		Region string `json:"region"`
		Status string `json:"status"`
		Events int    `json:"events"`
		Reason string `json:"reason"`
	}) bool {
		return x.Region == "eu-central-1"
	})
	if !a.Partial || !a.Assessment.Partial || a.Assessment.Total != 140 || a.Assessment.Coverage.Failed != 1 || failed < 0 ||
		a.Assessment.Coverage.Regions[failed].Status != "failed" || !strings.Contains(a.Assessment.Coverage.Regions[failed].Reason, "InternalError") {
		t.Errorf("one region failing: %+v", a)
	}
	r = e.run("", "assess", "--key-id", demoLeak)
	wantCode(t, r, 4)
	mustContain(t, "text", r.Stdout, "PARTIAL ASSESSMENT", "NOT LOOKED AT: eu-central-1 failed")
	mustContain(t, "stderr", r.Stderr, "partial assessment")

	// A rotation's plan carries the coverage and warns; the plan itself is printed as usual.
	r = e.run("", "--key-id", demoLeak, "--dry-run", "--output", "json", "--config", e.fileSinkConfig(""))
	wantCode(t, r, 0)
	var rep struct {
		Results []struct {
			Plan struct {
				Warnings   []string `json:"warnings"`
				Assessment struct {
					Partial bool `json:"partial"`
					Total   int  `json:"total"`
				} `json:"assessment"`
			} `json:"plan"`
		} `json:"results"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil || len(rep.Results) != 1 {
		t.Fatalf("report: %v\n%s", err, r)
	}
	p := rep.Results[0].Plan
	if !p.Assessment.Partial || p.Assessment.Total != 140 || !slices.ContainsFunc(p.Warnings, func(w string) bool {
		return strings.Contains(w, "PARTIAL") && strings.Contains(w, "eu-central-1 failed")
	}) {
		t.Errorf("plan of a partial assessment: %+v", p)
	}
	e.noMutation()
}

// The cost of the regional assessment through the binary (issue 21): respond assess of the
// demo's leaked key, 144 events, against the emulator with 20 ms per call, its 25 ActionTrail
// regions and the documented 2 LookupEvents per second per account and region enforced: calls
// and wall time per assessment (connecting, the owner search and DescribeRegions included).
func BenchmarkE2EAssess20ms(b *testing.B) {
	calls, lookups := 0, 0
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		e := newE2E(b, orgFromFile(b, "demo.yaml"), emulator.WithLatency(20*time.Millisecond))
		b.StartTimer()
		r := e.run("", "assess", "--key-id", demoLeak, "--output", "json")
		b.StopTimer()
		if r.Code != 0 || !strings.Contains(r.Stdout, `"total": 144`) {
			b.Fatal(r)
		}
		calls += len(e.s.RequestLog())
		lookups += e.count("LookupEvents")
		e.s.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(calls)/float64(b.N), "calls/op")
	b.ReportMetric(float64(lookups)/float64(b.N), "lookups/op")
}

// respond sandbox serve --actiontrail-lag D: ActionTrail shows an event D after the call, so
// the demo's newest events are not there yet; a negative lag is bad usage.
func TestE2ESandboxServeActionTrailLag(t *testing.T) {
	t.Parallel()
	limit(t)
	e := newE2E(t, orgFromFile(t, "small.yaml")) // for the home and state directories only
	serveSandbox(t, e, "--actiontrail-lag", "4h")
	r := e.runRaw("", "assess", "--key-id", demoLeak, "--output", "json", "--state-dir", e.state)
	wantCode(t, r, 0)
	if a := decodeAssess(t, r); a.Assessment.Total == 0 || a.Assessment.Total >= 144 {
		t.Errorf("with a 4h lag: %d events, want some of the 144 but not the last 4 hours'", a.Assessment.Total)
	}
	r = e.runRaw("", "sandbox", "serve", "--actiontrail-lag", "-1s")
	wantCode(t, r, 2)
	mustContain(t, "stderr", r.Stderr, "--actiontrail-lag")
}
