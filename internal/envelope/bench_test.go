package envelope_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/linkvault/linkvault"
)

// A credential of about 200 bytes, the size the hot path decrypts.
var benchPlaintext = bytes.Repeat([]byte("c"), 200)

func BenchmarkSeal(b *testing.B) {
	k := newTestKeyring(b, newMemStore(), 1)
	ctx := context.Background()
	tokenID := linkvault.NewTokenID()
	mustSeal(b, k, "client", tokenID, benchPlaintext)
	b.ReportAllocs()
	b.SetBytes(int64(len(benchPlaintext)))
	for b.Loop() {
		if _, _, err := k.Seal(ctx, "client", tokenID, benchPlaintext); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	k := newTestKeyring(b, newMemStore(), 1)
	ctx := context.Background()
	tokenID := linkvault.NewTokenID()
	ct, v := mustSeal(b, k, "client", tokenID, benchPlaintext)
	b.ReportAllocs()
	b.SetBytes(int64(len(benchPlaintext)))
	for b.Loop() {
		if _, err := k.Open(ctx, "client", tokenID, v, ct); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpenParallel(b *testing.B) {
	k := newTestKeyring(b, newMemStore(), 1)
	ctx := context.Background()
	tokenID := linkvault.NewTokenID()
	ct, v := mustSeal(b, k, "client", tokenID, benchPlaintext)
	b.ReportAllocs()
	b.SetBytes(int64(len(benchPlaintext)))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := k.Open(ctx, "client", tokenID, v, ct); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
