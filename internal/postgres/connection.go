package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/linkvault/linkvault"
)

// connectionColumns is the column list every connection query selects, in the order
// scanConnection reads them.
const connectionColumns = `token_id, client_id, user_id, broker_type, scope, status, accounts,
	sealed_credential, key_version, access_expires_at, refresh_expires_at, next_check_at,
	failure_count, last_error, lease_owner, lease_expires_at, version, created_at, updated_at`

func scanConnection(row pgx.Row) (*linkvault.Connection, error) {
	var (
		c                                  linkvault.Connection
		broker, scope, status, accounts    string
		accessExp, refreshExp, next, lease pgtype.Timestamptz
		created, updated                   time.Time
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

func collectConnections(rows pgx.Rows) ([]*linkvault.Connection, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*linkvault.Connection, error) { return scanConnection(r) })
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
		return fmt.Errorf("postgres: create connection: %w", err)
	}
	created := c.CreatedAt
	if created.IsZero() {
		created = db.now()
	}
	err = db.withTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO connections (`+connectionColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, 1, $17, $17)`,
			c.TokenID, c.ClientID, c.UserID, string(c.BrokerType), string(c.Scope), string(c.Status), accounts,
			c.SealedCredential, c.KeyVersion, nullTimeToDB(c.AccessExpiresAt), nullTimeToDB(c.RefreshExpiresAt),
			nullTimeToDB(c.NextCheckAt), c.FailureCount, c.LastError, c.LeaseOwner, nullTimeToDB(c.LeaseExpiresAt),
			created)
		if isUniqueViolation(err) {
			return linkvault.ErrConflict("Connection already exists.")
		}
		if err != nil {
			return fmt.Errorf("postgres: create connection: %w", err)
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
	c, err := scanConnection(db.pool.QueryRow(ctx,
		`SELECT `+connectionColumns+` FROM connections WHERE token_id = $1 AND client_id = $2`, tokenID, clientID))
	if isNoRows(err) {
		return nil, linkvault.ErrTokenNotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: get connection: %w", err)
	}
	return c, nil
}

// FindConnection looks a connection up by identity; notFound if none.
func (db *DB) FindConnection(ctx context.Context, id linkvault.ConnectionIdentity) (*linkvault.Connection, error) {
	c, err := scanConnection(db.pool.QueryRow(ctx, `SELECT `+connectionColumns+` FROM connections
		WHERE client_id = $1 AND user_id = $2 AND broker_type = $3 AND scope = $4`,
		id.ClientID, id.UserID, string(id.BrokerType), string(id.Scope)))
	if isNoRows(err) {
		return nil, linkvault.ErrNotFound("Connection")
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: find connection: %w", err)
	}
	return c, nil
}

// ListUserConnections lists a user's connections of one client, oldest first.
func (db *DB) ListUserConnections(ctx context.Context, clientID, userID string) ([]*linkvault.Connection, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+connectionColumns+` FROM connections
		WHERE client_id = $1 AND user_id = $2 ORDER BY created_at, token_id`, clientID, userID)
	if err != nil {
		return nil, fmt.Errorf("postgres: list user connections: %w", err)
	}
	out, err := collectConnections(rows)
	if err != nil {
		return nil, fmt.Errorf("postgres: list user connections: %w", err)
	}
	return out, nil
}

// UpdateConnection writes every mutable field of c (identity and CreatedAt excepted,
// lease fields included) if the stored version still equals c.Version, together with
// its outbox events. On success c.Version is the new version and c.UpdatedAt is now.
// Conflict if the version moved on; linkvault.ErrTokenNotFound if the row is gone.
func (db *DB) UpdateConnection(ctx context.Context, c *linkvault.Connection, events ...linkvault.Event) error {
	accounts, err := encodeAccounts(c.Accounts)
	if err != nil {
		return fmt.Errorf("postgres: update connection: %w", err)
	}
	now := db.now()
	err = db.withTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE connections SET
				status = $1, accounts = $2, sealed_credential = $3, key_version = $4,
				access_expires_at = $5, refresh_expires_at = $6, next_check_at = $7,
				failure_count = $8, last_error = $9, lease_owner = $10, lease_expires_at = $11,
				version = version + 1, updated_at = $12
			WHERE token_id = $13 AND client_id = $14 AND version = $15`,
			string(c.Status), accounts, c.SealedCredential, c.KeyVersion,
			nullTimeToDB(c.AccessExpiresAt), nullTimeToDB(c.RefreshExpiresAt), nullTimeToDB(c.NextCheckAt),
			c.FailureCount, c.LastError, c.LeaseOwner, nullTimeToDB(c.LeaseExpiresAt),
			now, c.TokenID, c.ClientID, c.Version)
		if err != nil {
			return fmt.Errorf("postgres: update connection: %w", err)
		}
		if tag.RowsAffected() == 0 {
			var exists bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM connections WHERE token_id = $1 AND client_id = $2)`,
				c.TokenID, c.ClientID).Scan(&exists); err != nil {
				return fmt.Errorf("postgres: update connection: %w", err)
			}
			if !exists {
				return linkvault.ErrTokenNotFound()
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
// events; linkvault.ErrTokenNotFound if absent. PostgreSQL keeps the dead tuple on disk
// until VACUUM reclaims it.
func (db *DB) DeleteConnection(ctx context.Context, clientID, tokenID string, events ...linkvault.Event) error {
	return db.withTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM connections WHERE token_id = $1 AND client_id = $2`, tokenID, clientID)
		if err != nil {
			return fmt.Errorf("postgres: delete connection: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return linkvault.ErrTokenNotFound()
		}
		return db.insertEvents(ctx, tx, clientID, tokenID, events)
	})
}

// ClaimDueConnections leases up to limit connections due at now (NextCheckAt set and
// <= now) whose lease is free or expired, earliest first. Each claimed row gets the
// lease, a bumped version and UpdatedAt = now. Rows another replica is claiming at the
// same moment are skipped (FOR UPDATE SKIP LOCKED), so claims never overlap.
func (db *DB) ClaimDueConnections(ctx context.Context, now time.Time, owner string, leaseUntil time.Time, limit int) ([]*linkvault.Connection, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := db.pool.Query(ctx, `WITH due AS (
			SELECT token_id FROM connections
			WHERE next_check_at <= $1 AND (lease_owner = '' OR lease_expires_at <= $1)
			ORDER BY next_check_at
			LIMIT $4
			FOR UPDATE SKIP LOCKED
		)
		UPDATE connections AS c SET
			lease_owner = $2, lease_expires_at = $3, version = c.version + 1, updated_at = $1
		FROM due WHERE c.token_id = due.token_id
		RETURNING `+qualify("c", connectionColumns),
		now, owner, nullTimeToDB(leaseUntil), limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: claim due connections: %w", err)
	}
	out, err := collectConnections(rows)
	if err != nil {
		return nil, fmt.Errorf("postgres: claim due connections: %w", err)
	}
	// RETURNING has no defined order.
	slices.SortFunc(out, func(a, b *linkvault.Connection) int {
		if c := a.NextCheckAt.Compare(b.NextCheckAt); c != 0 {
			return c
		}
		return strings.Compare(a.TokenID, b.TokenID)
	})
	return out, nil
}

// qualify prefixes every column of a comma-separated list with a table alias.
func qualify(alias, columns string) string {
	parts := strings.Split(columns, ",")
	for i, p := range parts {
		parts[i] = alias + "." + strings.TrimSpace(p)
	}
	return strings.Join(parts, ", ")
}

// CountConnections returns the number of stored connections.
func (db *DB) CountConnections(ctx context.Context) (int64, error) {
	var n int64
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM connections`).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: count connections: %w", err)
	}
	return n, nil
}
