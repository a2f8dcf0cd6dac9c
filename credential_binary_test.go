package linkvault

import (
	"bytes"
	"testing"
	"time"
)

func sameCredential(a, b Credential) bool {
	return a.AccessToken.Reveal() == b.AccessToken.Reveal() && a.RefreshToken.Reveal() == b.RefreshToken.Reveal() &&
		a.TokenType == b.TokenType && a.Expiry.Equal(b.Expiry) && a.RefreshExpiry.Equal(b.RefreshExpiry) &&
		a.Subject == b.Subject && a.APISecret.Reveal() == b.APISecret.Reveal()
}

func TestCredentialLayouts(t *testing.T) {
	exp := time.Date(2026, 11, 30, 19, 0, 0, 123456789, time.FixedZone("x", 3600))
	tests := []struct {
		name string
		c    Credential
		// notUTF8: the JSON layout of format 1 replaces such bytes with U+FFFD, which
		// is why nothing is sealed in it any more (revocation entries were until the
		// fuzz pass found it).
		notUTF8 bool
	}{
		{"empty", Credential{}, false},
		{"oauth", Credential{AccessToken: NewSecret("at-é\x00"), RefreshToken: NewSecret("rt"), TokenType: "Bearer",
			Expiry: exp, RefreshExpiry: exp.Add(90 * 24 * time.Hour), Subject: "user-1"}, false},
		{"api key", Credential{AccessToken: NewSecret("key"), APISecret: NewSecret("secret"), Expiry: time.Unix(0, 0)}, false},
		{"before 1970", Credential{Expiry: time.Date(1960, 1, 1, 0, 0, 0, 1, time.UTC)}, false},
		{"long token", Credential{AccessToken: NewSecret(string(bytes.Repeat([]byte("a"), 70000)))}, false},
		{"bytes that are not UTF-8", Credential{RefreshToken: NewSecret("0\xb0"), APISecret: NewSecret("\xff\xfe")}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bin := AppendCredential(nil, tt.c)
			if len(bin) > CredentialSize(tt.c) {
				t.Fatalf("layout is %d bytes, CredentialSize promised at most %d", len(bin), CredentialSize(tt.c))
			}
			got, err := DecodeCredential(bin)
			if err != nil || !sameCredential(got, tt.c) {
				t.Fatalf("compact round trip: %+v, %v", got, err)
			}
			// The JSON layout that format 1 sealed still decodes.
			got, err = DecodeCredential(EncodeCredential(tt.c))
			if err != nil || !sameCredential(got, tt.c) && !tt.notUTF8 {
				t.Fatalf("JSON round trip: %+v, %v", got, err)
			}
			// Every truncation and every trailing byte is refused, never misread.
			for n := range len(bin) {
				if _, err := DecodeCredential(bin[:n]); err == nil && n > 0 {
					t.Fatalf("truncated to %d of %d bytes decoded", n, len(bin))
				}
			}
			if _, err := DecodeCredential(append(bin, 0)); err == nil {
				t.Fatal("trailing byte accepted")
			}
		})
	}
}

// FuzzDecodeCompactCredential: the compact layout never panics, and what it accepts
// survives a round trip.
func FuzzDecodeCompactCredential(f *testing.F) {
	f.Add(AppendCredential(nil, Credential{AccessToken: NewSecret("a"), Expiry: time.Unix(5, 6)}))
	f.Add(EncodeCredential(Credential{RefreshToken: NewSecret("r")}))
	f.Add([]byte{credentialBinaryV2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeCredential(b)
		if err != nil || len(b) == 0 || b[0] != credentialBinaryV2 {
			return
		}
		again, err := DecodeCredential(AppendCredential(nil, c))
		if err != nil || !sameCredential(again, c) {
			t.Fatalf("round trip of %x changed the credential: %v", b, err)
		}
	})
}
