package clients

import (
	"encoding/hex"
	"strings"
	"testing"
)

// FuzzParseKeyID checks the API secret parser: never panics, and whatever it accepts
// is a 16-character hex key id taken from a well-formed secret.
func FuzzParseKeyID(f *testing.F) {
	for _, seed := range []string{"lvsk_0123456789abcdef_rest", "lvsk_", "lvsk_0123456789abcdeX_r", "", "lvsk_0123456789abcdef", "x" + strings.Repeat("y", 300)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, secret string) {
		id, ok := parseKeyID(secret)
		if !ok {
			return
		}
		if len(id) != 16 || !strings.HasPrefix(secret, secretPrefix+id+"_") {
			t.Fatalf("accepted %q with id %q", secret, id)
		}
		if _, err := hex.DecodeString(id); err != nil {
			t.Fatalf("accepted non-hex id %q", id)
		}
	})
}
