package linkvault

import (
	"crypto/subtle"
	"fmt"
	"log/slog"
)

// Secret holds sensitive text (an access token, a password, an API secret). It cannot be
// compared with == (the zero-length func array makes the type incomparable), and it never
// prints, logs or marshals itself: every formatting path yields "[redacted]". Read the value
// only with Reveal, at the point where it leaves the process toward its rightful recipient.
type Secret struct {
	_ [0]func()
	v string
}

// NewSecret wraps s.
func NewSecret(s string) Secret { return Secret{v: s} }

// Reveal returns the plaintext. Call it only to hand the value to its rightful recipient.
func (s Secret) Reveal() string { return s.v }

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.v == "" }

// Equal compares two secrets in constant time (for equal lengths).
func (s Secret) Equal(o Secret) bool {
	return subtle.ConstantTimeCompare([]byte(s.v), []byte(o.v)) == 1
}

const redacted = "[redacted]"

// String implements fmt.Stringer and never reveals the value.
func (s Secret) String() string { return redacted }

// GoString implements fmt.GoStringer (%#v) and never reveals the value.
func (s Secret) GoString() string { return "linkvault.Secret(" + redacted + ")" }

// Format implements fmt.Formatter so that every verb (%v, %+v, %d, %x, ...) prints the
// redaction marker.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON never reveals the value; credentials are serialised for sealing through
// EncodeCredential only.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText never reveals the value.
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }
