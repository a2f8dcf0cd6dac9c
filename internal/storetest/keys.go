package storetest

import (
	"bytes"
	"crypto/sha256"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
)

func testClients(t *testing.T, s Store) {
	ctx := t.Context()
	b := &linkvault.Client{ID: "client-b", Name: "Bee App", CreatedAt: t0}
	if err := s.CreateClient(ctx, b); err != nil {
		t.Fatalf("CreateClient: %v", err)
	}
	mustCreateClient(t, s, "client-a")
	requireStatus(t, "CreateClient duplicate", s.CreateClient(ctx, &linkvault.Client{ID: "client-b", CreatedAt: t0}), linkvault.StatusConflict)

	got, err := s.GetClient(ctx, "client-b")
	if err != nil {
		t.Fatalf("GetClient: %v", err)
	}
	if got.ID != b.ID || got.Name != b.Name || got.WebhookURL != "" || !sameInstant(got.CreatedAt, t0) {
		t.Errorf("GetClient = %+v, want %+v", got, b)
	}
	_, err = s.GetClient(ctx, "client-z")
	requireStatus(t, "GetClient missing", err, linkvault.StatusNotFound)

	list, err := s.ListClients(ctx)
	if err != nil {
		t.Fatalf("ListClients: %v", err)
	}
	if len(list) != 2 || list[0].ID != "client-a" || list[1].ID != "client-b" {
		t.Errorf("ListClients = %v, want client-a, client-b in order", clientIDs(list))
	}

	const hook = "https://app.example/hooks/linkvault"
	if err := s.SetClientWebhookURL(ctx, "client-b", hook); err != nil {
		t.Fatalf("SetClientWebhookURL: %v", err)
	}
	if got, _ := s.GetClient(ctx, "client-b"); got == nil || got.WebhookURL != hook {
		t.Errorf("WebhookURL after set = %+v, want %q", got, hook)
	}
	if got, _ := s.GetClient(ctx, "client-a"); got == nil || got.WebhookURL != "" {
		t.Errorf("other client's WebhookURL changed: %+v", got)
	}
	if err := s.SetClientWebhookURL(ctx, "client-b", ""); err != nil {
		t.Fatalf("SetClientWebhookURL(empty): %v", err)
	}
	if got, _ := s.GetClient(ctx, "client-b"); got == nil || got.WebhookURL != "" {
		t.Errorf("WebhookURL after clear = %+v, want empty", got)
	}
	requireStatus(t, "SetClientWebhookURL missing", s.SetClientWebhookURL(ctx, "client-z", hook), linkvault.StatusNotFound)

	// Name, logo and allowed origins are replaced together; the webhook URL stays.
	if err := s.SetClientWebhookURL(ctx, "client-b", hook); err != nil {
		t.Fatalf("SetClientWebhookURL: %v", err)
	}
	upd := &linkvault.Client{ID: "client-b", Name: "Demo Wallet", Logo: "data:image/png;base64,iVBORw0KGgo=",
		AllowedOrigins: []string{"https://app.example", "http://localhost:8080"}}
	if err := s.UpdateClient(ctx, upd); err != nil {
		t.Fatalf("UpdateClient: %v", err)
	}
	got, err = s.GetClient(ctx, "client-b")
	if err != nil || got.Name != upd.Name || got.Logo != upd.Logo || got.WebhookURL != hook ||
		strings.Join(got.AllowedOrigins, ",") != "https://app.example,http://localhost:8080" {
		t.Errorf("after UpdateClient: %+v (%v)", got, err)
	}
	if list, _ := s.ListClients(ctx); len(list) != 2 || len(list[1].AllowedOrigins) != 2 || len(list[0].AllowedOrigins) != 0 {
		t.Errorf("ListClients after UpdateClient: %+v", list)
	}
	if err := s.UpdateClient(ctx, &linkvault.Client{ID: "client-b", Name: "Demo Wallet"}); err != nil {
		t.Fatalf("UpdateClient(clear): %v", err)
	}
	if got, _ := s.GetClient(ctx, "client-b"); got == nil || got.Logo != "" || len(got.AllowedOrigins) != 0 {
		t.Errorf("after clearing: %+v", got)
	}
	requireStatus(t, "UpdateClient missing", s.UpdateClient(ctx, &linkvault.Client{ID: "client-z"}), linkvault.StatusNotFound)
}

func clientIDs(list []*linkvault.Client) []string {
	var ids []string
	for _, c := range list {
		ids = append(ids, c.ID)
	}
	return ids
}

func newAPIKey(clientID string, perm linkvault.Permission, created time.Time) *linkvault.APIKey {
	id := linkvault.NewRandomID(9)
	hash := sha256.Sum256([]byte(id + ".secret"))
	return &linkvault.APIKey{ID: id, ClientID: clientID, Permission: perm, SecretHash: hash[:], CreatedAt: created}
}

func testAPIKeys(t *testing.T, s Store) {
	ctx := t.Context()
	mustCreateClient(t, s, "client-a")
	mustCreateClient(t, s, "client-b")
	read := newAPIKey("client-a", linkvault.PermissionRead, t0)
	write := newAPIKey("client-a", linkvault.PermissionWrite, t0.Add(time.Second))
	other := newAPIKey("client-b", linkvault.PermissionWrite, t0)
	for _, k := range []*linkvault.APIKey{read, write, other} {
		if err := s.CreateAPIKey(ctx, k); err != nil {
			t.Fatalf("CreateAPIKey: %v", err)
		}
	}
	dup := *read
	requireStatus(t, "CreateAPIKey duplicate id", s.CreateAPIKey(ctx, &dup), linkvault.StatusConflict)
	requireStatus(t, "CreateAPIKey unknown client", s.CreateAPIKey(ctx, newAPIKey("client-z", linkvault.PermissionRead, t0)), linkvault.StatusNotFound)

	got, err := s.GetAPIKey(ctx, write.ID)
	if err != nil {
		t.Fatalf("GetAPIKey: %v", err)
	}
	if got.ID != write.ID || got.ClientID != "client-a" || got.Permission != linkvault.PermissionWrite ||
		!bytes.Equal(got.SecretHash, write.SecretHash) || got.VerifierVersion != write.VerifierVersion || !sameInstant(got.CreatedAt, write.CreatedAt) || !got.Active() {
		t.Errorf("GetAPIKey = %+v, want %+v", got, write)
	}
	_, err = s.GetAPIKey(ctx, "no-such-key")
	requireStatus(t, "GetAPIKey missing", err, linkvault.StatusNotFound)

	list, err := s.ListAPIKeys(ctx, "client-a")
	if err != nil {
		t.Fatalf("ListAPIKeys: %v", err)
	}
	if len(list) != 2 || list[0].ID != read.ID || list[1].ID != write.ID {
		t.Fatalf("ListAPIKeys(client-a) = %d keys, want [read, write] oldest first", len(list))
	}

	// Another client cannot revoke the key, and learns nothing from trying.
	requireStatus(t, "RevokeAPIKey by other client", s.RevokeAPIKey(ctx, "client-b", read.ID, t0), linkvault.StatusNotFound)
	if got, _ := s.GetAPIKey(ctx, read.ID); got == nil || !got.Active() {
		t.Fatalf("key revoked by another client: %+v", got)
	}

	revokedAt := t0.Add(time.Hour)
	if err := s.RevokeAPIKey(ctx, "client-a", read.ID, revokedAt); err != nil {
		t.Fatalf("RevokeAPIKey: %v", err)
	}
	got, err = s.GetAPIKey(ctx, read.ID)
	if err != nil {
		t.Fatalf("GetAPIKey after revoke (revoked keys keep their row): %v", err)
	}
	if got.Active() || !sameInstant(got.RevokedAt, revokedAt) {
		t.Errorf("RevokedAt = %v, want %v", got.RevokedAt, revokedAt)
	}
	if err := s.RevokeAPIKey(ctx, "client-a", read.ID, revokedAt.Add(time.Hour)); err != nil {
		t.Fatalf("RevokeAPIKey again: %v", err)
	}
	if got, _ := s.GetAPIKey(ctx, read.ID); got == nil || !sameInstant(got.RevokedAt, revokedAt) {
		t.Errorf("second revoke moved RevokedAt: %+v", got)
	}
	if list, _ := s.ListAPIKeys(ctx, "client-a"); len(list) != 2 {
		t.Errorf("ListAPIKeys after revoke = %d keys, want 2 (revoked keys stay listed)", len(list))
	}
	if got, _ := s.GetAPIKey(ctx, write.ID); got == nil || !got.Active() {
		t.Errorf("revoking one key revoked another: %+v", got)
	}
	requireStatus(t, "RevokeAPIKey missing", s.RevokeAPIKey(ctx, "client-a", "no-such-key", t0), linkvault.StatusNotFound)

	// Verifier upgrade: a compare-and-swap on (verifier, version).
	if write.VerifierVersion != linkvault.APIKeyVerifierKeyed {
		t.Errorf("CreateAPIKey without a verifier version stored version %d, want %d", write.VerifierVersion, linkvault.APIKeyVerifierKeyed)
	}
	legacy := newAPIKey("client-b", linkvault.PermissionRead, t0)
	legacy.VerifierVersion = linkvault.APIKeyVerifierSHA256
	if err := s.CreateAPIKey(ctx, legacy); err != nil {
		t.Fatalf("CreateAPIKey legacy: %v", err)
	}
	keyed := bytes.Repeat([]byte{0x42}, 32)
	requireStatus(t, "UpgradeAPIKeyVerifier from a stale verifier",
		s.UpgradeAPIKeyVerifier(ctx, legacy.ID, keyed, linkvault.APIKeyVerifierSHA256, keyed, linkvault.APIKeyVerifierKeyed), linkvault.StatusConflict)
	requireStatus(t, "UpgradeAPIKeyVerifier from a stale version",
		s.UpgradeAPIKeyVerifier(ctx, legacy.ID, legacy.SecretHash, linkvault.APIKeyVerifierKeyed, keyed, linkvault.APIKeyVerifierKeyed), linkvault.StatusConflict)
	if err := s.UpgradeAPIKeyVerifier(ctx, legacy.ID, legacy.SecretHash, linkvault.APIKeyVerifierSHA256, keyed, linkvault.APIKeyVerifierKeyed); err != nil {
		t.Fatalf("UpgradeAPIKeyVerifier: %v", err)
	}
	if got, _ := s.GetAPIKey(ctx, legacy.ID); got == nil || !bytes.Equal(got.SecretHash, keyed) || got.VerifierVersion != linkvault.APIKeyVerifierKeyed {
		t.Errorf("after UpgradeAPIKeyVerifier: %+v", got)
	}
	requireStatus(t, "UpgradeAPIKeyVerifier twice",
		s.UpgradeAPIKeyVerifier(ctx, legacy.ID, legacy.SecretHash, linkvault.APIKeyVerifierSHA256, keyed, linkvault.APIKeyVerifierKeyed), linkvault.StatusConflict)
	requireStatus(t, "UpgradeAPIKeyVerifier missing",
		s.UpgradeAPIKeyVerifier(ctx, "no-such-key", keyed, 1, keyed, 2), linkvault.StatusNotFound)
}

func testDataKeys(t *testing.T, s Store) {
	ctx := t.Context()
	keys := []*linkvault.DataKey{
		{ClientID: "client-b", Version: 2, Wrapped: []byte("wrapped-b2"), MasterVersion: 1, CreatedAt: t0.Add(time.Minute)},
		{ClientID: "client-b", Version: 1, Wrapped: []byte("wrapped-b1"), MasterVersion: 1, CreatedAt: t0},
		{ClientID: "client-a", Version: 1, Wrapped: []byte("wrapped-a1"), MasterVersion: 3, CreatedAt: t0},
	}
	for _, k := range keys {
		if err := s.CreateDataKey(ctx, k); err != nil {
			t.Fatalf("CreateDataKey(%s v%d): %v", k.ClientID, k.Version, err)
		}
	}
	requireStatus(t, "CreateDataKey duplicate", s.CreateDataKey(ctx, &linkvault.DataKey{
		ClientID: "client-b", Version: 1, Wrapped: []byte("x"), MasterVersion: 1, CreatedAt: t0,
	}), linkvault.StatusConflict)

	got, err := s.GetDataKey(ctx, "client-b", 2)
	if err != nil {
		t.Fatalf("GetDataKey: %v", err)
	}
	checkDataKey(t, keys[0], got)
	_, err = s.GetDataKey(ctx, "client-b", 3)
	requireStatus(t, "GetDataKey missing version", err, linkvault.StatusNotFound)
	_, err = s.GetDataKey(ctx, "client-c", 1)
	requireStatus(t, "GetDataKey missing client", err, linkvault.StatusNotFound)

	latest, err := s.LatestDataKey(ctx, "client-b")
	if err != nil {
		t.Fatalf("LatestDataKey: %v", err)
	}
	checkDataKey(t, keys[0], latest)
	_, err = s.LatestDataKey(ctx, "client-c")
	requireStatus(t, "LatestDataKey without keys", err, linkvault.StatusNotFound)

	list, err := s.ListDataKeys(ctx)
	if err != nil {
		t.Fatalf("ListDataKeys: %v", err)
	}
	wantOrder := []*linkvault.DataKey{keys[2], keys[1], keys[0]}
	if len(list) != len(wantOrder) {
		t.Fatalf("ListDataKeys = %d keys, want %d", len(list), len(wantOrder))
	}
	for i := range wantOrder {
		checkDataKey(t, wantOrder[i], list[i])
	}

	// Rewrap is a compare-and-swap on the master version.
	if err := s.RewrapDataKey(ctx, "client-b", 1, []byte("rewrapped-b1"), 1, 2); err != nil {
		t.Fatalf("RewrapDataKey: %v", err)
	}
	want := &linkvault.DataKey{ClientID: "client-b", Version: 1, Wrapped: []byte("rewrapped-b1"), MasterVersion: 2, CreatedAt: t0}
	if got, err := s.GetDataKey(ctx, "client-b", 1); err != nil {
		t.Fatalf("GetDataKey after rewrap: %v", err)
	} else {
		checkDataKey(t, want, got)
	}
	requireStatus(t, "RewrapDataKey from stale master version",
		s.RewrapDataKey(ctx, "client-b", 1, []byte("clobbered"), 1, 3), linkvault.StatusConflict)
	if got, _ := s.GetDataKey(ctx, "client-b", 1); got != nil {
		checkDataKey(t, want, got)
	}
	if got, _ := s.GetDataKey(ctx, "client-b", 2); got != nil {
		checkDataKey(t, keys[0], got) // other versions untouched
	}
	requireStatus(t, "RewrapDataKey missing", s.RewrapDataKey(ctx, "client-b", 9, []byte("x"), 1, 2), linkvault.StatusNotFound)
}

func checkDataKey(t *testing.T, want, got *linkvault.DataKey) {
	t.Helper()
	if got.ClientID != want.ClientID || got.Version != want.Version || !bytes.Equal(got.Wrapped, want.Wrapped) ||
		got.MasterVersion != want.MasterVersion || !sameInstant(got.CreatedAt, want.CreatedAt) {
		t.Errorf("data key = {%s v%d %q master %d %v}, want {%s v%d %q master %d %v}",
			got.ClientID, got.Version, got.Wrapped, got.MasterVersion, got.CreatedAt,
			want.ClientID, want.Version, want.Wrapped, want.MasterVersion, want.CreatedAt)
	}
}

// testDataKeyConcurrentRewrap races rotations of one key: exactly one wins.
func testDataKeyConcurrentRewrap(t *testing.T, s Store) {
	ctx := t.Context()
	if err := s.CreateDataKey(ctx, &linkvault.DataKey{ClientID: "client-a", Version: 1, Wrapped: []byte("w0"), MasterVersion: 1, CreatedAt: t0}); err != nil {
		t.Fatalf("CreateDataKey: %v", err)
	}
	const rotators = 6
	errs := make([]error, rotators)
	var wg sync.WaitGroup
	for i := range rotators {
		wg.Go(func() {
			errs[i] = s.RewrapDataKey(ctx, "client-a", 1, []byte{'w', byte('1' + i)}, 1, 2)
		})
	}
	wg.Wait()
	wins := 0
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
		case linkvault.IsConflict(err):
		default:
			t.Errorf("rotator %d: %v", i, err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d concurrent rewraps succeeded, want exactly 1", wins)
	}
	got, err := s.GetDataKey(ctx, "client-a", 1)
	if err != nil {
		t.Fatalf("GetDataKey: %v", err)
	}
	if got.MasterVersion != 2 || bytes.Equal(got.Wrapped, []byte("w0")) {
		t.Errorf("after rewrap: master %d wrapped %q", got.MasterVersion, got.Wrapped)
	}
}

// testKeyringReplicas: advertisements are upserted by replica id, listed by liveness,
// and withdrawn.
func testKeyringReplicas(t *testing.T, s Store) {
	ctx := t.Context()
	adv := func(id string, held []int, wrap int, at time.Time) {
		t.Helper()
		if err := s.AdvertiseKeyring(ctx, linkvault.KeyringReplica{ID: id, Held: held, WrapVersion: wrap, SeenAt: at}); err != nil {
			t.Fatalf("AdvertiseKeyring(%s): %v", id, err)
		}
	}
	adv("a", []int{1}, 1, t0)
	adv("b", []int{1, 2}, 1, t0.Add(time.Second))
	adv("a", []int{1, 2}, 2, t0.Add(2*time.Second)) // a's second advertisement replaces its first
	adv("gone", []int{1}, 1, t0.Add(-time.Minute))
	live, err := s.ListKeyringReplicas(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(live) != 2 || live[0].ID != "a" || live[1].ID != "b" || !slices.Equal(live[0].Held, []int{1, 2}) ||
		live[0].WrapVersion != 2 || !sameInstant(live[0].SeenAt, t0.Add(2*time.Second)) || !live[1].Holds(2) {
		t.Fatalf("ListKeyringReplicas = %+v", live)
	}
	if err := s.WithdrawKeyring(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if live, _ := s.ListKeyringReplicas(ctx, t0); len(live) != 1 || live[0].ID != "b" {
		t.Fatalf("after WithdrawKeyring(a): %+v", live)
	}
}
