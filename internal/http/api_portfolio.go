package http

import (
	"net/http"

	"github.com/linkvault/linkvault"
)

// holdingsContent is the content of POST /api/v1/holdings/get, in Mesh's field names.
// linkvault integrates crypto exchanges only, so the equity, NFT and option lists are
// always empty (present, never null, as Mesh clients expect arrays).
type holdingsContent struct {
	Status                              string               `json:"status"` // "succeeded"
	Type                                linkvault.BrokerType `json:"type"`
	AccountID                           string               `json:"accountId"`
	AccountName                         string               `json:"accountName,omitempty"`
	InstitutionName                     string               `json:"institutionName"`
	CryptocurrencyPositions             []linkvault.Position `json:"cryptocurrencyPositions"`
	EquityPositions                     []linkvault.Position `json:"equityPositions"`
	NotSupportedEquityPositions         []linkvault.Position `json:"notSupportedEquityPositions"`
	NotSupportedCryptocurrencyPositions []linkvault.Position `json:"notSupportedCryptocurrencyPositions"`
	NftPositions                        []struct{}           `json:"nftPositions"`
	OptionPositions                     []struct{}           `json:"optionPositions"`
}

// handleHoldings is POST /api/v1/holdings/get {authToken, type}: the connected
// account's positions, read from the exchange in real time.
func (a *accountAPI) handleHoldings(w http.ResponseWriter, r *http.Request) error {
	h, err := tokenCall(a.s, r, a.s.account.Holdings)
	if err != nil {
		return err
	}
	out := &holdingsContent{
		Status: "succeeded", Type: h.Connection.Broker, AccountID: h.AccountID, InstitutionName: h.InstitutionName,
		CryptocurrencyPositions: nonNil(h.CryptocurrencyPositions), EquityPositions: nonNil(h.EquityPositions),
		NotSupportedEquityPositions: []linkvault.Position{}, NotSupportedCryptocurrencyPositions: []linkvault.Position{},
		NftPositions: []struct{}{}, OptionPositions: []struct{}{},
	}
	if len(h.Connection.Accounts) > 0 {
		out.AccountName = h.Connection.Accounts[0].AccountName
	}
	writeOK(w, out)
	return nil
}

// balanceContent is the content of POST /api/v1/balance/get (Mesh's
// B2BBrokerAccountBalanceModel), with the USD totals at the exchange's rates (null when
// the rates could not be read).
type balanceContent struct {
	Balances                 []linkvault.Balance `json:"balances"`
	TotalCashUsdValue        *linkvault.Decimal  `json:"totalCashUsdValue"`
	TotalBuyingPowerUsdValue *linkvault.Decimal  `json:"totalBuyingPowerUsdValue"`
}

// handleBalance is POST /api/v1/balance/get {authToken, type}: the account's fiat
// balances, read from the exchange in real time.
func (a *accountAPI) handleBalance(w http.ResponseWriter, r *http.Request) error {
	b, err := tokenCall(a.s, r, a.s.account.Balances)
	if err != nil {
		return err
	}
	writeOK(w, &balanceContent{Balances: nonNil(b.Balances), TotalCashUsdValue: b.TotalCash, TotalBuyingPowerUsdValue: b.TotalBuyingPower})
	return nil
}

// nonNil makes nil slices encode as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
