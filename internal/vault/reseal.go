package vault

import (
	"context"
	"fmt"

	"github.com/linkvault/linkvault"
)

// ResealStore is what the re-seal pass needs from the database.
type ResealStore interface {
	// ListConnectionsSealedIn returns up to limit connections whose sealed credential
	// is in envelope format (its first byte) and whose tokenId sorts after
	// afterTokenID, in tokenId order.
	ListConnectionsSealedIn(ctx context.Context, format byte, afterTokenID string, limit int) ([]*linkvault.Connection, error)
}

// SealFormat tells the envelope format of a sealed credential (envelope.SealFormat).
type SealFormat func(sealed []byte) int

// CurrentSealFormat is the envelope format SealCredential writes; the pass re-seals
// format 1, the only older one.
const CurrentSealFormat = 2

// ResealResult counts what one re-seal pass did.
type ResealResult struct {
	Scanned  int // rows found in the old format
	Resealed int // rows rewritten in the current format
	Skipped  int // rows changed concurrently (a later pass takes them)
	Failed   int // rows whose credential did not open (logged; left as they are)
}

// Remaining is how many rows still need a later pass.
func (r ResealResult) Remaining() int { return r.Skipped + r.Failed }

// Reseal rewrites every credential sealed in an older envelope format (bound to client,
// tokenId and key version only, JSON inside) in the current one (bound to every field
// of the row that grants power, compact layout), online: each row is opened, its
// upstream account column filled from the credential when empty, sealed again and
// written with the row's version check, so a concurrent refresh or reconnect wins and
// the row is taken by a later pass. Rows already current are left alone, which makes
// the pass idempotent, and a pass interrupted at any point resumes by running again.
// batch is the page size (<= 0: 500).
func (s *Service) Reseal(ctx context.Context, store ResealStore, format SealFormat, batch int) (ResealResult, error) {
	if batch <= 0 {
		batch = 500
	}
	var res ResealResult
	after := ""
	for {
		page, err := store.ListConnectionsSealedIn(ctx, 1, after, batch)
		if err != nil {
			return res, fmt.Errorf("vault: reseal: %w", err)
		}
		for _, c := range page {
			res.Scanned++
			after = c.TokenID
			if format(c.SealedCredential) >= CurrentSealFormat || len(c.SealedCredential) == 0 {
				continue
			}
			cred, err := s.Open(ctx, c)
			if err != nil {
				res.Failed++
				s.log.WarnContext(ctx, "reseal: credential does not open; left as it is",
					"client", c.ClientID, "token_ref", linkvault.TokenFingerprint(c.TokenID), "error_type", linkvault.ErrorType(err))
				continue
			}
			sealed, ver, err := s.sealCopy(ctx, c, cred)
			if err != nil {
				return res, err
			}
			next := *c
			next.SealedCredential, next.KeyVersion = sealed, ver
			switch err := s.store.UpdateConnection(ctx, &next); {
			case err == nil:
				res.Resealed++
				s.cache.remove(c.ClientID, c.TokenID)
			case linkvault.IsConflict(err) || linkvault.IsNotFound(err):
				res.Skipped++
			default:
				return res, fmt.Errorf("vault: reseal: %w", err)
			}
		}
		if len(page) < batch {
			return res, ctx.Err()
		}
		if err := ctx.Err(); err != nil {
			return res, err
		}
	}
}

// sealCopy seals cred for c as the re-seal pass writes it: the upstream account filled
// from the credential when the row has none yet (rows from before the column).
func (s *Service) sealCopy(ctx context.Context, c *linkvault.Connection, cred linkvault.Credential) ([]byte, int, error) {
	if c.UpstreamAccount == "" {
		c.UpstreamAccount = cred.Subject
	}
	sealed, ver, err := s.sealer.SealCredential(ctx, c, cred)
	if err != nil {
		return nil, 0, fmt.Errorf("vault: reseal: %w", err)
	}
	return sealed, ver, nil
}
