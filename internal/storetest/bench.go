package storetest

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
)

// BenchmarkGetConnection measures parallel tokenId lookups on a store holding 1,000
// connections with realistic sealed-credential sizes: the per-request read of the
// "resolve on every request" configuration. Each store package runs it on itself.
func BenchmarkGetConnection(b *testing.B, st linkvault.ConnectionStore) {
	ctx := context.Background()
	const n = 1000
	ids := make([]string, n)
	for i := range n {
		c := &linkvault.Connection{
			TokenID:            linkvault.NewTokenID(),
			ConnectionIdentity: linkvault.ConnectionIdentity{ClientID: "client", UserID: linkvault.NewRandomID(8), BrokerType: linkvault.BrokerCoinbase, Scope: linkvault.PermissionRead},
			Status:             linkvault.StatusActive,
			Accounts:           []linkvault.Account{{AccountID: "a", AccountName: "Main", Fund: 1, Cash: 2}},
			SealedCredential:   bytes.Repeat([]byte{0xAB}, 300),
			AccessExpiresAt:    time.Now().Add(time.Hour),
			NextCheckAt:        time.Now().Add(50 * time.Minute),
		}
		if err := st.CreateConnection(ctx, c); err != nil {
			b.Fatal(err)
		}
		ids[i] = c.TokenID
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := st.GetConnection(ctx, "client", ids[i%n]); err != nil {
				b.Fatal(err)
			}
			i += 7
		}
	})
}
