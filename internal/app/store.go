package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/account"
	"github.com/linkvault/linkvault/internal/audit"
	"github.com/linkvault/linkvault/internal/config"
	"github.com/linkvault/linkvault/internal/link"
	"github.com/linkvault/linkvault/internal/postgres"
	"github.com/linkvault/linkvault/internal/refresh"
	"github.com/linkvault/linkvault/internal/revocation"
	"github.com/linkvault/linkvault/internal/sqlite"
	"github.com/linkvault/linkvault/internal/sqlstore"
	"github.com/linkvault/linkvault/internal/vault"
	"github.com/linkvault/linkvault/internal/webhook"
)

// Store is what linkvault needs from either database: the domain store plus the tables
// of the Link UI, the lifecycle engine, webhooks, audit and transfers, and migrations.
type Store interface {
	linkvault.Store
	link.Store
	refresh.Store
	webhook.Store
	webhook.AdminStore
	webhook.Pruner
	vault.Store
	revocation.Store
	audit.Appender
	account.TransferStore
	account.PreviewStore
	vault.ResealStore
	KeyringStore
	ListAudit(ctx context.Context, q linkvault.AuditQuery) ([]linkvault.AuditEntry, error)
	PruneAudit(ctx context.Context, before time.Time, limit int) (int64, error)
	Migrate(ctx context.Context) error
	MigrationVersion(ctx context.Context) (int64, error)
}

var (
	_ Store = (*sqlite.DB)(nil)
	_ Store = (*postgres.DB)(nil)
)

// OpenStore opens the configured database; migrate applies pending migrations first.
func OpenStore(ctx context.Context, cfg *config.Config, migrate bool) (Store, error) {
	return openStore(ctx, cfg, migrate, nil)
}

// openStore is OpenStore with the engine wrapped by wrap (tracing), if set.
func openStore(ctx context.Context, cfg *config.Config, migrate bool, wrap func(sqlstore.Engine) sqlstore.Engine) (Store, error) {
	switch cfg.Database.Driver {
	case config.DriverSQLite:
		db, err := sqlite.Open(ctx, cfg.Database.SQLitePath, sqlite.Options{SkipMigrations: !migrate, WrapEngine: wrap})
		if err != nil {
			return nil, fmt.Errorf("open sqlite %s: %w", cfg.Database.SQLitePath, err)
		}
		return db, nil
	case config.DriverPostgres:
		db, err := postgres.Open(ctx, cfg.Database.URL.Reveal(), postgres.Options{SkipMigrations: !migrate, WrapEngine: wrap})
		if err != nil {
			// postgres.Open's errors name the server, user and database, never the
			// password: unreachable, refused credentials, missing database, failed
			// migration each say so.
			return nil, err
		}
		return db, nil
	}
	return nil, fmt.Errorf("unknown database driver %q", cfg.Database.Driver)
}

// KeyedVerifiersMigration is the schema version that introduced keyed API key
// verifiers (00006_keyed_api_key_verifiers.sql).
const KeyedVerifiersMigration = 6

// CrossedKeyedVerifiers reports whether a migration from schema version before to
// after applied KeyedVerifiersMigration to a database that had API keys to upgrade
// (before 0 is a new database). The process that applies it re-derives the unkeyed
// verifiers once (clients.Service.UpgradeVerifiers); no other process upgrades
// anything, so an unkeyed row inserted later never becomes a working key.
func CrossedKeyedVerifiers(before, after int64) bool {
	return before > 0 && before < KeyedVerifiersMigration && after >= KeyedVerifiersMigration
}

// openAndMigrate opens the configured store and applies pending migrations, reporting
// the schema versions before and after.
func openAndMigrate(ctx context.Context, cfg *config.Config, wrap func(sqlstore.Engine) sqlstore.Engine) (st Store, before, after int64, err error) {
	st, err = openStore(ctx, cfg, false, wrap)
	if err != nil {
		return nil, 0, 0, err
	}
	if before, err = st.MigrationVersion(ctx); err == nil {
		if err = st.Migrate(ctx); err == nil {
			after, err = st.MigrationVersion(ctx)
		}
	}
	if err != nil {
		return nil, 0, 0, errors.Join(err, st.Close())
	}
	return st, before, after, nil
}

// storeReady checks the database answers: a lookup of a client id that cannot exist.
func storeReady(ctx context.Context, st Store) error {
	_, err := st.GetClient(ctx, "-readiness-probe-")
	if err == nil || linkvault.IsNotFound(err) {
		return nil
	}
	return err
}
