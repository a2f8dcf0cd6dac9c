package config

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
)

func TestDefaultIsValid(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *Config)
		want   []string // substrings of the error; none means valid
	}{
		{"postgres with URL and key file", func(c *Config) {
			c.Database.Driver = DriverPostgres
			c.Database.URL = linkvault.NewSecret("postgres://u:p@db/lv")
			c.MasterKeyFile = "/keys/lv.key"
		}, nil},
		{"TLS with both files", func(c *Config) { c.TLS = TLS{CertFile: "c.pem", KeyFile: "k.pem"} }, nil},
		{"http provider URL on loopback", func(c *Config) { c.Providers.Sandbox.APIBaseURL = "http://127.0.0.1:9999" }, nil},
		{"http provider URL allowed explicitly", func(c *Config) {
			c.Providers.Sandbox.TokenURL = "http://exchangesim:9000/token"
			c.Providers.AllowInsecureURLs = true
		}, nil},
		{"resolve cache disabled needs no TTL", func(c *Config) { c.ResolveCache = ResolveCache{Size: 0, TTL: 0} }, nil},
		{"refresh disabled skips the poll loop's checks", func(c *Config) {
			c.Refresh.Enabled, c.Refresh.PollInterval, c.Refresh.BatchSize = false, 0, 0
		}, nil},
		{"lease just long enough", func(c *Config) {
			c.Refresh.LeaseDuration, c.Refresh.WriteTimeout = 15*time.Second+time.Millisecond, 5*time.Second
		}, nil},

		{"bad listen address", func(c *Config) { c.ListenAddr = "localhost" }, []string{"LINKVAULT_LISTEN_ADDR", `must be host:port`}},
		{"bad listen port", func(c *Config) { c.ListenAddr = ":http-ish" }, []string{"LINKVAULT_LISTEN_ADDR", "port must be a number"}},
		{"relative public URL", func(c *Config) { c.PublicURL = "vault.example.com" }, []string{"LINKVAULT_PUBLIC_URL", "absolute http or https URL"}},
		{"public URL with query", func(c *Config) { c.PublicURL = "https://v.example.com/?a=b" }, []string{"LINKVAULT_PUBLIC_URL", "query or fragment"}},
		{"unknown driver", func(c *Config) { c.Database.Driver = "mysql" }, []string{"LINKVAULT_DATABASE_DRIVER", `"mysql"`}},
		{"sqlite without path", func(c *Config) { c.Database.SQLitePath = "" }, []string{"LINKVAULT_SQLITE_PATH", "required"}},
		{"postgres key=value string", func(c *Config) {
			c.Database.Driver, c.MasterKeyFile = DriverPostgres, "/keys/lv.key"
			c.Database.URL = linkvault.NewSecret("host=/var/run/postgresql dbname=lv")
		}, nil},
		{"postgres URL to a socket", func(c *Config) {
			c.Database.Driver, c.MasterKeyFile = DriverPostgres, "/keys/lv.key"
			c.Database.URL = linkvault.NewSecret("postgresql:///lv?host=/var/run/postgresql")
		}, nil},
		// The driver's own error named no setting ("postgres: open: invalid connection string").
		{"postgres URL with a raw % in the password", func(c *Config) {
			c.Database.Driver, c.MasterKeyFile = DriverPostgres, "/keys/lv.key"
			c.Database.URL = linkvault.NewSecret("postgres://lv:hunter2%zz@db:5432/lv")
		}, []string{"LINKVAULT_DATABASE_URL (file key \"database.url\"): is not a PostgreSQL connection string", "percent-encode"}},
		{"postgres URL that is no connection string", func(c *Config) {
			c.Database.Driver, c.MasterKeyFile = DriverPostgres, "/keys/lv.key"
			c.Database.URL = linkvault.NewSecret("db.internal:5432/hunter2")
		}, []string{"LINKVAULT_DATABASE_URL", "is not a PostgreSQL connection string"}},
		{"postgres URL with sqlite driver", func(c *Config) { c.Database.URL = linkvault.NewSecret("postgres://x") }, []string{"LINKVAULT_DATABASE_URL", "driver is sqlite"}},
		{"postgres without URL or master key", func(c *Config) { c.Database.Driver = DriverPostgres }, []string{
			"LINKVAULT_DATABASE_URL (file key \"database.url\"): is required",
			"LINKVAULT_MASTER_KEY_FILE", "every replica must use the same master keys",
		}},
		{"both master key forms", func(c *Config) {
			c.MasterKey = linkvault.NewSecret("v1:x")
			c.MasterKeyFile = "/k"
		}, []string{"LINKVAULT_MASTER_KEY", "not both"}},
		{"AWS KMS with a key", func(c *Config) {
			c.KMS = KMS{Kind: KMSAWS, AWS: AWSKMS{KeyID: "alias/lv", Endpoint: "http://127.0.0.1:4599"}}
		}, nil},
		{"Vault transit complete", func(c *Config) {
			c.KMS = KMS{Kind: KMSVaultTransit, Vault: VaultTransit{Address: "https://vault:8200", Key: "lv", Token: linkvault.NewSecret("s.x")}}
		}, nil},
		{"unknown KMS", func(c *Config) { c.KMS.Kind = "gcp-kms" }, []string{"LINKVAULT_KMS_KIND", `"gcp-kms"`}},
		{"AWS KMS without a key", func(c *Config) { c.KMS.Kind = KMSAWS }, []string{"LINKVAULT_KMS_AWS_KEY_ID", "required"}},
		{"AWS KMS endpoint not a URL", func(c *Config) { c.KMS = KMS{Kind: KMSAWS, AWS: AWSKMS{KeyID: "k", Endpoint: "localhost:4599"}} }, []string{"LINKVAULT_KMS_AWS_ENDPOINT", "absolute"}},
		{"Vault transit incomplete", func(c *Config) { c.KMS = KMS{Kind: KMSVaultTransit, Vault: VaultTransit{Address: "vault:8200"}} }, []string{
			"LINKVAULT_KMS_VAULT_ADDR", "absolute", "LINKVAULT_KMS_VAULT_KEY", "LINKVAULT_KMS_VAULT_TOKEN",
		}},
		{"bad log format", func(c *Config) { c.Log.Format = "xml" }, []string{"LINKVAULT_LOG_FORMAT", `"xml"`}},
		{"TLS cert without key", func(c *Config) { c.TLS.CertFile = "c.pem" }, []string{"LINKVAULT_TLS_CERT_FILE and LINKVAULT_TLS_KEY_FILE, or neither"}},
		{"TLS key without cert", func(c *Config) { c.TLS.KeyFile = "k.pem" }, []string{"or neither"}},
		{"zero body limit", func(c *Config) { c.HTTP.MaxBodyBytes = 0 }, []string{"LINKVAULT_HTTP_MAX_BODY_BYTES", "at least 1"}},
		{"tiny header limit", func(c *Config) { c.HTTP.MaxHeaderBytes = 100 }, []string{"LINKVAULT_HTTP_MAX_HEADER_BYTES", "at least 4096"}},
		{"negative read timeout", func(c *Config) { c.HTTP.ReadTimeout = -time.Second }, []string{"LINKVAULT_HTTP_READ_TIMEOUT", "positive duration, got -1s"}},
		{"negative shutdown grace", func(c *Config) { c.HTTP.ShutdownGrace = -time.Second }, []string{"LINKVAULT_HTTP_SHUTDOWN_GRACE", "not be negative"}},
		{"zero session TTL", func(c *Config) { c.Link.SessionTTL = 0 }, []string{"LINKVAULT_LINK_SESSION_TTL", "positive"}},
		{"huge session TTL", func(c *Config) { c.Link.SessionTTL = 48 * time.Hour }, []string{"LINKVAULT_LINK_SESSION_TTL", "at most 24h"}},
		{"provider URL not absolute", func(c *Config) { c.Providers.Coinbase.TokenURL = "/oauth/token" }, []string{"LINKVAULT_COINBASE_TOKEN_URL", "absolute https URL"}},
		{"plain http provider URL", func(c *Config) { c.Providers.Uphold.AuthURL = "http://uphold.example.com/authorize" }, []string{"LINKVAULT_UPHOLD_AUTH_URL", "must use https"}},
		{"provider URL with a password", func(c *Config) { c.Providers.Binance.APIBaseURL = "ftp://user:hunter2@x" }, []string{"LINKVAULT_BINANCE_API_BASE_URL"}},
		{"client secret without client id", func(c *Config) { c.Providers.Sandbox.ClientSecret = linkvault.NewSecret("s") }, []string{"LINKVAULT_SANDBOX_CLIENT_ID", "required when the client secret is set"}},
		{"zero provider timeout", func(c *Config) { c.Providers.Coinbase.Timeout = 0 }, []string{"LINKVAULT_COINBASE_TIMEOUT", "positive"}},
		{"zero max in flight", func(c *Config) { c.Providers.Uphold.MaxInFlight = 0 }, []string{"LINKVAULT_UPHOLD_MAX_IN_FLIGHT", "at least 1"}},
		{"egress IPs not addresses", func(c *Config) { c.Providers.EgressIPs = "203.0.113.7, 10.0.0.0/8" }, []string{"LINKVAULT_PROVIDERS_EGRESS_IPS", `"10.0.0.0/8"`}},
		{"provider timeout outlives the lease", func(c *Config) { c.Providers.Coinbase.Timeout = 2 * time.Minute }, []string{"LINKVAULT_COINBASE_TIMEOUT", "shorter than LINKVAULT_REFRESH_LEASE_DURATION (1m)"}},
		// The lease must also cover the write-back: before, 10s + 5s against a 12s lease
		// passed validation and then failed at start-up (issue 13, defect 7).
		{"lease too short for provider timeout plus write-back", func(c *Config) { c.Refresh.LeaseDuration = 12 * time.Second }, []string{
			"LINKVAULT_COINBASE_TIMEOUT", "plus LINKVAULT_REFRESH_WRITE_TIMEOUT (5s) must be shorter than LINKVAULT_REFRESH_LEASE_DURATION (12s)", "got 10s",
			"LINKVAULT_UPHOLD_TIMEOUT", "LINKVAULT_BINANCE_TIMEOUT", "LINKVAULT_SANDBOX_TIMEOUT",
		}},
		{"lease equal to timeout plus write-back", func(c *Config) { c.Refresh.LeaseDuration = 15 * time.Second }, []string{"LINKVAULT_COINBASE_TIMEOUT", "plus LINKVAULT_REFRESH_WRITE_TIMEOUT"}},
		{"short lease with the engine loop disabled", func(c *Config) {
			c.Refresh.Enabled, c.Refresh.LeaseDuration = false, 12*time.Second
		}, []string{"LINKVAULT_COINBASE_TIMEOUT", "shorter than LINKVAULT_REFRESH_LEASE_DURATION (12s)"}},
		{"long write timeout", func(c *Config) { c.Refresh.WriteTimeout = 55 * time.Second }, []string{"LINKVAULT_COINBASE_TIMEOUT", "plus LINKVAULT_REFRESH_WRITE_TIMEOUT (55s)"}},
		{"zero write timeout", func(c *Config) { c.Refresh.WriteTimeout = 0 }, []string{"LINKVAULT_REFRESH_WRITE_TIMEOUT", "positive"}},
		{"jitter too big", func(c *Config) { c.Refresh.Jitter = 0.7 }, []string{"LINKVAULT_REFRESH_JITTER", "from 0 to 0.5, got 0.7"}},
		{"negative jitter", func(c *Config) { c.Refresh.Jitter = -0.1 }, []string{"LINKVAULT_REFRESH_JITTER"}},
		{"zero jitter", func(c *Config) { c.Refresh.Jitter = 0 }, nil},
		{"backoff max below base", func(c *Config) { c.Refresh.BackoffMax = 10 * time.Second }, []string{"LINKVAULT_REFRESH_BACKOFF_MAX", "below LINKVAULT_REFRESH_BACKOFF_BASE (30s)"}},
		{"zero backoff base", func(c *Config) { c.Refresh.BackoffBase = 0 }, []string{"LINKVAULT_REFRESH_BACKOFF_BASE", "positive"}},
		{"zero warn ahead", func(c *Config) { c.Refresh.WarnAhead = 0 }, []string{"LINKVAULT_REFRESH_WARN_AHEAD", "positive"}},
		{"warn fraction of 1", func(c *Config) { c.Refresh.WarnFraction = 1 }, []string{"LINKVAULT_REFRESH_WARN_FRACTION", "above 0 and below 1"}},
		{"zero warn fraction", func(c *Config) { c.Refresh.WarnFraction = 0 }, []string{"LINKVAULT_REFRESH_WARN_FRACTION"}},
		{"negative expiry skew", func(c *Config) { c.Refresh.ExpirySkew = -time.Second }, []string{"LINKVAULT_REFRESH_EXPIRY_SKEW", "positive"}},
		{"zero session skew", func(c *Config) { c.Refresh.SessionExpirySkew = 0 }, []string{"LINKVAULT_REFRESH_SESSION_EXPIRY_SKEW", "positive"}},
		{"zero on-demand backoff", func(c *Config) { c.Refresh.OnDemandBackoff = 0 }, []string{"LINKVAULT_REFRESH_ON_DEMAND_BACKOFF", "positive"}},
		{"no on-demand attempt", func(c *Config) { c.Refresh.OnDemandAttempts = 0 }, []string{"LINKVAULT_REFRESH_ON_DEMAND_ATTEMPTS", "at least 1"}},
		{"refresh batch too big", func(c *Config) { c.Refresh.BatchSize = 1_000_000 }, []string{"LINKVAULT_REFRESH_BATCH_SIZE", "from 1 to 10000"}},
		{"refresh without workers", func(c *Config) { c.Refresh.Workers = 0 }, []string{"LINKVAULT_REFRESH_WORKERS"}},
		{"negative refresh ahead", func(c *Config) { c.Refresh.Ahead = -time.Minute }, []string{"LINKVAULT_REFRESH_AHEAD"}},
		{"zero poll interval", func(c *Config) { c.Refresh.PollInterval = 0 }, []string{"LINKVAULT_REFRESH_POLL_INTERVAL"}},
		{"zero validation interval", func(c *Config) { c.Refresh.ValidationInterval = 0 }, []string{"LINKVAULT_REFRESH_VALIDATION_INTERVAL"}},
		{"cache without TTL", func(c *Config) { c.ResolveCache.TTL = 0 }, []string{"LINKVAULT_RESOLVE_CACHE_TTL"}},
		{"negative cache size", func(c *Config) { c.ResolveCache.Size = -1 }, []string{"LINKVAULT_RESOLVE_CACHE_SIZE"}},
		{"negative rate limit", func(c *Config) { c.RateLimit.LinkTokensPerClient = -1 }, []string{"LINKVAULT_RATE_LIMIT_LINK_TOKENS_PER_CLIENT"}},
		{"zero webhook timeout", func(c *Config) { c.Webhook.DeliveryTimeout = 0 }, []string{"LINKVAULT_WEBHOOK_DELIVERY_TIMEOUT"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.mutate(&c)
			err := c.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate() = nil, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error reveals a URL password: %v", err)
			}
		})
	}
}

func TestValidateReportsAllProblemsAtOnce(t *testing.T) {
	c := Default()
	c.ListenAddr = "nope"
	c.Log.Format = "xml"
	c.HTTP.ReadTimeout = 0
	c.Refresh.Workers = 0
	err := c.Validate()
	var cfgErr *Error
	if !errors.As(err, &cfgErr) || len(cfgErr.Problems) != 4 {
		t.Fatalf("Validate() = %v, want 4 problems", err)
	}
	if !strings.HasPrefix(err.Error(), "configuration has 4 problems:\n  - ") {
		t.Errorf("error text = %q", err)
	}
}

func TestPublicBaseURL(t *testing.T) {
	tests := []struct {
		listen, public string
		tls            bool
		want           string
	}{
		{"127.0.0.1:8080", "", false, "http://127.0.0.1:8080"},
		{":8080", "", false, "http://127.0.0.1:8080"},
		{"0.0.0.0:9000", "", false, "http://127.0.0.1:9000"},
		{"[::]:9000", "", false, "http://127.0.0.1:9000"},
		{"[::1]:9000", "", false, "http://[::1]:9000"},
		{"vault.internal:443", "", true, "https://vault.internal:443"},
		{"127.0.0.1:8080", "https://vault.example.com/", false, "https://vault.example.com"},
		{"127.0.0.1:8080", "https://example.com/vault", false, "https://example.com/vault"},
	}
	for _, tt := range tests {
		c := Default()
		c.ListenAddr, c.PublicURL = tt.listen, tt.public
		if tt.tls {
			c.TLS = TLS{CertFile: "c", KeyFile: "k"}
		}
		if got := c.PublicBaseURL(); got != tt.want {
			t.Errorf("PublicBaseURL(listen %q, public %q, tls %v) = %q, want %q", tt.listen, tt.public, tt.tls, got, tt.want)
		}
	}
}

func TestMasterKeyPath(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *Config)
		want   string
	}{
		{"default beside the default database", func(c *Config) {}, "linkvault.key"},
		{"beside a database in a directory", func(c *Config) { c.Database.SQLitePath = "/var/lib/linkvault/lv.db" }, "/var/lib/linkvault/linkvault.key"},
		{"beside a file: URI database", func(c *Config) { c.Database.SQLitePath = "file:/data/lv.db?_pragma=busy_timeout(5000)" }, "/data/linkvault.key"},
		{"in-memory database", func(c *Config) { c.Database.SQLitePath = ":memory:" }, "linkvault.key"},
		{"explicit file wins", func(c *Config) { c.MasterKeyFile = "/keys/k" }, "/keys/k"},
		{"none when the key is given directly", func(c *Config) { c.MasterKey = linkvault.NewSecret("v1:x") }, ""},
		{"no default for postgres", func(c *Config) { c.Database.Driver = DriverPostgres }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.mutate(&c)
			if got := c.MasterKeyPath(); got != tt.want {
				t.Fatalf("MasterKeyPath() = %q, want %q", got, tt.want)
			}
		})
	}
}
