package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/linkvault/linkvault"
)

const linkSessionColumns = `key, client_id, user_id, permission, options, created_at, expires_at, consumed_at,
	page_key, state_key, pending, pending_key_version, outcome, version`

func scanLinkSession(row rowScanner) (*linkvault.LinkSession, error) {
	var (
		s                 linkvault.LinkSession
		perm, options     string
		created, expires  int64
		consumed          sql.NullInt64
		pageKey, stateKey sql.NullString
		outcome           sql.NullString
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

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullBytesText(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}

func nullBlob(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// CreateLinkSession inserts s with Version 1; conflict if the key exists.
func (db *DB) CreateLinkSession(ctx context.Context, s *linkvault.LinkSession) error {
	options, err := json.Marshal(s.Options)
	if err != nil {
		return fmt.Errorf("sqlite: create link session: %w", err)
	}
	err = db.withTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO link_sessions (`+linkSessionColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`,
			s.Key, s.ClientID, s.UserID, string(s.Permission), string(options), timeToDB(s.CreatedAt), timeToDB(s.ExpiresAt),
			nullTimeToDB(s.ConsumedAt), nullString(s.PageKey), nullString(s.StateKey), nullBlob(s.Pending),
			s.PendingKeyVersion, nullBytesText(s.Outcome))
		if isUniqueViolation(err) {
			return linkvault.ErrConflict("Link session already exists.")
		}
		if err != nil {
			return fmt.Errorf("sqlite: create link session: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.Version = 1
	return nil
}

func (db *DB) getLinkSession(ctx context.Context, column, value string) (*linkvault.LinkSession, error) {
	row, err := db.queryRow(ctx, `SELECT `+linkSessionColumns+` FROM link_sessions WHERE `+column+` = ?`, value)
	if err != nil {
		return nil, fmt.Errorf("sqlite: get link session: %w", err)
	}
	s, err := scanLinkSession(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, linkvault.ErrNotFound("Link session")
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: get link session: %w", err)
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

// ConsumeLinkSession marks the session opened if it is unused and unexpired at at.
func (db *DB) ConsumeLinkSession(ctx context.Context, key, pageKey string, at, expiresAt time.Time) (*linkvault.LinkSession, error) {
	var s *linkvault.LinkSession
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE link_sessions
			SET consumed_at = ?, page_key = ?, expires_at = ?, version = version + 1
			WHERE key = ? AND consumed_at IS NULL AND expires_at > ?`,
			timeToDB(at), pageKey, timeToDB(expiresAt), key, timeToDB(at))
		if err != nil {
			return fmt.Errorf("sqlite: consume link session: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("sqlite: consume link session: %w", err)
		} else if n == 0 {
			return linkvault.ErrNotFound("Link session")
		}
		s, err = scanLinkSession(tx.QueryRowContext(ctx, `SELECT `+linkSessionColumns+` FROM link_sessions WHERE key = ?`, key))
		if err != nil {
			return fmt.Errorf("sqlite: consume link session: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// UpdateLinkSession writes the mutable step fields if the version still matches.
func (db *DB) UpdateLinkSession(ctx context.Context, s *linkvault.LinkSession) error {
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE link_sessions
			SET page_key = ?, state_key = ?, pending = ?, pending_key_version = ?, outcome = ?, version = version + 1
			WHERE key = ? AND version = ?`,
			nullString(s.PageKey), nullString(s.StateKey), nullBlob(s.Pending), s.PendingKeyVersion, nullBytesText(s.Outcome),
			s.Key, s.Version)
		if isUniqueViolation(err) {
			return linkvault.ErrConflict("Link session key collision.")
		}
		if err != nil {
			return fmt.Errorf("sqlite: update link session: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("sqlite: update link session: %w", err)
		}
		if n == 0 {
			var exists int
			err := tx.QueryRowContext(ctx, `SELECT 1 FROM link_sessions WHERE key = ?`, s.Key).Scan(&exists)
			if errors.Is(err, sql.ErrNoRows) {
				return linkvault.ErrNotFound("Link session")
			}
			if err != nil {
				return fmt.Errorf("sqlite: update link session: %w", err)
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
	var n int64
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM link_sessions WHERE key IN
			(SELECT key FROM link_sessions WHERE expires_at < ? ORDER BY expires_at LIMIT ?)`, timeToDB(before), limit)
		if err != nil {
			return fmt.Errorf("sqlite: delete expired link sessions: %w", err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}
