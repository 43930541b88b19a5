package detect

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/respond-dev/respond/ram/accesskey"
)

const (
	namedA = "LTAI5tNAMEDAAAAAAAAA0001"
	namedB = "LTAI5tNAMEDBBBBBBBBB0002"
	namedC = "LTAI5tNAMEDCCCCCCCCC0003"
	namedS = "STS.NAMEDSTSSTSSTSSTS0001"
)

func TestParseIDs(t *testing.T) {
	for _, tc := range []struct {
		name    string
		values  []string
		want    []string
		wantErr string
	}{
		{"none", nil, nil, ""},
		{"one", []string{namedA}, []string{namedA}, ""},
		{"comma-separated and repeated, spaces and empty items skipped", []string{namedA + ", ," + namedB, " " + namedC + " "}, []string{namedA, namedB, namedC}, ""},
		{"duplicates kept (WithNamed folds them)", []string{namedA, namedA}, []string{namedA, namedA}, ""},
		{"a bad id", []string{namedA + ",LTAIshort"}, nil, "LTAIshort"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ids, err := ParseIDs(tc.values)
			if tc.wantErr != "" {
				if err == nil || !errors.Is(err, accesskey.ErrInvalidID) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want ErrInvalidID naming %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, id := range ids {
				got = append(got, id.String())
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func FuzzParseIDs(f *testing.F) {
	for _, s := range []string{namedA, namedA + "," + namedB, " ,", "LTAI\x00,STS."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ids, err := ParseIDs([]string{s})
		if err != nil {
			if ids != nil {
				t.Fatal("ids with an error")
			}
			return
		}
		for _, id := range ids {
			if id.IsZero() || !strings.Contains(s, id.String()) {
				t.Fatalf("id %q is not in the input %q", id, s)
			}
		}
	})
}

func TestWithNamed(t *testing.T) {
	id := accesskey.MustParseID
	secret := accesskey.NewSecret(strings.Repeat("s", accesskey.SecretLen))
	readB := Finding{KeyID: id(namedB), Kind: KindAccessKey, Secret: secret, Evidence: EvidenceSecret, Source: "gitleaks-json",
		Locations: []Location{{Source: "report.json", File: "b.env"}}, Notes: []string{"paired"}}
	readC := Finding{KeyID: id(namedC), Kind: KindAccessKey, Evidence: EvidenceNone, Source: "text", Locations: []Location{{File: "c.log"}}}
	secretOnly := Finding{Kind: KindSecretOnly, Secret: secret, Evidence: EvidenceSecret}
	type want struct {
		key       string
		kind      Kind
		evidence  Evidence
		locations int
		secret    bool
		notes     int
	}
	for _, tc := range []struct {
		name  string
		named []string
		read  []Finding
		want  []want
	}{
		{"named only, each once, in order", []string{namedB, namedA, namedB}, nil, []want{
			{namedB, KindAccessKey, EvidenceOperator, 1, false, 0}, {namedA, KindAccessKey, EvidenceOperator, 1, false, 0}}},
		{"an STS id is named as STS", []string{namedS}, nil, []want{{namedS, KindSTS, EvidenceOperator, 1, false, 0}}},
		{"read only: unchanged", nil, []Finding{readB, readC}, []want{
			{namedB, KindAccessKey, EvidenceSecret, 1, true, 1}, {namedC, KindAccessKey, EvidenceNone, 1, false, 0}}},
		{"a named key the report holds gets its places, notes and secret", []string{namedB}, []Finding{readC, readB}, []want{
			{namedB, KindAccessKey, EvidenceOperator, 2, true, 1}, {namedC, KindAccessKey, EvidenceNone, 1, false, 0}}},
		{"a secret-only finding is never merged into a named key", []string{namedA}, []Finding{secretOnly}, []want{
			{namedA, KindAccessKey, EvidenceOperator, 1, false, 0}, {"", KindSecretOnly, EvidenceSecret, 0, true, 0}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ids []accesskey.ID
			for _, s := range tc.named {
				ids = append(ids, id(s))
			}
			got := WithNamed(ids, tc.read)
			if len(got) != len(tc.want) {
				t.Fatalf("%d findings, want %d: %+v", len(got), len(tc.want), got)
			}
			for i, w := range tc.want {
				g := got[i]
				if g.KeyID.String() != w.key || g.Kind != w.kind || g.Evidence != w.evidence || len(g.Locations) != w.locations ||
					g.Secret.IsZero() == w.secret || len(g.Notes) != w.notes {
					t.Errorf("finding %d = %s %s %s, %d locations, secret %v, %d notes; want %+v",
						i, g.KeyID, g.Kind, g.Evidence, len(g.Locations), !g.Secret.IsZero(), len(g.Notes), w)
				}
				if w.evidence == EvidenceOperator && (g.Source != SourceOperator || g.Locations[0].Source != SourceOperator) {
					t.Errorf("finding %d: source %q, first location %+v; want %q", i, g.Source, g.Locations[0], SourceOperator)
				}
			}
		})
	}
}

func TestReadPath(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.json")
	text := filepath.Join(dir, "app.log")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(text, []byte("key="+namedA+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path, stdin string
		findings          int
		source, warning   string
		wantErr           string
	}{
		{"a file", text, "", 1, text, "", ""},
		{"stdin", "-", "key=" + namedB, 1, "stdin", "", ""},
		{"an empty input is no findings, with a warning", empty, "", 0, "", "the input from " + empty + " is empty", ""},
		{"empty stdin", "-", "", 0, "", "the input from stdin is empty", ""},
		{"a missing file", filepath.Join(dir, "missing"), "", 0, "", "", "read findings: open"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := ReadPath(context.Background(), tc.path, strings.NewReader(tc.stdin), Options{})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Findings) != tc.findings {
				t.Fatalf("%d findings, want %d", len(res.Findings), tc.findings)
			}
			if tc.findings > 0 && res.Findings[0].Locations[0].Source != tc.source {
				t.Errorf("source %q, want %q", res.Findings[0].Locations[0].Source, tc.source)
			}
			if tc.warning != "" && (len(res.Warnings) != 1 || !strings.HasPrefix(res.Warnings[0], tc.warning)) {
				t.Errorf("warnings %q, want %q", res.Warnings, tc.warning)
			}
		})
	}
	t.Run("a parse error names the input", func(t *testing.T) {
		_, err := ReadPath(context.Background(), "-", strings.NewReader("{"), Options{Format: FormatGitleaksJSON})
		if err == nil || !strings.HasPrefix(err.Error(), "read findings from stdin: ") {
			t.Fatalf("err = %v", err)
		}
	})
}
