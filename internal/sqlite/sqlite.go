// Package sqlite is the store on an embedded SQLite database (pure Go,
// modernc.org/sqlite) in WAL mode, the default of a single linkvault process. The
// tables are implemented once, for both engines, by internal/sqlstore; this package
// opens the database, runs its migrations and supplies the SQLite side of the seam.
//
// Writes go through a pool of exactly one connection whose transactions begin
// IMMEDIATE, so writers queue in the process instead of failing with SQLITE_BUSY; reads
// use a separate pool of read-only connections and scale with the cores. Deleted rows
// are overwritten on disk (secure_delete), because removed credentials must not linger
// in the file.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/sqlstore"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Options configures Open. The zero value is a sensible default.
type Options struct {
	// SkipMigrations leaves the schema alone; call Migrate explicitly.
	SkipMigrations bool
	// ReadConns is the size of the read pool; 0 picks a value from GOMAXPROCS.
	ReadConns int
	// BusyTimeout is how long a connection waits on a lock held by another process
	// before failing; 0 means 5s.
	BusyTimeout time.Duration
	// Now is the clock for timestamps the store sets itself (CreatedAt defaults,
	// UpdatedAt); nil means time.Now.
	Now func() time.Time
	// Logger receives migration progress; nil discards.
	Logger *slog.Logger
	// WrapEngine wraps the engine the store's statements run on (internal/telemetry
	// traces them); nil leaves it as is.
	WrapEngine func(sqlstore.Engine) sqlstore.Engine
}

// DB is the SQLite store: every store method of sqlstore.Store, its migrations, backups
// and checkpoints.
type DB struct {
	*sqlstore.Store
	*sqlstore.Migrator
	path   string
	writer *sql.DB // exactly one connection; BEGIN IMMEDIATE
	reader *sql.DB // query_only connections
	engine *engine
	logger *slog.Logger

	closeOnce sync.Once
	closeErr  error
}

// Open opens (creating if needed) the database file at path, applies the connection
// pragmas and, unless opts.SkipMigrations, migrates the schema to the latest version.
func Open(ctx context.Context, path string, opts Options) (*DB, error) {
	if path == "" {
		return nil, errors.New("sqlite: open: empty database path")
	}
	db := &DB{path: path, logger: opts.Logger}
	if db.logger == nil {
		db.logger = slog.New(slog.DiscardHandler)
	}
	busy := opts.BusyTimeout
	if busy <= 0 {
		busy = 5 * time.Second
	}

	if err := createPrivate(path); err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}

	var err error
	// The writer is opened (and pinged) first so that it creates the file and switches
	// it to WAL before any reader connects.
	db.writer, err = sql.Open("sqlite", connectionDSN(path, busy, false))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open writer: %w", err)
	}
	db.writer.SetMaxOpenConns(1)
	db.writer.SetMaxIdleConns(1)
	db.writer.SetConnMaxLifetime(0)
	db.writer.SetConnMaxIdleTime(0)
	if err := db.writer.PingContext(ctx); err != nil {
		_ = db.writer.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}

	readConns := opts.ReadConns
	if readConns <= 0 {
		readConns = max(4, 2*runtime.GOMAXPROCS(0))
	}
	db.reader, err = sql.Open("sqlite", connectionDSN(path, busy, true))
	if err != nil {
		_ = db.writer.Close()
		return nil, fmt.Errorf("sqlite: open reader: %w", err)
	}
	// Keep every reader connection alive: reopening one re-runs the pragmas and
	// throws away its page cache.
	db.reader.SetMaxOpenConns(readConns)
	db.reader.SetMaxIdleConns(readConns)
	db.reader.SetConnMaxLifetime(0)
	db.reader.SetConnMaxIdleTime(0)
	if err := db.reader.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("sqlite: open reader %s: %w", path, err)
	}

	db.engine = newEngine(db.writer, db.reader)
	var e sqlstore.Engine = db.engine
	if opts.WrapEngine != nil {
		e = opts.WrapEngine(e)
	}
	db.Store = sqlstore.New(e, opts.Now)
	db.Migrator = sqlstore.NewMigrator("sqlite", db.openMigrations)

	if !opts.SkipMigrations {
		if err := db.Migrate(ctx); err != nil {
			_ = db.Close()
			return nil, err
		}
	}
	return db, nil
}

// createPrivate creates the database file with mode 0600 when it does not exist yet,
// so that SQLite (which gives its -wal and -shm files the database file's mode) never
// leaves the store readable by other users. In-memory and URI paths are left alone.
func createPrivate(path string) error {
	if path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return f.Close()
}

// connectionDSN builds the modernc.org/sqlite DSN. The pragmas run on every new
// connection of the pool.
func connectionDSN(path string, busy time.Duration, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busy.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(ON)")
	// Overwrite deleted content so removed credentials do not survive in free pages.
	q.Add("_pragma", "secure_delete(ON)")
	if readOnly {
		q.Add("_pragma", "query_only(ON)")
	} else {
		// BEGIN IMMEDIATE takes the write lock up front: a transaction that reads and
		// then writes can never fail to upgrade its lock.
		q.Set("_txlock", "immediate")
	}
	return "file:" + path + "?" + q.Encode()
}

// Path returns the database file path.
func (db *DB) Path() string { return db.path }

// Close closes both pools. It is safe to call more than once.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		var errs []error
		if db.engine != nil {
			errs = append(errs, db.engine.read.close(), db.engine.stmts.close())
		}
		if db.reader != nil {
			errs = append(errs, db.reader.Close())
		}
		if db.writer != nil {
			errs = append(errs, db.writer.Close())
		}
		if err := errors.Join(errs...); err != nil {
			db.closeErr = fmt.Errorf("sqlite: close: %w", err)
		}
	})
	return db.closeErr
}

// Checkpoint copies the WAL into the database file and truncates the WAL to zero bytes.
func (db *DB) Checkpoint(ctx context.Context) error {
	var busy, logFrames, checkpointed int
	err := db.writer.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logFrames, &checkpointed)
	if err != nil {
		return fmt.Errorf("sqlite: checkpoint: %w", err)
	}
	if busy != 0 {
		return errors.New("sqlite: checkpoint: blocked by a reader or writer")
	}
	return nil
}

// DeleteConnection deletes the connection (see sqlstore.Store.DeleteConnection), as
// RemoveConnection does.
func (db *DB) DeleteConnection(ctx context.Context, clientID, tokenID string, events ...linkvault.Event) error {
	return db.RemoveConnection(ctx, linkvault.Removal{ClientID: clientID, TokenID: tokenID}, events...)
}

// RemoveConnection removes the connection (see sqlstore.Store.RemoveConnection). The
// rows it deletes or rewrites are overwritten in the database file (secure_delete), and
// a checkpoint right after the commit truncates the WAL file, which still held older
// copies of their pages. The checkpoint is best effort: when readers keep it from
// completing, the copies stay in the WAL until a later checkpoint, and a warning is
// logged.
func (db *DB) RemoveConnection(ctx context.Context, r linkvault.Removal, events ...linkvault.Event) error {
	if err := db.Store.RemoveConnection(ctx, r, events...); err != nil {
		return err
	}
	if err := db.Checkpoint(ctx); err != nil {
		db.logger.WarnContext(ctx, "WAL checkpoint after delete did not complete", "error", err)
	}
	return nil
}
