package postgres

import (
	"context"
	"embed"
	"errors"
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

// openMigrations returns a goose provider over the pool. Migrations are serialised
// between replicas by a PostgreSQL advisory lock scoped to the database and schema, so
// replicas starting together migrate once and tests in separate schemas do not wait on
// each other.
func (db *DB) openMigrations(ctx context.Context) (*goose.Provider, func(), error) {
	var database, schema string
	if err := db.pool.QueryRow(ctx, `SELECT current_database(), coalesce(current_schema(), '')`).Scan(&database, &schema); err != nil {
		return nil, nil, err
	}
	if schema == "" {
		return nil, nil, errors.New("no schema on the search_path exists")
	}
	lockID := int64(crc64.Checksum([]byte("linkvault-migrate/"+database+"/"+schema), crc64.MakeTable(crc64.ISO)) >> 1)
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(lockID), lock.WithLockTimeout(1, 300))
	if err != nil {
		return nil, nil, err
	}
	migrations, err := fs.Sub(embeddedMigrations, "migrations")
	if err != nil {
		return nil, nil, err
	}
	sqlDB := stdlib.OpenDBFromPool(db.pool)
	p, err := goose.NewProvider(goose.DialectPostgres, sqlDB, migrations,
		goose.WithDisableGlobalRegistry(true),
		goose.WithSessionLocker(locker),
		goose.WithSlog(db.logger),
	)
	if err != nil {
		_ = sqlDB.Close()
		return nil, nil, err
	}
	return p, func() { _ = sqlDB.Close() }, nil
}
