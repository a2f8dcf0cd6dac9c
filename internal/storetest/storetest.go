// Package storetest is the conformance suite for linkvault.Store implementations. Each
// store package runs it against a fresh database per behaviour:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) storetest.Store { return sqlite.OpenTestDB(t) })
//	}
//
// Times are compared at microsecond precision, the finest PostgreSQL keeps.
package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
)

// EventReader reads the transactional outbox, so the suite can check that events are
// written with the state change they describe and never without it.
type EventReader interface {
	// PendingEvents returns the client's undelivered events, oldest first.
	PendingEvents(ctx context.Context, clientID string) ([]linkvault.Event, error)
}

// Store is what the suite tests: every method a store offers the services. It is
// spelled out here in domain types, rather than assembled from the services' narrow
// interfaces, so that this kit (like the stores) depends on the domain package only.
type Store interface {
	linkvault.Store
	EventReader
	LinkSessionStore
	AuditStore
	LifecycleStore
	WebhookStore
}

// LinkSessionStore keeps Link sessions (internal/link's Store).
type LinkSessionStore interface {
	CreateLinkSession(ctx context.Context, s *linkvault.LinkSession) error
	GetLinkSession(ctx context.Context, key string) (*linkvault.LinkSession, error)
	GetLinkSessionByPage(ctx context.Context, pageKey string) (*linkvault.LinkSession, error)
	GetLinkSessionByState(ctx context.Context, stateKey string) (*linkvault.LinkSession, error)
	ConsumeLinkSession(ctx context.Context, key, pageKey string, at, expiresAt time.Time) (*linkvault.LinkSession, error)
	UpdateLinkSession(ctx context.Context, s *linkvault.LinkSession) error
	DeleteExpiredLinkSessions(ctx context.Context, before time.Time, limit int) (int, error)
}

// AuditStore keeps the audit log and the transfer idempotency records (internal/audit's
// Store and TransferStore).
type AuditStore interface {
	AppendAudit(ctx context.Context, entries []linkvault.AuditEntry) error
	ListAudit(ctx context.Context, q linkvault.AuditQuery) ([]linkvault.AuditEntry, error)
	PruneAudit(ctx context.Context, before time.Time) (int64, error)
	ClaimTransfer(ctx context.Context, t *linkvault.TransferRecord, staleBefore time.Time) (*linkvault.TransferRecord, bool, error)
	FinishTransfer(ctx context.Context, t *linkvault.TransferRecord) error
	GetTransfer(ctx context.Context, clientID, clientTransactionID string) (*linkvault.TransferRecord, error)
}

// LifecycleStore is what the lifecycle engine (internal/refresh) needs beyond
// linkvault.Store.
type LifecycleStore interface {
	ClaimConnection(ctx context.Context, clientID, tokenID, owner string, now, leaseUntil time.Time) (*linkvault.Connection, error)
	CountDueConnections(ctx context.Context, now time.Time) (int64, error)
}

// WebhookStore is the delivery side of the outbox (internal/webhook's OutboxStore,
// SecretStore, DeliveryLog, QueueCounter and Pruner).
type WebhookStore interface {
	ClaimWebhookEvents(ctx context.Context, now time.Time, owner string, leaseUntil time.Time, limit int) ([]linkvault.WebhookClaim, error)
	RecordWebhookAttempt(ctx context.Context, r linkvault.WebhookAttempt) error
	AddWebhookSecret(ctx context.Context, s linkvault.SealedWebhookSecret, retireAt time.Time) error
	ListWebhookSecrets(ctx context.Context, clientID string) ([]linkvault.SealedWebhookSecret, error)
	ListWebhookDeliveries(ctx context.Context, clientID string, limit int) ([]linkvault.WebhookDelivery, error)
	CountPendingWebhookEvents(ctx context.Context) (int64, error)
	PruneWebhookEvents(ctx context.Context, before time.Time) (int64, error)
}

// Run runs every conformance test. newStore must return an empty, migrated store that
// is closed when the test ends; it is called once per sub-test, and sub-tests run in
// parallel.
func Run(t *testing.T, newStore func(t *testing.T) Store) {
	tests := []struct {
		name string
		run  func(t *testing.T, s Store)
	}{
		{"Clients", testClients},
		{"APIKeys", testAPIKeys},
		{"DataKeys", testDataKeys},
		{"DataKeyConcurrentRewrap", testDataKeyConcurrentRewrap},
		{"ConnectionRoundTrip", testConnectionRoundTrip},
		{"ConnectionIdentityUnique", testConnectionIdentityUnique},
		{"TokenNotFoundHasNoOracle", testTokenNotFoundHasNoOracle},
		{"FindAndListConnections", testFindAndListConnections},
		{"UpdateConnectionCompareAndSwap", testUpdateConnection},
		{"DeleteConnection", testDeleteConnection},
		{"ClaimDueSelection", testClaimDueSelection},
		{"ClaimConcurrentClaimersNeverShareRows", testClaimConcurrent},
		{"ClaimLeaseExpiryFencesOldOwner", testClaimLeaseExpiry},
		{"EventsWrittenAtomically", testEventsAtomic},
		{"TimeRoundTrip", testTimeRoundTrip},
		{"AccountsRoundTrip", testAccountsRoundTrip},
		{"LargeSealedCredential", testLargeSealedCredential},
		{"LinkSessions", testLinkSessions},
		{"AuditAndTransfers", testAuditAndTransfers},
	}
	tests = append(tests, lifecycleTests()...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.run(t, newStore(t))
		})
	}
}
