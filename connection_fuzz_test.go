package linkvault

import (
	"testing"
	"time"
)

// FuzzDecodeCredential feeds arbitrary plaintext (as if a sealed blob decrypted to
// garbage) to the credential decoder: it must never panic, and what it accepts must
// survive a round trip.
func FuzzDecodeCredential(f *testing.F) {
	f.Add(EncodeCredential(Credential{AccessToken: NewSecret("a"), RefreshToken: NewSecret("r"), Expiry: time.Unix(1700000000, 0).UTC()}))
	f.Add([]byte(`{"v":1}`))
	f.Add([]byte(`{"v":2,"at":"x"}`))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeCredential(b)
		if err != nil {
			if ErrorStatus(err) != StatusServerFailure {
				t.Fatalf("decode error %v is not a serverFailure", err)
			}
			return
		}
		again, err := DecodeCredential(EncodeCredential(c))
		if err != nil || !again.AccessToken.Equal(c.AccessToken) || !again.RefreshToken.Equal(c.RefreshToken) || !again.Expiry.Equal(c.Expiry) {
			t.Fatalf("round trip changed the credential: %v", err)
		}
	})
}
