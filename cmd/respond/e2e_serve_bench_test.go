package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/respond-dev/respond/ram/emulator"
)

// The server's load test (issue 17): 1,000 findings POSTed over 10 s to the built respond serve
// (200 distinct keys, each posted 5 times, in 3 accounts), the emulator at 50 req/s per AccessKey.
// Every finding must end (none lost), every key be remediated exactly once (the other posts of a
// key find it already remediated), and each leaked key be gone (checked through the SDK).
// Reported: the time to accept a post as the client sees it (p50, p99: the 202 is answered once
// the finding is on disk), the share the server itself answered within 50 ms, and the time until
// the last finding ended. Run with -benchtime=1x.
func BenchmarkE2EServeLoad1000(b *testing.B) {
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		org, _, leaked := loadOrg()
		e := newE2E(b, orgFromYAML(b, org), emulator.WithRateLimit(50))
		e.env["RESPOND_SERVE_TOKEN"] = serveToken
		if err := mkdir(e.sinkDir()); err != nil {
			b.Fatal(err)
		}
		cfg := e.writeFile("config.yaml", `accounts:
  - name: mgmt
    credentials: {source: env}
resource-directory:
  account: mgmt
sinks:
  app-file:
    type: file
    path: `+e.sinkDir()+`/{{.AccountID}}-{{.UserName}}.json
serve:
  listen: 127.0.0.1:0
`)
		type key struct{ acct, user, id, secret string }
		var keys []key
		for _, acct := range []string{loadMgmt, "8888000000000002", "8888000000000003"} {
			users := slices.Sorted(maps.Keys(leaked[acct]))
			for _, u := range users {
				keys = append(keys, key{acct, u, leaked[acct][u], ""})
			}
		}
		for i := range keys {
			var num int
			fmt.Sscanf(strings.TrimPrefix(keys[i].id, "LTAI5tFAKELOAD"), "%d", &num)
			keys[i].secret = fmt.Sprintf("FakeLoadSecret%016d", num)
		}
		s := e.serve(cfg)
		b.StartTimer()
		start := time.Now()
		const posts = 1000
		lat := make([]time.Duration, posts)
		ids := make([]string, posts)
		codes := make([]int, posts)
		// A client that keeps its connections (as a CI proxy or GitHub's deliveries do), so that
		// what is measured is the server's accept, not a TCP handshake per post.
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 128}}
		defer client.CloseIdleConnections()
		var wg sync.WaitGroup
		tick := time.NewTicker(10 * time.Second / posts)
		for p := 0; p < posts; p++ {
			<-tick.C
			k := keys[p%len(keys)]
			body := []byte(fmt.Sprintf("# build %d\nALIBABA_CLOUD_ACCESS_KEY_ID=%s\nALIBABA_CLOUD_ACCESS_KEY_SECRET=%s\n", p, k.id, k.secret))
			wg.Go(func() {
				t0 := time.Now()
				req, _ := http.NewRequest("POST", s.url+"/v1/findings", strings.NewReader(string(body)))
				req.Header.Set("Authorization", "Bearer "+serveToken)
				resp, err := client.Do(req)
				lat[p] = time.Since(t0)
				if err != nil {
					return
				}
				defer resp.Body.Close()
				codes[p] = resp.StatusCode
				var a struct{ Findings []struct{ ID string } }
				if json.NewDecoder(resp.Body).Decode(&a) == nil && len(a.Findings) == 1 {
					ids[p] = a.Findings[0].ID
				}
			})
		}
		tick.Stop()
		wg.Wait()
		posted := time.Since(start)
		for p, c := range codes {
			if c != http.StatusAccepted || ids[p] == "" {
				b.Fatalf("post %d: %d", p, c)
			}
		}
		// Wait for every finding to end.
		deadline := time.Now().Add(10 * time.Minute)
		for !strings.Contains(s.metrics(b), "respond_queue_depth 0\n") {
			if time.Now().After(deadline) {
				log := s.errb.String()
				b.Fatalf("not drained in 10 min\n%s\n%s", s.metrics(b), log[max(0, len(log)-20000):])
			}
			time.Sleep(200 * time.Millisecond)
		}
		drained := time.Since(start)
		b.StopTimer()
		// The server's own view (respond_accept_seconds: from the request's arrival to its answer),
		// without the load generator's scheduling: the share answered within 50 ms.
		var within, count float64
		for _, line := range strings.Split(s.metrics(b), "\n") {
			if v, ok := strings.CutPrefix(line, `respond_accept_seconds_bucket{le="0.05"} `); ok {
				fmt.Sscan(v, &within)
			}
			if v, ok := strings.CutPrefix(line, "respond_accept_seconds_count "); ok {
				fmt.Sscan(v, &count)
			}
		}
		outcomes := map[string]int{}
		byKey := map[string]map[string]int{}
		for p, id := range ids {
			got := s.finished(b, id)
			o := fmt.Sprint(got["outcome"])
			outcomes[o]++
			k := keys[p%len(keys)].id
			if byKey[k] == nil {
				byKey[k] = map[string]int{}
			}
			byKey[k][o]++
		}
		for k, o := range byKey {
			if o["remediated"] != 1 || o["already-remediated"] != 4 {
				b.Errorf("key %s: outcomes %v (want 1 remediated, 4 already-remediated)", k, o)
			}
		}
		e.s.SetRateLimit(0)
		for _, k := range keys {
			var held []string
			if k.acct == loadMgmt {
				held = e.keyIDs(k.user)
			} else {
				held = listKeys(b, e.memberRAM(k.acct, "ResourceDirectoryAccountAccessRole"), k.user)
			}
			if len(held) != 1 || held[0] == k.id {
				b.Errorf("%s/%s holds %v (leaked %s)", k.acct, k.user, held, k.id)
			}
		}
		slices.Sort(lat)
		b.ReportMetric(float64(lat[posts/2].Microseconds())/1000, "accept-p50-ms")
		b.ReportMetric(float64(lat[posts*99/100].Microseconds())/1000, "accept-p99-ms")
		b.ReportMetric(float64(lat[posts-1].Microseconds())/1000, "accept-max-ms")
		if count > 0 {
			b.ReportMetric(100*within/count, "server-accept-within-50ms-%")
		}
		b.ReportMetric(posted.Seconds(), "post-s")
		b.ReportMetric(drained.Seconds(), "drain-s")
		b.ReportMetric(float64(len(e.s.RequestLog())), "cloud-calls")
		b.Logf("outcomes %v; %d cloud calls", outcomes, len(e.s.RequestLog()))
	}
}
