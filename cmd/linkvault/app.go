package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/account"
	"github.com/linkvault/linkvault/internal/audit"
	"github.com/linkvault/linkvault/internal/clients"
	"github.com/linkvault/linkvault/internal/config"
	"github.com/linkvault/linkvault/internal/envelope"
	lvhttp "github.com/linkvault/linkvault/internal/http"
	"github.com/linkvault/linkvault/internal/link"
	"github.com/linkvault/linkvault/internal/postgres"
	"github.com/linkvault/linkvault/internal/provider"
	"github.com/linkvault/linkvault/internal/refresh"
	"github.com/linkvault/linkvault/internal/sqlite"
	"github.com/linkvault/linkvault/internal/vault"
	"github.com/linkvault/linkvault/internal/webhook"
)

// store is what the binary needs from either database: the domain store plus the
// tables of the Link UI, the lifecycle engine, webhooks, audit and transfers.
type store interface {
	linkvault.Store
	link.Store
	refresh.Store
	webhook.Store
	webhook.AdminStore
	webhook.Pruner
	audit.Appender
	auditStore
	account.TransferStore
	account.PreviewStore
	Migrate(ctx context.Context) error
	MigrationVersion(ctx context.Context) (int64, error)
}

var (
	_ store = (*sqlite.DB)(nil)
	_ store = (*postgres.DB)(nil)
)

// ready checks the database answers: a lookup of a client id that cannot exist.
func ready(st store) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		_, err := st.GetClient(ctx, "-readiness-probe-")
		if err == nil || linkvault.IsNotFound(err) {
			return nil
		}
		return err
	}
}

// loadConfig loads and validates the configuration.
func loadConfig(path string, lookup env) (*config.Config, error) {
	cfg, err := config.Load(path, lookup, os.ReadFile)
	if err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// configFlag registers the shared --config flag.
func configFlag(fs *flag.FlagSet) *string {
	return fs.String("config", "", "JSON configuration file (environment variables override it)")
}

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.Log.Level}
	if cfg.Log.Format == config.LogFormatJSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// openStore opens (and, when migrate is set, migrates) the configured database.
func openStore(ctx context.Context, cfg *config.Config, migrate bool) (store, error) {
	switch cfg.Database.Driver {
	case config.DriverSQLite:
		db, err := sqlite.Open(ctx, cfg.Database.SQLitePath, sqlite.Options{SkipMigrations: !migrate})
		if err != nil {
			return nil, fmt.Errorf("open sqlite %s: %w", cfg.Database.SQLitePath, err)
		}
		return db, nil
	case config.DriverPostgres:
		db, err := postgres.Open(ctx, cfg.Database.URL.Reveal(), postgres.Options{SkipMigrations: !migrate})
		if err != nil {
			// pgx errors can quote the connection string; never print it.
			return nil, errors.New("open postgres: cannot connect or migrate (check LINKVAULT_DATABASE_URL)")
		}
		return db, nil
	}
	return nil, fmt.Errorf("unknown database driver %q", cfg.Database.Driver)
}

// loadMasterKeyring reads the master key from the configured file or value.
func loadMasterKeyring(cfg *config.Config) (*envelope.MasterKeyring, error) {
	if path := cfg.MasterKeyPath(); path != "" {
		if err := checkMasterKeyFile(cfg, path); err != nil {
			return nil, err
		}
		return envelope.ReadMasterKeyFile(path)
	}
	if !cfg.MasterKey.IsZero() {
		return envelope.LoadMasterKeyring([]byte(cfg.MasterKey.Reveal()))
	}
	return nil, errors.New("no master key: set LINKVAULT_MASTER_KEY_FILE or LINKVAULT_MASTER_KEY")
}

// checkMasterKeyFile refuses a master key file that its group or other users may
// access, unless the operator allowed it (LINKVAULT_MASTER_KEY_FILE_ALLOW_READABLE).
// Every command that loads the key file calls it first. (Windows has no such mode bits.)
func checkMasterKeyFile(cfg *config.Config, path string) error {
	if cfg.MasterKeyFileAllowReadable || runtime.GOOS == "windows" {
		return nil
	}
	if err := envelope.CheckMasterKeyFileMode(path); err != nil {
		return fmt.Errorf("refusing to use the master key: %w, owned by the user linkvault runs as. "+
			"Only where the platform cannot give a file owner-only permissions, set %sMASTER_KEY_FILE_ALLOW_READABLE=true", err, config.EnvPrefix)
	}
	return nil
}

// providerConfigs maps the configuration onto the adapters' settings.
func providerConfigs(cfg *config.Config) provider.Configs {
	conv := func(p config.Provider) provider.Config {
		return provider.Config{
			AuthURL: p.AuthURL, TokenURL: p.TokenURL, RevokeURL: p.RevokeURL, APIBaseURL: p.APIBaseURL,
			ClientID: p.ClientID, ClientSecret: p.ClientSecret, Timeout: p.Timeout, MaxInFlight: p.MaxInFlight,
		}
	}
	binance := conv(cfg.Providers.Binance)
	binance.TrustedIPs = cfg.Providers.EgressIPList()
	return provider.Configs{
		Coinbase: conv(cfg.Providers.Coinbase), Uphold: conv(cfg.Providers.Uphold),
		Binance: binance, Sandbox: conv(cfg.Providers.Sandbox),
	}
}

// maxProviderTimeout is the longest configured provider call timeout.
func maxProviderTimeout(cfg *config.Config) time.Duration {
	d := time.Duration(0)
	for _, b := range linkvault.BrokerTypes {
		if p, ok := cfg.Providers.ByBroker(b); ok && p.Timeout > d {
			d = p.Timeout
		}
	}
	if d == 0 {
		d = provider.DefaultTimeout
	}
	return d
}

// app is the assembled service shared by serve and demo.
type app struct {
	cfg       *config.Config
	log       *slog.Logger
	store     store
	keyring   *envelope.Keyring
	vault     *vault.Service
	clients   *clients.Service
	providers *provider.Registry
	metrics   *prometheus.Registry
	audit     *audit.Recorder
	engine    *refresh.Engine
	webhooks  *webhook.Dispatcher
	link      *link.Service
	account   *account.Service
}

// newApp opens the store and builds every service. publicURL is the absolute base URL
// browsers reach this server at (Link and OAuth redirect URLs are built from it).
func newApp(ctx context.Context, cfg *config.Config, log *slog.Logger) (*app, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	st, err := openStore(ctx, cfg, true)
	if err != nil {
		return nil, err
	}
	a := &app{cfg: cfg, log: log, store: st, metrics: prometheus.NewRegistry()}
	if err := a.build(); err != nil {
		st.Close()
		return nil, err
	}
	return a, nil
}

func (a *app) build() error {
	cfg, log := a.cfg, a.log
	master, err := loadMasterKeyring(cfg)
	if err != nil {
		return err
	}
	a.providers, err = provider.NewRegistry(providerConfigs(cfg), provider.Deps{Logger: log})
	if err != nil {
		return err
	}
	a.metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a.keyring = envelope.New(a.store, master, time.Now)
	a.vault = vault.New(vault.Config{
		Store: a.store, Sealer: a.keyring, Revoker: a.providers, Logger: log,
		Policy:    vault.Policy{RefreshAhead: cfg.Refresh.Ahead, ValidateEvery: cfg.Refresh.ValidationInterval, WarnAhead: vault.DefaultPolicy.WarnAhead},
		CacheSize: cfg.ResolveCache.Size, CacheTTL: cfg.ResolveCache.TTL,
	})
	// A key revoked from the CLI (another process) stops working here within this TTL.
	a.clients = clients.New(a.store, time.Now, 5*time.Second)
	a.engine, err = refresh.New(refresh.Config{
		PollInterval: cfg.Refresh.PollInterval, BatchSize: cfg.Refresh.BatchSize, Workers: cfg.Refresh.Workers,
		LeaseDuration: cfg.Refresh.LeaseDuration, ProviderTimeout: maxProviderTimeout(cfg), Logger: log,
	}, refresh.Deps{Store: a.store, Vault: a.vault, Sealer: a.keyring, Providers: a.providers, Registerer: a.metrics})
	if err != nil {
		return err
	}
	a.webhooks, err = webhook.NewDispatcher(webhook.Config{Timeout: cfg.Webhook.DeliveryTimeout, Logger: log},
		webhook.Deps{Store: a.store, Sealer: a.keyring, Registerer: a.metrics})
	if err != nil {
		return err
	}
	a.audit = audit.NewRecorder(a.store, audit.RecorderConfig{})
	a.account, err = account.New(account.Config{
		Vault: a.vault, Providers: a.providers, Lifecycle: a.engine, Audit: a.audit, Transfers: a.store, Previews: a.store,
		StatusCode: lvhttp.StatusCode, Logger: log,
	})
	return err
}

// startLink builds the Link service once the public URL is known.
func (a *app) startLink(publicURL string) error {
	var err error
	a.link, err = link.New(link.Config{
		Store: a.store, Connections: a.store, Vault: a.vault, Providers: a.providers, Sealer: a.keyring,
		PublicURL: publicURL, SessionTTL: a.cfg.Link.SessionTTL, Logger: a.log,
	})
	return err
}

// Close flushes the audit log and closes the database.
func (a *app) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if a.audit != nil {
		if err := a.audit.Close(ctx); err != nil {
			a.log.Warn("audit log flush on shutdown", "error", err)
		}
	}
	return a.store.Close()
}

// publicURL is the configured public URL, or one derived from the bound listener (so
// that a port-0 listen address works).
func publicURL(cfg *config.Config, ln net.Listener) string {
	if cfg.PublicURL != "" {
		return cfg.PublicBaseURL()
	}
	derived := *cfg
	derived.ListenAddr = ln.Addr().String()
	return derived.PublicBaseURL()
}

// server builds the HTTP server of the app on ln.
func (a *app) server(ln net.Listener) *lvhttp.Server {
	var metrics http.Handler
	if a.cfg.Metrics.Enabled {
		metrics = promhttp.HandlerFor(a.metrics, promhttp.HandlerOpts{})
	}
	srv := lvhttp.NewServer(lvhttp.Config{
		Addr:              a.cfg.ListenAddr,
		BodyLimit:         a.cfg.HTTP.MaxBodyBytes,
		MaxHeaderBytes:    a.cfg.HTTP.MaxHeaderBytes,
		ReadHeaderTimeout: a.cfg.HTTP.ReadHeaderTimeout,
		ReadTimeout:       a.cfg.HTTP.ReadTimeout,
		WriteTimeout:      a.cfg.HTTP.WriteTimeout,
		IdleTimeout:       a.cfg.HTTP.IdleTimeout,
		TLSCertFile:       a.cfg.TLS.CertFile,
		TLSKeyFile:        a.cfg.TLS.KeyFile,

		AuthFailures:        a.cfg.RateLimit.AuthFailures,
		LinkTokensPerClient: a.cfg.RateLimit.LinkTokensPerClient,
		TrustedProxies:      a.cfg.TrustedProxies,
	}, lvhttp.Deps{
		Vault:     a.vault,
		Auth:      a.clients,
		Providers: a.providers,
		Logger:    a.log,
		Lifecycle: a.engine,
		Metrics:   metrics,
		Ready: func(ctx context.Context) error {
			return errors.Join(ready(a.store)(ctx), a.engine.Check(ctx), a.webhooks.Check(ctx))
		},
		Account: a.account,
		Link:    a.link,
	})
	srv.UseListener(ln)
	return srv
}

// serve runs the background services and the HTTP server until ctx ends, then stops
// them in order: HTTP first (no new work), then the engine (in-flight refreshes finish
// and write back; unstarted leases are released) and the webhook dispatcher.
func (a *app) serve(ctx context.Context, srv *lvhttp.Server) error {
	if a.cfg.Refresh.Enabled {
		if err := a.engine.Start(ctx); err != nil {
			return err
		}
		if err := a.webhooks.Start(ctx); err != nil {
			return err
		}
	}
	err := srv.Serve(ctx, a.cfg.HTTP.ShutdownGrace)
	stopCtx, cancel := context.WithTimeout(context.Background(), a.cfg.HTTP.ShutdownGrace)
	defer cancel()
	if a.cfg.Refresh.Enabled {
		if serr := a.engine.Stop(stopCtx); serr != nil {
			a.log.Warn("refresh engine stop", "error", serr)
		}
		if serr := a.webhooks.Stop(stopCtx); serr != nil {
			a.log.Warn("webhook dispatcher stop", "error", serr)
		}
	}
	return err
}
