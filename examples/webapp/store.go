package webapp

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// storedConnection is what the app keeps per user and broker type: the tokenId and a
// label. It never holds exchange credentials: those stay in linkvault.
type storedConnection struct {
	TokenID     string    `json:"tokenId"`
	BrokerName  string    `json:"brokerName"`
	AccountName string    `json:"accountName"`
	ConnectedAt time.Time `json:"connectedAt"`
}

// tokenStore keeps tokenIds per user and broker type, in memory and optionally in a
// JSON file (written atomically, readable by the owner only).
type tokenStore struct {
	mu    sync.Mutex
	path  string
	users map[string]map[string]storedConnection
}

func openTokenStore(path string) (*tokenStore, error) {
	s := &tokenStore{path: path, users: map[string]map[string]storedConnection{}}
	if path == "" {
		return s, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("webapp: read %s: %w", path, err)
	}
	if err := json.Unmarshal(b, &s.users); err != nil {
		return nil, fmt.Errorf("webapp: %s is not a token store: %w", path, err)
	}
	return s, nil
}

func (s *tokenStore) list(user string) map[string]storedConnection {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]storedConnection, len(s.users[user]))
	for k, v := range s.users[user] {
		out[k] = v
	}
	return out
}

func (s *tokenStore) get(user, brokerType string) (storedConnection, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.users[user][brokerType]
	return c, ok
}

func (s *tokenStore) put(user, brokerType string, c storedConnection) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.users[user] == nil {
		s.users[user] = map[string]storedConnection{}
	}
	s.users[user][brokerType] = c
	return s.saveLocked()
}

func (s *tokenStore) remove(user, brokerType string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.users[user], brokerType)
	return s.saveLocked()
}

func (s *tokenStore) saveLocked() error {
	if s.path == "" {
		return nil
	}
	b, err := json.MarshalIndent(s.users, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.path), ".webapp-tokens-*")
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(tmp.Name()) }() // gone after the rename; removes it on failure
	if _, err := tmp.Write(b); err != nil {
		_ = tmp.Close() // the write error is returned
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), s.path)
}

func sortViews(v []connectionView) {
	sort.Slice(v, func(i, j int) bool { return v[i].BrokerType < v[j].BrokerType })
}
