package sqlstore

import (
	"cmp"
	"context"
	"time"

	"github.com/linkvault/linkvault"
)

// The durable revocation queue (internal/revocation's Store): entries are written by
// RemoveConnection and UpdateConnectionRevoking in the transaction of the change that
// made the credential obsolete; revocation workers on any replica claim due entries
// under a lease, and delete each once the exchange confirmed or refused.

const revocationColumns = `id, client_id, token_id, broker_type, reason, sealed, key_version,
	attempts, next_attempt_at, last_error, lease_owner, lease_expires_at, created_at`

func (s *Store) scanRevocation(r Row) (linkvault.PendingRevocation, error) {
	var (
		p      linkvault.PendingRevocation
		broker string
	)
	err := r.Scan(&p.ID, &p.ClientID, &p.TokenID, &broker, &p.Reason, &p.Sealed, &p.KeyVersion,
		&p.Attempts, s.t(&p.NextAttemptAt), &p.LastError, &p.LeaseOwner, s.t(&p.LeaseExpiresAt), s.t(&p.CreatedAt))
	p.BrokerType = linkvault.BrokerType(broker)
	return p, err
}

// insertRevocations writes revs into the queue inside tx. A zero CreatedAt is now; a
// zero NextAttemptAt is CreatedAt (due at once).
func (s *Store) insertRevocations(ctx context.Context, tx Querier, revs []linkvault.PendingRevocation) error {
	for _, r := range revs {
		if r.CreatedAt.IsZero() {
			r.CreatedAt = s.now()
		}
		if r.NextAttemptAt.IsZero() {
			r.NextAttemptAt = r.CreatedAt
		}
		_, err := tx.Exec(ctx, `INSERT INTO revocations (`+revocationColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
			r.ID, r.ClientID, r.TokenID, string(r.BrokerType), r.Reason, r.Sealed, r.KeyVersion,
			r.Attempts, r.NextAttemptAt, r.LastError, r.LeaseOwner, nullTime(r.LeaseExpiresAt), r.CreatedAt)
		if err != nil {
			return s.errorf("insert revocation", err)
		}
	}
	return nil
}

// ClaimRevocations leases up to limit due entries (NextAttemptAt <= now, lease free or
// expired), earliest first, under a lease string unique to this claim (owner plus a
// random suffix, returned in LeaseOwner). Concurrent claimers never share an entry
// (see ClaimDueConnections).
func (s *Store) ClaimRevocations(ctx context.Context, now time.Time, owner string, leaseUntil time.Time, limit int) ([]linkvault.PendingRevocation, error) {
	lease := owner + "/" + linkvault.NewRandomID(9)
	out, err := claimDue(ctx, s, "claim revocations", dueClaim{
		table: "revocations", key: "id", due: "next_attempt_at", order: "next_attempt_at, id", returning: revocationColumns,
	}, now, lease, leaseUntil, limit, s.scanRevocation, func(a, b linkvault.PendingRevocation) int {
		if c := a.NextAttemptAt.Compare(b.NextAttemptAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out, err
}

// FinishRevocation deletes the entry (the exchange confirmed or refused, or it cannot
// be tried) and writes events, in one transaction, if the entry is still leased under
// lease; conflict otherwise (another worker took it over after the lease expired).
func (s *Store) FinishRevocation(ctx context.Context, id, lease string, events ...linkvault.Event) error {
	err := s.e.InTx(ctx, func(tx Querier) error {
		var clientID, tokenID string
		err := tx.QueryRow(ctx, `DELETE FROM revocations WHERE id = $1 AND lease_owner = $2 RETURNING client_id, token_id`,
			id, lease).Scan(&clientID, &tokenID)
		if isNoRows(err) {
			return linkvault.ErrConflict("Revocation is no longer leased by this worker.")
		}
		if err != nil {
			return err
		}
		return s.insertEvents(ctx, tx, clientID, tokenID, events)
	})
	return s.wrap("finish revocation", err)
}

// RetryRevocation records a failed attempt: the entry's attempt count, the error kind
// and when it is due again, releasing the lease, if it is still held under lease;
// conflict otherwise.
func (s *Store) RetryRevocation(ctx context.Context, id, lease string, attempts int, next time.Time, lastError string) error {
	n, err := s.e.Write().Exec(ctx, `UPDATE revocations SET
			attempts = $1, next_attempt_at = $2, last_error = $3, lease_owner = '', lease_expires_at = NULL
		WHERE id = $4 AND lease_owner = $5`,
		attempts, next, lastError, id, lease)
	if err != nil {
		return s.errorf("retry revocation", err)
	}
	if n == 0 {
		return linkvault.ErrConflict("Revocation is no longer leased by this worker.")
	}
	return nil
}

// CountRevocations returns how many entries the queue holds, and how many of them are
// due at now.
func (s *Store) CountRevocations(ctx context.Context, now time.Time) (total, due int64, err error) {
	err = s.e.Read().QueryRow(ctx, `SELECT count(*), count(CASE WHEN next_attempt_at <= $1 THEN 1 END) FROM revocations`,
		now).Scan(&total, &due)
	return total, due, s.wrap("count revocations", err)
}
