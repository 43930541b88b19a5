package emulator_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ram"

	"github.com/respond-dev/respond/ram/emulator"
	et "github.com/respond-dev/respond/ram/emulator/emulatortest"
)

// The throughput benchmarks report req/s (wall clock, all goroutines together) and cpu-µs/req
// (the whole test process's user + system CPU time per request: server, and client where there
// is one, and the garbage collector). Run them with -count 3 on a shared machine and note its
// load (uptime): req/s is a lower bound there, cpu-µs/req barely depends on the load, and
// 2,000,000 / cpu-µs/req is what two idle cores would do.

// throughput starts the measurement after the untimed setup; its stop func reports the metrics.
func throughput(b *testing.B) (stop func()) {
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := et.ProcessCPU()
	return func() {
		b.StopTimer()
		cpu := et.ProcessCPU() - cpu0
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		if cpu > 0 {
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/req")
		}
	}
}

func benchOrg() *emulator.Org {
	return emulator.GenerateOrg(emulator.GenSpec{Accounts: 1, UsersPerAccount: 100, Seed: 1})
}

// presign returns n ListAccessKeys queries signed by c, as the SDK sends them (POST, every
// parameter in the query), each with its own SignatureNonce and a current Timestamp.
func presign(c emulator.Credential, n int) []string {
	ts := time.Now().UTC().Format("2006-01-02T15:04:05Z")
	out := make([]string, n)
	for i := range out {
		q := url.Values{"AccessKeyId": {c.AccessKeyID}, "Action": {"ListAccessKeys"}, "Format": {"JSON"},
			"RegionId": {"cn-hangzhou"}, "SignatureMethod": {"HMAC-SHA1"},
			"SignatureNonce": {"bench" + strconv.Itoa(i)}, "SignatureType": {""}, "SignatureVersion": {"1.0"},
			"Timestamp": {ts}, "UserName": {"user-0042"}, "Version": {"2015-05-01"}}
		q.Set("Signature", emulator.Sign(c.AccessKeySecret, emulator.StringToSign(http.MethodPost, q)))
		out[i] = q.Encode()
	}
	return out
}

// discard is a minimal http.ResponseWriter, reused by one goroutine, so that the handler
// benchmark measures the handler and not httptest's recorder.
type discard struct {
	h      http.Header
	status int
	n      int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) WriteHeader(status int)      { d.status = status }
func (d *discard) Write(b []byte) (int, error) { d.n += len(b); return len(b), nil }

// BenchmarkHandlerListAccessKeys measures the handler alone (Handler().ServeHTTP) on pre-signed
// requests with every check on: signature, timestamp, nonce (each request has its own).
func BenchmarkHandlerListAccessKeys(b *testing.B) {
	org := benchOrg()
	s := emulator.NewUnstartedServer(org, emulator.WithRequestLogLimit(10000))
	defer s.Close()
	h := s.Handler()
	queries := presign(org.Admin(), b.N)
	var next atomic.Int64
	stop := throughput(b)
	b.RunParallel(func(pb *testing.PB) {
		w := &discard{h: http.Header{}}
		for pb.Next() {
			r := &http.Request{Method: http.MethodPost, URL: &url.URL{Path: "/", RawQuery: queries[next.Add(1)-1]},
				Header: http.Header{"User-Agent": {"bench"}}, RemoteAddr: "192.0.2.1:40000", Host: "ram.aliyuncs.com"}
			clear(w.h)
			w.status = 0
			h.ServeHTTP(w, r)
			if w.status != 200 {
				b.Errorf("status %d", w.status)
				return
			}
		}
	})
	stop()
}

// BenchmarkHTTPListAccessKeys measures real HTTP with a lean client: a plain net/http client
// sending pre-signed POSTs over keep-alive connections from 2×GOMAXPROCS goroutines, every check
// on. Client and server share the machine's cores. In "inproc" they share the test process too,
// as in our own tests (cpu-µs/req is both); "floor" is the same with a handler that only writes
// a fixed answer (net/http's own cost, floorHandler); in "subprocess" ("floor-subprocess") the server runs in a child process
// (this test binary, TestBenchServerProcess) that reports its own CPU time: server-cpu-µs/req is
// the emulator alone, client-cpu-µs/req the lean client (cross-process wake-ups cost both more).
func BenchmarkHTTPListAccessKeys(b *testing.B) {
	b.Run("inproc", func(b *testing.B) {
		org := benchOrg()
		s := et.Start(b, org, emulator.WithRequestLogLimit(10000))
		queries := presign(org.Admin(), b.N)
		stop := throughput(b)
		leanClient(b, s.URL, queries)
		stop()
		if v := s.Violations(); len(v) != 0 {
			b.Fatalf("violations: %v", v[:1])
		}
	})
	b.Run("floor", func(b *testing.B) {
		et.Isolate(b)
		s := httptest.NewServer(floorHandler())
		defer s.Close()
		queries := presign(benchOrg().Admin(), b.N)
		stop := throughput(b)
		leanClient(b, s.URL, queries)
		stop()
	})
	for _, kind := range []string{"subprocess", "floor-subprocess"} {
		b.Run(kind, func(b *testing.B) {
			et.Isolate(b)
			srv := startServerProcess(b, kind)
			queries := presign(benchOrg().Admin(), b.N)
			server0 := srv.cpu(b)
			b.ReportAllocs()
			b.ResetTimer()
			client0 := et.ProcessCPU()
			leanClient(b, srv.url, queries)
			b.StopTimer()
			client, server := et.ProcessCPU()-client0, srv.cpu(b)-server0
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
			if client > 0 && server > 0 {
				b.ReportMetric(float64(server.Microseconds())/float64(b.N), "server-cpu-µs/req")
				b.ReportMetric(float64(client.Microseconds())/float64(b.N), "client-cpu-µs/req")
			}
		})
	}
}

// floorHandler only writes a fixed ListAccessKeys answer: served to the same client, it shows
// what net/http and the kernel cost here, the emulator's work left out.
func floorHandler() http.Handler {
	body := []byte(`{"AccessKeys":{"AccessKey":[{"AccessKeyId":"LTAI5tXXXXXXXXXXXXXXXXXX","CreateDate":"2026-01-01T00:00:00Z","Status":"Active"}]},"RequestId":"0C5BF1D1-9E5D-4B8E-8E3B-2E1C9F2F4A11"}`)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = []string{"application/json;charset=utf-8"}
		_, _ = w.Write(body)
	})
}

// leanClient sends every query as a POST from 2×GOMAXPROCS goroutines over keep-alive
// connections and fails b on anything but 200.
func leanClient(b *testing.B, base string, queries []string) {
	tr := &http.Transport{Proxy: nil, DialContext: (&net.Dialer{}).DialContext, MaxIdleConnsPerHost: 64,
		DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	var next atomic.Int64
	b.SetParallelism(2)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, err := http.NewRequestWithContext(context.Background(), http.MethodPost,
				base+"/?"+queries[next.Add(1)-1], nil)
			if err != nil {
				b.Error(err)
				return
			}
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
}

// serverProcess is an emulator of benchOrg in a child process. Protocol on its stdin/stdout:
// it prints its URL; each "cpu" line gets its CPU time so far (ns); EOF stops it.
type serverProcess struct {
	url string
	in  io.WriteCloser
	out *bufio.Scanner
}

const serverProcessEnv = "RESPOND_EMULATOR_BENCH_SERVER"

// startServerProcess starts the child; kind "floor-subprocess" serves floorHandler instead.
func startServerProcess(b *testing.B, kind string) *serverProcess {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestBenchServerProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), serverProcessEnv+"="+kind)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	outPipe, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	p := &serverProcess{in: in, out: bufio.NewScanner(outPipe)}
	b.Cleanup(func() {
		_ = in.Close()
		_ = cmd.Wait()
	})
	if !p.out.Scan() || !strings.HasPrefix(p.out.Text(), "http://") {
		b.Fatalf("server process: no URL (%q, %v)", p.out.Text(), p.out.Err())
	}
	p.url = p.out.Text()
	return p
}

func (p *serverProcess) cpu(b *testing.B) time.Duration {
	b.Helper()
	if _, err := io.WriteString(p.in, "cpu\n"); err != nil {
		b.Fatal(err)
	}
	if !p.out.Scan() {
		b.Fatalf("server process: no CPU time (%v)", p.out.Err())
	}
	ns, err := strconv.ParseInt(p.out.Text(), 10, 64)
	if err != nil {
		b.Fatalf("server process: CPU time %q", p.out.Text())
	}
	return time.Duration(ns)
}

// TestBenchServerProcess is the child of BenchmarkHTTPListAccessKeys/subprocess; it skips
// unless started as one.
func TestBenchServerProcess(t *testing.T) {
	var url string
	switch os.Getenv(serverProcessEnv) {
	case "subprocess":
		s := emulator.NewServer(benchOrg(), emulator.WithRequestLogLimit(10000))
		defer func() {
			if v := s.Violations(); len(v) != 0 {
				t.Errorf("violations: %v", v[:1])
			}
			s.Close()
		}()
		url = s.URL
	case "floor-subprocess":
		s := httptest.NewServer(floorHandler())
		defer s.Close()
		url = s.URL
	default:
		t.Skip("the server process of BenchmarkHTTPListAccessKeys/subprocess")
	}
	out := bufio.NewWriter(os.Stdout)
	fmt.Fprintln(out, url)
	_ = out.Flush()
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		fmt.Fprintln(out, int64(et.ProcessCPU()))
		_ = out.Flush()
	}
}

// BenchmarkListAccessKeys measures signed ListAccessKeys calls through real HTTP with the real
// SDK, signature, timestamp and nonce checks on, one client per goroutine. The SDK client
// dominates (tens of KB and hundreds of allocations per call).
func BenchmarkListAccessKeys(b *testing.B) {
	org := benchOrg()
	s := et.Start(b, org, emulator.WithRequestLogLimit(10000))
	et.RAM(b, s, et.AK(org.Admin())) // the SDK's first client initialises a global map unlocked
	stop := throughput(b)
	b.RunParallel(func(pb *testing.PB) {
		c := et.RAM(b, s, et.AK(org.Admin()))
		req := ram.CreateListAccessKeysRequest()
		req.UserName = "user-0042"
		for pb.Next() {
			if _, err := c.ListAccessKeys(req); err != nil {
				b.Error(err)
				return
			}
		}
	})
	stop()
}
