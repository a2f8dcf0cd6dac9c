package clients

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"hash"
	"sync"

	"github.com/linkvault/linkvault"
)

// verifiedCache remembers the (client id, secret) pairs that verified, so an app's
// repeated requests skip the verifier computation (SHA-256 of the secret, the HMAC key
// schedule, the HMAC, and their allocations: a sixth of a cached token/get's
// instructions, docs/benchmarks.md).
//
// What it holds is safe to hold: an entry is keyed by HMAC-SHA256, under a random key
// made when the process starts and never stored or shown, of (client id, secret); it
// keeps the key id and the stored verifier the secret was checked against. Nothing in
// it is a secret or can be checked against a guess without that key. Only successes
// enter it, so a wrong secret always takes the full constant-time path of
// Authenticate, whatever its key id.
//
// A hit is accepted only if the key set (keys) still has the key, active, with the
// same client, permission, verifier and verifier version as when it was verified: any
// edit of the row (a database writer widening a read key, relabelling a verifier's
// version) sends the secret through the full check again. A key revoked or deleted,
// or whose verifier changed (re-keyed), stops
// authenticating as soon as the key set shows it: at once in the process that made the
// change, within the key refresh period on the others (5 s in `linkvault serve`), the
// same bound as without the cache.
type verifiedCache struct {
	macs sync.Pool // *tagger: HMAC-SHA256 under key, reset before use

	mu      sync.RWMutex
	entries map[[sha256.Size]byte]verifiedEntry
	max     int
}

// verifiedEntry is the key record a secret verified against, as it was then.
type verifiedEntry struct {
	keyID      string
	permission linkvault.Permission
	version    int
	verifier   []byte // SecretHash
}

// same reports whether k is still the record e was verified against (every field
// the verifier binds, and its version); RevokedAt is checked separately.
func (e *verifiedEntry) same(k *linkvault.APIKey) bool {
	return k.ID == e.keyID && k.Permission == e.permission && k.VerifierVersion == e.version &&
		subtle.ConstantTimeCompare(k.SecretHash, e.verifier) == 1
}

// maxVerified bounds the cache. Only verified secrets enter, so it holds one entry per
// key in use; reaching the bound (many keys in use at once) only empties it.
const maxVerified = 4096

func newVerifiedCache() *verifiedCache {
	key := make([]byte, sha256.Size)
	if _, err := rand.Read(key); err != nil {
		panic("clients: crypto/rand: " + err.Error())
	}
	c := &verifiedCache{entries: make(map[[sha256.Size]byte]verifiedEntry), max: maxVerified}
	c.macs.New = func() any { return &tagger{mac: hmac.New(sha256.New, key)} }
	return c
}

// tagger is a pooled HMAC with its scratch space, so computing a tag allocates nothing.
type tagger struct {
	mac hash.Hash
	in  []byte
	out []byte
}

// tag is the entry key of (clientID, secret): HMAC of the length-prefixed client id
// followed by the secret.
func (c *verifiedCache) tag(clientID string, secret linkvault.Secret) [sha256.Size]byte {
	tg := c.macs.Get().(*tagger)
	tg.in = binary.BigEndian.AppendUint32(tg.in[:0], uint32(len(clientID)))
	tg.in = append(tg.in, clientID...)
	tg.in = append(tg.in, secret.Reveal()...)
	tg.mac.Reset()
	tg.mac.Write(tg.in)
	tg.out = tg.mac.Sum(tg.out[:0])
	var t [sha256.Size]byte
	copy(t[:], tg.out)
	clear(tg.in) // the secret does not stay in the pooled buffer
	c.macs.Put(tg)
	return t
}

// lookup returns the principal of a verified (clientID, secret) whose key is still
// active with the same verifier in ks, or nil.
func (c *verifiedCache) lookup(ks *keySet, clientID string, secret linkvault.Secret) *Principal {
	t := c.tag(clientID, secret)
	c.mu.RLock()
	e, ok := c.entries[t]
	c.mu.RUnlock()
	if !ok {
		return nil
	}
	k := ks.byID[e.keyID]
	if k == nil || !k.Active() || k.ClientID != clientID || !e.same(k) {
		c.mu.Lock()
		delete(c.entries, t)
		c.mu.Unlock()
		return nil
	}
	return &Principal{ClientID: k.ClientID, KeyID: k.ID, Permission: k.Permission}
}

// add records that secret verified against k for clientID.
func (c *verifiedCache) add(clientID string, secret linkvault.Secret, k *linkvault.APIKey) {
	t := c.tag(clientID, secret)
	c.mu.Lock()
	if len(c.entries) >= c.max {
		clear(c.entries)
	}
	c.entries[t] = verifiedEntry{keyID: k.ID, permission: k.Permission, version: k.VerifierVersion, verifier: k.SecretHash}
	c.mu.Unlock()
}

// len is the number of entries (tests).
func (c *verifiedCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}
