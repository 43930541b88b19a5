package accesskey

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// OneLine is Printable for a message that may span lines (the SDK's errors do): its white space,
// line breaks included, is folded into single spaces first.
func OneLine(s string) string { return Printable(strings.Join(strings.Fields(s), " ")) }

// Printable returns s safe to write to a terminal: every character a terminal could act on is
// replaced by a visible escape, so that hostile input (a file name holding "\x1b[2J\x1b]0;…\a",
// a bidi override that reorders the line, a line break that forges the next line) is shown, not
// obeyed. Escaped are: ASCII control characters and DEL (\n, \r, \t, else \x1b style), C1
// controls (\u009b), Unicode format characters such as bidi overrides and zero-width marks
// (\u202e), line and paragraph separators (\u2028), and bytes that are not UTF-8 (\xff).
// Backslashes are left as they are: the result is for reading, not for parsing back.
func Printable(s string) string {
	i := 0
	for i < len(s) {
		c := s[i]
		if c >= 0x20 && c < 0x7f {
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if needsEscape(r, n) {
			break
		}
		i += n
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case !needsEscape(r, n):
			b.WriteString(s[i : i+n])
		case r == utf8.RuneError:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r <= 0xffff:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
		i += n
	}
	return b.String()
}

// needsEscape reports whether the rune r, n bytes long in its UTF-8 input, must be escaped.
func needsEscape(r rune, n int) bool {
	switch {
	case r == utf8.RuneError && n == 1: // not UTF-8
		return true
	case r < 0x20 || r == 0x7f || r >= 0x80 && r <= 0x9f:
		return true
	case r < 0x80:
		return false
	}
	return unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp)
}

// PrintableJSON makes encoded JSON safe to write to a terminal without changing what it means.
// encoding/json already escapes the ASCII control characters; it leaves DEL, the C1 controls and
// the Unicode format characters (bidi overrides) raw. Those can only stand inside strings, where
// PrintableJSON replaces each with its \uXXXX escape. Invalid UTF-8 is replaced by U+FFFD, as
// encoding/json does.
func PrintableJSON(b []byte) []byte {
	i := 0
	for i < len(b) {
		if b[i] < 0x7f {
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if needsEscape(r, n) {
			break
		}
		i += n
	}
	if i == len(b) {
		return b
	}
	out := make([]byte, 0, len(b)+16)
	out = append(out, b[:i]...)
	for i < len(b) {
		r, n := utf8.DecodeRune(b[i:])
		switch {
		case !needsEscape(r, n) || r < 0x20: // ASCII controls stand only outside strings here: white space
			out = append(out, b[i:i+n]...)
		case r == utf8.RuneError:
			out = append(out, `\ufffd`...)
		case r <= 0xffff:
			out = fmt.Appendf(out, `\u%04x`, r)
		default:
			r1, r2 := utf16.EncodeRune(r)
			out = fmt.Appendf(out, `\u%04x\u%04x`, r1, r2)
		}
		i += n
	}
	return out
}
