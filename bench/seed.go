package bench

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/clients"
	"github.com/linkvault/linkvault/internal/envelope"
	"github.com/linkvault/linkvault/internal/postgres"
	"github.com/linkvault/linkvault/internal/sqlite"
)

// Database drivers, as LINKVAULT_DATABASE_DRIVER spells them.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
)

// DB locates one benchmark database and the master key that seals its credentials.
type DB struct {
	Driver        string
	SQLitePath    string // driver sqlite
	PostgresDSN   string // driver postgres: DSN selecting the benchmark schema (search_path)
	MasterKeyFile string

	drop func() error // drops the PostgreSQL schema; nil for SQLite
}

// Env returns the LINKVAULT_* variables that point a server at this database.
func (d *DB) Env() map[string]string {
	env := map[string]string{
		"LINKVAULT_DATABASE_DRIVER": d.Driver,
		"LINKVAULT_MASTER_KEY_FILE": d.MasterKeyFile,
	}
	if d.Driver == DriverSQLite {
		env["LINKVAULT_SQLITE_PATH"] = d.SQLitePath
	} else {
		env["LINKVAULT_DATABASE_URL"] = d.PostgresDSN
	}
	return env
}

// Drop removes a PostgreSQL benchmark schema (SQLite files go with their directory).
func (d *DB) Drop() error {
	if d.drop == nil {
		return nil
	}
	return d.drop()
}

// NewSQLiteDB names a fresh SQLite database file in dir.
func NewSQLiteDB(dir, masterKeyFile string) *DB {
	return &DB{Driver: DriverSQLite, SQLitePath: dir + "/linkvault.db", MasterKeyFile: masterKeyFile}
}

// NewPostgresDB creates a fresh schema lvbench_<random> in the database at baseDSN and
// returns a DB selecting it. Drop removes the schema.
func NewPostgresDB(ctx context.Context, baseDSN, masterKeyFile string) (*DB, error) {
	admin, err := pgx.Connect(ctx, baseDSN)
	if err != nil {
		return nil, fmt.Errorf("bench: connect to PostgreSQL: %w", err)
	}
	defer admin.Close(ctx)
	if err := checkLoopback(net2addr(admin.Config().Host, admin.Config().Port)); err != nil {
		return nil, err
	}
	schema := "lvbench_" + strings.ToLower(strings.NewReplacer("-", "_").Replace(linkvault.NewRandomID(6)))
	quoted := pgx.Identifier{schema}.Sanitize()
	if _, err := admin.Exec(ctx, `CREATE SCHEMA `+quoted); err != nil {
		return nil, fmt.Errorf("bench: create schema: %w", err)
	}
	return &DB{
		Driver: DriverPostgres, PostgresDSN: withSearchPath(baseDSN, schema), MasterKeyFile: masterKeyFile,
		drop: func() error {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			c, err := pgx.Connect(ctx, baseDSN)
			if err != nil {
				return err
			}
			defer c.Close(ctx)
			_, err = c.Exec(ctx, `DROP SCHEMA `+quoted+` CASCADE`)
			return err
		},
	}, nil
}

func net2addr(host string, port uint16) string {
	if strings.HasPrefix(host, "/") {
		return "127.0.0.1:0" // a Unix socket is local too
	}
	if host == "localhost" {
		host = "127.0.0.1"
	}
	return fmt.Sprintf("%s:%d", host, port)
}

// withSearchPath returns dsn with search_path set to schema, in either DSN syntax.
func withSearchPath(dsn, schema string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		if u, err := url.Parse(dsn); err == nil {
			q := u.Query()
			q.Set("search_path", schema)
			u.RawQuery = q.Encode()
			return u.String()
		}
	}
	return dsn + " search_path=" + schema
}

// WriteMasterKeyFile writes a fresh one-version master key file (mode 0600).
func WriteMasterKeyFile(path string) error {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	return os.WriteFile(path, []byte("v1:"+base64.StdEncoding.EncodeToString(key)+"\n"), 0o600)
}

// store is what seeding and the scale measurements need from either store.
type store interface {
	linkvault.Store
	CountDueConnections(ctx context.Context, now time.Time) (int64, error)
}

// OpenStore opens (and migrates) the database through linkvault's own store package.
func (d *DB) OpenStore(ctx context.Context) (store, error) {
	switch d.Driver {
	case DriverSQLite:
		return sqlite.Open(ctx, d.SQLitePath, sqlite.Options{})
	case DriverPostgres:
		return postgres.Open(ctx, d.PostgresDSN, postgres.Options{})
	}
	return nil, fmt.Errorf("bench: unknown driver %q", d.Driver)
}

// SeedSpec describes the connections to seed.
type SeedSpec struct {
	Rows  int
	Due   int // the first Due rows are due now (NextCheckAt in the past)
	Batch int // rows per transaction / COPY; default 10000
	// Broker of every connection; default coinbase.
	Broker linkvault.BrokerType
	// Credential returns the credential of row i; nil makes a synthetic Coinbase-like
	// one (opaque 43-character access and refresh tokens, 1 h / 18 months expiry).
	Credential func(i int) (linkvault.Credential, error)
	// UserID returns the userId of row i; default "bench-user-<i>".
	UserID func(i int) string
	// Progress, if set, receives a line per batch.
	Progress io.Writer
	// AllowedOrigins are the web origins allowed to frame the client's Link pages
	// (what `clients update --allowed-origin` sets); the link scenario's app page
	// needs its own.
	AllowedOrigins []string
}

// Seeded is what seeding produced.
type Seeded struct {
	ClientID   string
	ReadSecret string
	TokenIDs   []string // in row order: the first Due are due
	Elapsed    time.Duration
}

// Seed creates a client with a read key through the clients service and inserts
// spec.Rows connections with credentials sealed by the real envelope keyring, in
// batched transactions (SQLite) or COPY (PostgreSQL). Rows are exactly what the vault
// would store: the ciphertext is bound to (client, tokenId) and opens on the server.
func Seed(ctx context.Context, d *DB, spec SeedSpec) (*Seeded, error) {
	if spec.Batch <= 0 {
		spec.Batch = 10000
	}
	if spec.Broker == "" {
		spec.Broker = linkvault.BrokerCoinbase
	}
	if spec.UserID == nil {
		spec.UserID = func(i int) string { return fmt.Sprintf("bench-user-%08d", i) }
	}
	start := time.Now()
	st, err := d.OpenStore(ctx)
	if err != nil {
		return nil, fmt.Errorf("bench: open store: %w", err)
	}
	defer st.Close()
	master, err := envelope.ReadMasterKeyFile(d.MasterKeyFile)
	if err != nil {
		return nil, err
	}
	keyring := envelope.New(st, master, time.Now)
	cs := clients.New(st, keyring, time.Now, 0)
	cl, err := cs.CreateClient(ctx, "", "bench")
	if err != nil {
		return nil, fmt.Errorf("bench: create client: %w", err)
	}
	if len(spec.AllowedOrigins) > 0 {
		if _, err := cs.UpdateLinkSettings(ctx, cl.ID, clients.LinkSettings{AllowedOrigins: spec.AllowedOrigins, SetOrigins: true}); err != nil {
			return nil, fmt.Errorf("bench: allow origins: %w", err)
		}
	}
	key, err := cs.CreateKey(ctx, cl.ID, linkvault.PermissionRead)
	if err != nil {
		return nil, fmt.Errorf("bench: create key: %w", err)
	}

	ins, err := newBulkInserter(ctx, d)
	if err != nil {
		return nil, err
	}
	defer ins.Close()

	out := &Seeded{ClientID: cl.ID, ReadSecret: key.Secret.Reveal(), TokenIDs: make([]string, 0, spec.Rows)}
	now := time.Now().UTC().Truncate(time.Microsecond)
	accounts, _ := json.Marshal([]linkvault.Account{{AccountID: "acc-main", AccountName: "Main portfolio", Fund: 1234.56, Cash: 78.9}})

	// Build batches (token ids, credentials, sealing) while the previous batch is
	// being written.
	type batch struct {
		rows []seedRow
		err  error
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the builder if writing fails
	batches := make(chan batch, 2)
	send := func(b batch) bool {
		select {
		case batches <- b:
			return true
		case <-ctx.Done():
			return false
		}
	}
	go func() {
		defer close(batches)
		for lo := 0; lo < spec.Rows; lo += spec.Batch {
			hi := min(lo+spec.Batch, spec.Rows)
			rows := make([]seedRow, 0, hi-lo)
			for i := lo; i < hi; i++ {
				var cred linkvault.Credential
				if spec.Credential != nil {
					c, err := spec.Credential(i)
					if err != nil {
						send(batch{err: err})
						return
					}
					cred = c
				} else {
					cred = syntheticCredential(now, i)
				}
				tokenID := linkvault.NewTokenID()
				row := &linkvault.Connection{TokenID: tokenID, UpstreamAccount: cred.Subject, ConnectionIdentity: linkvault.ConnectionIdentity{
					ClientID: cl.ID, UserID: spec.UserID(i), BrokerType: spec.Broker, Scope: linkvault.PermissionRead}}
				sealed, ver, err := keyring.SealCredential(ctx, row, cred)
				if err != nil {
					send(batch{err: err})
					return
				}
				next := cred.Expiry.Add(-5 * time.Minute) // refresh ahead, as the vault's default policy
				if cred.Expiry.IsZero() {
					next = now.Add(6 * time.Hour)
				}
				if i < spec.Due {
					next = now.Add(-time.Duration(spec.Due-i) * time.Millisecond) // due, oldest first
				}
				rows = append(rows, seedRow{
					TokenID: tokenID, ClientID: cl.ID, UserID: spec.UserID(i), Broker: string(spec.Broker), Upstream: cred.Subject,
					Accounts: string(accounts), Sealed: sealed, KeyVersion: ver,
					AccessExp: cred.Expiry, RefreshExp: cred.RefreshExpiry, NextCheck: next, Created: now,
				})
			}
			if !send(batch{rows: rows}) {
				return
			}
		}
	}()
	for b := range batches {
		if b.err != nil {
			return nil, fmt.Errorf("bench: build rows: %w", b.err)
		}
		if err := ins.Insert(ctx, b.rows); err != nil {
			return nil, fmt.Errorf("bench: insert rows: %w", err)
		}
		for _, r := range b.rows {
			out.TokenIDs = append(out.TokenIDs, r.TokenID)
		}
		if spec.Progress != nil {
			el := time.Since(start)
			fmt.Fprintf(spec.Progress, "  seeded %d/%d rows (%s, %.0f rows/s)\n", len(out.TokenIDs), spec.Rows,
				el.Round(time.Second), float64(len(out.TokenIDs))/el.Seconds())
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out.Elapsed = time.Since(start)
	return out, nil
}

// syntheticCredential is a Coinbase-shaped credential: opaque bearer tokens of the
// length Coinbase issues, a 1 h access token and an 18-month refresh token. Expiries are
// spread over the hour so the due set is a thin slice at any moment.
func syntheticCredential(now time.Time, i int) linkvault.Credential {
	exp := now.Add(time.Hour + time.Duration(i%3600)*time.Second)
	return linkvault.Credential{
		AccessToken:   linkvault.NewSecret(linkvault.NewRandomID(32)),
		RefreshToken:  linkvault.NewSecret(linkvault.NewRandomID(32)),
		TokenType:     "Bearer",
		Expiry:        exp,
		RefreshExpiry: now.AddDate(0, 18, 0),
		Subject:       fmt.Sprintf("sub-%08d", i),
	}
}

// seedRow is one connections row as the stores write it.
type seedRow struct {
	TokenID, ClientID, UserID, Broker, Accounts, Upstream string
	Sealed                                                []byte
	KeyVersion                                            int
	AccessExp, RefreshExp, NextCheck, Created             time.Time
}

// seedColumns are the columns the bulk inserters write; the rest take their defaults.
var seedColumns = []string{"token_id", "client_id", "user_id", "broker_type", "scope", "status", "accounts",
	"sealed_credential", "key_version", "access_expires_at", "refresh_expires_at", "next_check_at",
	"version", "created_at", "updated_at", "upstream_account"}

type bulkInserter interface {
	Insert(ctx context.Context, rows []seedRow) error
	Close() error
}

func newBulkInserter(ctx context.Context, d *DB) (bulkInserter, error) {
	switch d.Driver {
	case DriverSQLite:
		db, err := sql.Open("sqlite", "file:"+d.SQLitePath+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)")
		if err != nil {
			return nil, err
		}
		db.SetMaxOpenConns(1)
		return &sqliteInserter{db: db}, nil
	case DriverPostgres:
		c, err := pgx.Connect(ctx, d.PostgresDSN)
		if err != nil {
			return nil, err
		}
		return &pgInserter{c: c}, nil
	}
	return nil, fmt.Errorf("bench: unknown driver %q", d.Driver)
}

type sqliteInserter struct{ db *sql.DB }

func nullNanos(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

func (s *sqliteInserter) Insert(ctx context.Context, rows []seedRow) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO connections (`+strings.Join(seedColumns, ", ")+`)
		VALUES (?, ?, ?, ?, 'read', 'active', ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, r := range rows {
		if _, err := stmt.ExecContext(ctx, r.TokenID, r.ClientID, r.UserID, r.Broker, r.Accounts, r.Sealed, r.KeyVersion,
			nullNanos(r.AccessExp), nullNanos(r.RefreshExp), nullNanos(r.NextCheck), r.Created.UnixNano(), r.Created.UnixNano(), r.Upstream); err != nil {
			return err
		}
	}
	return tx.Commit()
}

func (s *sqliteInserter) Close() error { return s.db.Close() }

type pgInserter struct{ c *pgx.Conn }

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

func (p *pgInserter) Insert(ctx context.Context, rows []seedRow) error {
	n, err := p.c.CopyFrom(ctx, pgx.Identifier{"connections"}, seedColumns, pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
		r := rows[i]
		return []any{r.TokenID, r.ClientID, r.UserID, r.Broker, "read", "active", r.Accounts, r.Sealed, r.KeyVersion,
			nullTime(r.AccessExp), nullTime(r.RefreshExp), nullTime(r.NextCheck), int64(1), r.Created, r.Created, r.Upstream}, nil
	}))
	if err != nil {
		return err
	}
	if int(n) != len(rows) {
		return errors.New("COPY wrote fewer rows than given")
	}
	return nil
}

func (p *pgInserter) Close() error { return p.c.Close(context.Background()) }
