package webhook

import (
	"context"
	"time"

	"github.com/linkvault/linkvault"
)

// OutboxStore is what the Dispatcher needs from the database.
type OutboxStore interface {
	// ClaimWebhookEvents leases up to limit undelivered events due at now (their next
	// attempt time has come and no live lease holds them), oldest first, under a lease
	// string unique to this claim that starts with owner. Different callers never get
	// the same event while a lease is live.
	ClaimWebhookEvents(ctx context.Context, now time.Time, owner string, leaseUntil time.Time, limit int) ([]linkvault.WebhookClaim, error)
	// RecordWebhookAttempt appends the attempt to the delivery log and updates the
	// event (attempts, last status, outcome, next attempt, lease released), in one
	// transaction, if the event is still leased under r.Lease; conflict otherwise.
	RecordWebhookAttempt(ctx context.Context, r linkvault.WebhookAttempt) error
	// ListWebhookSecrets returns the client's secrets, newest first.
	ListWebhookSecrets(ctx context.Context, clientID string) ([]linkvault.SealedWebhookSecret, error)
}

// SecretStore keeps webhook signing secrets.
type SecretStore interface {
	// AddWebhookSecret stores s, whose Version must be one more than the client's
	// highest (conflict otherwise, so concurrent rotations cannot both win), and in the
	// same transaction sets ExpiresAt = retireAt on every other secret of the client
	// that would otherwise sign past retireAt.
	AddWebhookSecret(ctx context.Context, s linkvault.SealedWebhookSecret, retireAt time.Time) error
	// ListWebhookSecrets returns the client's secrets, newest first.
	ListWebhookSecrets(ctx context.Context, clientID string) ([]linkvault.SealedWebhookSecret, error)
}

// DeliveryLog reads the delivery log.
type DeliveryLog interface {
	// ListWebhookDeliveries returns the client's most recent delivery attempts,
	// newest first, at most limit.
	ListWebhookDeliveries(ctx context.Context, clientID string, limit int) ([]linkvault.WebhookDelivery, error)
}

// QueueCounter counts the outbox backlog cheaply (for the queue-depth metric).
type QueueCounter interface {
	// CountPendingWebhookEvents returns how many events still await a delivery attempt.
	CountPendingWebhookEvents(ctx context.Context) (int64, error)
}

// Pruner deletes finished events (delivered, failed or skipped) created before a time,
// with their delivery log, at most limit events per call, oldest first, and returns
// how many events it deleted. Events still awaiting delivery are never pruned.
// Concurrent calls (one per replica) delete disjoint events.
type Pruner interface {
	PruneWebhookEvents(ctx context.Context, before time.Time, limit int) (int64, error)
}
