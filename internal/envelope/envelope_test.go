package envelope_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/envelope"
)

const genericOpenMessage = "Stored credential could not be decrypted."

func newTestKeyring(t testing.TB, store *memStore, versions ...int) *envelope.Keyring {
	t.Helper()
	return envelope.New(store, testMaster(t, versions...), time.Now)
}

func mustSeal(t testing.TB, k *envelope.Keyring, clientID, tokenID string, plaintext []byte) ([]byte, int) {
	t.Helper()
	ct, v, err := k.Seal(context.Background(), clientID, tokenID, plaintext)
	if err != nil {
		t.Fatalf("Seal(%s, %s): %v", clientID, tokenID, err)
	}
	return ct, v
}

func mustOpen(t testing.TB, k *envelope.Keyring, clientID, tokenID string, version int, ct []byte) []byte {
	t.Helper()
	pt, err := k.Open(context.Background(), clientID, tokenID, version, ct)
	if err != nil {
		t.Fatalf("Open(%s, %s, v%d): %v", clientID, tokenID, version, err)
	}
	return pt
}

// assertGenericOpenError checks that err is the one opaque decryption failure.
func assertGenericOpenError(t *testing.T, err error, mustNotContain ...[]byte) {
	t.Helper()
	if err == nil {
		t.Fatal("Open succeeded, want failure")
	}
	var e *linkvault.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T is not *linkvault.Error", err)
	}
	if e.Status != linkvault.StatusServerFailure || e.Type != linkvault.ErrTypeInternal || e.Message != genericOpenMessage {
		t.Fatalf("error = %s/%s %q, want serverFailure/internalError %q", e.Status, e.Type, e.Message, genericOpenMessage)
	}
	for _, b := range mustNotContain {
		if len(b) >= 4 && (strings.Contains(err.Error(), string(b)) || bytes.Contains([]byte(err.Error()), b)) {
			t.Fatalf("error text %q reveals protected bytes", err.Error())
		}
	}
}

func TestSealOpenRoundTrip(t *testing.T) {
	tests := []struct {
		name      string
		clientID  string
		tokenID   string
		plaintext []byte
	}{
		{"empty plaintext", "client-a", "tok1", nil},
		{"credential-sized", "client-a", linkvault.NewTokenID(), bytes.Repeat([]byte("x"), 200)},
		{"large", "client-b", linkvault.NewTokenID(), bytes.Repeat([]byte{0, 1, 2, 3}, 16<<10)},
		{"real credential", "c_1", linkvault.NewTokenID(), linkvault.EncodeCredential(linkvault.Credential{
			AccessToken: linkvault.NewSecret("at-123"), RefreshToken: linkvault.NewSecret("rt-456"), TokenType: "Bearer",
		})},
	}
	store := newMemStore()
	k := newTestKeyring(t, store, 1)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ct, v := mustSeal(t, k, tt.clientID, tt.tokenID, tt.plaintext)
			if v != 1 {
				t.Errorf("key version = %d, want 1", v)
			}
			if len(tt.plaintext) >= 8 && bytes.Contains(ct, tt.plaintext[:8]) {
				t.Error("ciphertext contains plaintext bytes")
			}
			if got := mustOpen(t, k, tt.clientID, tt.tokenID, v, ct); !bytes.Equal(got, tt.plaintext) {
				t.Errorf("Open = %q, want %q", got, tt.plaintext)
			}
			// A second process (fresh cache) over the same store opens it too.
			other := newTestKeyring(t, store, 1)
			if got := mustOpen(t, other, tt.clientID, tt.tokenID, v, ct); !bytes.Equal(got, tt.plaintext) {
				t.Errorf("Open in another keyring = %q, want %q", got, tt.plaintext)
			}
		})
	}
}

func TestOpenRejects(t *testing.T) {
	ctx := context.Background()
	store := newMemStore()
	k := newTestKeyring(t, store, 1)
	plaintext := []byte(`{"v":1,"at":"secret-access-token"}`)
	const client, token = "client-a", "token-a"
	ct, v := mustSeal(t, k, client, token, plaintext)
	// client-b has its own key; client-a gets a second version.
	mustSeal(t, k, "client-b", "token-b", []byte("other"))
	v2, err := k.NewDataKeyVersion(ctx, client)
	if err != nil || v2 != 2 {
		t.Fatalf("NewDataKeyVersion = %d, %v; want 2", v2, err)
	}
	flip := func(i int) []byte {
		c := bytes.Clone(ct)
		c[i] ^= 0x01
		return c
	}
	tests := []struct {
		name     string
		clientID string
		tokenID  string
		version  int
		ct       []byte
	}{
		{"format byte changed", client, token, v, flip(0)},
		{"nonce changed", client, token, v, flip(5)},
		{"ciphertext changed", client, token, v, flip(14)},
		{"tag changed", client, token, v, flip(len(ct) - 1)},
		{"wrong tokenId", client, "token-b", v, ct},
		{"tokenId prefix", client, token[:len(token)-1], v, ct},
		{"wrong client with its own key", "client-b", token, v, ct},
		{"unknown client", "client-z", token, v, ct},
		{"wrong key version (exists)", client, token, v2, ct},
		{"key version absent", client, token, 9, ct},
		{"key version zero", client, token, 0, ct},
		{"key version negative", client, token, -1, ct},
		{"truncated to nothing", client, token, v, nil},
		{"truncated to format byte", client, token, v, ct[:1]},
		{"truncated below overhead", client, token, v, ct[:28]},
		{"truncated by one", client, token, v, ct[:len(ct)-1]},
		{"extra byte appended", client, token, v, append(bytes.Clone(ct), 0)},
		{"plaintext given as ciphertext", client, token, v, plaintext},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := k.Open(ctx, tt.clientID, tt.tokenID, tt.version, tt.ct)
			if got != nil {
				t.Errorf("Open returned plaintext %q on failure", got)
			}
			assertGenericOpenError(t, err, plaintext, []byte("secret-access-token"), tt.ct)
		})
	}
	// The original still opens after all that.
	if got := mustOpen(t, k, client, token, v, ct); !bytes.Equal(got, plaintext) {
		t.Fatalf("Open = %q", got)
	}
}

func TestSealRejectsMissingIDs(t *testing.T) {
	k := newTestKeyring(t, newMemStore(), 1)
	for _, ids := range [][2]string{{"", "tok"}, {"client", ""}} {
		_, _, err := k.Seal(context.Background(), ids[0], ids[1], []byte("x"))
		if linkvault.ErrorStatus(err) != linkvault.StatusServerFailure {
			t.Errorf("Seal(%q, %q) error = %v, want serverFailure", ids[0], ids[1], err)
		}
	}
}

func TestNonceUniqueness(t *testing.T) {
	k := newTestKeyring(t, newMemStore(), 1)
	const n = 20000
	seen := make(map[string]struct{}, n)
	plaintext := []byte("same plaintext every time")
	for range n {
		ct, _ := mustSeal(t, k, "client", "token", plaintext)
		nonce := string(ct[1:13])
		if _, dup := seen[nonce]; dup {
			t.Fatal("nonce repeated")
		}
		seen[nonce] = struct{}{}
	}
}

func TestHotPathDoesNoStoreIO(t *testing.T) {
	store := newMemStore()
	k := newTestKeyring(t, store, 1)
	ct, v := mustSeal(t, k, "client", "token", []byte("hello"))
	store.broken.Store(true)
	calls := store.calls.Load()
	for range 100 {
		mustOpen(t, k, "client", "token", v, ct)
		mustSeal(t, k, "client", "token2", []byte("again"))
	}
	if got := store.calls.Load(); got != calls {
		t.Fatalf("store was called %d times on the hot path", got-calls)
	}
}

func TestSealFailsWhenStoreFailsOnFirstUse(t *testing.T) {
	store := newMemStore()
	store.broken.Store(true)
	k := newTestKeyring(t, store, 1)
	_, _, err := k.Seal(context.Background(), "client", "token", []byte("x"))
	if linkvault.ErrorStatus(err) != linkvault.StatusServerFailure || linkvault.ErrorType(err) != linkvault.ErrTypeInternal {
		t.Fatalf("Seal error = %v, want serverFailure/internalError", err)
	}
	if !errors.Is(err, errBroken) {
		t.Fatalf("Seal error %v does not wrap the store failure for logs", err)
	}
	if linkvault.ErrorMessage(err) != "Credential could not be encrypted." {
		t.Fatalf("message = %q", linkvault.ErrorMessage(err))
	}
}

func TestConcurrentFirstSealInOneProcess(t *testing.T) {
	store := newMemStore()
	k := newTestKeyring(t, store, 1)
	const n = 32
	type result struct {
		ct      []byte
		version int
		err     error
	}
	results := make([]result, n)
	var start, wg sync.WaitGroup
	start.Add(1)
	for i := range n {
		wg.Go(func() {
			start.Wait()
			ct, v, err := k.Seal(context.Background(), "client", "token", []byte("pt"))
			results[i] = result{ct, v, err}
		})
	}
	start.Done()
	wg.Wait()
	if got := store.creates.Load(); got != 1 {
		t.Fatalf("CreateDataKey succeeded %d times, want 1", got)
	}
	for _, r := range results {
		if r.err != nil || r.version != 1 {
			t.Fatalf("Seal = v%d, %v", r.version, r.err)
		}
		mustOpen(t, k, "client", "token", r.version, r.ct)
	}
}

func TestConcurrentFirstSealAcrossProcesses(t *testing.T) {
	store := newMemStore()
	const n = 8
	keyrings := make([]*envelope.Keyring, n)
	for i := range keyrings {
		keyrings[i] = newTestKeyring(t, store, 1)
	}
	cts := make([][]byte, n)
	errs := make([]error, n)
	var start, wg sync.WaitGroup
	start.Add(1)
	for i, k := range keyrings {
		wg.Go(func() {
			start.Wait()
			cts[i], _, errs[i] = k.Seal(context.Background(), "client", "token", []byte("pt"))
		})
	}
	start.Done()
	wg.Wait()
	if got := store.count(); got != 1 {
		t.Fatalf("store holds %d data keys, want 1", got)
	}
	// Every process sealed with the one stored key: each ciphertext opens everywhere.
	for i := range keyrings {
		if errs[i] != nil {
			t.Fatalf("Seal in keyring %d: %v", i, errs[i])
		}
		for _, k := range keyrings {
			mustOpen(t, k, "client", "token", 1, cts[i])
		}
	}
}

func TestNewDataKeyVersion(t *testing.T) {
	ctx := context.Background()
	store := newMemStore()
	clock := newFakeClock()
	k := envelope.New(store, testMaster(t, 1), clock.Now)
	replica := envelope.New(store, testMaster(t, 1), clock.Now, envelope.WithCurrentVersionTTL(time.Minute))

	old, v1 := mustSeal(t, k, "client", "token", []byte("old"))
	if _, v := mustSeal(t, replica, "client", "token", []byte("x")); v != v1 {
		t.Fatalf("replica sealed with v%d, want v%d", v, v1)
	}
	v2, err := k.NewDataKeyVersion(ctx, "client")
	if err != nil || v2 != 2 {
		t.Fatalf("NewDataKeyVersion = %d, %v; want 2", v2, err)
	}
	newer, v := mustSeal(t, k, "client", "token", []byte("new"))
	if v != 2 {
		t.Fatalf("Seal after NewDataKeyVersion used v%d, want 2", v)
	}
	if got := mustOpen(t, k, "client", "token", v1, old); string(got) != "old" {
		t.Fatalf("old ciphertext opened to %q", got)
	}
	if got := mustOpen(t, replica, "client", "token", 2, newer); string(got) != "new" {
		t.Fatalf("replica opened new ciphertext to %q", got)
	}
	// The replica lags until its cached current version expires, then catches up.
	if _, v := mustSeal(t, replica, "client", "token", []byte("x")); v != 1 {
		t.Fatalf("replica before TTL sealed with v%d, want the cached v1", v)
	}
	clock.Advance(time.Minute)
	if _, v := mustSeal(t, replica, "client", "token", []byte("x")); v != 2 {
		t.Fatalf("replica after TTL sealed with v%d, want v2", v)
	}
	// A client without keys starts at version 1.
	if v, err := k.NewDataKeyVersion(ctx, "fresh"); err != nil || v != 1 {
		t.Fatalf("NewDataKeyVersion(fresh) = %d, %v; want 1", v, err)
	}
}

func TestStaleCurrentVersionSurvivesStoreOutage(t *testing.T) {
	store := newMemStore()
	clock := newFakeClock()
	k := envelope.New(store, testMaster(t, 1), clock.Now, envelope.WithCurrentVersionTTL(time.Minute))
	mustSeal(t, k, "client", "token", []byte("x"))
	store.broken.Store(true)
	clock.Advance(2 * time.Minute)
	if _, v := mustSeal(t, k, "client", "token", []byte("x")); v != 1 {
		t.Fatalf("sealed with v%d, want cached v1", v)
	}
}

func TestCacheIsBounded(t *testing.T) {
	store := newMemStore()
	k := envelope.New(store, testMaster(t, 1), time.Now, envelope.WithCacheSize(2))
	type sealed struct {
		client string
		ct     []byte
		v      int
	}
	var all []sealed
	for _, c := range []string{"a", "b", "c", "d", "e"} {
		ct, v := mustSeal(t, k, c, "token", []byte(c))
		all = append(all, sealed{c, ct, v})
	}
	// Evicted keys are read back from the store transparently.
	for _, s := range all {
		if got := mustOpen(t, k, s.client, "token", s.v, s.ct); string(got) != s.client {
			t.Fatalf("Open(%s) = %q", s.client, got)
		}
	}
	if store.creates.Load() != 5 {
		t.Fatalf("creates = %d, want 5 (eviction must not create new keys)", store.creates.Load())
	}
}

func TestOpenErrorDoesNotLeak(t *testing.T) {
	k := newTestKeyring(t, newMemStore(), 1)
	secret := []byte("refresh-token-value-0123456789")
	ct, v := mustSeal(t, k, "client", "token", secret)
	ct[len(ct)-3] ^= 0xFF
	_, err := k.Open(context.Background(), "client", "token", v, ct)
	assertGenericOpenError(t, err, secret)
	if strings.Contains(err.Error(), string(testKey(1))) {
		t.Fatal("error text reveals the master key")
	}
}
