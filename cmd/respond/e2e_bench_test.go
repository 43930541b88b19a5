package main

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/respond-dev/respond/ram/emulator"
)

// One full rotation (standard playbook, file sink, owner found by IMS) against the emulator with
// 20 ms per call: wall time and API calls per rotation. Targets: < 1 s and < 15 calls.
func BenchmarkE2ERotation20ms(b *testing.B) {
	bench20ms(b, "small.yaml", "--key-id", smallLeak, "--yes", "--locate", "ims")
}

// bench20ms runs respond with args and a file sink configuration against a fresh emulator of the
// seed org at 20 ms per call, b.N times: wall time and API calls per run.
func bench20ms(b *testing.B, org string, args ...string) {
	calls := 0
	var perAction map[string]int
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		e := newE2E(b, orgFromFile(b, org), emulator.WithLatency(20*time.Millisecond))
		cfg := e.fileSinkConfig("")
		b.StartTimer()
		r := e.run("", append(args, "--config", cfg)...)
		b.StopTimer()
		if r.Code != 0 {
			b.Fatal(r)
		}
		log := e.s.RequestLog()
		calls += len(log)
		perAction = map[string]int{}
		for _, q := range log {
			perAction[q.Action]++
		}
		e.s.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(calls)/float64(b.N), "calls/op")
	b.Logf("calls by action (last run): %v", perAction)
}

// The load test: 500 findings on stdin over 200 users in 3 accounts, the emulator at 50 req/s per
// AccessKey with 10% throttling and 2% 5xx: every key remediated, nothing orphaned; wall time
// against the rate-limit floor (calls ÷ 50/s). Run with -benchtime=1x.
func BenchmarkE2ELoad500(b *testing.B) {
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		org, findings, leaked := loadOrg()
		e := newE2E(b, orgFromYAML(b, org), emulator.WithRateLimit(50))
		rm1 := e.s.AddFault(emulator.Fault{Kind: emulator.FaultThrottle, Probability: 0.10})
		rm2 := e.s.AddFault(emulator.Fault{Kind: emulator.FaultServerErrorBefore, Probability: 0.02})
		cfg := e.writeFile("config.yaml", `accounts:
  - name: mgmt
    credentials: {source: env}
resource-directory:
  account: mgmt
  role-name: ResourceDirectoryAccountAccessRole
sinks:
  app-file:
    type: file
    path: `+e.sinkDir()+`/{{.AccountID}}-{{.UserName}}.json
trust:
  - source: text # the findings are ids without their secret
`)
		if err := mkdir(e.sinkDir()); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		r := e.run(findings, "--from", "-", "--yes", "--config", cfg, "--output", "json", "--locate", "ims,scan")
		wall := time.Since(start)
		b.StopTimer()
		rep := decodeReport(b, r)
		remediated := 0
		for _, kr := range rep.Results {
			if kr.Result != nil && kr.Result.Outcome == "remediated" {
				remediated++
			}
		}
		// Resume whatever was left partial (throttling beyond the retries), as an operator would.
		resumes := 0
		for r.Code == 4 && resumes < 3 {
			resumes++
			r = e.run(findings, "--from", "-", "--yes", "--config", cfg, "--output", "json", "--locate", "ims,scan")
		}
		if r.Code != 0 {
			b.Errorf("not converged after %d resumes: exit %d\n%.2000s", resumes, r.Code, r.Stderr)
		}
		log := e.s.RequestLog()
		if path := os.Getenv("RESPOND_LOAD_LOG"); path != "" {
			dumpRequestLog(b, path, log)
		}
		rm1()
		rm2()
		e.s.SetRateLimit(0) // the checks below are the test's, not respond's
		byKey := map[string]int{}
		answered := map[string]int{} // not throttled: what the key's bucket let through
		throttled, fivexx := 0, 0
		for _, q := range log {
			byKey[q.AccessKeyID]++
			if strings.HasPrefix(q.Code, "Throttling") {
				throttled++
			} else {
				answered[q.AccessKeyID]++
			}
			if q.Status >= 500 {
				fivexx++
			}
		}
		busiest, busiestAnswered := 0, 0
		for k, n := range byKey {
			busiest = max(busiest, n)
			busiestAnswered = max(busiestAnswered, answered[k])
		}
		// ActionTrail's own floor: LookupEvents is limited to 2 per second per account and region
		// (burst 2), whatever the key's rate; the busiest account-region's answered calls set it.
		trail := map[string]int{}
		for _, q := range log {
			if q.Action == "LookupEvents" && !strings.HasPrefix(q.Code, "Throttling") {
				trail[q.AccessKeyID+" "+q.Params["RegionId"]]++
			}
		}
		busiestTrail := 0
		for _, n := range trail {
			busiestTrail = max(busiestTrail, n)
		}
		trailFloor := time.Duration(float64(max(busiestTrail-2, 0)) / 2 * float64(time.Second))
		// The strict floor: the busiest key's calls that were not throttled, at 50/s, less the
		// bucket's burst (50 calls at once).
		strict := time.Duration(float64(busiestAnswered-50) / 50 * float64(time.Second))
		floor := time.Duration(float64(len(log)) / 50 * float64(time.Second))
		keyFloor := time.Duration(float64(busiest) / 50 * float64(time.Second))
		b.ReportMetric(wall.Seconds(), "wall-s")
		b.ReportMetric(float64(len(log)), "calls")
		b.ReportMetric(floor.Seconds(), "floor-s")
		b.ReportMetric(wall.Seconds()/keyFloor.Seconds(), "x-key-floor")
		b.ReportMetric(wall.Seconds()/strict.Seconds(), "x-strict-floor")
		// The floor: the busiest key at 50/s or the busiest account-region at 2 LookupEvents/s.
		floorAll := max(keyFloor, trailFloor)
		b.ReportMetric(trailFloor.Seconds(), "trail-floor-s")
		b.ReportMetric(wall.Seconds()/floorAll.Seconds(), "x-floor")
		b.Logf("ActionTrail floor: busiest account-region %d LookupEvents, less the burst of 2, at 2/s = %s; floor max(key, ActionTrail) = %s (%.2fx)",
			busiestTrail, trailFloor.Round(time.Millisecond), floorAll.Round(time.Millisecond), wall.Seconds()/floorAll.Seconds())
		b.Logf("strict floor: busiest key's answered calls %d, less the burst of 50, at 50/s = %s (%.2fx)", busiestAnswered, strict.Round(time.Millisecond), wall.Seconds()/strict.Seconds())
		for _, ph := range loadPhases(log) {
			b.ReportMetric(ph.span.Seconds(), ph.name+"-s")
			b.Logf("%s phase: %s, busiest key %d calls = %s at 50/s (%.2fx), keys at %s calls/s", ph.name, ph.span.Round(time.Millisecond),
				ph.busiest, ph.floor.Round(time.Millisecond), ph.span.Seconds()/ph.floor.Seconds(), ph.rates)
		}
		b.Logf("%d findings, %d keys: %d remediated in the first run, %d resume run(s); %d calls (%d throttled, %d 5xx) over %d signing keys; wall %s; floor calls/50 = %s (%.2fx), busiest key %d calls = %s (%.2fx)",
			strings.Count(findings, "\n"), len(rep.Results), remediated, resumes, len(log), throttled, fivexx, len(byKey), wall.Round(time.Millisecond),
			floor.Round(time.Millisecond), wall.Seconds()/floor.Seconds(), busiest, keyFloor.Round(time.Millisecond), wall.Seconds()/keyFloor.Seconds())
		// Nothing orphaned: every user holds exactly one key, not the leaked one.
		for acct, users := range leaked {
			for user, key := range users {
				var ids []string
				if acct == loadMgmt {
					ids = e.keyIDs(user)
				} else {
					ids = listKeys(b, e.memberRAM(acct, "ResourceDirectoryAccountAccessRole"), user)
				}
				if len(ids) != 1 || slices.Contains(ids, key) {
					b.Errorf("%s/%s: keys %v (leaked %s)", acct, user, ids, key)
				}
			}
		}
		e.s.Close()
	}
}

// loadPhase is one phase of the load run: plan (the first call to the first CreateAccessKey:
// connecting, the owner search and the inspection) or rotate (from there to the last call).
type loadPhase struct {
	name    string
	span    time.Duration
	busiest int           // calls signed by the busiest key in the phase
	floor   time.Duration // busiest at 50/s
	rates   string        // each of the three busiest keys' calls/s over the phase
}

func loadPhases(log []emulator.Request) []loadPhase {
	if len(log) == 0 {
		return nil
	}
	start, end := log[0].Time, log[len(log)-1].Time
	create := end
	for _, q := range log {
		if q.Action == "CreateAccessKey" && q.Time.Before(create) {
			create = q.Time
		}
	}
	total := map[string]int{}
	for _, q := range log {
		total[q.AccessKeyID]++
	}
	keys := slices.SortedFunc(maps.Keys(total), func(a, b string) int { return total[b] - total[a] })
	keys = keys[:min(3, len(keys))]
	var out []loadPhase
	for _, ph := range []struct {
		name     string
		from, to time.Time
	}{{"plan", start, create}, {"rotate", create, end}} {
		n := map[string]int{}
		for _, q := range log {
			if !q.Time.Before(ph.from) && (q.Time.Before(ph.to) || ph.name == "rotate") {
				n[q.AccessKeyID]++
			}
		}
		p := loadPhase{name: ph.name, span: ph.to.Sub(ph.from)}
		var rates []string
		for _, k := range keys {
			p.busiest = max(p.busiest, n[k])
			rates = append(rates, fmt.Sprintf("%.0f", float64(n[k])/max(p.span.Seconds(), 1e-3)))
		}
		p.floor = time.Duration(float64(p.busiest) / 50 * float64(time.Second))
		p.rates = strings.Join(rates, ", ")
		out = append(out, p)
	}
	return out
}

// dumpRequestLog writes the emulator's request log as tab-separated lines (unix ns, action,
// signing key, error code, status, UserName) for analysis of per-key rates, idle gaps and
// retries. A file that exists is kept: the log goes to path.1, path.2... (for -count).
func dumpRequestLog(b *testing.B, path string, log []emulator.Request) {
	for i := 1; ; i++ {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			break
		}
		path = fmt.Sprintf("%s.%d", strings.TrimSuffix(path, fmt.Sprintf(".%d", i-1)), i)
	}
	var sb strings.Builder
	for _, q := range log {
		fmt.Fprintf(&sb, "%d\t%s\t%s\t%s\t%d\t%s\n", q.Time.UnixNano(), q.Action, q.AccessKeyID, q.Code, q.Status, q.Params["UserName"])
	}
	if err := os.WriteFile(path, []byte(sb.String()), 0o600); err != nil {
		b.Fatal(err)
	}
}

const loadMgmt = "8888000000000001"

// loadRegions are the ActionTrail regions of the load test's organisation.
var loadRegions = []string{"cn-hangzhou", "cn-shanghai"}

// loadOrg builds 3 accounts with 200 users (one key each) and 500 findings naming their keys
// (each key in 2 or 3 places).
func loadOrg() (yaml string, findings string, leaked map[string]map[string]string) {
	var y, f strings.Builder
	leaked = map[string]map[string]string{}
	// An organisation that uses two regions says so (ActionTrail lists only those): each key's
	// assessment asks two regions, at ActionTrail's 2 LookupEvents per second per account and
	// region, instead of the 25 public ones.
	y.WriteString("actiontrail:\n  regions: [" + strings.Join(loadRegions, ", ") + "]\n")
	y.WriteString("accounts:\n")
	accts := []string{loadMgmt, "8888000000000002", "8888000000000003"}
	n := 0
	var keys []string
	for ai, a := range accts {
		fmt.Fprintf(&y, "  - id: %q\n    name: acct-%d\n", a, ai)
		if ai == 0 {
			y.WriteString("    management: true\n")
		} else {
			fmt.Fprintf(&y, "    roles:\n      - name: ResourceDirectoryAccountAccessRole\n        trust: [%q]\n        allow: [\"*\"]\n", loadMgmt)
		}
		y.WriteString("    users:\n")
		if ai == 0 {
			y.WriteString("      - name: admin\n        admin: true\n        keys:\n          - {id: LTAI5tFAKELOADADMIN00001, secret: FakeLoadAdminSecret00000000001}\n")
		}
		leaked[a] = map[string]string{}
		users := 67
		if ai == 2 {
			users = 66
		}
		for u := 0; u < users; u++ {
			n++
			name := fmt.Sprintf("svc-%d-%03d", ai, u)
			id := fmt.Sprintf("LTAI5tFAKELOAD%010d", n)
			fmt.Fprintf(&y, "      - name: %s\n        keys:\n          - {id: %s, secret: FakeLoadSecret%016d}\n", name, id, n)
			leaked[a][name] = id
			keys = append(keys, id)
		}
	}
	for i := 0; i < 500; i++ {
		fmt.Fprintf(&f, "src/file%03d.go:%d: key := %q\n", i%97, i, keys[i%len(keys)])
	}
	return y.String(), f.String(), leaked
}
