package http

import (
	"context"
	"time"

	"github.com/linkvault/linkvault"
)

// APIDeps are what the managed-account API (holdings, balance, transfers, catalog and
// status; the api_*.go files) needs beyond the vault and the providers. Zero fields
// take defaults; a nil Audit records nothing, a nil Transfers disables the execute
// endpoint (it answers 500, since a transfer without idempotency could pay twice).
type APIDeps struct {
	// Audit receives one entry per use of a tokenId (*audit.Recorder in production).
	Audit AuditRecorder
	// Transfers keeps the idempotency records of managed transfers.
	Transfers TransferStore
	// Retry is how transient provider failures are retried within one request.
	Retry RetryPolicy
	// TransferStaleAfter is how long an executing transfer record may go without an
	// answer before another request presumes its owner dead and takes it over (the
	// exchange deduplicates by idempotency key, so a takeover cannot pay twice). The
	// provider calls of one execute are bounded to half of it. Default 2 minutes.
	TransferStaleAfter time.Duration
	// StatusTTL is how long GET /api/v1/status reuses its reachability probes
	// (default 30s).
	StatusTTL time.Duration
}

// AuditRecorder receives audit entries; Record must not block for long.
type AuditRecorder interface {
	Record(ctx context.Context, e linkvault.AuditEntry)
}

// TransferStore keeps managed-transfer idempotency records (see audit.TransferStore).
type TransferStore interface {
	ClaimTransfer(ctx context.Context, t *linkvault.TransferRecord, staleBefore time.Time) (*linkvault.TransferRecord, bool, error)
	FinishTransfer(ctx context.Context, t *linkvault.TransferRecord) error
}

// RetryPolicy retries transient provider failures (5xx, 429, timeouts) within a
// request, with exponential backoff and full jitter. The credential is kept and the
// connection is never marked for re-authentication because of them.
type RetryPolicy struct {
	// Attempts is the number of provider calls per request, the first included
	// (default 3; 1 disables retries).
	Attempts int
	// Base is the first backoff (default 200ms); it doubles per retry.
	Base time.Duration
	// Max caps one wait (default 2s). A provider's Retry-After longer than Max ends
	// the retries: the caller gets it in the Retry-After header instead.
	Max time.Duration
}

func (d APIDeps) withDefaults() APIDeps {
	if d.Retry.Attempts <= 0 {
		d.Retry.Attempts = 3
	}
	if d.Retry.Base <= 0 {
		d.Retry.Base = 200 * time.Millisecond
	}
	if d.Retry.Max <= 0 {
		d.Retry.Max = 2 * time.Second
	}
	if d.TransferStaleAfter <= 0 {
		d.TransferStaleAfter = 2 * time.Minute
	}
	if d.StatusTTL <= 0 {
		d.StatusTTL = 30 * time.Second
	}
	return d
}
