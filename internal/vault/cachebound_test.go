package vault_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/testdb"
	"github.com/linkvault/linkvault/internal/vault"
)

type readCounter struct {
	vault.Store
	reads atomic.Int64
}

func (s *readCounter) GetConnection(ctx context.Context, clientID, tokenID string) (*linkvault.Connection, error) {
	s.reads.Add(1)
	return s.Store.GetConnection(ctx, clientID, tokenID)
}

// TestResolveCacheIsBoundedBySize: the resolve cache (opened credentials in memory)
// never holds more than CacheSize connections: with a size of 2, resolving a third
// evicts the least recently used, which is read (and decrypted) from the store again.
func TestResolveCacheIsBoundedBySize(t *testing.T) {
	ctx := context.Background()
	db := testdb.SQLite(t)
	store := &readCounter{Store: db}
	v := vault.New(vault.Config{Store: store, Sealer: newSealer(t, db, time.Now, "app"), CacheSize: 2, CacheTTL: time.Hour})
	var toks []string
	for _, u := range []string{"u1", "u2", "u3"} {
		c, err := v.Connect(ctx, vault.ConnectParams{ConnectionIdentity: ident("app", u, linkvault.BrokerCoinbase, linkvault.PermissionRead),
			Credential: cred("at-"+u, time.Now().Add(time.Hour))})
		if err != nil {
			t.Fatal(err)
		}
		toks = append(toks, c.TokenID)
	}
	resolve := func(tok string) int64 {
		t.Helper()
		before := store.reads.Load()
		if _, err := v.Resolve(ctx, "app", tok); err != nil {
			t.Fatal(err)
		}
		return store.reads.Load() - before
	}
	for _, tok := range toks {
		resolve(tok) // u3 evicts u1
	}
	if n := resolve(toks[2]) + resolve(toks[1]); n != 0 {
		t.Fatalf("the two most recent connections took %d store reads, want 0 (cached)", n)
	}
	if n := resolve(toks[0]); n != 1 {
		t.Fatalf("the evicted connection took %d store reads, want 1: the cache holds more than its size", n)
	}
}
