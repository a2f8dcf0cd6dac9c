package envelope

import (
	"context"
	"errors"

	"github.com/linkvault/linkvault"
)

var _ linkvault.CredentialSealer = (*Keyring)(nil)

// credentialRowLabel starts the associated data of format 2 credentials.
const credentialRowLabel = "linkvault-credential-v2"

// credentialRowAAD is the canonical encoding of ("linkvault-credential-v2", client,
// tokenId, userId, brokerType, scope, upstream account, key version): every field of
// a connection row that grants power. Changing any of them in the database (a
// read-scoped row set to write, the row moved to another user or exchange account)
// makes the credential fail authentication.
func credentialRowAAD(dst []byte, c *linkvault.Connection, keyVersion int) []byte {
	dst = appendField(dst, credentialRowLabel)
	dst = appendField(dst, c.ClientID)
	dst = appendField(dst, c.TokenID)
	dst = appendField(dst, c.UserID)
	dst = appendField(dst, string(c.BrokerType))
	dst = appendField(dst, string(c.Scope))
	dst = appendField(dst, c.UpstreamAccount)
	return appendIntField(dst, keyVersion)
}

func credentialRowAADSize(c *linkvault.Connection) int {
	return 8*4 + len(credentialRowLabel) + len(c.ClientID) + len(c.TokenID) + len(c.UserID) +
		len(c.BrokerType) + len(c.Scope) + len(c.UpstreamAccount) + 8
}

// SealCredential seals cred for the row c in format 2: the compact credential layout
// (linkvault.AppendCredential), bound to every power-granting field of c.
func (k *Keyring) SealCredential(ctx context.Context, c *linkvault.Connection, cred linkvault.Credential) ([]byte, int, error) {
	if c.ClientID == "" || c.TokenID == "" {
		return nil, 0, sealError(errors.New("envelope: seal needs a client id and a tokenId"))
	}
	version, aead, err := k.currentKey(ctx, c.ClientID)
	if err != nil {
		return nil, 0, sealError(err)
	}
	// One allocation holds the plaintext, then the associated data; a second the
	// ciphertext.
	plain := linkvault.AppendCredential(make([]byte, 0, linkvault.CredentialSize(cred)+credentialRowAADSize(c)), cred)
	aad := credentialRowAAD(plain[len(plain):], c, version)
	out := make([]byte, 0, sealOverhead+len(plain))
	out = append(out, formatV2)
	out = aead.Seal(out, nil, plain, aad)
	clear(plain)
	return out, version, nil
}

// OpenCredential opens c.SealedCredential. Format 2 is checked against every bound
// field of c; format 1 (sealed before format 2 existed, bound to client, tokenId and key
// version only, JSON inside) still opens, until the re-seal pass rewrites it (see
// vault.Service.Reseal). A ciphertext that fails authentication is
// linkvault.ErrCredentialIntegrity; other failures (a missing master key version, an
// unreachable store) are the generic serverFailure of Open.
func (k *Keyring) OpenCredential(ctx context.Context, c *linkvault.Connection) (linkvault.Credential, error) {
	ct := c.SealedCredential
	if len(ct) > 0 && ct[0] == formatV1 && k.refuseFormat1 {
		return linkvault.Credential{}, linkvault.ErrCredentialIntegrity(errors.New("envelope: format 1 credential refused (refuseUnboundCredentials)"))
	}
	if len(ct) == 0 || ct[0] == formatV1 {
		plain, err := k.Open(ctx, c.ClientID, c.TokenID, c.KeyVersion, ct)
		if err != nil {
			if errors.Is(err, errAuth) {
				return linkvault.Credential{}, linkvault.ErrCredentialIntegrity(err)
			}
			return linkvault.Credential{}, err
		}
		defer clear(plain)
		return linkvault.DecodeCredential(plain)
	}
	if ct[0] != formatV2 || c.KeyVersion < 1 || len(ct) < sealOverhead {
		return linkvault.Credential{}, linkvault.ErrCredentialIntegrity(errMalformed)
	}
	aead, ok := k.cache.get(c.ClientID, c.KeyVersion)
	if !ok {
		var err error
		if aead, err = k.loadVersion(ctx, c.ClientID, c.KeyVersion); err != nil {
			if linkvault.IsNotFound(err) {
				// The row names a data key its client does not have.
				return linkvault.Credential{}, linkvault.ErrCredentialIntegrity(err)
			}
			return linkvault.Credential{}, openError(err)
		}
	}
	n := len(ct) - sealOverhead
	buf := make([]byte, n, n+credentialRowAADSize(c))
	aad := credentialRowAAD(buf[n:], c, c.KeyVersion)
	plain, err := aead.Open(buf[:0], nil, ct[1:], aad)
	if err != nil {
		return linkvault.Credential{}, linkvault.ErrCredentialIntegrity(errAuth)
	}
	defer clear(plain)
	return linkvault.DecodeCredential(plain)
}

// SealFormat reports the envelope format of a sealed credential: 2 for the current
// row-bound layout, 1 for one sealed before it (to be re-sealed), 0 for none.
func SealFormat(sealed []byte) int {
	if len(sealed) == 0 {
		return 0
	}
	return int(sealed[0])
}
