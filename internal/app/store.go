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
	"github.com/linkvault/linkvault/internal/sqlite"
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
	audit.Appender
	account.TransferStore
	account.PreviewStore
	ListAudit(ctx context.Context, q linkvault.AuditQuery) ([]linkvault.AuditEntry, error)
	PruneAudit(ctx context.Context, before time.Time) (int64, error)
	Migrate(ctx context.Context) error
	MigrationVersion(ctx context.Context) (int64, error)
}

var (
	_ Store = (*sqlite.DB)(nil)
	_ Store = (*postgres.DB)(nil)
)

// OpenStore opens the configured database; migrate applies pending migrations first.
func OpenStore(ctx context.Context, cfg *config.Config, migrate bool) (Store, error) {
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

// storeReady checks the database answers: a lookup of a client id that cannot exist.
func storeReady(ctx context.Context, st Store) error {
	_, err := st.GetClient(ctx, "-readiness-probe-")
	if err == nil || linkvault.IsNotFound(err) {
		return nil
	}
	return err
}
