package app

import (
	"strings"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/config"
	"github.com/linkvault/linkvault/internal/exchangesim"
	"github.com/linkvault/linkvault/internal/exchangesim/simprovider"
	"github.com/linkvault/linkvault/internal/provider"
)

// ProviderConfigs maps the configuration onto the adapters' settings.
func ProviderConfigs(p config.Providers) provider.Configs {
	conv := func(p config.Provider) provider.Config {
		return provider.Config{
			AuthURL: p.AuthURL, TokenURL: p.TokenURL, RevokeURL: p.RevokeURL, APIBaseURL: p.APIBaseURL,
			ClientID: p.ClientID, ClientSecret: p.ClientSecret, Timeout: p.Timeout, MaxInFlight: p.MaxInFlight,
		}
	}
	binance := conv(p.Binance)
	binance.TrustedIPs = p.EgressIPList()
	return provider.Configs{
		Coinbase: conv(p.Coinbase), Uphold: conv(p.Uphold), Binance: binance, Sandbox: conv(p.Sandbox),
	}
}

// maxProviderTimeout is the longest configured provider call timeout.
func maxProviderTimeout(cfg *config.Config) time.Duration {
	d := time.Duration(0)
	for _, b := range linkvault.BrokerTypes {
		if p, ok := cfg.Providers.ByBroker(b); ok && p.Timeout > d {
			d = p.Timeout
		}
	}
	if d == 0 {
		d = provider.DefaultTimeout
	}
	return d
}

// SimulatedProviders returns base with every integration pointed at the simulated
// exchanges of sim (their endpoints and the simulator's demo OAuth client, from
// simprovider); timeouts and other settings of base are kept. `linkvault demo`, the
// test kits and the benchmarks connect to the simulator through it.
func SimulatedProviders(base config.Providers, sim *exchangesim.Cluster) config.Providers {
	conv := func(dst config.Provider, p provider.Config) config.Provider {
		dst.AuthURL, dst.TokenURL, dst.RevokeURL, dst.APIBaseURL = p.AuthURL, p.TokenURL, p.RevokeURL, p.APIBaseURL
		dst.ClientID, dst.ClientSecret = p.ClientID, p.ClientSecret
		return dst
	}
	s := simprovider.Configs(sim)
	base.Coinbase = conv(base.Coinbase, s.Coinbase)
	base.Uphold = conv(base.Uphold, s.Uphold)
	base.Binance = conv(base.Binance, s.Binance)
	base.Sandbox = conv(base.Sandbox, s.Sandbox)
	if base.EgressIPs == "" {
		// The simulator sees linkvault call from loopback; users restrict keys to it.
		base.EgressIPs = strings.Join(s.Binance.TrustedIPs, ",")
	}
	return base
}

// SimulatorEnv is SimulatedProviders as LINKVAULT_* environment variables, for
// starting `linkvault serve` processes against sim (end-to-end tests, benchmarks). It
// contains the simulator's OAuth client secret.
func SimulatorEnv(sim *exchangesim.Cluster) map[string]string {
	p := SimulatedProviders(config.Providers{}, sim)
	env := map[string]string{}
	for prefix, c := range map[string]config.Provider{"COINBASE": p.Coinbase, "UPHOLD": p.Uphold, "BINANCE": p.Binance, "SANDBOX": p.Sandbox} {
		set := func(name, v string) {
			if v != "" {
				env["LINKVAULT_"+prefix+"_"+name] = v
			}
		}
		set("AUTH_URL", c.AuthURL)
		set("TOKEN_URL", c.TokenURL)
		set("REVOKE_URL", c.RevokeURL)
		set("API_BASE_URL", c.APIBaseURL)
		set("CLIENT_ID", c.ClientID)
		set("CLIENT_SECRET", c.ClientSecret.Reveal())
	}
	if p.EgressIPs != "" {
		env["LINKVAULT_PROVIDERS_EGRESS_IPS"] = p.EgressIPs
	}
	return env
}
