package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/linkvault/linkvault"
)

// ClaimConnection leases one connection of the client to owner until leaseUntil, for an
// on-demand refresh, if no live lease holds it (whoever the holder: a replica's own
// engine workers hold leases too). The claim bumps the version, like
// ClaimDueConnections, so any older holder is fenced out. Two replicas claiming at once
// serialise on the row lock, and the second one re-checks the lease against the first
// one's committed claim. It returns the row as claimed; linkvault.ErrTokenNotFound if
// the client has no such connection, conflict while another lease is live.
func (db *DB) ClaimConnection(ctx context.Context, clientID, tokenID, owner string, now, leaseUntil time.Time) (*linkvault.Connection, error) {
	c, err := scanConnection(db.pool.QueryRow(ctx, `UPDATE connections SET
			lease_owner = $1, lease_expires_at = $2, version = version + 1, updated_at = $3
		WHERE token_id = $4 AND client_id = $5 AND (lease_owner = '' OR lease_expires_at <= $3)
		RETURNING `+connectionColumns,
		owner, nullTimeToDB(leaseUntil), now, tokenID, clientID))
	if err == nil {
		return c, nil
	}
	if !isNoRows(err) {
		return nil, fmt.Errorf("postgres: claim connection: %w", err)
	}
	var exists bool
	if err := db.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM connections WHERE token_id = $1 AND client_id = $2)`,
		tokenID, clientID).Scan(&exists); err != nil {
		return nil, fmt.Errorf("postgres: claim connection: %w", err)
	}
	if !exists {
		return nil, linkvault.ErrTokenNotFound()
	}
	return nil, linkvault.ErrConflict("Connection is leased by another worker.")
}

// CountDueConnections returns how many connections are due at now (scheduled check
// reached), leased or not. It reads the partial due index only.
func (db *DB) CountDueConnections(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM connections WHERE next_check_at <= $1`, now).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: count due connections: %w", err)
	}
	return n, nil
}
