package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/linkvault/linkvault"
)

// CreateAPIKey inserts k; conflict if the id exists, notFound if the client does not.
// A zero CreatedAt is set to now.
func (db *DB) CreateAPIKey(ctx context.Context, k *linkvault.APIKey) error {
	if k.CreatedAt.IsZero() {
		k.CreatedAt = db.now()
	}
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx,
			`INSERT INTO api_keys (id, client_id, permission, secret_hash, created_at, revoked_at)
			 VALUES (?, ?, ?, ?, ?, ?)`,
			k.ID, k.ClientID, string(k.Permission), k.SecretHash, timeToDB(k.CreatedAt), nullTimeToDB(k.RevokedAt))
		return err
	})
	switch {
	case err == nil:
		return nil
	case isUniqueViolation(err):
		return linkvault.ErrConflict("API key already exists.")
	case isForeignKeyViolation(err):
		return linkvault.ErrNotFound("Client")
	default:
		return fmt.Errorf("sqlite: create api key: %w", err)
	}
}

const apiKeyColumns = `id, client_id, permission, secret_hash, created_at, revoked_at`

func scanAPIKey(row rowScanner) (*linkvault.APIKey, error) {
	var (
		k       linkvault.APIKey
		perm    string
		created int64
		revoked sql.NullInt64
	)
	if err := row.Scan(&k.ID, &k.ClientID, &perm, &k.SecretHash, &created, &revoked); err != nil {
		return nil, err
	}
	k.Permission = linkvault.Permission(perm)
	k.CreatedAt = timeFromDB(created)
	k.RevokedAt = nullTimeFromDB(revoked)
	return &k, nil
}

// GetAPIKey returns the key with the given id (revoked keys included), or notFound.
func (db *DB) GetAPIKey(ctx context.Context, id string) (*linkvault.APIKey, error) {
	row, err := db.queryRow(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE id = ?`, id)
	if err != nil {
		return nil, fmt.Errorf("sqlite: get api key: %w", err)
	}
	k, err := scanAPIKey(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, linkvault.ErrNotFound("API key")
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: get api key: %w", err)
	}
	return k, nil
}

// ListAPIKeys returns the client's keys, revoked ones included, oldest first.
func (db *DB) ListAPIKeys(ctx context.Context, clientID string) ([]*linkvault.APIKey, error) {
	rows, err := db.reader.QueryContext(ctx,
		`SELECT `+apiKeyColumns+` FROM api_keys WHERE client_id = ? ORDER BY created_at, id`, clientID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list api keys: %w", err)
	}
	defer rows.Close()
	var out []*linkvault.APIKey
	for rows.Next() {
		k, err := scanAPIKey(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list api keys: %w", err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list api keys: %w", err)
	}
	return out, nil
}

// RevokeAPIKey marks the client's key revoked at at. The row stays; revoking an already
// revoked key keeps its first revocation time. notFound if the key is not the client's.
func (db *DB) RevokeAPIKey(ctx context.Context, clientID, id string, at time.Time) error {
	if at.IsZero() {
		at = db.now()
	}
	return db.withTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			`UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ? AND client_id = ?`,
			timeToDB(at), id, clientID)
		if err != nil {
			return fmt.Errorf("sqlite: revoke api key: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("sqlite: revoke api key: %w", err)
		} else if n == 0 {
			return linkvault.ErrNotFound("API key")
		}
		return nil
	})
}
