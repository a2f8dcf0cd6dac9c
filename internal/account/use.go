package account

import (
	"context"
	"crypto/subtle"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/audit"
	"github.com/linkvault/linkvault/internal/poller"
	"github.com/linkvault/linkvault/internal/vault"
)

// conn is a resolved connection ready to be used.
type conn struct {
	res      *vault.Resolved
	provider linkvault.Provider
}

// use is one call that presents a tokenId, and its audit entry.
type use struct {
	s      *Service
	caller Caller
	target Target
	entry  linkvault.AuditEntry
}

// begin starts the audit of one use of a tokenId.
func (s *Service) begin(c Caller, t Target, action string) *use {
	return &use{s: s, caller: c, target: t, entry: linkvault.AuditEntry{
		ClientID: c.ClientID, KeyID: c.KeyID, TokenRef: linkvault.TokenFingerprint(t.TokenID),
		BrokerType: t.Broker, Action: action, CreatedAt: s.now(),
	}}
}

// end records the outcome of u and returns err unchanged.
//
// What is audited: every call that got past input validation and therefore presented
// a tokenId: successes and every failure (not found, scope mismatch, re-auth
// required, exchange errors...). Calls refused earlier (bad input) touch no tokenId
// and are not. The entry names the tokenId only once it resolved to one of the
// caller's connections; otherwise only its fingerprint is kept.
func (u *use) end(ctx context.Context, err error) error {
	if u.s.audit == nil {
		return err
	}
	e := u.entry
	e.Duration = u.s.now().Sub(e.CreatedAt)
	if err == nil {
		e.Outcome = audit.OutcomeOK
	} else {
		e.Outcome = linkvault.ErrorType(err)
	}
	e.HTTPStatus = u.s.statusCode(err)
	u.s.audit.Record(ctx, e)
	return err
}

// prepare resolves the use's tokenId and applies the rules every use shares, in this
// order: resolution (not found), scope (403), re-authentication (423). Write calls
// read the connection from the database, never from the resolve cache.
func (u *use) prepare(ctx context.Context, need linkvault.Permission) (*conn, error) {
	s := u.s
	if u.caller.UserID == "" && !u.caller.Permission.Allows(need) {
		// An API key too weak for the call (the HTTP layer refuses it earlier). A Link
		// page's permission is its connections' scope: the scope rule below answers.
		return nil, ErrReadOnlyKey()
	}
	resolve := s.vault.Resolve
	if need == linkvault.PermissionWrite {
		resolve = s.vault.ResolveFresh
	}
	res, err := resolve(ctx, u.caller.ClientID, u.target.TokenID)
	if err != nil {
		return nil, err
	}
	c := res.Connection
	u.entry.TokenID = c.TokenID // the client's own connection from here on
	if u.target.Broker != "" && c.BrokerType != u.target.Broker {
		return nil, linkvault.ErrTokenNotFound()
	}
	if u.caller.UserID != "" {
		// A Link page: only its own user's connections, of exactly its scope.
		sameUser := subtle.ConstantTimeCompare([]byte(c.UserID), []byte(u.caller.UserID)) == 1
		if !sameUser || c.Scope != u.caller.Permission {
			return nil, linkvault.ErrTokenNotFound()
		}
	}
	u.entry.BrokerType = c.BrokerType
	if !c.Scope.Allows(need) {
		return nil, linkvault.ErrScopeMismatch()
	}
	if c.Status == linkvault.StatusReauthRequired {
		return nil, linkvault.ErrReauthRequired()
	}
	p, ok := s.providers.Provider(c.BrokerType)
	if !ok {
		return nil, ErrIntegrationDisabled()
	}
	return &conn{res: res, provider: p}, nil
}

// ErrReadOnlyKey is the answer to a write call made with a read API key.
func ErrReadOnlyKey() *linkvault.Error {
	return &linkvault.Error{Status: linkvault.StatusPermissionDenied, Type: linkvault.ErrTypeReadOnlyKey,
		Message: "This API key has read permission; this endpoint needs a key with write permission."}
}

// ErrIntegrationDisabled reports a connection whose integration is not enabled here.
func ErrIntegrationDisabled() *linkvault.Error {
	return &linkvault.Error{Status: linkvault.StatusServerFailure, Type: linkvault.ErrTypeProviderFailure,
		Message: "This integration is not enabled on this server."}
}

// DefaultRetryAfter is the Retry-After given with a transient failure when the
// exchange named none.
const DefaultRetryAfter = 2 * time.Second

// call runs op against the exchange with a usable credential. op must be safe to
// repeat: reads are, and transfers carry an idempotency key the exchange honours.
func (s *Service) call(ctx context.Context, c *conn, op func(ctx context.Context, cred linkvault.Credential) error) error {
	res := c.res
	broker := res.Connection.BrokerType
	if s.lifecycle != nil {
		fresh, err := s.lifecycle.EnsureFresh(ctx, res)
		if err != nil {
			s.health.observe(broker, err)
			return MapProviderError(err)
		}
		res = fresh
	}
	rejections := 0
	for attempt := 1; ; attempt++ {
		err := op(ctx, res.Credential)
		s.health.observe(broker, err)
		switch {
		case err == nil:
			c.res = res
			return nil
		case linkvault.IsReauthRequired(err):
			rejections++
			next, herr := s.handleRejected(ctx, res, err)
			if herr != nil {
				return herr
			}
			if rejections > 1 {
				// A credential the lifecycle engine vouched for was refused as well;
				// keep the connection and let the app retry later.
				s.log.WarnContext(ctx, "provider refused a renewed credential", "broker", broker)
				return linkvault.ErrProviderUnavailable(DefaultRetryAfter)
			}
			res = next
		case linkvault.IsTransient(err):
			wait, ok := s.backoff(ctx, attempt, err)
			if !ok {
				return MapProviderError(err)
			}
			if err := poller.Sleep(ctx, wait); err != nil {
				return MapProviderError(err)
			}
		default:
			return MapProviderError(err)
		}
	}
}

// handleRejected deals with a refused credential: the lifecycle engine decides
// (another worker may have rotated it); without one the connection is marked
// re-auth-required at once.
func (s *Service) handleRejected(ctx context.Context, res *vault.Resolved, cause error) (*vault.Resolved, error) {
	if s.lifecycle != nil {
		next, err := s.lifecycle.HandleRejected(ctx, res, cause)
		if err != nil {
			return nil, MapProviderError(err)
		}
		return next, nil
	}
	c := *res.Connection
	if err := s.vault.MarkReauthRequired(context.WithoutCancel(ctx), &c, linkvault.ErrTypeReauthRequired); err != nil {
		s.log.WarnContext(ctx, "could not mark the connection re-auth-required", "broker", c.BrokerType, "error", err)
	}
	return nil, linkvault.ErrReauthRequired()
}

// backoff returns how long to wait before retry number attempt (1-based count of the
// calls made so far), or false when no retry should be made.
func (s *Service) backoff(ctx context.Context, attempt int, err error) (time.Duration, bool) {
	p := s.retry
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
		wait = d/2 + rand.N(d/2+1) // jitter over the upper half
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
		return 0, false
	}
	return wait, true
}

// MapProviderError maps an exchange (or lifecycle) failure to the error the caller
// gets. *linkvault.Error values pass through; classified provider errors become
// envelope errors whose messages are ours, never upstream text.
func MapProviderError(err error) error {
	var le *linkvault.Error
	if errors.As(err, &le) {
		return err
	}
	var pe *linkvault.ProviderError
	if !errors.As(err, &pe) {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return linkvault.ErrProviderUnavailable(DefaultRetryAfter)
		}
		return err // internal: logged by the HTTP layer, answered generically
	}
	if e, ok := pe.CommonError(pe); ok {
		return e
	}
	switch pe.Kind {
	case linkvault.ProviderTransient:
		ra := pe.RetryAfter
		if ra <= 0 {
			ra = DefaultRetryAfter
		}
		e := linkvault.ErrProviderUnavailable(ra)
		e.Err = err
		return e
	case linkvault.ProviderReauth:
		return linkvault.ErrReauthRequired()
	case linkvault.ProviderRejected:
		return rejectedError(pe)
	}
	return err
}

// rejectedError words an exchange's refusal of the request itself.
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

// isFinalRejection reports whether err is the exchange refusing the transfer itself,
// which a retry would only repeat.
func isFinalRejection(err error) bool {
	switch linkvault.ErrorType(err) {
	case linkvault.ErrTypeProviderRejected, linkvault.ErrTypeInsufficientFunds, linkvault.ErrTypeTransferNotAllowed:
		return true
	}
	return false
}
