package linkvault

import "strings"

// Network is a blockchain network, known to linkvault by a canonical lowercase code.
// Adapters translate each exchange's own network names to these codes, so a transfer,
// a fee table and a deposit address speak of the same network whichever exchange
// they come from. Type uses the values of Mesh's NetworkType; ChainID is the EVM
// chain id (empty for other families).
type Network struct {
	Code         string `json:"code"`
	Name         string `json:"name"`
	Type         string `json:"type"`
	ChainID      string `json:"chainId,omitempty"`
	NativeSymbol string `json:"nativeSymbol"`
}

// Networks is the catalog of networks adapters may report, in display order.
var Networks = []Network{
	{Code: "bitcoin", Name: "Bitcoin", Type: "bitcoin", NativeSymbol: "BTC"},
	{Code: "ethereum", Name: "Ethereum", Type: "evm", ChainID: "1", NativeSymbol: "ETH"},
	{Code: "base", Name: "Base", Type: "evm", ChainID: "8453", NativeSymbol: "ETH"},
	{Code: "arbitrum", Name: "Arbitrum One", Type: "evm", ChainID: "42161", NativeSymbol: "ETH"},
	{Code: "optimism", Name: "OP Mainnet", Type: "evm", ChainID: "10", NativeSymbol: "ETH"},
	{Code: "polygon", Name: "Polygon", Type: "evm", ChainID: "137", NativeSymbol: "POL"},
	{Code: "avalanche", Name: "Avalanche C-Chain", Type: "evm", ChainID: "43114", NativeSymbol: "AVAX"},
	{Code: "bsc", Name: "BNB Smart Chain", Type: "evm", ChainID: "56", NativeSymbol: "BNB"},
	{Code: "solana", Name: "Solana", Type: "solana", NativeSymbol: "SOL"},
	{Code: "tron", Name: "Tron", Type: "tron", NativeSymbol: "TRX"},
	{Code: "litecoin", Name: "Litecoin", Type: "litecoin", NativeSymbol: "LTC"},
	{Code: "dogecoin", Name: "Dogecoin", Type: "dogecoin", NativeSymbol: "DOGE"},
	{Code: "bitcoin-cash", Name: "Bitcoin Cash", Type: "unknown", NativeSymbol: "BCH"},
	{Code: "xrp", Name: "XRP Ledger", Type: "ripple", NativeSymbol: "XRP"},
	{Code: "stellar", Name: "Stellar", Type: "stellar", NativeSymbol: "XLM"},
	{Code: "cardano", Name: "Cardano", Type: "cardano", NativeSymbol: "ADA"},
}

// LookupNetwork finds a network by its canonical code (case-insensitive).
func LookupNetwork(code string) (Network, bool) {
	code = strings.ToLower(code)
	for _, n := range Networks {
		if n.Code == code {
			return n, true
		}
	}
	return Network{}, false
}
