package link

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io/fs"
	"sync"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/web"
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

// BrandInfo is the integration's branding for the app's UI, in the fields of Mesh's
// BrandInfo: brokerLogo is the logo image itself, base64 (the SDKs' types say so), and
// the URL fields point at the same image served by linkvault (one mark for light and
// dark themes, logo and icon alike).
type BrandInfo struct {
	BrokerLogo         string `json:"brokerLogo"`
	BrokerLogoURL      string `json:"brokerLogoUrl,omitempty"`
	LogoLightURL       string `json:"logoLightUrl,omitempty"`
	LogoDarkURL        string `json:"logoDarkUrl,omitempty"`
	IconLightURL       string `json:"iconLightUrl,omitempty"`
	IconDarkURL        string `json:"iconDarkUrl,omitempty"`
	BrokerPrimaryColor string `json:"brokerPrimaryColor,omitempty"`
}

// LogoPath is where the server serves an integration's logo; the payload carries it
// made absolute with the public URL.
func LogoPath(b linkvault.BrokerType) string { return "/link/assets/logos/" + string(b) + ".svg" }

// logos holds the base64 of each embedded integration logo, by broker type.
var logos = sync.OnceValue(func() map[linkvault.BrokerType]string {
	m := map[linkvault.BrokerType]string{}
	files, _ := fs.Glob(web.Static(), "logos/*.svg")
	for _, f := range files {
		b, err := fs.ReadFile(web.Static(), f)
		if err != nil {
			continue
		}
		name := f[len("logos/") : len(f)-len(".svg")]
		m[linkvault.BrokerType(name)] = base64.StdEncoding.EncodeToString(b)
	}
	return m
})

// Brand is the branding of integration in, with logo URLs made absolute with baseURL
// (the server's public URL).
func Brand(in linkvault.Integration, baseURL string) BrandInfo {
	url := baseURL + LogoPath(in.Type)
	return BrandInfo{
		BrokerLogo: logos()[in.Type], BrokerLogoURL: url,
		LogoLightURL: url, LogoDarkURL: url, IconLightURL: url, IconDarkURL: url,
		BrokerPrimaryColor: in.BrandColor,
	}
}

// Payload builds the access-token payload of a connection. baseURL (the server's
// public URL) makes the logo addresses absolute.
func Payload(c *linkvault.Connection, in linkvault.Integration, baseURL string) AccessTokenPayload {
	in.Type = c.BrokerType
	p := AccessTokenPayload{
		AccountTokens:   make([]AccountToken, 0, len(c.Accounts)),
		BrokerType:      c.BrokerType,
		BrokerName:      in.Name,
		BrokerBrandInfo: Brand(in, baseURL),
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
