package refresh

import (
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/vault"
)

// The scheduling arithmetic. Every function takes its random draw u (uniform in
// [0, 1)) as an argument, so tests can pin it.

// nextRefresh is when to refresh a refreshable credential next: RefreshAhead before its
// expiry, moved earlier by up to jitter×ahead, where ahead is capped at half the
// remaining lifetime. The cap matters for providers whose tokens live no longer than
// RefreshAhead (the sandbox's 5-minute tokens against a 5-minute RefreshAhead): without
// it every refresh would be due at once again and the engine would loop on the
// provider. A credential already expired when issued is retried after retry.
func nextRefresh(now time.Time, cred linkvault.Credential, p vault.Policy, jitter, u float64, retry time.Duration) time.Time {
	life := cred.Expiry.Sub(now)
	if life <= 0 {
		return now.Add(retry)
	}
	ahead := min(p.RefreshAhead, life/2)
	return cred.Expiry.Add(-ahead - time.Duration(jitter*u*float64(ahead)))
}

// nextValidation is when to validate a credential without expiry next: ValidateEvery
// from now, moved earlier by up to jitter×ValidateEvery.
func nextValidation(now time.Time, p vault.Policy, jitter, u float64) time.Time {
	return now.Add(p.ValidateEvery - time.Duration(jitter*u*float64(p.ValidateEvery)))
}
