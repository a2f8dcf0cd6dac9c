package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/linkvault/linkvault"
)

// CreateDataKey inserts k; conflict if (client, version) exists. A zero CreatedAt is set to now.
func (db *DB) CreateDataKey(ctx context.Context, k *linkvault.DataKey) error {
	if k.CreatedAt.IsZero() {
		k.CreatedAt = db.now()
	}
	_, err := db.pool.Exec(ctx,
		`INSERT INTO data_keys (client_id, version, wrapped, master_version, created_at) VALUES ($1, $2, $3, $4, $5)`,
		k.ClientID, k.Version, k.Wrapped, k.MasterVersion, k.CreatedAt)
	if isUniqueViolation(err) {
		return linkvault.ErrConflict("Data key version already exists.")
	}
	if err != nil {
		return fmt.Errorf("postgres: create data key: %w", err)
	}
	return nil
}

const dataKeyColumns = `client_id, version, wrapped, master_version, created_at`

func scanDataKey(row pgx.Row) (*linkvault.DataKey, error) {
	var (
		k       linkvault.DataKey
		created time.Time
	)
	if err := row.Scan(&k.ClientID, &k.Version, &k.Wrapped, &k.MasterVersion, &created); err != nil {
		return nil, err
	}
	k.CreatedAt = timeFromDB(created)
	return &k, nil
}

func (db *DB) getDataKey(ctx context.Context, op, query string, args ...any) (*linkvault.DataKey, error) {
	k, err := scanDataKey(db.pool.QueryRow(ctx, query, args...))
	if isNoRows(err) {
		return nil, linkvault.ErrNotFound("Data key")
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", op, err)
	}
	return k, nil
}

// GetDataKey returns one version of the client's data key, or notFound.
func (db *DB) GetDataKey(ctx context.Context, clientID string, version int) (*linkvault.DataKey, error) {
	return db.getDataKey(ctx, "get data key",
		`SELECT `+dataKeyColumns+` FROM data_keys WHERE client_id = $1 AND version = $2`, clientID, version)
}

// LatestDataKey returns the client's highest data key version, or notFound.
func (db *DB) LatestDataKey(ctx context.Context, clientID string) (*linkvault.DataKey, error) {
	return db.getDataKey(ctx, "latest data key",
		`SELECT `+dataKeyColumns+` FROM data_keys WHERE client_id = $1 ORDER BY version DESC LIMIT 1`, clientID)
}

// ListDataKeys returns every data key ordered by client, then version.
func (db *DB) ListDataKeys(ctx context.Context) ([]*linkvault.DataKey, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+dataKeyColumns+` FROM data_keys ORDER BY client_id, version`)
	if err != nil {
		return nil, fmt.Errorf("postgres: list data keys: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*linkvault.DataKey, error) { return scanDataKey(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: list data keys: %w", err)
	}
	return out, nil
}

// RewrapDataKey replaces the wrapped bytes if the key is still wrapped by
// fromMasterVersion: conflict if it is not, notFound if the key does not exist.
func (db *DB) RewrapDataKey(ctx context.Context, clientID string, version int, wrapped []byte, fromMasterVersion, toMasterVersion int) error {
	return db.withTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx,
			`UPDATE data_keys SET wrapped = $1, master_version = $2
			 WHERE client_id = $3 AND version = $4 AND master_version = $5`,
			wrapped, toMasterVersion, clientID, version, fromMasterVersion)
		if err != nil {
			return fmt.Errorf("postgres: rewrap data key: %w", err)
		}
		if tag.RowsAffected() == 1 {
			return nil
		}
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM data_keys WHERE client_id = $1 AND version = $2)`,
			clientID, version).Scan(&exists); err != nil {
			return fmt.Errorf("postgres: rewrap data key: %w", err)
		}
		if !exists {
			return linkvault.ErrNotFound("Data key")
		}
		return linkvault.ErrConflict("Data key was rewrapped concurrently.")
	})
}
