package provider

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/linkvault/linkvault"
)

// BinanceProduction is Binance's real API base.
var BinanceProduction = Config{APIBaseURL: "https://api.binance.com"}

// BinanceSessionHeader carries the session token on every API call.
const BinanceSessionHeader = "X-Session-Token"

// Binance is the adapter for Binance with direct credentials: username and password,
// then an MFA code, give a session that expires and cannot be refreshed.
type Binance struct {
	http    *caller
	apiBase string
}

var _ linkvault.CredentialsProvider = (*Binance)(nil)

// NewBinance builds the Binance adapter; an empty APIBaseURL takes BinanceProduction.
func NewBinance(cfg Config, d Deps) (*Binance, error) {
	cfg = cfg.withDefaults(BinanceProduction)
	d = d.withDefaults()
	return &Binance{http: newCaller(linkvault.BrokerBinance, cfg, d), apiBase: strings.TrimRight(cfg.APIBaseURL, "/")}, nil
}

// Integration describes the adapter for the catalog.
func (p *Binance) Integration() linkvault.Integration {
	return linkvault.Integration{
		Type: linkvault.BrokerBinance, Name: "Binance", AuthKind: linkvault.AuthCredentials, BrandColor: "#F0B90B",
		SupportsRefresh: false, SupportsRevocation: true, SupportsTransfers: true, Networks: []string{"bitcoin", "ethereum", "base", "solana"},
	}
}

// Login runs one step: username and password (answering MFARequired with a challenge),
// then the challenge with the MFA code (answering the session credential). A wrong
// password is a re-authentication error; a wrong MFA code is rejected (the user may type
// it again).
func (p *Binance) Login(ctx context.Context, r linkvault.LoginRequest) (linkvault.LoginResult, error) {
	const op = "login"
	var (
		resp *apiResponse
		err  error
	)
	if r.Challenge == "" {
		if r.Username == "" || r.Password.IsZero() {
			return linkvault.LoginResult{}, rejected(linkvault.BrokerBinance, op, "invalid_request")
		}
		resp, err = p.http.call(ctx, op, http.MethodPost, p.apiBase+"/sapi/v1/login",
			map[string]string{"username": r.Username, "password": r.Password.Reveal()}, nil, codeOnly(binanceErrorCode))
	} else {
		if r.MFACode.IsZero() {
			return linkvault.LoginResult{}, rejected(linkvault.BrokerBinance, op, "invalid_mfa_code")
		}
		resp, err = p.http.call(ctx, op, http.MethodPost, p.apiBase+"/sapi/v1/login/mfa",
			map[string]string{"challenge": r.Challenge, "code": r.MFACode.Reveal()}, nil, codeOnly(binanceErrorCode))
	}
	if err != nil {
		return linkvault.LoginResult{}, err
	}
	step, err := decode(p.http, op, resp, parseBinanceLogin)
	if err != nil {
		return linkvault.LoginResult{}, err
	}
	if step.MFARequired {
		return linkvault.LoginResult{MFARequired: true, Challenge: step.Challenge}, nil
	}
	c := linkvault.Credential{AccessToken: linkvault.NewSecret(step.SessionToken), TokenType: "session"}
	if step.ExpiresIn > 0 {
		c.Expiry = p.http.now().Add(time.Duration(step.ExpiresIn) * time.Second)
	}
	if acct, err := p.account(ctx, c, op); err == nil {
		c.Subject = acct.UID
	} else {
		p.http.log.Warn("account lookup after login failed", "err", err)
	}
	return linkvault.LoginResult{Credential: c}, nil
}

// Refresh cannot renew a session: an expired session needs the user again; a live one is
// validated and returned unchanged.
func (p *Binance) Refresh(ctx context.Context, c linkvault.Credential) (linkvault.Credential, error) {
	if c.Expired(p.http.now(), 0) {
		return linkvault.Credential{}, reauth(linkvault.BrokerBinance, "refresh", "session_expired")
	}
	if err := p.validate(ctx, c, "refresh"); err != nil {
		return linkvault.Credential{}, err
	}
	return c, nil
}

// Validate calls GET /sapi/v1/account/status.
func (p *Binance) Validate(ctx context.Context, c linkvault.Credential) error {
	return p.validate(ctx, c, "validate")
}

func (p *Binance) validate(ctx context.Context, c linkvault.Credential, op string) error {
	resp, err := p.get(ctx, op, "/sapi/v1/account/status", c)
	if err != nil {
		return err
	}
	status, err := decode(p.http, op, resp, parseBinanceStatus)
	if err != nil {
		return err
	}
	if status != "Normal" {
		return rejected(linkvault.BrokerBinance, op, "account_restricted")
	}
	return nil
}

// Revoke logs the session out; a session the exchange already refuses counts as revoked.
func (p *Binance) Revoke(ctx context.Context, c linkvault.Credential) error {
	if c.AccessToken.IsZero() {
		return nil
	}
	_, err := p.http.call(ctx, "revoke", http.MethodPost, p.apiBase+"/sapi/v1/logout", nil, session(c), codeOnly(binanceErrorCode))
	if err != nil && !linkvault.IsReauthRequired(err) {
		return err
	}
	return nil
}

func session(c linkvault.Credential) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set(BinanceSessionHeader, c.AccessToken.Reveal()) }
}

func (p *Binance) get(ctx context.Context, op, path string, c linkvault.Credential) (*apiResponse, error) {
	return p.http.call(ctx, op, http.MethodGet, p.apiBase+path, nil, session(c), codeOnly(binanceErrorCode))
}

func (p *Binance) account(ctx context.Context, c linkvault.Credential, op string) (binanceAccount, error) {
	resp, err := p.get(ctx, op, "/api/v3/account", c)
	if err != nil {
		return binanceAccount{}, err
	}
	return decode(p.http, op, resp, parseBinanceAccount)
}

// prices returns USD(T) prices by asset.
func (p *Binance) prices(ctx context.Context, op string) (map[string]linkvault.Decimal, error) {
	resp, err := p.http.call(ctx, op, http.MethodGet, p.apiBase+"/api/v3/ticker/price", nil, nil, codeOnly(binanceErrorCode))
	if err != nil {
		return nil, err
	}
	return decode(p.http, op, resp, parseBinancePrices)
}

// valuedBalances returns the account's balances with their USD values.
func (p *Binance) valuedBalances(ctx context.Context, c linkvault.Credential, op string) (binanceAccount, map[string]linkvault.Decimal, error) {
	acct, err := p.account(ctx, c, op)
	if err != nil {
		return binanceAccount{}, nil, err
	}
	prices, err := p.prices(ctx, op)
	if err != nil {
		return binanceAccount{}, nil, err
	}
	return acct, prices, nil
}

// Accounts reports the connection as one account valued in USD.
func (p *Binance) Accounts(ctx context.Context, c linkvault.Credential) ([]linkvault.Account, error) {
	acct, prices, err := p.valuedBalances(ctx, c, "accounts")
	if err != nil {
		return nil, err
	}
	var fund, cash linkvault.Decimal
	for _, b := range acct.Balances {
		fund = fund.Add(b.Free.Mul(prices[b.Asset]))
		if isFiat(b.Asset) {
			cash = cash.Add(b.Free)
		}
	}
	return []linkvault.Account{{AccountID: firstNonEmpty(acct.UID, c.Subject), AccountName: "Binance", Fund: usdFloat(fund), Cash: usdFloat(cash)}}, nil
}

// Holdings lists the crypto assets with a balance.
func (p *Binance) Holdings(ctx context.Context, c linkvault.Credential) (linkvault.Holdings, error) {
	acct, prices, err := p.valuedBalances(ctx, c, "holdings")
	if err != nil {
		return linkvault.Holdings{}, err
	}
	h := linkvault.Holdings{AccountID: firstNonEmpty(acct.UID, c.Subject), InstitutionName: "Binance",
		CryptocurrencyPositions: []linkvault.Position{}, EquityPositions: []linkvault.Position{}}
	for _, b := range acct.Balances {
		if isFiat(b.Asset) || b.Free.Sign() <= 0 {
			continue
		}
		h.CryptocurrencyPositions = append(h.CryptocurrencyPositions, position(b.Asset, "", b.Free, prices[b.Asset]))
	}
	return h, nil
}

// Balances lists fiat balances (USD with zero when there is none).
func (p *Binance) Balances(ctx context.Context, c linkvault.Credential) ([]linkvault.Balance, error) {
	acct, err := p.account(ctx, c, "balances")
	if err != nil {
		return nil, err
	}
	var out []linkvault.Balance
	for _, b := range acct.Balances {
		if isFiat(b.Asset) {
			out = append(out, fiatBalance(b.Asset, b.Free))
		}
	}
	return usdBalances(out), nil
}

// binanceNetworks maps linkvault chain names to Binance network codes.
var binanceNetworks = map[string]string{"bitcoin": "BTC", "ethereum": "ETH", "base": "BASE", "solana": "SOL"}

func binanceChain(code string) string {
	for chain, c := range binanceNetworks {
		if c == code {
			return chain
		}
	}
	return strings.ToLower(code)
}

// PreviewTransfer reads the withdrawal fee of the coin's network.
func (p *Binance) PreviewTransfer(ctx context.Context, c linkvault.Credential, r linkvault.TransferRequest) (linkvault.TransferPreview, error) {
	const op = "preview_transfer"
	if err := checkTransferRequest(linkvault.BrokerBinance, op, r, false); err != nil {
		return linkvault.TransferPreview{}, err
	}
	resp, err := p.get(ctx, op, "/sapi/v1/capital/config/getall", c)
	if err != nil {
		return linkvault.TransferPreview{}, err
	}
	coins, err := decode(p.http, op, resp, parseBinanceCoins)
	if err != nil {
		return linkvault.TransferPreview{}, err
	}
	code := binanceNetworks[r.Network]
	for _, coin := range coins {
		if coin.Coin != r.Symbol {
			continue
		}
		for _, n := range coin.Networks {
			if n.Network == code && n.WithdrawEnable {
				return linkvault.TransferPreview{
					Symbol: r.Symbol, Network: r.Network, Amount: r.Amount,
					Fee: n.Fee, FeeKnown: true, FeeCurrency: r.Symbol, Total: r.Amount.Add(n.Fee), ToAddress: r.ToAddress,
					InsufficientFund: coin.Free.LessThan(r.Amount.Add(n.Fee)),
				}, nil
			}
		}
	}
	return linkvault.TransferPreview{}, rejected(linkvault.BrokerBinance, op, "invalid_network")
}

// ExecuteTransfer applies for a withdrawal, idempotent by r.ClientTransactionID
// (withdrawOrderId), then reads it back for fee and hash.
func (p *Binance) ExecuteTransfer(ctx context.Context, c linkvault.Credential, r linkvault.TransferRequest) (linkvault.TransferResult, error) {
	const op = "execute_transfer"
	if err := checkTransferRequest(linkvault.BrokerBinance, op, r, true); err != nil {
		return linkvault.TransferResult{}, err
	}
	network, ok := binanceNetworks[r.Network]
	if !ok {
		return linkvault.TransferResult{}, rejected(linkvault.BrokerBinance, op, "invalid_network")
	}
	form := url.Values{
		"coin": {r.Symbol}, "network": {network}, "address": {r.ToAddress},
		"amount": {r.Amount.String()}, "withdrawOrderId": {r.ClientTransactionID},
	}
	resp, err := p.http.call(ctx, op, http.MethodPost, p.apiBase+"/sapi/v1/capital/withdraw/apply", form, session(c), codeOnly(binanceErrorCode))
	if err != nil {
		return linkvault.TransferResult{}, err
	}
	id, err := decode(p.http, op, resp, parseBinanceWithdrawID)
	if err != nil {
		return linkvault.TransferResult{}, err
	}
	result := linkvault.TransferResult{TransferID: id, Status: linkvault.TransferPending, Symbol: r.Symbol, Network: r.Network, Amount: r.Amount, ToAddress: r.ToAddress}
	// The withdrawal exists now; failing to read it back must not report a failure.
	hist, err := p.get(ctx, op, "/sapi/v1/capital/withdraw/history?"+url.Values{"withdrawOrderId": {r.ClientTransactionID}}.Encode(), c)
	if err != nil {
		p.http.log.Warn("withdrawal history lookup failed", "err", err)
		return result, nil
	}
	ws, err := decode(p.http, op, hist, parseBinanceWithdrawals)
	if err != nil || len(ws) == 0 {
		return result, nil
	}
	w := ws[0]
	result.Status, result.Fee, result.Hash, result.Amount = linkvault.TransferState(w.Status), w.Fee, w.TxID, w.Amount
	if w.Network != "" {
		result.Network = binanceChain(w.Network)
	}
	return result, nil
}

// --- wire parsing ---

type binanceLoginStep struct {
	MFARequired  bool
	Challenge    string
	SessionToken string
	ExpiresIn    int64
}

func parseBinanceLogin(b []byte) (binanceLoginStep, error) {
	var w struct {
		MFARequired  bool   `json:"mfaRequired"`
		Challenge    string `json:"challenge"`
		SessionToken string `json:"sessionToken"`
		ExpiresIn    int64  `json:"expiresIn"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return binanceLoginStep{}, err
	}
	switch {
	case w.MFARequired && w.Challenge == "":
		return binanceLoginStep{}, errors.New("mfa without challenge")
	case !w.MFARequired && w.SessionToken == "":
		return binanceLoginStep{}, errors.New("login without session")
	case w.ExpiresIn < 0 || w.ExpiresIn > 10*365*24*3600:
		return binanceLoginStep{}, errors.New("session lifetime out of range")
	}
	return binanceLoginStep(w), nil
}

func parseBinanceStatus(b []byte) (string, error) {
	var w struct {
		Data string `json:"data"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return "", err
	}
	return w.Data, nil
}

type binanceBalance struct {
	Asset string
	Free  linkvault.Decimal
}

type binanceAccount struct {
	UID      string
	Balances []binanceBalance
}

func parseBinanceAccount(b []byte) (binanceAccount, error) {
	var w struct {
		UID      json.RawMessage `json:"uid"`
		Balances []struct {
			Asset string `json:"asset"`
			Free  string `json:"free"`
		} `json:"balances"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return binanceAccount{}, err
	}
	acct := binanceAccount{UID: rawID(w.UID)}
	for _, bal := range w.Balances {
		if bal.Asset == "" {
			return binanceAccount{}, errors.New("balance without asset")
		}
		free, err := amount(bal.Free)
		if err != nil {
			return binanceAccount{}, err
		}
		acct.Balances = append(acct.Balances, binanceBalance{Asset: bal.Asset, Free: free})
	}
	return acct, nil
}

// rawID reads an id that may be a JSON string or number.
func rawID(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

// parseBinancePrices reads the ticker list into USD prices per base asset (XXXUSDT).
func parseBinancePrices(b []byte) (map[string]linkvault.Decimal, error) {
	var w []struct {
		Symbol string `json:"symbol"`
		Price  string `json:"price"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, err
	}
	prices := map[string]linkvault.Decimal{"USD": linkvault.DecimalFromInt(1), "USDT": linkvault.DecimalFromInt(1)}
	for _, t := range w {
		base, ok := strings.CutSuffix(t.Symbol, "USDT")
		if !ok || base == "" {
			continue
		}
		v, err := amount(t.Price)
		if err != nil {
			return nil, err
		}
		prices[base] = v
	}
	return prices, nil
}

type binanceNetwork struct {
	Network        string
	WithdrawEnable bool
	Fee            linkvault.Decimal
}

type binanceCoin struct {
	Coin     string
	Free     linkvault.Decimal
	Networks []binanceNetwork
}

func parseBinanceCoins(b []byte) ([]binanceCoin, error) {
	var w []struct {
		Coin        string `json:"coin"`
		Free        string `json:"free"`
		NetworkList []struct {
			Network        string `json:"network"`
			WithdrawEnable bool   `json:"withdrawEnable"`
			WithdrawFee    string `json:"withdrawFee"`
		} `json:"networkList"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, err
	}
	out := make([]binanceCoin, 0, len(w))
	for _, c := range w {
		free, err := amount(c.Free)
		if err != nil {
			return nil, err
		}
		coin := binanceCoin{Coin: c.Coin, Free: free}
		for _, n := range c.NetworkList {
			fee, err := amount(n.WithdrawFee)
			if err != nil {
				return nil, err
			}
			coin.Networks = append(coin.Networks, binanceNetwork{Network: n.Network, WithdrawEnable: n.WithdrawEnable, Fee: fee})
		}
		out = append(out, coin)
	}
	return out, nil
}

func parseBinanceWithdrawID(b []byte) (string, error) {
	var w struct {
		ID json.RawMessage `json:"id"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return "", err
	}
	id := rawID(w.ID)
	if id == "" {
		return "", errors.New("withdrawal without id")
	}
	return id, nil
}

type binanceWithdrawal struct {
	ID, Network, TxID, Status string
	Amount, Fee               linkvault.Decimal
}

// binanceWithdrawStatus maps Binance's numeric withdrawal states.
func binanceWithdrawStatus(s int) string {
	switch s {
	case 6:
		return "succeeded"
	case 1, 3, 5:
		return "failed"
	}
	return "pending"
}

func parseBinanceWithdrawals(b []byte) ([]binanceWithdrawal, error) {
	var w []struct {
		ID             json.RawMessage `json:"id"`
		Amount         string          `json:"amount"`
		TransactionFee string          `json:"transactionFee"`
		Status         int             `json:"status"`
		TxID           string          `json:"txId"`
		Network        string          `json:"network"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, err
	}
	out := make([]binanceWithdrawal, 0, len(w))
	for _, x := range w {
		amt, err := amount(x.Amount)
		if err != nil {
			return nil, err
		}
		fee, err := optAmount(x.TransactionFee)
		if err != nil {
			return nil, err
		}
		out = append(out, binanceWithdrawal{
			ID: rawID(x.ID), Network: x.Network, TxID: x.TxID, Status: binanceWithdrawStatus(x.Status), Amount: amt, Fee: fee,
		})
	}
	return out, nil
}

// binanceErrorCode reads {"code": "...", "msg": "..."}; numeric codes become "".
func binanceErrorCode(b []byte) string {
	var w struct {
		Code json.RawMessage `json:"code"`
	}
	if json.Unmarshal(b, &w) != nil {
		return ""
	}
	var s string
	if json.Unmarshal(w.Code, &s) == nil {
		return s
	}
	if n, err := strconv.Atoi(string(w.Code)); err == nil && n == -1003 { // Binance "too many requests"
		return "rate_limit_exceeded"
	}
	return ""
}

// The old Binance-like session protocol has no documented equivalent of these; the
// API-key adapter replaces this file.

func (p *Binance) TransferOptions(context.Context, linkvault.Credential) ([]linkvault.TransferAsset, error) {
	return nil, unsupported(linkvault.BrokerBinance, "transfer_options")
}

func (p *Binance) GetTransfer(context.Context, linkvault.Credential, linkvault.TransferRef) (linkvault.TransferResult, error) {
	return linkvault.TransferResult{}, unsupported(linkvault.BrokerBinance, "get_transfer")
}

func (p *Binance) Transfers(context.Context, linkvault.Credential, linkvault.TransferQuery) (linkvault.TransferPage, error) {
	return linkvault.TransferPage{}, unsupported(linkvault.BrokerBinance, "transfers")
}

func (p *Binance) DepositAddress(context.Context, linkvault.Credential, linkvault.DepositAddressRequest) (linkvault.DepositAddress, error) {
	return linkvault.DepositAddress{}, unsupported(linkvault.BrokerBinance, "deposit_address")
}

func (p *Binance) AccountHolder(context.Context, linkvault.Credential) (linkvault.AccountHolder, error) {
	return linkvault.AccountHolder{}, unsupported(linkvault.BrokerBinance, "account_holder")
}

func (p *Binance) Rates(context.Context, string) (linkvault.Rates, error) {
	return linkvault.Rates{}, unsupported(linkvault.BrokerBinance, "rates")
}
