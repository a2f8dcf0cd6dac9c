// Package vault is the token vault core: it creates or reuses a connection for a
// (client, user, integration, scope), seals its credential, resolves a tokenId back into
// a usable credential for the client that owns it, and removes connections for good.
// It knows nothing of HTTP or of any particular database.
package vault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	mathrand "math/rand/v2"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/poller"
)

// Store is what the vault needs from the database.
type Store interface {
	CreateConnection(ctx context.Context, c *linkvault.Connection, events ...linkvault.Event) error
	GetConnection(ctx context.Context, clientID, tokenID string) (*linkvault.Connection, error)
	FindConnection(ctx context.Context, id linkvault.ConnectionIdentity) (*linkvault.Connection, error)
	UpdateConnection(ctx context.Context, c *linkvault.Connection, events ...linkvault.Event) error
	// UpdateConnectionRevoking is UpdateConnection that also queues revs for
	// revocation in the same transaction.
	UpdateConnectionRevoking(ctx context.Context, c *linkvault.Connection, revs []linkvault.PendingRevocation, events ...linkvault.Event) error
	// RemoveConnection deletes the connection, what else identifies it, and queues
	// its revocations in one transaction; ErrTokenNotFound if absent.
	RemoveConnection(ctx context.Context, r linkvault.Removal, events ...linkvault.Event) error
}

// Revoker says which exchanges can revoke a grant. Implemented by the provider registry.
type Revoker interface {
	CanRevoke(broker linkvault.BrokerType) bool
}

// RevocationQueue revokes queued credentials (internal/revocation). The vault writes
// an entry leased under Lease in the transaction that made the credential obsolete,
// then calls Try once the transaction committed.
type RevocationQueue interface {
	Lease(now time.Time) (owner string, until time.Time)
	Try(ctx context.Context, r linkvault.PendingRevocation, cred linkvault.Credential) linkvault.RevocationState
	// Observe counts a final state reached without the queue.
	Observe(broker linkvault.BrokerType, reason string, state linkvault.RevocationState)
}

// Policy decides when the lifecycle engine should next look at a connection.
type Policy struct {
	// RefreshAhead is how long before access expiry a refreshable credential is renewed.
	RefreshAhead time.Duration
	// ValidateEvery is the period of the cheap validation call for credentials that do
	// not expire by time (Uphold-like).
	ValidateEvery time.Duration
	// WarnAhead is the longest lead of the connection.expiry_warning event before a
	// known, non-refreshable expiry (Binance-like sessions).
	WarnAhead time.Duration
	// WarnFraction makes the lead proportional to the session: the warning comes
	// min(WarnAhead, WarnFraction × the session's remaining life when it is stored)
	// before the expiry, so a session shorter than WarnAhead is warned too. 0 means
	// DefaultWarnFraction.
	WarnFraction float64
}

// DefaultWarnFraction is the share of a session's life used as its warning lead when
// that is shorter than WarnAhead: a 24 h session is warned 1 h ahead (WarnAhead), a
// 30 min one 6 min ahead.
const DefaultWarnFraction = 0.2

// DefaultPolicy is used when Config.Policy is zero.
var DefaultPolicy = Policy{RefreshAhead: 5 * time.Minute, ValidateEvery: time.Hour, WarnAhead: time.Hour, WarnFraction: DefaultWarnFraction}

// WarnLead is how long before its expiry a session with the given remaining life is
// warned: min(WarnAhead, WarnFraction × life), never negative.
func (p Policy) WarnLead(life time.Duration) time.Duration {
	f := p.WarnFraction
	if f <= 0 {
		f = DefaultWarnFraction
	}
	return max(0, min(p.WarnAhead, time.Duration(f*float64(life))))
}

// NextCheck returns when the engine should next look at a connection holding c.
func (p Policy) NextCheck(now time.Time, c linkvault.Credential) time.Time {
	switch {
	case c.Expiry.IsZero():
		return now.Add(p.ValidateEvery)
	case c.CanRefresh():
		t := c.Expiry.Add(-p.RefreshAhead)
		if t.Before(now) {
			return now
		}
		return t
	default:
		// Expiring and not refreshable (Binance-like session): look again when the
		// warning is due, and at expiry to mark it re-auth-required.
		if w := c.Expiry.Add(-p.WarnLead(c.Expiry.Sub(now))); w.After(now) {
			return w
		}
		if c.Expiry.After(now) {
			return c.Expiry
		}
		return now
	}
}

// Sealer seals connection credentials bound to their row, and other values (the
// revocation queue's entries) bound to their own id: *envelope.Keyring.
type Sealer interface {
	linkvault.Sealer
	linkvault.CredentialSealer
}

// Config configures a Service.
type Config struct {
	Store  Store
	Sealer Sealer
	// Revoker and Revocations revoke obsolete grants (removed or replaced
	// credentials); both nil skips provider revocation (tests of other matters).
	Revoker     Revoker
	Revocations RevocationQueue
	// FingerprintKey returns the key of the fingerprints that replace a removed
	// connection's tokenId in the records that outlive it (HMAC-SHA256; the keyring's
	// derived fingerprint key). Nil clears the tokenId from them instead.
	FingerprintKey func(ctx context.Context) ([]byte, error)
	Now            func() time.Time
	Logger         *slog.Logger
	Policy         Policy
	// CacheSize bounds the resolve cache (entries); 0 disables caching.
	CacheSize int
	// CacheTTL bounds how stale a cached connection may be when another process
	// changed it (other replicas, CLI). Local changes invalidate at once.
	CacheTTL time.Duration
}

// Service is the vault. It is safe for concurrent use.
type Service struct {
	store   Store
	sealer  Sealer
	revoker Revoker
	queue   RevocationQueue
	fpKey   func(ctx context.Context) ([]byte, error)
	now     func() time.Time
	log     *slog.Logger
	policy  Policy
	cache   *resolveCache
}

// New returns a Service.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Policy == (Policy{}) {
		cfg.Policy = DefaultPolicy
	}
	return &Service{
		store: cfg.Store, sealer: cfg.Sealer, revoker: cfg.Revoker, queue: cfg.Revocations, fpKey: cfg.FingerprintKey, now: cfg.Now,
		log: cfg.Logger, policy: cfg.Policy, cache: newResolveCache(cfg.CacheSize, cfg.CacheTTL),
	}
}

// Policy returns the scheduling policy in use.
func (s *Service) Policy() Policy { return s.policy }

// ConnectParams describes a successful authentication to an integration.
type ConnectParams struct {
	linkvault.ConnectionIdentity
	Credential linkvault.Credential
	Accounts   []linkvault.Account
	// TokenID, when set, names the connection being re-authenticated: it must belong
	// to the same identity, and keeps its tokenId.
	TokenID string
}

// Connect creates the connection for the identity, or reuses the existing one (same
// tokenId) with the new credential, marking it active again.
func (s *Service) Connect(ctx context.Context, p ConnectParams) (*linkvault.Connection, error) {
	if err := validateIdentity(p.ConnectionIdentity); err != nil {
		return nil, err
	}
	for attempt := range maxConnectAttempts {
		if attempt > 0 {
			// Another writer changed the row between our read and write; back off a
			// little (randomised, growing) and read it again.
			if err := poller.Sleep(ctx, time.Duration(1+mathrand.IntN(4*attempt))*time.Millisecond); err != nil {
				return nil, err
			}
		}
		existing, err := s.existingFor(ctx, p)
		switch {
		case err == nil:
			c, err := s.reconnect(ctx, existing, p)
			if linkvault.IsConflict(err) {
				continue
			}
			return c, err
		case linkvault.IsNotFound(err) && p.TokenID != "":
			return nil, err // re-authentication of a connection that is not this identity's
		case linkvault.IsNotFound(err):
			c, err := s.create(ctx, p)
			if linkvault.IsConflict(err) {
				continue // a concurrent connect created it; reuse it
			}
			return c, err
		default:
			return nil, err
		}
	}
	return nil, linkvault.ErrConflict("The connection is being changed concurrently; try again.")
}

const maxConnectAttempts = 10

func (s *Service) existingFor(ctx context.Context, p ConnectParams) (*linkvault.Connection, error) {
	if p.TokenID == "" {
		return s.store.FindConnection(ctx, p.ConnectionIdentity)
	}
	c, err := s.store.GetConnection(ctx, p.ClientID, p.TokenID)
	if err != nil {
		return nil, err
	}
	if c.ConnectionIdentity != p.ConnectionIdentity {
		// Re-authentication must be by the same user, integration and scope.
		return nil, linkvault.ErrTokenNotFound()
	}
	return c, nil
}

func validateIdentity(id linkvault.ConnectionIdentity) error {
	if id.ClientID == "" {
		return linkvault.ErrInvalid("client is required.")
	}
	if err := linkvault.ValidateUserID(id.UserID); err != nil {
		return err
	}
	if _, err := linkvault.ParseBrokerType(string(id.BrokerType)); err != nil {
		return err
	}
	if !id.Scope.Valid() {
		return linkvault.ErrInvalid("scope must be read or write.")
	}
	return nil
}

func (s *Service) create(ctx context.Context, p ConnectParams) (*linkvault.Connection, error) {
	now := s.now()
	c := &linkvault.Connection{
		TokenID:            linkvault.NewTokenID(),
		ConnectionIdentity: p.ConnectionIdentity,
		Status:             linkvault.StatusActive,
		Accounts:           p.Accounts,
		CreatedAt:          now,
		UpdatedAt:          now,
	}
	if err := s.setCredential(ctx, c, p.Credential, now); err != nil {
		return nil, err
	}
	ev := s.Event(c, linkvault.EventConnectionCreated, nil)
	if err := s.store.CreateConnection(ctx, c, ev); err != nil {
		return nil, err
	}
	return c, nil
}

// reconnect replaces the credential of the identity's existing connection c (same
// tokenId). The superseded credential's grant is queued for revocation in the same
// transaction and revoked once the new credential has committed, unless it is the
// same grant. A login to a different exchange account (Credential.Subject) keeps the
// tokenId and is announced with connection.account_changed (see docs/lifecycle.md).
func (s *Service) reconnect(ctx context.Context, c *linkvault.Connection, p ConnectParams) (*linkvault.Connection, error) {
	now := s.now()
	old, oldErr := s.Open(ctx, c)
	if oldErr != nil {
		s.log.ErrorContext(ctx, "vault: the credential being replaced cannot be decrypted; its grant cannot be revoked",
			"broker", c.BrokerType, "client", c.ClientID, "error_type", linkvault.ErrorType(oldErr))
	}
	wasReauth := c.Status == linkvault.StatusReauthRequired
	previousAccounts := c.Accounts
	// The exchange account the connection held: its column, or (rows sealed before the
	// column existed) the replaced credential's subject.
	previousUpstream := c.UpstreamAccount
	if previousUpstream == "" && oldErr == nil {
		previousUpstream = old.Subject
	}
	c.Status = linkvault.StatusActive
	if p.Accounts != nil {
		c.Accounts = p.Accounts
	}
	c.FailureCount, c.LastError = 0, ""
	c.LeaseOwner, c.LeaseExpiresAt = "", time.Time{}
	if err := s.setCredential(ctx, c, p.Credential, now); err != nil {
		return nil, err
	}
	var events []linkvault.Event
	if wasReauth {
		events = append(events, s.Event(c, linkvault.EventConnectionRecovered, nil))
	}
	if accountChanged(previousUpstream, p.Credential.Subject) {
		// details are strings, as in every event (sdk/go decodes them so): the
		// account ids comma-separated.
		events = append(events, s.Event(c, linkvault.EventAccountChanged, map[string]string{
			"previousAccountIds": accountIDs(previousAccounts), "accountIds": accountIDs(c.Accounts),
		}))
		s.log.InfoContext(ctx, "vault: reconnect logged in to a different exchange account; tokenId kept",
			"broker", c.BrokerType, "client", c.ClientID)
	}
	var (
		revs  []linkvault.PendingRevocation
		final linkvault.RevocationState // counted once the replacement commits
		err   error
	)
	switch {
	case oldErr != nil:
		final = linkvault.RevocationUnreadable
	case sameGrant(old, p.Credential):
		// Nothing was superseded (the same API key entered again).
	case !s.canRevoke(c.BrokerType):
		final = linkvault.RevocationUnsupported
	default:
		revs, err = s.pendingRevocation(ctx, c, old, linkvault.RevocationReasonReplaced)
		if err != nil {
			return nil, err
		}
	}
	s.cache.remove(c.ClientID, c.TokenID)
	if err := s.store.UpdateConnectionRevoking(ctx, c, revs, events...); err != nil {
		return nil, err
	}
	if final != "" {
		s.observe(c.BrokerType, linkvault.RevocationReasonReplaced, final)
	}
	s.tryRevocations(ctx, revs, old)
	return c, nil
}

// setCredential seals cred into c and sets the expiry and scheduling fields from it.
func (s *Service) setCredential(ctx context.Context, c *linkvault.Connection, cred linkvault.Credential, now time.Time) error {
	if cred.Subject != "" {
		c.UpstreamAccount = cred.Subject
	}
	sealed, ver, err := s.sealer.SealCredential(ctx, c, cred)
	if err != nil {
		return fmt.Errorf("vault: seal credential: %w", err)
	}
	c.SealedCredential, c.KeyVersion = sealed, ver
	c.AccessExpiresAt, c.RefreshExpiresAt = cred.Expiry, cred.RefreshExpiry
	c.NextCheckAt = s.policy.NextCheck(now, cred)
	c.UpdatedAt = now
	return nil
}

// Resolved is a connection with its credential opened.
type Resolved struct {
	Connection *linkvault.Connection
	Credential linkvault.Credential
}

// Resolve returns the client's connection and its opened credential. A tokenId that
// does not exist, was removed or belongs to another client yields the same
// linkvault.ErrTokenNotFound.
func (s *Service) Resolve(ctx context.Context, clientID, tokenID string) (*Resolved, error) {
	return s.resolve(ctx, clientID, tokenID, true)
}

// Peek is Resolve for a caller that only reads the result (POST
// /api/v1/managed/token/get): a cached connection is handed out without the copy
// Resolve makes, so the result may be shared with the cache and other requests and
// must never be modified.
func (s *Service) Peek(ctx context.Context, clientID, tokenID string) (*Resolved, error) {
	if linkvault.PlausibleTokenID(tokenID) {
		if r, ok := s.cache.peek(clientID, tokenID, s.now()); ok {
			return r, nil
		}
	}
	return s.resolve(ctx, clientID, tokenID, false)
}

// ResolveFresh is Resolve reading the database even when the connection is cached:
// for operations that move money, a connection removed or flagged for re-auth by
// another replica a moment ago must never be used. It refreshes the cache entry.
func (s *Service) ResolveFresh(ctx context.Context, clientID, tokenID string) (*Resolved, error) {
	return s.resolve(ctx, clientID, tokenID, false)
}

func (s *Service) resolve(ctx context.Context, clientID, tokenID string, cached bool) (*Resolved, error) {
	if !linkvault.PlausibleTokenID(tokenID) {
		return nil, linkvault.ErrTokenNotFound()
	}
	if cached {
		if r, ok := s.cache.get(clientID, tokenID, s.now()); ok {
			return r, nil
		}
	}
	c, err := s.store.GetConnection(ctx, clientID, tokenID)
	if linkvault.IsNotFound(err) {
		s.cache.remove(clientID, tokenID)
	}
	if err != nil {
		return nil, err
	}
	cred, err := s.Open(ctx, c)
	if err != nil {
		return nil, err
	}
	r := &Resolved{Connection: c, Credential: cred}
	s.cache.put(clientID, tokenID, r, s.now())
	return r, nil
}

// Open decrypts the credential sealed in c.
func (s *Service) Open(ctx context.Context, c *linkvault.Connection) (linkvault.Credential, error) {
	cred, err := s.sealer.OpenCredential(ctx, c)
	if linkvault.ErrorType(err) == linkvault.ErrTypeCredentialIntegrity {
		// The row no longer matches what was sealed: someone edited it in the
		// database (or the ciphertext is damaged). Never used; said loudly.
		s.log.ErrorContext(ctx, "stored credential failed its integrity check; a bound field of the row was altered or the ciphertext damaged",
			"client", c.ClientID, "token_ref", linkvault.TokenFingerprint(c.TokenID), "broker", c.BrokerType, "scope", c.Scope, "key_version", c.KeyVersion)
	}
	return cred, err
}

// Save writes a changed credential back (after a refresh) if c is still at the version
// read; the caller must hold the connection's lease or single-flight slot.
func (s *Service) Save(ctx context.Context, c *linkvault.Connection, cred linkvault.Credential, events ...linkvault.Event) error {
	if err := s.setCredential(ctx, c, cred, s.now()); err != nil {
		return err
	}
	s.cache.remove(c.ClientID, c.TokenID)
	return s.store.UpdateConnection(ctx, c, events...)
}

// Update writes non-credential changes of c (status, schedule, lease) with the given events.
func (s *Service) Update(ctx context.Context, c *linkvault.Connection, events ...linkvault.Event) error {
	c.UpdatedAt = s.now()
	s.cache.remove(c.ClientID, c.TokenID)
	return s.store.UpdateConnection(ctx, c, events...)
}

// MarkReauthRequired flags the connection so that the next Link session asks the user
// to authenticate again; the tokenId stays. reason is an ErrType* code.
func (s *Service) MarkReauthRequired(ctx context.Context, c *linkvault.Connection, reason string) error {
	if c.Status == linkvault.StatusReauthRequired {
		return nil
	}
	c.Status = linkvault.StatusReauthRequired
	c.LastError = reason
	c.NextCheckAt = time.Time{}
	c.LeaseOwner, c.LeaseExpiresAt = "", time.Time{}
	return s.Update(ctx, c, s.Event(c, linkvault.EventReauthRequired, map[string]string{"reason": reason}))
}

// Removed is what a removal did.
type Removed struct {
	// Revocation is the state the grant's revocation reached (see Remove).
	Revocation linkvault.RevocationState
	// Fingerprint replaced the tokenId in the audit trail and the transfer ledger
	// (empty when no fingerprint key is configured).
	Fingerprint string
}

// Remove physically deletes the connection and has its grant revoked at the exchange.
// In one transaction the row is deleted (the tokenId is unusable at once), everything
// else that names the connection is deleted or fingerprinted (see
// linkvault.ConnectionStore.RemoveConnection), and the credential, sealed again for the
// queue, goes into the durable revocation queue; the revocation is then tried at once.
// Removed.Revocation is the state reached: revoked, or revocationPending when the
// exchange did not answer (queue workers on any replica retry it, and a
// connection.revoked event tells the app the final state), or revocationUnsupported /
// revocationUnreadable when there is nothing linkvault can revoke. Removal never fails
// because the exchange is unreachable.
func (s *Service) Remove(ctx context.Context, clientID, tokenID string, broker linkvault.BrokerType) (Removed, error) {
	if !linkvault.PlausibleTokenID(tokenID) {
		return Removed{}, linkvault.ErrTokenNotFound()
	}
	c, err := s.store.GetConnection(ctx, clientID, tokenID)
	if err != nil {
		return Removed{}, err
	}
	if broker != "" && c.BrokerType != broker {
		// Same answer as an unknown token: the pair (tokenId, type) does not exist.
		return Removed{}, linkvault.ErrTokenNotFound()
	}
	r := linkvault.Removal{ClientID: clientID, TokenID: tokenID}
	if r.Fingerprint, err = s.fingerprint(ctx, clientID, tokenID); err != nil {
		return Removed{}, err
	}
	events := []linkvault.Event{s.Event(c, linkvault.EventConnectionRemoved, nil)}
	state := linkvault.RevocationPending
	cred, openErr := s.Open(ctx, c)
	switch {
	case openErr != nil:
		s.log.ErrorContext(ctx, "vault: the removed connection's credential cannot be decrypted; its grant cannot be revoked",
			"broker", c.BrokerType, "client", clientID, "error_type", linkvault.ErrorType(openErr))
		state = linkvault.RevocationUnreadable
	case !s.canRevoke(c.BrokerType):
		state = linkvault.RevocationUnsupported
	default:
		if r.Revocations, err = s.pendingRevocation(ctx, c, cred, linkvault.RevocationReasonRemoved); err != nil {
			return Removed{}, err
		}
	}
	if state.Final() && s.queue != nil {
		events = append(events, s.revokedEvent(c, state))
	}
	s.cache.remove(clientID, tokenID)
	if err := s.store.RemoveConnection(ctx, r, events...); err != nil {
		return Removed{}, err
	}
	s.cache.remove(clientID, tokenID)
	if state.Final() {
		s.observe(c.BrokerType, linkvault.RevocationReasonRemoved, state)
	} else {
		state = s.tryRevocations(ctx, r.Revocations, cred)
	}
	return Removed{Revocation: state, Fingerprint: r.Fingerprint}, nil
}

// Event builds an outbox event about c. data must not contain secrets.
func (s *Service) Event(c *linkvault.Connection, typ string, data any) linkvault.Event {
	payload := map[string]any{
		"tokenId": c.TokenID, "userId": c.UserID, "brokerType": c.BrokerType,
		"scope": c.Scope, "status": c.Status,
	}
	if data != nil {
		payload["details"] = data
	}
	raw, err := json.Marshal(payload)
	if err != nil {
		panic(errors.New("vault: marshal event: " + err.Error())) // plain maps of strings; cannot fail
	}
	return linkvault.Event{
		ID: "evt_" + linkvault.NewRandomID(16), ClientID: c.ClientID, Type: typ,
		TokenID: c.TokenID, Data: raw, CreatedAt: s.now(),
	}
}
