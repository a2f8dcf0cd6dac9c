package sqlstore

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/linkvault/linkvault"
)

// Keyring advertisements of running servers (table keyring_replicas).

// AdvertiseKeyring records (or refreshes) what replica r holds.
func (s *Store) AdvertiseKeyring(ctx context.Context, r linkvault.KeyringReplica) error {
	held := make([]string, len(r.Held))
	for i, v := range r.Held {
		held[i] = strconv.Itoa(v)
	}
	_, err := s.e.Write().Exec(ctx, `INSERT INTO keyring_replicas (replica_id, held_versions, wrap_version, seen_at)
		VALUES ($1, $2, $3, $4)
		ON CONFLICT (replica_id) DO UPDATE SET held_versions = $2, wrap_version = $3, seen_at = $4`,
		r.ID, strings.Join(held, ","), r.WrapVersion, r.SeenAt)
	return s.wrap("advertise keyring", err)
}

// ListKeyringReplicas returns the replicas seen at or after since, by id. Older rows
// (replicas that stopped without withdrawing) are deleted on the way.
func (s *Store) ListKeyringReplicas(ctx context.Context, since time.Time) ([]linkvault.KeyringReplica, error) {
	if _, err := s.e.Write().Exec(ctx, `DELETE FROM keyring_replicas WHERE seen_at < $1`, since.Add(-time.Hour)); err != nil {
		return nil, s.wrap("list keyring replicas", err)
	}
	out, err := queryAll(ctx, s.e.Read(), func(row Row) (linkvault.KeyringReplica, error) {
		var (
			r    linkvault.KeyringReplica
			held string
		)
		if err := row.Scan(&r.ID, &held, &r.WrapVersion, s.t(&r.SeenAt)); err != nil {
			return r, err
		}
		for _, f := range strings.Split(held, ",") {
			v, err := strconv.Atoi(f)
			if err != nil {
				continue // not a version: held by no one
			}
			r.Held = append(r.Held, v)
		}
		return r, nil
	}, `SELECT replica_id, held_versions, wrap_version, seen_at FROM keyring_replicas WHERE seen_at >= $1 ORDER BY replica_id`, since)
	return out, s.wrap("list keyring replicas", err)
}

// WithdrawKeyring deletes replica id's advertisement (a clean shutdown).
func (s *Store) WithdrawKeyring(ctx context.Context, id string) error {
	_, err := s.e.Write().Exec(ctx, `DELETE FROM keyring_replicas WHERE replica_id = $1`, id)
	return s.wrap("withdraw keyring", err)
}
