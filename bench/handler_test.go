package bench

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/linkvault/linkvault/internal/clients"
	"github.com/linkvault/linkvault/internal/envelope"
	lvhttp "github.com/linkvault/linkvault/internal/http"
	"github.com/linkvault/linkvault/internal/vault"
)

// BenchmarkTokenGet runs POST /api/v1/managed/token/get through the server's handler
// in process (no sockets), wired as cmd/linkvault wires it, on a seeded SQLite store:
// the part of the resolve cost that is linkvault's own. Profile it with
//
//	go test ./bench -run '^$' -bench TokenGet -cpuprofile cpu.out && go tool pprof -top cpu.out
func BenchmarkTokenGet(b *testing.B) {
	for _, bc := range []struct {
		name      string
		cacheSize int
	}{{"cached", 20000}, {"sqlite", 0}} {
		// Set up once per configuration: b.Run calls its function once per b.N tried.
		do := func() func(int) {
			ctx := context.Background()
			dir := b.TempDir()
			key := filepath.Join(dir, "master.key")
			if err := WriteMasterKeyFile(key); err != nil {
				b.Fatal(err)
			}
			db := NewSQLiteDB(dir, key)
			const rows = 10000
			seeded, err := Seed(ctx, db, SeedSpec{Rows: rows})
			if err != nil {
				b.Fatal(err)
			}
			st, err := db.OpenStore(ctx)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { st.Close() })
			master, err := envelope.ReadMasterKeyFile(key)
			if err != nil {
				b.Fatal(err)
			}
			keyring := envelope.New(st, master, time.Now)
			v := vault.New(vault.Config{Store: st, Sealer: keyring, CacheSize: bc.cacheSize, CacheTTL: time.Hour})
			srv := lvhttp.NewServer(lvhttp.Config{}, lvhttp.Deps{Vault: v, Auth: clients.New(st, time.Now, 5*time.Second)})
			h := srv.Handler()
			bodies := make([][]byte, rows)
			for i, id := range seeded.TokenIDs {
				bodies[i] = []byte(`{"authToken":"` + id + `","type":"coinbase"}`)
			}
			do := func(i int) {
				req := httptest.NewRequest(http.MethodPost, ResolvePath, bytes.NewReader(bodies[i%rows]))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Client-Id", seeded.ClientID)
				req.Header.Set("X-Client-Secret", seeded.ReadSecret)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
			for i := range rows { // fill the cache (and the page cache)
				do(i)
			}
			return do
		}()
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					do(i)
					i += 7
				}
			})
		})
	}
}
