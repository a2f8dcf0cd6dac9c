package http

import (
	"net/http"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/account"
	"github.com/linkvault/linkvault/internal/link"
)

// The catalog endpoints, in the shapes of Mesh's OpenAPI document (IntegrationsResponse,
// B2BBrokersHealthStatus, NetworkModelResponse, TokenNetworksResponse,
// IntegrationNetworkResponse). Those schemas are closed: nothing of linkvault's own is
// added to them (docs/api.md lists where linkvault's extensions live).

// integrationModel is Mesh's IntegrationModel.
type integrationModel struct {
	ID                       string               `json:"id"`
	Name                     string               `json:"name"`
	Type                     linkvault.BrokerType `json:"type"`
	Categories               []string             `json:"categories"`
	Style                    *integrationStyle    `json:"style,omitempty"`
	Logo                     *integrationLogo     `json:"logo,omitempty"`
	CryptoTransfersSupported bool                 `json:"cryptoTransfersSupported"`
}

// integrationStyle is Mesh's IntegrationStyle: linkvault knows one brand color.
type integrationStyle struct {
	FieldActiveLight   string `json:"fieldActiveLight,omitempty"`
	ButtonPrimaryLight string `json:"buttonPrimaryLight,omitempty"`
	FieldActiveDark    string `json:"fieldActiveDark,omitempty"`
	ButtonPrimaryDark  string `json:"buttonPrimaryDark,omitempty"`
}

// integrationLogo is Mesh's IntegrationLogo: one mark served by linkvault, and the same
// image base64.
type integrationLogo struct {
	LogoLightURL string `json:"logoLightUrl,omitempty"`
	LogoDarkURL  string `json:"logoDarkUrl,omitempty"`
	LogoColorURL string `json:"logoColorUrl,omitempty"`
	IconLightURL string `json:"iconLightUrl,omitempty"`
	IconDarkURL  string `json:"iconDarkUrl,omitempty"`
	IconColorURL string `json:"iconColorUrl,omitempty"`
	Base64Logo   string `json:"base64Logo,omitempty"`
}

func (s *Server) integrationModel(in linkvault.Integration) integrationModel {
	m := integrationModel{
		ID: account.IntegrationID(in.Type), Name: in.Name, Type: in.Type, Categories: []string{"exchange"},
		CryptoTransfersSupported: in.SupportsTransfers,
	}
	if c := trimHash(in.BrandColor); c != "" {
		m.Style = &integrationStyle{FieldActiveLight: c, ButtonPrimaryLight: c, FieldActiveDark: c, ButtonPrimaryDark: c}
	}
	if s.deps.Link != nil {
		b := link.Brand(in, s.deps.Link.PublicURL())
		m.Logo = &integrationLogo{
			LogoLightURL: b.LogoLightURL, LogoDarkURL: b.LogoDarkURL, LogoColorURL: b.BrokerLogoURL,
			IconLightURL: b.IconLightURL, IconDarkURL: b.IconDarkURL, IconColorURL: b.BrokerLogoURL, Base64Logo: b.BrokerLogo,
		}
	}
	return m
}

// trimHash turns "#0052FF" into Mesh's "0052FF".
func trimHash(c string) string {
	if len(c) > 0 && c[0] == '#' {
		return c[1:]
	}
	return c
}

// handleIntegrations is GET /api/v1/integrations: the integrations enabled on this
// server, in catalog order. items[].id is accepted as linktoken's integrationId.
func (a *accountAPI) handleIntegrations(w http.ResponseWriter, r *http.Request) error {
	items := []integrationModel{}
	if a.s.deps.Providers != nil {
		for _, p := range a.s.deps.Providers.List() {
			items = append(items, a.s.integrationModel(p.Integration()))
		}
	}
	writeOK(w, map[string]any{"items": items})
	return nil
}

// brokerHealth is Mesh's B2BBrokersHealthStatus. description carries linkvault's
// health word ("operational", "degraded", "unknown"); downTimeStart (Unix seconds) is
// the last transient failure while degraded.
type brokerHealth struct {
	Type              linkvault.BrokerType `json:"type"`
	Name              string               `json:"name"`
	IsUp              bool                 `json:"isUp"`
	Description       string               `json:"description"`
	DownTimeStart     *int64               `json:"downTimeStart,omitempty"`
	SupportedProducts []string             `json:"supportedProducts"`
}

// handleStatus is GET /api/v1/status: per-integration health from the outcomes of the
// exchange calls this server made recently and cached reachability probes
// (account.Service.Status); it never makes one exchange call per request.
func (a *accountAPI) handleStatus(w http.ResponseWriter, r *http.Request) error {
	out := []brokerHealth{}
	for _, h := range a.s.account.Status(r.Context()) {
		b := brokerHealth{Type: h.Type, Name: h.Name, IsUp: h.IsUp, Description: h.Status,
			SupportedProducts: []string{"holdings", "balance"}}
		if p, ok := a.s.deps.Providers.Provider(h.Type); ok && p.Integration().SupportsTransfers {
			b.SupportedProducts = append(b.SupportedProducts, "transfers", "cryptocurrencyDepositAddresses")
		}
		if !h.IsUp && h.LastFailure != nil {
			t := h.LastFailure.Unix()
			b.DownTimeStart = &t
		}
		out = append(out, b)
	}
	writeOK(w, out)
	return nil
}

// networkModel is Mesh's NetworkResponseWithIntegrations (and, without tokens and
// brokers, NetworkResponseBase / NetworkResponseWithSupportedDevices).
type networkModel struct {
	ID                   string                 `json:"id"`
	Name                 string                 `json:"name"`
	ChainID              *string                `json:"chainId"`
	LogoURL              *string                `json:"logoUrl"`
	SupportedTokens      []string               `json:"supportedTokens,omitempty"`
	NativeSymbol         string                 `json:"nativeSymbol,omitempty"`
	NetworkType          string                 `json:"networkType,omitempty"`
	Tokens               []networkToken         `json:"tokens,omitempty"`
	SupportedBrokerTypes []linkvault.BrokerType `json:"supportedBrokerTypes,omitempty"`
	SupportedDevices     []string               `json:"supportedDevices,omitempty"`
}

type networkToken struct {
	Symbol  string  `json:"symbol"`
	LogoURL *string `json:"logoUrl"`
}

func chainID(n linkvault.Network) *string {
	if n.ChainID == "" {
		return nil
	}
	return &n.ChainID
}

// handleNetworks is GET /api/v1/transfers/managed/networks: every network an enabled
// integration sends on, with its UUID, the tokens sent on it and by whom.
func (a *accountAPI) handleNetworks(w http.ResponseWriter, r *http.Request) error {
	out := []networkModel{}
	for _, n := range a.s.account.Catalog().Networks {
		m := networkModel{ID: n.ID, Name: n.Name, ChainID: chainID(n.Network), NativeSymbol: n.NativeSymbol,
			NetworkType: n.Type, SupportedTokens: nonNil(n.Tokens), Tokens: []networkToken{}, SupportedBrokerTypes: n.Brokers}
		for _, t := range n.Tokens {
			m.Tokens = append(m.Tokens, networkToken{Symbol: t})
		}
		out = append(out, m)
	}
	writeOK(w, map[string]any{"networks": out})
	return nil
}

// tokenModel is Mesh's TokenNetworksModel.
type tokenModel struct {
	Token                 string                 `json:"token"`
	Networks              []networkModel         `json:"networks"`
	SupportedIntegrations []linkvault.BrokerType `json:"supportedIntegrations"`
	IntegrationNetworks   []integrationNetwork   `json:"integrationNetworks"`
}

// integrationNetwork is Mesh's IntegrationNetwork (its field is spelled "netwokName").
type integrationNetwork struct {
	NetworkID      string               `json:"networkId"`
	NetworkName    string               `json:"netwokName"`
	InnerNetworkID string               `json:"innerNetworkId"`
	BrokerType     linkvault.BrokerType `json:"brokerType"`
}

// handleTokens is GET /api/v1/transfers/managed/tokens: every token an enabled
// integration sends, with its networks and integrations.
func (a *accountAPI) handleTokens(w http.ResponseWriter, r *http.Request) error {
	out := []tokenModel{}
	for _, t := range a.s.account.Catalog().Tokens {
		m := tokenModel{Token: t.Symbol, Networks: []networkModel{}, SupportedIntegrations: t.Brokers, IntegrationNetworks: []integrationNetwork{}}
		for _, n := range t.Networks {
			m.Networks = append(m.Networks, networkModel{ID: n.ID, Name: n.Name, ChainID: chainID(n.Network)})
		}
		for _, rt := range t.Routes {
			m.IntegrationNetworks = append(m.IntegrationNetworks, integrationNetwork{
				NetworkID: rt.Network.ID, NetworkName: rt.Network.Name, InnerNetworkID: rt.Network.Code, BrokerType: rt.Broker})
		}
		out = append(out, m)
	}
	writeOK(w, map[string]any{"tokens": out})
	return nil
}

// integrationNetworks is Mesh's IntegrationNetworksModelResponse.
type integrationNetworks struct {
	ID                        string               `json:"id"`
	Type                      linkvault.BrokerType `json:"type"`
	Name                      string               `json:"name"`
	Networks                  []networkModel       `json:"networks"`
	SupportsOutgoingTransfers bool                 `json:"supportsOutgoingTransfers"`
	SupportsIncomingTransfers bool                 `json:"supportsIncomingTransfers"`
}

// handleTransferIntegrations is GET /api/v1/transfers/managed/integrations: each
// enabled integration with the networks it sends on and the tokens on each.
func (a *accountAPI) handleTransferIntegrations(w http.ResponseWriter, r *http.Request) error {
	out := []integrationNetworks{}
	for _, in := range a.s.account.Catalog().Integrations {
		m := integrationNetworks{ID: in.ID, Type: in.Integration.Type, Name: in.Integration.Name, Networks: []networkModel{},
			SupportsOutgoingTransfers: in.Integration.SupportsTransfers, SupportsIncomingTransfers: in.Integration.SupportsTransfers}
		for _, n := range in.Networks {
			m.Networks = append(m.Networks, networkModel{ID: n.ID, Name: n.Name, ChainID: chainID(n.Network),
				NativeSymbol: n.NativeSymbol, SupportedTokens: nonNil(n.Tokens), SupportedDevices: []string{"web", "ios", "android"}})
		}
		out = append(out, m)
	}
	writeOK(w, map[string]any{"integrations": out})
	return nil
}
