package config

import (
	"errors"
	"io/fs"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// fakeEnv is an injected environment.
type fakeEnv map[string]string

func (e fakeEnv) lookup(name string) (string, bool) {
	v, ok := e[name]
	return v, ok
}

// fakeFiles is an injected file system for the config file and *_FILE twins.
type fakeFiles map[string]string

func (f fakeFiles) read(path string) ([]byte, error) {
	v, ok := f[path]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: path, Err: fs.ErrNotExist}
	}
	return []byte(v), nil
}

// TestLoad: what Load makes of a config file, the environment and secret files (in
// that order of precedence), or, for bad input, the one *config.Error it answers.
func TestLoad(t *testing.T) {
	tests := []struct {
		name    string
		path    string
		env     fakeEnv
		files   fakeFiles
		check   func(t *testing.T, c *Config) // what a successful load must hold
		wantErr []string                      // else substrings, all expected in the one error
	}{
		{
			name: "defaults when nothing is set",
			check: func(t *testing.T, c *Config) {
				if c.ListenAddr != "127.0.0.1:8080" || c.Database.Driver != DriverSQLite || c.Link.SessionTTL != 10*time.Minute || c.HTTP.MaxBodyBytes != 1<<20 {
					t.Errorf("defaults not applied: %+v", c)
				}
			},
		},
		{
			name:  "file sets values",
			path:  "/etc/lv.json",
			files: fakeFiles{"/etc/lv.json": `{"listenAddr": ":9000", "http": {"readTimeout": "7s", "maxBodyBytes": 2048}, "refresh": {"enabled": false}}`},
			check: func(t *testing.T, c *Config) {
				if c.ListenAddr != ":9000" || c.HTTP.ReadTimeout != 7*time.Second || c.HTTP.MaxBodyBytes != 2048 || c.Refresh.Enabled {
					t.Errorf("file values not applied: %+v", c)
				}
				if c.HTTP.WriteTimeout != 30*time.Second {
					t.Errorf("unset file key changed a default: %s", c.HTTP.WriteTimeout)
				}
			},
		},
		{
			name:  "environment overrides file",
			path:  "/etc/lv.json",
			files: fakeFiles{"/etc/lv.json": `{"listenAddr": ":9000", "log": {"level": "debug"}}`},
			env:   fakeEnv{"LINKVAULT_LISTEN_ADDR": ":9100"},
			check: func(t *testing.T, c *Config) {
				if c.ListenAddr != ":9100" {
					t.Errorf("ListenAddr = %q, want the environment's :9100", c.ListenAddr)
				}
				if c.Log.Level != slog.LevelDebug {
					t.Errorf("file value not kept where the environment is silent: %v", c.Log.Level)
				}
			},
		},
		{
			name:  "empty environment variable counts as unset",
			path:  "/etc/lv.json",
			files: fakeFiles{"/etc/lv.json": `{"listenAddr": ":9000"}`},
			env:   fakeEnv{"LINKVAULT_LISTEN_ADDR": ""},
			check: func(t *testing.T, c *Config) {
				if c.ListenAddr != ":9000" {
					t.Errorf("ListenAddr = %q, want the file's :9000", c.ListenAddr)
				}
			},
		},
		{
			name:  "config file named by LINKVAULT_CONFIG",
			env:   fakeEnv{"LINKVAULT_CONFIG": "/cfg.json"},
			files: fakeFiles{"/cfg.json": `{"publicUrl": "https://vault.example.com"}`},
			check: func(t *testing.T, c *Config) {
				if c.PublicURL != "https://vault.example.com" {
					t.Errorf("PublicURL = %q", c.PublicURL)
				}
			},
		},
		{
			name:  "secret from environment _FILE twin, trailing newline dropped",
			env:   fakeEnv{"LINKVAULT_DATABASE_URL_FILE": "/run/secrets/db"},
			files: fakeFiles{"/run/secrets/db": "postgres://u:p@db/lv\n"},
			check: func(t *testing.T, c *Config) {
				if got := c.Database.URL.Reveal(); got != "postgres://u:p@db/lv" {
					t.Errorf("Database.URL = %q", got)
				}
			},
		},
		{
			name: "secret from file key twin, overridden by environment",
			path: "/c.json",
			files: fakeFiles{
				"/c.json":   `{"providers": {"coinbase": {"clientId": "cid", "clientSecretFile": "/s/cb"}, "uphold": {"clientSecretFile": "/s/up"}}}`,
				"/s/cb":     "from-file",
				"/s/up":     "uphold-from-file",
				"/s/cb-env": "from-env-file",
			},
			env: fakeEnv{"LINKVAULT_COINBASE_CLIENT_SECRET_FILE": "/s/cb-env"},
			check: func(t *testing.T, c *Config) {
				if got := c.Providers.Coinbase.ClientSecret.Reveal(); got != "from-env-file" {
					t.Errorf("coinbase secret = %q, want the environment twin's value", got)
				}
				if got := c.Providers.Uphold.ClientSecret.Reveal(); got != "uphold-from-file" {
					t.Errorf("uphold secret = %q", got)
				}
				if c.Providers.Coinbase.ClientID != "cid" {
					t.Errorf("coinbase client id = %q", c.Providers.Coinbase.ClientID)
				}
			},
		},
		{
			name:  "environment master key replaces the file's key file",
			path:  "/c.json",
			files: fakeFiles{"/c.json": `{"masterKeyFile": "/keys/lv.key"}`},
			env:   fakeEnv{"LINKVAULT_MASTER_KEY": "v1:abc"},
			check: func(t *testing.T, c *Config) {
				if c.MasterKeyFile != "" || c.MasterKey.Reveal() != "v1:abc" {
					t.Errorf("MasterKeyFile = %q, MasterKey set = %v", c.MasterKeyFile, !c.MasterKey.IsZero())
				}
			},
		},
		{
			name:  "environment key file replaces the file's master key",
			path:  "/c.json",
			files: fakeFiles{"/c.json": `{"masterKey": "v1:abc"}`},
			env:   fakeEnv{"LINKVAULT_MASTER_KEY_FILE": "/keys/lv.key"},
			check: func(t *testing.T, c *Config) {
				if c.MasterKeyFile != "/keys/lv.key" || !c.MasterKey.IsZero() {
					t.Errorf("MasterKeyFile = %q, MasterKey set = %v", c.MasterKeyFile, !c.MasterKey.IsZero())
				}
			},
		},
		{
			name:  "null in file leaves the default",
			path:  "/c.json",
			files: fakeFiles{"/c.json": `{"listenAddr": null, "webhook": {"deliveryTimeout": null}}`},
			check: func(t *testing.T, c *Config) {
				if c.ListenAddr != "127.0.0.1:8080" || c.Webhook.DeliveryTimeout != 10*time.Second {
					t.Errorf("null changed defaults: %q %s", c.ListenAddr, c.Webhook.DeliveryTimeout)
				}
			},
		},
		{
			name: "every provider has its own variables",
			env: fakeEnv{
				"LINKVAULT_COINBASE_TIMEOUT":      "1s",
				"LINKVAULT_BINANCE_MAX_IN_FLIGHT": "3",
				"LINKVAULT_UPHOLD_API_BASE_URL":   "http://127.0.0.1:9001/v0",
				"LINKVAULT_SANDBOX_CLIENT_ID":     "sandbox-client",
			},
			check: func(t *testing.T, c *Config) {
				p := c.Providers
				if p.Coinbase.Timeout != time.Second || p.Binance.MaxInFlight != 3 || p.Uphold.APIBaseURL != "http://127.0.0.1:9001/v0" || p.Sandbox.ClientID != "sandbox-client" {
					t.Errorf("provider settings = %+v", p)
				}
				if p.Uphold.Timeout != 10*time.Second {
					t.Errorf("setting one provider changed another's default")
				}
			},
		},
		{name: "trusted proxies: none by default", check: wantTrustedProxies("")},
		{name: "trusted proxies: CIDR list with spaces", env: fakeEnv{"LINKVAULT_TRUSTED_PROXIES": " 10.0.0.0/8, 2001:db8::/32 ,"}, check: wantTrustedProxies("10.0.0.0/8,2001:db8::/32")},
		{name: "trusted proxies: single addresses", env: fakeEnv{"LINKVAULT_TRUSTED_PROXIES": "192.0.2.7,::1"}, check: wantTrustedProxies("192.0.2.7/32,::1/128")},
		{name: "trusted proxies: host bits are masked", env: fakeEnv{"LINKVAULT_TRUSTED_PROXIES": "10.1.2.3/8"}, check: wantTrustedProxies("10.0.0.0/8")},
		{name: "trusted proxies from the file", path: "/lv.json", files: fakeFiles{"/lv.json": `{"trustedProxies": "172.16.0.0/12"}`}, check: wantTrustedProxies("172.16.0.0/12")},
		{
			name:    "both a secret and its _FILE twin in the environment",
			env:     fakeEnv{"LINKVAULT_DATABASE_URL": "postgres://x", "LINKVAULT_DATABASE_URL_FILE": "/s"},
			wantErr: []string{"set LINKVAULT_DATABASE_URL or LINKVAULT_DATABASE_URL_FILE, not both"},
		},
		{
			name:    "both a secret and its twin in the file",
			path:    "/c.json",
			files:   fakeFiles{"/c.json": `{"providers": {"uphold": {"clientSecret": "a", "clientSecretFile": "/s"}}}`},
			wantErr: []string{`set "providers.uphold.clientSecret" or "providers.uphold.clientSecretFile", not both`},
		},
		{
			name:    "both master key forms in the environment",
			env:     fakeEnv{"LINKVAULT_MASTER_KEY": "v1:x", "LINKVAULT_MASTER_KEY_FILE": "/k"},
			wantErr: []string{"set LINKVAULT_MASTER_KEY or LINKVAULT_MASTER_KEY_FILE, not both"},
		},
		{
			name:    "both master key forms in the file",
			path:    "/c.json",
			files:   fakeFiles{"/c.json": `{"masterKey": "v1:x", "masterKeyFile": "/k"}`},
			wantErr: []string{`set "masterKey" or "masterKeyFile", not both`},
		},
		{
			name: "malformed values are all reported",
			env: fakeEnv{
				"LINKVAULT_HTTP_READ_TIMEOUT":     "10",
				"LINKVAULT_REFRESH_WORKERS":       "many",
				"LINKVAULT_METRICS_ENABLED":       "yes please",
				"LINKVAULT_LOG_LEVEL":             "loud",
				"LINKVAULT_HTTP_MAX_BODY_BYTES":   "1MiB",
				"LINKVAULT_REFRESH_BATCH_SIZE":    "99999999999999999999",
				"LINKVAULT_LINK_SESSION_TTL":      "ten minutes",
				"LINKVAULT_RESOLVE_CACHE_SIZE":    "1.5",
				"LINKVAULT_HTTP_MAX_HEADER_BYTES": "",
			},
			wantErr: []string{
				`LINKVAULT_HTTP_READ_TIMEOUT: "10" is not a duration`,
				`LINKVAULT_REFRESH_WORKERS: "many" is not a whole number`,
				`LINKVAULT_METRICS_ENABLED: "yes please" is not a boolean`,
				`LINKVAULT_LOG_LEVEL: "loud" is not a log level`,
				`LINKVAULT_HTTP_MAX_BODY_BYTES: "1MiB" is not a whole number`,
				`LINKVAULT_REFRESH_BATCH_SIZE`,
				`LINKVAULT_LINK_SESSION_TTL: "ten minutes" is not a duration`,
				`LINKVAULT_RESOLVE_CACHE_SIZE: "1.5" is not a whole number`,
				"8 problems",
			},
		},
		{
			name:    "unknown keys in the file",
			path:    "/c.json",
			files:   fakeFiles{"/c.json": `{"listenAdr": ":1", "http": {"readTimout": "1s"}, "providers": {"kraken": {}}}`},
			wantErr: []string{`unknown setting "http.readTimout"`, `unknown setting "listenAdr"`, `unknown setting "providers.kraken"`},
		},
		{
			name:    "wrong JSON shapes",
			path:    "/c.json",
			files:   fakeFiles{"/c.json": `{"http": "fast", "listenAddr": [":1"], "log": {"level": {"v": 1}}}`},
			wantErr: []string{`"http" must be an object`, `"listenAddr" must be a string, number or boolean`, `"log.level" must be a string, number or boolean`},
		},
		{
			name:    "duration given as a bare number in the file",
			path:    "/c.json",
			files:   fakeFiles{"/c.json": `{"link": {"sessionTtl": 600}}`},
			wantErr: []string{`"link.sessionTtl": "600" is not a duration; use a number with a unit`},
		},
		{
			name:    "file is not JSON",
			path:    "/c.json",
			files:   fakeFiles{"/c.json": `listenAddr = ":1"`},
			wantErr: []string{"is not valid JSON (syntax error at byte"},
		},
		{
			name:    "file is a JSON array",
			path:    "/c.json",
			files:   fakeFiles{"/c.json": `[1]`},
			wantErr: []string{"must hold one JSON object"},
		},
		{
			name:    "trailing data after the object",
			path:    "/c.json",
			files:   fakeFiles{"/c.json": `{} {}`},
			wantErr: []string{"has data after its JSON object"},
		},
		{
			name:    "missing config file",
			path:    "/nope.json",
			wantErr: []string{"cannot read config file", "/nope.json"},
		},
		{
			name:    "unreadable secret file",
			env:     fakeEnv{"LINKVAULT_COINBASE_CLIENT_SECRET_FILE": "/run/secrets/missing"},
			wantErr: []string{"LINKVAULT_COINBASE_CLIENT_SECRET_FILE: cannot read", "/run/secrets/missing"},
		},
		{
			name:    "empty secret file",
			env:     fakeEnv{"LINKVAULT_DATABASE_URL_FILE": "/run/secrets/db"},
			files:   fakeFiles{"/run/secrets/db": "\n"},
			wantErr: []string{"LINKVAULT_DATABASE_URL_FILE: file /run/secrets/db is empty"},
		},
		{
			name:    "a trusted proxy that is not an address",
			env:     fakeEnv{"LINKVAULT_TRUSTED_PROXIES": "10.0.0.0/8, proxy.internal"},
			wantErr: []string{`LINKVAULT_TRUSTED_PROXIES: "proxy.internal" is not an IP address or CIDR prefix`},
		},
		{
			name:    "a trusted proxy prefix longer than the address",
			env:     fakeEnv{"LINKVAULT_TRUSTED_PROXIES": "10.0.0.0/33"},
			wantErr: []string{`"10.0.0.0/33" is not a CIDR prefix`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(tt.path, tt.env.lookup, tt.files.read)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				tt.check(t, c)
				return
			}
			if err == nil {
				t.Fatalf("Load succeeded: %+v", c)
			}
			var cfgErr *Error
			if !errors.As(err, &cfgErr) {
				t.Fatalf("error %T is not *config.Error", err)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
		})
	}
}

// wantTrustedProxies checks the loaded TrustedProxies (as Prefixes.String() writes
// them) and that the configuration validates.
func wantTrustedProxies(want string) func(t *testing.T, c *Config) {
	return func(t *testing.T, c *Config) {
		if got := c.TrustedProxies.String(); got != want {
			t.Errorf("TrustedProxies = %q, want %q", got, want)
		}
		if err := c.Validate(); err != nil {
			t.Errorf("Validate: %v", err)
		}
	}
}

func TestDurationParsing(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"90s", 90 * time.Second, false},
		{"1h30m", 90 * time.Minute, false},
		{"250ms", 250 * time.Millisecond, false},
		{" 2m ", 2 * time.Minute, false},
		{"0", 0, false},
		{"-5s", -5 * time.Second, false}, // parses; Validate rejects it
		{"10", 0, true},
		{"5 minutes", 0, true},
		{"", 0, true},
	}
	s := settingByEnv(t, "LINKVAULT_WEBHOOK_DELIVERY_TIMEOUT")
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			c := Default()
			err := s.set(&c, tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("set(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			}
			if !tt.wantErr && c.Webhook.DeliveryTimeout != tt.want {
				t.Fatalf("set(%q) = %s, want %s", tt.in, c.Webhook.DeliveryTimeout, tt.want)
			}
		})
	}
}

func settingByEnv(t *testing.T, env string) setting {
	t.Helper()
	for _, s := range settings() {
		if s.env == env {
			return s
		}
	}
	t.Fatalf("no setting %s", env)
	return setting{}
}
