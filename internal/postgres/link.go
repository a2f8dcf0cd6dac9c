package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/linkvault/linkvault"
)

const linkSessionColumns = `key, client_id, user_id, permission, options::text, created_at, expires_at, consumed_at,
	page_key, state_key, pending, pending_key_version, outcome::text, version`

func scanLinkSession(row pgx.Row) (*linkvault.LinkSession, error) {
	var (
		s                 linkvault.LinkSession
		perm, options     string
		created, expires  time.Time
		consumed          pgtype.Timestamptz
		pageKey, stateKey pgtype.Text
		outcome           pgtype.Text
	)
	err := row.Scan(&s.Key, &s.ClientID, &s.UserID, &perm, &options, &created, &expires, &consumed,
		&pageKey, &stateKey, &s.Pending, &s.PendingKeyVersion, &outcome, &s.Version)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(options), &s.Options); err != nil {
		return nil, fmt.Errorf("decode link session options: %w", err)
	}
	s.Permission = linkvault.Permission(perm)
	s.CreatedAt, s.ExpiresAt, s.ConsumedAt = timeFromDB(created), timeFromDB(expires), nullTimeFromDB(consumed)
	s.PageKey, s.StateKey = pageKey.String, stateKey.String
	if outcome.Valid {
		s.Outcome = []byte(outcome.String)
	}
	return &s, nil
}

func nullText(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullJSONText(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}

func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// CreateLinkSession inserts s with Version 1; conflict if the key exists.
func (db *DB) CreateLinkSession(ctx context.Context, s *linkvault.LinkSession) error {
	options, err := json.Marshal(s.Options)
	if err != nil {
		return fmt.Errorf("postgres: create link session: %w", err)
	}
	_, err = db.pool.Exec(ctx, `INSERT INTO link_sessions (key, client_id, user_id, permission, options, created_at,
			expires_at, consumed_at, page_key, state_key, pending, pending_key_version, outcome, version)
		VALUES ($1, $2, $3, $4, $5::json, $6, $7, $8, $9, $10, $11, $12, $13::json, 1)`,
		s.Key, s.ClientID, s.UserID, string(s.Permission), string(options), s.CreatedAt, s.ExpiresAt,
		nullTimeToDB(s.ConsumedAt), nullText(s.PageKey), nullText(s.StateKey), nullBytes(s.Pending),
		s.PendingKeyVersion, nullJSONText(s.Outcome))
	if isUniqueViolation(err) {
		return linkvault.ErrConflict("Link session already exists.")
	}
	if err != nil {
		return fmt.Errorf("postgres: create link session: %w", err)
	}
	s.Version = 1
	return nil
}

func (db *DB) getLinkSession(ctx context.Context, column, value string) (*linkvault.LinkSession, error) {
	s, err := scanLinkSession(db.pool.QueryRow(ctx, `SELECT `+linkSessionColumns+` FROM link_sessions WHERE `+column+` = $1`, value))
	if isNoRows(err) {
		return nil, linkvault.ErrNotFound("Link session")
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: get link session: %w", err)
	}
	return s, nil
}

// GetLinkSession returns the session with the given key, or notFound.
func (db *DB) GetLinkSession(ctx context.Context, key string) (*linkvault.LinkSession, error) {
	return db.getLinkSession(ctx, "key", key)
}

// GetLinkSessionByPage returns the session with the given page key, or notFound.
func (db *DB) GetLinkSessionByPage(ctx context.Context, pageKey string) (*linkvault.LinkSession, error) {
	if pageKey == "" {
		return nil, linkvault.ErrNotFound("Link session")
	}
	return db.getLinkSession(ctx, "page_key", pageKey)
}

// GetLinkSessionByState returns the session with the given OAuth state key, or notFound.
func (db *DB) GetLinkSessionByState(ctx context.Context, stateKey string) (*linkvault.LinkSession, error) {
	if stateKey == "" {
		return nil, linkvault.ErrNotFound("Link session")
	}
	return db.getLinkSession(ctx, "state_key", stateKey)
}

// ConsumeLinkSession marks the session opened if it is unused and unexpired at at, in
// one statement (concurrent openers: exactly one wins).
func (db *DB) ConsumeLinkSession(ctx context.Context, key, pageKey string, at, expiresAt time.Time) (*linkvault.LinkSession, error) {
	s, err := scanLinkSession(db.pool.QueryRow(ctx, `UPDATE link_sessions
		SET consumed_at = $1, page_key = $2, expires_at = $3, version = version + 1
		WHERE key = $4 AND consumed_at IS NULL AND expires_at > $1
		RETURNING `+linkSessionColumns, at, pageKey, expiresAt, key))
	if isNoRows(err) {
		return nil, linkvault.ErrNotFound("Link session")
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: consume link session: %w", err)
	}
	return s, nil
}

// UpdateLinkSession writes the mutable step fields if the version still matches.
func (db *DB) UpdateLinkSession(ctx context.Context, s *linkvault.LinkSession) error {
	err := db.withTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE link_sessions
			SET page_key = $1, state_key = $2, pending = $3, pending_key_version = $4, outcome = $5::json, version = version + 1
			WHERE key = $6 AND version = $7`,
			nullText(s.PageKey), nullText(s.StateKey), nullBytes(s.Pending), s.PendingKeyVersion, nullJSONText(s.Outcome),
			s.Key, s.Version)
		if isUniqueViolation(err) {
			return linkvault.ErrConflict("Link session key collision.")
		}
		if err != nil {
			return fmt.Errorf("postgres: update link session: %w", err)
		}
		if tag.RowsAffected() == 0 {
			var exists bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM link_sessions WHERE key = $1)`, s.Key).Scan(&exists); err != nil {
				return fmt.Errorf("postgres: update link session: %w", err)
			}
			if !exists {
				return linkvault.ErrNotFound("Link session")
			}
			return linkvault.ErrConflict("Link session was changed concurrently.")
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.Version++
	return nil
}

// DeleteExpiredLinkSessions deletes up to limit sessions expired before before.
func (db *DB) DeleteExpiredLinkSessions(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	tag, err := db.pool.Exec(ctx, `DELETE FROM link_sessions WHERE key IN
		(SELECT key FROM link_sessions WHERE expires_at < $1 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)`, before, limit)
	if err != nil {
		return 0, fmt.Errorf("postgres: delete expired link sessions: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
