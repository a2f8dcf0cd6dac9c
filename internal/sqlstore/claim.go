package sqlstore

import (
	"context"
	"slices"
	"time"
)

// dueClaim names what claimDue leases: rows of table whose due column is at or before
// now, ordered by order, keyed by key; set adds assignments to the lease's own, and
// returning is what the claimed rows return.
type dueClaim struct {
	table, key, due, order, set, returning string
}

// claimDue leases up to limit rows of c.table due at now whose lease is free or expired,
// earliest first, setting lease_owner to lease and lease_expires_at to leaseUntil, and
// returns them read by scan and sorted by compare (RETURNING has no defined order);
// errors name op.
// Concurrent claimers never share a row: the engine's SkipLocked clause makes them pass
// over each other's rows, or its single writer runs them one after the other. now is
// $1 in c.set.
func claimDue[T any](ctx context.Context, s *Store, op string, c dueClaim, now time.Time, lease string, leaseUntil any, limit int,
	scan func(Row) (T, error), compare func(a, b T) int) ([]T, error) {
	if limit <= 0 {
		return nil, nil
	}
	out, err := queryAll(ctx, s.e.Write(), scan, `WITH due AS MATERIALIZED (
			SELECT `+c.key+` FROM `+c.table+`
			WHERE `+c.due+` <= $1 AND (lease_owner = '' OR lease_expires_at <= $1)
			ORDER BY `+c.order+`
			LIMIT $4`+s.e.SkipLocked()+`
		)
		UPDATE `+c.table+` SET lease_owner = $2, lease_expires_at = $3`+c.set+`
		WHERE `+c.key+` IN (SELECT `+c.key+` FROM due)
		RETURNING `+c.returning,
		now, lease, leaseUntil, limit)
	if err != nil {
		return nil, s.errorf(op, err)
	}
	slices.SortFunc(out, compare)
	return out, nil
}
