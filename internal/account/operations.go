package account

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/linkvault/linkvault"
)

// Audit actions of the operations in this file (internal/audit names the others).
const (
	ActionConfigure      = "transfer.configure"
	ActionTransferStatus = "transfer.status"
	ActionTransfers      = "transfers.list"
	ActionDepositAddress = "address.get"
	ActionValue          = "holdings.value"
	ActionAccountHolder  = "exchange.verify"
)

// ConfigureAsset is one asset of Configure: what the account can send, where.
type ConfigureAsset struct {
	Symbol    string
	Available linkvault.Decimal
	UnitPrice linkvault.Decimal // USD; zero when unknown
	Networks  []ConfigureNetwork
}

// ConfigureNetwork is one network an asset can leave on.
type ConfigureNetwork struct {
	Network  CatalogNetwork
	Eligible bool
	// Reason is Mesh's NetworkTransferIneligibilityReason when not eligible.
	Reason      string
	Minimum     linkvault.Decimal
	Maximum     linkvault.Decimal
	Fee         linkvault.Decimal
	FeeCurrency string
	FeeKnown    bool
	// AddressPattern is a regular expression a destination on this network must match
	// (the exchange's, where it publishes one, else the network family's; "" when
	// neither is known), in the syntax Go and JavaScript share, so a form can check an
	// address before asking for a preview. TagRequired when a memo/tag is mandatory.
	AddressPattern string
	TagRequired    bool
}

// Configure lists the assets a connected account can send and the networks each can
// leave on, with balances, fees and limits (Mesh's managed-transfer configure). When
// symbol or networkId is given, only those. It needs a write-scoped connection, like
// the rest of the transfer flow.
func (s *Service) Configure(ctx context.Context, c Caller, t Target, symbol, networkID string) ([]ConfigureAsset, error) {
	symbol = strings.ToUpper(symbol)
	if len(symbol) > MaxSymbolLength || !isToken(symbol, "") {
		return nil, linkvault.ErrInvalid("symbol must be 1-%d letters or digits, e.g. \"ETH\".", MaxSymbolLength)
	}
	var only *CatalogNetwork
	if networkID != "" {
		n, ok := s.catalog.Network(networkID)
		if !ok {
			return nil, linkvault.Errorf(linkvault.StatusBadRequest, ErrTypeUnknownNetwork,
				"Unknown networkId; GET /api/v1/transfers/managed/networks lists the networks and their ids.")
		}
		only = &n
	}
	return withConn(ctx, s, c, t, ActionConfigure, linkvault.PermissionWrite, func(cn *conn) ([]ConfigureAsset, error) {
		return s.configure(ctx, cn, symbol, only)
	})
}

func (s *Service) configure(ctx context.Context, cn *conn, symbol string, only *CatalogNetwork) ([]ConfigureAsset, error) {
	assets, err := callValue(ctx, s, cn, cn.provider.TransferOptions)
	if err != nil {
		return nil, err
	}
	rates, _ := cn.provider.Rates(ctx, "USD")
	out := []ConfigureAsset{}
	for _, a := range assets {
		sym := strings.ToUpper(a.Symbol)
		if symbol != "" && sym != symbol {
			continue
		}
		ca := ConfigureAsset{Symbol: sym, Available: a.Available}
		if v, ok := rates.Convert(linkvault.DecimalFromInt(1), sym, "USD", 8); ok {
			ca.UnitPrice = v
		}
		for _, n := range a.Networks {
			cnw, ok := s.catalog.Network(n.Network)
			if !ok || (only != nil && cnw.ID != only.ID) {
				continue
			}
			nw := ConfigureNetwork{Network: cnw, Eligible: true, Minimum: n.Minimum, Maximum: n.Maximum,
				Fee: n.Fee, FeeCurrency: sym, FeeKnown: n.FeeKnown, TagRequired: n.TagRequired,
				AddressPattern: cmp.Or(n.AddressPattern, AddressPattern(cnw.Type))}
			switch {
			case !n.Enabled:
				nw.Eligible, nw.Reason = false, "refusedByInstitution"
			case a.Available.Sign() <= 0:
				nw.Eligible, nw.Reason = false, "balanceBelowMinimum"
			case !n.Minimum.IsZero() && a.Available.Cmp(n.Minimum) < 0:
				nw.Eligible, nw.Reason = false, "balanceBelowMinimum"
			}
			ca.Networks = append(ca.Networks, nw)
		}
		if only != nil && len(ca.Networks) == 0 {
			continue
		}
		out = append(out, ca)
	}
	return out, nil
}

// TransferQuery names one managed transfer: by Mesh id (the previewId that executed it)
// or by the app's transaction id.
type TransferQuery struct {
	ID            string
	TransactionID string
}

// TransferStatus returns a managed transfer of the caller's client, with its current
// state read from the exchange when it can be (else the state recorded at execution).
func (s *Service) TransferStatus(ctx context.Context, c Caller, q TransferQuery) (*Transfer, error) {
	if s.previews == nil || s.transfers == nil {
		return nil, errNoPreviewStore()
	}
	var key string
	switch {
	case q.ID != "" && q.TransactionID != "":
		return nil, linkvault.ErrInvalid("Give Id or ClientTransactionId, not both.")
	case q.ID != "":
		if !IsUUID(q.ID) {
			return nil, linkvault.ErrInvalid("Id must be a transfer id (a UUID).")
		}
		rec, err := s.previews.GetTransferPreview(ctx, c.ClientID, strings.ToLower(q.ID))
		if err != nil {
			if linkvault.IsNotFound(err) {
				return nil, linkvault.ErrNotFound("Transfer")
			}
			return nil, err
		}
		key = rec.ClientTransactionID
	case q.TransactionID != "":
		if len(q.TransactionID) > MaxIDLength || !isPrintable(q.TransactionID) {
			return nil, linkvault.ErrInvalid("ClientTransactionId must be at most %d printable characters.", MaxIDLength)
		}
		key = q.TransactionID
	default:
		return nil, linkvault.ErrInvalid("Id or ClientTransactionId is required (ListTransfers lists them).")
	}
	rec, err := s.transfers.GetTransfer(ctx, c.ClientID, key)
	if err != nil || rec.Status != linkvault.TransferCompleted {
		if err == nil || linkvault.IsNotFound(err) {
			return nil, linkvault.ErrNotFound("Transfer")
		}
		return nil, err
	}
	var t Transfer
	if err := json.Unmarshal(rec.Result, &t); err != nil {
		return nil, err
	}
	live, err := withConn(ctx, s, c, Target{TokenID: rec.TokenID}, ActionTransferStatus, linkvault.PermissionRead, func(cn *conn) (*Transfer, error) {
		return s.liveTransfer(ctx, cn, &t)
	})
	if err != nil {
		s.log.DebugContext(ctx, "transfer status from the exchange unavailable; answering the recorded one", "error", err)
		return &t, nil
	}
	return live, nil
}

func (s *Service) liveTransfer(ctx context.Context, cn *conn, t *Transfer) (*Transfer, error) {
	res, err := callValue(ctx, s, cn, func(ctx context.Context, cred linkvault.Credential) (linkvault.TransferResult, error) {
		return cn.provider.GetTransfer(ctx, cred, linkvault.TransferRef{TransferID: t.ExchangeTransferID, AccountID: t.AccountID, Symbol: t.Symbol})
	})
	if err != nil {
		return nil, err
	}
	out := *t
	out.Status = firstNonEmpty(string(res.Status), t.Status)
	out.StatusDetail = firstNonEmpty(res.StatusDetail, t.StatusDetail)
	out.Hash = firstNonEmpty(res.Hash, t.Hash)
	return &out, nil
}

// MaxListCount is the largest page ListTransfers returns.
const MaxListCount = 100

// ListTransfers returns a page of the client's executed managed transfers, newest
// first, as recorded when they executed (TransferStatus reads one's current state), and
// how many there are in all.
func (s *Service) ListTransfers(ctx context.Context, c Caller, count, offset int) ([]Transfer, int, error) {
	if s.previews == nil {
		return nil, 0, errNoPreviewStore()
	}
	switch {
	case count == 0:
		count = 25
	case count < 0 || count > MaxListCount:
		return nil, 0, linkvault.ErrInvalid("Count must be between 1 and %d.", MaxListCount)
	}
	if offset < 0 {
		return nil, 0, linkvault.ErrInvalid("Offset must not be negative.")
	}
	recs, total, err := s.previews.ListCompletedTransfers(ctx, c.ClientID, count, offset)
	if err != nil {
		return nil, 0, err
	}
	out := make([]Transfer, 0, len(recs))
	for _, r := range recs {
		var t Transfer
		if err := json.Unmarshal(r.Result, &t); err != nil {
			return nil, 0, err
		}
		out = append(out, t)
	}
	return out, total, nil
}

// DepositAddress returns the address that credits the connected account with symbol on
// a network (the exchange's default network when networkID is empty).
func (s *Service) DepositAddress(ctx context.Context, c Caller, t Target, symbol, networkID string) (*linkvault.DepositAddress, *CatalogNetwork, error) {
	symbol = strings.ToUpper(symbol)
	switch {
	case symbol == "":
		return nil, nil, linkvault.ErrInvalid("symbol is required.")
	case len(symbol) > MaxSymbolLength || !isToken(symbol, ""):
		return nil, nil, linkvault.ErrInvalid("symbol must be 1-%d letters or digits, e.g. \"ETH\".", MaxSymbolLength)
	}
	req := linkvault.DepositAddressRequest{Symbol: symbol}
	if networkID != "" {
		n, ok := s.catalog.Network(networkID)
		if !ok {
			return nil, nil, linkvault.Errorf(linkvault.StatusBadRequest, ErrTypeUnknownNetwork,
				"Unknown networkId; GET /api/v1/transfers/managed/networks lists the networks and their ids.")
		}
		req.Network = n.Code
	}
	out, err := readCall(ctx, s, c, t, ActionDepositAddress, func(ctx context.Context, cn *conn, cred linkvault.Credential) (linkvault.DepositAddress, error) {
		return cn.provider.DepositAddress(ctx, cred, req)
	})
	if err != nil {
		return nil, nil, err
	}
	n, ok := s.catalog.Network(out.Network)
	if !ok {
		return &out, nil, nil
	}
	return &out, &n, nil
}

// Value is the USD value of a connected account (Mesh's BrokerPortfolioValueModel).
type Value struct {
	Crypto linkvault.Decimal
	Fiat   linkvault.Decimal
	// Unpriced are the symbols held for which the exchange publishes no USD rate; they
	// count zero.
	Unpriced []string
}

// PortfolioValue values the account's holdings and fiat balances in USD at the
// exchange's own rates.
func (s *Service) PortfolioValue(ctx context.Context, c Caller, t Target) (*Value, error) {
	return withConn(ctx, s, c, t, ActionValue, linkvault.PermissionRead, func(cn *conn) (*Value, error) {
		return s.portfolioValue(ctx, cn)
	})
}

func (s *Service) portfolioValue(ctx context.Context, cn *conn) (*Value, error) {
	var (
		h  linkvault.Holdings
		bs []linkvault.Balance
	)
	err := s.call(ctx, cn, func(ctx context.Context, cred linkvault.Credential) error {
		var err error
		if h, err = cn.provider.Holdings(ctx, cred); err != nil {
			return err
		}
		bs, err = cn.provider.Balances(ctx, cred)
		return err
	})
	if err != nil {
		return nil, err
	}
	rates, rerr := cn.provider.Rates(ctx, "USD")
	v := &Value{}
	for _, p := range h.CryptocurrencyPositions {
		if !p.MarketValue.IsZero() {
			v.Crypto = v.Crypto.Add(p.MarketValue)
			continue
		}
		if rerr == nil {
			if usd, ok := rates.Convert(p.Amount, strings.ToUpper(p.Symbol), "USD", 2); ok {
				v.Crypto = v.Crypto.Add(usd)
				continue
			}
		}
		v.Unpriced = append(v.Unpriced, p.Symbol)
	}
	v.Fiat = s.usdTotal(bs, rates, rerr == nil, func(b linkvault.Balance) linkvault.Decimal { return b.Cash })
	return v, nil
}

// usdTotal sums one amount of each balance in USD; balances in currencies without a
// rate count zero.
func (s *Service) usdTotal(bs []linkvault.Balance, rates linkvault.Rates, haveRates bool, field func(linkvault.Balance) linkvault.Decimal) linkvault.Decimal {
	total := linkvault.Decimal{}
	for _, b := range bs {
		amt := field(b)
		code := strings.ToUpper(b.CurrencyCode)
		switch {
		case code == "USD":
			total = total.Add(amt)
		case haveRates:
			if usd, ok := rates.Convert(amt, code, "USD", 2); ok {
				total = total.Add(usd)
			}
		}
	}
	return total.Round(2)
}

// HistoryQuery selects a page of an account's transfer history at its exchange.
type HistoryQuery struct {
	Limit  int
	Cursor string
	Since  time.Time
	// States keeps only the transfers whose ReportedState is one of them (Mesh's
	// statuses filter); empty keeps all. The exchange's page is filtered, so a page
	// may hold fewer than Limit transfers and still have a cursor.
	States []linkvault.TransferState
}

// StateUnknown is the ReportedState of a transfer the exchange reports in no state
// linkvault knows.
const StateUnknown linkvault.TransferState = "unknown"

// ReportedState is the state the API reports for a transfer of the history: pending,
// succeeded, failed, or StateUnknown.
func ReportedState(s linkvault.TransferState) linkvault.TransferState {
	switch s {
	case linkvault.TransferPending, linkvault.TransferSucceeded, linkvault.TransferFailed:
		return s
	}
	return StateUnknown
}

// TransferHistory lists the account's crypto withdrawals and deposits at the exchange.
func (s *Service) TransferHistory(ctx context.Context, c Caller, t Target, q HistoryQuery) (*linkvault.TransferPage, error) {
	if q.Limit < 0 || q.Limit > 500 {
		return nil, linkvault.ErrInvalid("count must be between 1 and 500.")
	}
	if len(q.Cursor) > 512 || !isPrintable(q.Cursor) {
		return nil, linkvault.ErrInvalid("cursor is not one this API issued.")
	}
	out, err := readCall(ctx, s, c, t, ActionTransfers, func(ctx context.Context, cn *conn, cred linkvault.Credential) (linkvault.TransferPage, error) {
		return cn.provider.Transfers(ctx, cred, linkvault.TransferQuery{Limit: q.Limit, Cursor: q.Cursor, Since: q.Since})
	})
	if err != nil {
		return nil, err
	}
	if len(q.States) > 0 {
		out.Transfers = slices.DeleteFunc(out.Transfers, func(tr linkvault.TransferResult) bool {
			return !slices.Contains(q.States, ReportedState(tr.Status))
		})
	}
	return &out, nil
}

// AccountHolder returns what the exchange tells about the account's owner (personal
// data: callers must not log it). An exchange that exposes nothing answers
// linkvault's notSupported error.
func (s *Service) AccountHolder(ctx context.Context, c Caller, t Target) (*linkvault.AccountHolder, string, error) {
	var name string
	out, err := readCall(ctx, s, c, t, ActionAccountHolder, func(ctx context.Context, cn *conn, cred linkvault.Credential) (linkvault.AccountHolder, error) {
		name = cn.provider.Integration().Name
		return cn.provider.AccountHolder(ctx, cred)
	})
	if err != nil {
		return nil, "", err
	}
	return &out, name, nil
}

// withConn is one audited use of the account t names (action): the connection is
// prepared with the permission need, op runs with it, and the outcome is audited
// (use.end). Every operation on a connected account goes through it.
func withConn[T any](ctx context.Context, s *Service, c Caller, t Target, action string, need linkvault.Permission,
	op func(cn *conn) (T, error)) (T, error) {
	u := s.begin(c, t, action)
	out, err := func() (T, error) {
		cn, err := u.prepare(ctx, need)
		if err != nil {
			var none T
			return none, err
		}
		return op(cn)
	}()
	return out, u.end(ctx, err)
}

// readCall is one audited read of the account t names (action): the connection is
// prepared with read permission and op is called through the service's retries.
func readCall[T any](ctx context.Context, s *Service, c Caller, t Target, action string,
	op func(ctx context.Context, cn *conn, cred linkvault.Credential) (T, error)) (T, error) {
	return withConn(ctx, s, c, t, action, linkvault.PermissionRead, func(cn *conn) (T, error) {
		return callValue(ctx, s, cn, func(ctx context.Context, cred linkvault.Credential) (T, error) { return op(ctx, cn, cred) })
	})
}

// callValue is s.call for an operation that returns a value.
func callValue[T any](ctx context.Context, s *Service, cn *conn, op func(ctx context.Context, cred linkvault.Credential) (T, error)) (T, error) {
	var out T
	err := s.call(ctx, cn, func(ctx context.Context, cred linkvault.Credential) error {
		var err error
		out, err = op(ctx, cred)
		return err
	})
	return out, err
}
