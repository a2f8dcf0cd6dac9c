package vault_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/envelope/envelopetest"
	"github.com/linkvault/linkvault/internal/exchangesim"
	"github.com/linkvault/linkvault/internal/poller"
	"github.com/linkvault/linkvault/internal/revocation"
	"github.com/linkvault/linkvault/internal/sqlite"
	"github.com/linkvault/linkvault/internal/testdb"
	"github.com/linkvault/linkvault/internal/vault"
)

type recordingRevoker struct {
	mu      sync.Mutex
	revoked []string
	err     error
}

func (r *recordingRevoker) CanRevoke(b linkvault.BrokerType) bool {
	return b != linkvault.BrokerBinance
}

func (r *recordingRevoker) Revoke(_ context.Context, _ linkvault.BrokerType, c linkvault.Credential) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.revoked = append(r.revoked, c.AccessToken.Reveal())
	return r.err
}

type env struct {
	db      *sqlite.DB
	vault   *vault.Service
	clock   *exchangesim.ManualClock
	revoker *recordingRevoker
}

// clientDB is a store tests create clients in, which keeps their data keys.
type clientDB interface {
	linkvault.DataKeyStore
	CreateClient(ctx context.Context, c *linkvault.Client) error
}

// newSealer creates the clients ids in db (at now()) and returns a keyring over db
// under a new master key: how every vault under test starts.
func newSealer(t testing.TB, db clientDB, now func() time.Time, ids ...string) vault.Sealer {
	t.Helper()
	for _, id := range ids {
		if err := db.CreateClient(context.Background(), &linkvault.Client{ID: id, Name: id, CreatedAt: now()}); err != nil {
			t.Fatal(err)
		}
	}
	return envelopetest.Keyring(t, db, now)
}

func newEnv(t *testing.T, cacheSize int) *env {
	t.Helper()
	db := testdb.SQLite(t)
	clock := exchangesim.NewManualClock(time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC))
	sealer := newSealer(t, db, clock.Now, "app1", "app2")
	rev := &recordingRevoker{}
	q, err := revocation.New(revocation.Config{QueueConfig: poller.QueueConfig{Now: clock.Now}}, revocation.Deps{Store: db, Opener: sealer, Revoker: rev})
	if err != nil {
		t.Fatal(err)
	}
	v := vault.New(vault.Config{
		Store: db, Sealer: sealer, Revoker: rev, Revocations: q,
		Now: clock.Now, CacheSize: cacheSize, CacheTTL: time.Minute,
	})
	return &env{db: db, vault: v, clock: clock, revoker: rev}
}

func cred(access string, expiry time.Time) linkvault.Credential {
	return linkvault.Credential{AccessToken: linkvault.NewSecret(access), RefreshToken: linkvault.NewSecret("rt-" + access), Expiry: expiry}
}

// connect stores a new connection of id holding c, failing the test if the vault
// refuses it.
func (e *env) connect(t *testing.T, id linkvault.ConnectionIdentity, c linkvault.Credential) *linkvault.Connection {
	t.Helper()
	conn, err := e.vault.Connect(context.Background(), vault.ConnectParams{ConnectionIdentity: id, Credential: c})
	if err != nil {
		t.Fatal(err)
	}
	return conn
}

func ident(client, user string, b linkvault.BrokerType, scope linkvault.Permission) linkvault.ConnectionIdentity {
	return linkvault.ConnectionIdentity{ClientID: client, UserID: user, BrokerType: b, Scope: scope}
}

func TestConnectIdentityRules(t *testing.T) {
	e := newEnv(t, 0)
	base := ident("app1", "alice", linkvault.BrokerCoinbase, linkvault.PermissionRead)
	first := e.connect(t, base, cred("a1", time.Time{}))
	tests := []struct {
		name     string
		id       linkvault.ConnectionIdentity
		wantSame bool
	}{
		{"same user, same integration, same scope", base, true},
		{"different user", ident("app1", "bob", linkvault.BrokerCoinbase, linkvault.PermissionRead), false},
		{"different scope", ident("app1", "alice", linkvault.BrokerCoinbase, linkvault.PermissionWrite), false},
		{"different integration", ident("app1", "alice", linkvault.BrokerUphold, linkvault.PermissionRead), false},
		{"different client, same user id", ident("app2", "alice", linkvault.BrokerCoinbase, linkvault.PermissionRead), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := e.connect(t, tt.id, cred("x-"+tt.name, time.Time{}))
			if got := c.TokenID == first.TokenID; got != tt.wantSame {
				t.Fatalf("same tokenId = %v, want %v", got, tt.wantSame)
			}
			if len(c.TokenID) < 32 {
				t.Fatalf("tokenId %q shorter than 192 bits of base64", c.TokenID)
			}
		})
	}
}

func TestConnectRejectsBadIdentity(t *testing.T) {
	e := newEnv(t, 0)
	long := string(bytes.Repeat([]byte("u"), 301))
	tests := []struct {
		name string
		id   linkvault.ConnectionIdentity
	}{
		{"empty user", ident("app1", "", linkvault.BrokerCoinbase, linkvault.PermissionRead)},
		{"user over 300 chars", ident("app1", long, linkvault.BrokerCoinbase, linkvault.PermissionRead)},
		{"unknown broker", ident("app1", "u", "kraken", linkvault.PermissionRead)},
		{"bad scope", ident("app1", "u", linkvault.BrokerCoinbase, "admin")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.vault.Connect(context.Background(), vault.ConnectParams{ConnectionIdentity: tt.id, Credential: cred("a", time.Time{})})
			if linkvault.ErrorStatus(err) != linkvault.StatusBadRequest {
				t.Fatalf("err = %v, want badRequest", err)
			}
			if n, _ := e.db.CountConnections(context.Background()); n != 0 {
				t.Fatalf("%d connections written for bad input", n)
			}
		})
	}
}

func TestResolveIsolationAndRemoval(t *testing.T) {
	for _, cacheSize := range []int{0, 100} {
		e := newEnv(t, cacheSize)
		ctx := context.Background()
		c := e.connect(t, ident("app1", "alice", linkvault.BrokerCoinbase, linkvault.PermissionRead), cred("secret-access", time.Time{}))
		r, err := e.vault.Resolve(ctx, "app1", c.TokenID)
		if err != nil {
			t.Fatal(err)
		}
		if r.Credential.AccessToken.Reveal() != "secret-access" {
			t.Fatal("resolved credential differs from the connected one")
		}
		_, errOther := e.vault.Resolve(ctx, "app2", c.TokenID)
		_, errNever := e.vault.Resolve(ctx, "app1", linkvault.NewTokenID())
		_, errJunk := e.vault.Resolve(ctx, "app1", "not a token/../")
		if _, err := e.vault.Remove(ctx, "app1", c.TokenID, linkvault.BrokerCoinbase); err != nil {
			t.Fatal(err)
		}
		_, errRemoved := e.vault.Resolve(ctx, "app1", c.TokenID)
		_, errRemoveAgain := e.vault.Remove(ctx, "app1", c.TokenID, linkvault.BrokerCoinbase)
		want := linkvault.ErrTokenNotFound().Error()
		for name, err := range map[string]error{"other client": errOther, "never issued": errNever, "junk": errJunk, "removed": errRemoved, "removed twice": errRemoveAgain} {
			if err == nil || err.Error() != want {
				t.Errorf("cache=%d %s: err = %v, want %q", cacheSize, name, err, want)
			}
		}
		if len(e.revoker.revoked) != 1 || e.revoker.revoked[0] != "secret-access" {
			t.Errorf("provider revocations = %v, want the one credential", len(e.revoker.revoked))
		}
		if n, _ := e.db.CountConnections(ctx); n != 0 {
			t.Errorf("connections after removal = %d, want 0", n)
		}
	}
}

func TestRemoveDeletesEvenWhenProviderRevocationFails(t *testing.T) {
	e := newEnv(t, 0)
	e.revoker.err = &linkvault.ProviderError{Kind: linkvault.ProviderTransient, Code: "http_503"}
	ctx := context.Background()
	c := e.connect(t, ident("app1", "u", linkvault.BrokerCoinbase, linkvault.PermissionRead), cred("a", time.Time{}))
	state, err := e.vault.Remove(ctx, "app1", c.TokenID, "")
	if err != nil {
		t.Fatal(err)
	}
	if state.Revocation != linkvault.RevocationPending {
		t.Fatalf("state = %q, want %q", state, linkvault.RevocationPending)
	}
	if _, err := e.db.GetConnection(ctx, "app1", c.TokenID); !linkvault.IsNotFound(err) {
		t.Fatalf("connection still stored: %v", err)
	}
	if total, _, err := e.db.CountRevocations(ctx, e.clock.Now()); err != nil || total != 1 {
		t.Fatalf("revocation queue holds %d entries (%v), want the removed credential", total, err)
	}
}

func TestRemoveWithWrongBrokerTypeIsNotFound(t *testing.T) {
	e := newEnv(t, 0)
	ctx := context.Background()
	c := e.connect(t, ident("app1", "u", linkvault.BrokerCoinbase, linkvault.PermissionRead), cred("a", time.Time{}))
	_, err := e.vault.Remove(ctx, "app1", c.TokenID, linkvault.BrokerUphold)
	if err == nil || err.Error() != linkvault.ErrTokenNotFound().Error() {
		t.Fatalf("err = %v", err)
	}
	if _, err := e.db.GetConnection(ctx, "app1", c.TokenID); err != nil {
		t.Fatalf("connection must survive a mismatched removal: %v", err)
	}
}

func TestReauthKeepsTokenID(t *testing.T) {
	e := newEnv(t, 100)
	ctx := context.Background()
	id := ident("app1", "alice", linkvault.BrokerBinance, linkvault.PermissionWrite)
	c := e.connect(t, id, cred("session-1", e.clock.Now().Add(time.Hour)))
	e.clock.Advance(time.Second)
	if err := e.vault.MarkReauthRequired(ctx, c, linkvault.ErrTypeReauthRequired); err != nil {
		t.Fatal(err)
	}
	r, err := e.vault.Resolve(ctx, "app1", c.TokenID)
	if err != nil {
		t.Fatal(err)
	}
	if r.Connection.Status != linkvault.StatusReauthRequired {
		t.Fatalf("status = %s", r.Connection.Status)
	}
	e.clock.Advance(time.Second)
	again, err := e.vault.Connect(ctx, vault.ConnectParams{ConnectionIdentity: id, TokenID: c.TokenID, Credential: cred("session-2", e.clock.Now().Add(2*time.Hour))})
	if err != nil {
		t.Fatal(err)
	}
	if again.TokenID != c.TokenID || again.Status != linkvault.StatusActive {
		t.Fatalf("after re-auth: tokenId changed=%v status=%s", again.TokenID != c.TokenID, again.Status)
	}
	r, err = e.vault.Resolve(ctx, "app1", c.TokenID)
	if err != nil || r.Credential.AccessToken.Reveal() != "session-2" {
		t.Fatalf("resolve after re-auth: %v", err)
	}
	events, err := e.db.PendingEvents(ctx, "app1")
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, ev := range events {
		types = append(types, ev.Type)
		if bytes.Contains(ev.Data, []byte("session-")) {
			t.Fatalf("event %s carries credential material", ev.Type)
		}
	}
	want := []string{linkvault.EventConnectionCreated, linkvault.EventReauthRequired, linkvault.EventConnectionRecovered}
	if len(types) != len(want) {
		t.Fatalf("events = %v, want %v", types, want)
	}
	for i := range want {
		if types[i] != want[i] {
			t.Fatalf("events = %v, want %v", types, want)
		}
	}
}

func TestReauthWithTokenOfAnotherIdentityIsRefused(t *testing.T) {
	e := newEnv(t, 0)
	ctx := context.Background()
	c := e.connect(t, ident("app1", "alice", linkvault.BrokerCoinbase, linkvault.PermissionRead), cred("a", time.Time{}))
	_, err := e.vault.Connect(ctx, vault.ConnectParams{ConnectionIdentity: ident("app1", "mallory", linkvault.BrokerCoinbase, linkvault.PermissionRead), TokenID: c.TokenID, Credential: cred("m", time.Time{})})
	if err == nil || err.Error() != linkvault.ErrTokenNotFound().Error() {
		t.Fatalf("err = %v, want token not found", err)
	}
	r, err := e.vault.Resolve(ctx, "app1", c.TokenID)
	if err != nil || r.Credential.AccessToken.Reveal() != "a" {
		t.Fatalf("alice's credential was touched: %v", err)
	}
}

func TestConcurrentConnectsOfOneIdentityShareATokenID(t *testing.T) {
	e := newEnv(t, 0)
	id := ident("app1", "alice", linkvault.BrokerSandbox, linkvault.PermissionRead)
	const n = 8
	tokens := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			c, err := e.vault.Connect(context.Background(), vault.ConnectParams{ConnectionIdentity: id, Credential: cred("a", time.Time{})})
			if err != nil {
				t.Error(err)
				return
			}
			tokens[i] = c.TokenID
		})
	}
	wg.Wait()
	for _, tok := range tokens {
		if tok != tokens[0] {
			t.Fatalf("concurrent connects produced different tokenIds")
		}
	}
}

func TestResolveCacheExpiresAndHandsOutCopies(t *testing.T) {
	e := newEnv(t, 10)
	ctx := context.Background()
	c := e.connect(t, ident("app1", "u", linkvault.BrokerCoinbase, linkvault.PermissionRead), cred("a", time.Time{}))
	r1, err := e.vault.Resolve(ctx, "app1", c.TokenID)
	if err != nil {
		t.Fatal(err)
	}
	r1.Connection.Status = "scribbled"
	r2, err := e.vault.Resolve(ctx, "app1", c.TokenID)
	if err != nil {
		t.Fatal(err)
	}
	if r2.Connection.Status != linkvault.StatusActive {
		t.Fatal("a caller's change leaked into the cache")
	}
	// Another process deletes the row behind the cache's back: within the TTL the
	// cache answers, after it the store does.
	if err := e.db.DeleteConnection(ctx, "app1", c.TokenID); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * time.Minute)
	if _, err := e.vault.Resolve(ctx, "app1", c.TokenID); !linkvault.IsNotFound(err) {
		t.Fatalf("after TTL: err = %v, want not found", err)
	}
}

// TestDatabaseFileHoldsNoPlaintext connects, refreshes and removes credentials with a
// recognisable value and then searches every byte of the database files for it.
func TestDatabaseFileHoldsNoPlaintext(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "lv.db")
	db := testdb.SQLiteAt(t, path, sqlite.Options{})
	ctx := context.Background()
	v := vault.New(vault.Config{Store: db, Sealer: newSealer(t, db, time.Now, "app1")})
	const marker = "PLAINTEXT-MARKER-4f1c9e"
	keep, err := v.Connect(ctx, vault.ConnectParams{ConnectionIdentity: ident("app1", "u1", linkvault.BrokerCoinbase, linkvault.PermissionRead), Credential: cred(marker+"-kept", time.Now().Add(time.Hour))})
	if err != nil {
		t.Fatal(err)
	}
	gone, err := v.Connect(ctx, vault.ConnectParams{ConnectionIdentity: ident("app1", "u2", linkvault.BrokerCoinbase, linkvault.PermissionRead), Credential: cred(marker+"-removed", time.Now().Add(time.Hour))})
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Save(ctx, keep, cred(marker+"-rotated", time.Now().Add(2*time.Hour))); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Remove(ctx, "app1", gone.TokenID, ""); err != nil {
		t.Fatal(err)
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		b, err := os.ReadFile(path + suffix)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(marker)) {
			t.Fatalf("plaintext credential found in %s", filepath.Base(path+suffix))
		}
	}
}

func TestPolicyNextCheck(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := vault.Policy{RefreshAhead: 5 * time.Minute, ValidateEvery: time.Hour, WarnAhead: time.Hour, WarnFraction: 0.2}
	rt := linkvault.NewSecret("rt")
	tests := []struct {
		name string
		c    linkvault.Credential
		want time.Time
	}{
		{"non-expiring: validate periodically", linkvault.Credential{}, now.Add(time.Hour)},
		{"refreshable: ahead of expiry", linkvault.Credential{RefreshToken: rt, Expiry: now.Add(time.Hour)}, now.Add(55 * time.Minute)},
		{"refreshable, already inside the window: now", linkvault.Credential{RefreshToken: rt, Expiry: now.Add(time.Minute)}, now},
		{"24h session: warned WarnAhead before expiry", linkvault.Credential{Expiry: now.Add(24 * time.Hour)}, now.Add(23 * time.Hour)},
		{"5h session: the fraction (1h) meets WarnAhead", linkvault.Credential{Expiry: now.Add(5 * time.Hour)}, now.Add(4 * time.Hour)},
		// Shorter than WarnAhead: a fixed 1h lead would fall before the session began and
		// the warning would never be sent (issue 13, defect 7).
		{"30min session: warned a fifth of its life ahead", linkvault.Credential{Expiry: now.Add(30 * time.Minute)}, now.Add(24 * time.Minute)},
		{"2min session: warned 24s ahead", linkvault.Credential{Expiry: now.Add(2 * time.Minute)}, now.Add(96 * time.Second)},
		{"session expired: now", linkvault.Credential{Expiry: now.Add(-time.Hour)}, now},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.NextCheck(now, tt.c); !got.Equal(tt.want) {
				t.Fatalf("NextCheck = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPolicyWarnLead(t *testing.T) {
	tests := []struct {
		name string
		p    vault.Policy
		life time.Duration
		want time.Duration
	}{
		{"capped by WarnAhead", vault.Policy{WarnAhead: time.Hour, WarnFraction: 0.2}, 24 * time.Hour, time.Hour},
		{"proportional below the cap", vault.Policy{WarnAhead: time.Hour, WarnFraction: 0.2}, 10 * time.Minute, 2 * time.Minute},
		{"another fraction", vault.Policy{WarnAhead: time.Hour, WarnFraction: 0.5}, 10 * time.Minute, 5 * time.Minute},
		{"zero fraction takes the default", vault.Policy{WarnAhead: time.Hour}, 10 * time.Minute, time.Duration(vault.DefaultWarnFraction * float64(10*time.Minute))},
		{"expired: no lead", vault.Policy{WarnAhead: time.Hour, WarnFraction: 0.2}, -time.Minute, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.WarnLead(tt.life); got != tt.want {
				t.Fatalf("WarnLead(%v) = %v, want %v", tt.life, got, tt.want)
			}
		})
	}
}

// TestCiphertextCopiedOntoAnotherRowDoesNotOpen simulates an attacker with write access
// to the database moving a sealed credential onto another connection (of the same
// client or of another client): the AAD binding makes it fail to open.
func TestCiphertextCopiedOntoAnotherRowDoesNotOpen(t *testing.T) {
	e := newEnv(t, 0)
	ctx := context.Background()
	connect := func(client, user string) *linkvault.Connection {
		c := e.connect(t, ident(client, user, linkvault.BrokerCoinbase, linkvault.PermissionRead), cred("at-"+client+"-"+user, time.Time{}))
		return c
	}
	victim := connect("app1", "victim")
	for _, target := range []*linkvault.Connection{connect("app1", "attacker"), connect("app2", "attacker")} {
		stored, err := e.db.GetConnection(ctx, target.ClientID, target.TokenID)
		if err != nil {
			t.Fatal(err)
		}
		stored.SealedCredential, stored.KeyVersion = victim.SealedCredential, victim.KeyVersion
		if err := e.db.UpdateConnection(ctx, stored); err != nil {
			t.Fatal(err)
		}
		r, err := e.vault.Resolve(ctx, target.ClientID, target.TokenID)
		if err == nil {
			t.Fatalf("copied ciphertext opened on %s's row (access token leaked: %v)", target.ClientID, r.Credential.AccessToken.Reveal() == "at-app1-victim")
		}
		if linkvault.ErrorStatus(err) != linkvault.StatusServerFailure || strings.Contains(err.Error(), "victim") {
			t.Fatalf("err = %v", err)
		}
	}
}

// TestResolveFreshIgnoresTheCache: after another process removed or flagged a
// connection, Resolve may serve the cached copy within the TTL, but ResolveFresh (used
// for transfers) reads the database, and evicts the stale entry.
// Peek answers what Resolve answers, from the cache when it holds the connection (the
// same entry each time: no copy) and from the store when it does not.
func TestPeekReadsTheCacheWithoutCopying(t *testing.T) {
	e := newEnv(t, 10)
	ctx := context.Background()
	c := e.connect(t, ident("app1", "u", linkvault.BrokerCoinbase, linkvault.PermissionRead), cred("a", time.Time{}))
	p1, err := e.vault.Peek(ctx, "app1", c.TokenID) // a miss: read from the store
	if err != nil {
		t.Fatal(err)
	}
	r, err := e.vault.Resolve(ctx, "app1", c.TokenID)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := e.vault.Peek(ctx, "app1", c.TokenID)
	if err != nil {
		t.Fatal(err)
	}
	p3, _ := e.vault.Peek(ctx, "app1", c.TokenID)
	if p2 != p3 || p2.Connection == r.Connection {
		t.Fatal("Peek copied the cached entry, or Resolve did not")
	}
	if !reflect.DeepEqual(*p1.Connection, *r.Connection) || !reflect.DeepEqual(*p2.Connection, *r.Connection) || p2.Credential.AccessToken.Reveal() != "a" {
		t.Fatalf("Peek %+v / %+v, Resolve %+v", p1.Connection, p2.Connection, r.Connection)
	}
	if _, err := e.vault.Peek(ctx, "app1", "tok_nope"); !linkvault.IsNotFound(err) {
		t.Fatalf("unknown tokenId: %v", err)
	}
	if _, err := e.vault.Peek(ctx, "app2", c.TokenID); !linkvault.IsNotFound(err) {
		t.Fatalf("another client's tokenId: %v", err)
	}
}

func TestResolveFreshIgnoresTheCache(t *testing.T) {
	e := newEnv(t, 10)
	ctx := context.Background()
	c := e.connect(t, ident("app1", "u", linkvault.BrokerBinance, linkvault.PermissionWrite), cred("s", time.Time{}))
	if _, err := e.vault.Resolve(ctx, "app1", c.TokenID); err != nil {
		t.Fatal(err)
	}
	if err := e.db.DeleteConnection(ctx, "app1", c.TokenID); err != nil { // another replica's removal
		t.Fatal(err)
	}
	if _, err := e.vault.Resolve(ctx, "app1", c.TokenID); err != nil {
		t.Fatalf("within the TTL the cached copy answers (this is what ResolveFresh avoids): %v", err)
	}
	if _, err := e.vault.ResolveFresh(ctx, "app1", c.TokenID); err == nil || err.Error() != linkvault.ErrTokenNotFound().Error() {
		t.Fatalf("ResolveFresh after removal elsewhere: %v, want token not found", err)
	}
	if _, err := e.vault.Resolve(ctx, "app1", c.TokenID); !linkvault.IsNotFound(err) {
		t.Fatalf("the stale cache entry survived a fresh read: %v", err)
	}
}
