package detect

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/respond-dev/respond/ram/accesskey"
)

// checkInvariants holds for every successful Read, whatever the input: ids re-validate, kinds
// match, no id (and no secret without an id) appears twice, every finding has a location,
// locations are sorted, evidence and source are set, and no secret appears in the rendered output.
func checkInvariants(t *testing.T, res Result, rendered []byte) {
	t.Helper()
	seen := map[string]bool{}
	for _, f := range res.Findings {
		if f.Source != string(res.Format) {
			t.Fatalf("finding source %q, want the format %q", f.Source, res.Format)
		}
		if want := evidenceOf(f, res.Format); f.Evidence != want {
			t.Fatalf("finding %s has evidence %q, want %q", f.KeyID, f.Evidence, want)
		}
		if f.Kind == KindSecretOnly {
			if !f.KeyID.IsZero() || f.Secret.IsZero() || !f.Secret.LooksLikeAccessKeySecret() || !looksLikeSecret([]byte(f.Secret.Reveal())) {
				t.Fatalf("secret-only finding with id %q, or without a secret shaped like one", f.KeyID)
			}
			if seen["secret:"+f.Secret.Reveal()] {
				t.Fatal("a secret without an id reported twice")
			}
			seen["secret:"+f.Secret.Reveal()] = true
		} else {
			id, err := accesskey.ParseID(f.KeyID.String())
			if err != nil || id != f.KeyID {
				t.Fatalf("id %q does not re-validate: %v", f.KeyID, err)
			}
			if (f.Kind == KindSTS) != id.IsSTS() || (f.Kind != KindSTS && f.Kind != KindAccessKey) {
				t.Fatalf("id %s has kind %q", id, f.Kind)
			}
			if seen[id.String()] {
				t.Fatalf("id %s reported twice", id)
			}
			seen[id.String()] = true
		}
		if len(f.Locations) == 0 || len(f.Locations) > MaxLocationsPerFinding {
			t.Fatalf("%s has %d locations", f.KeyID, len(f.Locations))
		}
		if !slices.IsSortedFunc(f.Locations, compareLocation) {
			t.Fatalf("locations of %s not sorted", f.KeyID)
		}
		if f.Kind == KindSTS && !f.Secret.IsZero() {
			t.Fatalf("STS id %s carries a secret", f.KeyID)
		}
		if !f.Secret.IsZero() {
			s := f.Secret.Reveal()
			if !f.Secret.LooksLikeAccessKeySecret() {
				t.Fatalf("secret of %s is not 30 letters and digits", f.KeyID)
			}
			if bytes.Contains(rendered, []byte(s)) {
				t.Fatalf("rendered output contains the secret of %s", f.KeyID)
			}
		}
	}
	// A secret without an id that also stands with an id is that id's: it is merged.
	for _, f := range res.Findings {
		if f.Kind != KindSecretOnly {
			continue
		}
		n := 0
		for _, g := range res.Findings {
			if g.Kind != KindSecretOnly && g.Secret.Equal(f.Secret) {
				n++
			}
		}
		if n == 1 {
			t.Fatal("a secret-only finding holds the secret of exactly one id finding: it should have been merged")
		}
	}
	if len(res.Findings) > 0 && len(rendered) == 0 {
		t.Fatal("nothing rendered")
	}
	checkPrintable(t, rendered)
}

// evidenceOf is the evidence a finding of format must carry.
func evidenceOf(f Finding, format Format) Evidence {
	switch {
	case !f.Secret.IsZero():
		return EvidenceSecret
	case format == FormatSAS:
		return EvidenceSource
	}
	return EvidenceNone
}

// checkPrintable: rendered output never holds a character a terminal acts on (but the line
// breaks of the rendering itself).
func checkPrintable(t *testing.T, rendered []byte) {
	t.Helper()
	for _, line := range bytes.Split(rendered, []byte{'\n'}) {
		if p := accesskey.Printable(string(line)); p != string(line) {
			t.Fatalf("rendered output holds a control character: %q", line)
		}
	}
}

// fuzzRead runs one parser on data and checks the invariants; errors are fine, panics are not.
func fuzzRead(t *testing.T, data []byte, format Format) {
	res, err := Read(context.Background(), bytes.NewReader(data), Options{Format: format, Source: "fuzz"})
	if err != nil {
		return
	}
	checkRendered(t, res)
}

// checkRendered renders res as JSON and as text and checks the invariants on both.
func checkRendered(t *testing.T, res Result) {
	t.Helper()
	var out bytes.Buffer
	if err := res.WriteJSON(&out); err != nil {
		t.Fatal(err)
	}
	if err := res.WriteText(&out); err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, res, out.Bytes())
}

// seed adds every sample whose name matches one of the substrings (all samples for "").
func seed(f *testing.F, match ...string) {
	entries, err := os.ReadDir(formatsDir)
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		for _, m := range match {
			if strings.Contains(e.Name(), m) {
				b, err := os.ReadFile(filepath.Join(formatsDir, e.Name()))
				if err != nil {
					f.Fatal(err)
				}
				f.Add(b)
				break
			}
		}
	}
	for _, s := range textTraps {
		f.Add([]byte(s.in))
	}
	for _, s := range nearbyCases {
		if len(s.in) < 4096 { // the long-line cases would only slow the mutator down
			f.Add([]byte(s.in))
		}
	}
}

// checkTextPairs: in text, a secret given to an id stands in the input within nearLines of one of
// the id's lines (on the line itself by the same-line rule, or on a neighbouring one), and every
// id that got the ambiguity note has a secret-shaped token within nearLines of one of its lines.
func checkTextPairs(t *testing.T, data []byte) {
	res, err := Read(context.Background(), bytes.NewReader(data), Options{Format: FormatText})
	if err != nil {
		return
	}
	lines := bytes.Split(data, []byte{'\n'})
	near := func(f Finding, needle func([]byte) bool) bool {
		for _, l := range f.Locations {
			for k := max(1, l.Line-nearLines); k <= min(len(lines), l.Line+nearLines); k++ {
				if needle(lines[k-1]) {
					return true
				}
			}
		}
		return false
	}
	for _, f := range res.Findings {
		if !f.Secret.IsZero() {
			s := []byte(f.Secret.Reveal())
			if !near(f, func(l []byte) bool { return bytes.Contains(l, s) }) {
				t.Fatalf("%s paired with a secret that stands nowhere near its lines %v", f.KeyID, f.Locations)
			}
		}
		if slices.Contains(f.Notes, NoteNearbyAmbiguous) && !near(f, func(l []byte) bool {
			for _, w := range bytes.FieldsFunc(l, func(r rune) bool { return r > 0x7f || !accesskey.IsAlnum(byte(r)) }) {
				if len(w) == accesskey.SecretLen {
					return true
				}
			}
			return false
		}) {
			t.Fatalf("%s has the ambiguity note without any 30-character token near its lines", f.KeyID)
		}
	}
}

func FuzzAuto(f *testing.F) {
	seed(f, "")
	f.Fuzz(func(t *testing.T, b []byte) { fuzzRead(t, b, FormatAuto) })
}

func FuzzText(f *testing.F) {
	seed(f, "plain", "junit")
	f.Fuzz(func(t *testing.T, b []byte) {
		fuzzRead(t, b, FormatText)
		checkTextPairs(t, b)
	})
}

func FuzzGitleaksJSON(f *testing.F) {
	seed(f, "gitleaks", ".json")
	f.Fuzz(func(t *testing.T, b []byte) { fuzzRead(t, b, FormatGitleaksJSON) })
}

func FuzzGitleaksCSV(f *testing.F) {
	seed(f, ".csv")
	f.Fuzz(func(t *testing.T, b []byte) { fuzzRead(t, b, FormatGitleaksCSV) })
}

func FuzzGitleaksSARIF(f *testing.F) {
	seed(f, ".sarif")
	f.Fuzz(func(t *testing.T, b []byte) { fuzzRead(t, b, FormatGitleaksSARIF) })
}

func FuzzTrufflehog(f *testing.F) {
	seed(f, "trufflehog")
	f.Fuzz(func(t *testing.T, b []byte) { fuzzRead(t, b, FormatTrufflehog) })
}

func FuzzGitHub(f *testing.F) {
	seed(f, "github")
	f.Fuzz(func(t *testing.T, b []byte) { fuzzRead(t, b, FormatGitHub) })
}

func FuzzGitHubWebhook(f *testing.F) {
	seed(f, "github")
	f.Fuzz(func(t *testing.T, b []byte) { fuzzRead(t, b, FormatGitHubWebhook) })
}

func FuzzGGShield(f *testing.F) {
	seed(f, "ggshield")
	f.Fuzz(func(t *testing.T, b []byte) { fuzzRead(t, b, FormatGGShield) })
}

func FuzzDetectSecrets(f *testing.F) {
	seed(f, "detect-secrets")
	f.Fuzz(func(t *testing.T, b []byte) { fuzzRead(t, b, FormatDetectSecrets) })
}

func FuzzSAS(f *testing.F) {
	seed(f, "sas")
	f.Fuzz(func(t *testing.T, b []byte) { fuzzRead(t, b, FormatSAS) })
}

func FuzzJSON(f *testing.F) {
	seed(f, ".json")
	f.Fuzz(func(t *testing.T, b []byte) { fuzzRead(t, b, FormatJSON) })
}
