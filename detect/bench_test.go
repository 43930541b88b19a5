package detect

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// logReader generates a realistic application log, deterministically, without storing it: one
// line in every idEvery carries an AccessKey id (and every other such line its secret).
type logReader struct {
	remaining int64
	n         int
	idEvery   int
	pending   []byte
}

var logTemplates = []string{
	"2025-03-06T08:14:%02d.%03dZ INFO  [worker-%d] GET /api/v1/items?id=%d&page=2 200 %dms user=alice@example.com trace=0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d\n",
	"2025-03-06T08:14:%02d.%03dZ DEBUG [worker-%d] SELECT id, name FROM orders WHERE customer_id = %d LIMIT %d -- Sales Summary LTA report\n",
	"2025-03-06T08:14:%02d.%03dZ WARN  [worker-%d] retrying OSS PutObject bucket=logs-%d attempt=%d STS token refresh scheduled; STSAssumeRole ok\n",
	"2025-03-06T08:14:%02d.%03dZ INFO  [worker-%d] {\"event\":\"checkout\",\"order\":%d,\"amount\":%d,\"currency\":\"CNY\",\"region\":\"cn-hangzhou\"}\n",
}

func newLogReader(size int64, idEvery int) *logReader {
	return &logReader{remaining: size, idEvery: idEvery}
}

func (l *logReader) nextLine() []byte {
	l.n++
	i := l.n
	if l.idEvery > 0 && i%l.idEvery == 0 {
		id := fmt.Sprintf("LTAI5tFAKE%014d", i%100000000000000)
		if i%(2*l.idEvery) == 0 {
			return []byte(fmt.Sprintf("2025-03-06T08:14:%02d.000Z ERROR [worker-1] InvalidAccessKeyId.NotFound AccessKeyId=%s AccessKeySecret=FAKE%013dabcdefghiJKLMN RequestId=4B450CA1\n", i%60, id, i))
		}
		return []byte(fmt.Sprintf("2025-03-06T08:14:%02d.000Z WARN  [worker-2] upload failed for key %s, retrying\n", i%60, id))
	}
	return []byte(fmt.Sprintf(logTemplates[i%len(logTemplates)], i%60, i%1000, i%8, i*7919, i%97))
}

func (l *logReader) Read(p []byte) (int, error) {
	if l.remaining <= 0 {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && l.remaining > 0 {
		if len(l.pending) == 0 {
			l.pending = l.nextLine()
		}
		c := copy(p[n:], l.pending)
		if int64(c) > l.remaining {
			c = int(l.remaining)
		}
		l.pending = l.pending[c:]
		n += c
		l.remaining -= int64(c)
	}
	return n, nil
}

const benchLogSize = 64 << 20

var benchLog = sync.OnceValue(func() []byte {
	b, err := io.ReadAll(newLogReader(benchLogSize, 10000))
	if err != nil {
		panic(err)
	}
	return b
})

// BenchmarkText measures plain-text extraction on a ~64 MiB log with sparse ids. Set
// DETECT_BENCH_LOG=path to also write the input, for `grep -oE` on the same bytes.
func BenchmarkText(b *testing.B) {
	data := benchLog()
	if p := os.Getenv("DETECT_BENCH_LOG"); p != "" {
		if err := os.WriteFile(p, data, 0o600); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		res, err := Read(context.Background(), bytes.NewReader(data), Options{Format: FormatText})
		if err != nil || len(res.Findings) == 0 {
			b.Fatal(err)
		}
	}
}

// BenchmarkTextEnv measures the worst case of neighbouring-line pairing: a 16 MiB text made of
// .env blocks, each with an id and its secret on the next line (every id is paired that way).
func BenchmarkTextEnv(b *testing.B) {
	var sb strings.Builder
	n := 0
	for ; sb.Len() < 16<<20; n++ {
		fmt.Fprintf(&sb, "# service %d\nALIBABA_CLOUD_ACCESS_KEY_ID=LTAI5tFAKE%014d\nALIBABA_CLOUD_ACCESS_KEY_SECRET=FAKE%06dabcdefghijKLMNOPQRST\n"+
			"ALIBABA_CLOUD_REGION_ID=cn-hangzhou\nLOG_LEVEL=info\n\n\n", n, n, n%1000000)
	}
	data := []byte(sb.String())
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		res, err := Read(context.Background(), bytes.NewReader(data), Options{Format: FormatText, MaxFindings: -1})
		if err != nil || len(res.Findings) != n || res.Findings[n-1].Secret.IsZero() {
			b.Fatal(err)
		}
	}
}

func BenchmarkGitleaksJSON(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("[")
	for i := 0; i < 20000; i++ {
		if i > 0 {
			sb.WriteString(",")
		}
		rule, secret := ruleGitleaksID, fmt.Sprintf("LTAI5tFAKE%014d", i)
		if i%4 == 3 {
			rule, secret = ruleGitleaksSecret, fmt.Sprintf("FAKE%013dabcdefghiJKLMN", i)
		}
		sb.WriteString(gitleaksEntry(rule, secret, fmt.Sprintf("dir%d/.env", i/4), "00888dd29703bc5059189f03468e1493b8d15296", i%50+1))
	}
	sb.WriteString("]")
	data := []byte(sb.String())
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		res, err := Read(context.Background(), bytes.NewReader(data), Options{MaxFindings: -1})
		if err != nil || res.Format != FormatGitleaksJSON || len(res.Findings) != 15000 {
			b.Fatalf("%v %s %d", err, res.Format, len(res.Findings))
		}
	}
}

// BenchmarkText1GiB streams a generated 1 GiB log (not stored) through Read and reports the
// peak heap; run it with -bench Text1GiB -benchtime 1x.
func BenchmarkText1GiB(b *testing.B) {
	block, err := io.ReadAll(newLogReader(8<<20, 10000))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(1 << 30)
	b.ResetTimer()
	for b.Loop() {
		peak := peakHeapDuring(b, func() {
			res, err := Read(context.Background(), &repeatReader{block: block, remaining: 1 << 30}, Options{Format: FormatText})
			if err != nil || len(res.Findings) == 0 {
				b.Fatal(err)
			}
		})
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	}
}

// peakHeapDuring samples HeapInuse while fn runs and returns the highest value above the
// baseline.
func peakHeapDuring(tb testing.TB, fn func()) uint64 {
	tb.Helper()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	done := make(chan struct{})
	peakc := make(chan uint64)
	go func() {
		var peak uint64
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > base && m.HeapInuse-base > peak {
				peak = m.HeapInuse - base
			}
			select {
			case <-done:
				peakc <- peak
				return
			case <-time.After(time.Millisecond): // ReadMemStats stops the world: sample, do not spin
			}
		}
	}()
	fn()
	close(done)
	return <-peakc
}

// oneLineReader yields size bytes of a single line (no newline), with ids planted at the given
// offsets, including across the scanner's chunk boundaries.
type oneLineReader struct {
	size, off int64
	plant     map[int64]string
}

func (o *oneLineReader) Read(p []byte) (int, error) {
	if o.off >= o.size {
		return 0, io.EOF
	}
	n := int64(len(p))
	if n > o.size-o.off {
		n = o.size - o.off
	}
	const pattern = "abc def-ghi_jkl "
	for i := int64(0); i < n; {
		i += int64(copy(p[i:n], pattern[(o.off+i)%16:]))
	}
	for at, s := range o.plant {
		for j := 0; j < len(s); j++ {
			if pos := at + int64(j) - o.off; pos >= 0 && pos < n {
				p[pos] = s[j]
			}
		}
	}
	o.off += n
	return int(n), nil
}

// TestTextMemoryBounded reads a single 100 MiB line and a 256 MiB log (both generated, never
// stored) and checks the heap stays far below the input size, and that ids planted on chunk
// boundaries are found.
func TestTextMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 356 MiB of generated input; skipped with -short")
	}
	const limit = 64 << 20
	t.Run("single 100 MiB line", func(t *testing.T) {
		size := int64(100 << 20)
		plant := map[int64]string{
			10:                           " " + id24 + " ",
			textChunk - 5:                " " + id24b + " ",           // across the first read
			2*textChunk - 70:             " " + id16 + " ",            // near the end of the buffer
			3*textChunk + 1000:           " " + sts + " ",             // later
			size - int64(len(id24b)) - 1: " LTAI5tFAKEw3Ne7Ry1Ui5Op9", // at the very end
		}
		var res Result
		var err error
		peak := peakHeapDuring(t, func() {
			res, err = Read(context.Background(), &oneLineReader{size: size, plant: plant}, Options{})
		})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, f := range res.Findings {
			got = append(got, f.KeyID.String())
			if f.Locations[0].Line != 1 {
				t.Errorf("%s on line %d, want 1", f.KeyID, f.Locations[0].Line)
			}
		}
		want := []string{id24, id24b, id16, sts, "LTAI5tFAKEw3Ne7Ry1Ui5Op9"}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("ids %v, want %v", got, want)
		}
		if peak > limit {
			t.Errorf("peak heap %d MiB for a 100 MiB line, want < %d MiB", peak>>20, limit>>20)
		}
		t.Logf("peak heap %.1f MiB", float64(peak)/(1<<20))
	})
	t.Run("256 MiB log", func(t *testing.T) {
		var res Result
		block, err := io.ReadAll(newLogReader(4<<20, 1000))
		if err != nil {
			t.Fatal(err)
		}
		peak := peakHeapDuring(t, func() {
			res, err = Read(context.Background(), &repeatReader{block: block, remaining: 256 << 20}, Options{})
		})
		if err != nil {
			t.Fatal(err)
		}
		if res.Format != FormatText || len(res.Findings) < 20 || len(res.Findings[0].Locations) < 64 {
			t.Errorf("format %s, %d findings", res.Format, len(res.Findings))
		}
		if peak > limit {
			t.Errorf("peak heap %d MiB for a 256 MiB log, want < %d MiB", peak>>20, limit>>20)
		}
		t.Logf("peak heap %.1f MiB, %d findings", float64(peak)/(1<<20), len(res.Findings))
	})
}

// repeatReader yields block over and over, remaining bytes in all.
type repeatReader struct {
	block     []byte
	off       int
	remaining int64
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.remaining <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.remaining {
		p = p[:r.remaining]
	}
	n := copy(p, r.block[r.off:])
	r.off = (r.off + n) % len(r.block)
	r.remaining -= int64(n)
	return n, nil
}

// TestChunkBoundaries plants an id at every offset around the scanner's buffer boundaries.
func TestChunkBoundaries(t *testing.T) {
	for _, c := range []struct{ base, span, step int64 }{
		{textChunk, 35, 5}, {2 * textChunk, 35, 5}, {2*textChunk - textOverlap, 34, 1},
	} {
		for d := -c.span; d <= c.span; d += c.step {
			at := c.base + d
			r := &oneLineReader{size: 2*textChunk + 4096, plant: map[int64]string{at: " " + id24 + "," + sec1 + " "}}
			res, err := Read(context.Background(), r, Options{Format: FormatText})
			if err != nil || len(res.Findings) != 1 || res.Findings[0].KeyID.String() != id24 {
				t.Fatalf("id at %d: %+v %v", at, res.Findings, err)
			}
		}
	}
	// Lines: ids on many lines across boundaries keep exact line numbers.
	var sb strings.Builder
	want := map[string]int{}
	for line := 1; sb.Len() < 3*textChunk; line++ {
		if line%5000 == 0 {
			id := fmt.Sprintf("LTAI5tFAKE%014d", line)
			want[id] = line
			sb.WriteString("x=" + id + "\n")
			continue
		}
		sb.WriteString(strings.Repeat("y", line%300) + "\n")
	}
	res, err := Read(context.Background(), strings.NewReader(sb.String()), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != len(want) {
		t.Fatalf("%d findings, want %d", len(res.Findings), len(want))
	}
	for _, f := range res.Findings {
		if want[f.KeyID.String()] != f.Locations[0].Line {
			t.Errorf("%s on line %d, want %d", f.KeyID, f.Locations[0].Line, want[f.KeyID.String()])
		}
	}
}

// The peak-memory benchmarks of issue 12 §3 (run with -benchtime 1x; numbers in detect/README.md).
// Each reports the peak heap above the baseline while Read runs.

func benchPeak(b *testing.B, in func() io.Reader, opts Options, check func(Result, error) bool) {
	for b.Loop() {
		var res Result
		var err error
		peak := peakHeapDuring(b, func() { res, err = Read(context.Background(), in(), opts) })
		if !check(res, err) {
			b.Fatalf("%d findings, %v", len(res.Findings), err)
		}
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	}
}

// BenchmarkPeakJSONDeep2MB: 2 MB of "[" (the old walker died out of memory).
func BenchmarkPeakJSONDeep2MB(b *testing.B) {
	data := bytes.Repeat([]byte("["), 2<<20)
	benchPeak(b, func() io.Reader { return bytes.NewReader(data) }, Options{},
		func(_ Result, err error) bool { return errors.Is(err, ErrTooDeep) })
}

// BenchmarkPeakJSONDeep40k: 40,000 levels around an id, 80 KB (the old walker took 1.65 GB).
func BenchmarkPeakJSONDeep40k(b *testing.B) {
	data := []byte(strings.Repeat("[", 40000) + `"` + id24 + `"` + strings.Repeat("]", 40000))
	benchPeak(b, func() io.Reader { return bytes.NewReader(data) }, Options{Format: FormatJSON},
		func(_ Result, err error) bool { return errors.Is(err, ErrTooDeep) })
}

// BenchmarkPeakJSONDeep1000: at the limit, 1,000 levels of objects with 256-byte keys around
// 1,000 ids.
func BenchmarkPeakJSONDeep1000(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(strings.Repeat(`{"`+strings.Repeat("k", 256)+`":`, MaxJSONDepth-1) + "[")
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&sb, `"LTAI5tFAKE%014d",`, i)
	}
	sb.WriteString(`0]` + strings.Repeat("}", MaxJSONDepth-1))
	data := []byte(sb.String())
	benchPeak(b, func() io.Reader { return bytes.NewReader(data) }, Options{Format: FormatJSON},
		func(res Result, err error) bool { return err == nil && len(res.Findings) == 1000 })
}

// BenchmarkPeakRepeatedID100MiB: one 100 MiB line of one id repeated (the old collector kept
// every occurrence: 2 GB).
func BenchmarkPeakRepeatedID100MiB(b *testing.B) {
	benchPeak(b, func() io.Reader { return &repeatReader{block: []byte(id24 + " "), remaining: 100 << 20} }, Options{Format: FormatText},
		func(res Result, err error) bool {
			return err == nil && len(res.Findings) == 1 && len(res.Findings[0].Locations) == 1
		})
}

// distinctIDs is 10^6 distinct ids, one a line (25 MB).
var distinctIDs = sync.OnceValue(func() []byte {
	var sb strings.Builder
	for i := 0; i < 1000000; i++ {
		fmt.Fprintf(&sb, "LTAI5tFAKE%014d\n", i)
	}
	return []byte(sb.String())
})

// BenchmarkPeakDistinctIDs1e6: 10^6 distinct ids stop at the default limit of distinct findings.
func BenchmarkPeakDistinctIDs1e6(b *testing.B) {
	data := distinctIDs()
	benchPeak(b, func() io.Reader { return bytes.NewReader(data) }, Options{Format: FormatText},
		func(_ Result, err error) bool { return errors.Is(err, ErrTooManyFindings) })
}

// BenchmarkPeakDistinctIDs1e6NoLimit: the same without a limit (MaxFindings -1), for comparison.
func BenchmarkPeakDistinctIDs1e6NoLimit(b *testing.B) {
	data := distinctIDs()
	benchPeak(b, func() io.Reader { return bytes.NewReader(data) }, Options{Format: FormatText, MaxFindings: -1},
		func(res Result, err error) bool { return err == nil && len(res.Findings) == 1000000 })
}
