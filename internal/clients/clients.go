// Package clients manages the applications that use linkvault and their API keys, and
// authenticates API requests by X-Client-Id / X-Client-Secret. Secrets are shown once at
// creation and stored only as keyed verifiers (HMAC-SHA256 under a key derived from the
// master key, binding the key id, client and permission; see verifier), compared in
// constant time. Secrets carry 256 bits of entropy, so a slow hash would add nothing.
package clients

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"strings"
	"time"

	"github.com/linkvault/linkvault"
)

// Store is what the service needs from the database.
type Store interface {
	CreateClient(ctx context.Context, c *linkvault.Client) error
	GetClient(ctx context.Context, id string) (*linkvault.Client, error)
	ListClients(ctx context.Context) ([]*linkvault.Client, error)
	UpdateClient(ctx context.Context, c *linkvault.Client) error
	CreateAPIKey(ctx context.Context, k *linkvault.APIKey) error
	GetAPIKey(ctx context.Context, id string) (*linkvault.APIKey, error)
	ListAPIKeys(ctx context.Context, clientID string) ([]*linkvault.APIKey, error)
	RevokeAPIKey(ctx context.Context, clientID, id string, at time.Time) error
	UpgradeAPIKeyVerifier(ctx context.Context, id string, from []byte, fromVersion int, to []byte, toVersion int) error
}

// secretPrefix starts every API secret, so leaked secrets are easy to scan for.
const secretPrefix = "lvsk_"

// Service manages clients and keys.
type Service struct {
	store Store
	now   func() time.Time
	keys  *keys
	mac   *macKey
	// verified remembers secrets that verified (verified.go).
	verified *verifiedCache
	// unknown is the record an unknown key id is checked against: a dummy verifier,
	// so an unknown id takes the same path as a known id with a wrong secret.
	unknown *linkvault.APIKey
	// verify compares a secret with a key's stored verifier under the verifier key
	// (matches; tests observe it).
	verify func(key []byte, k *linkvault.APIKey, secret linkvault.Secret) bool
}

// New returns a Service. deriver gives the verifier key (the envelope keyring);
// keyRefresh is how often the in-memory set of API keys is
// reloaded from the store, and so bounds how long a key created or revoked by another
// process (CLI, another replica) takes to be seen here; 0 reloads on every
// authentication (for one-shot commands).
func New(store Store, deriver KeyDeriver, now func() time.Time, keyRefresh time.Duration) *Service {
	if now == nil {
		now = time.Now
	}
	s := &Service{store: store, now: now, keys: newKeys(store, now, keyRefresh), mac: &macKey{deriver: deriver}, verified: newVerifiedCache(),
		unknown: &linkvault.APIKey{SecretHash: make([]byte, 32), VerifierVersion: linkvault.APIKeyVerifierKeyed, RevokedAt: time.Unix(0, 0)}}
	s.verify = matches
	return s
}

// CreateClient registers a client. id is generated when empty.
func (s *Service) CreateClient(ctx context.Context, id, name string) (*linkvault.Client, error) {
	if id == "" {
		id = "cl_" + randomHex(8)
	}
	if err := linkvault.ValidateClientID(id); err != nil {
		return nil, err
	}
	if strings.TrimSpace(name) == "" {
		name = id
	}
	if len(name) > 200 {
		return nil, linkvault.ErrInvalid("client name must be at most 200 characters.")
	}
	c := &linkvault.Client{ID: id, Name: name, CreatedAt: s.now()}
	if err := s.store.CreateClient(ctx, c); err != nil {
		return nil, err
	}
	return c, nil
}

// NewKey is a created key with its secret, which is shown once and never stored.
type NewKey struct {
	Key    *linkvault.APIKey
	Secret linkvault.Secret
}

// CreateKey creates an API key for the client with the given permission.
func (s *Service) CreateKey(ctx context.Context, clientID string, perm linkvault.Permission) (*NewKey, error) {
	if !perm.Valid() {
		return nil, linkvault.ErrInvalid("permission must be read or write.")
	}
	if _, err := s.store.GetClient(ctx, clientID); err != nil {
		return nil, err
	}
	mac, err := s.mac.get(ctx)
	if err != nil {
		return nil, err
	}
	id := randomHex(8)
	secret := secretPrefix + id + "_" + linkvault.NewRandomID(32)
	h := sha256Sum(secret)
	k := &linkvault.APIKey{ID: id, ClientID: clientID, Permission: perm, CreatedAt: s.now(),
		SecretHash: verifier(mac, id, clientID, perm, h[:]), VerifierVersion: linkvault.APIKeyVerifierKeyed}
	if err := s.store.CreateAPIKey(ctx, k); err != nil {
		return nil, err
	}
	s.keys.put(k)
	return &NewKey{Key: k, Secret: linkvault.NewSecret(secret)}, nil
}

// RevokeKey revokes a key at once in this process; elsewhere within the key refresh period.
func (s *Service) RevokeKey(ctx context.Context, clientID, keyID string) error {
	at := s.now()
	if err := s.store.RevokeAPIKey(ctx, clientID, keyID, at); err != nil {
		return err
	}
	s.keys.revoked(keyID, at)
	return nil
}

// Principal is an authenticated caller.
type Principal struct {
	ClientID   string
	KeyID      string
	Permission linkvault.Permission
}

// ErrUnauthorized is the single answer to every authentication failure.
func ErrUnauthorized() *linkvault.Error {
	return &linkvault.Error{Status: linkvault.StatusUnauthorized, Type: linkvault.ErrTypeUnauthorized,
		Message: "Invalid X-Client-Id or X-Client-Secret."}
}

// Authenticate checks a client id and secret. Every failure returns ErrUnauthorized.
//
// Every attempt takes the same path whatever it presents: the key id is looked up in
// the in-memory key set (never the database, see keys), an unknown or malformed id
// yields the dummy record, and the secret is compared with that record's verifier, the
// client id with its client, in constant time. Only then is the outcome decided. A
// (client id, secret) that verified before and whose key is unchanged and active in
// the key set is answered from the verified cache (verified.go) without recomputing
// its verifier; only a correct secret can get there.
func (s *Service) Authenticate(ctx context.Context, clientID string, secret linkvault.Secret) (*Principal, error) {
	ks, err := s.keys.current(ctx)
	if err != nil {
		return nil, err
	}
	if clientID != "" {
		if p := s.verified.lookup(ks, clientID, secret); p != nil {
			return p, nil
		}
	}
	mac, err := s.mac.get(ctx)
	if err != nil {
		return nil, err
	}
	keyID, wellFormed := parseKeyID(secret.Reveal())
	k, ok := ks.byID[keyID]
	if !ok {
		k = s.unknown
	}
	match := s.verify(mac, k, secret)
	sameClient := subtle.ConstantTimeCompare([]byte(k.ClientID), []byte(clientID)) == 1
	if !match || !sameClient || !k.Active() || !wellFormed || k == s.unknown || clientID == "" {
		return nil, ErrUnauthorized()
	}
	s.verified.add(clientID, secret, k)
	return &Principal{ClientID: k.ClientID, KeyID: k.ID, Permission: k.Permission}, nil
}

// parseKeyID extracts the key id from "lvsk_<16 hex>_<random>".
func parseKeyID(secret string) (string, bool) {
	rest, ok := strings.CutPrefix(secret, secretPrefix)
	if !ok || len(rest) < 18 || rest[16] != '_' || len(secret) > 200 {
		return "", false
	}
	id := rest[:16]
	if _, err := hex.DecodeString(id); err != nil {
		return "", false
	}
	return id, true
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("clients: crypto/rand: " + err.Error())
	}
	return hex.EncodeToString(b)
}
