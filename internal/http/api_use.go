package http

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/vault"
)

// The shared path of every call that uses a tokenId:
//
//  1. resolve the tokenId for the calling client (another client's tokenId, a removed
//     one and one never issued all give the same ErrTokenNotFound);
//  2. the request's type must be the connection's brokerType, else the same
//     ErrTokenNotFound (no oracle on what a tokenId is);
//  3. a write call with a read-scoped connection is refused (403 scopeMismatch) before
//     anything else happens: nothing is executed, nothing reaches the exchange;
//  4. a connection marked re-auth-required answers 423 telling the app to open Link;
//  5. the credential is refreshed first when needed (Deps.Lifecycle), then the
//     provider is called; a refused credential goes through Lifecycle.HandleRejected
//     and one retry (without a Lifecycle, the connection is marked re-auth-required);
//     transient failures are retried with backoff, keeping the credential; refusals of
//     the request itself become clear 4xx errors without upstream text.

// connection is a resolved connection ready to be used.
type connection struct {
	res      *vault.Resolved
	provider linkvault.Provider
}

// prepare runs steps 1-4 for u and finds the connection's provider. Write calls read
// the connection from the database, never from the resolve cache: a connection removed
// or flagged on another replica within the cache TTL must not move money.
func (a *accountAPI) prepare(ctx context.Context, u *use, need linkvault.Permission) (*connection, error) {
	resolve := a.s.deps.Vault.Resolve
	if need == linkvault.PermissionWrite {
		resolve = a.s.deps.Vault.ResolveFresh
	}
	res, err := resolve(ctx, u.entry.ClientID, u.tokenID)
	if err != nil {
		return nil, err
	}
	c := res.Connection
	u.entry.TokenID = c.TokenID // the client's own connection from here on
	if c.BrokerType != u.entry.BrokerType {
		return nil, linkvault.ErrTokenNotFound()
	}
	if !c.Scope.Allows(need) {
		return nil, linkvault.ErrScopeMismatch()
	}
	if c.Status == linkvault.StatusReauthRequired {
		return nil, linkvault.ErrReauthRequired()
	}
	p, ok := a.provider(c.BrokerType)
	if !ok {
		return nil, errIntegrationDisabled()
	}
	return &connection{res: res, provider: p}, nil
}

func (a *accountAPI) provider(b linkvault.BrokerType) (linkvault.Provider, bool) {
	if a.s.deps.Providers == nil {
		return nil, false
	}
	return a.s.deps.Providers.Provider(b)
}

func errIntegrationDisabled() *linkvault.Error {
	return &linkvault.Error{Status: linkvault.StatusServerFailure, Type: linkvault.ErrTypeProviderFailure,
		Message: "This integration is not enabled on this server."}
}

// defaultRetryAfter is the Retry-After given with a transient failure when the
// provider named none.
const defaultRetryAfter = 2 * time.Second

// call runs op against the provider with a usable credential (step 5). op must be safe
// to repeat: reads are, and transfers carry an idempotency key the exchange honours.
func (a *accountAPI) call(ctx context.Context, conn *connection, op func(ctx context.Context, cred linkvault.Credential) error) error {
	res := conn.res
	broker := res.Connection.BrokerType
	if lc := a.s.deps.Lifecycle; lc != nil {
		fresh, err := lc.EnsureFresh(ctx, res)
		if err != nil {
			a.health.observe(broker, err)
			return providerError(err)
		}
		res = fresh
	}
	rejections := 0
	for attempt := 1; ; attempt++ {
		err := op(ctx, res.Credential)
		a.health.observe(broker, err)
		switch {
		case err == nil:
			return nil
		case linkvault.IsReauthRequired(err):
			rejections++
			next, herr := a.handleRejected(ctx, res, err)
			if herr != nil {
				return herr
			}
			if rejections > 1 {
				// A credential the lifecycle engine vouched for was refused as well;
				// keep the connection and let the app retry later.
				a.s.log.WarnContext(ctx, "provider refused a renewed credential", "broker", broker)
				return linkvault.ErrProviderUnavailable(defaultRetryAfter)
			}
			res = next
		case linkvault.IsTransient(err):
			wait, ok := a.backoff(ctx, attempt, err)
			if !ok {
				return providerError(err)
			}
			if err := sleepCtx(ctx, wait); err != nil {
				return providerError(err)
			}
		default:
			return providerError(err)
		}
	}
}

// handleRejected deals with a refused credential: the lifecycle engine decides
// (another worker may have rotated it); without one the connection is marked
// re-auth-required at once.
func (a *accountAPI) handleRejected(ctx context.Context, res *vault.Resolved, cause error) (*vault.Resolved, error) {
	if lc := a.s.deps.Lifecycle; lc != nil {
		next, err := lc.HandleRejected(ctx, res, cause)
		if err != nil {
			return nil, providerError(err)
		}
		return next, nil
	}
	c := *res.Connection
	if err := a.s.deps.Vault.MarkReauthRequired(context.WithoutCancel(ctx), &c, linkvault.ErrTypeReauthRequired); err != nil {
		a.s.log.WarnContext(ctx, "could not mark the connection re-auth-required", "broker", c.BrokerType, "error", err)
	}
	return nil, linkvault.ErrReauthRequired()
}

// backoff returns how long to wait before retry number attempt (1-based count of the
// calls made so far), or false when no retry should be made.
func (a *accountAPI) backoff(ctx context.Context, attempt int, err error) (time.Duration, bool) {
	p := a.deps.Retry
	if attempt >= p.Attempts || ctx.Err() != nil {
		return 0, false
	}
	var pe *linkvault.ProviderError
	if errors.As(err, &pe) && pe.Code == "canceled" {
		return 0, false
	}
	var wait time.Duration
	if errors.As(err, &pe) && pe.RetryAfter > 0 {
		if pe.RetryAfter > p.Max {
			return 0, false
		}
		wait = pe.RetryAfter
	} else {
		d := min(p.Base<<(attempt-1), p.Max)
		wait = d/2 + rand.N(d/2+1) // full jitter over the upper half
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
		return 0, false
	}
	return wait, true
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// providerError maps a provider (or lifecycle) failure to the error the caller gets.
// *linkvault.Error values pass through; classified provider errors become envelope
// errors whose messages are ours, never upstream text.
func providerError(err error) error {
	var le *linkvault.Error
	if errors.As(err, &le) {
		return err
	}
	var pe *linkvault.ProviderError
	if !errors.As(err, &pe) {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return linkvault.ErrProviderUnavailable(defaultRetryAfter)
		}
		return err // internal: logged by writeError, answered generically
	}
	switch pe.Kind {
	case linkvault.ProviderTransient:
		ra := pe.RetryAfter
		if ra <= 0 {
			ra = defaultRetryAfter
		}
		e := linkvault.ErrProviderUnavailable(ra)
		e.Err = err
		return e
	case linkvault.ProviderReauth:
		return linkvault.ErrReauthRequired()
	case linkvault.ProviderRejected:
		return rejectedError(pe)
	case linkvault.ProviderMFARequired:
		e := linkvault.ErrMFARequired(pe.Code == "mfa_invalid")
		e.Err = pe
		return e
	case linkvault.ProviderUnsupported:
		e := linkvault.ErrNotSupported("This operation")
		e.Err = pe
		return e
	}
	return err
}

// rejectedError words a provider's refusal of the request itself.
func rejectedError(pe *linkvault.ProviderError) *linkvault.Error {
	rejected := func(msg string) *linkvault.Error {
		return &linkvault.Error{Status: linkvault.StatusBadRequest, Type: linkvault.ErrTypeProviderRejected, Message: msg, Err: pe}
	}
	switch pe.Code {
	case "insufficient_funds":
		return &linkvault.Error{Status: linkvault.StatusBadRequest, Type: linkvault.ErrTypeInsufficientFunds,
			Message: "The account's balance does not cover the amount plus the network fee.",
			Display: "Insufficient funds for this transfer.", Err: pe}
	case "invalid_address":
		return rejected("The exchange refused the destination address (toAddress).")
	case "invalid_network":
		return rejected("The exchange cannot send this symbol on this network.")
	case "invalid_amount":
		return rejected("The exchange refused the amount.")
	case "invalid_symbol":
		return rejected("The exchange does not support this symbol.")
	case "quote_expired":
		return rejected("The quote expired; preview the transfer again.")
	case "insufficient_scope", "forbidden", "two_factor_required", "personal_details_required", "unverified_email":
		return &linkvault.Error{Status: linkvault.StatusPermissionDenied, Type: linkvault.ErrTypeTransferNotAllowed,
			Message: "The exchange does not allow this account to make this transfer.", Err: pe}
	}
	return rejected("The exchange refused the request.")
}
