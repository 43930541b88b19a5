package accesskey

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestParseID(t *testing.T) {
	tests := []struct {
		in   string
		kind Kind
		ok   bool
	}{
		{"LTAI5tMYCr1pxcx4vz2o7riE", KindLongTerm, true},
		{"LTAIFAKE7q2Wd9Xz", KindLegacy, true},
		{"STS.NUgFAKEoC63mHtFkUL5MeF8r", KindSTS, true},
		{"LTAI5tMYCr1pxcx4vz2o7ri", 0, false},   // 23 characters
		{"LTAI5tMYCr1pxcx4vz2o7riEX", 0, false}, // 25
		{"LTAIFAKE7q2Wd9X", 0, false},           // 15
		{"LTAI5tMYCr1pxcx4vz2o7ri-", 0, false},  // wrong alphabet
		{"ltai5tmycr1pxcx4vz2o7rie", 0, false},  // lower-case prefix
		{"ALTAI5tMYCr1pxcx4vz2o7ri", 0, false},
		{"STS.short", 0, false},
		{"STS.NUgFAKEoC63mHt_kUL5MeF8r", 0, false},
		{"", 0, false},
		{" LTAI5tMYCr1pxcx4vz2o7riE", 0, false},
		{"LTAI5tMYCr1pxcx4vz2o7rié", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			id, err := ParseID(tt.in)
			if tt.ok != (err == nil) {
				t.Fatalf("ParseID(%q) error = %v, want ok=%v", tt.in, err, tt.ok)
			}
			if !tt.ok {
				if !errors.Is(err, ErrInvalidID) {
					t.Errorf("error %v does not wrap ErrInvalidID", err)
				}
				return
			}
			if id.String() != tt.in || id.Kind() != tt.kind {
				t.Errorf("got %q kind %v, want %q kind %v", id, id.Kind(), tt.in, tt.kind)
			}
			if id.Rotatable() == (tt.kind == KindSTS) {
				t.Errorf("Rotatable() = %v for kind %v", id.Rotatable(), tt.kind)
			}
		})
	}
}

func TestIDJSONRoundTrip(t *testing.T) {
	type wrap struct {
		ID ID `json:"id"`
	}
	b, err := json.Marshal(wrap{MustParseID("LTAI5tMYCr1pxcx4vz2o7riE")})
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"id":"LTAI5tMYCr1pxcx4vz2o7riE"}` {
		t.Fatalf("marshal = %s", b)
	}
	var w wrap
	if err := json.Unmarshal(b, &w); err != nil || w.ID.String() != "LTAI5tMYCr1pxcx4vz2o7riE" {
		t.Fatalf("unmarshal = %v, %v", w.ID, err)
	}
	if err := json.Unmarshal([]byte(`{"id":"LTAIbad"}`), &w); err == nil {
		t.Fatal("unmarshal of a bad id succeeded")
	}
}

func TestShortNeverPanics(t *testing.T) {
	for _, s := range []string{"", "LTAI", "LTAI5tMYCr1pxcx4vz2o7riE"} {
		_ = ID{s: s}.Short()
	}
	if got := MustParseID("LTAI5tMYCr1pxcx4vz2o7riE").Short(); got != "LTAI…7riE" {
		t.Fatalf("Short = %q", got)
	}
}

const plain = "vtAZaFH4CqJcqFj5oyyuRobivPNK8p"

func TestSecretRedactsEverywhere(t *testing.T) {
	s := NewSecret(plain)
	type holder struct {
		Secret Secret
		Ptr    *Secret
	}
	h := holder{Secret: s, Ptr: &s}
	var outputs []string
	for _, verb := range []string{"%s", "%v", "%+v", "%#v", "%q", "%x", "%X", "%d", "%10s", "%-v"} {
		outputs = append(outputs, fmt.Sprintf(verb, s), fmt.Sprintf(verb, h), fmt.Sprintf(verb, &s))
	}
	outputs = append(outputs, fmt.Sprint(s), fmt.Sprintln(s, h), s.String(), s.GoString())
	j, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	outputs = append(outputs, string(j))
	txt, _ := s.MarshalText()
	outputs = append(outputs, string(txt))
	y, _ := s.MarshalYAML()
	outputs = append(outputs, fmt.Sprint(y))
	var logbuf bytes.Buffer
	for _, hd := range []slog.Handler{slog.NewTextHandler(&logbuf, nil), slog.NewJSONHandler(&logbuf, nil)} {
		l := slog.New(hd)
		l.Info("rotated", "secret", s, "holder", h)
	}
	outputs = append(outputs, logbuf.String())
	for _, o := range outputs {
		if strings.Contains(o, plain) || strings.Contains(o, fmt.Sprintf("%x", plain)) {
			t.Errorf("secret leaked in %q", o)
		}
	}
	if !strings.Contains(string(j), Redacted) {
		t.Errorf("JSON %s does not say %s", j, Redacted)
	}
	if s.Reveal() != plain {
		t.Fatalf("Reveal = %q", s.Reveal())
	}
	if !s.LooksLikeAccessKeySecret() {
		t.Error("a 30-character alphanumeric secret does not look like one")
	}
}

func TestSecretZeroAndEqual(t *testing.T) {
	var z Secret
	if !z.IsZero() || z.String() != "" || z.Reveal() != "" {
		t.Fatalf("zero secret: IsZero=%v String=%q", z.IsZero(), z.String())
	}
	if !NewSecret("a").Equal(NewSecret("a")) || NewSecret("a").Equal(NewSecret("b")) {
		t.Fatal("Equal is wrong")
	}
}

func FuzzParseID(f *testing.F) {
	for _, s := range []string{"LTAI5tMYCr1pxcx4vz2o7riE", "LTAIFAKE7q2Wd9Xz", "STS.NUgFAKEoC63mHtFkUL5MeF8r", "LTAI", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseID(s)
		if err != nil {
			return
		}
		if id.String() != s {
			t.Fatalf("round trip %q -> %q", s, id)
		}
		again, err := ParseID(id.String())
		if err != nil || again != id {
			t.Fatalf("re-parse of %q failed: %v", s, err)
		}
		switch id.Kind() {
		case KindLongTerm:
			if len(s) != LongTermLen {
				t.Fatalf("long-term id of length %d", len(s))
			}
		case KindLegacy:
			if len(s) != LegacyLen {
				t.Fatalf("legacy id of length %d", len(s))
			}
		}
	})
}

func TestSecretShaped(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{strings.Repeat("a", SecretLen), true},
		{"FakeSecretFakeSecretFake012345", true},
		{strings.Repeat("a", SecretLen-1), false},
		{strings.Repeat("a", SecretLen+1), false},
		{strings.Repeat("a", SecretLen-1) + "-", false},
		{strings.Repeat("a", SecretLen-2) + "é", false}, // 30 bytes, not all ASCII
		{"", false},
	} {
		if got := SecretShaped(tc.in); got != tc.want {
			t.Errorf("SecretShaped(%d bytes) = %v, want %v", len(tc.in), got, tc.want)
		}
	}
}
