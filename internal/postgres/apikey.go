package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/linkvault/linkvault"
)

// CreateAPIKey inserts k; conflict if the id exists, notFound if the client does not.
// A zero CreatedAt is set to now.
func (db *DB) CreateAPIKey(ctx context.Context, k *linkvault.APIKey) error {
	if k.CreatedAt.IsZero() {
		k.CreatedAt = db.now()
	}
	_, err := db.pool.Exec(ctx,
		`INSERT INTO api_keys (id, client_id, permission, secret_hash, created_at, revoked_at)
		 VALUES ($1, $2, $3, $4, $5, $6)`,
		k.ID, k.ClientID, string(k.Permission), k.SecretHash, k.CreatedAt, nullTimeToDB(k.RevokedAt))
	switch {
	case err == nil:
		return nil
	case isUniqueViolation(err):
		return linkvault.ErrConflict("API key already exists.")
	case isForeignKeyViolation(err):
		return linkvault.ErrNotFound("Client")
	default:
		return fmt.Errorf("postgres: create api key: %w", err)
	}
}

const apiKeyColumns = `id, client_id, permission, secret_hash, created_at, revoked_at`

func scanAPIKey(row pgx.Row) (*linkvault.APIKey, error) {
	var (
		k       linkvault.APIKey
		perm    string
		created time.Time
		revoked pgtype.Timestamptz
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
	k, err := scanAPIKey(db.pool.QueryRow(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE id = $1`, id))
	if isNoRows(err) {
		return nil, linkvault.ErrNotFound("API key")
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: get api key: %w", err)
	}
	return k, nil
}

// ListAPIKeys returns the client's keys, revoked ones included, oldest first.
func (db *DB) ListAPIKeys(ctx context.Context, clientID string) ([]*linkvault.APIKey, error) {
	rows, err := db.pool.Query(ctx,
		`SELECT `+apiKeyColumns+` FROM api_keys WHERE client_id = $1 ORDER BY created_at, id`, clientID)
	if err != nil {
		return nil, fmt.Errorf("postgres: list api keys: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*linkvault.APIKey, error) { return scanAPIKey(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: list api keys: %w", err)
	}
	return out, nil
}

// RevokeAPIKey marks the client's key revoked at at. The row stays; revoking an already
// revoked key keeps its first revocation time. notFound if the key is not the client's.
func (db *DB) RevokeAPIKey(ctx context.Context, clientID, id string, at time.Time) error {
	if at.IsZero() {
		at = db.now()
	}
	tag, err := db.pool.Exec(ctx,
		`UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2 AND client_id = $3`,
		at, id, clientID)
	if err != nil {
		return fmt.Errorf("postgres: revoke api key: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return linkvault.ErrNotFound("API key")
	}
	return nil
}
