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
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
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
		return nil, connectError(cfg, err)
	}
	if !opts.SkipMigrations {
		if err := db.Migrate(ctx); err != nil {
			pool.Close()
			return nil, fmt.Errorf("postgres: migration failed (the schema is left at its last complete version): %w", err)
		}
	}
	return db, nil
}

// Errors of Open when the database cannot be used, for callers to branch on; the
// messages name the server, user and database, never the password or the whole
// connection string.
var (
	ErrUnreachable    = errors.New("cannot reach the PostgreSQL server")
	ErrAuthentication = errors.New("PostgreSQL refused the credentials")
	ErrNoDatabase     = errors.New("the PostgreSQL database does not exist")
)

// connectError says why the first connection failed, from the parts of the
// configuration that are not secret.
func connectError(cfg *pgxpool.Config, err error) error {
	cc := cfg.ConnConfig
	server := net.JoinHostPort(cc.Host, strconv.Itoa(int(cc.Port)))
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "28P01", "28000": // invalid_password, invalid_authorization_specification
			return fmt.Errorf("postgres: %w: %s rejected user %q (SQLSTATE %s); check the user and password in LINKVAULT_DATABASE_URL", ErrAuthentication, server, cc.User, pgErr.Code)
		case "3D000": // invalid_catalog_name
			return fmt.Errorf("postgres: %w: no database %q on %s (SQLSTATE 3D000); create it (createdb %s) or fix the name in LINKVAULT_DATABASE_URL", ErrNoDatabase, cc.Database, server, cc.Database)
		}
		return fmt.Errorf("postgres: %s refused the connection (SQLSTATE %s)", server, pgErr.Code)
	}
	reason := "no answer"
	var opErr *net.OpError
	switch {
	case errors.As(err, &opErr) && opErr.Err != nil:
		reason = opErr.Err.Error()
	case errors.Is(err, context.DeadlineExceeded):
		reason = "timed out"
	}
	return fmt.Errorf("postgres: %w at %s (%s); check that it runs and the host and port in LINKVAULT_DATABASE_URL", ErrUnreachable, server, reason)
}

// Close closes the pool. It is safe to call more than once.
func (db *DB) Close() error {
	db.closeOnce.Do(db.pool.Close)
	return nil
}
