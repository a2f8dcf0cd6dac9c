package vault_test

import (
	"context"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/envelope"
	"github.com/linkvault/linkvault/internal/testdb"
	"github.com/linkvault/linkvault/internal/vault"
)

type resealDB interface {
	vault.Store
	vault.ResealStore
	envelope.DataKeyStore
	CreateClient(ctx context.Context, c *linkvault.Client) error
}

// TestResealMovesOldRowsToTheRowBoundFormat: rows sealed by an older release (format
// 1: JSON inside, bound to client, tokenId and key version only, no upstream account
// column) are rewritten online in format 2, bound to the whole row with the upstream
// account filled from the credential; a second pass finds nothing (idempotent); a row
// that changed meanwhile is skipped for a later pass, never clobbered. Both stores.
func TestResealMovesOldRowsToTheRowBoundFormat(t *testing.T) {
	for name, open := range map[string]func(testing.TB) resealDB{
		"sqlite":   func(t testing.TB) resealDB { return testdb.SQLite(t) },
		"postgres": func(t testing.TB) resealDB { return testdb.Postgres(t) },
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			db := open(t)
			ring := newSealer(t, db, time.Now, "app")
			var old []*linkvault.Connection
			for _, user := range []string{"u1", "u2", "u3"} {
				cr := linkvault.Credential{AccessToken: linkvault.NewSecret("at-" + user), Subject: "upstream-" + user}
				c := &linkvault.Connection{TokenID: linkvault.NewTokenID(), ConnectionIdentity: ident("app", user, linkvault.BrokerCoinbase, linkvault.PermissionRead),
					Status: linkvault.StatusActive}
				sealed, ver, err := ring.Seal(ctx, "app", c.TokenID, linkvault.EncodeCredential(cr)) // what format 1 stored
				if err != nil {
					t.Fatal(err)
				}
				c.SealedCredential, c.KeyVersion = sealed, ver
				if err := db.CreateConnection(ctx, c); err != nil {
					t.Fatal(err)
				}
				old = append(old, c)
			}
			// u3 is changed by another writer between the pass's read and write.
			racer := &racingStore{resealDB: db, token: old[2].TokenID}
			v := vault.New(vault.Config{Store: racer, Sealer: ring})

			res, err := v.Reseal(ctx, db, envelope.SealFormat, 2)
			if err != nil || res.Scanned != 3 || res.Resealed != 2 || res.Skipped != 1 || res.Failed != 0 {
				t.Fatalf("first pass: %+v, %v; want 3 scanned, 2 resealed, 1 skipped", res, err)
			}
			for i, c := range old[:2] {
				got, err := db.GetConnection(ctx, "app", c.TokenID)
				if err != nil {
					t.Fatal(err)
				}
				if envelope.SealFormat(got.SealedCredential) != vault.CurrentSealFormat || got.UpstreamAccount != "upstream-"+c.UserID {
					t.Fatalf("row %d after the pass: format %d, upstream %q", i, envelope.SealFormat(got.SealedCredential), got.UpstreamAccount)
				}
				cr, err := v.Open(ctx, got)
				if err != nil || cr.AccessToken.Reveal() != "at-"+c.UserID {
					t.Fatalf("row %d does not open after the pass: %v", i, err)
				}
				got.Scope = linkvault.PermissionWrite
				if _, err := v.Open(ctx, got); linkvault.ErrorType(err) != linkvault.ErrTypeCredentialIntegrity {
					t.Fatalf("row %d re-sealed without its scope bound: %v", i, err)
				}
			}
			res, err = v.Reseal(ctx, db, envelope.SealFormat, 2)
			if err != nil || res.Resealed != 1 || res.Remaining() != 0 {
				t.Fatalf("second pass: %+v, %v; want the skipped row resealed", res, err)
			}
			res, err = v.Reseal(ctx, db, envelope.SealFormat, 2)
			if err != nil || res.Resealed != 0 || res.Scanned != 0 {
				t.Fatalf("third pass: %+v, %v; want nothing to do (no row read: the database filters the format)", res, err)
			}
		})
	}
}

// racingStore bumps one row's version (as a refresh would) right before the first
// write to it, once.
type racingStore struct {
	resealDB
	token string
	raced bool
}

func (s *racingStore) UpdateConnection(ctx context.Context, c *linkvault.Connection, events ...linkvault.Event) error {
	if c.TokenID == s.token && !s.raced {
		s.raced = true
		cur, err := s.resealDB.GetConnection(ctx, c.ClientID, c.TokenID)
		if err != nil {
			return err
		}
		cur.FailureCount++
		if err := s.resealDB.UpdateConnection(ctx, cur); err != nil {
			return err
		}
	}
	return s.resealDB.UpdateConnection(ctx, c, events...)
}
