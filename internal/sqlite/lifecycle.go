package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/linkvault/linkvault"
)

// ClaimConnection leases one connection of the client to owner until leaseUntil, for an
// on-demand refresh, if no live lease holds it (whoever the holder: a process's own
// engine workers hold leases too). The claim bumps the version, like
// ClaimDueConnections, so any older holder is fenced out. It returns the row as
// claimed; linkvault.ErrTokenNotFound if the client has no such connection, conflict
// while another lease is live.
func (db *DB) ClaimConnection(ctx context.Context, clientID, tokenID, owner string, now, leaseUntil time.Time) (*linkvault.Connection, error) {
	var out *linkvault.Connection
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		row := tx.QueryRowContext(ctx, `UPDATE connections SET
				lease_owner = ?, lease_expires_at = ?, version = version + 1, updated_at = ?
			WHERE token_id = ? AND client_id = ? AND (lease_owner = '' OR lease_expires_at <= ?)
			RETURNING `+connectionColumns,
			owner, nullTimeToDB(leaseUntil), timeToDB(now), tokenID, clientID, timeToDB(now))
		c, err := scanConnection(row)
		if err == nil {
			out = c
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var exists int
		err = tx.QueryRowContext(ctx, `SELECT 1 FROM connections WHERE token_id = ? AND client_id = ?`, tokenID, clientID).Scan(&exists)
		if errors.Is(err, sql.ErrNoRows) {
			return linkvault.ErrTokenNotFound()
		}
		if err != nil {
			return err
		}
		return linkvault.ErrConflict("Connection is leased by another worker.")
	})
	var lerr *linkvault.Error
	if errors.As(err, &lerr) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: claim connection: %w", err)
	}
	return out, nil
}

// CountDueConnections returns how many connections are due at now (scheduled check
// reached), leased or not. It reads the partial due index only.
func (db *DB) CountDueConnections(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	err := db.reader.QueryRowContext(ctx, `SELECT count(*) FROM connections WHERE next_check_at <= ?`, timeToDB(now)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("sqlite: count due connections: %w", err)
	}
	return n, nil
}
