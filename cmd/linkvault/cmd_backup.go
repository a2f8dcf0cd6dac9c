package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/linkvault/linkvault/internal/config"
)

// backuper is implemented by the SQLite store.
type backuper interface {
	Backup(ctx context.Context, path string) error
}

func runBackup(ctx context.Context, args []string, stdout, stderr io.Writer, lookup env) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "file to write the copy to (must not exist)")
	st, cfg, err := adminStore(ctx, fs, args, lookup)
	if err != nil {
		return err
	}
	defer st.Close()
	if *out == "" {
		return errors.New("backup: --out FILE is required")
	}
	b, ok := st.(backuper)
	if !ok || cfg.Database.Driver != config.DriverSQLite {
		return errors.New("backup: only the SQLite store is backed up by linkvault; for PostgreSQL use pg_dump or your provider's snapshots (see docs/operations.md)")
	}
	if err := b.Backup(ctx, *out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backup written to %s\nIt holds sealed credentials only: keep the master key (%s) backed up separately, never beside it.\n", *out, cfg.MasterKeyPath())
	return nil
}
