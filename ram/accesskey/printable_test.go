package accesskey

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestPrintable(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"src/app.env", "src/app.env"},
		{"", ""},
		{"src/\x1b[2J\x1b]0;PWNED\a.env", `src/\x1b[2J\x1b]0;PWNED\x07.env`},
		{"a\nb\rc\td", `a\nb\rc\td`},
		{"del\x7f", `del\x7f`},
		{"csi\u009b31m", `csi\u009b31m`},
		{"bidi \u202egnp.exe", `bidi \u202egnp.exe`},
		{"isolate \u2066x\u2069", `isolate \u2066x\u2069`},
		{"zero\u200bwidth", `zero\u200bwidth`},
		{"line\u2028sep", `line\u2028sep`},
		{"tag \U000e0041", `tag \U000e0041`},
		{"bad \xff\xfe utf8", `bad \xff\xfe utf8`},
		{"密钥/配置.yaml", "密钥/配置.yaml"},
		{`C:\keys\a.env`, `C:\keys\a.env`},
		{"emoji 🔑", "emoji 🔑"},
	} {
		got := Printable(tc.in)
		if got != tc.want {
			t.Errorf("Printable(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if Printable(got) != got {
			t.Errorf("Printable is not idempotent on %q", got)
		}
	}
}

func TestPrintableJSON(t *testing.T) {
	v := map[string]string{"file": "a\u009b2J\u202e\x7f\x1b\U000e0041.env", "plain": "密钥"}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	out := PrintableJSON(b)
	var back map[string]string
	if err := json.Unmarshal(out, &back); err != nil {
		t.Fatalf("%s: %v", out, err)
	}
	if back["file"] != v["file"] || back["plain"] != v["plain"] {
		t.Fatalf("round trip changed the value: %q", back)
	}
	for _, r := range string(out) {
		if r < 0x20 && r != '\n' || r == 0x7f || r >= 0x80 && r <= 0x9f || r == 0x202e || r == 0xe0041 {
			t.Fatalf("raw %U left in %s", r, out)
		}
	}
	if !strings.Contains(string(out), `\u009b`) || !strings.Contains(string(out), `\udb40\udc41`) {
		t.Fatalf("escapes missing: %s", out)
	}
	plain := []byte(`{"a":"b"}`)
	if got := PrintableJSON(plain); &got[0] != &plain[0] {
		t.Error("clean JSON should be returned as is")
	}
}

func FuzzPrintable(f *testing.F) {
	for _, s := range []string{"src/\x1b[2J\x1b]0;PWNED\a", "\u202e", "\xff", "ok", "\u009b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p := Printable(s)
		if !utf8.ValidString(p) {
			t.Fatalf("Printable(%q) is not UTF-8", s)
		}
		for i, r := range p {
			if needsEscape(r, utf8.RuneLen(r)) {
				t.Fatalf("Printable(%q) left %U at %d", s, r, i)
			}
		}
		if Printable(p) != p {
			t.Fatalf("not idempotent on %q", s)
		}
	})
}
