// Package accesskey holds the two value types every part of respond shares: the AccessKey id,
// parsed and validated, and the Secret, which redacts itself wherever it is printed, logged or
// marshalled. It imports only the standard library so that detect, ram, rotate and the sinks can
// all depend on it.
package accesskey

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Kind says what sort of AccessKey id a string is.
type Kind int

const (
	// KindLongTerm is a RAM AccessKey id: LTAI followed by 20 letters and digits.
	KindLongTerm Kind = iota + 1
	// KindLegacy is an older RAM AccessKey id: LTAI followed by 12 letters and digits.
	KindLegacy
	// KindSTS is a temporary STS AccessKey id (STS. followed by letters and digits). It expires on
	// its own and cannot be rotated through RAM.
	KindSTS
)

func (k Kind) String() string {
	switch k {
	case KindLongTerm:
		return "long-term"
	case KindLegacy:
		return "legacy"
	case KindSTS:
		return "sts"
	}
	return "unknown"
}

// Prefix is how every long-term RAM AccessKey id starts.
const Prefix = "LTAI"

// STSPrefix is how every temporary STS AccessKey id starts.
const STSPrefix = "STS."

// Lengths of the id forms, prefix included.
const (
	LongTermLen = len(Prefix) + 20 // 24
	LegacyLen   = len(Prefix) + 12 // 16
	// STS ids seen in the documentation carry 20 to 40 characters after the prefix.
	stsMinBody = 16
	stsMaxBody = 64
	// SecretLen is the length of an AccessKey secret.
	SecretLen = 30
)

// ErrInvalidID is returned (wrapped) by ParseID for a string that is no AccessKey id.
var ErrInvalidID = errors.New("not an AccessKey id")

// ID is a validated AccessKey id. The zero value is not a valid id.
type ID struct {
	s    string
	kind Kind
}

// ParseID validates s as an AccessKey id: LTAI plus 12 or 20 ASCII letters and digits, or STS.
// plus letters and digits. Surrounding white space is not accepted: callers trim first.
func ParseID(s string) (ID, error) {
	switch {
	case strings.HasPrefix(s, Prefix):
		body := s[len(Prefix):]
		if !allAlnum(body) {
			return ID{}, fmt.Errorf("%w: %q has characters other than letters and digits after LTAI", ErrInvalidID, clip(s))
		}
		switch len(s) {
		case LongTermLen:
			return ID{s: s, kind: KindLongTerm}, nil
		case LegacyLen:
			return ID{s: s, kind: KindLegacy}, nil
		}
		return ID{}, fmt.Errorf("%w: %q has %d characters; an AccessKey id is LTAI plus 12 or 20 letters and digits", ErrInvalidID, clip(s), len(s))
	case strings.HasPrefix(s, STSPrefix):
		body := s[len(STSPrefix):]
		if len(body) < stsMinBody || len(body) > stsMaxBody || !allAlnum(body) {
			return ID{}, fmt.Errorf("%w: %q is not a well-formed STS temporary id", ErrInvalidID, clip(s))
		}
		return ID{s: s, kind: KindSTS}, nil
	}
	return ID{}, fmt.Errorf("%w: %q does not start with LTAI (RAM) or STS. (temporary)", ErrInvalidID, clip(s))
}

// MustParseID is ParseID for constants in tests and examples; it panics on a bad id.
func MustParseID(s string) ID {
	id, err := ParseID(s)
	if err != nil {
		panic(err)
	}
	return id
}

// String returns the id itself. Ids are not secret: they name the key, they do not unlock it.
func (id ID) String() string { return id.s }

// Kind reports the form of the id.
func (id ID) Kind() Kind { return id.kind }

// IsZero reports whether id is the zero value.
func (id ID) IsZero() bool { return id.s == "" }

// IsSTS reports whether id is a temporary STS id.
func (id ID) IsSTS() bool { return id.kind == KindSTS }

// Rotatable reports whether RAM can delete and replace this key (long-term and legacy ids).
func (id ID) Rotatable() bool { return id.kind == KindLongTerm || id.kind == KindLegacy }

// Short returns a shortened form for narrow displays, such as LTAI…7riE. It never panics.
func (id ID) Short() string {
	if len(id.s) <= 8 {
		return id.s
	}
	return id.s[:4] + "…" + id.s[len(id.s)-4:]
}

// MarshalText makes an ID marshal as its string in JSON and YAML.
func (id ID) MarshalText() ([]byte, error) { return []byte(id.s), nil }

// UnmarshalText parses and validates an id.
func (id *ID) UnmarshalText(b []byte) error {
	v, err := ParseID(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}

// IsAlnum reports whether b is an ASCII letter or digit, the alphabet of ids and secrets.
func IsAlnum(b byte) bool {
	return b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}

func allAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		if !IsAlnum(s[i]) {
			return false
		}
	}
	return true
}

// clip keeps error messages short when the input is long or hostile.
func clip(s string) string {
	const max = 48
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}

// Shorts abbreviates ids like Short, but keeps as many trailing characters as it takes to tell
// apart every distinct id given (LTAI…a0001 and LTAI…b0001 where Short would show LTAI…0001
// twice). An id it was not given gets Short.
func Shorts(ids []ID) func(ID) string {
	n := 4
	for tailsClash(ids, n) {
		n++ // ends at most at the longest id's length: whole ids are distinct
	}
	return func(id ID) string {
		switch {
		case !slices.Contains(ids, id):
			return id.Short()
		case len(id.s) <= n+5:
			return id.s
		}
		return id.s[:4] + "…" + id.s[len(id.s)-n:]
	}
}

// tailsClash reports whether two distinct ids end in the same n characters.
func tailsClash(ids []ID, n int) bool {
	seen := map[string]ID{}
	for _, id := range ids {
		k := id.s[max(len(id.s)-n, 0):]
		if o, ok := seen[k]; ok && o != id {
			return true
		}
		seen[k] = id
	}
	return false
}

// NotAnID describes s, which ParseID refused, by its shape alone, for an error a person reads:
// it never repeats the value, since a secret pasted by mistake (or an id and its secret run
// together) must not be echoed to a terminal, its scrollback or a CI log.
func NotAnID(s string) string {
	alnum := allAlnum(s)
	const expected = "an AccessKey id is LTAI followed by 12 or 20 letters and digits (STS.… for a temporary one)"
	switch {
	case alnum && len(s) == SecretLen:
		return fmt.Sprintf("%d letters and digits: that looks like an AccessKey secret, not an id (the value is not repeated); "+
			"pass the id, LTAI…, and treat the secret as exposed if it was typed where others can read it", SecretLen)
	case strings.HasPrefix(s, Prefix) && alnum:
		return fmt.Sprintf("LTAI followed by %d letters and digits, not an id (the value is not repeated, in case it holds a secret); %s",
			len(s)-len(Prefix), expected)
	case strings.HasPrefix(s, Prefix) || strings.HasPrefix(s, STSPrefix):
		return fmt.Sprintf("%d characters, some of them neither letters nor digits (the value is not repeated, in case it holds a secret); %s",
			len(s), expected)
	}
	return fmt.Sprintf("%d characters not starting with LTAI or STS. (the value is not repeated, in case it is a secret); %s", len(s), expected)
}
