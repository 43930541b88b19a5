package serve

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/respond-dev/respond/ram"
)

// Metrics are the server's counters, written in Prometheus' text exposition format (version
// 0.0.4) by Write. Safe for concurrent use.
type Metrics struct {
	mu       sync.Mutex
	counters map[string]map[string]float64 // metric → label set ("k=\"v\",…") → value
	accept   histogram
	gauges   func() map[string]float64
}

// metric descriptions: name → help (every counter is a _total).
var counterHelp = map[string]string{
	"respond_findings_received_total":   "Findings accepted (written to the state directory and answered 202), by source.",
	"respond_requests_rejected_total":   "Requests refused before a finding was accepted, by source and reason.",
	"respond_rotations_total":           "Findings that ended, by outcome (remediated, already-remediated, refused, not-found, failed, partial, invalid, ignored).",
	"respond_retries_total":             "Findings put back in the queue to try again later, by reason.",
	"respond_alerts_closed_total":       "Source alerts closed after remediation (GitHub resolved as revoked, Security Center marked handled), by source and result.",
	"respond_github_api_calls_total":    "Calls to the GitHub REST API, by HTTP status (0: no answer).",
	"respond_cloud_api_calls_total":     "Requests sent to Alibaba Cloud (each attempt; a retry is another), by product and action.",
	"respond_cloud_api_throttles_total": "Alibaba Cloud answers that refused a request for its rate (Throttling, 429), by product and action.",
	"respond_http_requests_total":       "HTTP requests served, by route and status.",
}

// NewMetrics makes empty counters (serve.New makes them unless Options.Metrics are given).
func NewMetrics() *Metrics {
	return &Metrics{counters: map[string]map[string]float64{}, accept: newHistogram(acceptBuckets)}
}

// labels renders label pairs (name, value, name, value, …) in order, values escaped.
func labels(kv ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(kv[i] + `="` + labelEscaper.Replace(kv[i+1]) + `"`)
	}
	return b.String()
}

// labelEscaper escapes a label value as the text format wants.
var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

// Add adds v to a counter with the label pairs kv.
func (m *Metrics) Add(name string, v float64, kv ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.counters[name]
	if c == nil {
		c = map[string]float64{}
		m.counters[name] = c
	}
	c[labels(kv...)] += v
}

// Inc adds one.
func (m *Metrics) Inc(name string, kv ...string) { m.Add(name, 1, kv...) }

// Get reads a counter (tests).
func (m *Metrics) Get(name string, kv ...string) float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.counters[name][labels(kv...)]
}

// ObserveCloud counts one request to Alibaba Cloud (ram.Config.Observe).
func (m *Metrics) ObserveCloud(c ram.Call) {
	m.Inc("respond_cloud_api_calls_total", "product", c.Product, "action", c.Action)
	if c.Throttled {
		m.Inc("respond_cloud_api_throttles_total", "product", c.Product, "action", c.Action)
	}
}

// observeAccept records how long a finding took from the request to its 202.
func (m *Metrics) observeAccept(d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.accept.observe(d.Seconds())
}

// Write writes every metric in Prometheus' text format.
func (m *Metrics) Write(w io.Writer) error {
	var b strings.Builder
	if m.gauges != nil {
		g := m.gauges()
		for _, name := range sortedKeys(g) {
			fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s gauge\n%s %s\n", name, gaugeHelp[name], name, name, num(g[name]))
		}
	}
	m.mu.Lock()
	names := sortedKeys(counterHelp)
	for _, name := range names {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s counter\n", name, counterHelp[name], name)
		c := m.counters[name]
		for _, ls := range sortedKeys(c) {
			if ls == "" {
				fmt.Fprintf(&b, "%s %s\n", name, num(c[ls]))
			} else {
				fmt.Fprintf(&b, "%s{%s} %s\n", name, ls, num(c[ls]))
			}
		}
	}
	m.accept.write(&b, "respond_accept_seconds", "Time from a request's arrival to its answer, for requests that accepted findings.")
	m.mu.Unlock()
	_, err := io.WriteString(w, b.String())
	return err
}

var gaugeHelp = map[string]string{
	"respond_queue_depth":            "Findings accepted and not finished (waiting or being worked on).",
	"respond_oldest_pending_seconds": "Age of the oldest finding accepted and not finished (0 when none).",
	"respond_queue_capacity":         "The most findings the server holds before it answers 429.",
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

func num(v float64) string {
	if math.IsInf(v, 1) {
		return "+Inf"
	}
	return fmt.Sprint(v)
}

// acceptBuckets are the upper bounds (seconds) of respond_accept_seconds.
var acceptBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}

type histogram struct {
	bounds []float64
	counts []uint64
	sum    float64
	n      uint64
}

func newHistogram(bounds []float64) histogram {
	return histogram{bounds: bounds, counts: make([]uint64, len(bounds))}
}

func (h *histogram) observe(v float64) {
	for i, b := range h.bounds {
		if v <= b {
			h.counts[i]++
		}
	}
	h.sum += v
	h.n++
}

func (h *histogram) write(b *strings.Builder, name, help string) {
	fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name)
	for i, bound := range h.bounds {
		fmt.Fprintf(b, "%s_bucket{le=%q} %d\n", name, num(bound), h.counts[i])
	}
	fmt.Fprintf(b, "%s_bucket{le=\"+Inf\"} %d\n%s_sum %s\n%s_count %d\n", name, h.n, name, num(h.sum), name, h.n)
}
