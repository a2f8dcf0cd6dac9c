package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/linkvault/linkvault"
)

// CreateDataKey inserts k; conflict if (client, version) exists. A zero CreatedAt is set to now.
func (db *DB) CreateDataKey(ctx context.Context, k *linkvault.DataKey) error {
	if k.CreatedAt.IsZero() {
		k.CreatedAt = db.now()
	}
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx,
			`INSERT INTO data_keys (client_id, version, wrapped, master_version, created_at) VALUES (?, ?, ?, ?, ?)`,
			k.ClientID, k.Version, k.Wrapped, k.MasterVersion, timeToDB(k.CreatedAt))
		return err
	})
	if isUniqueViolation(err) {
		return linkvault.ErrConflict("Data key version already exists.")
	}
	if err != nil {
		return fmt.Errorf("sqlite: create data key: %w", err)
	}
	return nil
}

const dataKeyColumns = `client_id, version, wrapped, master_version, created_at`

func scanDataKey(row rowScanner) (*linkvault.DataKey, error) {
	var (
		k       linkvault.DataKey
		created int64
	)
	if err := row.Scan(&k.ClientID, &k.Version, &k.Wrapped, &k.MasterVersion, &created); err != nil {
		return nil, err
	}
	k.CreatedAt = timeFromDB(created)
	return &k, nil
}

func (db *DB) getDataKey(ctx context.Context, op, query string, args ...any) (*linkvault.DataKey, error) {
	row, err := db.queryRow(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", op, err)
	}
	k, err := scanDataKey(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, linkvault.ErrNotFound("Data key")
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", op, err)
	}
	return k, nil
}

// GetDataKey returns one version of the client's data key, or notFound.
func (db *DB) GetDataKey(ctx context.Context, clientID string, version int) (*linkvault.DataKey, error) {
	return db.getDataKey(ctx, "get data key",
		`SELECT `+dataKeyColumns+` FROM data_keys WHERE client_id = ? AND version = ?`, clientID, version)
}

// LatestDataKey returns the client's highest data key version, or notFound.
func (db *DB) LatestDataKey(ctx context.Context, clientID string) (*linkvault.DataKey, error) {
	return db.getDataKey(ctx, "latest data key",
		`SELECT `+dataKeyColumns+` FROM data_keys WHERE client_id = ? ORDER BY version DESC LIMIT 1`, clientID)
}

// ListDataKeys returns every data key ordered by client, then version.
func (db *DB) ListDataKeys(ctx context.Context) ([]*linkvault.DataKey, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT `+dataKeyColumns+` FROM data_keys ORDER BY client_id, version`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list data keys: %w", err)
	}
	defer rows.Close()
	var out []*linkvault.DataKey
	for rows.Next() {
		k, err := scanDataKey(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list data keys: %w", err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list data keys: %w", err)
	}
	return out, nil
}

// RewrapDataKey replaces the wrapped bytes if the key is still wrapped by
// fromMasterVersion: conflict if it is not, notFound if the key does not exist.
func (db *DB) RewrapDataKey(ctx context.Context, clientID string, version int, wrapped []byte, fromMasterVersion, toMasterVersion int) error {
	return db.withTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			`UPDATE data_keys SET wrapped = ?, master_version = ?
			 WHERE client_id = ? AND version = ? AND master_version = ?`,
			wrapped, toMasterVersion, clientID, version, fromMasterVersion)
		if err != nil {
			return fmt.Errorf("sqlite: rewrap data key: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("sqlite: rewrap data key: %w", err)
		}
		if n == 1 {
			return nil
		}
		var exists int
		err = tx.QueryRowContext(ctx, `SELECT 1 FROM data_keys WHERE client_id = ? AND version = ?`, clientID, version).Scan(&exists)
		if errors.Is(err, sql.ErrNoRows) {
			return linkvault.ErrNotFound("Data key")
		}
		if err != nil {
			return fmt.Errorf("sqlite: rewrap data key: %w", err)
		}
		return linkvault.ErrConflict("Data key was rewrapped concurrently.")
	})
}
