package sqlstore

import (
	"context"
	"database/sql"
	"slices"
	"sync"
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
// Concurrent creations are group-committed (linkBatch): the first caller writes what
// is queued in one transaction, one statement per session, and every caller returns
// once the transaction holding its session committed (or failed), so an answered
// linkToken is as durable as before. Nothing waits for a batch to fill: a transaction
// takes what queued while the previous one committed, so a lone request pays nothing
// and under load the commits (a WAL append on SQLite, a WAL flush on PostgreSQL) are
// shared. A key conflict fails that caller only (ON CONFLICT DO NOTHING, then 0 rows).
func (s *Store) CreateLinkSession(ctx context.Context, ls *linkvault.LinkSession) error {
	options, err := encodeJSON("link session options", ls.Options)
	if err != nil {
		return s.errorf("create link session", err)
	}
	w := &linkWrite{ls: ls, options: options, done: make(chan error, 1)}
	s.links.mu.Lock()
	s.links.queue = append(s.links.queue, w)
	lead := !s.links.writing
	s.links.writing = true
	s.links.mu.Unlock()
	if lead {
		s.writeLinkBatches(ctx)
	}
	select {
	case err = <-w.done:
	case <-ctx.Done():
		// The session may still be written; like a lost answer, the caller retries
		// with a new one (ids are random).
		return s.wrap("create link session", ctx.Err())
	}
	if err != nil {
		return err
	}
	ls.Version = 1
	return nil
}

// linkBatch queues Link session creations for group commit.
type linkBatch struct {
	mu      sync.Mutex
	queue   []*linkWrite
	writing bool // a caller is writing batches
}

type linkWrite struct {
	ls      *linkvault.LinkSession
	options string
	done    chan error // buffered: the writer never blocks
}

// maxLinkBatch bounds the sessions of one transaction.
const maxLinkBatch = 256

// writeLinkBatches writes queued sessions, a transaction at a time, until the queue is
// empty. It runs detached from the leader's cancellation (the batch holds other
// callers' sessions), bounded by linkBatchTimeout per transaction.
func (s *Store) writeLinkBatches(ctx context.Context) {
	ctx = context.WithoutCancel(ctx)
	for {
		s.links.mu.Lock()
		n := min(len(s.links.queue), maxLinkBatch)
		if n == 0 {
			s.links.writing = false
			s.links.mu.Unlock()
			return
		}
		batch := slices.Clone(s.links.queue[:n])
		s.links.queue = slices.Delete(s.links.queue, 0, n)
		s.links.mu.Unlock()

		results := make([]error, len(batch))
		tctx, cancel := context.WithTimeout(ctx, linkBatchTimeout)
		err := s.e.InTx(tctx, func(tx Querier) error {
			for i, w := range batch {
				ls := w.ls
				rows, err := tx.Exec(tctx, `INSERT INTO link_sessions (`+linkSessionColumns+`)
					VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 1) ON CONFLICT DO NOTHING`,
					ls.Key, ls.ClientID, ls.UserID, string(ls.Permission), w.options, ls.CreatedAt, ls.ExpiresAt,
					nullTime(ls.ConsumedAt), nullString(ls.PageKey), nullString(ls.StateKey), nullBytes(ls.Pending),
					ls.PendingKeyVersion, nullText(ls.Outcome))
				if err != nil {
					return err
				}
				if rows == 0 {
					results[i] = linkvault.ErrConflict("Link session already exists.")
				}
			}
			return nil
		})
		cancel()
		for i, w := range batch {
			if err != nil {
				w.done <- s.errorf("create link session", err)
			} else {
				w.done <- results[i]
			}
		}
	}
}

// linkBatchTimeout bounds one group-commit transaction.
const linkBatchTimeout = 10 * time.Second

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
