package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/linkvault/linkvault/internal/config"
)

// backuper is implemented by the SQLite store.
type backuper interface {
	Backup(ctx context.Context, path string) error
}

func runBackup(ctx context.Context, args []string, stdout, _ io.Writer, lookup env) (retErr error) {
	fs := newFlags("backup", "Usage: linkvault backup --out FILE\n\nWrites a consistent copy of the live SQLite database (online; the file is created 0600).", stdout)
	out := fs.String("out", "", "file to write the copy to (required; must not exist)")
	st, cfg, err := adminStore(ctx, fs, args, lookup, "out")
	if err != nil {
		return err
	}
	defer closeJoin(&retErr, st)
	b, ok := st.(backuper)
	if !ok || cfg.Database.Driver != config.DriverSQLite {
		return errors.New("backup: only the SQLite store is backed up by linkvault; for PostgreSQL use pg_dump or your provider's snapshots (see docs/operations.md)")
	}
	if err := b.Backup(ctx, *out); err != nil {
		return err
	}
	key := cfg.MasterKeyPath()
	if key == "" { // the key is given as a value
		key = config.EnvPrefix + "MASTER_KEY"
	}
	fmt.Fprintf(stdout, "backup written to %s\nIt holds sealed credentials only: keep the master key (%s) backed up separately, never beside it.\n", *out, key)
	return nil
}
