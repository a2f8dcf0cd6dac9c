package provider

import (
	"net/url"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/exchangesim"
)

// SimConfigs points every adapter at a running exchangesim cluster, with the
// simulator's demo OAuth client.
func SimConfigs(c *exchangesim.Cluster) Configs {
	return Configs{
		Coinbase: SimOAuthConfig(c.Coinbase.URL, "/oauth2/auth"),
		Uphold:   SimOAuthConfig(c.Uphold.URL, "/authorize/"+url.PathEscape(exchangesim.DemoClientID)),
		Binance:  Config{APIBaseURL: c.Binance.URL},
		Sandbox:  SimOAuthConfig(c.Sandbox.URL, "/oauth2/auth"),
	}
}

// SimOAuthConfig is the configuration of an OAuth adapter talking to one simulated
// exchange at baseURL whose consent page is at authPath.
func SimOAuthConfig(baseURL, authPath string) Config {
	return Config{
		AuthURL:      baseURL + authPath,
		TokenURL:     baseURL + "/oauth2/token",
		RevokeURL:    baseURL + "/oauth2/revoke",
		APIBaseURL:   baseURL,
		ClientID:     exchangesim.DemoClientID,
		ClientSecret: linkvault.NewSecret(exchangesim.DemoClientSecret),
	}
}
