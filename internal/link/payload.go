package link

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/linkvault/linkvault"
)

// AccessTokenPayload is what the Link page posts to the app as
// {type:'brokerageAccountAccessToken', payload} (the Mesh wire contract). With managed
// tokens, AccessToken and TokenID of every account token are the connection's tokenId.
type AccessTokenPayload struct {
	AccountTokens    []AccountToken       `json:"accountTokens"`
	BrokerType       linkvault.BrokerType `json:"brokerType"`
	BrokerName       string               `json:"brokerName"`
	BrokerBrandInfo  BrandInfo            `json:"brokerBrandInfo"`
	ExpiresInSeconds *int64               `json:"expiresInSeconds,omitempty"`
}

// AccountToken is one account of a connection with the token that addresses it.
type AccountToken struct {
	Account     PayloadAccount `json:"account"`
	AccessToken string         `json:"accessToken"`
	TokenID     string         `json:"tokenId"`
}

// PayloadAccount is an account as the payload describes it.
type PayloadAccount struct {
	MeshAccountID  string  `json:"meshAccountId"`
	FrontAccountID string  `json:"frontAccountId"`
	AccountID      string  `json:"accountId"`
	AccountName    string  `json:"accountName"`
	Fund           float64 `json:"fund"`
	Cash           float64 `json:"cash"`
}

// BrandInfo is the integration's branding for the app's UI.
type BrandInfo struct {
	BrokerLogo         string `json:"brokerLogo"`
	BrokerPrimaryColor string `json:"brokerPrimaryColor,omitempty"`
}

// LogoPath is where the server serves an integration's logo; the payload carries it
// made absolute with the public URL.
func LogoPath(b linkvault.BrokerType) string { return "/link/assets/logos/" + string(b) + ".svg" }

// Payload builds the access-token payload of a connection. baseURL (the server's
// public URL) makes the logo address absolute.
func Payload(c *linkvault.Connection, in linkvault.Integration, baseURL string) AccessTokenPayload {
	p := AccessTokenPayload{
		AccountTokens: make([]AccountToken, 0, len(c.Accounts)),
		BrokerType:    c.BrokerType,
		BrokerName:    in.Name,
		BrokerBrandInfo: BrandInfo{
			BrokerLogo:         baseURL + LogoPath(c.BrokerType),
			BrokerPrimaryColor: in.BrandColor,
		},
	}
	if p.BrokerName == "" {
		p.BrokerName = string(c.BrokerType)
	}
	for _, a := range c.Accounts {
		id := accountRef(c.TokenID, a.AccountID)
		p.AccountTokens = append(p.AccountTokens, AccountToken{
			Account: PayloadAccount{
				MeshAccountID: id, FrontAccountID: id, AccountID: a.AccountID,
				AccountName: a.AccountName, Fund: a.Fund, Cash: a.Cash,
			},
			AccessToken: c.TokenID,
			TokenID:     c.TokenID,
		})
	}
	return p
}

// accountRef is linkvault's own stable id of an account inside a connection
// (meshAccountId / frontAccountId): a digest, so it reveals neither input.
func accountRef(tokenID, accountID string) string {
	sum := sha256.Sum256([]byte("linkvault-account\x00" + tokenID + "\x00" + accountID))
	return "lva_" + hex.EncodeToString(sum[:12])
}
