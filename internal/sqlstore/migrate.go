package sqlstore

import (
	"context"
	"fmt"

	"github.com/pressly/goose/v3"
)

// Migrator applies an engine's embedded goose migrations (numbered SQL files, one
// directory per engine, the same numbers in both).
type Migrator struct {
	name string
	open func(ctx context.Context) (p *goose.Provider, release func(), err error)
}

// NewMigrator returns a Migrator for the engine called name. open returns a goose
// provider for one operation, with the engine's dialect, connection and options (a
// session lock between replicas, a logger), and a function that releases it.
func NewMigrator(name string, open func(ctx context.Context) (*goose.Provider, func(), error)) *Migrator {
	return &Migrator{name: name, open: open}
}

func (m *Migrator) with(ctx context.Context, op string, fn func(p *goose.Provider) error) error {
	p, release, err := m.open(ctx)
	if err != nil {
		return fmt.Errorf("%s: migrations: %w", m.name, err)
	}
	defer release()
	if err := fn(p); err != nil {
		return fmt.Errorf("%s: %s: %w", m.name, op, err)
	}
	return nil
}

// Migrate applies every pending migration.
func (m *Migrator) Migrate(ctx context.Context) error {
	return m.with(ctx, "migrate", func(p *goose.Provider) error {
		_, err := p.Up(ctx)
		return err
	})
}

// MigrateTo applies the pending migrations up to version only (tests build databases
// as an earlier release left them with it).
func (m *Migrator) MigrateTo(ctx context.Context, version int64) error {
	return m.with(ctx, "migrate", func(p *goose.Provider) error {
		_, err := p.UpTo(ctx, version)
		return err
	})
}

// MigrationVersion returns the schema version currently applied (0 for an empty
// database).
func (m *Migrator) MigrationVersion(ctx context.Context) (int64, error) {
	var v int64
	err := m.with(ctx, "migration version", func(p *goose.Provider) error {
		var err error
		v, err = p.GetDBVersion(ctx)
		return err
	})
	return v, err
}

// LatestMigrationVersion returns the highest version among the embedded migrations.
func (m *Migrator) LatestMigrationVersion(ctx context.Context) (int64, error) {
	var v int64
	err := m.with(ctx, "latest migration version", func(p *goose.Provider) error {
		if sources := p.ListSources(); len(sources) > 0 {
			v = sources[len(sources)-1].Version
		}
		return nil
	})
	return v, err
}
