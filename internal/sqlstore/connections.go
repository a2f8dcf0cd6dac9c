package sqlstore

import (
	"cmp"
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/linkvault/linkvault"
)

// Connections (linkvault.ConnectionStore) and the lifecycle engine's leases on them.

// connectionColumns is the column list every connection query selects, in the order
// s.scanConnection reads them.
const connectionColumns = `token_id, client_id, user_id, broker_type, scope, status, accounts,
	sealed_credential, key_version, access_expires_at, refresh_expires_at, next_check_at,
	failure_count, last_error, lease_owner, lease_expires_at, version, created_at, updated_at, upstream_account`

func (s *Store) scanConnection(row Row) (*linkvault.Connection, error) {
	var (
		c                               linkvault.Connection
		broker, scope, status, accounts string
	)
	err := row.Scan(&c.TokenID, &c.ClientID, &c.UserID, &broker, &scope, &status, &accounts,
		&c.SealedCredential, &c.KeyVersion, s.t(&c.AccessExpiresAt), s.t(&c.RefreshExpiresAt), s.t(&c.NextCheckAt),
		&c.FailureCount, &c.LastError, &c.LeaseOwner, s.t(&c.LeaseExpiresAt), &c.Version, s.t(&c.CreatedAt), s.t(&c.UpdatedAt),
		&c.UpstreamAccount)
	if err != nil {
		return nil, err
	}
	if c.Accounts, err = decodeAccounts(accounts); err != nil {
		return nil, err
	}
	c.BrokerType = linkvault.BrokerType(broker)
	c.Scope = linkvault.Permission(scope)
	c.Status = linkvault.ConnectionStatus(status)
	return &c, nil
}

// CreateConnection inserts c with Version 1, together with its outbox events.
// Conflict if the tokenId or the identity already exists. A zero CreatedAt is set to
// now; UpdatedAt is set to CreatedAt.
func (s *Store) CreateConnection(ctx context.Context, c *linkvault.Connection, events ...linkvault.Event) error {
	accounts, err := encodeJSON("accounts", c.Accounts)
	if err != nil {
		return s.errorf("create connection", err)
	}
	created := c.CreatedAt
	if created.IsZero() {
		created = s.now()
	}
	err = s.e.InTx(ctx, func(tx Querier) error {
		_, err := tx.Exec(ctx, `INSERT INTO connections (`+connectionColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, 1, $17, $17, $18)`,
			c.TokenID, c.ClientID, c.UserID, string(c.BrokerType), string(c.Scope), string(c.Status), accounts,
			c.SealedCredential, c.KeyVersion, nullTime(c.AccessExpiresAt), nullTime(c.RefreshExpiresAt),
			nullTime(c.NextCheckAt), c.FailureCount, c.LastError, c.LeaseOwner, nullTime(c.LeaseExpiresAt), created,
			c.UpstreamAccount)
		if s.e.IsUniqueViolation(err) {
			return linkvault.ErrConflict("Connection already exists.")
		}
		if err != nil {
			return err
		}
		return s.insertEvents(ctx, tx, c.ClientID, c.TokenID, events)
	})
	if err != nil {
		return s.wrap("create connection", err)
	}
	c.Version = 1
	c.CreatedAt = created
	c.UpdatedAt = created
	return nil
}

// GetConnection returns the client's connection, or exactly linkvault.ErrTokenNotFound
// when the tokenId does not exist or belongs to another client.
func (s *Store) GetConnection(ctx context.Context, clientID, tokenID string) (*linkvault.Connection, error) {
	return one(s, "get connection", linkvault.ErrTokenNotFound, s.scanConnection, s.e.Read().QueryRow(ctx,
		`SELECT `+connectionColumns+` FROM connections WHERE token_id = $1 AND client_id = $2`, tokenID, clientID))
}

// FindConnection looks a connection up by identity; notFound if none.
func (s *Store) FindConnection(ctx context.Context, id linkvault.ConnectionIdentity) (*linkvault.Connection, error) {
	return one(s, "find connection", connectionNotFound, s.scanConnection, s.e.Read().QueryRow(ctx,
		`SELECT `+connectionColumns+` FROM connections
		WHERE client_id = $1 AND user_id = $2 AND broker_type = $3 AND scope = $4`,
		id.ClientID, id.UserID, string(id.BrokerType), string(id.Scope)))
}

// ListUserConnections lists a user's connections of one client, oldest first.
func (s *Store) ListUserConnections(ctx context.Context, clientID, userID string) ([]*linkvault.Connection, error) {
	out, err := queryAll(ctx, s.e.Read(), s.scanConnection, `SELECT `+connectionColumns+` FROM connections
		WHERE client_id = $1 AND user_id = $2 ORDER BY created_at, token_id`, clientID, userID)
	return out, s.wrap("list user connections", err)
}

// ListConnectionsSealedIn returns up to limit connections of every client whose sealed
// credential is in envelope format (its first byte) and whose tokenId sorts after
// afterTokenID, in tokenId order: the re-seal pass's resumable walk. The format is
// filtered in the database, so a table with nothing left to re-seal costs one query
// that returns no row.
func (s *Store) ListConnectionsSealedIn(ctx context.Context, format byte, afterTokenID string, limit int) ([]*linkvault.Connection, error) {
	out, err := queryAll(ctx, s.e.Read(), s.scanConnection, `SELECT `+connectionColumns+` FROM connections
		WHERE token_id > $1 AND substr(sealed_credential, 1, 1) = $2 ORDER BY token_id LIMIT $3`, afterTokenID, []byte{format}, limit)
	return out, s.wrap("list connections by seal format", err)
}

// UpdateConnection writes every mutable field of c (identity and CreatedAt excepted,
// lease fields included) if the stored version still equals c.Version, together with
// its outbox events. On success c.Version is the new version and c.UpdatedAt is now.
// Conflict if the version moved on; linkvault.ErrTokenNotFound if the row is gone.
func (s *Store) UpdateConnection(ctx context.Context, c *linkvault.Connection, events ...linkvault.Event) error {
	return s.UpdateConnectionRevoking(ctx, c, nil, events...)
}

// UpdateConnectionRevoking is UpdateConnection that also puts revs into the revocation
// queue in the same transaction: a replaced credential's grant is queued for
// revocation exactly when the new credential commits.
//
// Concurrent updates are group-committed (groupCommit): the lifecycle engine's
// write-backs of several workers share one transaction, each still its own
// version-checked UPDATE with its own revocations and events, and each caller returns
// once the transaction holding its write committed. A conflict or a missing row fails
// that caller only. A transaction takes its rows in tokenId order, so transactions of
// different replicas cannot deadlock on each other.
func (s *Store) UpdateConnectionRevoking(ctx context.Context, c *linkvault.Connection, revs []linkvault.PendingRevocation, events ...linkvault.Event) error {
	accounts, err := encodeJSON("accounts", c.Accounts)
	if err != nil {
		return s.errorf("update connection", err)
	}
	now := s.now()
	err = s.updates.commit(ctx, s, "update connection", connectionUpdate{c: c, accounts: accounts, now: now, revs: revs, events: events})
	if err != nil {
		return err
	}
	c.Version++
	c.UpdatedAt = now
	return nil
}

// connectionUpdate is one queued UpdateConnectionRevoking (a groupWrite).
type connectionUpdate struct {
	c        *linkvault.Connection
	accounts string
	now      time.Time
	revs     []linkvault.PendingRevocation
	events   []linkvault.Event
}

func (u connectionUpdate) key() string { return u.c.TokenID }

// single is the version-checked UPDATE alone; an update with revocations or events is
// more than one statement. A missed row is told apart (gone or moved on) after the
// commit: either way nothing was written.
func (u connectionUpdate) single(s *Store) (Stmt, func(context.Context, int64) error, bool) {
	c := u.c
	stmt := Stmt{Query: `UPDATE connections SET
			status = $1, accounts = $2, sealed_credential = $3, key_version = $4,
			access_expires_at = $5, refresh_expires_at = $6, next_check_at = $7,
			failure_count = $8, last_error = $9, lease_owner = $10, lease_expires_at = $11,
			version = version + 1, updated_at = $12, upstream_account = $16
		WHERE token_id = $13 AND client_id = $14 AND version = $15`,
		Args: []any{string(c.Status), u.accounts, c.SealedCredential, c.KeyVersion,
			nullTime(c.AccessExpiresAt), nullTime(c.RefreshExpiresAt), nullTime(c.NextCheckAt),
			c.FailureCount, c.LastError, c.LeaseOwner, nullTime(c.LeaseExpiresAt),
			u.now, c.TokenID, c.ClientID, c.Version, c.UpstreamAccount}}
	return stmt, func(ctx context.Context, rows int64) error {
		if rows > 0 {
			return nil
		}
		return s.wrap("update connection", u.missed(ctx, s, s.e.Write()))
	}, len(u.revs) == 0 && len(u.events) == 0
}

// missed tells why the UPDATE changed no row: tokenNotFound or conflict.
func (u connectionUpdate) missed(ctx context.Context, s *Store, q Querier) error {
	return s.missingOrConflict(ctx, q, linkvault.ErrTokenNotFound(), linkvault.ErrConflict("Connection was modified concurrently."),
		`SELECT 1 FROM connections WHERE token_id = $1 AND client_id = $2`, u.c.TokenID, u.c.ClientID)
}

func (u connectionUpdate) write(ctx context.Context, s *Store, tx Querier) (result, abort error) {
	stmt, _, _ := u.single(s)
	n, err := tx.Exec(ctx, stmt.Query, stmt.Args...)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		err := u.missed(ctx, s, tx)
		if isDomain(err) {
			return err, nil
		}
		return nil, err
	}
	if err := s.insertRevocations(ctx, tx, u.revs); err != nil {
		return nil, err
	}
	return nil, s.insertEvents(ctx, tx, u.c.ClientID, u.c.TokenID, u.events)
}

// DeleteConnection physically deletes the client's connection and writes its outbox
// events; linkvault.ErrTokenNotFound if absent. It is RemoveConnection without a
// fingerprint or revocations.
func (s *Store) DeleteConnection(ctx context.Context, clientID, tokenID string, events ...linkvault.Event) error {
	return s.RemoveConnection(ctx, linkvault.Removal{ClientID: clientID, TokenID: tokenID}, events...)
}

// RemoveConnection deletes the connection and, in the same transaction, what else
// identifies it (see linkvault.ConnectionStore): the Link sessions of its user whose
// outcome names the tokenId, its transfer previews, the payloads of its finished
// webhook events; the tokenId in this client's audit trail and transfer ledger becomes
// r.Fingerprint (the audit rows' unkeyed reference too); r.Revocations are queued and
// events written. linkvault.ErrTokenNotFound if absent. What remains of old row
// versions on disk is the engine's matter (SQLite overwrites them and checkpoints;
// PostgreSQL keeps dead tuples until VACUUM and WAL until it is recycled: see
// docs/operations.md).
func (s *Store) RemoveConnection(ctx context.Context, r linkvault.Removal, events ...linkvault.Event) error {
	err := s.e.InTx(ctx, func(tx Querier) error {
		var userID string
		err := tx.QueryRow(ctx, `DELETE FROM connections WHERE token_id = $1 AND client_id = $2 RETURNING user_id`,
			r.TokenID, r.ClientID).Scan(&userID)
		if isNoRows(err) {
			return linkvault.ErrTokenNotFound()
		}
		if err != nil {
			return err
		}
		if err := s.forgetConnection(ctx, tx, r, userID); err != nil {
			return err
		}
		if err := s.insertRevocations(ctx, tx, r.Revocations); err != nil {
			return err
		}
		return s.insertEvents(ctx, tx, r.ClientID, r.TokenID, events)
	})
	return s.wrap("remove connection", err)
}

// forgetConnection removes or replaces what names a removed connection outside its row.
func (s *Store) forgetConnection(ctx context.Context, tx Querier, r linkvault.Removal, userID string) error {
	// The Link sessions that connected or re-authenticated it: their outcome (the
	// payload handed to the page) names the tokenId. LIKE with '!' escaping, since a
	// tokenId may hold '_'.
	pattern := "%" + likeEscaper.Replace(r.TokenID) + "%"
	steps := []struct {
		query string
		args  []any
	}{
		{`DELETE FROM link_sessions WHERE client_id = $1 AND user_id = $2 AND CAST(outcome AS TEXT) LIKE $3 ESCAPE '!'`,
			[]any{r.ClientID, userID, pattern}},
		{`DELETE FROM transfer_previews WHERE client_id = $1 AND token_id = $2`, []any{r.ClientID, r.TokenID}},
		// Events still awaiting delivery keep their data until delivered (the app needs
		// connection.removed); finished ones keep only their id, type and times.
		{`UPDATE webhook_events SET data = '{}', token_id = '' WHERE client_id = $1 AND token_id = $2 AND outcome <> ''`,
			[]any{r.ClientID, r.TokenID}},
		// Every audit row carries the presented tokenId's reference (token_ref), the
		// client's own connections their tokenId too (index audit_log_client_ref).
		{`UPDATE audit_log SET token_id = '', token_ref = $2 WHERE client_id = $1 AND token_ref = $3`,
			[]any{r.ClientID, r.Fingerprint, linkvault.TokenFingerprint(r.TokenID)}},
	}
	for _, st := range steps {
		if _, err := tx.Exec(ctx, st.query, st.args...); err != nil {
			return err
		}
	}
	return s.forgetTransfers(ctx, tx, r)
}

// forgetTransfers keeps the connection's executed transfers in the client's ledger (its
// financial record, replayed to retries) under the fingerprint, without the fields of
// the stored answer that name the connection, its user or its exchange account.
func (s *Store) forgetTransfers(ctx context.Context, tx Querier, r linkvault.Removal) error {
	type row struct {
		id     string
		result []byte
	}
	rows, err := queryAll(ctx, tx, func(rw Row) (row, error) {
		var x row
		return x, rw.Scan(&x.id, &x.result)
	}, `SELECT client_transaction_id, result FROM transfers WHERE client_id = $1 AND token_id = $2`+s.e.ForUpdate(),
		r.ClientID, r.TokenID)
	if err != nil {
		return err
	}
	for _, x := range rows {
		result, err := scrubJSON(x.result)
		if err != nil {
			return s.errorf("scrub transfer result", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE transfers SET token_id = $3, result = $4 WHERE client_id = $1 AND client_transaction_id = $2`,
			r.ClientID, x.id, r.Fingerprint, nullText(result)); err != nil {
			return err
		}
	}
	return nil
}

// identifyingKeys are the JSON fields that name a connection, its user or its exchange
// account in a stored answer.
var identifyingKeys = []string{"userId", "accountId", "fromAccountId", "tokenId", "authToken", "fromAuthToken", "accessToken"}

// scrubJSON drops identifyingKeys at any depth of a JSON document (nil stays nil).
func scrubJSON(doc []byte) ([]byte, error) {
	if doc == nil {
		return nil, nil
	}
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		return nil, err
	}
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for _, k := range identifyingKeys {
				delete(x, k)
			}
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(v)
	return json.Marshal(v)
}

var likeEscaper = strings.NewReplacer("!", "!!", "%", "!%", "_", "!_")

// CountConnections returns the number of stored connections.
func (s *Store) CountConnections(ctx context.Context) (int64, error) {
	var n int64
	err := s.e.Read().QueryRow(ctx, `SELECT count(*) FROM connections`).Scan(&n)
	return n, s.wrap("count connections", err)
}

// ClaimDueConnections leases up to limit connections due at now (NextCheckAt set and
// <= now) whose lease is free or expired, earliest first. Each claimed row gets the
// lease, a bumped version and UpdatedAt = now. Concurrent claimers never share a row:
// the engine's SkipLocked clause makes them pass over each other's rows, or its single
// writer runs them one after the other.
func (s *Store) ClaimDueConnections(ctx context.Context, now time.Time, owner string, leaseUntil time.Time, limit int) ([]*linkvault.Connection, error) {
	out, err := claimDue(ctx, s, "claim due connections", dueClaim{
		table: "connections", key: "token_id", due: "next_check_at", order: "next_check_at",
		set: ", version = version + 1, updated_at = $1", returning: connectionColumns,
	}, now, owner, nullTime(leaseUntil), limit, s.scanConnection, func(a, b *linkvault.Connection) int {
		if c := a.NextCheckAt.Compare(b.NextCheckAt); c != 0 {
			return c
		}
		return cmp.Compare(a.TokenID, b.TokenID)
	})
	return out, err
}

// ClaimConnection leases one connection of the client to owner until leaseUntil, for an
// on-demand refresh, if no live lease holds it (whoever the holder: a process's own
// engine workers hold leases too). The claim bumps the version, like
// ClaimDueConnections, so any older holder is fenced out; two claims at once serialise
// on the row, and the second re-checks the lease against the first one's. It returns
// the row as claimed; linkvault.ErrTokenNotFound if the client has no such connection,
// conflict while another lease is live.
func (s *Store) ClaimConnection(ctx context.Context, clientID, tokenID, owner string, now, leaseUntil time.Time) (*linkvault.Connection, error) {
	c, err := s.scanConnection(s.e.Write().QueryRow(ctx, `UPDATE connections SET
			lease_owner = $1, lease_expires_at = $2, version = version + 1, updated_at = $3
		WHERE token_id = $4 AND client_id = $5 AND (lease_owner = '' OR lease_expires_at <= $3)
		RETURNING `+connectionColumns,
		owner, nullTime(leaseUntil), now, tokenID, clientID))
	if isNoRows(err) {
		err = s.missingOrConflict(ctx, s.e.Write(), linkvault.ErrTokenNotFound(), linkvault.ErrConflict("Connection is leased by another worker."),
			`SELECT 1 FROM connections WHERE token_id = $1 AND client_id = $2`, tokenID, clientID)
	}
	if err != nil {
		return nil, s.wrap("claim connection", err)
	}
	return c, nil
}

// CountDueConnections returns how many connections are due at now (scheduled check
// reached), leased or not. It reads the partial due index only.
func (s *Store) CountDueConnections(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	err := s.e.Read().QueryRow(ctx, `SELECT count(*) FROM connections WHERE next_check_at <= $1`, now).Scan(&n)
	return n, s.wrap("count due connections", err)
}
