package link

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/vault"
)

// Defaults for Config.
const (
	DefaultSessionTTL = 10 * time.Minute
	DefaultPageTTL    = 30 * time.Minute
	// CallbackPath is where providers redirect back after consent.
	CallbackPath = "/link/oauth/callback"
	// SessionPathPrefix starts every Link page URL: SessionPathPrefix + session id.
	SessionPathPrefix = "/link/"
)

// Vault is what the service needs from the token vault (implemented by *vault.Service).
type Vault interface {
	Connect(ctx context.Context, p vault.ConnectParams) (*linkvault.Connection, error)
}

// Connections reads stored connections without opening their credentials (implemented
// by the stores).
type Connections interface {
	GetConnection(ctx context.Context, clientID, tokenID string) (*linkvault.Connection, error)
}

// Clients reads a client's settings (implemented by the stores): the name, logo and
// allowed origins its Link pages use.
type Clients interface {
	GetClient(ctx context.Context, id string) (*linkvault.Client, error)
}

// Config configures a Service.
type Config struct {
	Store       Store
	Connections Connections
	// Clients gives each page its client's name, logo and allowed origins; nil: every
	// client has none (no site may frame its pages).
	Clients   Clients
	Vault     Vault
	Providers linkvault.Providers
	// Sealer seals the pending step (PKCE verifier, MFA challenge) at rest.
	Sealer linkvault.Sealer
	// PublicURL is the absolute http(s) base URL under which browsers reach this
	// server (no trailing slash), e.g. "https://vault.example.com". Link URLs, the
	// OAuth redirect URL and logo URLs are built from it.
	PublicURL string
	// SessionTTL is how long a linkToken may wait before it is opened (default 10 min).
	SessionTTL time.Duration
	// PageTTL is how long an opened Link page keeps working (default 30 min).
	PageTTL time.Duration
	Now     func() time.Time
	Logger  *slog.Logger
}

// Service runs Link sessions. It is safe for concurrent use.
type Service struct {
	store     Store
	conns     Connections
	clients   Clients
	vault     Vault
	providers linkvault.Providers
	sealer    linkvault.Sealer
	baseURL   string
	ttl       time.Duration
	pageTTL   time.Duration
	now       func() time.Time
	log       *slog.Logger
}

// New validates cfg and returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Connections == nil || cfg.Vault == nil || cfg.Providers == nil || cfg.Sealer == nil {
		return nil, fmt.Errorf("link: Store, Connections, Vault, Providers and Sealer are required")
	}
	base, err := ParsePublicURL(cfg.PublicURL)
	if err != nil {
		return nil, err
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = DefaultSessionTTL
	}
	if cfg.PageTTL <= 0 {
		cfg.PageTTL = DefaultPageTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{
		store: cfg.Store, conns: cfg.Connections, clients: cfg.Clients, vault: cfg.Vault, providers: cfg.Providers,
		sealer: cfg.Sealer, baseURL: base, ttl: cfg.SessionTTL,
		pageTTL: cfg.PageTTL, now: cfg.Now, log: cfg.Logger,
	}, nil
}

// Client returns the settings of the client a session belongs to: its name, logo and
// the origins allowed to frame its pages.
func (s *Service) Client(ctx context.Context, id string) (*linkvault.Client, error) {
	if s.clients == nil {
		return &linkvault.Client{ID: id}, nil
	}
	return s.clients.GetClient(ctx, id)
}

// ParsePublicURL checks that s is an absolute http(s) URL without query or fragment
// and returns it without a trailing slash.
func ParsePublicURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("link: public URL must be an absolute http(s) URL without query, got %q", s)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// PublicURL returns the server's public base URL.
func (s *Service) PublicURL() string { return s.baseURL }

// CallbackURL is the OAuth redirect URL registered with the providers.
func (s *Service) CallbackURL() string { return s.baseURL + CallbackPath }

// CreateParams are the inputs of POST /api/v1/linktoken.
type CreateParams struct {
	ClientID   string
	UserID     string
	Permission linkvault.Permission
	Options    linkvault.LinkOptions
}

// Created is a new session: its Link URL and the linkToken (base64 of the URL).
type Created struct {
	URL       string
	LinkToken string
	Session   *linkvault.LinkSession
}

// Create opens a session for the client's user. The session id appears only in the
// returned URL.
func (s *Service) Create(ctx context.Context, p CreateParams) (*Created, error) {
	if err := linkvault.ValidateUserID(p.UserID); err != nil {
		return nil, err
	}
	if p.ClientID == "" || !p.Permission.Valid() {
		return nil, linkvault.ErrInvalid("client and permission are required.")
	}
	if p.Options.BrokerType != "" {
		if _, err := linkvault.ParseBrokerType(string(p.Options.BrokerType)); err != nil {
			return nil, err
		}
	}
	if len(p.Options.IntegrationID) > 100 {
		return nil, linkvault.ErrInvalid("integrationId must be at most 100 characters.")
	}
	now := s.now()
	id := linkvault.NewRandomID(sessionIDBytes)
	sess := &linkvault.LinkSession{
		Key: digest(id), ClientID: p.ClientID, UserID: p.UserID, Permission: p.Permission,
		Options: p.Options, CreatedAt: now, ExpiresAt: now.Add(s.ttl),
	}
	if err := s.store.CreateLinkSession(ctx, sess); err != nil {
		return nil, err
	}
	u := s.baseURL + SessionPathPrefix + id
	return &Created{URL: u, LinkToken: base64.StdEncoding.EncodeToString([]byte(u)), Session: sess}, nil
}

// Sweep deletes sessions that expired more than a minute ago (up to sweepBatch per call).
func (s *Service) Sweep(ctx context.Context) (int, error) {
	return s.store.DeleteExpiredLinkSessions(ctx, s.now().Add(-time.Minute), sweepBatch)
}

// sweepBatch bounds one sweep statement, so no single delete holds the writer long.
const sweepBatch = 500

// DefaultSweepInterval is how often RunSweeper looks for expired sessions.
const DefaultSweepInterval = time.Minute

// RunSweeper deletes expired sessions every interval until ctx ends: in batches of
// sweepBatch, one after the other while full batches come back, so a backlog clears
// without one long statement. Housekeeping runs here, in the background, never inside
// a request: sweeping inline (every 32nd POST /api/v1/linktoken, as before) halved
// SQLite's linktoken throughput while a backlog was purged (issue 19). Every replica
// may run it; the deletes are idempotent.
func (s *Service) RunSweeper(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = DefaultSweepInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for ctx.Err() == nil {
			n, err := s.Sweep(ctx)
			if err != nil {
				if ctx.Err() == nil {
					s.log.WarnContext(ctx, "link session sweep failed", "error", err)
				}
				break
			}
			if n < sweepBatch {
				break
			}
		}
	}
}

// Page is an opened Link page: its session and the page secret the page sends with
// every JSON call.
type Page struct {
	Session *linkvault.LinkSession
	Secret  linkvault.Secret
}

// Open consumes the session named by the id in a Link URL (single use) and hands out
// a fresh page secret. A session that never existed, expired or was already opened
// gives ErrSessionInvalid.
func (s *Service) Open(ctx context.Context, sessionID string) (*Page, error) {
	if !plausibleBearer(sessionID) {
		return nil, ErrSessionInvalid()
	}
	secret := linkvault.NewRandomID(pageSecretBytes)
	now := s.now()
	sess, err := s.store.ConsumeLinkSession(ctx, digest(sessionID), digest(secret), now, now.Add(s.pageTTL))
	if linkvault.IsNotFound(err) {
		return nil, ErrSessionInvalid()
	}
	if err != nil {
		return nil, err
	}
	return &Page{Session: sess, Secret: linkvault.NewSecret(secret)}, nil
}

// Peek returns the session named by the id in a Link URL if Open would open it now
// (never opened, not expired), without consuming it: for HEAD requests, which carry no
// page back, so must not use the link up. Any other session gives ErrSessionInvalid,
// as Open does.
func (s *Service) Peek(ctx context.Context, sessionID string) (*linkvault.LinkSession, error) {
	return s.liveSession(ctx, sessionID, s.store.GetLinkSession, func(sess *linkvault.LinkSession) string {
		if !sess.ConsumedAt.IsZero() {
			return "" // opened: no digest matches
		}
		return sess.Key
	})
}

// liveSession finds the session of a presented bearer value (a session id or a page
// secret) with get, by the value's digest, and returns it if it has not expired and
// keyOf(session), its stored digest of that kind, matches; ErrSessionInvalid for
// everything else, without a lookup when the value cannot be one of ours.
func (s *Service) liveSession(ctx context.Context, bearer string, get func(context.Context, string) (*linkvault.LinkSession, error),
	keyOf func(*linkvault.LinkSession) string) (*linkvault.LinkSession, error) {
	if !plausibleBearer(bearer) {
		return nil, ErrSessionInvalid()
	}
	sess, err := get(ctx, digest(bearer))
	if linkvault.IsNotFound(err) {
		return nil, ErrSessionInvalid()
	}
	if err != nil {
		return nil, err
	}
	if !s.now().Before(sess.ExpiresAt) || !sameDigest(keyOf(sess), digest(bearer)) {
		return nil, ErrSessionInvalid()
	}
	return sess, nil
}

// Authenticate returns the live session of an opened page from its page secret.
func (s *Service) Authenticate(ctx context.Context, pageSecret linkvault.Secret) (*linkvault.LinkSession, error) {
	return s.liveSession(ctx, pageSecret.Reveal(), s.store.GetLinkSessionByPage, func(sess *linkvault.LinkSession) string { return sess.PageKey })
}

// reissue gives an opened session a new page secret (after a full-page OAuth redirect
// the page is rendered anew); the old secret stops working.
func (s *Service) reissue(ctx context.Context, sess *linkvault.LinkSession) (linkvault.Secret, error) {
	secret := linkvault.NewRandomID(pageSecretBytes)
	sess.PageKey = digest(secret)
	if err := s.store.UpdateLinkSession(ctx, sess); err != nil {
		return linkvault.Secret{}, err
	}
	return linkvault.NewSecret(secret), nil
}

// Integrations lists the catalog the Link page shows, in catalog order; when the app
// preselected a broker type, only that one.
func (s *Service) Integrations(sess *linkvault.LinkSession) []linkvault.Integration {
	var out []linkvault.Integration
	for _, p := range s.providers.List() {
		in := p.Integration()
		if sess.Options.BrokerType != "" && in.Type != sess.Options.BrokerType {
			continue
		}
		if in.LogoURL == "" {
			in.LogoURL = LogoPath(in.Type)
		}
		out = append(out, in)
	}
	return out
}

// Outcome is the result of the latest finished authentication step of a session.
type Outcome struct {
	// Status is "connected" or "failed".
	Status string `json:"status"`
	// BrokerType is the integration the step signed in to (also on failures).
	BrokerType linkvault.BrokerType `json:"brokerType,omitempty"`
	Payload    *AccessTokenPayload  `json:"payload,omitempty"`
	ErrorType  string               `json:"errorType,omitempty"`
	Message    string               `json:"message,omitempty"`
	// Reauthenticated is true when an existing tokenId was re-attached.
	Reauthenticated bool `json:"reauthenticated,omitempty"`
}

// Outcome statuses.
const (
	OutcomeConnected = "connected"
	OutcomeFailed    = "failed"
)

// PendingStatus reports where a page's OAuth flow stands: "pending" while an
// authorization waits for its callback, "idle" when nothing is pending, or the last
// outcome.
func (s *Service) PendingStatus(sess *linkvault.LinkSession) (status string, o *Outcome) {
	if sess.StateKey != "" {
		return "pending", nil
	}
	if len(sess.Outcome) == 0 {
		return "idle", nil
	}
	var out Outcome
	if err := json.Unmarshal(sess.Outcome, &out); err != nil {
		return "idle", nil
	}
	return out.Status, &out
}

func (s *Service) integration(b linkvault.BrokerType) (linkvault.Provider, linkvault.Integration, bool) {
	p, ok := s.providers.Provider(b)
	if !ok {
		return nil, linkvault.Integration{}, false
	}
	return p, p.Integration(), true
}
