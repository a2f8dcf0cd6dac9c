package sqlite

import (
	"context"
	"embed"
	"io/fs"

	"github.com/pressly/goose/v3"
)

// embeddedMigrations holds every migrations/*.sql file; a new numbered file is picked
// up by Migrate without any code change.
//
//go:embed migrations/*.sql
var embeddedMigrations embed.FS

// openMigrations returns a goose provider over the writer pool. goose runs each
// migration on one connection, which is the writer's only one.
func (db *DB) openMigrations(context.Context) (*goose.Provider, func(), error) {
	p, err := goose.NewProvider(goose.DialectSQLite3, db.writer, migrationsFS(),
		goose.WithDisableGlobalRegistry(true),
		goose.WithSlog(db.logger),
	)
	return p, func() {}, err
}

// migrationsFS is the embedded migrations directory, rooted at its contents.
func migrationsFS() fs.FS {
	sub, err := fs.Sub(embeddedMigrations, "migrations")
	if err != nil {
		panic("sqlite: embedded migrations: " + err.Error()) // fixed path; cannot fail
	}
	return sub
}
