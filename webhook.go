package linkvault

import "time"

// The records of webhook delivery (internal/webhook delivers, the stores keep them).
// Events themselves are Event values written into the transactional outbox.

// WebhookOutcome is the state an outbox event is left in after a delivery attempt.
type WebhookOutcome string

const (
	// WebhookDelivered: the receiver answered 2xx; the event is done.
	WebhookDelivered WebhookOutcome = "delivered"
	// WebhookRetry: the attempt failed in a way worth retrying; the event is due again
	// at WebhookAttempt.NextAttemptAt.
	WebhookRetry WebhookOutcome = "retry"
	// WebhookFailed: the attempt failed for good (non-retryable answer, or the retry
	// schedule is exhausted). The event and its delivery log are kept.
	WebhookFailed WebhookOutcome = "failed"
	// WebhookSkipped: the client has no webhook URL; the event is not delivered.
	WebhookSkipped WebhookOutcome = "skipped"
)

// WebhookClaim is an outbox event claimed for delivery.
type WebhookClaim struct {
	Event Event
	// URL is the client's webhook URL when the event was claimed; empty when the
	// client has none (or no longer exists).
	URL string
	// Attempts is the number of delivery attempts already made.
	Attempts int
	// Lease identifies this claim: recording the attempt succeeds only while the event
	// is still leased under it (a claim that outlived its lease is fenced out).
	Lease string
}

// WebhookAttempt is the result of one delivery attempt, written to the delivery log and
// onto the event in one transaction.
type WebhookAttempt struct {
	EventID  string
	ClientID string
	Lease    string // the WebhookClaim.Lease of the claim
	Attempt  int    // 1 for the first attempt
	// StatusCode is the receiver's HTTP status; 0 when there was no answer.
	StatusCode int
	// ErrorCode is a short machine code ("timeout", "network", "http_503",
	// "no_webhook_url"), never a response body; empty on success.
	ErrorCode   string
	Duration    time.Duration
	AttemptedAt time.Time
	Outcome     WebhookOutcome
	// NextAttemptAt is when to try again (WebhookRetry only).
	NextAttemptAt time.Time
}

// WebhookDelivery is one row of the delivery log, as listed for an operator.
type WebhookDelivery struct {
	EventID     string
	EventType   string
	Attempt     int
	StatusCode  int
	ErrorCode   string
	Duration    time.Duration
	AttemptedAt time.Time
}

// SealedWebhookSecret is a client's webhook signing secret as stored: sealed with the
// Sealer under the client's data key.
type SealedWebhookSecret struct {
	ClientID   string
	Version    int
	Sealed     []byte
	KeyVersion int
	CreatedAt  time.Time
	// ExpiresAt is when the secret stops signing; zero while it is current.
	ExpiresAt time.Time
}

// Active reports whether the secret still signs at now.
func (s SealedWebhookSecret) Active(now time.Time) bool {
	return s.ExpiresAt.IsZero() || now.Before(s.ExpiresAt)
}
