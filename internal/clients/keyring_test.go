package clients_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/clients"
	"github.com/linkvault/linkvault/internal/envelope"
	"github.com/linkvault/linkvault/internal/envelope/envelopetest"
	"github.com/linkvault/linkvault/internal/testdb"
)

// testKeyring is a real envelope keyring over st with a fresh random master key: API
// key verifiers are keyed with what it derives.
func testKeyring(t testing.TB, st envelope.DataKeyStore) *envelope.Keyring {
	t.Helper()
	return envelopetest.Keyring(t, st, time.Now)
}

// newService returns a client service over a new SQLite database with a testKeyring,
// keeping verified keys for cacheTTL, and the database, to read back what it stored.
func newService(t testing.TB, cacheTTL time.Duration) (*clients.Service, linkvault.Store) {
	t.Helper()
	db := testdb.SQLite(t)
	return clients.New(db, testKeyring(t, db), time.Now, cacheTTL), db
}

// memDataKeys is an empty, in-memory data key store for a keyring that shares nothing
// with the database under test.
type memDataKeys struct{ keys map[string]*linkvault.DataKey }

func newMemDataKeys() *memDataKeys { return &memDataKeys{keys: map[string]*linkvault.DataKey{}} }

func (m *memDataKeys) id(c string, v int) string { return fmt.Sprintf("%s/%d", c, v) }

func (m *memDataKeys) CreateDataKey(_ context.Context, k *linkvault.DataKey) error {
	if _, ok := m.keys[m.id(k.ClientID, k.Version)]; ok {
		return linkvault.ErrConflict("exists")
	}
	m.keys[m.id(k.ClientID, k.Version)] = k
	return nil
}

func (m *memDataKeys) GetDataKey(_ context.Context, c string, v int) (*linkvault.DataKey, error) {
	if k, ok := m.keys[m.id(c, v)]; ok {
		return k, nil
	}
	return nil, linkvault.ErrNotFound("Data key")
}

func (m *memDataKeys) LatestDataKey(ctx context.Context, c string) (*linkvault.DataKey, error) {
	return m.GetDataKey(ctx, c, 1)
}

func (m *memDataKeys) ListDataKeys(context.Context) ([]*linkvault.DataKey, error) { return nil, nil }

func (m *memDataKeys) RewrapDataKey(context.Context, string, int, []byte, int, int) error { return nil }
