// Package config holds linkvault's settings: the Config struct, its defaults, loading
// from an optional JSON file overridden by LINKVAULT_* environment variables, and
// validation that reports every problem at once.
//
// Every secret setting is a linkvault.Secret, so a Config can be printed, logged or
// marshalled without revealing it, and every secret has a *_FILE twin: set
// LINKVAULT_DATABASE_URL or LINKVAULT_DATABASE_URL_FILE (a path whose content is the
// value, e.g. a mounted container secret), never both. In the JSON file the twin of key
// "url" is "urlFile".
//
// Each field's doc comment names its environment variable and JSON key; EnvVars lists
// them all with a one-line description for "linkvault serve -help" and the operations
// documentation.
package config

import (
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/linkvault/linkvault"
)

// Struct tags used by the loader:
//
//	json:  the key in the config file (nested objects follow the struct nesting)
//	env:   on a leaf, the environment variable name without the prefix of its parents;
//	       on a struct, a prefix added to every variable inside it
//	help:  on a leaf, the one-line description listed by EnvVars; on a struct, a label
//	       put before the descriptions inside it
//	twin:  "none" on a secret that has no automatic *_FILE twin (see MasterKey)

// Config is the complete configuration of a linkvault process.
type Config struct {
	// ListenAddr is the host:port the HTTP server listens on.
	// Env LINKVAULT_LISTEN_ADDR, file "listenAddr". Default 127.0.0.1:8080.
	ListenAddr string `json:"listenAddr" env:"LISTEN_ADDR" help:"host:port the HTTP server listens on"`

	// AdminAddr is the host:port of the admin listener, which serves /metrics, /healthz,
	// /readyz and (with AdminPprof) /debug/pprof/, none of which the public, Link-facing
	// listener serves. Keep it off the public network: loopback outside containers, the
	// pod network (never a Service) in Kubernetes. "off" disables it.
	// Env LINKVAULT_ADMIN_ADDR, file "adminAddr". Default 127.0.0.1:9180.
	AdminAddr string `json:"adminAddr" env:"ADMIN_ADDR" help:"host:port of the admin listener (/metrics, /healthz, /readyz, pprof), or off; keep it off the public network"`

	// AdminPprof serves Go's runtime profiles at /debug/pprof/ on the admin listener.
	// Env LINKVAULT_ADMIN_PPROF, file "adminPprof". Default false.
	AdminPprof bool `json:"adminPprof" env:"ADMIN_PPROF" help:"serve Go runtime profiles at /debug/pprof/ on the admin listener"`

	// PublicURL is the absolute base URL clients and browsers reach this server at,
	// used to build Link URLs and OAuth redirect URLs (e.g. https://vault.example.com).
	// Env LINKVAULT_PUBLIC_URL, file "publicUrl". Default: derived from ListenAddr (see
	// PublicBaseURL).
	PublicURL string `json:"publicUrl" env:"PUBLIC_URL" help:"absolute base URL of this server, used in Link and OAuth redirect URLs (default derived from the listen address)"`

	// TrustedProxies lists the reverse proxies (CIDR prefixes or single addresses,
	// comma-separated) whose X-Forwarded-For header is believed: a request from one of
	// them is counted under the rightmost X-Forwarded-For hop that is not itself a
	// trusted proxy. Empty (the default) trusts no header: the peer address counts.
	// Env LINKVAULT_TRUSTED_PROXIES, file "trustedProxies" (a string, e.g.
	// "10.0.0.0/8, 192.0.2.7").
	TrustedProxies Prefixes `json:"trustedProxies" env:"TRUSTED_PROXIES" help:"comma-separated CIDR prefixes of reverse proxies whose X-Forwarded-For is believed (default: none)"`

	// Database selects and locates the store.
	Database Database `json:"database"`

	// MasterKey is the master keyring text itself (lines or space-separated entries
	// v<N>:<base64 of 32 bytes>). Env LINKVAULT_MASTER_KEY, file "masterKey".
	// Mutually exclusive with MasterKeyFile, which is its *_FILE twin; unlike other
	// twins the file is read by the envelope package (it also writes new versions to it).
	MasterKey linkvault.Secret `json:"masterKey" env:"MASTER_KEY" twin:"none" help:"master keyring text, entries v<N>:<base64 of 32 bytes> (secret)"`

	// MasterKeyFile is the path of the master key file (mode 0600).
	// Env LINKVAULT_MASTER_KEY_FILE, file "masterKeyFile". Default for sqlite when
	// MasterKey is unset: linkvault.key beside the database file (see MasterKeyPath).
	MasterKeyFile string `json:"masterKeyFile" env:"MASTER_KEY_FILE" help:"path of the master key file (default for sqlite: linkvault.key beside the database)"`

	// MasterKeyFileAllowReadable lets linkvault use a master key file that its group or
	// other users may read or write. By default every command that loads the key
	// refuses such a file (fix it with chmod 600); set this only where the platform
	// cannot give the file owner-only permissions. Env
	// LINKVAULT_MASTER_KEY_FILE_ALLOW_READABLE, file "masterKeyFileAllowReadable".
	// Default false.
	MasterKeyFileAllowReadable bool `json:"masterKeyFileAllowReadable" env:"MASTER_KEY_FILE_ALLOW_READABLE" help:"accept a master key file readable by its group or other users (default: refuse it; fix with chmod 600)"`

	// MasterKeyCheckInterval is how often a server re-reads the master key file (SIGHUP
	// makes it re-read at once) and advertises the key versions it holds in the
	// database, which `keys rotate` waits on. A replica missing from the advertisements
	// for 3 intervals counts as gone. Env LINKVAULT_MASTER_KEY_CHECK_INTERVAL, file
	// "masterKeyCheckInterval". Default 5s.
	MasterKeyCheckInterval time.Duration `json:"masterKeyCheckInterval" env:"MASTER_KEY_CHECK_INTERVAL" help:"how often a server re-reads the master key file and advertises the key versions it holds (SIGHUP re-reads at once)"`

	// RefuseUnboundCredentials makes servers refuse credentials still sealed in format 1
	// (bound to client, tokenId and key version only, from before rows were bound
	// whole), answering them as integrity failures. Set it once `linkvault keys reseal`
	// reports nothing left to re-seal: it closes the replay of an old format 1
	// ciphertext onto an edited row (docs/security.md). Env
	// LINKVAULT_REFUSE_UNBOUND_CREDENTIALS, file "refuseUnboundCredentials". Default false.
	RefuseUnboundCredentials bool `json:"refuseUnboundCredentials" env:"REFUSE_UNBOUND_CREDENTIALS" help:"refuse credentials sealed before rows were bound whole (set once keys reseal reports nothing left)"`

	// KMS optionally protects the master keys with an external key management service.
	KMS KMS `json:"kms" env:"KMS_"`

	// Log configures the process log.
	Log Log `json:"log" env:"LOG_"`

	// TLS enables HTTPS when both files are set.
	TLS TLS `json:"tls" env:"TLS_"`

	// HTTP bounds requests and connections of the HTTP server.
	HTTP HTTP `json:"http" env:"HTTP_"`

	// Link configures Link UI sessions.
	Link Link `json:"link" env:"LINK_"`

	// Providers holds the endpoint and OAuth client settings of each integration.
	Providers Providers `json:"providers"`

	// Refresh configures the lifecycle engine that refreshes and validates credentials.
	Refresh Refresh `json:"refresh" env:"REFRESH_"`

	// ResolveCache configures the in-memory cache of resolved credentials.
	ResolveCache ResolveCache `json:"resolveCache" env:"RESOLVE_CACHE_"`

	// RateLimit configures per-minute request limits.
	RateLimit RateLimit `json:"rateLimit" env:"RATE_LIMIT_"`

	// Webhook configures event delivery to clients.
	Webhook Webhook `json:"webhook" env:"WEBHOOK_"`

	// Revocation configures the durable revocation queue of removed and replaced
	// credentials.
	Revocation Revocation `json:"revocation" env:"REVOCATION_"`

	// Retention configures the background deletion of finished webhook events and old
	// audit entries.
	Retention Retention `json:"retention" env:"RETENTION_"`

	// Metrics configures the Prometheus metrics endpoint.
	Metrics Metrics `json:"metrics" env:"METRICS_"`

	// Tracing configures OpenTelemetry tracing.
	Tracing Tracing `json:"tracing" env:"TRACING_"`
}

// Tracing configures OpenTelemetry tracing (internal/telemetry): spans of HTTP
// requests, database statements and provider calls, exported over OTLP/HTTP to the
// endpoint of the standard OTEL_EXPORTER_OTLP_* variables.
type Tracing struct {
	// Enabled turns tracing on. It is also on when OTEL_EXPORTER_OTLP_ENDPOINT or
	// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set, and off whatever else is set when
	// OTEL_SDK_DISABLED=true. Env LINKVAULT_TRACING_ENABLED, file "tracing.enabled".
	// Default false.
	Enabled bool `json:"enabled" env:"ENABLED" help:"export OpenTelemetry traces over OTLP/HTTP (also on when OTEL_EXPORTER_OTLP_ENDPOINT is set; endpoint and headers from the standard OTEL_* variables)"`
}

// DefaultAdminAddr is the admin listener's default address; AdminOff disables it.
const (
	DefaultAdminAddr = "127.0.0.1:9180"
	AdminOff         = "off"
)

// AdminEnabled reports whether the admin listener runs.
func (c *Config) AdminEnabled() bool { return c.AdminAddr != AdminOff }

// Database drivers.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
)

// Database selects and locates the store.
type Database struct {
	// Driver is "sqlite" (embedded, one process) or "postgres" (several replicas).
	// Env LINKVAULT_DATABASE_DRIVER, file "database.driver". Default sqlite.
	Driver string `json:"driver" env:"DATABASE_DRIVER" help:"database driver: sqlite or postgres"`

	// SQLitePath is the SQLite database file. Env LINKVAULT_SQLITE_PATH, file
	// "database.sqlitePath". Default linkvault.db.
	SQLitePath string `json:"sqlitePath" env:"SQLITE_PATH" help:"SQLite database file (driver sqlite)"`

	// URL is the PostgreSQL connection string (postgres://user:pass@host/db?sslmode=...).
	// Env LINKVAULT_DATABASE_URL or LINKVAULT_DATABASE_URL_FILE, file "database.url" or
	// "database.urlFile". Required for postgres.
	URL linkvault.Secret `json:"url" env:"DATABASE_URL" help:"PostgreSQL connection URL (driver postgres; secret)"`
}

// KMS kinds (they tag wrapped entries in key files).
const (
	KMSAWS          = "aws-kms"
	KMSVaultTransit = "vault-transit"
)

// KMS selects the external key management service that wraps the master keys in the key
// file (docs/operations.md, "Master keys from a KMS"). The settings of the kind not chosen
// are ignored.
type KMS struct {
	// Kind is "aws-kms" or "vault-transit" to keep the master keys only wrapped by that
	// KMS, or empty for plain keys. Env LINKVAULT_KMS_KIND, file "kms.kind". Default empty.
	Kind string `json:"kind" env:"KIND" help:"KMS wrapping the master keys: aws-kms, vault-transit, or empty for plain keys"`

	// AWS locates the AWS KMS key (kind aws-kms).
	AWS AWSKMS `json:"aws" env:"AWS_"`

	// Vault locates the Vault or OpenBao transit key (kind vault-transit).
	Vault VaultTransit `json:"vault" env:"VAULT_"`
}

// AWSKMS locates an AWS KMS key; credentials come from the AWS SDK's default chain
// (environment, shared config, web identity such as EKS IRSA, instance or task role).
type AWSKMS struct {
	// KeyID is the key id, key ARN, alias name (alias/linkvault) or alias ARN of a
	// symmetric encryption key. Env LINKVAULT_KMS_AWS_KEY_ID, file "kms.aws.keyId".
	KeyID string `json:"keyId" env:"KEY_ID" help:"AWS KMS key id, ARN or alias wrapping the master keys (kind aws-kms)"`

	// Region is the key's AWS region (default: AWS_REGION or the shared config).
	// Env LINKVAULT_KMS_AWS_REGION, file "kms.aws.region".
	Region string `json:"region" env:"REGION" help:"AWS region of the KMS key (default from the AWS environment)"`

	// Endpoint overrides the KMS endpoint URL (a VPC endpoint, or a test server).
	// Env LINKVAULT_KMS_AWS_ENDPOINT, file "kms.aws.endpoint".
	Endpoint string `json:"endpoint" env:"ENDPOINT" help:"AWS KMS endpoint URL override (VPC endpoint or test server)"`
}

// VaultTransit locates a key of the transit engine of HashiCorp Vault or OpenBao.
type VaultTransit struct {
	// Address is the server's URL. Env LINKVAULT_KMS_VAULT_ADDR, file "kms.vault.addr".
	Address string `json:"addr" env:"ADDR" help:"Vault/OpenBao server URL (kind vault-transit)"`

	// Token authenticates to the server; its policy needs update on
	// <mount>/encrypt/<key> and <mount>/decrypt/<key>. Env LINKVAULT_KMS_VAULT_TOKEN or
	// LINKVAULT_KMS_VAULT_TOKEN_FILE, file "kms.vault.token" or "kms.vault.tokenFile".
	Token linkvault.Secret `json:"token" env:"TOKEN" help:"Vault/OpenBao token allowed to encrypt and decrypt with the transit key (secret)"`

	// Namespace is the Vault Enterprise or OpenBao namespace, if any.
	// Env LINKVAULT_KMS_VAULT_NAMESPACE, file "kms.vault.namespace".
	Namespace string `json:"namespace" env:"NAMESPACE" help:"Vault/OpenBao namespace of the transit engine"`

	// Mount is the transit engine's mount path. Env LINKVAULT_KMS_VAULT_MOUNT, file
	// "kms.vault.mount". Default transit.
	Mount string `json:"mount" env:"MOUNT" help:"mount path of the transit engine"`

	// Key is the transit key's name (an AES-GCM or ChaCha20-Poly1305 key).
	// Env LINKVAULT_KMS_VAULT_KEY, file "kms.vault.key".
	Key string `json:"key" env:"KEY" help:"transit key wrapping the master keys"`

	// CACert is a PEM file of CAs to trust for Address (default: the system's).
	// Env LINKVAULT_KMS_VAULT_CACERT, file "kms.vault.cacert".
	CACert string `json:"cacert" env:"CACERT" help:"PEM file of CAs trusted for the Vault/OpenBao server"`
}

// Log formats.
const (
	LogFormatText = "text"
	LogFormatJSON = "json"
)

// Log configures the process log.
type Log struct {
	// Level is debug, info, warn or error. Env LINKVAULT_LOG_LEVEL, file "log.level".
	// Default info.
	Level slog.Level `json:"level" env:"LEVEL" help:"log level: debug, info, warn or error"`

	// Format is text or json. Env LINKVAULT_LOG_FORMAT, file "log.format". Default text.
	Format string `json:"format" env:"FORMAT" help:"log format: text or json"`
}

// TLS enables HTTPS when both files are set; set both or neither.
type TLS struct {
	// CertFile is the PEM certificate chain. Env LINKVAULT_TLS_CERT_FILE, file
	// "tls.certFile".
	CertFile string `json:"certFile" env:"CERT_FILE" help:"PEM certificate chain; enables HTTPS together with LINKVAULT_TLS_KEY_FILE"`

	// KeyFile is the PEM private key. Env LINKVAULT_TLS_KEY_FILE, file "tls.keyFile".
	KeyFile string `json:"keyFile" env:"KEY_FILE" help:"PEM private key of the certificate"`
}

// Enabled reports whether HTTPS is configured.
func (t TLS) Enabled() bool { return t.CertFile != "" && t.KeyFile != "" }

// HTTP bounds requests and connections of the HTTP server.
type HTTP struct {
	// MaxBodyBytes is the largest accepted request body.
	// Env LINKVAULT_HTTP_MAX_BODY_BYTES, file "http.maxBodyBytes". Default 1048576 (1 MiB).
	MaxBodyBytes int64 `json:"maxBodyBytes" env:"MAX_BODY_BYTES" help:"largest accepted request body, in bytes"`

	// MaxHeaderBytes is the largest accepted request header block.
	// Env LINKVAULT_HTTP_MAX_HEADER_BYTES, file "http.maxHeaderBytes". Default 65536.
	MaxHeaderBytes int `json:"maxHeaderBytes" env:"MAX_HEADER_BYTES" help:"largest accepted request header block, in bytes"`

	// ReadHeaderTimeout bounds reading request headers.
	// Env LINKVAULT_HTTP_READ_HEADER_TIMEOUT, file "http.readHeaderTimeout". Default 5s.
	ReadHeaderTimeout time.Duration `json:"readHeaderTimeout" env:"READ_HEADER_TIMEOUT" help:"time allowed to read request headers"`

	// ReadTimeout bounds reading a whole request.
	// Env LINKVAULT_HTTP_READ_TIMEOUT, file "http.readTimeout". Default 15s.
	ReadTimeout time.Duration `json:"readTimeout" env:"READ_TIMEOUT" help:"time allowed to read a whole request"`

	// WriteTimeout bounds writing a response (and so a handler's run time).
	// Env LINKVAULT_HTTP_WRITE_TIMEOUT, file "http.writeTimeout". Default 30s.
	WriteTimeout time.Duration `json:"writeTimeout" env:"WRITE_TIMEOUT" help:"time allowed to handle a request and write the response"`

	// IdleTimeout bounds how long a keep-alive connection waits for the next request.
	// Env LINKVAULT_HTTP_IDLE_TIMEOUT, file "http.idleTimeout". Default 2m.
	IdleTimeout time.Duration `json:"idleTimeout" env:"IDLE_TIMEOUT" help:"how long an idle keep-alive connection stays open"`

	// ShutdownGrace is how long a stopping server waits for in-flight requests.
	// Env LINKVAULT_HTTP_SHUTDOWN_GRACE, file "http.shutdownGrace". Default 20s.
	ShutdownGrace time.Duration `json:"shutdownGrace" env:"SHUTDOWN_GRACE" help:"how long shutdown waits for in-flight requests"`
}

// Link configures Link UI sessions.
type Link struct {
	// SessionTTL is how long a linkToken (one Link session) stays usable.
	// Env LINKVAULT_LINK_SESSION_TTL, file "link.sessionTtl". Default 10m.
	SessionTTL time.Duration `json:"sessionTtl" env:"SESSION_TTL" help:"lifetime of a linkToken / Link UI session"`
}

// Providers holds the settings of each integration, by the broker type's name.
type Providers struct {
	// Coinbase: env LINKVAULT_COINBASE_*, file "providers.coinbase".
	Coinbase Provider `json:"coinbase" env:"COINBASE_" help:"coinbase"`
	// Binance (binanceInternationalDirect): env LINKVAULT_BINANCE_*, file
	// "providers.binanceInternationalDirect".
	Binance Provider `json:"binanceInternationalDirect" env:"BINANCE_" help:"binanceInternationalDirect"`
	// Uphold: env LINKVAULT_UPHOLD_*, file "providers.uphold".
	Uphold Provider `json:"uphold" env:"UPHOLD_" help:"uphold"`
	// Sandbox: env LINKVAULT_SANDBOX_*, file "providers.sandbox". Its URLs have no
	// default: "linkvault demo" points them at the in-process simulated exchange.
	Sandbox Provider `json:"sandbox" env:"SANDBOX_" help:"sandbox"`

	// AllowInsecureURLs permits plain-http provider URLs on non-loopback hosts (e.g. a
	// simulated exchange in a private container network). Never enable it against real
	// exchanges. Env LINKVAULT_PROVIDERS_ALLOW_INSECURE_URLS, file
	// "providers.allowInsecureUrls". Default false.
	AllowInsecureURLs bool `json:"allowInsecureUrls" env:"PROVIDERS_ALLOW_INSECURE_URLS" help:"allow http:// provider URLs on non-loopback hosts (simulated exchanges only)"`

	// EgressIPs are the public IP addresses this deployment calls the exchanges from,
	// comma-separated. Link shows them to users creating a Binance API key, who restrict
	// the key to them (Binance requires an IP restriction before a key may withdraw).
	// Env LINKVAULT_PROVIDERS_EGRESS_IPS, file "providers.egressIps". Default none.
	EgressIPs string `json:"egressIps" env:"PROVIDERS_EGRESS_IPS" help:"comma-separated public IP addresses the exchanges see this deployment call from (shown for Binance API key IP restrictions)"`
}

// ByBroker returns the settings of broker b, or false for an unknown broker type.
func (p *Providers) ByBroker(b linkvault.BrokerType) (*Provider, bool) {
	switch b {
	case linkvault.BrokerCoinbase:
		return &p.Coinbase, true
	case linkvault.BrokerBinance:
		return &p.Binance, true
	case linkvault.BrokerUphold:
		return &p.Uphold, true
	case linkvault.BrokerSandbox:
		return &p.Sandbox, true
	}
	return nil, false
}

// Provider is one integration's endpoints and OAuth client. The environment variables
// below are shown for Coinbase; the others use LINKVAULT_BINANCE_*, LINKVAULT_UPHOLD_*
// and LINKVAULT_SANDBOX_*.
type Provider struct {
	// AuthURL is the OAuth authorization endpoint the user is sent to (OAuth providers).
	// Env LINKVAULT_COINBASE_AUTH_URL, file "providers.coinbase.authUrl".
	AuthURL string `json:"authUrl" env:"AUTH_URL" help:"OAuth authorization endpoint"`

	// TokenURL is the OAuth token endpoint (code exchange and refresh).
	// Env LINKVAULT_COINBASE_TOKEN_URL, file "providers.coinbase.tokenUrl".
	TokenURL string `json:"tokenUrl" env:"TOKEN_URL" help:"OAuth token endpoint"`

	// RevokeURL is the RFC 7009 revocation endpoint; empty when unsupported.
	// Env LINKVAULT_COINBASE_REVOKE_URL, file "providers.coinbase.revokeUrl".
	RevokeURL string `json:"revokeUrl" env:"REVOKE_URL" help:"OAuth token revocation endpoint (RFC 7009); empty if unsupported"`

	// APIBaseURL is the base of the provider's account API (login, accounts,
	// holdings, transfers). Env LINKVAULT_COINBASE_API_BASE_URL, file
	// "providers.coinbase.apiBaseUrl".
	APIBaseURL string `json:"apiBaseUrl" env:"API_BASE_URL" help:"base URL of the provider's account API"`

	// ClientID is linkvault's OAuth client id at the provider.
	// Env LINKVAULT_COINBASE_CLIENT_ID, file "providers.coinbase.clientId".
	ClientID string `json:"clientId" env:"CLIENT_ID" help:"OAuth client id registered at the provider"`

	// ClientSecret is linkvault's OAuth client secret at the provider.
	// Env LINKVAULT_COINBASE_CLIENT_SECRET or LINKVAULT_COINBASE_CLIENT_SECRET_FILE,
	// file "providers.coinbase.clientSecret" or "providers.coinbase.clientSecretFile".
	ClientSecret linkvault.Secret `json:"clientSecret" env:"CLIENT_SECRET" help:"OAuth client secret (secret)"`

	// Timeout bounds one HTTP call to the provider.
	// Env LINKVAULT_COINBASE_TIMEOUT, file "providers.coinbase.timeout". Default 10s.
	Timeout time.Duration `json:"timeout" env:"TIMEOUT" help:"timeout of one HTTP call to the provider"`

	// MaxInFlight bounds concurrent HTTP calls to the provider from this process.
	// Env LINKVAULT_COINBASE_MAX_IN_FLIGHT, file "providers.coinbase.maxInFlight".
	// Default 64.
	MaxInFlight int `json:"maxInFlight" env:"MAX_IN_FLIGHT" help:"maximum concurrent HTTP calls to the provider"`
}

// EgressIPList returns EgressIPs split and trimmed.
func (p Providers) EgressIPList() []string {
	var out []string
	for _, ip := range strings.Split(p.EgressIPs, ",") {
		if ip = strings.TrimSpace(ip); ip != "" {
			out = append(out, ip)
		}
	}
	return out
}

// Configured reports whether an OAuth client is set up for the provider.
func (p Provider) Configured() bool { return p.ClientID != "" }

// Refresh configures the lifecycle engine.
type Refresh struct {
	// Enabled runs the engine in this process. Env LINKVAULT_REFRESH_ENABLED, file
	// "refresh.enabled". Default true.
	Enabled bool `json:"enabled" env:"ENABLED" help:"run the credential refresh engine in this process"`

	// PollInterval is how often the engine looks for due connections.
	// Env LINKVAULT_REFRESH_POLL_INTERVAL, file "refresh.pollInterval". Default 1s.
	PollInterval time.Duration `json:"pollInterval" env:"POLL_INTERVAL" help:"how often to look for connections due for refresh or validation"`

	// LeaseDuration is how long a claimed connection stays leased to this process;
	// it must exceed every provider timeout. Env LINKVAULT_REFRESH_LEASE_DURATION, file
	// "refresh.leaseDuration". Default 1m.
	LeaseDuration time.Duration `json:"leaseDuration" env:"LEASE_DURATION" help:"lease on a claimed connection; must exceed every provider timeout"`

	// BatchSize is how many due connections one poll claims.
	// Env LINKVAULT_REFRESH_BATCH_SIZE, file "refresh.batchSize". Default 100.
	BatchSize int `json:"batchSize" env:"BATCH_SIZE" help:"due connections claimed per poll"`

	// Ahead is how long before access-token expiry a refresh is scheduled.
	// Env LINKVAULT_REFRESH_AHEAD, file "refresh.ahead". Default 5m.
	Ahead time.Duration `json:"ahead" env:"AHEAD" help:"refresh this long before the access token expires"`

	// ValidationInterval is how often a credential without expiry (Uphold-like) is
	// checked with a cheap provider call. Env LINKVAULT_REFRESH_VALIDATION_INTERVAL,
	// file "refresh.validationInterval". Default 6h.
	ValidationInterval time.Duration `json:"validationInterval" env:"VALIDATION_INTERVAL" help:"how often non-expiring credentials are validated at the provider"`

	// Workers is how many connections this process refreshes or validates at once,
	// the background loop and API-triggered renewals together: the most grants one
	// crash of the process can cost (docs/lifecycle.md, "The crash window").
	// Env LINKVAULT_REFRESH_WORKERS, file "refresh.workers". Default 8.
	Workers int `json:"workers" env:"WORKERS" help:"connections refreshed at once, background and on demand together (the most grants a crash can cost)"`

	// Jitter spreads schedules: refreshes come up to Jitter × Ahead early, validations
	// up to Jitter × ValidationInterval early. 0 to 0.5. Env LINKVAULT_REFRESH_JITTER,
	// file "refresh.jitter". Default 0.2.
	Jitter float64 `json:"jitter" env:"JITTER" help:"schedule spread, a fraction of the refresh-ahead or validation interval (0 to 0.5)"`

	// BackoffBase is the delay after a first transient provider failure; it doubles
	// with each further one (upper half random). Env LINKVAULT_REFRESH_BACKOFF_BASE,
	// file "refresh.backoffBase". Default 30s.
	BackoffBase time.Duration `json:"backoffBase" env:"BACKOFF_BASE" help:"retry delay after a first transient provider failure, doubling after each further one"`

	// BackoffMax caps that delay (validations are also capped at ValidationInterval),
	// and the provider's Retry-After with it. Env LINKVAULT_REFRESH_BACKOFF_MAX, file
	// "refresh.backoffMax". Default 1h.
	BackoffMax time.Duration `json:"backoffMax" env:"BACKOFF_MAX" help:"longest retry delay after transient provider failures (validations: at most the validation interval)"`

	// WarnAhead is the longest lead of the connection.expiry_warning event before a
	// session that cannot be refreshed (Binance-like) expires.
	// Env LINKVAULT_REFRESH_WARN_AHEAD, file "refresh.warnAhead". Default 1h.
	WarnAhead time.Duration `json:"warnAhead" env:"WARN_AHEAD" help:"longest lead of the expiry warning before a non-refreshable session expires"`

	// WarnFraction makes the warning lead proportional to the session: it is
	// min(WarnAhead, WarnFraction × the session's life), so short sessions are warned
	// too. Above 0, below 1. Env LINKVAULT_REFRESH_WARN_FRACTION, file
	// "refresh.warnFraction". Default 0.2.
	WarnFraction float64 `json:"warnFraction" env:"WARN_FRACTION" help:"expiry warning lead as a fraction of the session's life, capped by the warn-ahead (above 0, below 1)"`

	// WriteTimeout is the part of the lease kept for writing a provider's answer back:
	// a provider call starts only while the lease still covers the provider timeout
	// plus WriteTimeout, so LeaseDuration must exceed the longest provider timeout
	// plus WriteTimeout. The write-back itself waits as long as the lease lasts.
	// Env LINKVAULT_REFRESH_WRITE_TIMEOUT, file "refresh.writeTimeout". Default 5s.
	WriteTimeout time.Duration `json:"writeTimeout" env:"WRITE_TIMEOUT" help:"part of the lease kept for the write-back after a provider call"`

	// ExpirySkew: an API call renews a refreshable credential that expires within
	// this margin first. Env LINKVAULT_REFRESH_EXPIRY_SKEW, file "refresh.expirySkew".
	// Default 30s.
	ExpirySkew time.Duration `json:"expirySkew" env:"EXPIRY_SKEW" help:"an API call renews a refreshable credential expiring within this margin first"`

	// SessionExpirySkew: an API call treats a session that cannot be refreshed
	// (Binance-like) as expired this long before its expiry (clock allowance; positive).
	// Env LINKVAULT_REFRESH_SESSION_EXPIRY_SKEW, file "refresh.sessionExpirySkew".
	// Default 1s.
	SessionExpirySkew time.Duration `json:"sessionExpirySkew" env:"SESSION_EXPIRY_SKEW" help:"an API call treats a non-refreshable session as expired this long before its expiry"`

	// OnDemandAttempts is how many times an API call tries a refresh the provider
	// answered with 429 or 5xx before failing with integrationUnavailable.
	// Env LINKVAULT_REFRESH_ON_DEMAND_ATTEMPTS, file "refresh.onDemandAttempts". Default 3.
	OnDemandAttempts int `json:"onDemandAttempts" env:"ON_DEMAND_ATTEMPTS" help:"refresh attempts within one API call when the provider answers 429 or 5xx"`

	// OnDemandBackoff is the first pause between those attempts (doubling).
	// Env LINKVAULT_REFRESH_ON_DEMAND_BACKOFF, file "refresh.onDemandBackoff". Default 200ms.
	OnDemandBackoff time.Duration `json:"onDemandBackoff" env:"ON_DEMAND_BACKOFF" help:"first pause between refresh attempts within one API call (doubling)"`
}

// ResolveCache configures the in-memory cache of resolved credentials.
type ResolveCache struct {
	// Size is the maximum number of cached credentials; 0 disables the cache.
	// Env LINKVAULT_RESOLVE_CACHE_SIZE, file "resolveCache.size". Default 10000.
	Size int `json:"size" env:"SIZE" help:"maximum cached resolved credentials; 0 disables the cache"`

	// TTL is how long a cached credential is used before it is read again.
	// Changes made by this process (removal, re-auth, refresh) invalidate its cache at
	// once; with several replicas, another replica's change is seen here within TTL.
	// Env LINKVAULT_RESOLVE_CACHE_TTL, file "resolveCache.ttl". Default 5s.
	TTL time.Duration `json:"ttl" env:"TTL" help:"how long a resolved credential stays cached"`
}

// RateLimit configures per-minute limits; 0 disables a limit.
type RateLimit struct {
	// AuthFailures is how many failed API authentications one source address may make
	// per minute for one client id; further failures answer 429. A request with a valid
	// secret is never refused. The source is the peer address, or behind a trusted
	// proxy the X-Forwarded-For hop (see TrustedProxies). It replaces the per-IP and
	// per-client-id limits of earlier versions. Env LINKVAULT_RATE_LIMIT_AUTH_FAILURES,
	// file "rateLimit.authFailures". Default 20.
	AuthFailures int `json:"authFailures" env:"AUTH_FAILURES" help:"failed API authentications allowed per source address and client id per minute, then 429 for failures (0: unlimited); a valid secret is never refused"`

	// LinkTokensPerClient is how many linkTokens a client may create per minute.
	// Env LINKVAULT_RATE_LIMIT_LINK_TOKENS_PER_CLIENT, file
	// "rateLimit.linkTokensPerClient". Default 600.
	LinkTokensPerClient int `json:"linkTokensPerClient" env:"LINK_TOKENS_PER_CLIENT" help:"linkTokens a client may create per minute (0: unlimited)"`
}

// Webhook configures event delivery.
type Webhook struct {
	// DeliveryTimeout bounds one delivery attempt.
	// Env LINKVAULT_WEBHOOK_DELIVERY_TIMEOUT, file "webhook.deliveryTimeout". Default 10s.
	DeliveryTimeout time.Duration `json:"deliveryTimeout" env:"DELIVERY_TIMEOUT" help:"timeout of one webhook delivery attempt"`
}

// Revocation configures the revocation queue's workers (they run where the lifecycle
// engine runs, Refresh.Enabled).
type Revocation struct {
	// PollInterval is how often each replica looks for due revocations.
	// Env LINKVAULT_REVOCATION_POLL_INTERVAL, file "revocation.pollInterval". Default 5s.
	PollInterval time.Duration `json:"pollInterval" env:"POLL_INTERVAL" help:"how often due revocations are looked for"`
	// BackoffBase is the wait after the first failed attempt; it doubles per attempt.
	// Env LINKVAULT_REVOCATION_BACKOFF_BASE, file "revocation.backoffBase". Default 5s.
	BackoffBase time.Duration `json:"backoffBase" env:"BACKOFF_BASE" help:"wait after the first failed revocation attempt"`
	// BackoffMax caps the wait between attempts (attempts never stop while the
	// exchange answers transient errors).
	// Env LINKVAULT_REVOCATION_BACKOFF_MAX, file "revocation.backoffMax". Default 5m.
	BackoffMax time.Duration `json:"backoffMax" env:"BACKOFF_MAX" help:"cap of the wait between revocation attempts"`
}

// Retention configures the housekeeping loop every server runs: it deletes finished
// webhook events and audit entries older than their retention, in bounded batches, in
// the background (never inside a request). Replicas run it concurrently on disjoint rows.
type Retention struct {
	// WebhookEvents is how long a finished (delivered, failed or skipped) webhook event
	// and its delivery log are kept; events awaiting delivery are never deleted. 0 keeps
	// them forever. Env LINKVAULT_RETENTION_WEBHOOK_EVENTS, file
	// "retention.webhookEvents". Default 720h (30 days).
	WebhookEvents time.Duration `json:"webhookEvents" env:"WEBHOOK_EVENTS" help:"how long finished webhook events and their delivery log are kept (0: forever; at least 1h otherwise)"`
	// Audit is how long audit entries are kept; no entry younger than this is deleted.
	// 0 keeps them forever. Env LINKVAULT_RETENTION_AUDIT, file "retention.audit".
	// Default 8760h (365 days).
	Audit time.Duration `json:"audit" env:"AUDIT" help:"how long audit entries are kept (0: forever; at least 1h otherwise)"`
	// Interval is the pause between two passes of one server.
	// Env LINKVAULT_RETENTION_INTERVAL, file "retention.interval". Default 5m.
	Interval time.Duration `json:"interval" env:"INTERVAL" help:"pause between two retention passes (at least 1s)"`
	// BatchSize bounds the rows one delete removes (each batch is its own short
	// transaction; a pass deletes at most 100 batches per table). Env
	// LINKVAULT_RETENTION_BATCH_SIZE, file "retention.batchSize". Default 1000.
	BatchSize int `json:"batchSize" env:"BATCH_SIZE" help:"rows one retention delete removes at most (1 to 5000)"`
}

// Metrics configures the Prometheus endpoint.
type Metrics struct {
	// Enabled serves Prometheus metrics at /metrics on the admin listener. Env
	// LINKVAULT_METRICS_ENABLED, file "metrics.enabled". Default true.
	Enabled bool `json:"enabled" env:"ENABLED" help:"serve Prometheus metrics at /metrics on the admin listener"`
}

// Default returns the configuration used when nothing is set.
func Default() Config {
	provider := func(auth, token, revoke, api string) Provider {
		return Provider{AuthURL: auth, TokenURL: token, RevokeURL: revoke, APIBaseURL: api, Timeout: 10 * time.Second, MaxInFlight: 64}
	}
	return Config{
		ListenAddr:             "127.0.0.1:8080",
		MasterKeyCheckInterval: 5 * time.Second,
		AdminAddr:              DefaultAdminAddr,
		Database:               Database{Driver: DriverSQLite, SQLitePath: "linkvault.db"},
		Log:                    Log{Level: slog.LevelInfo, Format: LogFormatText},
		HTTP: HTTP{
			MaxBodyBytes:      1 << 20,
			MaxHeaderBytes:    64 << 10,
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       15 * time.Second,
			WriteTimeout:      30 * time.Second,
			IdleTimeout:       2 * time.Minute,
			ShutdownGrace:     20 * time.Second,
		},
		Link: Link{SessionTTL: 10 * time.Minute},
		Providers: Providers{
			Coinbase: provider("https://login.coinbase.com/oauth2/auth", "https://login.coinbase.com/oauth2/token",
				"https://login.coinbase.com/oauth2/revoke", "https://api.coinbase.com"),
			Binance: provider("", "", "", "https://api.binance.com"),
			Uphold: provider("https://wallet.uphold.com/authorize", "https://api.uphold.com/oauth2/token",
				"https://api.uphold.com/oauth2/revoke", "https://api.uphold.com/v0"),
			Sandbox: provider("", "", "", ""),
		},
		Refresh: Refresh{
			Enabled:            true,
			PollInterval:       time.Second,
			LeaseDuration:      time.Minute,
			BatchSize:          100,
			Ahead:              5 * time.Minute,
			ValidationInterval: 6 * time.Hour,
			Workers:            8,
			Jitter:             0.2,
			BackoffBase:        30 * time.Second,
			BackoffMax:         time.Hour,
			WarnAhead:          time.Hour,
			WarnFraction:       0.2,
			WriteTimeout:       5 * time.Second,
			ExpirySkew:         30 * time.Second,
			SessionExpirySkew:  time.Second,
			OnDemandAttempts:   3,
			OnDemandBackoff:    200 * time.Millisecond,
		},
		ResolveCache: ResolveCache{Size: 10000, TTL: 5 * time.Second},
		RateLimit:    RateLimit{AuthFailures: 20, LinkTokensPerClient: 600},
		Webhook:      Webhook{DeliveryTimeout: 10 * time.Second},
		Revocation:   Revocation{PollInterval: 5 * time.Second, BackoffBase: 5 * time.Second, BackoffMax: 5 * time.Minute},
		Retention:    Retention{WebhookEvents: 30 * 24 * time.Hour, Audit: 365 * 24 * time.Hour, Interval: 5 * time.Minute, BatchSize: 1000},
		Metrics:      Metrics{Enabled: true},
		KMS:          KMS{Vault: VaultTransit{Mount: "transit"}},
	}
}

// PublicBaseURL returns PublicURL without a trailing slash, or, when it is unset, a URL
// derived from ListenAddr: https when TLS is enabled, and a loopback host in place of
// an unspecified one (":8080" and "0.0.0.0:8080" become 127.0.0.1:8080).
func (c *Config) PublicBaseURL() string {
	if c.PublicURL != "" {
		return strings.TrimRight(c.PublicURL, "/")
	}
	scheme := "http"
	if c.TLS.Enabled() {
		scheme = "https"
	}
	host, port, err := net.SplitHostPort(c.ListenAddr)
	if err != nil {
		return scheme + "://" + c.ListenAddr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return (&url.URL{Scheme: scheme, Host: net.JoinHostPort(host, port)}).String()
}

// MasterKeyPath returns the master key file to use: MasterKeyFile if set; otherwise,
// when MasterKey is unset and the driver is sqlite, linkvault.key in the directory of
// the SQLite database; otherwise "" (the key is MasterKey itself, or none is set).
func (c *Config) MasterKeyPath() string {
	if c.MasterKeyFile != "" {
		return c.MasterKeyFile
	}
	if !c.MasterKey.IsZero() || c.Database.Driver != DriverSQLite {
		return ""
	}
	return filepath.Join(filepath.Dir(sqliteFilePath(c.Database.SQLitePath)), "linkvault.key")
}

// sqliteFilePath strips a "file:" URI form and its query down to the file path.
func sqliteFilePath(p string) string {
	p = strings.TrimPrefix(p, "file:")
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	if p == "" || p == ":memory:" {
		return "."
	}
	return p
}
