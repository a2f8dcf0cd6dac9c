package webhook

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/linkvault/linkvault"
)

// DefaultOverlap is how long the previous secret keeps signing after a rotation, so
// receivers can switch to the new one without dropping deliveries.
const DefaultOverlap = 24 * time.Hour

// Secrets keeps clients' signing secrets: generated at random, stored sealed by the
// linkvault.Sealer under the client's data key, opened only to sign.
type Secrets struct {
	store   SecretStore
	sealer  linkvault.Sealer
	now     func() time.Time
	overlap time.Duration
}

// NewSecrets returns a Secrets. overlap 0 means DefaultOverlap; now nil means time.Now.
func NewSecrets(store SecretStore, sealer linkvault.Sealer, now func() time.Time, overlap time.Duration) *Secrets {
	if now == nil {
		now = time.Now
	}
	if overlap <= 0 {
		overlap = DefaultOverlap
	}
	return &Secrets{store: store, sealer: sealer, now: now, overlap: overlap}
}

// Rotation is the result of Rotate.
type Rotation struct {
	Secret  linkvault.Secret // the new secret: show it once, it is not retrievable later
	Version int
	// PreviousUntil is when the earlier secrets stop signing (zero for the first one).
	PreviousUntil time.Time
}

// Rotate creates the client's next secret. It signs from now on; earlier secrets keep
// signing until the overlap period ends.
func (s *Secrets) Rotate(ctx context.Context, clientID string) (Rotation, error) {
	if err := linkvault.ValidateClientID(clientID); err != nil {
		return Rotation{}, err
	}
	const attempts = 5
	for range attempts {
		existing, err := s.store.ListWebhookSecrets(ctx, clientID)
		if err != nil {
			return Rotation{}, err
		}
		version := 1
		if len(existing) > 0 {
			version = existing[0].Version + 1
		}
		secret := NewSecret()
		sealed, keyVersion, err := s.sealer.Seal(ctx, clientID, SecretAAD(version), []byte(secret.Reveal()))
		if err != nil {
			return Rotation{}, fmt.Errorf("webhook: seal secret: %w", err)
		}
		now := s.now()
		retire := now.Add(s.overlap)
		err = s.store.AddWebhookSecret(ctx, linkvault.SealedWebhookSecret{
			ClientID: clientID, Version: version, Sealed: sealed, KeyVersion: keyVersion, CreatedAt: now,
		}, retire)
		if linkvault.IsConflict(err) {
			continue // a concurrent rotation won; go again on top of it
		}
		if err != nil {
			return Rotation{}, err
		}
		r := Rotation{Secret: secret, Version: version}
		if len(existing) > 0 {
			r.PreviousUntil = retire
		}
		return r, nil
	}
	return Rotation{}, linkvault.ErrConflict("The webhook secret is being rotated concurrently; try again.")
}

// Active returns the client's secrets that sign at now, newest first (empty when the
// client has none).
func (s *Secrets) Active(ctx context.Context, clientID string) ([]linkvault.Secret, error) {
	return openActive(ctx, s.store, s.sealer, clientID, s.now())
}

// secretLister reads a client's stored secrets.
type secretLister interface {
	ListWebhookSecrets(ctx context.Context, clientID string) ([]linkvault.SealedWebhookSecret, error)
}

// openActive opens the client's secrets that sign at now, newest first.
func openActive(ctx context.Context, l secretLister, sealer linkvault.Sealer, clientID string, now time.Time) ([]linkvault.Secret, error) {
	all, err := l.ListWebhookSecrets(ctx, clientID)
	if err != nil {
		return nil, err
	}
	var out []linkvault.Secret
	for _, sec := range all {
		if !sec.Active(now) {
			continue
		}
		plain, err := sealer.Open(ctx, clientID, SecretAAD(sec.Version), sec.KeyVersion, sec.Sealed)
		if err != nil {
			return nil, fmt.Errorf("webhook: open secret v%d of a client: %w", sec.Version, err)
		}
		out = append(out, linkvault.NewSecret(string(plain)))
		clear(plain)
	}
	return out, nil
}

// secretCache remembers clients' active secrets for a short time, so a burst of
// deliveries does not read and open them per event. A rotation made by another process
// (the CLI) is picked up within the TTL; the previous secret keeps signing meanwhile.
type secretCache struct {
	load func(ctx context.Context, clientID string, now time.Time) ([]linkvault.Secret, error)
	ttl  time.Duration
	now  func() time.Time

	mu      sync.Mutex
	entries map[string]secretEntry
}

type secretEntry struct {
	secrets []linkvault.Secret
	expires time.Time
}

func newSecretCache(l secretLister, sealer linkvault.Sealer, ttl time.Duration, now func() time.Time) *secretCache {
	load := func(ctx context.Context, clientID string, now time.Time) ([]linkvault.Secret, error) {
		return openActive(ctx, l, sealer, clientID, now)
	}
	return &secretCache{load: load, ttl: ttl, now: now, entries: make(map[string]secretEntry)}
}

func (c *secretCache) get(ctx context.Context, clientID string) ([]linkvault.Secret, error) {
	now := c.now()
	c.mu.Lock()
	e, ok := c.entries[clientID]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.secrets, nil
	}
	secrets, err := c.load(ctx, clientID, now)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.entries) > 10000 {
		clear(c.entries) // bounded memory; entries are cheap to rebuild
	}
	c.entries[clientID] = secretEntry{secrets: secrets, expires: now.Add(c.ttl)}
	c.mu.Unlock()
	return secrets, nil
}
