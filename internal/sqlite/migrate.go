package sqlite

import (
	"context"
	"embed"
	"fmt"

	"github.com/pressly/goose/v3"
)

// embeddedMigrations holds every migrations/*.sql file; a new numbered file is picked
// up by Migrate without any code change.
//
//go:embed migrations/*.sql
var embeddedMigrations embed.FS

// newMigrator returns a goose provider over the writer pool. goose runs each migration
// on one connection, which is the writer's only one.
func (db *DB) newMigrator() (*goose.Provider, error) {
	p, err := goose.NewProvider(goose.DialectSQLite3, db.writer, migrationsFS(),
		goose.WithDisableGlobalRegistry(true),
		goose.WithSlog(db.logger),
	)
	if err != nil {
		return nil, fmt.Errorf("sqlite: migrations: %w", err)
	}
	return p, nil
}

// Migrate applies every pending migration.
func (db *DB) Migrate(ctx context.Context) error {
	p, err := db.newMigrator()
	if err != nil {
		return err
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	return nil
}

// MigrationVersion returns the schema version currently applied (0 for an empty database).
func (db *DB) MigrationVersion(ctx context.Context) (int64, error) {
	p, err := db.newMigrator()
	if err != nil {
		return 0, err
	}
	v, err := p.GetDBVersion(ctx)
	if err != nil {
		return 0, fmt.Errorf("sqlite: migration version: %w", err)
	}
	return v, nil
}

// LatestMigrationVersion returns the highest version among the embedded migrations.
func (db *DB) LatestMigrationVersion() (int64, error) {
	p, err := db.newMigrator()
	if err != nil {
		return 0, err
	}
	sources := p.ListSources()
	if len(sources) == 0 {
		return 0, nil
	}
	return sources[len(sources)-1].Version, nil
}
