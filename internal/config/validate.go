package config

import (
	"fmt"
	"math"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Limits checked by Validate.
const (
	maxSessionTTL = 24 * time.Hour
	maxBatchSize  = 10000
)

// Validate checks that the values make sense together and returns an *Error listing
// every problem, each naming the environment variable and file key to fix. It never
// quotes secret values.
func (c *Config) Validate() error {
	v := &validator{cfg: c, byField: make(map[string]setting)}
	for _, s := range settings() {
		v.byField[s.field] = s
	}

	v.listenAddr()
	v.publicURL()
	v.database()
	v.masterKey()
	v.kms()
	v.log()
	v.tls()
	v.http()
	v.positive("Link.SessionTTL", c.Link.SessionTTL)
	if c.Link.SessionTTL > maxSessionTTL {
		v.addf("Link.SessionTTL", "must be at most %s, got %s", formatDuration(maxSessionTTL), formatDuration(c.Link.SessionTTL))
	}
	v.providers()
	v.refresh()
	v.atLeast("ResolveCache.Size", c.ResolveCache.Size, 0)
	if c.ResolveCache.Size > 0 {
		v.positive("ResolveCache.TTL", c.ResolveCache.TTL)
	}
	v.atLeast("RateLimit.AuthFailures", c.RateLimit.AuthFailures, 0)
	v.atLeast("RateLimit.LinkTokensPerClient", c.RateLimit.LinkTokensPerClient, 0)
	v.positive("Webhook.DeliveryTimeout", c.Webhook.DeliveryTimeout)
	v.positive("Revocation.PollInterval", c.Revocation.PollInterval)
	v.positive("Revocation.BackoffBase", c.Revocation.BackoffBase)
	if c.Revocation.BackoffMax < c.Revocation.BackoffBase {
		v.addf("Revocation.BackoffMax", "must be at least Revocation.BackoffBase (%s), got %s",
			formatDuration(c.Revocation.BackoffBase), formatDuration(c.Revocation.BackoffMax))
	}
	v.retention()

	if len(v.problems) > 0 {
		return &Error{Problems: v.problems}
	}
	return nil
}

type validator struct {
	cfg      *Config
	byField  map[string]setting
	problems []string
}

// addf records a problem with the setting at the Go field path field.
func (v *validator) addf(field, format string, args ...any) {
	name := field
	if s, ok := v.byField[field]; ok {
		name = s.name()
	}
	v.problems = append(v.problems, name+": "+fmt.Sprintf(format, args...))
}

func (v *validator) positive(field string, d time.Duration) {
	if d <= 0 {
		v.addf(field, "must be a positive duration, got %s", formatDuration(d))
	}
}

func (v *validator) atLeast(field string, n, least int) {
	if n < least {
		v.addf(field, "must be at least %d, got %d", least, n)
	}
}

func (v *validator) listenAddr() {
	v.hostPort("ListenAddr", v.cfg.ListenAddr, "127.0.0.1:8080 or :8080")
	if v.cfg.AdminEnabled() {
		v.hostPort("AdminAddr", v.cfg.AdminAddr, DefaultAdminAddr+`, or "off"`)
		if v.cfg.AdminAddr == v.cfg.ListenAddr && !strings.HasSuffix(v.cfg.AdminAddr, ":0") {
			v.addf("AdminAddr", "must differ from %sLISTEN_ADDR (%s): metrics and health stay off the public listener", EnvPrefix, v.cfg.ListenAddr)
		}
	}
}

func (v *validator) hostPort(field, addr, example string) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		v.addf(field, "must be host:port (e.g. %s), got %q", example, addr)
		return
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		v.addf(field, "port must be a number from 0 to 65535, got %q", port)
	}
}

func (v *validator) publicURL() {
	raw := v.cfg.PublicURL
	if raw == "" {
		return
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https"):
		v.addf("PublicURL", "must be an absolute http or https URL, got %s", quoteURL(raw))
	case u.User != nil:
		v.addf("PublicURL", "must not contain user information")
	case u.RawQuery != "" || u.Fragment != "":
		v.addf("PublicURL", "must not have a query or fragment, got %s", quoteURL(raw))
	}
}

func (v *validator) database() {
	db := v.cfg.Database
	switch db.Driver {
	case DriverSQLite:
		if db.SQLitePath == "" {
			v.addf("Database.SQLitePath", "is required with the sqlite driver")
		}
		if !db.URL.IsZero() {
			v.addf("Database.URL", "is set but the driver is sqlite; set %sDATABASE_DRIVER=postgres to use it", EnvPrefix)
		}
	case DriverPostgres:
		if db.URL.IsZero() {
			v.addf("Database.URL", "is required with the postgres driver (or use %sDATABASE_URL_FILE)", EnvPrefix)
		} else if !postgresConnString(db.URL.Reveal()) {
			// Never quoted: it holds the password.
			v.addf("Database.URL", "is not a PostgreSQL connection string: use postgres://USER:PASSWORD@HOST:5432/DATABASE?sslmode=verify-full "+
				"(percent-encode special characters of the password, e.g. %% as %%25) or key=value pairs (host=... dbname=...)")
		}
	default:
		v.addf("Database.Driver", "must be %q or %q, got %q", DriverSQLite, DriverPostgres, db.Driver)
	}
}

// postgresConnString reports whether s has the form of a connection string the
// PostgreSQL driver parses: a postgres:// or postgresql:// URL, or key=value pairs.
func postgresConnString(s string) bool {
	if strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://") {
		_, err := url.Parse(s) // as the driver does; a host may also come as ?host=
		return err == nil
	}
	return strings.Contains(s, "=")
}

func (v *validator) masterKey() {
	c := v.cfg
	if !c.MasterKey.IsZero() && c.MasterKeyFile != "" {
		v.addf("MasterKey", "set it or %sMASTER_KEY_FILE, not both", EnvPrefix)
	}
	if c.MasterKeyCheckInterval <= 0 {
		v.addf("MasterKeyCheckInterval", "must be positive")
	}
	if c.Database.Driver == DriverPostgres && c.MasterKey.IsZero() && c.MasterKeyFile == "" {
		v.addf("MasterKeyFile", "is required with the postgres driver (or set %sMASTER_KEY): every replica must use the same master keys; create the file once with `linkvault init` (with this setting) and give it to every replica", EnvPrefix)
	}
}

func (v *validator) kms() {
	k := v.cfg.KMS
	switch k.Kind {
	case "":
	case KMSAWS:
		if k.AWS.KeyID == "" {
			v.addf("KMS.AWS.KeyID", "is required with %sKMS_KIND=%s", EnvPrefix, KMSAWS)
		}
		if k.AWS.Endpoint != "" {
			v.absoluteURL("KMS.AWS.Endpoint", k.AWS.Endpoint)
		}
	case KMSVaultTransit:
		if k.Vault.Address == "" {
			v.addf("KMS.Vault.Address", "is required with %sKMS_KIND=%s", EnvPrefix, KMSVaultTransit)
		} else {
			v.absoluteURL("KMS.Vault.Address", k.Vault.Address)
		}
		if k.Vault.Key == "" {
			v.addf("KMS.Vault.Key", "is required with %sKMS_KIND=%s", EnvPrefix, KMSVaultTransit)
		}
		if k.Vault.Token.IsZero() {
			v.addf("KMS.Vault.Token", "is required with %sKMS_KIND=%s", EnvPrefix, KMSVaultTransit)
		}
	default:
		v.addf("KMS.Kind", "must be %q, %q or empty, got %q", KMSAWS, KMSVaultTransit, k.Kind)
	}
}

// absoluteURL checks that raw is an absolute http(s) URL with a host.
func (v *validator) absoluteURL(field, raw string) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.addf(field, "must be an absolute http(s) URL, got %q", raw)
	}
}

func (v *validator) log() {
	switch v.cfg.Log.Format {
	case LogFormatText, LogFormatJSON:
	default:
		v.addf("Log.Format", "must be %q or %q, got %q", LogFormatText, LogFormatJSON, v.cfg.Log.Format)
	}
}

func (v *validator) tls() {
	t := v.cfg.TLS
	if (t.CertFile == "") != (t.KeyFile == "") {
		v.addf("TLS.CertFile", "set both %sTLS_CERT_FILE and %sTLS_KEY_FILE, or neither", EnvPrefix, EnvPrefix)
	}
}

func (v *validator) http() {
	h := v.cfg.HTTP
	if h.MaxBodyBytes < 1 {
		v.addf("HTTP.MaxBodyBytes", "must be at least 1, got %d", h.MaxBodyBytes)
	}
	if h.MaxHeaderBytes < 4096 {
		v.addf("HTTP.MaxHeaderBytes", "must be at least 4096, got %d", h.MaxHeaderBytes)
	}
	v.positive("HTTP.ReadHeaderTimeout", h.ReadHeaderTimeout)
	v.positive("HTTP.ReadTimeout", h.ReadTimeout)
	v.positive("HTTP.WriteTimeout", h.WriteTimeout)
	v.positive("HTTP.IdleTimeout", h.IdleTimeout)
	if h.ShutdownGrace < 0 {
		v.addf("HTTP.ShutdownGrace", "must not be negative, got %s", formatDuration(h.ShutdownGrace))
	}
}

func (v *validator) providers() {
	p := &v.cfg.Providers
	for _, ip := range p.EgressIPList() {
		if _, err := netip.ParseAddr(ip); err != nil {
			v.addf("Providers.EgressIPs", "must be IP addresses, got %q", ip)
		}
	}
	for _, pc := range []struct {
		field string
		cfg   *Provider
	}{
		{"Providers.Coinbase.", &p.Coinbase},
		{"Providers.Binance.", &p.Binance},
		{"Providers.Uphold.", &p.Uphold},
		{"Providers.Sandbox.", &p.Sandbox},
	} {
		field, cfg := pc.field, pc.cfg
		v.providerURL(field+"AuthURL", cfg.AuthURL)
		v.providerURL(field+"TokenURL", cfg.TokenURL)
		v.providerURL(field+"RevokeURL", cfg.RevokeURL)
		v.providerURL(field+"APIBaseURL", cfg.APIBaseURL)
		if !cfg.ClientSecret.IsZero() && cfg.ClientID == "" {
			v.addf(field+"ClientID", "is required when the client secret is set")
		}
		v.positive(field+"Timeout", cfg.Timeout)
		v.atLeast(field+"MaxInFlight", cfg.MaxInFlight, 1)
		// The engine renews on demand even with its loop disabled, so the rule holds
		// either way (internal/refresh checks it again at start-up).
		if r := v.cfg.Refresh; cfg.Timeout > 0 && r.LeaseDuration > 0 && r.WriteTimeout >= 0 && cfg.Timeout+r.WriteTimeout >= r.LeaseDuration {
			v.addf(field+"Timeout", "plus %sREFRESH_WRITE_TIMEOUT (%s) must be shorter than %sREFRESH_LEASE_DURATION (%s), "+
				"or a refresh could outlive its lease and another worker replay its refresh token; got %s (raise the lease or lower the timeout)",
				EnvPrefix, formatDuration(r.WriteTimeout), EnvPrefix, formatDuration(r.LeaseDuration), formatDuration(cfg.Timeout))
		}
	}
}

// providerURL accepts an empty URL (endpoint unused) or an absolute https URL; http is
// accepted for loopback hosts, or anywhere with AllowInsecureURLs.
func (v *validator) providerURL(field, raw string) {
	if raw == "" {
		return
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		v.addf(field, "must be an absolute https URL, got %s", quoteURL(raw))
		return
	}
	if u.User != nil {
		v.addf(field, "must not contain user information")
		return
	}
	if u.Scheme == "http" && !v.cfg.Providers.AllowInsecureURLs && !isLoopback(u.Hostname()) {
		v.addf(field, "must use https (http is accepted for loopback hosts, or with %sPROVIDERS_ALLOW_INSECURE_URLS=true), got %s", EnvPrefix, quoteURL(raw))
	}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Refresh limits checked by Validate.
const (
	maxJitter = 0.5
)

func (v *validator) refresh() {
	r := v.cfg.Refresh
	// The poll loop's settings matter only when it runs; the rest also governs the
	// renewals API calls make, which every process does.
	if r.Enabled {
		v.positive("Refresh.PollInterval", r.PollInterval)
		if r.BatchSize < 1 || r.BatchSize > maxBatchSize {
			v.addf("Refresh.BatchSize", "must be from 1 to %d, got %d", maxBatchSize, r.BatchSize)
		}
	}
	v.positive("Refresh.LeaseDuration", r.LeaseDuration)
	if r.Ahead < 0 {
		v.addf("Refresh.Ahead", "must not be negative, got %s", formatDuration(r.Ahead))
	}
	v.positive("Refresh.ValidationInterval", r.ValidationInterval)
	v.atLeast("Refresh.Workers", r.Workers, 1)
	if r.Jitter < 0 || r.Jitter > maxJitter || math.IsNaN(r.Jitter) {
		v.addf("Refresh.Jitter", "must be from 0 to %v, got %v", maxJitter, r.Jitter)
	}
	v.positive("Refresh.BackoffBase", r.BackoffBase)
	v.positive("Refresh.BackoffMax", r.BackoffMax)
	if r.BackoffBase > 0 && r.BackoffMax > 0 && r.BackoffMax < r.BackoffBase {
		v.addf("Refresh.BackoffMax", "must not be below %sREFRESH_BACKOFF_BASE (%s), got %s", EnvPrefix, formatDuration(r.BackoffBase), formatDuration(r.BackoffMax))
	}
	v.positive("Refresh.WarnAhead", r.WarnAhead)
	if !(r.WarnFraction > 0 && r.WarnFraction < 1) {
		v.addf("Refresh.WarnFraction", "must be above 0 and below 1, got %v", r.WarnFraction)
	}
	v.positive("Refresh.WriteTimeout", r.WriteTimeout)
	v.positive("Refresh.ExpirySkew", r.ExpirySkew)
	v.positive("Refresh.SessionExpirySkew", r.SessionExpirySkew)
	v.positive("Refresh.OnDemandBackoff", r.OnDemandBackoff)
	v.atLeast("Refresh.OnDemandAttempts", r.OnDemandAttempts, 1)
}

// quoteURL quotes a URL for a problem message with any password masked; text that does
// not parse is not quoted at all, as it could be anything.
func quoteURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "an unparseable value"
	}
	return strconv.Quote(u.Redacted())
}

// Bounds of the retention settings.
const (
	minRetention      = time.Hour
	minRetentionPause = time.Second
	maxRetentionBatch = 5000
)

func (v *validator) retention() {
	r := v.cfg.Retention
	for _, k := range []struct {
		field string
		keep  time.Duration
	}{{"Retention.WebhookEvents", r.WebhookEvents}, {"Retention.Audit", r.Audit}} {
		if k.keep != 0 && k.keep < minRetention {
			v.addf(k.field, "must be 0 (keep forever) or at least %s, got %s", formatDuration(minRetention), formatDuration(k.keep))
		}
	}
	if r.Interval < minRetentionPause {
		v.addf("Retention.Interval", "must be at least %s, got %s", formatDuration(minRetentionPause), formatDuration(r.Interval))
	}
	if r.BatchSize < 1 || r.BatchSize > maxRetentionBatch {
		v.addf("Retention.BatchSize", "must be within 1..%d, got %d", maxRetentionBatch, r.BatchSize)
	}
}
