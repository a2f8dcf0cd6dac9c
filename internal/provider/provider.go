// Package provider holds the adapters that reach the exchanges linkvault integrates with,
// each speaking only what its exchange publicly documents: Coinbase (OAuth2 authorization
// code with PKCE and the Coinbase App v2 API), Uphold (OAuth2 authorization code and the
// v0 API), Binance (a user-created API key whose requests are signed with HMAC-SHA256)
// and the sandbox exchange (the Coinbase protocol with short-lived tokens). Every request
// builder names the documentation page it follows.
//
// Each adapter implements linkvault.Provider over net/http with configurable endpoints
// (the real production URLs by default), an overall timeout, a bounded number of requests
// in flight, bounded reads, amounts as exact linkvault.Decimal values (decimal strings on
// the wire, never floats), and rate-limit answers honoured; every failure is classified
// into a *linkvault.ProviderError (transient, re-authentication required, rejected, MFA
// required, or unsupported) whose text never contains upstream bodies. docs/providers.md
// says how to add the next exchange.
package provider

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/linkvault/linkvault"
)

// Defaults for Config.
const (
	DefaultTimeout     = 10 * time.Second
	DefaultMaxInFlight = 64
)

// Config is one adapter's endpoints and client credentials. Empty URLs take the real
// provider's production URLs (the sandbox has none and must be configured).
type Config struct {
	AuthURL    string // OAuth authorization endpoint (consent page)
	TokenURL   string // OAuth token endpoint
	RevokeURL  string // RFC 7009 revocation endpoint
	APIBaseURL string // REST API base, without trailing slash

	ClientID     string
	ClientSecret linkvault.Secret
	Scopes       []string // empty: the adapter's default scopes

	Timeout     time.Duration // overall per request (default DefaultTimeout)
	MaxInFlight int           // concurrent requests to this provider (default DefaultMaxInFlight)

	// TrustedIPs are this deployment's egress IP addresses, shown to users who create an
	// API key so they can restrict it to them (Binance requires it for withdrawals).
	TrustedIPs []string
	// RecvWindow is how long a signed request stays valid at the exchange (Binance
	// recvWindow; default 5s, at most 60s).
	RecvWindow time.Duration
}

// Deps are what adapters take from their surroundings.
type Deps struct {
	Logger    *slog.Logger      // default: discard
	Now       func() time.Time  // default: time.Now
	Transport http.RoundTripper // default: a clone of http.DefaultTransport
	// WrapTransport, when set, wraps the transport (internal/telemetry traces calls).
	WrapTransport func(http.RoundTripper) http.RoundTripper
}

func (d Deps) withDefaults() Deps {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Transport == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 64
		d.Transport = t
	}
	if d.WrapTransport != nil {
		d.Transport, d.WrapTransport = d.WrapTransport(d.Transport), nil
	}
	return d
}

// withDefaults fills in the production endpoints and limits.
func (c Config) withDefaults(prod Config) Config {
	if c.AuthURL == "" {
		c.AuthURL = prod.AuthURL
	}
	if c.TokenURL == "" {
		c.TokenURL = prod.TokenURL
	}
	if c.RevokeURL == "" {
		c.RevokeURL = prod.RevokeURL
	}
	if c.APIBaseURL == "" {
		c.APIBaseURL = prod.APIBaseURL
	}
	if len(c.Scopes) == 0 {
		c.Scopes = prod.Scopes
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxInFlight <= 0 {
		c.MaxInFlight = DefaultMaxInFlight
	}
	return c
}

// Configs are the per-broker configurations of NewRegistry.
type Configs struct {
	Coinbase, Uphold, Binance, Sandbox Config
}

// Registry implements linkvault.Providers.
type Registry struct {
	byType map[linkvault.BrokerType]linkvault.Provider
	order  []linkvault.Provider
}

var _ linkvault.Providers = (*Registry)(nil)

// entry is one exchange of the catalogue: where its configuration is, whether a
// configuration is enough to run it, and its constructor. Adding an exchange adds one
// entry (docs/providers.md).
type entry struct {
	broker linkvault.BrokerType
	config func(Configs) Config
	// missing names what cfg lacks for the adapter to run ("" when it can run).
	missing func(cfg Config) string
	build   func(Config, Deps) (linkvault.Provider, error)
}

func needsClientID(c Config) string {
	if c.ClientID == "" {
		return "no client id"
	}
	return ""
}

var catalogue = []entry{
	{linkvault.BrokerCoinbase, func(c Configs) Config { return c.Coinbase }, needsClientID,
		func(c Config, d Deps) (linkvault.Provider, error) { return NewCoinbase(c, d) }},
	// Binance needs nothing from the operator: each user brings an API key.
	{linkvault.BrokerBinance, func(c Configs) Config { return c.Binance }, func(Config) string { return "" },
		func(c Config, d Deps) (linkvault.Provider, error) { return NewBinance(c, d) }},
	{linkvault.BrokerUphold, func(c Configs) Config { return c.Uphold }, needsClientID,
		func(c Config, d Deps) (linkvault.Provider, error) { return NewUphold(c, d) }},
	{linkvault.BrokerSandbox, func(c Configs) Config { return c.Sandbox }, func(c Config) string {
		if c.APIBaseURL == "" {
			return "no endpoints"
		}
		return ""
	}, func(c Config, d Deps) (linkvault.Provider, error) { return NewSandbox(c, d) }},
}

// NewRegistry builds the adapters that are configured: Coinbase and Uphold when they
// have a ClientID, Binance always (it needs no client credentials), and the sandbox when
// it has an APIBaseURL. Skipped adapters are logged.
func NewRegistry(cfgs Configs, d Deps) (*Registry, error) {
	d = d.withDefaults()
	var ps []linkvault.Provider
	for _, e := range catalogue {
		cfg := e.config(cfgs)
		if why := e.missing(cfg); why != "" {
			d.Logger.Info("provider disabled: "+why, "broker", e.broker)
			continue
		}
		p, err := e.build(cfg, d)
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	return NewRegistryOf(ps...), nil
}

// NewRegistryOf makes a registry of the given adapters, listed in catalog order.
func NewRegistryOf(ps ...linkvault.Provider) *Registry {
	r := &Registry{byType: make(map[linkvault.BrokerType]linkvault.Provider, len(ps))}
	for _, p := range ps {
		r.byType[p.Integration().Type] = p
	}
	for _, t := range linkvault.BrokerTypes {
		if p, ok := r.byType[t]; ok {
			r.order = append(r.order, p)
		}
	}
	return r
}

// Provider returns the adapter of a broker type.
func (r *Registry) Provider(b linkvault.BrokerType) (linkvault.Provider, bool) {
	p, ok := r.byType[b]
	return p, ok
}

// Revoke revokes c at the adapter of broker b (RFC 7009 where it supports it); no
// adapter for b means nothing to revoke. It makes the registry a vault.Revoker.
func (r *Registry) Revoke(ctx context.Context, b linkvault.BrokerType, c linkvault.Credential) error {
	p, ok := r.byType[b]
	if !ok {
		return nil
	}
	return p.Revoke(ctx, c)
}

// CanRevoke reports whether broker b's exchange has a revocation endpoint the adapter
// calls (Integration().SupportsRevocation). Binance has none: its API keys are deleted
// by the user in the exchange's settings.
func (r *Registry) CanRevoke(b linkvault.BrokerType) bool {
	p, ok := r.byType[b]
	return ok && p.Integration().SupportsRevocation
}

// List returns the adapters in catalog order.
func (r *Registry) List() []linkvault.Provider { return append([]linkvault.Provider(nil), r.order...) }

// requireURLs checks that the endpoints an adapter needs are set.
func requireURLs(b linkvault.BrokerType, urls map[string]string) error {
	for name, u := range urls {
		if u == "" {
			return fmt.Errorf("provider %s: %s is required", b, name)
		}
	}
	return nil
}
