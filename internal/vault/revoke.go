package vault

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/linkvault/linkvault"
)

// Revocation of obsolete grants: the credential a removal deletes or a reconnect
// replaces is sealed again for the durable revocation queue (internal/revocation) and
// written in the same transaction as the change; the queue revokes it at the exchange.

func (s *Service) canRevoke(b linkvault.BrokerType) bool {
	return s.revoker != nil && s.queue != nil && s.revoker.CanRevoke(b)
}

// pendingRevocation returns the queue entry for c's obsolete credential cred, leased
// to this process so that it is tried right after the commit; none when the exchange
// cannot revoke.
func (s *Service) pendingRevocation(ctx context.Context, c *linkvault.Connection, cred linkvault.Credential, reason string) ([]linkvault.PendingRevocation, error) {
	if !s.canRevoke(c.BrokerType) {
		return nil, nil
	}
	now := s.now()
	r := linkvault.PendingRevocation{
		ID: linkvault.NewRevocationID(), ClientID: c.ClientID, TokenID: c.TokenID, BrokerType: c.BrokerType,
		Reason: reason, NextAttemptAt: now, CreatedAt: now,
	}
	// The compact layout keeps every byte of the credential; the JSON one
	// (EncodeCredential) would replace bytes that are not UTF-8 and revoke another token.
	plain := linkvault.AppendCredential(make([]byte, 0, linkvault.CredentialSize(cred)), cred)
	sealed, ver, err := s.sealer.Seal(ctx, c.ClientID, r.SealID(), plain)
	clear(plain)
	if err != nil {
		return nil, fmt.Errorf("vault: seal credential for revocation: %w", err)
	}
	r.Sealed, r.KeyVersion = sealed, ver
	r.LeaseOwner, r.LeaseExpiresAt = s.queue.Lease(now)
	return []linkvault.PendingRevocation{r}, nil
}

// tryRevocations tries the committed entries at once (each leased to this process);
// what fails stays queued for the workers. It returns the last entry's state.
func (s *Service) tryRevocations(ctx context.Context, revs []linkvault.PendingRevocation, cred linkvault.Credential) linkvault.RevocationState {
	state := linkvault.RevocationUnsupported
	for _, r := range revs {
		// The caller's request may end; the revocation is this process's to try
		// until its lease lapses.
		state = s.queue.Try(context.WithoutCancel(ctx), r, cred)
	}
	return state
}

func (s *Service) observe(b linkvault.BrokerType, reason string, state linkvault.RevocationState) {
	if s.queue != nil {
		s.queue.Observe(b, reason, state)
	}
}

// revokedEvent is connection.revoked for a removal whose state is final at once.
func (s *Service) revokedEvent(c *linkvault.Connection, state linkvault.RevocationState) linkvault.Event {
	raw, err := json.Marshal(map[string]any{
		"tokenId": c.TokenID, "brokerType": c.BrokerType, "details": map[string]string{"revocation": string(state)},
	})
	if err != nil {
		panic("vault: marshal event: " + err.Error()) // strings only; cannot fail
	}
	return linkvault.Event{
		ID: "evt_" + linkvault.NewRandomID(16), ClientID: c.ClientID, Type: linkvault.EventConnectionRevoked,
		TokenID: c.TokenID, Data: raw, CreatedAt: s.now(),
	}
}

// fingerprint is the keyed fingerprint of a removed connection: "fp1:" and the first
// 128 bits of HMAC-SHA256(key, clientID NUL tokenID) in hex. Without the key (kept
// wrapped by the master key) nobody can tell which tokenId it stands for, even holding
// a list of tokenIds; linkvault can recompute it for a tokenId it is given.
func (s *Service) fingerprint(ctx context.Context, clientID, tokenID string) (string, error) {
	if s.fpKey == nil {
		return "", nil
	}
	key, err := s.fpKey(ctx)
	if err != nil {
		return "", fmt.Errorf("vault: fingerprint key: %w", err)
	}
	return Fingerprint(key, clientID, tokenID), nil
}

// Fingerprint computes the keyed fingerprint of (clientID, tokenID) under key (see
// Service.fingerprint); the audit CLI uses it to find a removed connection's entries.
func Fingerprint(key []byte, clientID, tokenID string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(clientID))
	m.Write([]byte{0})
	m.Write([]byte(tokenID))
	return "fp1:" + hex.EncodeToString(m.Sum(nil)[:16])
}

// sameGrant reports whether next is the very grant old is (nothing superseded): the
// same access token or the same refresh token, compared in constant time.
func sameGrant(old, next linkvault.Credential) bool {
	eq := func(a, b linkvault.Secret) bool {
		return !a.IsZero() && subtle.ConstantTimeCompare([]byte(a.Reveal()), []byte(b.Reveal())) == 1
	}
	return eq(old.AccessToken, next.AccessToken) || eq(old.RefreshToken, next.RefreshToken)
}

// accountChanged reports whether a login to next (Credential.Subject) is another
// exchange account than previous. Both must be known; an adapter that cannot name the
// account never counts as a change.
func accountChanged(previous, next string) bool {
	return previous != "" && next != "" && previous != next
}

func accountIDs(accounts []linkvault.Account) string {
	ids := make([]string, 0, len(accounts))
	for _, a := range accounts {
		ids = append(ids, a.AccountID)
	}
	return strings.Join(ids, ",")
}
