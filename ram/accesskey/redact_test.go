package accesskey

import (
	"bytes"
	"strings"
	"testing"
)

func TestRedactor_Redact(t *testing.T) {
	r := NewRedactor(NewSecret("abcdef"), Secret{}, NewSecret("abc"))
	r.Add(NewSecret("https://hook.example/T1/B2/tok"))
	for in, want := range map[string]string{
		"no secret":      "no secret",
		"x abcdef y":     "x [REDACTED] y",
		"abc and abcdef": "[REDACTED] and [REDACTED]",
		"post https://hook.example/T1/B2/tok failed": "post [REDACTED] failed",
		"": "",
	} {
		if got := r.Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
	var nilR *Redactor
	if nilR.Redact("abc") != "abc" {
		t.Error("nil redactor changed text")
	}
	if (&Redactor{}).Redact("anything") != "anything" {
		t.Error("empty redactor changed text")
	}
}

func TestRedactor_Writer(t *testing.T) {
	secret := "NewSecretAAAABBBBCCCCDDDDEEEE1"
	text := "line one\nthe secret is " + secret + " and again " + secret + "\nprogress 50%"
	// Every split of the text into two writes, and byte-by-byte writes.
	for split := 0; split <= len(text); split++ {
		var out bytes.Buffer
		w := NewRedactor(NewSecret(secret)).Writer(&out)
		if _, err := w.Write([]byte(text[:split])); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(text[split:])); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out.String(), secret[:10]) {
			t.Fatalf("split %d leaked: %q", split, out.String())
		}
		want := strings.ReplaceAll(text, secret, Redacted)
		if out.String() != want {
			t.Fatalf("split %d: got %q, want %q", split, out.String(), want)
		}
	}
	var out bytes.Buffer
	w := NewRedactor(NewSecret(secret)).Writer(&out)
	for i := 0; i < len(text); i++ {
		_, _ = w.Write([]byte{text[i]})
	}
	_ = w.Close()
	if strings.Contains(out.String(), secret) {
		t.Fatalf("byte-wise writes leaked: %q", out.String())
	}
	// Complete lines are not held back.
	out.Reset()
	w = NewRedactor(NewSecret(secret)).Writer(&out)
	_, _ = w.Write([]byte("done\n"))
	if out.String() != "done\n" {
		t.Errorf("a complete line was held back: %q", out.String())
	}
}

func FuzzRedactorWriter(f *testing.F) {
	f.Add("the secret is NewSecretAAAABBBBCCCCDDDDEEEE1 ok", "NewSecretAAAABBBBCCCCDDDDEEEE1", 7)
	f.Add("x\ny", "ab", 1)
	f.Fuzz(func(t *testing.T, text, secret string, split int) {
		// Real secrets are letters and digits; such a secret cannot overlap the brackets of
		// [REDACTED], so re-redacting a held-back tail changes nothing.
		if secret == "" || strings.Contains(Redacted, secret) || strings.IndexFunc(secret, func(r rune) bool {
			return r > 127 || !IsAlnum(byte(r))
		}) >= 0 {
			return
		}
		if split < 0 {
			split = -split
		}
		split %= len(text) + 1
		var out bytes.Buffer
		w := NewRedactor(NewSecret(secret)).Writer(&out)
		_, _ = w.Write([]byte(text[:split]))
		_, _ = w.Write([]byte(text[split:]))
		_ = w.Flush()
		want := NewRedactor(NewSecret(secret)).Redact(text)
		if out.String() != want {
			t.Fatalf("writer %q != Redact %q", out.String(), want)
		}
	})
}
