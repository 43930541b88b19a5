package accesskey

import (
	"crypto/subtle"
	"fmt"
	"log/slog"
)

// Redacted is what a Secret prints as, everywhere.
const Redacted = "[REDACTED]"

// Secret is an AccessKey secret (or any other credential). It redacts itself when printed with
// any fmt verb, logged with slog, or marshalled to JSON, YAML or text. The only way to the plain
// value is Reveal, which only sinks (and the explicit --reveal path) may call.
//
// The value is kept behind a pointer so that copying a Secret does not copy the bytes around
// needlessly, and so that reflection-based printers (%#v of a containing struct) see only an
// unexported pointer.
type Secret struct {
	p *string
}

// NewSecret wraps a plain value.
func NewSecret(plain string) Secret {
	if plain == "" {
		return Secret{}
	}
	return Secret{p: &plain}
}

// Reveal returns the plain value. Call it only where the value leaves respond on purpose: a sink.
func (s Secret) Reveal() string {
	if s.p == nil {
		return ""
	}
	return *s.p
}

// IsZero reports whether the secret is empty (not known).
func (s Secret) IsZero() bool { return s.p == nil || *s.p == "" }

// Equal compares two secrets in constant time.
func (s Secret) Equal(o Secret) bool {
	return subtle.ConstantTimeCompare([]byte(s.Reveal()), []byte(o.Reveal())) == 1
}

// LooksLikeAccessKeySecret reports whether the value has the shape of an AccessKey secret
// (30 ASCII letters and digits).
func (s Secret) LooksLikeAccessKeySecret() bool { return SecretShaped(s.Reveal()) }

// SecretShaped reports whether s has the shape of an AccessKey secret (SecretLen ASCII letters and
// digits).
func SecretShaped(s string) bool { return len(s) == SecretLen && allAlnum(s) }

// String implements fmt.Stringer.
func (s Secret) String() string { return s.redacted() }

// GoString implements fmt.GoStringer (%#v).
func (s Secret) GoString() string { return `accesskey.Secret("` + Redacted + `")` }

// Format implements fmt.Formatter so that every verb (%s %v %q %x %d …) prints the redaction.
func (s Secret) Format(f fmt.State, verb rune) {
	switch verb {
	case 'v':
		if f.Flag('#') {
			_, _ = f.Write([]byte(s.GoString()))
			return
		}
		_, _ = f.Write([]byte(s.redacted()))
	case 'q':
		_, _ = f.Write([]byte(`"` + s.redacted() + `"`))
	default:
		_, _ = f.Write([]byte(s.redacted()))
	}
}

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.redacted()) }

// MarshalJSON implements json.Marshaler.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + s.redacted() + `"`), nil }

// MarshalText implements encoding.TextMarshaler (also used by YAML and XML encoders).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.redacted()), nil }

// MarshalYAML implements yaml.Marshaler without importing yaml.
func (s Secret) MarshalYAML() (any, error) { return s.redacted(), nil }

func (s Secret) redacted() string {
	if s.IsZero() {
		return ""
	}
	return Redacted
}
