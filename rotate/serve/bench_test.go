package serve

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram/accesskey"
)

// The cost of accepting one finding with nothing else running: the bearer check, detect's parse,
// the spool file (written, synced, linked, the directory synced) and the answer. Reports p50 and
// p99 of the handler's time (go test -run '^$' -bench Accept ./rotate/serve/).
func BenchmarkAccept(b *testing.B) {
	conf := playbooks.DefaultServeConfig()
	conf.Rate, conf.Burst, conf.Queue = 1e9, 1e9, 1e9
	s, err := New(Options{StateDir: b.TempDir(), Runner: nopRunner{}, Token: accesskey.NewSecret(token), Config: conf})
	if err != nil {
		b.Fatal(err)
	}
	h := s.Handler()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		body := []byte(fmt.Sprintf("ALIBABA_CLOUD_ACCESS_KEY_ID=LTAI5tFAKELOAD%010d\nALIBABA_CLOUD_ACCESS_KEY_SECRET=FakeLoadSecret%016d\n", i, i))
		r := httptest.NewRequest("POST", "/v1/findings", bytes.NewReader(body))
		r.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		t0 := time.Now()
		h.ServeHTTP(w, r)
		lat = append(lat, time.Since(t0))
		if w.Code != http.StatusAccepted {
			b.Fatal(w.Code, w.Body)
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
