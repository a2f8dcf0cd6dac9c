// Package simprovider points linkvault's production adapters (internal/provider) at a
// running exchangesim cluster: the demo wiring and the test kits use it, so the
// adapters themselves never import the simulator.
package simprovider

import (
	"net/url"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/exchangesim"
	"github.com/linkvault/linkvault/internal/provider"
)

// Configs is the configuration of every adapter against cluster c, with the
// simulator's demo OAuth client.
func Configs(c *exchangesim.Cluster) provider.Configs {
	return provider.Configs{
		Coinbase: OAuthConfig(c.Coinbase.URL, "/oauth2/auth"),
		Uphold:   OAuthConfig(c.Uphold.URL, "/authorize/"+url.PathEscape(exchangesim.DemoClientID)),
		// The Binance adapter's AuthURL is the page where users create API keys.
		Binance: provider.Config{APIBaseURL: c.Binance.URL, AuthURL: c.Binance.URL + exchangesim.BinanceKeyPagePath,
			TrustedIPs: []string{"127.0.0.1", "::1"}},
		Sandbox: OAuthConfig(c.Sandbox.URL, "/oauth2/auth"),
	}
}

// OAuthConfig is the configuration of an OAuth adapter talking to one simulated
// exchange at baseURL whose consent page is at authPath.
func OAuthConfig(baseURL, authPath string) provider.Config {
	return provider.Config{
		AuthURL:      baseURL + authPath,
		TokenURL:     baseURL + "/oauth2/token",
		RevokeURL:    baseURL + "/oauth2/revoke",
		APIBaseURL:   baseURL,
		ClientID:     exchangesim.DemoClientID,
		ClientSecret: linkvault.NewSecret(exchangesim.DemoClientSecret),
	}
}
