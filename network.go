package linkvault

import "strings"

// Network is a blockchain network, known to linkvault by a canonical lowercase code.
// Adapters translate each exchange's own network names to these codes, so a transfer,
// a fee table and a deposit address speak of the same network whichever exchange
// they come from. Type uses the values of Mesh's NetworkType; ChainID is the EVM
// chain id (empty for other families).
//
// ID is the network's stable UUID, what Mesh's REST API calls networkId. Where Mesh's
// OpenAPI document (FrontFin/mesh-web-sdk packages/node-api/swagger.json, commit
// e7c178a) shows a network's id in its examples, ID is that id, so ids an app kept from
// Mesh keep working; the others are UUIDv5 of "urn:linkvault:network:<code>" in the
// URL namespace (RFC 9562), written out here so they can never change.
type Network struct {
	ID           string `json:"id"`
	Code         string `json:"code"`
	Name         string `json:"name"`
	Type         string `json:"type"`
	ChainID      string `json:"chainId,omitempty"`
	NativeSymbol string `json:"nativeSymbol"`
}

// Networks is the catalog of networks adapters may report, in display order.
var Networks = []Network{
	{ID: "0880db06-7c7c-4738-898f-cf74efc03c47", Code: "bitcoin", Name: "Bitcoin", Type: "bitcoin", NativeSymbol: "BTC"},
	{ID: "e3c7fdd8-b1fc-4e51-85ae-bb276e075611", Code: "ethereum", Name: "Ethereum", Type: "evm", ChainID: "1", NativeSymbol: "ETH"},
	{ID: "c2e70a80-cc97-51b1-83e7-f1e071803309", Code: "base", Name: "Base", Type: "evm", ChainID: "8453", NativeSymbol: "ETH"},
	{ID: "34fae00e-b3c0-5894-b2aa-82891443b761", Code: "arbitrum", Name: "Arbitrum One", Type: "evm", ChainID: "42161", NativeSymbol: "ETH"},
	{ID: "7421c059-e2a2-5404-b22d-1b99e78d366a", Code: "optimism", Name: "OP Mainnet", Type: "evm", ChainID: "10", NativeSymbol: "ETH"},
	{ID: "7436e9d0-ba42-4d2b-b4c0-8e4e606b2c12", Code: "polygon", Name: "Polygon", Type: "evm", ChainID: "137", NativeSymbol: "POL"},
	{ID: "e6695b51-49f3-5a4c-8866-95bda346077d", Code: "avalanche", Name: "Avalanche C-Chain", Type: "evm", ChainID: "43114", NativeSymbol: "AVAX"},
	{ID: "f0b724b2-bdef-52e4-9658-2bc6aef837d0", Code: "bsc", Name: "BNB Smart Chain", Type: "evm", ChainID: "56", NativeSymbol: "BNB"},
	{ID: "0291810a-5947-424d-9a59-e88bb33e999d", Code: "solana", Name: "Solana", Type: "solana", NativeSymbol: "SOL"},
	{ID: "055339ba-839b-5c33-9749-fa9112a60c91", Code: "tron", Name: "Tron", Type: "tron", NativeSymbol: "TRX"},
	{ID: "c9ec9030-9e9b-5a3e-bffd-2faf9b63fabb", Code: "litecoin", Name: "Litecoin", Type: "litecoin", NativeSymbol: "LTC"},
	{ID: "34b66a94-f9f9-49ef-81e8-6ebd5a866f9d", Code: "dogecoin", Name: "Dogecoin", Type: "dogecoin", NativeSymbol: "DOGE"},
	{ID: "89bb32dc-2f1a-5f4a-8dfc-551a1e9622ce", Code: "bitcoin-cash", Name: "Bitcoin Cash", Type: "unknown", NativeSymbol: "BCH"},
	{ID: "23590a18-9219-5e7e-b700-f85dc3ddccb8", Code: "xrp", Name: "XRP Ledger", Type: "ripple", NativeSymbol: "XRP"},
	{ID: "920f0f97-f7ad-5d58-a4dc-0e36b78a5adf", Code: "stellar", Name: "Stellar", Type: "stellar", NativeSymbol: "XLM"},
	{ID: "f7a660cd-bac0-4ae8-8ddb-c54d321b55dc", Code: "cardano", Name: "Cardano", Type: "cardano", NativeSymbol: "ADA"},
}

// NetworkByID finds a network by its ID (case-insensitive).
func NetworkByID(id string) (Network, bool) {
	return findNetwork(id, func(n Network) string { return n.ID })
}

// LookupNetwork finds a network by its canonical code (case-insensitive).
func LookupNetwork(code string) (Network, bool) {
	return findNetwork(code, func(n Network) string { return n.Code })
}

// findNetwork finds the network whose key (ID or code, stored in lower case) is k,
// case-insensitively.
func findNetwork(k string, key func(Network) string) (Network, bool) {
	k = strings.ToLower(k)
	for _, n := range Networks {
		if key(n) == k {
			return n, true
		}
	}
	return Network{}, false
}
