package account

import (
	"crypto/rand"
	"crypto/sha1" //nolint:gosec // UUID version 5 is defined with SHA-1; it names, it does not protect
	"encoding/hex"
	"slices"
	"sort"
	"strings"

	"github.com/linkvault/linkvault"
)

// The managed-transfer catalog: networks, tokens and integrations with stable UUIDs, as
// Mesh's API names them (GET /api/v1/transfers/managed/{networks,tokens,integrations},
// the networkId of preview and configure, the integrationId of linktoken).
//
// Network ids are linkvault.Network.ID. Integration ids follow the same rule: Mesh's own
// id where its published OpenAPI document gives one (FrontFin/mesh-web-sdk,
// packages/node-api/swagger.json at e7c178a9, the integrations example), so an app that
// kept Mesh's id works unchanged; otherwise the version-5 UUID of
// "urn:linkvault:integration:<brokerType>" in the URL namespace (RFC 9562), stable across
// versions and installations (TestIntegrationIDsNeverChange writes them out).

var meshIntegrationIDs = map[linkvault.BrokerType]string{
	linkvault.BrokerCoinbase: "47624467-e52e-4938-a41a-7926b6c27acf", // "Coinbase" in the integrations example
}

// namespaceURL is RFC 9562's namespace for URLs (and URNs).
var namespaceURL = mustParseUUID("6ba7b811-9dad-11d1-80b4-00c04fd430c8")

// NetworkID is the UUID of a network code (linkvault.Network.ID), or "" for a code
// linkvault does not know.
func NetworkID(code string) string {
	n, _ := linkvault.LookupNetwork(code)
	return n.ID
}

// IntegrationID is the UUID of an integration (Mesh's IntegrationModel.id).
func IntegrationID(b linkvault.BrokerType) string {
	if id, ok := meshIntegrationIDs[b]; ok {
		return id
	}
	return uuidV5(namespaceURL, "urn:linkvault:integration:"+string(b))
}

// BrokerOfIntegrationID finds the broker type whose IntegrationID is id
// (case-insensitive), among every supported broker type.
func BrokerOfIntegrationID(id string) (linkvault.BrokerType, bool) {
	id = strings.ToLower(id)
	for _, b := range linkvault.BrokerTypes {
		if IntegrationID(b) == id {
			return b, true
		}
	}
	return "", false
}

// AssetLister is an optional interface of provider adapters: the assets the exchange
// can send, each with the canonical codes of the networks it can leave on (default
// first). It needs no credential; the catalog lists tokens from it.
type AssetLister interface {
	TransferAssets() map[string][]string
}

// CatalogNetwork is one network of the catalog (Network.ID is its UUID).
type CatalogNetwork struct {
	linkvault.Network
	// Tokens are the symbols at least one enabled integration sends on it, sorted.
	Tokens []string
	// Brokers are the enabled integrations that send on it, in catalog order.
	Brokers []linkvault.BrokerType
	// Open is true when an integration sending on it learns its assets per account
	// (from the exchange, with the credential): Tokens is then not the whole list.
	Open bool
}

// CatalogToken is one token of the catalog.
type CatalogToken struct {
	Symbol string
	// Networks it can be sent on by at least one integration, in network order.
	Networks []CatalogNetwork
	// Brokers that send it, in catalog order.
	Brokers []linkvault.BrokerType
	// Routes are the (integration, network) pairs that send it.
	Routes []TokenRoute
}

// TokenRoute is one integration sending a token on one network.
type TokenRoute struct {
	Broker  linkvault.BrokerType
	Network CatalogNetwork
}

// CatalogIntegration is one enabled integration with what it sends where.
type CatalogIntegration struct {
	ID          string // UUID
	Integration linkvault.Integration
	// Networks it sends on, each with the tokens it sends there.
	Networks []CatalogNetwork
	// PerAccount is true when the adapter lists no assets up front (the exchange tells
	// them per account); Networks then carry no tokens.
	PerAccount bool
}

// Catalog is the managed-transfer catalog of the enabled integrations.
type Catalog struct {
	Networks     []CatalogNetwork
	Tokens       []CatalogToken
	Integrations []CatalogIntegration
	byID         map[string]int // network UUID and code -> index in Networks
}

// Network finds a network by its UUID or its code (case-insensitive).
func (c *Catalog) Network(idOrCode string) (CatalogNetwork, bool) {
	i, ok := c.byID[strings.ToLower(idOrCode)]
	if !ok {
		return CatalogNetwork{}, false
	}
	return c.Networks[i], true
}

// Integration finds an enabled integration by broker type.
func (c *Catalog) Integration(b linkvault.BrokerType) (CatalogIntegration, bool) {
	for _, in := range c.Integrations {
		if in.Integration.Type == b {
			return in, true
		}
	}
	return CatalogIntegration{}, false
}

// Sends reports whether integration b sends symbol on network code. For an integration
// that lists no assets up front (it learns them per account) it reports true for every
// network it sends on: the account's own asset list decides.
func (c *Catalog) Sends(b linkvault.BrokerType, symbol, code string) bool {
	in, ok := c.Integration(b)
	if !ok {
		return false
	}
	if in.PerAccount {
		return slices.ContainsFunc(in.Networks, func(n CatalogNetwork) bool { return n.Code == code })
	}
	for _, n := range in.Networks {
		if n.Code == code {
			return slices.Contains(n.Tokens, symbol)
		}
	}
	return false
}

// Catalog returns the managed-transfer catalog (built once from the providers).
func (s *Service) Catalog() *Catalog { return s.catalog }

// buildCatalog assembles the catalog from the adapters' integrations and assets.
func buildCatalog(p linkvault.Providers) *Catalog {
	type key struct{ broker, network string }
	sends := map[key][]string{} // (broker, network) -> symbols
	c := &Catalog{byID: map[string]int{}}
	for _, pr := range p.List() {
		in := pr.Integration()
		assets := map[string][]string{}
		al, lists := pr.(AssetLister)
		if lists {
			assets = al.TransferAssets()
		}
		for sym, nets := range assets {
			for _, n := range nets {
				k := key{string(in.Type), n}
				sends[k] = append(sends[k], strings.ToUpper(sym))
			}
		}
		ci := CatalogIntegration{ID: IntegrationID(in.Type), Integration: in, PerAccount: !lists}
		for _, n := range linkvault.Networks {
			if !slices.Contains(in.Networks, n.Code) {
				continue
			}
			toks := sends[key{string(in.Type), n.Code}]
			sort.Strings(toks)
			ci.Networks = append(ci.Networks, CatalogNetwork{Network: n, Tokens: toks})
		}
		c.Integrations = append(c.Integrations, ci)
	}
	for _, n := range linkvault.Networks {
		cn := CatalogNetwork{Network: n}
		for _, ci := range c.Integrations {
			for _, in := range ci.Networks {
				if in.Code != n.Code {
					continue
				}
				cn.Brokers = append(cn.Brokers, ci.Integration.Type)
				cn.Open = cn.Open || ci.PerAccount
				for _, t := range in.Tokens {
					if !slices.Contains(cn.Tokens, t) {
						cn.Tokens = append(cn.Tokens, t)
					}
				}
			}
		}
		if len(cn.Brokers) == 0 {
			continue // no enabled integration sends on it
		}
		sort.Strings(cn.Tokens)
		c.byID[cn.ID] = len(c.Networks)
		c.byID[cn.Code] = len(c.Networks)
		c.Networks = append(c.Networks, cn)
	}
	tokens := map[string]*CatalogToken{}
	var order []string
	for _, cn := range c.Networks {
		for _, ci := range c.Integrations {
			for _, in := range ci.Networks {
				if in.Code != cn.Code {
					continue
				}
				for _, sym := range in.Tokens {
					t := tokens[sym]
					if t == nil {
						t = &CatalogToken{Symbol: sym}
						tokens[sym] = t
						order = append(order, sym)
					}
					bare := CatalogNetwork{Network: cn.Network}
					if !slices.ContainsFunc(t.Networks, func(x CatalogNetwork) bool { return x.ID == cn.ID }) {
						t.Networks = append(t.Networks, bare)
					}
					if !slices.Contains(t.Brokers, ci.Integration.Type) {
						t.Brokers = append(t.Brokers, ci.Integration.Type)
					}
					t.Routes = append(t.Routes, TokenRoute{Broker: ci.Integration.Type, Network: bare})
				}
			}
		}
	}
	sort.Strings(order)
	for _, sym := range order {
		c.Tokens = append(c.Tokens, *tokens[sym])
	}
	return c
}

// uuidV5 is the name-based UUID (RFC 9562, version 5) of name in namespace ns.
func uuidV5(ns [16]byte, name string) string {
	h := sha1.New() //nolint:gosec // see the import
	h.Write(ns[:])
	h.Write([]byte(name))
	sum := h.Sum(nil)
	sum[6] = sum[6]&0x0f | 0x50
	sum[8] = sum[8]&0x3f | 0x80
	return formatUUID(sum[:16])
}

func formatUUID(b []byte) string {
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func mustParseUUID(s string) [16]byte {
	var out [16]byte
	b, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	if err != nil || len(b) != 16 {
		panic("account: bad UUID literal " + s)
	}
	copy(out[:], b)
	return out
}

// IsUUID reports whether s has the textual form of a UUID.
func IsUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// NewUUID returns a random UUID (version 4).
func NewUUID() string {
	raw := make([]byte, 16)
	if _, err := rand.Read(raw); err != nil {
		panic("account: crypto/rand failed: " + err.Error()) // cannot happen on supported platforms
	}
	raw[6] = raw[6]&0x0f | 0x40
	raw[8] = raw[8]&0x3f | 0x80
	return formatUUID(raw)
}
