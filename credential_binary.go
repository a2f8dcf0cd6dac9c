package linkvault

import (
	"encoding/binary"
	"errors"
	"time"
)

// The compact credential layout sealed since envelope format 2 (EncodeCredential's JSON
// is what format 1 sealed, and still decodes):
//
//	byte 0   credentialBinaryV2
//	then     AccessToken, RefreshToken, TokenType, Subject, APISecret: each a uvarint
//	         length and the bytes
//	then     Expiry, RefreshExpiry: each a uvarint flag (0 zero time, 1 set), and when
//	         set a zigzag varint of Unix seconds and a uvarint of nanoseconds
//
// No reflection, no field names, one allocation to encode into a sized buffer.
const credentialBinaryV2 byte = 0x02

var errCredentialLayout = errors.New("linkvault: malformed credential layout")

// CredentialSize is an upper bound of AppendCredential's output for c.
func CredentialSize(c Credential) int {
	return 1 + 5*binary.MaxVarintLen64 + len(c.AccessToken.v) + len(c.RefreshToken.v) + len(c.TokenType) +
		len(c.Subject) + len(c.APISecret.v) + 2*(1+2*binary.MaxVarintLen64)
}

// AppendCredential appends the compact layout of c to dst. The result holds plaintext
// secrets: pass it straight to the sealer, clear it after, and never store or log it.
func AppendCredential(dst []byte, c Credential) []byte {
	dst = append(dst, credentialBinaryV2)
	for _, s := range [...]string{c.AccessToken.v, c.RefreshToken.v, c.TokenType, c.Subject, c.APISecret.v} {
		dst = binary.AppendUvarint(dst, uint64(len(s)))
		dst = append(dst, s...)
	}
	for _, t := range [...]time.Time{c.Expiry, c.RefreshExpiry} {
		if t.IsZero() {
			dst = append(dst, 0)
			continue
		}
		dst = append(dst, 1)
		dst = binary.AppendVarint(dst, t.Unix())
		dst = binary.AppendUvarint(dst, uint64(t.Nanosecond()))
	}
	return dst
}

func decodeCredentialBinary(b []byte) (Credential, error) {
	r := credentialReader{b: b[1:]}
	var c Credential
	c.AccessToken = NewSecret(r.str())
	c.RefreshToken = NewSecret(r.str())
	c.TokenType = r.str()
	c.Subject = r.str()
	c.APISecret = NewSecret(r.str())
	c.Expiry = r.time()
	c.RefreshExpiry = r.time()
	if r.err != nil || len(r.b) != 0 {
		return Credential{}, &Error{Status: StatusServerFailure, Type: ErrTypeInternal, Message: "Stored credential is unreadable.", Err: errCredentialLayout}
	}
	return c, nil
}

type credentialReader struct {
	b   []byte
	err error
}

func (r *credentialReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err, r.b = errCredentialLayout, nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *credentialReader) str() string {
	n := r.uvarint()
	if r.err != nil || n > uint64(len(r.b)) {
		r.err, r.b = errCredentialLayout, nil
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *credentialReader) time() time.Time {
	switch r.uvarint() {
	case 0:
		return time.Time{}
	case 1:
	default:
		r.err = errCredentialLayout
		return time.Time{}
	}
	sec, n := binary.Varint(r.b)
	if n <= 0 {
		r.err, r.b = errCredentialLayout, nil
		return time.Time{}
	}
	r.b = r.b[n:]
	nsec := r.uvarint()
	if nsec >= 1e9 {
		r.err = errCredentialLayout
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}
