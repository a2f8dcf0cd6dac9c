package envelope_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/envelope"
)

// A credential of about 200 bytes, the size the hot path decrypts.
var benchPlaintext = bytes.Repeat([]byte("c"), 200)

// benchSealed is the set-up of the Seal and Open benchmarks: a keyring with one key
// version and benchPlaintext sealed once for a new tokenId (the data key exists and
// the ciphertext is at hand); allocations and bytes are reported.
func benchSealed(b *testing.B) (k *envelope.Keyring, tokenID string, ct []byte, version int) {
	k = newTestKeyring(b, newMemStore(), 1)
	tokenID = linkvault.NewTokenID()
	ct, version = mustSeal(b, k, "client", tokenID, benchPlaintext)
	b.ReportAllocs()
	b.SetBytes(int64(len(benchPlaintext)))
	return k, tokenID, ct, version
}

func BenchmarkSeal(b *testing.B) {
	k, tokenID, _, _ := benchSealed(b)
	ctx := context.Background()
	for b.Loop() {
		if _, _, err := k.Seal(ctx, "client", tokenID, benchPlaintext); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	k, tokenID, ct, v := benchSealed(b)
	ctx := context.Background()
	for b.Loop() {
		if _, err := k.Open(ctx, "client", tokenID, v, ct); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpenParallel(b *testing.B) {
	k, tokenID, ct, v := benchSealed(b)
	ctx := context.Background()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := k.Open(ctx, "client", tokenID, v, ct); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// benchCredential is a Coinbase-like OAuth credential (tokens of the simulator's length).
var benchCredential = linkvault.Credential{
	AccessToken: linkvault.NewSecret(linkvault.NewRandomID(48)), RefreshToken: linkvault.NewSecret(linkvault.NewRandomID(48)),
	TokenType: "Bearer", Expiry: time.Now().Add(time.Hour).UTC(), RefreshExpiry: time.Now().Add(90 * 24 * time.Hour).UTC(),
	Subject: "8f1e3a52-7c1d-4a3b-9f27-0c6c1a5e2b44",
}

// BenchmarkCredential compares, in one run, the credential layouts end to end as the
// vault uses them: format 1 (JSON inside, bound to client/tokenId/key version: what
// main sealed before) and format 2 (compact layout, bound to the whole row).
func BenchmarkCredential(b *testing.B) {
	ctx := context.Background()
	k := newTestKeyring(b, newMemStore(), 1)
	row := testRow()
	row.TokenID = linkvault.NewTokenID()
	b.Run("seal/format1-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := k.Seal(ctx, row.ClientID, row.TokenID, linkvault.EncodeCredential(benchCredential)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("seal/format2-compact", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := k.SealCredential(ctx, row, benchCredential); err != nil {
				b.Fatal(err)
			}
		}
	})
	v1, ver, err := k.Seal(ctx, row.ClientID, row.TokenID, linkvault.EncodeCredential(benchCredential))
	if err != nil {
		b.Fatal(err)
	}
	v2, _, err := k.SealCredential(ctx, row, benchCredential)
	if err != nil {
		b.Fatal(err)
	}
	for name, ct := range map[string][]byte{"open/format1-json": v1, "open/format2-compact": v2} {
		c := *row
		c.SealedCredential, c.KeyVersion = ct, ver
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := k.OpenCredential(ctx, &c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
