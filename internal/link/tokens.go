package link

import (
	"context"
	"crypto/subtle"

	"github.com/linkvault/linkvault"
)

// TokenRef is one stored token an app passes into Link (IntegrationAccessToken of the
// wire contract: accessToken carries the tokenId).
type TokenRef struct {
	AccessToken string `json:"accessToken"`
	BrokerType  string `json:"brokerType"`
	BrokerName  string `json:"brokerName,omitempty"`
	AccountID   string `json:"accountId,omitempty"`
	AccountName string `json:"accountName,omitempty"`
}

// MaxTokenRefs bounds how many tokens one call validates.
const MaxTokenRefs = 50

// Known is a passed token that belongs to this session's client, user and scope.
type Known struct {
	TokenID     string                `json:"tokenId"`
	BrokerType  linkvault.BrokerType  `json:"brokerType"`
	BrokerName  string                `json:"brokerName"`
	AuthKind    linkvault.AuthKind    `json:"authKind"`
	Status      string                `json:"status"` // KnownActive | KnownReauthRequired
	Integration linkvault.Integration `json:"integration"`
	// Payload is the access-token payload to report for an active connection.
	Payload *AccessTokenPayload `json:"payload,omitempty"`
}

// Statuses of a Known token.
const (
	KnownActive         = "active"
	KnownReauthRequired = "reauthRequired"
)

// Known validates the tokens an app passed in and returns those this session may use:
// same client, same user, same scope (the permission of the key that opened the
// session), and the stated broker type when one is given. Every other token is
// dropped without a trace: the caller cannot tell "never existed" from "another
// client's" or "another user's", and each token costs the same single lookup.
func (s *Service) Known(ctx context.Context, sess *linkvault.LinkSession, refs []TokenRef) ([]Known, error) {
	if len(refs) > MaxTokenRefs {
		refs = refs[:MaxTokenRefs]
	}
	seen := make(map[string]bool, len(refs))
	out := []Known{}
	for _, ref := range refs {
		if ref.AccessToken == "" || seen[ref.AccessToken] {
			continue
		}
		seen[ref.AccessToken] = true
		c, err := s.ownConnection(ctx, sess, ref.AccessToken, linkvault.BrokerType(ref.BrokerType))
		if err != nil {
			if linkvault.IsNotFound(err) {
				continue
			}
			return nil, err
		}
		_, in, ok := s.integration(c.BrokerType)
		if !ok {
			continue
		}
		if in.LogoURL == "" {
			in.LogoURL = LogoPath(in.Type)
		}
		k := Known{TokenID: c.TokenID, BrokerType: c.BrokerType, BrokerName: in.Name, AuthKind: in.AuthKind, Integration: in}
		if c.Status == linkvault.StatusReauthRequired {
			k.Status = KnownReauthRequired
		} else {
			k.Status = KnownActive
			pl := Payload(c, in, s.baseURL)
			k.Payload = &pl
		}
		out = append(out, k)
	}
	return out, nil
}

// ownConnection returns the connection tokenID if it belongs to this session's client,
// user and scope (and broker, when given), or errUnknownConnection otherwise.
func (s *Service) ownConnection(ctx context.Context, sess *linkvault.LinkSession, tokenID string, broker linkvault.BrokerType) (*linkvault.Connection, error) {
	if !linkvault.PlausibleTokenID(tokenID) {
		return nil, errUnknownConnection() // never looked up: the same answer as an unknown tokenId
	}
	// The store filters by client: another client's tokenId is "not found" exactly like
	// one never issued.
	c, err := s.conns.GetConnection(ctx, sess.ClientID, tokenID)
	if err != nil {
		if linkvault.IsNotFound(err) {
			return nil, errUnknownConnection()
		}
		return nil, err
	}
	sameUser := subtle.ConstantTimeCompare([]byte(c.UserID), []byte(sess.UserID)) == 1
	if !sameUser || c.Scope != sess.Permission || (broker != "" && c.BrokerType != broker) {
		return nil, errUnknownConnection()
	}
	return c, nil
}
