package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/clients"
	"github.com/linkvault/linkvault/internal/config"
	"github.com/linkvault/linkvault/internal/envelope"
	"github.com/linkvault/linkvault/internal/postgres"
	"github.com/linkvault/linkvault/internal/provider"
	"github.com/linkvault/linkvault/internal/sqlite"
	"github.com/linkvault/linkvault/internal/vault"
)

// store is what the binary needs from either database.
type store interface {
	linkvault.Store
	Migrate(ctx context.Context) error
	MigrationVersion(ctx context.Context) (int64, error)
}

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

// loadConfig parses --config from fs and loads the configuration.
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

// openStore opens (and migrates) the configured database.
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
		return envelope.ReadMasterKeyFile(path)
	}
	if !cfg.MasterKey.IsZero() {
		return envelope.LoadMasterKeyring([]byte(cfg.MasterKey.Reveal()))
	}
	return nil, errors.New("no master key: set LINKVAULT_MASTER_KEY_FILE or LINKVAULT_MASTER_KEY")
}

// providerConfigs maps the configuration onto the adapters' settings.
func providerConfigs(cfg *config.Config) provider.Configs {
	conv := func(p config.Provider) provider.Config {
		return provider.Config{
			AuthURL: p.AuthURL, TokenURL: p.TokenURL, RevokeURL: p.RevokeURL, APIBaseURL: p.APIBaseURL,
			ClientID: p.ClientID, ClientSecret: p.ClientSecret, Timeout: p.Timeout, MaxInFlight: p.MaxInFlight,
		}
	}
	return provider.Configs{
		Coinbase: conv(cfg.Providers.Coinbase), Uphold: conv(cfg.Providers.Uphold),
		Binance: conv(cfg.Providers.Binance), Sandbox: conv(cfg.Providers.Sandbox),
	}
}

// app is the assembled core shared by serve and demo.
type app struct {
	cfg       *config.Config
	log       *slog.Logger
	store     store
	keyring   *envelope.Keyring
	vault     *vault.Service
	clients   *clients.Service
	providers *provider.Registry
}

func newApp(ctx context.Context, cfg *config.Config, log *slog.Logger) (*app, error) {
	st, err := openStore(ctx, cfg, true)
	if err != nil {
		return nil, err
	}
	master, err := loadMasterKeyring(cfg)
	if err != nil {
		st.Close()
		return nil, err
	}
	reg, err := provider.NewRegistry(providerConfigs(cfg), provider.Deps{Logger: log})
	if err != nil {
		st.Close()
		return nil, err
	}
	keyring := envelope.New(st, master, time.Now)
	a := &app{cfg: cfg, log: log, store: st, keyring: keyring, providers: reg}
	a.vault = vault.New(vault.Config{
		Store: st, Sealer: keyring, Revoker: registryRevoker{reg}, Logger: log,
		Policy:    vault.Policy{RefreshAhead: cfg.Refresh.Ahead, ValidateEvery: cfg.Refresh.ValidationInterval, WarnAhead: 24 * time.Hour},
		CacheSize: cfg.ResolveCache.Size, CacheTTL: cfg.ResolveCache.TTL,
	})
	// A key revoked from the CLI (another process) stops working here within this TTL.
	a.clients = clients.New(st, time.Now, 5*time.Second)
	return a, nil
}

func (a *app) Close() error { return a.store.Close() }

// registryRevoker adapts the provider registry to vault.Revoker.
type registryRevoker struct{ reg *provider.Registry }

func (r registryRevoker) Revoke(ctx context.Context, b linkvault.BrokerType, c linkvault.Credential) error {
	p, ok := r.reg.Provider(b)
	if !ok {
		return nil
	}
	return p.Revoke(ctx, c)
}
