package detect

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/respond-dev/respond/ram/accesskey"
)

const hostileDir = "../testdata/hostile/detect"

// checkCleanError: an error is one printable line that repeats no secret-shaped token of the input.
func checkCleanError(t *testing.T, err error, input []byte) {
	t.Helper()
	if err == nil {
		return
	}
	msg := err.Error()
	if strings.ContainsAny(msg, "\n\r") || accesskey.Printable(msg) != msg {
		t.Fatalf("error is not one printable line: %q", msg)
	}
	for _, w := range bytes.FieldsFunc(input, func(r rune) bool { return r > 0x7f || !accesskey.IsAlnum(byte(r)) }) {
		if len(w) == accesskey.SecretLen && strings.Contains(msg, string(w)) {
			t.Fatalf("error quotes a secret-shaped token of the input: %q", msg)
		}
	}
}

// TestHostileCorpus reads every file of testdata/hostile/detect as auto-detected (the outcome
// pinned in expect.tsv) and as every format forced: no panic, every error clean, every result
// keeps the invariants (output printable, no secret in it).
func TestHostileCorpus(t *testing.T) {
	f, err := os.Open(filepath.Join(hostileDir, "expect.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	expect := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := sc.Text(); l != "" && !strings.HasPrefix(l, "#") {
			name, outcome, ok := strings.Cut(l, "\t")
			if !ok {
				t.Fatalf("bad line %q", l)
			}
			expect[name] = outcome
		}
	}
	entries, err := os.ReadDir(hostileDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(expect)+1 {
		t.Fatalf("%d files, %d expectations: every file needs a line in expect.tsv", len(entries)-1, len(expect))
	}
	for name, want := range expect {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(hostileDir, name))
			if err != nil {
				t.Fatal(err)
			}
			res, err := Read(context.Background(), bytes.NewReader(data), Options{Source: name})
			checkCleanError(t, err, data)
			got := outcome(res, err)
			if got != want {
				t.Errorf("outcome %s, want %s (%v)", got, want, err)
			}
			for _, format := range Formats() {
				fuzzRead(t, data, format)
				_, err := Read(context.Background(), bytes.NewReader(data), Options{Format: format})
				checkCleanError(t, err, data)
			}
		})
	}
}

func outcome(res Result, err error) string {
	switch {
	case errors.Is(err, ErrTooDeep):
		return "error:too-deep"
	case errors.Is(err, ErrEmptyInput):
		return "error:empty"
	case errors.Is(err, ErrUnrecognised):
		return "error:unrecognised"
	case err != nil:
		return "error:other"
	}
	alone := 0
	for _, f := range res.Findings {
		if f.Kind == KindSecretOnly {
			alone++
		}
	}
	s := "findings:" + strconv.Itoa(len(res.Findings))
	if alone > 0 {
		s += ",alone:" + strconv.Itoa(alone)
	}
	return s
}

// TestEscapesNeverPrinted: terminal escapes in a finding's file name (issue 12 §4) reach the data
// as they are, and the text and JSON renderings only as visible escapes.
func TestEscapesNeverPrinted(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(hostileDir, "escape-filename.gitleaks.json"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Read(context.Background(), bytes.NewReader(data), Options{Source: "in\x1b[2J"})
	if err != nil || len(res.Findings) != 1 {
		t.Fatalf("%+v %v", res.Findings, err)
	}
	if file := res.Findings[0].Locations[0].File; !strings.Contains(file, "\x1b]0;PWNED\a") {
		t.Fatalf("the data should keep the name as it is: %q", file)
	}
	var text, js bytes.Buffer
	if err := res.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if err := res.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{text.String(), js.String()} {
		if strings.ContainsAny(out, "\x1b\a\u202e") {
			t.Fatalf("raw escape in %q", out)
		}
	}
	if !strings.Contains(text.String(), `src/\x1b[2J\x1b]0;PWNED\x07\u202egnp.env\n[fake] all clear:2`) {
		t.Errorf("text does not show the escapes:\n%s", text.String())
	}
	if strings.Count(text.String(), "\n[fake]") != 0 {
		t.Error("a line break in a file name forged a line")
	}
	if !strings.Contains(js.String(), `\u001b]0;PWNED\u0007\u202egnp.env`) {
		t.Errorf("JSON does not escape:\n%s", js.String())
	}
}

// TestUTF16 reads UTF-16 with a byte-order mark, as Windows PowerShell 5.1's ">" writes it.
func TestUTF16(t *testing.T) {
	enc := func(s string, big bool) []byte {
		var b []byte
		if big {
			b = []byte{0xfe, 0xff}
		} else {
			b = []byte{0xff, 0xfe}
		}
		for _, u := range utf16.Encode([]rune(s)) {
			if big {
				b = append(b, byte(u>>8), byte(u))
			} else {
				b = append(b, byte(u), byte(u>>8))
			}
		}
		return b
	}
	gl := "[" + gitleaksEntry(ruleGitleaksID, id24, "密钥/.env", "c1", 2) + "]\r\n"
	for _, big := range []bool{false, true} {
		for _, tc := range []struct {
			name   string
			in     string
			format Format
		}{
			{"gitleaks JSON", gl, FormatGitleaksJSON},
			{"text with a pair", "ak=" + id24 + " 🔑 sk=" + sec1 + "\r\n", FormatText},
			{"SARIF", `{"version":"2.1.0","runs":[{"results":[{"ruleId":"alibaba-access-key-id","locations":[{"physicalLocation":{"artifactLocation":{"uri":"a"},"region":{"snippet":{"text":"` + id24 + `"}}}}]}]}]}`, FormatGitleaksSARIF},
		} {
			t.Run(fmt.Sprintf("%s big-endian=%v", tc.name, big), func(t *testing.T) {
				res, err := Read(context.Background(), bytes.NewReader(enc(tc.in, big)), Options{})
				if err != nil || res.Format != tc.format || len(res.Findings) != 1 || res.Findings[0].KeyID.String() != id24 {
					t.Fatalf("format %s, %+v, %v", res.Format, res.Findings, err)
				}
				if strings.Contains(tc.in, sec1) && res.Findings[0].Secret.Reveal() != sec1 {
					t.Error("secret not paired")
				}
				if tc.format == FormatGitleaksJSON && res.Findings[0].Locations[0].File != "密钥/.env" {
					t.Errorf("file %q", res.Findings[0].Locations[0].File)
				}
			})
		}
	}
	// Larger than the reader's block, with a surrogate pair on every boundary.
	long := strings.Repeat("🔑", 20000) + "\n" + id24 + "\n"
	res, err := Read(context.Background(), bytes.NewReader(enc(long, false)), Options{})
	if err != nil || len(res.Findings) != 1 || res.Findings[0].Locations[0].Line != 2 {
		t.Fatalf("%+v %v", res.Findings, err)
	}
}

func TestUTF16Reader(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		big  bool
		want string
	}{
		{"ascii", []byte("a\x00b\x00"), false, "ab"},
		{"big-endian", []byte("\x00a\x00b"), true, "ab"},
		{"pair", []byte{0x3d, 0xd8, 0x11, 0xdd}, false, "🔑"},
		{"lone high at the end", []byte{0x3d, 0xd8}, false, "\ufffd"},
		{"lone high then a letter", []byte{0x3d, 0xd8, 'a', 0}, false, "\ufffda"},
		{"lone low", []byte{0x11, 0xdd, 'a', 0}, false, "\ufffda"},
		{"odd length", []byte{'a', 0, 'b'}, false, "a\ufffd"},
		{"empty", nil, false, ""},
	} {
		got, err := io.ReadAll(iotestOneByte(newUTF16Reader(bytes.NewReader(tc.in), tc.big)))
		if err != nil || string(got) != tc.want {
			t.Errorf("%s: %q %v, want %q", tc.name, got, err, tc.want)
		}
		got, err = io.ReadAll(newUTF16Reader(iotestOneByte(bytes.NewReader(tc.in)), tc.big))
		if err != nil || string(got) != tc.want {
			t.Errorf("%s, one byte at a time: %q %v, want %q", tc.name, got, err, tc.want)
		}
	}
}

// iotestOneByte reads one byte at a time (testing/iotest.OneByteReader, without the import).
func iotestOneByte(r io.Reader) io.Reader { return &oneByte{r} }

type oneByte struct{ r io.Reader }

func (o *oneByte) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	return o.r.Read(p[:1])
}

// TestDeepJSON: nesting is refused past MaxJSONDepth with an error that names the limit, in memory
// that does not grow with the input (issue 12 §3: 2 MB of "[" died out of memory).
func TestDeepJSON(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
	}{
		{"2 MB of [", bytes.Repeat([]byte("["), 2<<20)},
		{"2 MB of {\"a\":", bytes.Repeat([]byte(`{"a":`), 400<<10)},
		{"40k levels closed", []byte(strings.Repeat("[", 40000) + `"` + id24 + `"` + strings.Repeat("]", 40000))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			peak := peakHeapDuring(t, func() {
				_, err = Read(context.Background(), bytes.NewReader(tc.in), Options{})
			})
			if !errors.Is(err, ErrTooDeep) || !strings.Contains(err.Error(), strconv.Itoa(MaxJSONDepth)) {
				t.Fatalf("error %v, want ErrTooDeep naming %d", err, MaxJSONDepth)
			}
			checkCleanError(t, err, tc.in)
			if peak > 16<<20 {
				t.Errorf("peak heap %d MiB", peak>>20)
			}
			t.Logf("peak heap %.1f MiB", float64(peak)/(1<<20))
		})
	}
	// At the limit, with long keys: read, and the pointer is bounded.
	deep := strings.Repeat(`{"`+strings.Repeat("k", 1000)+`":`, MaxJSONDepth) + `"` + id24 + `"` + strings.Repeat("}", MaxJSONDepth)
	res, err := Read(context.Background(), strings.NewReader(deep), Options{})
	if err != nil || len(res.Findings) != 1 || len(res.Findings[0].Locations[0].Path) > maxFieldLen {
		t.Fatalf("%v %d", err, len(res.Findings))
	}
}

// TestMaxFindings: distinct findings past the limit stop the Read with a clear error; the limit
// is an option; repeating one id costs one finding and one location per distinct place.
func TestMaxFindings(t *testing.T) {
	var sb strings.Builder
	for i := 0; i < 30; i++ {
		fmt.Fprintf(&sb, "LTAI5tFAKE%014d\n", i)
	}
	in := sb.String()
	_, err := Read(context.Background(), strings.NewReader(in), Options{MaxFindings: 29})
	if !errors.Is(err, ErrTooManyFindings) || !strings.Contains(err.Error(), "29") {
		t.Fatalf("error %v, want ErrTooManyFindings naming 29", err)
	}
	checkCleanError(t, err, []byte(in))
	for _, max := range []int{30, -1} {
		if res, err := Read(context.Background(), strings.NewReader(in), Options{MaxFindings: max}); err != nil || len(res.Findings) != 30 {
			t.Fatalf("MaxFindings %d: %v", max, err)
		}
	}
	// The default, on every format that makes findings.
	sb.Reset()
	sb.WriteString("[")
	for i := 0; i <= DefaultMaxFindings; i++ {
		if i > 0 {
			sb.WriteString(",")
		}
		sb.WriteString(gitleaksEntry(ruleGitleaksID, fmt.Sprintf("LTAI5tFAKE%014d", i), ".env", "c", 1))
	}
	sb.WriteString("]")
	if _, err := Read(context.Background(), strings.NewReader(sb.String()), Options{}); !errors.Is(err, ErrTooManyFindings) {
		t.Fatalf("gitleaks: %v", err)
	}
	// Secrets without an id count too.
	sb.Reset()
	for i := 0; i < 40; i++ {
		fmt.Fprintf(&sb, "sk=FAKE%06dabcdefghijKLMNOPQRST\n", i)
	}
	if _, err := Read(context.Background(), strings.NewReader(sb.String()), Options{MaxFindings: 39}); !errors.Is(err, ErrTooManyFindings) {
		t.Fatalf("secret-only: %v", err)
	}
}

// TestLocationsBounded: a key repeated on every line keeps MaxLocationsPerFinding locations and a
// note that counts the rest; a key repeated on one line keeps one.
func TestLocationsBounded(t *testing.T) {
	in := strings.Repeat(id24+"\n", MaxLocationsPerFinding+500)
	res, err := Read(context.Background(), strings.NewReader(in), Options{})
	if err != nil || len(res.Findings) != 1 {
		t.Fatal(err)
	}
	f := res.Findings[0]
	if len(f.Locations) != MaxLocationsPerFinding || f.Locations[MaxLocationsPerFinding-1].Line != MaxLocationsPerFinding ||
		len(f.Notes) != 1 || !strings.HasPrefix(f.Notes[0], "500 further occurrences") {
		t.Fatalf("%d locations, notes %q", len(f.Locations), f.Notes)
	}
	res, err = Read(context.Background(), strings.NewReader(strings.Repeat(id24+" ", 100000)), Options{})
	if err != nil || len(res.Findings) != 1 || len(res.Findings[0].Locations) != 1 || len(res.Findings[0].Notes) != 0 {
		t.Fatalf("%v %+v", err, res.Findings)
	}
	// Warnings are bounded too.
	var sb strings.Builder
	sb.WriteString("[")
	for i := 0; i < 300; i++ {
		if i > 0 {
			sb.WriteString(",")
		}
		sb.WriteString(gitleaksEntry(ruleGitleaksID, "LTAI5tFAKEb8HnR4sW6cJq2dXYZ", fmt.Sprintf("f%d", i), "c", 1))
	}
	sb.WriteString("]")
	res, err = Read(context.Background(), strings.NewReader(sb.String()), Options{})
	if err != nil || len(res.Warnings) != maxWarnings+1 || !strings.HasPrefix(res.Warnings[maxWarnings], "200 further warnings") {
		t.Fatalf("%v: %d warnings", err, len(res.Warnings))
	}
}

// FuzzJSONWalk wraps a fuzzed value in depth levels of arrays or objects and walks it: a depth
// past MaxJSONDepth is refused, and what the walk allocates stays linear in the input (the old
// walker kept the whole path in every frame: 40k levels of an 80 KB input took 1.65 GB).
func FuzzJSONWalk(f *testing.F) {
	f.Add([]byte(`"`+id24+`"`), uint16(3), false)
	f.Add([]byte(`{"AccessKeyId":"`+id24+`","AccessKeySecret":"`+sec1+`"}`), uint16(999), true)
	f.Add([]byte(`[{"sk":"`+sec1+`"},{"ak":"`+id24b+`"}]`), uint16(1000), false)
	f.Add([]byte(`"`+id24+`"`), uint16(1001), true)
	f.Add([]byte(`["x"]`), uint16(40000), false)
	entries, err := os.ReadDir(formatsDir)
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".json") || strings.HasSuffix(e.Name(), ".jsonl") {
			b, err := os.ReadFile(filepath.Join(formatsDir, e.Name()))
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b, uint16(0), false)
		}
	}
	f.Fuzz(func(t *testing.T, value []byte, depth uint16, object bool) {
		open, closing := "[", "]"
		if object {
			open, closing = `{"k/~":`, "}"
		}
		in := make([]byte, 0, len(value)+int(depth)*(len(open)+1))
		in = append(in, strings.Repeat(open, int(depth))...)
		in = append(in, value...)
		in = append(in, strings.Repeat(closing, int(depth))...)

		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		res, err := Read(context.Background(), bytes.NewReader(in), Options{Format: FormatJSON})
		runtime.ReadMemStats(&after)
		if int(depth) > MaxJSONDepth && !errors.Is(err, ErrTooDeep) {
			t.Fatalf("depth %d: error %v, want ErrTooDeep", depth, err)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 512*uint64(len(in))+8<<20 {
			t.Fatalf("depth %d, %d bytes of input: %d bytes allocated", depth, len(in), alloc)
		}
		checkCleanError(t, err, in)
		if err != nil {
			return
		}
		checkRendered(t, res)
		for _, fd := range res.Findings {
			for _, l := range fd.Locations {
				if len(l.Path) > maxFieldLen {
					t.Fatalf("pointer of %d bytes", len(l.Path))
				}
			}
		}
	})
}
