package webhook

import (
	"context"
	"time"

	"github.com/linkvault/linkvault"
)

// Outcome is the state an event is left in after a delivery attempt.
type Outcome string

const (
	// OutcomeDelivered: the receiver answered 2xx; the event is done.
	OutcomeDelivered Outcome = "delivered"
	// OutcomeRetry: the attempt failed in a way worth retrying; the event is due
	// again at AttemptRecord.NextAttemptAt.
	OutcomeRetry Outcome = "retry"
	// OutcomeFailed: the attempt failed for good (non-retryable answer, or the retry
	// schedule is exhausted). The event and its delivery log are kept.
	OutcomeFailed Outcome = "failed"
	// OutcomeSkipped: the client has no webhook URL; the event is not delivered.
	OutcomeSkipped Outcome = "skipped"
)

// Pending is an outbox event claimed for delivery.
type Pending struct {
	Event linkvault.Event
	// URL is the client's webhook URL when the event was claimed; empty when the
	// client has none (or no longer exists).
	URL string
	// Attempts is the number of delivery attempts already made.
	Attempts int
	// Lease identifies this claim: recording the attempt succeeds only while the event
	// is still leased under it (a claim that outlived its lease is fenced out).
	Lease string
}

// AttemptRecord is the result of one delivery attempt, written to the delivery log and
// onto the event in one transaction.
type AttemptRecord struct {
	EventID  string
	ClientID string
	Lease    string // the Pending.Lease of the claim
	Attempt  int    // 1 for the first attempt
	// StatusCode is the receiver's HTTP status; 0 when there was no answer.
	StatusCode int
	// ErrorCode is a short machine code ("timeout", "network", "http_503",
	// "no_webhook_url"), never a response body; empty on success.
	ErrorCode   string
	Duration    time.Duration
	AttemptedAt time.Time
	Outcome     Outcome
	// NextAttemptAt is when to try again (OutcomeRetry only).
	NextAttemptAt time.Time
}

// Delivery is one row of the delivery log, as listed for an operator.
type Delivery struct {
	EventID     string
	EventType   string
	Attempt     int
	StatusCode  int
	ErrorCode   string
	Duration    time.Duration
	AttemptedAt time.Time
}

// SealedSecret is a client's webhook signing secret as stored: sealed with the
// linkvault.Sealer under the client's data key, bound to (client, SecretAAD(version)).
type SealedSecret struct {
	ClientID   string
	Version    int
	Sealed     []byte
	KeyVersion int
	CreatedAt  time.Time
	// ExpiresAt is when the secret stops signing; zero while it is current.
	ExpiresAt time.Time
}

// Active reports whether the secret still signs at now.
func (s SealedSecret) Active(now time.Time) bool {
	return s.ExpiresAt.IsZero() || now.Before(s.ExpiresAt)
}

// OutboxStore is what the Dispatcher needs from the database.
type OutboxStore interface {
	// ClaimWebhookEvents leases up to limit undelivered events due at now (their next
	// attempt time has come and no live lease holds them), oldest first, under a lease
	// string unique to this claim that starts with owner. Different callers never get
	// the same event while a lease is live.
	ClaimWebhookEvents(ctx context.Context, now time.Time, owner string, leaseUntil time.Time, limit int) ([]Pending, error)
	// RecordWebhookAttempt appends the attempt to the delivery log and updates the
	// event (attempts, last status, outcome, next attempt, lease released), in one
	// transaction, if the event is still leased under r.Lease; conflict otherwise.
	RecordWebhookAttempt(ctx context.Context, r AttemptRecord) error
	// ListWebhookSecrets returns the client's secrets, newest first.
	ListWebhookSecrets(ctx context.Context, clientID string) ([]SealedSecret, error)
}

// SecretStore keeps webhook signing secrets.
type SecretStore interface {
	// AddWebhookSecret stores s, whose Version must be one more than the client's
	// highest (conflict otherwise, so concurrent rotations cannot both win), and in the
	// same transaction sets ExpiresAt = retireAt on every other secret of the client
	// that would otherwise sign past retireAt.
	AddWebhookSecret(ctx context.Context, s SealedSecret, retireAt time.Time) error
	// ListWebhookSecrets returns the client's secrets, newest first.
	ListWebhookSecrets(ctx context.Context, clientID string) ([]SealedSecret, error)
}

// DeliveryLog reads the delivery log.
type DeliveryLog interface {
	// ListWebhookDeliveries returns the client's most recent delivery attempts,
	// newest first, at most limit.
	ListWebhookDeliveries(ctx context.Context, clientID string, limit int) ([]Delivery, error)
}

// QueueCounter counts the outbox backlog cheaply (for the queue-depth metric).
type QueueCounter interface {
	// CountPendingWebhookEvents returns how many events still await a delivery attempt.
	CountPendingWebhookEvents(ctx context.Context) (int64, error)
}

// Pruner deletes finished events (delivered, failed or skipped) created before a time,
// with their delivery log. Events still awaiting delivery are never pruned.
type Pruner interface {
	PruneWebhookEvents(ctx context.Context, before time.Time) (int64, error)
}
