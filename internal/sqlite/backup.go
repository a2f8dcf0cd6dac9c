package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"time"
)

// Backup writes a consistent copy of the live database to path (which must not exist)
// with VACUUM INTO, without stopping writers for longer than the copy's read
// transaction. The copy holds sealed credentials only: it is useless without the master
// key, which must be backed up separately. The file is created with mode 0600.
func (db *DB) Backup(ctx context.Context, path string) error {
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("sqlite: backup: %s already exists", path)
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	// Create the file first so it has the private mode; VACUUM INTO requires the
	// target to be empty or absent, and an empty file is accepted.
	if err := createPrivate(path); err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	// A connection of its own: the read pool is query_only (VACUUM INTO counts as a
	// write there) and the writer must stay free for the service while the copy runs.
	conn, err := sql.Open("sqlite", connectionDSN(db.path, 5*time.Second, false))
	if err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	if _, err := conn.ExecContext(ctx, `VACUUM INTO ?`, path); err != nil {
		_ = conn.Close() // the VACUUM error is the one returned
		_ = os.Remove(path)
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	if err := conn.Close(); err != nil {
		return fmt.Errorf("sqlite: backup: close: %w", err)
	}
	return nil
}
