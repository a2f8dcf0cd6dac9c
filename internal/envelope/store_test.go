package envelope_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/envelope"
)

// memStore is an in-memory DataKeyStore honouring the conflict rules of
// linkvault.DataKeyStore: CreateDataKey conflicts on an existing (client, version),
// RewrapDataKey is a compare-and-swap on the master version.
type memStore struct {
	mu   sync.Mutex
	keys map[string]linkvault.DataKey // by storeKey

	creates      atomic.Int64 // successful CreateDataKey calls
	calls        atomic.Int64 // every call
	broken       atomic.Bool  // when set, every call fails
	beforeRewrap func(clientID string, version int)
}

var errBroken = errors.New("memstore: database unavailable")

func newMemStore() *memStore { return &memStore{keys: make(map[string]linkvault.DataKey)} }

func storeKey(clientID string, version int) string { return fmt.Sprintf("%s/%d", clientID, version) }

func cloneKey(k linkvault.DataKey) *linkvault.DataKey {
	k.Wrapped = bytes.Clone(k.Wrapped)
	return &k
}

func (s *memStore) enter() error {
	s.calls.Add(1)
	if s.broken.Load() {
		return errBroken
	}
	return nil
}

func (s *memStore) CreateDataKey(_ context.Context, k *linkvault.DataKey) error {
	if err := s.enter(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := storeKey(k.ClientID, k.Version)
	if _, ok := s.keys[id]; ok {
		return linkvault.ErrConflict("Data key exists.")
	}
	s.keys[id] = *cloneKey(*k)
	s.creates.Add(1)
	return nil
}

func (s *memStore) GetDataKey(_ context.Context, clientID string, version int) (*linkvault.DataKey, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.keys[storeKey(clientID, version)]
	if !ok {
		return nil, linkvault.ErrNotFound("Data key")
	}
	return cloneKey(k), nil
}

func (s *memStore) LatestDataKey(_ context.Context, clientID string) (*linkvault.DataKey, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var latest *linkvault.DataKey
	for _, k := range s.keys {
		if k.ClientID == clientID && (latest == nil || k.Version > latest.Version) {
			latest = cloneKey(k)
		}
	}
	if latest == nil {
		return nil, linkvault.ErrNotFound("Data key")
	}
	return latest, nil
}

func (s *memStore) ListDataKeys(context.Context) ([]*linkvault.DataKey, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*linkvault.DataKey, 0, len(s.keys))
	for _, k := range s.keys {
		out = append(out, cloneKey(k))
	}
	return out, nil
}

func (s *memStore) RewrapDataKey(_ context.Context, clientID string, version int, wrapped []byte, from, to int) error {
	if err := s.enter(); err != nil {
		return err
	}
	if s.beforeRewrap != nil {
		s.beforeRewrap(clientID, version)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := storeKey(clientID, version)
	k, ok := s.keys[id]
	if !ok {
		return linkvault.ErrNotFound("Data key")
	}
	if k.MasterVersion != from {
		return linkvault.ErrConflict("Data key was re-wrapped concurrently.")
	}
	k.Wrapped, k.MasterVersion = bytes.Clone(wrapped), to
	s.keys[id] = k
	return nil
}

func (s *memStore) masterVersions() map[int]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	counts := make(map[int]int)
	for _, k := range s.keys {
		counts[k.MasterVersion]++
	}
	return counts
}

func (s *memStore) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.keys)
}

// testKey is a deterministic, non-zero master key for version v.
func testKey(v int) []byte { return bytes.Repeat([]byte{byte(v), 0xA5}, envelope.MasterKeySize/2) }

// keyringText renders master key lines for the given versions.
func keyringText(versions ...int) string {
	var b strings.Builder
	for _, v := range versions {
		fmt.Fprintf(&b, "v%d:%s\n", v, base64.StdEncoding.EncodeToString(testKey(v)))
	}
	return b.String()
}

func testMaster(t testing.TB, versions ...int) *envelope.MasterKeyring {
	t.Helper()
	m, err := envelope.LoadMasterKeyring([]byte(keyringText(versions...)))
	if err != nil {
		t.Fatalf("LoadMasterKeyring: %v", err)
	}
	return m
}

// fakeClock is a settable clock.
type fakeClock struct{ t atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.t.Store(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.t.Load()).UTC() }
func (c *fakeClock) Advance(d time.Duration) { c.t.Add(int64(d)) }
