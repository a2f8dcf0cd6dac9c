package bench

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/linkvault/linkvault/internal/app"
	"github.com/linkvault/linkvault/internal/config"
)

// BenchmarkTokenGet runs POST /api/v1/managed/token/get through the server's handler
// in process (no sockets), assembled by internal/app as `linkvault serve` is, on a
// seeded SQLite store: the part of the resolve cost that is linkvault's own. Profile
// it with
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
			cfg := config.Default()
			cfg.ListenAddr, cfg.AdminAddr = "127.0.0.1:0", config.AdminOff
			cfg.Database.SQLitePath = db.SQLitePath
			cfg.MasterKeyFile = key
			cfg.ResolveCache.Size, cfg.ResolveCache.TTL = bc.cacheSize, time.Hour
			a, err := app.New(ctx, &cfg, app.Options{})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = a.Close() })
			h := a.HTTP.Handler()
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
