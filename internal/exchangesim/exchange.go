// Package exchangesim runs simulated cryptocurrency exchanges that speak the same
// publicly documented protocols as the real exchanges linkvault integrates with: an
// OAuth2 authorization server with a consent page, refresh-token rotation with reuse
// detection and revocation (Coinbase-like, Uphold-like and the sandbox), user-created
// API keys whose requests are HMAC-signed and verified (Binance-like), and the
// accounts, holdings, rates, deposit-address, transfer and history endpoints of each
// exchange's reference, in its paths, shapes and error bodies, over per-user balances.
//
// Every exchange is a plain http.Handler holding its state in memory, so tests mount it
// on an httptest.Server and the production HTTP path of the adapters is exercised end to
// end. Faults (5xx, 429, latency, revoked grants, changed passwords, expired tokens) are
// injected through Go methods or the small admin API under /_sim/. The simulator is a
// test and demo tool: serve it on loopback only.
package exchangesim

import (
	"log/slog"
	"net/http"
	"time"
)

// Flavor selects which real exchange a simulated exchange imitates.
type Flavor string

const (
	FlavorCoinbase Flavor = "coinbase"
	FlavorUphold   Flavor = "uphold"
	FlavorBinance  Flavor = "binance"
	FlavorSandbox  Flavor = "sandbox"
)

// Demo defaults: the OAuth client the simulated exchanges accept unless configured
// otherwise, and the MFA code of auto-provisioned users.
const (
	DemoClientID     = "linkvault-demo"
	DemoClientSecret = "linkvault-demo-secret"
	DefaultMFACode   = "123456"
	// DefaultPassword is the password of users provisioned by MintGrant.
	DefaultPassword = "password"
)

// NoExpiry as a TTL means "never expires by time".
const NoExpiry time.Duration = -1

// Config configures one simulated exchange. Zero fields take the flavor's defaults.
type Config struct {
	// ClientID and ClientSecret are the only OAuth client the exchange accepts
	// (defaults DemoClientID / DemoClientSecret).
	ClientID     string
	ClientSecret string

	// AccessTTL is the lifetime of access tokens (Binance-like: of API keys, which at
	// the real exchange last until deleted). 0 takes the flavor default (Coinbase 1h,
	// sandbox 5m, Uphold and Binance NoExpiry).
	AccessTTL time.Duration
	// RefreshTTL is the lifetime of refresh tokens where the flavor issues them
	// (Coinbase ~18 months, sandbox 30 days).
	RefreshTTL time.Duration

	// MFACode is the second-factor code of auto-provisioned users, asked for on sends when
	// TwoFactor is on (Coinbase CB-2FA-TOKEN, Uphold OTP-Token; default DefaultMFACode).
	MFACode string
	// TwoFactor makes auto-provisioned users confirm every send with their MFA code.
	TwoFactor bool
	// SettleAfter is how long a withdrawal stays pending before it completes (0:
	// completed at once).
	SettleAfter time.Duration
	// QuoteTTL is how long an Uphold-like quote may wait for its commit (default 5
	// minutes; the real exchange gives seconds, which a person clicking through a demo
	// cannot meet).
	QuoteTTL time.Duration
	// DefaultBalances are given to auto-provisioned users (default DefaultBalances()).
	DefaultBalances map[string]float64

	// OnIssue, when set, is called with every secret the exchange hands out (access and
	// refresh tokens, sessions, authorization codes, MFA challenges), so tests can check
	// that none of them leaks into linkvault's logs. It must be fast and safe for
	// concurrent use.
	OnIssue func(secret string)

	// Now is the exchange's clock (default time.Now); tests pass a ManualClock.
	Now func() time.Time
	// Logger receives a line per injected fault and admin action (default: discard).
	Logger *slog.Logger
}

// DefaultBalances returns the balances auto-provisioned users start with.
func DefaultBalances() map[string]float64 {
	return map[string]float64{"BTC": 1.5, "ETH": 12, "USDC": 5000, "SOL": 40, "USD": 1000}
}

func (c Config) withDefaults(f Flavor) Config {
	if c.ClientID == "" {
		c.ClientID = DemoClientID
	}
	if c.ClientSecret == "" {
		c.ClientSecret = DemoClientSecret
	}
	if c.AccessTTL == 0 {
		switch f {
		case FlavorCoinbase:
			c.AccessTTL = time.Hour
		case FlavorSandbox:
			c.AccessTTL = 5 * time.Minute
		case FlavorBinance, FlavorUphold:
			c.AccessTTL = NoExpiry
		}
	}
	if c.RefreshTTL == 0 {
		switch f {
		case FlavorCoinbase:
			c.RefreshTTL = 18 * 30 * 24 * time.Hour
		default:
			c.RefreshTTL = 30 * 24 * time.Hour
		}
	}
	if c.MFACode == "" {
		c.MFACode = DefaultMFACode
	}
	if c.QuoteTTL <= 0 {
		c.QuoteTTL = 5 * time.Minute
	}
	if c.DefaultBalances == nil {
		c.DefaultBalances = DefaultBalances()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Exchange is one simulated exchange. It is safe for concurrent use.
type Exchange struct {
	flavor Flavor
	cfg    Config
	now    func() time.Time
	log    *slog.Logger
	mux    *http.ServeMux

	users     *userDirectory
	grants    *grantStore
	transfers *transferBook
	keys      *apiKeyStore // Binance-like API keys
	weights   weightMeter
	faults    faultState
	stats     counters
}

func newExchange(f Flavor, cfg Config) *Exchange {
	cfg = cfg.withDefaults(f)
	e := &Exchange{
		flavor:    f,
		cfg:       cfg,
		now:       cfg.Now,
		log:       cfg.Logger.With("exchange", string(f)),
		mux:       http.NewServeMux(),
		users:     newUserDirectory(cfg.MFACode, cfg.DefaultBalances, cfg.TwoFactor),
		grants:    newGrantStore(),
		transfers: newTransferBook(),
		keys:      newAPIKeyStore(),
	}
	e.grants.observe = cfg.OnIssue
	e.routeAdmin()
	switch f { // the protocol each flavor speaks
	case FlavorCoinbase, FlavorSandbox:
		e.routeOAuth("/oauth2/auth")
		e.routeCoinbaseAPI()
	case FlavorUphold:
		e.routeOAuth("/authorize/{client}")
		e.routeUpholdAPI()
	case FlavorBinance:
		e.routeBinanceAPI()
	}
	return e
}

// NewCoinbase returns a Coinbase-like exchange: OAuth2 code flow with mandatory PKCE,
// 1 h access tokens, rotating single-use refresh tokens with reuse detection, RFC 7009
// revocation, and the v2 accounts / transactions API.
func NewCoinbase(cfg Config) *Exchange {
	return newExchange(FlavorCoinbase, cfg)
}

// NewSandbox returns the sandbox exchange. It speaks exactly the Coinbase-like protocol
// (same paths and shapes) but with short-lived access tokens (5 min) and 30-day rotating
// refresh tokens, so a demo exercises refresh within minutes.
func NewSandbox(cfg Config) *Exchange {
	return newExchange(FlavorSandbox, cfg)
}

// NewUphold returns an Uphold-like exchange: OAuth2 code flow (PKCE optional) at
// /authorize/{clientID}, a token response with "expires_in": null and no refresh token;
// tokens die only when the grant is revoked or the user's password changes.
func NewUphold(cfg Config) *Exchange {
	return newExchange(FlavorUphold, cfg)
}

// NewBinance returns a Binance-like exchange: users create API keys (CreateAPIKey, the
// admin API or the API Management page) and every private request is signed with
// HMAC-SHA256 and verified, with Binance's timing rule, weights and error codes.
func NewBinance(cfg Config) *Exchange {
	return newExchange(FlavorBinance, cfg)
}

// Flavor reports which exchange e imitates.
func (e *Exchange) Flavor() Flavor { return e.flavor }

// ServeHTTP implements http.Handler. The Date header is the exchange's clock, which
// adapters read as the time of rates and quotes.
func (e *Exchange) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Date", e.now().UTC().Format(http.TimeFormat))
	e.mux.ServeHTTP(w, r)
}

// killsTokensOnPasswordChange reports whether a password change invalidates the user's
// outstanding tokens (true for Uphold-like tokens only: Binance API keys survive it).
func (e *Exchange) killsTokensOnPasswordChange() bool {
	return e.flavor == FlavorUphold
}

func (e *Exchange) issuesRefreshTokens() bool {
	return e.flavor == FlavorCoinbase || e.flavor == FlavorSandbox
}

func (e *Exchange) requiresPKCE() bool {
	return e.flavor == FlavorCoinbase || e.flavor == FlavorSandbox
}

// displayName is the name shown on the consent page.
func (e *Exchange) displayName() string {
	switch e.flavor {
	case FlavorCoinbase:
		return "Coinbase (simulated)"
	case FlavorUphold:
		return "Uphold (simulated)"
	case FlavorBinance:
		return "Binance (simulated)"
	}
	return "Sandbox Exchange"
}
