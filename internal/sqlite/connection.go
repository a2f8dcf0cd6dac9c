package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/linkvault/linkvault"
)

// connectionColumns is the column list every connection query selects, in the order
// scanConnection reads them.
const connectionColumns = `token_id, client_id, user_id, broker_type, scope, status, accounts,
	sealed_credential, key_version, access_expires_at, refresh_expires_at, next_check_at,
	failure_count, last_error, lease_owner, lease_expires_at, version, created_at, updated_at`

func scanConnection(row rowScanner) (*linkvault.Connection, error) {
	var (
		c                                  linkvault.Connection
		broker, scope, status, accounts    string
		accessExp, refreshExp, next, lease sql.NullInt64
		created, updated                   int64
	)
	err := row.Scan(&c.TokenID, &c.ClientID, &c.UserID, &broker, &scope, &status, &accounts,
		&c.SealedCredential, &c.KeyVersion, &accessExp, &refreshExp, &next,
		&c.FailureCount, &c.LastError, &c.LeaseOwner, &lease, &c.Version, &created, &updated)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(accounts), &c.Accounts); err != nil {
		return nil, fmt.Errorf("decode accounts of a connection: %w", err)
	}
	c.BrokerType = linkvault.BrokerType(broker)
	c.Scope = linkvault.Permission(scope)
	c.Status = linkvault.ConnectionStatus(status)
	c.AccessExpiresAt = nullTimeFromDB(accessExp)
	c.RefreshExpiresAt = nullTimeFromDB(refreshExp)
	c.NextCheckAt = nullTimeFromDB(next)
	c.LeaseExpiresAt = nullTimeFromDB(lease)
	c.CreatedAt = timeFromDB(created)
	c.UpdatedAt = timeFromDB(updated)
	return &c, nil
}

func encodeAccounts(accounts []linkvault.Account) (string, error) {
	b, err := json.Marshal(accounts)
	if err != nil {
		return "", fmt.Errorf("encode accounts: %w", err)
	}
	return string(b), nil
}

// CreateConnection inserts c with Version 1, together with its outbox events.
// Conflict if the tokenId or the identity already exists. A zero CreatedAt is set to
// now; UpdatedAt is set to CreatedAt.
func (db *DB) CreateConnection(ctx context.Context, c *linkvault.Connection, events ...linkvault.Event) error {
	accounts, err := encodeAccounts(c.Accounts)
	if err != nil {
		return fmt.Errorf("sqlite: create connection: %w", err)
	}
	created := c.CreatedAt
	if created.IsZero() {
		created = db.now()
	}
	err = db.withTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO connections (`+connectionColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)`,
			c.TokenID, c.ClientID, c.UserID, string(c.BrokerType), string(c.Scope), string(c.Status), accounts,
			c.SealedCredential, c.KeyVersion, nullTimeToDB(c.AccessExpiresAt), nullTimeToDB(c.RefreshExpiresAt),
			nullTimeToDB(c.NextCheckAt), c.FailureCount, c.LastError, c.LeaseOwner, nullTimeToDB(c.LeaseExpiresAt),
			timeToDB(created), timeToDB(created))
		if isUniqueViolation(err) {
			return linkvault.ErrConflict("Connection already exists.")
		}
		if err != nil {
			return fmt.Errorf("sqlite: create connection: %w", err)
		}
		return db.insertEvents(ctx, tx, c.ClientID, c.TokenID, events)
	})
	if err != nil {
		return err
	}
	c.Version = 1
	c.CreatedAt = created
	c.UpdatedAt = created
	return nil
}

// GetConnection returns the client's connection, or exactly linkvault.ErrTokenNotFound
// when the tokenId does not exist or belongs to another client.
func (db *DB) GetConnection(ctx context.Context, clientID, tokenID string) (*linkvault.Connection, error) {
	row, err := db.queryRow(ctx,
		`SELECT `+connectionColumns+` FROM connections WHERE token_id = ? AND client_id = ?`, tokenID, clientID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: get connection: %w", err)
	}
	c, err := scanConnection(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, linkvault.ErrTokenNotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: get connection: %w", err)
	}
	return c, nil
}

// FindConnection looks a connection up by identity; notFound if none.
func (db *DB) FindConnection(ctx context.Context, id linkvault.ConnectionIdentity) (*linkvault.Connection, error) {
	row, err := db.queryRow(ctx, `SELECT `+connectionColumns+` FROM connections
		WHERE client_id = ? AND user_id = ? AND broker_type = ? AND scope = ?`,
		id.ClientID, id.UserID, string(id.BrokerType), string(id.Scope))
	if err != nil {
		return nil, fmt.Errorf("sqlite: find connection: %w", err)
	}
	c, err := scanConnection(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, linkvault.ErrNotFound("Connection")
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: find connection: %w", err)
	}
	return c, nil
}

// ListUserConnections lists a user's connections of one client, oldest first.
func (db *DB) ListUserConnections(ctx context.Context, clientID, userID string) ([]*linkvault.Connection, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT `+connectionColumns+` FROM connections
		WHERE client_id = ? AND user_id = ? ORDER BY created_at, token_id`, clientID, userID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list user connections: %w", err)
	}
	out, err := collectConnections(rows)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list user connections: %w", err)
	}
	return out, nil
}

func collectConnections(rows *sql.Rows) ([]*linkvault.Connection, error) {
	defer rows.Close()
	var out []*linkvault.Connection
	for rows.Next() {
		c, err := scanConnection(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// UpdateConnection writes every mutable field of c (identity and CreatedAt excepted,
// lease fields included) if the stored version still equals c.Version, together with
// its outbox events. On success c.Version is the new version and c.UpdatedAt is now.
// Conflict if the version moved on; linkvault.ErrTokenNotFound if the row is gone.
func (db *DB) UpdateConnection(ctx context.Context, c *linkvault.Connection, events ...linkvault.Event) error {
	accounts, err := encodeAccounts(c.Accounts)
	if err != nil {
		return fmt.Errorf("sqlite: update connection: %w", err)
	}
	now := db.now()
	err = db.withTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE connections SET
				status = ?, accounts = ?, sealed_credential = ?, key_version = ?,
				access_expires_at = ?, refresh_expires_at = ?, next_check_at = ?,
				failure_count = ?, last_error = ?, lease_owner = ?, lease_expires_at = ?,
				version = version + 1, updated_at = ?
			WHERE token_id = ? AND client_id = ? AND version = ?`,
			string(c.Status), accounts, c.SealedCredential, c.KeyVersion,
			nullTimeToDB(c.AccessExpiresAt), nullTimeToDB(c.RefreshExpiresAt), nullTimeToDB(c.NextCheckAt),
			c.FailureCount, c.LastError, c.LeaseOwner, nullTimeToDB(c.LeaseExpiresAt),
			timeToDB(now), c.TokenID, c.ClientID, c.Version)
		if err != nil {
			return fmt.Errorf("sqlite: update connection: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("sqlite: update connection: %w", err)
		}
		if n == 0 {
			var exists int
			err := tx.QueryRowContext(ctx, `SELECT 1 FROM connections WHERE token_id = ? AND client_id = ?`,
				c.TokenID, c.ClientID).Scan(&exists)
			if errors.Is(err, sql.ErrNoRows) {
				return linkvault.ErrTokenNotFound()
			}
			if err != nil {
				return fmt.Errorf("sqlite: update connection: %w", err)
			}
			return linkvault.ErrConflict("Connection was modified concurrently.")
		}
		return db.insertEvents(ctx, tx, c.ClientID, c.TokenID, events)
	})
	if err != nil {
		return err
	}
	c.Version++
	c.UpdatedAt = now
	return nil
}

// DeleteConnection physically deletes the client's connection and writes its outbox
// events; linkvault.ErrTokenNotFound if absent. secure_delete overwrites the row in the
// database file, and a checkpoint right after the commit truncates the WAL file, which
// still held older copies of the row's page. The checkpoint is best effort: when
// readers keep it from completing, the copies stay in the WAL (sealed ciphertext only)
// until a later checkpoint, and a warning is logged.
func (db *DB) DeleteConnection(ctx context.Context, clientID, tokenID string, events ...linkvault.Event) error {
	err := db.deleteConnection(ctx, clientID, tokenID, events)
	if err != nil {
		return err
	}
	if err := db.Checkpoint(ctx); err != nil {
		db.logger.WarnContext(ctx, "WAL checkpoint after delete did not complete", "error", err)
	}
	return nil
}

func (db *DB) deleteConnection(ctx context.Context, clientID, tokenID string, events []linkvault.Event) error {
	return db.withTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM connections WHERE token_id = ? AND client_id = ?`, tokenID, clientID)
		if err != nil {
			return fmt.Errorf("sqlite: delete connection: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("sqlite: delete connection: %w", err)
		}
		if n == 0 {
			return linkvault.ErrTokenNotFound()
		}
		return db.insertEvents(ctx, tx, clientID, tokenID, events)
	})
}

// ClaimDueConnections leases up to limit connections due at now (NextCheckAt set and
// <= now) whose lease is free or expired, earliest first. Each claimed row gets the
// lease, a bumped version and UpdatedAt = now. All writes go through the single writer
// connection, so two claims never overlap.
func (db *DB) ClaimDueConnections(ctx context.Context, now time.Time, owner string, leaseUntil time.Time, limit int) ([]*linkvault.Connection, error) {
	if limit <= 0 {
		return nil, nil
	}
	var out []*linkvault.Connection
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `UPDATE connections SET
				lease_owner = ?, lease_expires_at = ?, version = version + 1, updated_at = ?
			WHERE token_id IN (
				SELECT token_id FROM connections
				WHERE next_check_at <= ? AND (lease_owner = '' OR lease_expires_at <= ?)
				ORDER BY next_check_at
				LIMIT ?)
			RETURNING `+connectionColumns,
			owner, nullTimeToDB(leaseUntil), timeToDB(now), timeToDB(now), timeToDB(now), limit)
		if err != nil {
			return err
		}
		out, err = collectConnections(rows)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: claim due connections: %w", err)
	}
	// RETURNING has no defined order.
	slices.SortFunc(out, func(a, b *linkvault.Connection) int {
		if c := a.NextCheckAt.Compare(b.NextCheckAt); c != 0 {
			return c
		}
		return cmpString(a.TokenID, b.TokenID)
	})
	return out, nil
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// CountConnections returns the number of stored connections.
func (db *DB) CountConnections(ctx context.Context) (int64, error) {
	var n int64
	if err := db.reader.QueryRowContext(ctx, `SELECT count(*) FROM connections`).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: count connections: %w", err)
	}
	return n, nil
}
