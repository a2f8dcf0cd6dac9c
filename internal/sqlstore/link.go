package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/linkvault/linkvault"
)

// Link sessions (internal/link's Store).

const linkSessionColumns = `key, client_id, user_id, permission, options, created_at, expires_at, consumed_at,
	page_key, state_key, pending, pending_key_version, outcome, version`

func (s *Store) scanLinkSession(row Row) (*linkvault.LinkSession, error) {
	var (
		ls                linkvault.LinkSession
		perm, options     string
		pageKey, stateKey sql.NullString
	)
	err := row.Scan(&ls.Key, &ls.ClientID, &ls.UserID, &perm, &options, s.t(&ls.CreatedAt), s.t(&ls.ExpiresAt), s.t(&ls.ConsumedAt),
		&pageKey, &stateKey, &ls.Pending, &ls.PendingKeyVersion, &ls.Outcome, &ls.Version)
	if err != nil {
		return nil, err
	}
	if err := decodeJSON("link session options", options, &ls.Options); err != nil {
		return nil, err
	}
	ls.Permission = linkvault.Permission(perm)
	ls.PageKey, ls.StateKey = pageKey.String, stateKey.String
	return &ls, nil
}

// CreateLinkSession inserts ls with Version 1; conflict if the key exists.
//
// Concurrent creations are group-committed (groupCommit): one transaction writes what
// is queued, one statement per session, and every caller returns once the transaction
// holding its session committed (or failed), so an answered linkToken is as durable as
// before. A key conflict fails that caller only (ON CONFLICT DO NOTHING, then 0 rows).
func (s *Store) CreateLinkSession(ctx context.Context, ls *linkvault.LinkSession) error {
	options, err := encodeJSON("link session options", ls.Options)
	if err != nil {
		return s.errorf("create link session", err)
	}
	// A caller whose context ends first retries with a new session, like after a lost
	// answer (ids are random).
	if err := s.links.commit(ctx, s, "create link session", linkWrite{ls: ls, options: options}); err != nil {
		return err
	}
	ls.Version = 1
	return nil
}

// linkWrite is one queued Link session creation (a groupWrite).
type linkWrite struct {
	ls      *linkvault.LinkSession
	options string
}

func (w linkWrite) key() string { return "" }

func (w linkWrite) single(*Store) (Stmt, func(context.Context, int64) error, bool) {
	ls := w.ls
	return Stmt{Query: `INSERT INTO link_sessions (` + linkSessionColumns + `)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 1) ON CONFLICT DO NOTHING`,
			Args: []any{ls.Key, ls.ClientID, ls.UserID, string(ls.Permission), w.options, ls.CreatedAt, ls.ExpiresAt,
				nullTime(ls.ConsumedAt), nullString(ls.PageKey), nullString(ls.StateKey), nullBytes(ls.Pending),
				ls.PendingKeyVersion, nullText(ls.Outcome)}},
		func(_ context.Context, rows int64) error {
			if rows == 0 {
				return linkvault.ErrConflict("Link session already exists.")
			}
			return nil
		}, true
}

func (w linkWrite) write(ctx context.Context, s *Store, tx Querier) (result, abort error) {
	stmt, answer, _ := w.single(s)
	rows, err := tx.Exec(ctx, stmt.Query, stmt.Args...)
	if err != nil {
		return nil, err
	}
	return answer(ctx, rows), nil
}

// getLinkSession reads the session whose column (a unique key) equals value.
func (s *Store) getLinkSession(ctx context.Context, column, value string) (*linkvault.LinkSession, error) {
	return one(s, "get link session", linkSessionNotFound, s.scanLinkSession,
		s.e.Read().QueryRow(ctx, `SELECT `+linkSessionColumns+` FROM link_sessions WHERE `+column+` = $1`, value))
}

// GetLinkSession returns the session with the given key, or notFound.
func (s *Store) GetLinkSession(ctx context.Context, key string) (*linkvault.LinkSession, error) {
	return s.getLinkSession(ctx, "key", key)
}

// GetLinkSessionByPage returns the session with the given page key, or notFound.
func (s *Store) GetLinkSessionByPage(ctx context.Context, pageKey string) (*linkvault.LinkSession, error) {
	if pageKey == "" {
		return nil, linkvault.ErrNotFound("Link session")
	}
	return s.getLinkSession(ctx, "page_key", pageKey)
}

// GetLinkSessionByState returns the session with the given OAuth state key, or notFound.
func (s *Store) GetLinkSessionByState(ctx context.Context, stateKey string) (*linkvault.LinkSession, error) {
	if stateKey == "" {
		return nil, linkvault.ErrNotFound("Link session")
	}
	return s.getLinkSession(ctx, "state_key", stateKey)
}

// ConsumeLinkSession marks the session opened if it is unused and unexpired at at, in
// one statement (concurrent openers: exactly one wins). notFound otherwise, the same
// answer whether the session never existed, expired or was already used.
func (s *Store) ConsumeLinkSession(ctx context.Context, key, pageKey string, at, expiresAt time.Time) (*linkvault.LinkSession, error) {
	return one(s, "consume link session", linkSessionNotFound, s.scanLinkSession, s.e.Write().QueryRow(ctx,
		`UPDATE link_sessions SET consumed_at = $1, page_key = $2, expires_at = $3, version = version + 1
		WHERE key = $4 AND consumed_at IS NULL AND expires_at > $1
		RETURNING `+linkSessionColumns, at, pageKey, expiresAt, key))
}

// UpdateLinkSession writes the mutable step fields if the version still matches:
// conflict if it moved on, notFound if the session is gone.
func (s *Store) UpdateLinkSession(ctx context.Context, ls *linkvault.LinkSession) error {
	n, err := s.e.Write().Exec(ctx, `UPDATE link_sessions
		SET page_key = $1, state_key = $2, pending = $3, pending_key_version = $4, outcome = $5, version = version + 1
		WHERE key = $6 AND version = $7`,
		nullString(ls.PageKey), nullString(ls.StateKey), nullBytes(ls.Pending), ls.PendingKeyVersion, nullText(ls.Outcome),
		ls.Key, ls.Version)
	switch {
	case s.e.IsUniqueViolation(err):
		return linkvault.ErrConflict("Link session key collision.")
	case err == nil && n == 0:
		err = s.missingOrConflict(ctx, s.e.Write(), linkvault.ErrNotFound("Link session"), linkvault.ErrConflict("Link session was changed concurrently."),
			`SELECT 1 FROM link_sessions WHERE key = $1`, ls.Key)
	}
	if err != nil {
		return s.wrap("update link session", err)
	}
	ls.Version++
	return nil
}

// DeleteExpiredLinkSessions deletes up to limit sessions expired before before.
func (s *Store) DeleteExpiredLinkSessions(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	n, err := s.e.Write().Exec(ctx, `DELETE FROM link_sessions WHERE key IN
		(SELECT key FROM link_sessions WHERE expires_at < $1 ORDER BY expires_at LIMIT $2`+s.e.SkipLocked()+`)`, before, limit)
	return int(n), s.wrap("delete expired link sessions", err)
}
