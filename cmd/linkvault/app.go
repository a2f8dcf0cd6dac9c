package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/linkvault/linkvault/internal/app"
	"github.com/linkvault/linkvault/internal/config"
	"github.com/linkvault/linkvault/internal/envelope"
	"github.com/linkvault/linkvault/internal/telemetry"
)

// closeJoin closes c when a command returns and adds a failed close to the command's
// error (*retErr), so that a store, server or simulator that does not close cleanly
// turns the exit status non-zero instead of passing unnoticed. Use it as
// `defer closeJoin(&retErr, st)` in a function whose result is named retErr.
func closeJoin(retErr *error, c io.Closer) {
	if err := c.Close(); err != nil {
		*retErr = errors.Join(*retErr, fmt.Errorf("close: %w", err))
	}
}

// loadConfig loads and validates the configuration.
func loadConfig(path string, lookup env) (*config.Config, error) {
	cfg, err := config.Load(path, lookup, os.ReadFile)
	if err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// The standard OpenTelemetry variables turn tracing on (or off) too.
	cfg.Tracing.Enabled = telemetry.Enabled(cfg.Tracing.Enabled, lookup)
	return cfg, nil
}

// configFlag registers the shared --config flag.
func configFlag(fs *flag.FlagSet) *string {
	return fs.String("config", "", "JSON configuration file (environment variables override it)")
}

// parseConfig registers --config on fs, parses args (-h prints the command's usage)
// and loads the configuration.
func parseConfig(fs *flags, args []string, lookup env) (*config.Config, error) {
	cfgPath := configFlag(fs.FlagSet)
	if err := fs.parse(args); err != nil {
		return nil, err
	}
	return loadConfig(*cfgPath, lookup)
}

// adminKeyring builds the sealer for commands that seal or open secrets. Like a
// server, it wraps any data key it creates with the newest master version every live
// replica holds, so a command run mid-rotation creates nothing a replica cannot open.
func adminKeyring(cfg *config.Config, st app.Store) (*envelope.Keyring, error) {
	master, err := app.LoadMasterKeyring(cfg)
	if err != nil {
		return nil, err
	}
	return keyringOf(cfg, st, master)
}

// keyringOf is adminKeyring with the master keyring already loaded.
func keyringOf(cfg *config.Config, st app.Store, master *envelope.MasterKeyring) (*envelope.Keyring, error) {
	ring := envelope.New(st, master, time.Now)
	live, err := st.ListKeyringReplicas(context.Background(), time.Now().Add(-app.LiveReplicaWindow*cfg.MasterKeyCheckInterval))
	if err != nil {
		return nil, err
	}
	if v := app.CommonWrapVersion(master.Versions(), live); v > 0 {
		ring.SetWrapVersion(v)
	}
	return ring, nil
}

// openConfigured loads the configuration at path and opens its existing database
// (openExistingStore); the caller closes the store.
func openConfigured(ctx context.Context, path string, lookup env) (app.Store, *config.Config, error) {
	cfg, err := loadConfig(path, lookup)
	if err != nil {
		return nil, nil, err
	}
	st, err := openExistingStore(ctx, cfg)
	return st, cfg, err
}

// openSealing is openConfigured for commands that seal secrets (API key verifiers,
// webhook signing secrets): the master key is loaded first, so a missing key is
// reported before the database is touched, and the keyring seals like a server's
// (adminKeyring).
func openSealing(ctx context.Context, path string, lookup env) (app.Store, *envelope.Keyring, error) {
	cfg, err := loadConfig(path, lookup)
	if err != nil {
		return nil, nil, err
	}
	master, err := app.LoadMasterKeyring(cfg)
	if err != nil {
		return nil, nil, err
	}
	st, err := openExistingStore(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	ring, err := keyringOf(cfg, st, master)
	if err != nil {
		return nil, nil, errors.Join(err, st.Close())
	}
	return st, ring, nil
}

// openExistingStore opens the configured database for a command that reads or changes
// it, and never creates one: a missing SQLite file, a database without linkvault's
// schema, or a schema older than this binary is an error that says to run migrate.
func openExistingStore(ctx context.Context, cfg *config.Config) (app.Store, error) {
	if path, ok := sqliteFile(cfg); ok {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no database at %s (%sSQLITE_PATH): create it with `linkvault migrate`", path, config.EnvPrefix)
		}
	}
	st, err := app.OpenStore(ctx, cfg, false)
	if err != nil {
		return nil, err
	}
	v, err := st.MigrationVersion(ctx)
	if err != nil {
		return nil, errors.Join(err, st.Close())
	}
	if v == 0 {
		_ = st.Close()
		return nil, fmt.Errorf("the %s database has no linkvault schema yet: run `linkvault migrate` first", cfg.Database.Driver)
	}
	if l, ok := st.(interface {
		LatestMigrationVersion(context.Context) (int64, error)
	}); ok {
		if latest, err := l.LatestMigrationVersion(ctx); err == nil && v < latest {
			_ = st.Close()
			return nil, fmt.Errorf("the %s database schema is at version %d, this linkvault needs %d: run `linkvault migrate` first", cfg.Database.Driver, v, latest)
		}
	}
	return st, nil
}

// sqliteFile is the SQLite database file of cfg, if it names one.
func sqliteFile(cfg *config.Config) (string, bool) {
	if cfg.Database.Driver != config.DriverSQLite {
		return "", false
	}
	p := strings.TrimPrefix(cfg.Database.SQLitePath, "file:")
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	if p == "" || p == ":memory:" {
		return "", false
	}
	return p, true
}

// newSQLiteFile is the SQLite file a command is about to create ("" if it exists, or
// the database is not a SQLite file).
func newSQLiteFile(cfg *config.Config) string {
	p, ok := sqliteFile(cfg)
	if !ok {
		return ""
	}
	if _, err := os.Stat(p); err == nil {
		return ""
	}
	return p
}

// removeIfCreated removes a SQLite file (and its journal files) a failed command
// created, so that a failure leaves no database behind.
func removeIfCreated(path string) {
	if path == "" {
		return
	}
	for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
		_ = os.Remove(path + suffix)
	}
}
