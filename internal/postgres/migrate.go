package postgres

import (
	"context"
	"embed"
	"fmt"
	"hash/crc64"
	"io/fs"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// embeddedMigrations holds every migrations/*.sql file; a new numbered file is picked
// up by Migrate without any code change.
//
//go:embed migrations/*.sql
var embeddedMigrations embed.FS

// withMigrator runs fn with a goose provider over the pool. Migrations are serialised
// between replicas by a PostgreSQL advisory lock scoped to the database and schema, so
// replicas starting together migrate once and tests in separate schemas do not wait on
// each other.
func (db *DB) withMigrator(ctx context.Context, fn func(p *goose.Provider) error) error {
	var database, schema string
	if err := db.pool.QueryRow(ctx, `SELECT current_database(), coalesce(current_schema(), '')`).Scan(&database, &schema); err != nil {
		return fmt.Errorf("postgres: migrations: %w", err)
	}
	if schema == "" {
		return fmt.Errorf("postgres: migrations: no schema on the search_path exists")
	}
	lockID := int64(crc64.Checksum([]byte("linkvault-migrate/"+database+"/"+schema), crc64.MakeTable(crc64.ISO)) >> 1)
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(lockID), lock.WithLockTimeout(1, 300))
	if err != nil {
		return fmt.Errorf("postgres: migrations: %w", err)
	}
	sqlDB := stdlib.OpenDBFromPool(db.pool)
	defer sqlDB.Close()
	migrations, err := fs.Sub(embeddedMigrations, "migrations")
	if err != nil {
		return fmt.Errorf("postgres: migrations: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, sqlDB, migrations,
		goose.WithDisableGlobalRegistry(true),
		goose.WithSessionLocker(locker),
		goose.WithSlog(db.logger),
	)
	if err != nil {
		return fmt.Errorf("postgres: migrations: %w", err)
	}
	return fn(p)
}

// Migrate applies every pending migration.
func (db *DB) Migrate(ctx context.Context) error {
	return db.withMigrator(ctx, func(p *goose.Provider) error {
		if _, err := p.Up(ctx); err != nil {
			return fmt.Errorf("postgres: migrate: %w", err)
		}
		return nil
	})
}

// MigrationVersion returns the schema version currently applied (0 for an empty schema).
func (db *DB) MigrationVersion(ctx context.Context) (int64, error) {
	var v int64
	err := db.withMigrator(ctx, func(p *goose.Provider) error {
		var err error
		v, err = p.GetDBVersion(ctx)
		if err != nil {
			return fmt.Errorf("postgres: migration version: %w", err)
		}
		return nil
	})
	return v, err
}

// LatestMigrationVersion returns the highest version among the embedded migrations.
func (db *DB) LatestMigrationVersion(ctx context.Context) (int64, error) {
	var v int64
	err := db.withMigrator(ctx, func(p *goose.Provider) error {
		if sources := p.ListSources(); len(sources) > 0 {
			v = sources[len(sources)-1].Version
		}
		return nil
	})
	return v, err
}
