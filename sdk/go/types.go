package lvclient

import "time"

// BrokerType names an integration, with the Mesh contract's strings.
type BrokerType string

// The integrations linkvault supports.
const (
	Coinbase BrokerType = "coinbase"
	Binance  BrokerType = "binanceInternationalDirect"
	Uphold   BrokerType = "uphold"
	Sandbox  BrokerType = "sandbox"
)

// Position is one holding.
type Position struct {
	Symbol      string  `json:"symbol"`
	Name        string  `json:"name,omitempty"`
	Amount      float64 `json:"amount"`
	CostBasis   float64 `json:"costBasis,omitempty"`
	LastPrice   float64 `json:"lastPrice,omitempty"`
	MarketValue float64 `json:"marketValue,omitempty"`
}

// Holdings is the content of POST /api/v1/holdings/get.
type Holdings struct {
	Status                  string     `json:"status"`
	Type                    BrokerType `json:"type"`
	AccountID               string     `json:"accountId"`
	AccountName             string     `json:"accountName"`
	InstitutionName         string     `json:"institutionName"`
	CryptocurrencyPositions []Position `json:"cryptocurrencyPositions"`
	EquityPositions         []Position `json:"equityPositions"`
}

// CurrencyBalance is one fiat balance.
type CurrencyBalance struct {
	CurrencyCode              string  `json:"currencyCode"`
	Cash                      float64 `json:"cash"`
	BuyingPower               float64 `json:"buyingPower"`
	CryptocurrencyBuyingPower float64 `json:"cryptocurrencyBuyingPower"`
}

// Balance is the content of POST /api/v1/balance/get.
type Balance struct {
	Balances  []CurrencyBalance `json:"balances"`
	AccountID string            `json:"accountId"`
	Type      BrokerType        `json:"type"`
}

// Integration is a catalog entry of GET /api/v1/integrations.
type Integration struct {
	Type               BrokerType `json:"type"`
	Name               string     `json:"name"`
	AuthKind           string     `json:"authKind"` // oauth | credentials
	LogoURL            string     `json:"logoUrl"`
	BrandColor         string     `json:"brandColor"`
	SupportsRefresh    bool       `json:"supportsRefresh"`
	SupportsRevocation bool       `json:"supportsRevocation"`
	SupportsTransfers  bool       `json:"supportsTransfers"`
	Networks           []string   `json:"networks"`
}

// IntegrationStatus is one element of GET /api/v1/status.
type IntegrationStatus struct {
	Type          BrokerType `json:"type"`
	Name          string     `json:"name"`
	Status        string     `json:"status"` // operational | degraded | unknown
	IsUp          bool       `json:"isUp"`
	LastSuccessAt *time.Time `json:"lastSuccessAt"`
	LastFailureAt *time.Time `json:"lastFailureAt"`
}

// TransferRequest describes a managed transfer out of the account behind TokenID.
type TransferRequest struct {
	TokenID   string
	Type      BrokerType
	ToAddress string
	Symbol    string  // e.g. "ETH"
	Network   string  // the network's id (GET /api/v1/transfers/managed/networks) or code, e.g. "ethereum"
	Amount    float64 // in Symbol
	// PreviewID is the previewId of PreviewTransfer; when empty, ExecuteTransfer
	// previews first.
	PreviewID string
	// ClientTransactionID is the app's id of the transfer (Mesh's transactionId): one id,
	// one transfer, however often it is previewed and executed.
	ClientTransactionID string
	// MFACode answers an execute whose Status was "mfaRequired".
	MFACode string
}

// previewBody is Mesh's PreviewTransferRequest.
type previewBody struct {
	FromAuthToken string     `json:"fromAuthToken"`
	FromType      BrokerType `json:"fromType"`
	ToAddress     string     `json:"toAddress"`
	Symbol        string     `json:"symbol"`
	NetworkID     string     `json:"networkId"`
	Amount        float64    `json:"amount"`
	TransactionID string     `json:"transactionId,omitempty"`
}

// executeBody is Mesh's ExecuteTransferRequest.
type executeBody struct {
	FromAuthToken string     `json:"fromAuthToken"`
	FromType      BrokerType `json:"fromType"`
	PreviewID     string     `json:"previewId"`
	MFACode       string     `json:"mfaCode,omitempty"`
}

func (r TransferRequest) preview() previewBody {
	return previewBody{
		FromAuthToken: r.TokenID, FromType: r.Type, ToAddress: r.ToAddress, Symbol: r.Symbol,
		NetworkID: r.Network, Amount: r.Amount, TransactionID: r.ClientTransactionID,
	}
}

// Fee is an amount in a currency.
type Fee struct {
	Fee         float64 `json:"fee"`
	FeeCurrency string  `json:"feeCurrency"`
}

// TransferPreview is the content of the preview call. Status is "failed" (with
// ErrorMessage) when the balance does not cover amount plus fee.
type TransferPreview struct {
	Status       string `json:"status"`
	ErrorMessage string `json:"errorMessage"`
	Result       struct {
		PreviewID              string  `json:"previewId"`
		PreviewExpiresIn       *int64  `json:"previewExpiresIn"`
		ToAddress              string  `json:"toAddress"`
		Symbol                 string  `json:"symbol"`
		Amount                 float64 `json:"amount"`
		NetworkID              string  `json:"networkId"`
		NetworkName            string  `json:"networkName"`
		TotalEstimatedAmount   float64 `json:"totalEstimatedAmount"`
		EstimatedNetworkGasFee Fee     `json:"estimatedNetworkGasFee"`
	} `json:"previewResult"`
}

// TransferResult is the content of the execute call.
type TransferResult struct {
	Status string `json:"status"`
	Result struct {
		TransferID          string  `json:"transferId"` // linkvault's id: the previewId that executed it
		ClientTransactionID string  `json:"clientTransactionId"`
		Status              string  `json:"status"` // pending | succeeded | failed
		ToAddress           string  `json:"toAddress"`
		Symbol              string  `json:"symbol"`
		Amount              float64 `json:"amount"`
		NetworkID           string  `json:"networkId"`
		NetworkName         string  `json:"networkName"`
		Hash                string  `json:"hash"`
		NetworkGasFee       Fee     `json:"networkGasFee"`
		TotalAmount         float64 `json:"totalAmount"`
	} `json:"executeTransferResult"`
	// Replayed is true when the answer is the stored one of an earlier call with the
	// same ClientTransactionID (nothing was executed this time).
	Replayed bool `json:"-"`
}

// Account is one account of a connection.
type Account struct {
	AccountID   string  `json:"accountId"`
	AccountName string  `json:"accountName"`
	Fund        float64 `json:"fund"`
	Cash        float64 `json:"cash"`
}

// TokenStatus is the content of POST /api/v1/managed/token/get.
type TokenStatus struct {
	TokenID          string     `json:"tokenId"`
	BrokerType       BrokerType `json:"brokerType"`
	Scope            string     `json:"scope"`  // read | write
	Status           string     `json:"status"` // active | reauthRequired
	Accounts         []Account  `json:"accounts"`
	ExpiresInSeconds *int64     `json:"expiresInSeconds"`
	Refreshable      bool       `json:"refreshable"`
}
