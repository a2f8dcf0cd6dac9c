// Package postgres is the store on PostgreSQL through pgx, for deployments with several
// stateless linkvault replicas sharing one database. The tables are implemented once,
// for both engines, by internal/sqlstore; this package opens the pool, runs its
// migrations (serialised between replicas) and supplies the PostgreSQL side of the
// seam.
//
// The lifecycle engine's leases are committed rows: claims pick due rows with FOR
// UPDATE SKIP LOCKED and lease them in the same statement, so replicas never receive
// the same row while a lease is live, and every write-back is a compare-and-swap on the
// row version (fencing).
package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/linkvault/linkvault/internal/sqlstore"
)

// Options configures Open. The zero value is a sensible default.
type Options struct {
	// SkipMigrations leaves the schema alone; call Migrate explicitly.
	SkipMigrations bool
	// MaxConns caps the pool; 0 keeps pgx's default (or pool_max_conns from the DSN).
	MaxConns int32
	// Now is the clock for timestamps the store sets itself (CreatedAt defaults,
	// UpdatedAt); nil means time.Now.
	Now func() time.Time
	// Logger receives migration progress; nil discards.
	Logger *slog.Logger
	// WrapEngine wraps the engine the store's statements run on (internal/telemetry
	// traces them); nil leaves it as is.
	WrapEngine func(sqlstore.Engine) sqlstore.Engine
}

// DB is the PostgreSQL store: every store method of sqlstore.Store and its migrations.
type DB struct {
	*sqlstore.Store
	*sqlstore.Migrator
	pool   *pgxpool.Pool
	logger *slog.Logger

	closeOnce sync.Once
}

// Open connects to the database named by dsn (a postgres:// URL or key=value string;
// search_path in it selects the schema) and, unless opts.SkipMigrations, migrates the
// schema to the latest version.
func Open(ctx context.Context, dsn string, opts Options) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's parse errors can echo the DSN, password included: keep them out.
		return nil, errors.New("postgres: open: invalid connection string")
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	var e sqlstore.Engine = newEngine(pool)
	if opts.WrapEngine != nil {
		e = opts.WrapEngine(e)
	}
	db := &DB{Store: sqlstore.New(e, opts.Now), pool: pool, logger: opts.Logger}
	db.Migrator = sqlstore.NewMigrator("postgres", db.openMigrations)
	if db.logger == nil {
		db.logger = slog.New(slog.DiscardHandler)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	if !opts.SkipMigrations {
		if err := db.Migrate(ctx); err != nil {
			pool.Close()
			return nil, err
		}
	}
	return db, nil
}

// Close closes the pool. It is safe to call more than once.
func (db *DB) Close() error {
	db.closeOnce.Do(db.pool.Close)
	return nil
}
