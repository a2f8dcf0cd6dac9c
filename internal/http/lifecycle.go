package http

import (
	"context"

	"github.com/linkvault/linkvault/internal/vault"
)

// Lifecycle keeps resolved credentials usable. It is implemented by the refresh engine
// (internal/refresh); the API handlers call it around every provider call.
type Lifecycle interface {
	// EnsureFresh returns r unchanged when its credential is usable, or refreshes it
	// first (once per connection across concurrent callers and replicas).
	EnsureFresh(ctx context.Context, r *vault.Resolved) (*vault.Resolved, error)
	// HandleRejected is called when the provider refused r's credential (a
	// linkvault.ProviderReauth error). It returns a credential worth one retry (another
	// worker rotated it meanwhile, or a refresh succeeded), or marks the connection
	// re-auth-required and returns linkvault.ErrReauthRequired().
	HandleRejected(ctx context.Context, r *vault.Resolved, cause error) (*vault.Resolved, error)
}
