package clients

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/testdb"
)

// countVerifies makes svc count its verifier computations.
func countVerifies(svc *Service) *int {
	n := new(int)
	var mu sync.Mutex
	svc.verify = func(mac []byte, k *linkvault.APIKey, secret linkvault.Secret) bool {
		mu.Lock()
		*n++
		mu.Unlock()
		return matches(mac, k, secret)
	}
	return n
}

func TestVerifiedSecretIsNotVerifiedAgain(t *testing.T) {
	ctx := context.Background()
	svc := New(testdb.SQLite(t), fixedDeriver{}, time.Now, time.Minute)
	key := CreateAppKey(t, svc, linkvault.PermissionWrite)
	n := countVerifies(svc)
	for i := range 3 {
		p, err := svc.Authenticate(ctx, "app", key.Secret)
		if err != nil || p.KeyID != key.Key.ID || p.ClientID != "app" || p.Permission != linkvault.PermissionWrite {
			t.Fatalf("attempt %d: %+v %v", i, p, err)
		}
	}
	if *n != 1 {
		t.Errorf("verifier computed %d times for 3 authentications of one secret, want 1", *n)
	}
	// Wrong secrets and the right secret under another client id are never answered
	// from the cache: each is verified (and refused).
	for _, tc := range []struct{ client, secret string }{
		{"app", key.Secret.Reveal() + "x"}, {"other", key.Secret.Reveal()}, {"app", "lvsk_" + key.Key.ID + "_wrong"},
	} {
		before := *n
		if _, err := svc.Authenticate(ctx, tc.client, linkvault.NewSecret(tc.secret)); err == nil {
			t.Errorf("%s/%s authenticated", tc.client, tc.secret)
		}
		if *n != before+1 {
			t.Errorf("%s: verifier computed %d times, want 1", tc.client, *n-before)
		}
	}
	// The cache holds no secret: neither the secret nor its random part appears in it.
	dump := fmt.Sprintf("%v", svc.verified.entries)
	rnd := key.Secret.Reveal()[len("lvsk_")+17:]
	if bytes.Contains([]byte(dump), []byte(rnd)) {
		t.Error("the verified cache holds the secret")
	}
	if svc.verified.len() != 1 {
		t.Errorf("%d entries, want 1 (only verified secrets enter)", svc.verified.len())
	}
}

// A revocation ends cached authentication at once in the revoking process and, on
// another replica sharing the database, once its key set is reloaded (the key refresh
// bound, here exceeded by advancing its clock).
func TestRevocationEndsCachedAuthentication(t *testing.T) {
	ctx := context.Background()
	db := testdb.SQLite(t)
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	const refresh = time.Minute
	a := New(db, fixedDeriver{}, clock, refresh)
	b := New(db, fixedDeriver{}, clock, refresh) // another replica
	key := CreateAppKey(t, a, linkvault.PermissionRead)
	for _, svc := range []*Service{a, b} {
		for range 2 {
			if _, err := svc.Authenticate(ctx, "app", key.Secret); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := a.RevokeKey(ctx, "app", key.Key.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(ctx, "app", key.Secret); err == nil {
		t.Error("the revoking process still authenticates the revoked key")
	}
	mu.Lock()
	now = now.Add(staleLimit * refresh) // b's key set is now too old to use: reloaded
	mu.Unlock()
	if _, err := b.Authenticate(ctx, "app", key.Secret); err == nil {
		t.Error("the other replica still authenticates the revoked key after reloading its key set")
	}
}

// An edit of the key row after the secret was cached is not answered from the cache:
// the full check sees it. A stored verifier that changed (re-keyed) no longer matches;
// a widened permission or a relabelled verifier version is refused too (the intruder
// tests show the full check refuses such rows).
func TestEditedKeyRecordIsVerifiedAgain(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		edit func(k *linkvault.APIKey)
	}{
		{"verifier changed", func(k *linkvault.APIKey) { k.SecretHash = bytes.Repeat([]byte{1}, len(k.SecretHash)) }},
		{"permission widened", func(k *linkvault.APIKey) { k.Permission = linkvault.PermissionWrite }},
		{"version relabelled", func(k *linkvault.APIKey) { k.VerifierVersion = linkvault.APIKeyVerifierSHA256 }},
	} {
		svc := New(testdb.SQLite(t), fixedDeriver{}, time.Now, time.Minute)
		key := CreateAppKey(t, svc, linkvault.PermissionRead)
		if _, err := svc.Authenticate(ctx, "app", key.Secret); err != nil {
			t.Fatal(err)
		}
		changed := *key.Key
		tc.edit(&changed)
		svc.keys.put(&changed)
		n := countVerifies(svc)
		if p, err := svc.Authenticate(ctx, "app", key.Secret); err == nil {
			t.Errorf("%s: authenticated from the cache with %+v", tc.name, p)
		}
		if *n != 1 {
			t.Errorf("%s: verifier computed %d times, want 1", tc.name, *n)
		}
	}
}
