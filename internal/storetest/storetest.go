// Package storetest is the conformance suite for linkvault.Store implementations. Each
// store package runs it against a fresh database per behaviour:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) storetest.Store { return testdb.SQLite(t) })
//	}
//
// Times are compared at microsecond precision, the finest PostgreSQL keeps.
package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/account"
	"github.com/linkvault/linkvault/internal/audit"
	"github.com/linkvault/linkvault/internal/link"
	"github.com/linkvault/linkvault/internal/refresh"
	"github.com/linkvault/linkvault/internal/revocation"
	"github.com/linkvault/linkvault/internal/vault"
	"github.com/linkvault/linkvault/internal/webhook"
)

// EventReader reads the transactional outbox, so the suite can check that events are
// written with the state change they describe and never without it.
type EventReader interface {
	// PendingEvents returns the client's undelivered events, oldest first.
	PendingEvents(ctx context.Context, clientID string) ([]linkvault.Event, error)
}

// Store is what the suite tests: the domain store, outbox reads, and every narrow
// store interface the services declare, so a store that misses a method a service
// needs does not compile into the suite.
type Store interface {
	linkvault.Store
	EventReader
	link.Store
	audit.Store
	audit.TransferStore
	account.PreviewStore
	refresh.Store
	webhook.OutboxStore
	webhook.SecretStore
	webhook.DeliveryLog
	webhook.QueueCounter
	webhook.Pruner
	revocation.Store
	vault.ResealStore
	AdvertiseKeyring(ctx context.Context, r linkvault.KeyringReplica) error
	ListKeyringReplicas(ctx context.Context, since time.Time) ([]linkvault.KeyringReplica, error)
	WithdrawKeyring(ctx context.Context, id string) error
}

// conformanceTest is one entry of Run's list: a sub-test name and the test, which gets
// a store of its own.
type conformanceTest struct {
	name string
	run  func(t *testing.T, s Store)
}

// Run runs every conformance test. newStore must return an empty, migrated store that
// is closed when the test ends; it is called once per sub-test, and sub-tests run in
// parallel.
func Run(t *testing.T, newStore func(t *testing.T) Store) {
	tests := []conformanceTest{
		{"Clients", testClients},
		{"APIKeys", testAPIKeys},
		{"DataKeys", testDataKeys},
		{"KeyringReplicas", testKeyringReplicas},
		{"DataKeyConcurrentRewrap", testDataKeyConcurrentRewrap},
		{"ConnectionRoundTrip", testConnectionRoundTrip},
		{"ConnectionIdentityUnique", testConnectionIdentityUnique},
		{"TokenNotFoundHasNoOracle", testTokenNotFoundHasNoOracle},
		{"FindAndListConnections", testFindAndListConnections},
		{"UpdateConnectionCompareAndSwap", testUpdateConnection},
		{"UpdateConnectionConcurrent", testUpdateConnectionConcurrent},
		{"DeleteConnection", testDeleteConnection},
		{"ListConnectionsSealedIn", testListConnectionsSealedIn},
		{"ClaimDueSelection", testClaimDueSelection},
		{"ClaimConcurrentClaimersNeverShareRows", testClaimConcurrent},
		{"ClaimLeaseExpiryFencesOldOwner", testClaimLeaseExpiry},
		{"EventsWrittenAtomically", testEventsAtomic},
		{"TimeRoundTrip", testTimeRoundTrip},
		{"AccountsRoundTrip", testAccountsRoundTrip},
		{"LargeSealedCredential", testLargeSealedCredential},
		{"LinkSessions", testLinkSessions},
		{"AuditAndTransfers", testAuditAndTransfers},
		{"TransferPreviews", testTransferPreviews},
		{"ListCompletedTransfers", testListCompletedTransfers},
		{"RevocationQueue", testRevocationQueue},
		{"RevocationClaimsConcurrent", testRevocationClaimsConcurrent},
		{"RemovalForgetsTheConnection", testRemovalForgetsTheConnection},
		{"AuditAfterRemovalKeepsNoTokenID", testAuditAfterRemovalKeepsNoTokenID},
	}
	tests = append(tests, lifecycleTests()...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.run(t, newStore(t))
		})
	}
}
