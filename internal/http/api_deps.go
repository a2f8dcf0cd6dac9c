package http

import (
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/account"
)

// APIDeps configure the account service (internal/account) that NewServer builds when
// Deps.Account is nil. Zero fields take the service's defaults; a nil Audit records
// nothing, a nil Transfers disables executing transfers.
type APIDeps struct {
	// Audit receives one entry per use of a tokenId (*audit.Recorder in production).
	Audit account.AuditRecorder
	// Transfers keeps the idempotency ledger of managed transfers, Previews their
	// stored previews.
	Transfers account.TransferStore
	Previews  account.PreviewStore
	// Retry is how transient provider failures are retried within one request.
	Retry RetryPolicy
	// TransferStaleAfter: see account.Config.
	TransferStaleAfter time.Duration
	// StatusTTL is how long GET /api/v1/status reuses its reachability probes.
	StatusTTL time.Duration
}

// RetryPolicy is account.RetryPolicy.
type RetryPolicy = account.RetryPolicy

// TransferStore is account.TransferStore.
type TransferStore = account.TransferStore

// Lifecycle keeps resolved credentials usable (account.Lifecycle; implemented by the
// refresh engine).
type Lifecycle = account.Lifecycle

// accountService returns the account service of deps: Deps.Account, or one built from
// the other fields.
func accountService(deps Deps) (*account.Service, error) {
	if deps.Account != nil {
		return deps.Account, nil
	}
	if deps.Vault == nil {
		return nil, nil
	}
	return account.New(account.Config{
		Vault: deps.Vault, Providers: deps.Providers, Lifecycle: deps.Lifecycle,
		Audit: deps.API.Audit, Transfers: deps.API.Transfers, Previews: deps.API.Previews, Retry: deps.API.Retry,
		TransferStaleAfter: deps.API.TransferStaleAfter, HealthTTL: deps.API.StatusTTL,
		StatusCode: StatusCode, Now: deps.Now, Logger: deps.Logger,
	})
}

// errAccountUnavailable answers the account endpoints of a server built without the
// account service (a test server of another area).
func errAccountUnavailable() *linkvault.Error {
	return &linkvault.Error{Status: linkvault.StatusServerFailure, Type: linkvault.ErrTypeInternal,
		Message: "The managed-account API is not configured on this server."}
}
