package linkvault

import (
	"testing"
	"time"
)

// FuzzDecodeCredential feeds arbitrary plaintext (as if a sealed blob decrypted to
// garbage) to the credential decoder: it must never panic, and what it accepts must
// survive a round trip through the layout everything is sealed in (AppendCredential),
// every field and every byte of it.
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
		again, err := DecodeCredential(AppendCredential(nil, c))
		if err != nil || !sameCredential(again, c) {
			t.Fatalf("round trip changed the credential: %v", err)
		}
	})
}
