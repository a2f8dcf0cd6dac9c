package http

import (
	"context"
	"net/http"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/audit"
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
	req, bt, err := a.s.parseTokenRequest(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	u := a.s.begin(r, audit.ActionHoldings, req.AuthToken, bt)
	content, err := a.holdings(ctx, u)
	if err != nil {
		return a.s.end(ctx, u, err)
	}
	writeOK(w, content)
	return a.s.end(ctx, u, nil)
}

func (a *accountAPI) holdings(ctx context.Context, u *use) (*holdingsContent, error) {
	conn, err := a.prepare(ctx, u, linkvault.PermissionRead)
	if err != nil {
		return nil, err
	}
	var h linkvault.Holdings
	err = a.call(ctx, conn, func(ctx context.Context, cred linkvault.Credential) error {
		var err error
		h, err = conn.provider.Holdings(ctx, cred)
		return err
	})
	if err != nil {
		return nil, err
	}
	c := conn.res.Connection
	out := &holdingsContent{
		Status: "succeeded", Type: c.BrokerType, AccountID: h.AccountID, InstitutionName: h.InstitutionName,
		CryptocurrencyPositions: nonNil(h.CryptocurrencyPositions), EquityPositions: nonNil(h.EquityPositions),
		NotSupportedEquityPositions: []linkvault.Position{}, NotSupportedCryptocurrencyPositions: []linkvault.Position{},
		NftPositions: []struct{}{}, OptionPositions: []struct{}{},
	}
	if len(c.Accounts) > 0 {
		if out.AccountID == "" {
			out.AccountID = c.Accounts[0].AccountID
		}
		out.AccountName = c.Accounts[0].AccountName
	}
	if out.InstitutionName == "" {
		out.InstitutionName = conn.provider.Integration().Name
	}
	return out, nil
}

// balanceContent is the content of POST /api/v1/balance/get, in Mesh's field names.
// Mesh's totals in USD are left out: linkvault has no exchange rates to compute them.
type balanceContent struct {
	Balances  []linkvault.Balance  `json:"balances"`
	AccountID string               `json:"accountId,omitempty"`
	Type      linkvault.BrokerType `json:"type"`
}

// handleBalance is POST /api/v1/balance/get {authToken, type}: the account's fiat
// balances, read from the exchange in real time.
func (a *accountAPI) handleBalance(w http.ResponseWriter, r *http.Request) error {
	req, bt, err := a.s.parseTokenRequest(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	u := a.s.begin(r, audit.ActionBalance, req.AuthToken, bt)
	content, err := a.balance(ctx, u)
	if err != nil {
		return a.s.end(ctx, u, err)
	}
	writeOK(w, content)
	return a.s.end(ctx, u, nil)
}

func (a *accountAPI) balance(ctx context.Context, u *use) (*balanceContent, error) {
	conn, err := a.prepare(ctx, u, linkvault.PermissionRead)
	if err != nil {
		return nil, err
	}
	var bs []linkvault.Balance
	err = a.call(ctx, conn, func(ctx context.Context, cred linkvault.Credential) error {
		var err error
		bs, err = conn.provider.Balances(ctx, cred)
		return err
	})
	if err != nil {
		return nil, err
	}
	c := conn.res.Connection
	out := &balanceContent{Balances: nonNil(bs), Type: c.BrokerType}
	if len(c.Accounts) > 0 {
		out.AccountID = c.Accounts[0].AccountID
	}
	return out, nil
}

// nonNil makes nil slices encode as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
