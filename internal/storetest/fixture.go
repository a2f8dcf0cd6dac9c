package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
)

// The fixture is one row set touching every table and every column kind (required and
// optional times, JSON, bytes, counters, leases), written through the store API. Each
// store package keeps a data-only dump of it as written by an earlier store version
// (testdata/) and runs CheckUpgrade on it: rows written by the old code must read back
// the same through the current code after the upgrade, so an upgrade never needs a
// data rewrite. TestFixtureRoundTrip-style tests run Populate then CheckFixture on a
// fresh store, which keeps the check itself honest.

// Migrations is a store's schema management (sqlstore.Migrator).
type Migrations interface {
	Migrate(ctx context.Context) error
	MigrateTo(ctx context.Context, version int64) error
	MigrationVersion(ctx context.Context) (int64, error)
	LatestMigrationVersion(ctx context.Context) (int64, error)
}

// CheckMigrated checks that m's schema is at the latest embedded version and that
// migrating again changes nothing.
func CheckMigrated(t *testing.T, m Migrations) {
	t.Helper()
	ctx := t.Context()
	got, err := m.MigrationVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	latest, err := m.LatestMigrationVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got < 1 || got != latest {
		t.Fatalf("MigrationVersion = %d, want the latest embedded version %d (>= 1)", got, latest)
	}
	if err := m.Migrate(ctx); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	if again, err := m.MigrationVersion(ctx); err != nil || again != got {
		t.Fatalf("MigrationVersion after a second Migrate = %d, %v; want %d", again, err, got)
	}
}

// CheckUpgrade takes db, opened on an empty database without migrating, to version,
// loads with exec the rows of the fixture dump at path (taken at that version),
// migrates to the latest version as opening a store does, and reads every row back.
func CheckUpgrade(t *testing.T, db interface {
	Store
	Migrations
}, exec func(ctx context.Context, script string) error, version int64, path string) {
	t.Helper()
	ctx := t.Context()
	if err := db.MigrateTo(ctx, version); err != nil {
		t.Fatalf("migrate to version %d: %v", version, err)
	}
	rows, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := exec(ctx, string(rows)); err != nil {
		t.Fatalf("load the version %d rows of %s: %v", version, path, err)
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("upgrade from version %d: %v", version, err)
	}
	CheckMigrated(t, db)
	CheckFixture(t, db)
}

// FixtureNow is the clock a store must be opened with (its Now option) for Populate and
// CheckFixture: timestamps the store sets itself (UpdatedAt) come from it.
func FixtureNow() time.Time { return fixtureNow }

var fixtureNow = time.Date(2031, time.March, 14, 16, 0, 0, 123456000, time.UTC)

// fixture times are whole microseconds, the finest PostgreSQL keeps, so a dump taken
// from either store reloads exactly.
var ft0 = time.Date(2031, time.March, 14, 15, 9, 26, 535897000, time.UTC)

func fixtureConnections() (full, minimal *linkvault.Connection) {
	full = &linkvault.Connection{
		TokenID: "fixture-token-full",
		ConnectionIdentity: linkvault.ConnectionIdentity{
			ClientID: "fixture-app", UserID: "user-é-1", BrokerType: linkvault.BrokerCoinbase, Scope: linkvault.PermissionWrite,
		},
		Status: linkvault.StatusActive,
		Accounts: []linkvault.Account{
			{AccountID: "acc-1", AccountName: "Main", Fund: 12.5, Cash: 3.25},
			{AccountID: "acc-2", AccountName: "Savings \"quoted\"", Fund: 0.125},
		},
		SealedCredential: []byte{0x00, 0x01, 0xfe, 0xff, 'x'},
		KeyVersion:       2,
		AccessExpiresAt:  ft0.Add(time.Hour),
		RefreshExpiresAt: ft0.Add(18 * 30 * 24 * time.Hour),
		NextCheckAt:      ft0.Add(50 * time.Minute),
		CreatedAt:        ft0,
	}
	minimal = &linkvault.Connection{
		TokenID: "fixture-token-minimal",
		ConnectionIdentity: linkvault.ConnectionIdentity{
			ClientID: "fixture-app", UserID: "user-2", BrokerType: linkvault.BrokerUphold, Scope: linkvault.PermissionRead,
		},
		Status:    linkvault.StatusReauthRequired,
		CreatedAt: ft0.Add(time.Second),
	}
	return full, minimal
}

// Populate writes the fixture through s, which must be empty and opened with the
// FixtureNow clock.
func Populate(t *testing.T, s Store) {
	t.Helper()
	ctx := t.Context()
	must := func(op string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("fixture: %s: %v", op, err)
		}
	}
	must("CreateClient", s.CreateClient(ctx, &linkvault.Client{ID: "fixture-app", Name: "Fixture App", WebhookURL: "https://app.example/hooks", CreatedAt: ft0}))
	must("CreateClient", s.CreateClient(ctx, &linkvault.Client{ID: "fixture-quiet", Name: "", CreatedAt: ft0.Add(time.Second)}))
	// The fixture's keys are written as an older release stored them (unkeyed
	// verifiers), which is what the upgrade test's rows are after migrating.
	must("CreateAPIKey", s.CreateAPIKey(ctx, &linkvault.APIKey{ID: "key-read", ClientID: "fixture-app", Permission: linkvault.PermissionRead,
		SecretHash: bytes.Repeat([]byte{0xa5}, 32), VerifierVersion: linkvault.APIKeyVerifierSHA256, CreatedAt: ft0}))
	must("CreateAPIKey", s.CreateAPIKey(ctx, &linkvault.APIKey{ID: "key-write", ClientID: "fixture-app", Permission: linkvault.PermissionWrite,
		SecretHash: bytes.Repeat([]byte{0x5a}, 32), VerifierVersion: linkvault.APIKeyVerifierSHA256, CreatedAt: ft0.Add(time.Minute)}))
	must("RevokeAPIKey", s.RevokeAPIKey(ctx, "fixture-app", "key-write", ft0.Add(time.Hour)))
	must("CreateDataKey", s.CreateDataKey(ctx, &linkvault.DataKey{ClientID: "fixture-app", Version: 1, Wrapped: []byte("wrapped-1"), MasterVersion: 1, CreatedAt: ft0}))
	must("CreateDataKey", s.CreateDataKey(ctx, &linkvault.DataKey{ClientID: "fixture-app", Version: 2, Wrapped: []byte("wrapped-2"), MasterVersion: 1, CreatedAt: ft0.Add(time.Hour)}))
	must("RewrapDataKey", s.RewrapDataKey(ctx, "fixture-app", 1, []byte("rewrapped-1"), 1, 2))

	full, minimal := fixtureConnections()
	must("CreateConnection", s.CreateConnection(ctx, full, linkvault.Event{ID: "evt-created", Type: linkvault.EventConnectionCreated,
		Data: json.RawMessage(`{"tokenId":"fixture-token-full","brokerType":"coinbase"}`), CreatedAt: ft0}))
	must("CreateConnection", s.CreateConnection(ctx, minimal, linkvault.Event{ID: "evt-minimal", Type: linkvault.EventReauthRequired, CreatedAt: ft0.Add(time.Second)}))
	full.FailureCount, full.LastError = 2, "invalid_grant"
	full.LeaseOwner, full.LeaseExpiresAt = "replica-1", ft0.Add(55*time.Minute)
	must("UpdateConnection", s.UpdateConnection(ctx, full, linkvault.Event{ID: "evt-warning", Type: linkvault.EventExpiryWarning, CreatedAt: ft0.Add(2 * time.Second)}))

	// Webhooks: evt-created delivered, evt-minimal retrying, evt-warning still new.
	claims, err := s.ClaimWebhookEvents(ctx, ft0.Add(time.Second), "fixture-worker", ft0.Add(time.Minute), 2)
	must("ClaimWebhookEvents", err)
	if len(claims) != 2 {
		t.Fatalf("fixture: claimed %d events, want 2", len(claims))
	}
	must("RecordWebhookAttempt", s.RecordWebhookAttempt(ctx, linkvault.WebhookAttempt{EventID: "evt-created", ClientID: "fixture-app", Lease: claims[0].Lease,
		Attempt: 1, StatusCode: 204, Duration: 15 * time.Millisecond, AttemptedAt: ft0.Add(3 * time.Second), Outcome: linkvault.WebhookDelivered}))
	must("RecordWebhookAttempt", s.RecordWebhookAttempt(ctx, linkvault.WebhookAttempt{EventID: "evt-minimal", ClientID: "fixture-app", Lease: claims[1].Lease,
		Attempt: 1, StatusCode: 503, ErrorCode: "http_503", Duration: 40 * time.Millisecond, AttemptedAt: ft0.Add(4 * time.Second),
		Outcome: linkvault.WebhookRetry, NextAttemptAt: ft0.Add(time.Hour)}))
	must("AddWebhookSecret", s.AddWebhookSecret(ctx, linkvault.SealedWebhookSecret{ClientID: "fixture-app", Version: 1, Sealed: []byte("sealed-secret-1"), KeyVersion: 1, CreatedAt: ft0}, ft0))
	must("AddWebhookSecret", s.AddWebhookSecret(ctx, linkvault.SealedWebhookSecret{ClientID: "fixture-app", Version: 2, Sealed: []byte("sealed-secret-2"), KeyVersion: 2, CreatedAt: ft0.Add(time.Hour)}, ft0.Add(25*time.Hour)))

	// Link sessions: one opened with a pending step and an outcome, one untouched.
	opened := &linkvault.LinkSession{Key: "fixture-session-opened", ClientID: "fixture-app", UserID: "user-é-1", Permission: linkvault.PermissionWrite,
		Options:   linkvault.LinkOptions{RestrictMultipleAccounts: true, IntegrationID: "int-1", BrokerType: linkvault.BrokerCoinbase},
		CreatedAt: ft0, ExpiresAt: ft0.Add(10 * time.Minute)}
	must("CreateLinkSession", s.CreateLinkSession(ctx, opened))
	opened, err = s.ConsumeLinkSession(ctx, opened.Key, "fixture-page-key", ft0.Add(time.Minute), ft0.Add(31*time.Minute))
	must("ConsumeLinkSession", err)
	opened.StateKey, opened.Pending, opened.PendingKeyVersion = "fixture-state-key", []byte{0xde, 0xad, 0xbe, 0xef}, 2
	opened.Outcome = []byte(`{"kind":"connected","tokenIds":["fixture-token-full"]}`)
	must("UpdateLinkSession", s.UpdateLinkSession(ctx, opened))
	must("CreateLinkSession", s.CreateLinkSession(ctx, &linkvault.LinkSession{Key: "fixture-session-new", ClientID: "fixture-app", UserID: "user-2",
		Permission: linkvault.PermissionRead, CreatedAt: ft0.Add(time.Second), ExpiresAt: ft0.Add(11 * time.Minute)}))

	must("AppendAudit", s.AppendAudit(ctx, fixtureAudit()))

	done := &linkvault.TransferRecord{ClientID: "fixture-app", ClientTransactionID: "tx-done", TokenID: full.TokenID, RequestHash: hashBody("done")}
	done, claimed, err := s.ClaimTransfer(ctx, done, ft0)
	must("ClaimTransfer", err)
	if !claimed {
		t.Fatal("fixture: tx-done not claimed")
	}
	done.Status, done.ProviderTransferID, done.Result = linkvault.TransferCompleted, "provider-tx-1", json.RawMessage(`{"status":"succeeded","amount":"0.5"}`)
	must("FinishTransfer", s.FinishTransfer(ctx, done))
	_, _, err = s.ClaimTransfer(ctx, &linkvault.TransferRecord{ClientID: "fixture-app", ClientTransactionID: "tx-open", TokenID: full.TokenID, RequestHash: hashBody("open")}, ft0)
	must("ClaimTransfer", err)
}

func fixtureAudit() []linkvault.AuditEntry {
	return []linkvault.AuditEntry{
		{ClientID: "fixture-app", KeyID: "key-read", TokenID: "fixture-token-full", TokenRef: linkvault.TokenFingerprint("fixture-token-full"),
			BrokerType: linkvault.BrokerCoinbase, Action: "holdings.get", Outcome: "ok", HTTPStatus: 200, CreatedAt: ft0, Duration: 1500 * time.Microsecond},
		{ClientID: "fixture-app", KeyID: "key-read", TokenRef: linkvault.TokenFingerprint("probe"), Action: "balance.get",
			Outcome: linkvault.ErrTypeTokenNotFound, HTTPStatus: 404, CreatedAt: ft0.Add(time.Second)},
		{ClientID: "fixture-quiet", KeyID: "key-x", TokenRef: linkvault.TokenFingerprint("other"), Action: "holdings.get",
			Outcome: "ok", HTTPStatus: 200, CreatedAt: ft0.Add(2 * time.Second)},
	}
}

// CheckFixture reads every fixture row back through s and compares it field by field
// with what Populate wrote.
func CheckFixture(t *testing.T, s Store) {
	t.Helper()
	ctx := t.Context()
	eq := func(what string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("fixture %s:\n got  %+v\n want %+v", what, got, want)
		}
	}
	fatal := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("fixture %s: %v", what, err)
		}
	}

	clients, err := s.ListClients(ctx)
	fatal("ListClients", err)
	eq("clients", utcClients(clients), []*linkvault.Client{
		{ID: "fixture-app", Name: "Fixture App", WebhookURL: "https://app.example/hooks", CreatedAt: ft0},
		{ID: "fixture-quiet", CreatedAt: ft0.Add(time.Second)},
	})
	keys, err := s.ListAPIKeys(ctx, "fixture-app")
	fatal("ListAPIKeys", err)
	for _, k := range keys {
		k.CreatedAt, k.RevokedAt = k.CreatedAt.UTC(), k.RevokedAt.UTC()
	}
	eq("api keys", keys, []*linkvault.APIKey{
		{ID: "key-read", ClientID: "fixture-app", Permission: linkvault.PermissionRead, SecretHash: bytes.Repeat([]byte{0xa5}, 32), VerifierVersion: linkvault.APIKeyVerifierSHA256, CreatedAt: ft0},
		{ID: "key-write", ClientID: "fixture-app", Permission: linkvault.PermissionWrite, SecretHash: bytes.Repeat([]byte{0x5a}, 32),
			VerifierVersion: linkvault.APIKeyVerifierSHA256, CreatedAt: ft0.Add(time.Minute), RevokedAt: ft0.Add(time.Hour)},
	})
	dks, err := s.ListDataKeys(ctx)
	fatal("ListDataKeys", err)
	for _, k := range dks {
		k.CreatedAt = k.CreatedAt.UTC()
	}
	eq("data keys", dks, []*linkvault.DataKey{
		{ClientID: "fixture-app", Version: 1, Wrapped: []byte("rewrapped-1"), MasterVersion: 2, CreatedAt: ft0},
		{ClientID: "fixture-app", Version: 2, Wrapped: []byte("wrapped-2"), MasterVersion: 1, CreatedAt: ft0.Add(time.Hour)},
	})

	full, minimal := fixtureConnections()
	full.FailureCount, full.LastError = 2, "invalid_grant"
	full.LeaseOwner, full.LeaseExpiresAt = "replica-1", ft0.Add(55*time.Minute)
	full.Version, full.UpdatedAt = 2, fixtureNow
	minimal.Version, minimal.UpdatedAt = 1, minimal.CreatedAt
	checkConnection(t, full, mustGetConnection(t, s, "fixture-app", full.TokenID))
	checkConnection(t, minimal, mustGetConnection(t, s, "fixture-app", minimal.TokenID))
	if n, err := s.CountConnections(ctx); err != nil || n != 2 {
		t.Errorf("fixture CountConnections = %d, %v; want 2", n, err)
	}

	pending, err := s.PendingEvents(ctx, "fixture-app")
	fatal("PendingEvents", err)
	for i := range pending {
		pending[i].CreatedAt = pending[i].CreatedAt.UTC()
	}
	eq("pending events", pending, []linkvault.Event{
		{ID: "evt-minimal", ClientID: "fixture-app", Type: linkvault.EventReauthRequired, TokenID: "fixture-token-minimal", Data: json.RawMessage(`{}`), CreatedAt: ft0.Add(time.Second)},
		{ID: "evt-warning", ClientID: "fixture-app", Type: linkvault.EventExpiryWarning, TokenID: "fixture-token-full", Data: json.RawMessage(`{}`), CreatedAt: ft0.Add(2 * time.Second)},
	})
	if n, err := s.CountPendingWebhookEvents(ctx); err != nil || n != 2 {
		t.Errorf("fixture CountPendingWebhookEvents = %d, %v; want 2", n, err)
	}
	deliveries, err := s.ListWebhookDeliveries(ctx, "fixture-app", 10)
	fatal("ListWebhookDeliveries", err)
	for i := range deliveries {
		deliveries[i].AttemptedAt = deliveries[i].AttemptedAt.UTC()
	}
	eq("deliveries", deliveries, []linkvault.WebhookDelivery{
		{EventID: "evt-minimal", EventType: linkvault.EventReauthRequired, Attempt: 1, StatusCode: 503, ErrorCode: "http_503", Duration: 40 * time.Millisecond, AttemptedAt: ft0.Add(4 * time.Second)},
		{EventID: "evt-created", EventType: linkvault.EventConnectionCreated, Attempt: 1, StatusCode: 204, Duration: 15 * time.Millisecond, AttemptedAt: ft0.Add(3 * time.Second)},
	})
	// The retrying event comes due again with its attempt count; the new one with none.
	claims, err := s.ClaimWebhookEvents(ctx, ft0.Add(2*time.Hour), "checker", ft0.Add(3*time.Hour), 10)
	fatal("ClaimWebhookEvents", err)
	if len(claims) != 2 || claims[0].Event.ID != "evt-minimal" || claims[0].Attempts != 1 || claims[1].Event.ID != "evt-warning" ||
		claims[1].Attempts != 0 || claims[0].URL != "https://app.example/hooks" {
		t.Errorf("fixture claims = %+v; want evt-minimal (1 attempt) then evt-warning (0), with the client's URL", claims)
	}
	secrets, err := s.ListWebhookSecrets(ctx, "fixture-app")
	fatal("ListWebhookSecrets", err)
	for i := range secrets {
		secrets[i].CreatedAt, secrets[i].ExpiresAt = secrets[i].CreatedAt.UTC(), secrets[i].ExpiresAt.UTC()
	}
	eq("webhook secrets", secrets, []linkvault.SealedWebhookSecret{
		{ClientID: "fixture-app", Version: 2, Sealed: []byte("sealed-secret-2"), KeyVersion: 2, CreatedAt: ft0.Add(time.Hour)},
		{ClientID: "fixture-app", Version: 1, Sealed: []byte("sealed-secret-1"), KeyVersion: 1, CreatedAt: ft0, ExpiresAt: ft0.Add(25 * time.Hour)},
	})

	opened, err := s.GetLinkSessionByState(ctx, "fixture-state-key")
	fatal("GetLinkSessionByState", err)
	eq("opened link session", utcSession(opened), &linkvault.LinkSession{Key: "fixture-session-opened", ClientID: "fixture-app", UserID: "user-é-1",
		Permission: linkvault.PermissionWrite, Options: linkvault.LinkOptions{RestrictMultipleAccounts: true, IntegrationID: "int-1", BrokerType: linkvault.BrokerCoinbase},
		CreatedAt: ft0, ExpiresAt: ft0.Add(31 * time.Minute), ConsumedAt: ft0.Add(time.Minute), PageKey: "fixture-page-key", StateKey: "fixture-state-key",
		Pending: []byte{0xde, 0xad, 0xbe, 0xef}, PendingKeyVersion: 2, Outcome: []byte(`{"kind":"connected","tokenIds":["fixture-token-full"]}`), Version: 3})
	fresh, err := s.GetLinkSession(ctx, "fixture-session-new")
	fatal("GetLinkSession", err)
	eq("new link session", utcSession(fresh), &linkvault.LinkSession{Key: "fixture-session-new", ClientID: "fixture-app", UserID: "user-2",
		Permission: linkvault.PermissionRead, CreatedAt: ft0.Add(time.Second), ExpiresAt: ft0.Add(11 * time.Minute), Version: 1})

	entries, err := s.ListAudit(ctx, linkvault.AuditQuery{ClientID: "fixture-app"})
	fatal("ListAudit", err)
	want := fixtureAudit()
	want[0].ID, want[1].ID = 1, 2
	for i := range entries {
		entries[i].CreatedAt = entries[i].CreatedAt.UTC()
	}
	eq("audit entries", entries, []linkvault.AuditEntry{want[1], want[0]})
	byToken, err := s.ListAudit(ctx, linkvault.AuditQuery{ClientID: "fixture-app", TokenID: "probe"})
	fatal("ListAudit by token", err)
	if len(byToken) != 1 || byToken[0].ID != 2 {
		t.Errorf("fixture ListAudit by probed token = %+v, want entry 2", byToken)
	}

	done, err := s.GetTransfer(ctx, "fixture-app", "tx-done")
	fatal("GetTransfer", err)
	eq("completed transfer", utcTransfer(done), &linkvault.TransferRecord{ClientID: "fixture-app", ClientTransactionID: "tx-done", TokenID: "fixture-token-full",
		RequestHash: hashBody("done"), Status: linkvault.TransferCompleted, ProviderTransferID: "provider-tx-1",
		Result: json.RawMessage(`{"status":"succeeded","amount":"0.5"}`), Attempt: 1, CreatedAt: fixtureNow, UpdatedAt: fixtureNow})
	open, err := s.GetTransfer(ctx, "fixture-app", "tx-open")
	fatal("GetTransfer", err)
	eq("open transfer", utcTransfer(open), &linkvault.TransferRecord{ClientID: "fixture-app", ClientTransactionID: "tx-open", TokenID: "fixture-token-full",
		RequestHash: hashBody("open"), Status: linkvault.TransferExecuting, Attempt: 1, CreatedAt: fixtureNow, UpdatedAt: fixtureNow})
}

func utcClients(cs []*linkvault.Client) []*linkvault.Client {
	for _, c := range cs {
		c.CreatedAt = c.CreatedAt.UTC()
	}
	return cs
}

func utcSession(s *linkvault.LinkSession) *linkvault.LinkSession {
	s.CreatedAt, s.ExpiresAt, s.ConsumedAt = s.CreatedAt.UTC(), s.ExpiresAt.UTC(), s.ConsumedAt.UTC()
	return s
}

func utcTransfer(t *linkvault.TransferRecord) *linkvault.TransferRecord {
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	return t
}
