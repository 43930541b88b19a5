package detect

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/detect")

const formatsDir = "../testdata/formats"

// sampleFiles lists the scanner samples (not the README nor the expectations).
func sampleFiles(t testing.TB) []string {
	t.Helper()
	entries, err := os.ReadDir(formatsDir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || strings.HasSuffix(n, ".md") || strings.HasSuffix(n, ".tsv") {
			continue
		}
		out = append(out, n)
	}
	if len(out) < 17 {
		t.Fatalf("only %d samples in %s; the shared samples are missing", len(out), formatsDir)
	}
	return out
}

// fakeSecret matches the 30-character fake secrets of the samples (FAKE + 26) standing alone.
var fakeSecret = regexp.MustCompile(`\bFAKE[A-Za-z0-9]{26}\b`)

// render gives the golden form of a Read: the JSON of the result, or of the error.
func render(t testing.TB, res Result, err error) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err != nil {
		e := map[string]any{"error": err.Error(), "format": res.Format}
		var nk *NoKeyIDError
		var red *RedactedInputError
		var cen *CensoredInputError
		switch {
		case errors.As(err, &nk):
			e["type"], e["locations"] = "no-key-id", nk.Locations
		case errors.As(err, &red):
			e["type"] = "redacted"
		case errors.As(err, &cen):
			e["type"] = "censored"
		case errors.Is(err, ErrUnrecognised):
			e["type"] = "unrecognised"
		}
		b, mErr := json.MarshalIndent(e, "", "  ")
		if mErr != nil {
			t.Fatal(mErr)
		}
		return append(b, '\n')
	}
	if err := res.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestGolden(t *testing.T) {
	for _, name := range sampleFiles(t) {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(formatsDir, name))
			if err != nil {
				t.Fatal(err)
			}
			res, err := Read(context.Background(), bytes.NewReader(data), Options{Source: name})
			got := render(t, res, err)
			if m := fakeSecret.Find(got); m != nil {
				t.Fatalf("rendered output contains a secret %q", m)
			}
			var text bytes.Buffer
			if err == nil {
				if err := res.WriteText(&text); err != nil {
					t.Fatal(err)
				}
				if m := fakeSecret.Find(text.Bytes()); m != nil {
					t.Fatalf("text output contains a secret %q", m)
				}
				checkInvariants(t, res, append(got, text.Bytes()...))
			}
			compareGolden(t, filepath.Join("..", "testdata", "detect", name+".golden.json"), got)
			if err == nil {
				compareGolden(t, filepath.Join("..", "testdata", "detect", name+".golden.txt"), text.Bytes())
			}
		})
	}
}

// TestPlainExpected checks plain.txt line by line against plain.expected.tsv.
func TestPlainExpected(t *testing.T) {
	f, err := os.Open(filepath.Join(formatsDir, "plain.expected.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type want struct{ id, secret string }
	wants := map[int]want{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "#") || strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		cols := strings.Split(sc.Text(), "\t")
		n, err := strconv.Atoi(cols[0])
		if err != nil || len(cols) < 3 {
			t.Fatalf("bad tsv line %q", sc.Text())
		}
		wants[n] = want{id: cols[1], secret: cols[2]}
	}
	plain, err := os.ReadFile(filepath.Join(formatsDir, "plain.txt"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(string(plain), "\n"), "\n")
	if len(lines) != len(wants) {
		t.Fatalf("plain.txt has %d lines, the tsv %d", len(lines), len(wants))
	}
	for i, l := range lines {
		n := i + 1
		w := wants[n]
		res, err := Read(context.Background(), strings.NewReader(l+"\n"), Options{Format: FormatText})
		var ids []Finding
		for _, f := range res.Findings {
			if f.Kind == KindAccessKey {
				ids = append(ids, f)
			}
		}
		if w.id == "-" {
			if len(ids) != 0 {
				t.Errorf("line %d: want no rotatable id, got %v", n, ids[0].KeyID)
			}
			if n == 11 && (err != nil || len(res.Findings) != 1 || res.Findings[0].Kind != KindSTS || len(res.Warnings) == 0) {
				t.Errorf("line 11: want one STS finding with the explanation, got %+v, %v", res, err)
			}
			continue
		}
		if err != nil || len(ids) != 1 {
			t.Errorf("line %d: want %s, got %+v, %v", n, w.id, res.Findings, err)
			continue
		}
		if ids[0].KeyID.String() != w.id {
			t.Errorf("line %d: id %s, want %s", n, ids[0].KeyID, w.id)
		}
		gotSecret := "-"
		if !ids[0].Secret.IsZero() {
			gotSecret = ids[0].Secret.Reveal()
		}
		if gotSecret != w.secret {
			t.Errorf("line %d: secret %q, want %q", n, gotSecret, w.secret)
		}
		if n == 8 && (len(ids[0].Notes) == 0 || ids[0].Notes[0] != NoteOSSPresigned) {
			t.Errorf("line 8: want the OSS pre-signed note, got %v", ids[0].Notes)
		}
		if ids[0].Locations[0].Line != 1 {
			t.Errorf("line %d: location line %d", n, ids[0].Locations[0].Line)
		}
	}

	// The whole file: duplicates merged, line numbers kept.
	res, err := Read(context.Background(), bytes.NewReader(plain), Options{Source: "plain.txt"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Format != FormatText {
		t.Fatalf("format %s, want text", res.Format)
	}
	first := res.Findings[0]
	if first.KeyID.String() != "LTAI5tFAKEb8HnR4sW6cJq2d" || len(first.Locations) != 2 || first.Locations[0].Line != 1 || first.Locations[1].Line != 10 {
		t.Errorf("duplicate of line 1 not merged with its lines: %+v", first)
	}
	if got, want := len(res.Findings), 9; got != want { // 8 distinct LTAI ids + 1 STS
		t.Errorf("%d findings, want %d", got, want)
	}
}

func compareGolden(t *testing.T, golden string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./detect -run TestGolden -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (go test ./detect -run TestGolden -update to accept):\n--- got\n%s\n--- want\n%s", golden, got, want)
	}
}
