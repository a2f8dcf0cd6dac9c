package http

import (
	"errors"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/account"
)

// The managed-transfer API in the shapes of Mesh's OpenAPI document
// (ConfigureTransferRequest/Response, PreviewTransferRequest/Response,
// ExecuteTransferRequest/Response, TransferModel). Handlers decode, call the account
// service and encode; the rules live in internal/account.

// amountOf turns an amount decoded as a JSON number (Mesh's schemas declare amounts
// as numbers, so a string is refused by the decoder) into the exact decimal that was
// sent: the shortest decimal that reads back as the float64. nil stays nil. field is
// the request's name for it (amount, amountInFiat), which a refusal names.
func amountOf(f *float64, field string) (*linkvault.Decimal, error) {
	if f == nil {
		return nil, nil
	}
	if math.Abs(*f) >= 1e18 {
		return nil, linkvault.ErrInvalid("%s is too large.", field)
	}
	d, ok := linkvault.DecimalFromFloat(*f)
	if !ok {
		return nil, linkvault.ErrInvalid("%s must be greater than zero.", field)
	}
	return &d, nil
}

// accountBody is a request body naming the connected account it uses.
type accountBody interface {
	target() (account.Target, error)
}

// decodeAccount decodes a request body and validates the account it names.
func decodeAccount[B any, P interface {
	*B
	accountBody
}](s *Server, r *http.Request) (*B, account.Target, error) {
	b := new(B)
	if err := s.decodeJSON(r, b); err != nil {
		return nil, account.Target{}, err
	}
	t, err := P(b).target()
	return b, t, err
}

// fromAccount is Mesh's {fromAuthToken, fromType}.
type fromAccount struct {
	FromAuthToken string `json:"fromAuthToken"`
	FromType      string `json:"fromType"`
}

func (f fromAccount) target() (account.Target, error) {
	return targetOf(f.FromAuthToken, f.FromType, "fromAuthToken (the tokenId)", "fromType")
}

// transferParties is fromAccount and Mesh's {toAuthToken, toType}, which linkvault
// refuses.
type transferParties struct {
	fromAccount
	ToAuthToken string `json:"toAuthToken"`
	ToType      string `json:"toType"`
}

func (p transferParties) target() (account.Target, error) {
	t, err := p.fromAccount.target()
	if err == nil && (p.ToAuthToken != "" || p.ToType != "") {
		return t, errToConnectedAccount()
	}
	return t, err
}

// tokenAccount is Mesh's {authToken, type}.
type tokenAccount struct {
	AuthToken string `json:"authToken"`
	Type      string `json:"type"`
}

func (a tokenAccount) target() (account.Target, error) {
	return targetOf(a.AuthToken, a.Type, "authToken", "type")
}

// targetOf validates a tokenId and broker type sent in the fields named.
func targetOf(token, typ, tokenField, typeField string) (account.Target, error) {
	if token == "" {
		return account.Target{}, linkvault.ErrInvalid("%s is required.", tokenField)
	}
	if typ == "" {
		return account.Target{}, linkvault.ErrInvalid("%s is required.", typeField)
	}
	bt, err := linkvault.ParseBrokerType(typ)
	return account.Target{TokenID: token, Broker: bt}, err
}

// errToConnectedAccount refuses Mesh's transfers between two connected accounts.
func errToConnectedAccount() error {
	return linkvault.Errorf(linkvault.StatusBadRequest, linkvault.ErrTypeNotSupported,
		"Transfers to another connected account (toAuthToken/toType) are not supported by linkvault; give toAddress, e.g. from POST /api/v1/transfers/managed/address/get.")
}

// transferFee is Mesh's TransferFee.
type transferFee struct {
	Fee         linkvault.Decimal  `json:"fee"`
	FeeCurrency string             `json:"feeCurrency"`
	FeeInFiat   *linkvault.Decimal `json:"feeInFiat,omitempty"`
}

func decimalPtr(d linkvault.Decimal, ok bool) *linkvault.Decimal {
	if !ok {
		return nil
	}
	return &d
}

// --- configure

// transferAsset is what Mesh's configure and preview requests both say of the asset
// to send: its symbol and network, and the amount in the asset or in fiat (configure
// accepts the amount and leaves it to preview).
type transferAsset struct {
	Symbol       string   `json:"symbol"`
	NetworkID    string   `json:"networkId"`
	Amount       *float64 `json:"amount"`
	AmountInFiat *float64 `json:"amountInFiat"`
	FiatCurrency string   `json:"fiatCurrency"`
}

type configureBody struct {
	transferParties
	transferAsset
}

type configureHolding struct {
	Symbol                         string             `json:"symbol"`
	AvailableBalance               linkvault.Decimal  `json:"availableBalance"`
	AvailableBalanceInFiat         linkvault.Decimal  `json:"availableBalanceInFiat"`
	EligibleForTransfer            bool               `json:"eligibleForTransfer"`
	Networks                       []configureNetwork `json:"networks"`
	IneligibilityReason            *string            `json:"ineligibilityReason,omitempty"`
	EligibleForTransferWithFunding bool               `json:"eligibleForTransferWithFunding"`
}

type configureNetwork struct {
	Name                   string             `json:"name"`
	ID                     string             `json:"id"`
	MinimumAmount          *linkvault.Decimal `json:"minimumAmount,omitempty"`
	MaximumAmount          *linkvault.Decimal `json:"maximumAmount,omitempty"`
	EstimatedNetworkGasFee *transferFee       `json:"estimatedNetworkGasFee,omitempty"`
	EligibleForTransfer    bool               `json:"eligibleForTransfer"`
	IneligibilityReason    *string            `json:"ineligibilityReason,omitempty"`
	EligibleWithFunding    bool               `json:"eligibleForTransferWithFunding"`
}

// handleConfigure is POST /api/v1/transfers/managed/configure: the assets the account
// can send, with balances (and their USD value where the exchange publishes a rate),
// and the networks each can leave on with fees and limits.
func (a *accountAPI) handleConfigure(w http.ResponseWriter, r *http.Request) error {
	b, t, err := decodeAccount[configureBody](a.s, r)
	if err != nil {
		return err
	}
	assets, err := a.s.account.Configure(r.Context(), caller(r), t, b.Symbol, b.NetworkID)
	if err != nil {
		return err
	}
	out := []configureHolding{}
	for _, as := range assets {
		h := configureHolding{Symbol: as.Symbol, AvailableBalance: as.Available, Networks: []configureNetwork{}}
		if !as.UnitPrice.IsZero() {
			h.AvailableBalanceInFiat = as.Available.Mul(as.UnitPrice).Round(2)
		}
		for _, n := range as.Networks {
			cn := configureNetwork{Name: n.Network.Name, ID: n.Network.ID, EligibleForTransfer: n.Eligible}
			if !n.Minimum.IsZero() {
				cn.MinimumAmount = decimalPtr(n.Minimum, true)
			}
			if !n.Maximum.IsZero() {
				cn.MaximumAmount = decimalPtr(n.Maximum, true)
			}
			if n.FeeKnown {
				f := &transferFee{Fee: n.Fee, FeeCurrency: n.FeeCurrency}
				if !as.UnitPrice.IsZero() {
					f.FeeInFiat = decimalPtr(n.Fee.Mul(as.UnitPrice).Round(2), true)
				}
				cn.EstimatedNetworkGasFee = f
			}
			if !n.Eligible {
				reason := n.Reason
				cn.IneligibilityReason = &reason
			}
			h.EligibleForTransfer = h.EligibleForTransfer || n.Eligible
			h.Networks = append(h.Networks, cn)
		}
		if !h.EligibleForTransfer {
			reason := "noEligibleNetworks"
			h.IneligibilityReason = &reason
		}
		out = append(out, h)
	}
	writeOK(w, map[string]any{"status": "succeeded", "holdings": out, "fiatCurrency": "USD", "supportedFiatCurrencies": []string{"USD"}})
	return nil
}

// --- preview

type previewBody struct {
	transferParties
	transferAsset
	ToAddress     string `json:"toAddress"`
	AddressTag    string `json:"addressTag"`
	TransactionID string `json:"transactionId"`
}

// previewResult is Mesh's PreviewTransferResult.
type previewResult struct {
	PreviewID               string             `json:"previewId"`
	PreviewExpiresIn        int64              `json:"previewExpiresIn"`
	ToAddress               string             `json:"toAddress"`
	AddressTag              *string            `json:"addressTag,omitempty"`
	Symbol                  string             `json:"symbol"`
	Amount                  linkvault.Decimal  `json:"amount"`
	AmountInFiat            *linkvault.Decimal `json:"amountInFiat,omitempty"`
	TotalEstimatedAmount    linkvault.Decimal  `json:"totalEstimatedAmount"`
	TotalEstimatedInFiat    *linkvault.Decimal `json:"totalEstimatedAmountInFiat,omitempty"`
	NetworkID               string             `json:"networkId"`
	NetworkName             string             `json:"networkName"`
	EstimatedNetworkGasFee  *transferFee       `json:"estimatedNetworkGasFee,omitempty"`
	UnitPrice               *linkvault.Decimal `json:"unitPrice,omitempty"`
	ClientTransactionID     *string            `json:"clientTransactionId,omitempty"`
	FiatCurrency            string             `json:"fiatCurrency"`
	TransferType            string             `json:"transferType"`
	IsFeeIncluded           bool               `json:"isFeeIncluded"`
	AmountToReceive         linkvault.Decimal  `json:"amountToReceive"`
	TransferAmountToRequest linkvault.Decimal  `json:"transferAmountToRequest"`
}

// previewResultOf is the preview in Mesh's shape. estimatedNetworkGasFee (nullable in
// Mesh's PreviewTransferResult) is left out when the exchange quotes no fee before it
// sends (Coinbase): a fee of 0 would tell the app the transfer is free, and the total
// would read as final.
func previewResultOf(p *account.Preview) previewResult {
	res := previewResult{
		PreviewID: p.ID, PreviewExpiresIn: int64(p.ExpiresIn / time.Second), ToAddress: p.ToAddress, Symbol: p.Symbol,
		Amount: p.Amount, TotalEstimatedAmount: p.Total, NetworkID: p.Network.ID, NetworkName: p.Network.Name,
		FiatCurrency: "USD", TransferType: "deposit", AmountToReceive: p.Amount, TransferAmountToRequest: p.Amount,
	}
	if p.FeeKnown {
		res.EstimatedNetworkGasFee = &transferFee{Fee: p.Fee, FeeCurrency: p.FeeCurrency}
	}
	if p.AddressTag != "" {
		res.AddressTag = &p.AddressTag
	}
	if p.TransactionID != "" {
		res.ClientTransactionID = &p.TransactionID
	}
	if !p.UnitPrice.IsZero() {
		res.UnitPrice = &p.UnitPrice
		res.AmountInFiat = decimalPtr(p.InFiat(p.Amount))
		res.TotalEstimatedInFiat = decimalPtr(p.InFiat(p.Total))
		if res.EstimatedNetworkGasFee != nil && p.FeeCurrency == p.Symbol {
			res.EstimatedNetworkGasFee.FeeInFiat = decimalPtr(p.InFiat(p.Fee))
		}
	}
	return res
}

// handlePreviewTransfer is POST /api/v1/transfers/managed/preview: checks and quotes a
// transfer and stores it under a previewId for execute. Needs a write key and a
// write-scoped tokenId.
func (a *accountAPI) handlePreviewTransfer(w http.ResponseWriter, r *http.Request) error {
	b, t, err := decodeAccount[previewBody](a.s, r)
	if err != nil {
		return err
	}
	amount, err := amountOf(b.Amount, "amount")
	if err != nil {
		return err
	}
	fiat, err := amountOf(b.AmountInFiat, "amountInFiat")
	if err != nil {
		return err
	}
	p, err := a.s.account.Preview(r.Context(), caller(r), account.PreviewInput{
		Target: t, NetworkID: b.NetworkID, Symbol: b.Symbol, ToAddress: b.ToAddress, AddressTag: b.AddressTag,
		Amount: amount, AmountInFiat: fiat, FiatCurrency: b.FiatCurrency, TransactionID: b.TransactionID,
	})
	if err != nil {
		return err
	}
	writeOK(w, map[string]any{"status": "succeeded", "previewResult": previewResultOf(p)})
	return nil
}

// --- execute

type executeBody struct {
	fromAccount
	PreviewID string `json:"previewId"`
	MFACode   string `json:"mfaCode"`
}

// executeTransferResult is Mesh's ExecuteTransferResultResponse.
type executeTransferResult struct {
	TransferID        string            `json:"transferId"`
	Status            string            `json:"status"`
	StatusDetails     *string           `json:"statusDetails,omitempty"`
	ToAddress         string            `json:"toAddress"`
	Symbol            string            `json:"symbol"`
	NetworkName       string            `json:"networkName"`
	NetworkID         string            `json:"networkId"`
	Hash              *string           `json:"hash,omitempty"`
	Amount            linkvault.Decimal `json:"amount"`
	AmountInFiat      linkvault.Decimal `json:"amountInFiat"`
	TotalAmountInFiat linkvault.Decimal `json:"totalAmountInFiat"`
	NetworkGasFee     *transferFee      `json:"networkGasFee,omitempty"`
}

func (a *accountAPI) executeResultOf(t *account.Transfer) executeTransferResult {
	n, _ := a.s.account.Catalog().Network(t.Network)
	res := executeTransferResult{
		TransferID: t.ID, Status: t.Status, ToAddress: t.ToAddress, Symbol: t.Symbol,
		NetworkName: n.Name, NetworkID: n.ID, Amount: t.Amount,
		NetworkGasFee: &transferFee{Fee: t.Fee, FeeCurrency: t.FeeCurrency},
	}
	if t.StatusDetail != "" {
		res.StatusDetails = &t.StatusDetail
	}
	if t.Hash != "" {
		res.Hash = &t.Hash
	}
	if !t.UnitPrice.IsZero() {
		res.AmountInFiat = t.Amount.Mul(t.UnitPrice).Round(2)
		res.TotalAmountInFiat = res.AmountInFiat
		if t.FeeCurrency == t.Symbol {
			res.TotalAmountInFiat = t.Amount.Add(t.Fee).Mul(t.UnitPrice).Round(2)
		}
	}
	return res
}

// handleExecuteTransfer is POST /api/v1/transfers/managed/execute {fromAuthToken,
// fromType, previewId, mfaCode?}: executes a stored preview, at most once (a second
// execute of the same preview answers the same transfer, with the header
// Idempotent-Replayed: true). When the exchange asks for a second factor, content.status
// is mfaRequired (mfaFailed for a refused code) and nothing was executed.
func (a *accountAPI) handleExecuteTransfer(w http.ResponseWriter, r *http.Request) error {
	b, t, err := decodeAccount[executeBody](a.s, r)
	if err != nil {
		return err
	}
	code := linkvault.NewSecret(b.MFACode)
	b.MFACode = ""
	ex, err := a.s.account.Execute(r.Context(), caller(r), account.ExecuteInput{Target: t, PreviewID: b.PreviewID, MFACode: code})
	if err != nil {
		if errors.Is(err, account.ErrReplayed) {
			w.Header().Set("Idempotent-Replayed", "true")
		}
		return err
	}
	if ex.Replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	out := map[string]any{"status": ex.Status, "fallbackMfaAvailable": false}
	switch ex.Status {
	case account.ExecuteSucceeded:
		out["executeTransferResult"] = a.executeResultOf(ex.Transfer)
	case account.ExecuteMFARequired:
		out["mfaType"] = "unspecified"
	case account.ExecuteMFAFailed:
		out["errorMessage"] = "The exchange refused the verification code."
	}
	writeOK(w, out)
	return nil
}

// --- status of a managed transfer

// transferModel is Mesh's TransferModel.
type transferModel struct {
	ID                       string               `json:"id"`
	ClientTransactionID      *string              `json:"clientTransactionId,omitempty"`
	InstitutionTransactionID string               `json:"institutionTransactionId"`
	UserID                   string               `json:"userId"`
	Status                   string               `json:"status"`
	AmountInFiat             linkvault.Decimal    `json:"amountInFiat"`
	AmountInFiatCurrencyCode string               `json:"amountInFiatCurrencyCode"`
	Amount                   linkvault.Decimal    `json:"amount"`
	AmountToReceive          linkvault.Decimal    `json:"amountToReceive"`
	Symbol                   string               `json:"symbol"`
	NetworkName              string               `json:"networkName"`
	NetworkID                string               `json:"networkId"`
	CreatedTimestamp         int64                `json:"createdTimestamp"`
	ExecutedTimestamp        *int64               `json:"executedTimestamp,omitempty"`
	From                     *transferIntegration `json:"from,omitempty"`
	Hash                     *string              `json:"hash,omitempty"`
	GasFee                   *transferFee         `json:"gasFee,omitempty"`
	TransferType             string               `json:"transferType"`
	IsFeeIncluded            bool                 `json:"isFeeIncluded"`
	DestinationAddress       string               `json:"destinationAddress"`
}

type transferIntegration struct {
	ID   string               `json:"id"`
	Type linkvault.BrokerType `json:"type"`
	Name string               `json:"name"`
}

// handleTransferStatus is GET /api/v1/transfers/managed/mesh: with Id (or
// ClientTransactionId), that managed transfer of the client, its state read from the
// exchange when it answers; without, a page (Count, Offset) of the client's executed
// managed transfers, newest first, as recorded when they executed.
func (a *accountAPI) handleTransferStatus(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if name := unappliedTransferFilter(q); name != "" {
		return linkvault.ErrInvalid("%s is not supported: linkvault does not filter managed transfers by it. "+
			"Ask for one transfer by Id or ClientTransactionId, or read the pages (Count, Offset) and filter them.", name)
	}
	id, txID := q.Get("Id"), q.Get("ClientTransactionId")
	if id == "" && txID == "" {
		count, err := queryInt(q.Get("Count"), "Count")
		if err != nil {
			return err
		}
		offset, err := queryInt(q.Get("Offset"), "Offset")
		if err != nil {
			return err
		}
		ts, total, err := a.s.account.ListTransfers(r.Context(), caller(r), count, offset)
		if err != nil {
			return err
		}
		items := make([]transferModel, 0, len(ts))
		for i := range ts {
			items = append(items, a.transferModelOf(&ts[i]))
		}
		writeOK(w, map[string]any{"items": items, "total": total})
		return nil
	}
	t, err := a.s.account.TransferStatus(r.Context(), caller(r), account.TransferQuery{ID: id, TransactionID: txID})
	if err != nil {
		if linkvault.IsNotFound(err) {
			writeOK(w, map[string]any{"items": []transferModel{}, "total": 0})
			return nil
		}
		return err
	}
	writeOK(w, map[string]any{"items": []transferModel{a.transferModelOf(t)}, "total": 1})
	return nil
}

// unappliedTransferFilters are the filters of Mesh's GET /api/v1/transfers/managed/mesh
// that linkvault does not apply. Ignoring one would answer more than was asked for (every
// user's transfers to a request for one user's), so a request giving one is refused.
var unappliedTransferFilters = []string{"UserId", "IntegrationIds", "Statuses", "FromTimestamp", "ToTimestamp",
	"MinAmountInFiat", "MaxAmountInFiat", "OrderBy", "Hash", "SubClientId"}

// unappliedTransferFilter names the first filter q gives a value that linkvault does
// not apply, or "". DescendingOrder=true is the order linkvault answers in, and IsSandBox
// selects nothing here.
func unappliedTransferFilter(q url.Values) string {
	for _, name := range unappliedTransferFilters {
		if queryGiven(q, name, func(v string) bool { return v != "" }) {
			return name
		}
	}
	if queryGiven(q, "DescendingOrder", func(v string) bool { return v != "" && !strings.EqualFold(v, "true") }) {
		return "DescendingOrder other than true"
	}
	return ""
}

// queryGiven reports whether q holds a value that ok accepts under name. Names match
// without regard to case, as Mesh's server binds query parameters.
func queryGiven(q url.Values, name string, ok func(string) bool) bool {
	for key, values := range q {
		if strings.EqualFold(key, name) && slices.ContainsFunc(values, ok) {
			return true
		}
	}
	return false
}

// queryInt reads an integer query parameter, an int32 in Mesh's document (Count,
// Offset); 0 when absent. A value with too many digits is out of range, not "not a
// whole number".
func queryInt(v, name string) (int, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if errors.Is(err, strconv.ErrRange) {
		return 0, linkvault.ErrInvalid("%s is out of range.", name)
	}
	if err != nil {
		return 0, linkvault.ErrInvalid("%s must be a whole number.", name)
	}
	return int(n), nil
}

func (a *accountAPI) transferModelOf(t *account.Transfer) transferModel {
	n, _ := a.s.account.Catalog().Network(t.Network)
	m := transferModel{
		ID: t.ID, InstitutionTransactionID: t.ExchangeTransferID, UserID: t.UserID, Status: meshTransferStatus(t.Status),
		AmountInFiatCurrencyCode: "USD", Amount: t.Amount, AmountToReceive: t.Amount, Symbol: t.Symbol,
		NetworkName: n.Name, NetworkID: n.ID, CreatedTimestamp: t.CreatedAt.Unix(), TransferType: "deposit",
		DestinationAddress: t.ToAddress, GasFee: &transferFee{Fee: t.Fee, FeeCurrency: t.FeeCurrency},
	}
	if t.ClientTransactionID != "" {
		m.ClientTransactionID = &t.ClientTransactionID
	}
	if !t.ExecutedAt.IsZero() {
		ts := t.ExecutedAt.Unix()
		m.ExecutedTimestamp = &ts
	}
	if t.Hash != "" {
		m.Hash = &t.Hash
	}
	if !t.UnitPrice.IsZero() {
		m.AmountInFiat = t.Amount.Mul(t.UnitPrice).Round(2)
	}
	b := linkvault.BrokerType(t.Broker)
	if p, ok := a.s.deps.Providers.Provider(b); ok {
		m.From = &transferIntegration{ID: account.IntegrationID(b), Type: b, Name: p.Integration().Name}
	}
	return m
}

// meshTransferStatus maps an exchange state to Mesh's TransferStatus.
func meshTransferStatus(s string) string {
	switch s {
	case "succeeded", "failed":
		return s
	}
	return "pending"
}

// --- deposit address

type addressBody struct {
	tokenAccount
	Symbol    string `json:"symbol"`
	NetworkID string `json:"networkId"`
	MFACode   string `json:"mfaCode"`
}

// handleDepositAddress is POST /api/v1/transfers/managed/address/get: the address that
// credits the connected account with symbol on the network.
func (a *accountAPI) handleDepositAddress(w http.ResponseWriter, r *http.Request) error {
	b, t, err := decodeAccount[addressBody](a.s, r)
	if err != nil {
		return err
	}
	addr, n, err := a.s.account.DepositAddress(r.Context(), caller(r), t, b.Symbol, b.NetworkID)
	if err != nil {
		return err
	}
	out := map[string]any{"symbol": addr.Symbol, "address": addr.Address}
	if addr.Tag != "" {
		out["memo"] = addr.Tag
	}
	if !addr.Minimum.IsZero() {
		out["minimumDepositAmount"] = addr.Minimum.String()
	}
	if n != nil {
		out["networkId"], out["chain"] = n.ID, n.Name
	}
	writeOK(w, out)
	return nil
}

// --- transfer history

type historyBody struct {
	tokenAccount
	Count    int      `json:"count"`
	Cursor   string   `json:"cursor"`
	From     *int64   `json:"from"`
	Statuses []string `json:"statuses"`
}

// brokerTransactionStatuses are the values of Mesh's BrokerCryptocurrencyTransactionStatus,
// which transfers/list's statuses filter takes. linkvault reports pending, succeeded,
// failed and unknown; the others are accepted and match no transfer.
var brokerTransactionStatuses = []string{"unknown", "failed", "frozen", "succeeded", "mfaRequired", "pending",
	"expired", "canceled", "waitingForSignature", "waitingForClearing", "awaitingApproval", "awaitingConfirmation"}

// historyStates is the statuses filter of a transfers/list request as states.
func historyStates(statuses []string) ([]linkvault.TransferState, error) {
	states := make([]linkvault.TransferState, 0, len(statuses))
	for _, st := range statuses {
		name, ok := enumValue(brokerTransactionStatuses, st)
		if !ok {
			return nil, linkvault.ErrInvalid("statuses holds an unknown status; expected any of %s.", strings.Join(brokerTransactionStatuses, ", "))
		}
		states = append(states, linkvault.TransferState(name))
	}
	return states, nil
}

// enumValue is the value of a Mesh string enum that v names, matched without regard to
// case as Mesh's .NET server reads enums ("Succeeded" is succeeded).
func enumValue(values []string, v string) (string, bool) {
	i := slices.IndexFunc(values, func(x string) bool { return strings.EqualFold(x, v) })
	if i < 0 {
		return "", false
	}
	return values[i], true
}

// handleTransferHistory is POST /api/v1/transfers/list: the account's crypto
// withdrawals and deposits at its exchange, newest first, one page per call.
func (a *accountAPI) handleTransferHistory(w http.ResponseWriter, r *http.Request) error {
	b, t, err := decodeAccount[historyBody](a.s, r)
	if err != nil {
		return err
	}
	states, err := historyStates(b.Statuses)
	if err != nil {
		return err
	}
	q := account.HistoryQuery{Limit: b.Count, Cursor: b.Cursor, States: states}
	if b.From != nil {
		q.Since = time.Unix(*b.From, 0)
	}
	page, err := a.s.account.TransferHistory(r.Context(), caller(r), t, q)
	if err != nil {
		return err
	}
	items := []map[string]any{}
	earliest := int64(0)
	for _, tr := range page.Transfers {
		n, _ := a.s.account.Catalog().Network(tr.Network)
		it := map[string]any{
			"id": tr.TransferID, "status": brokerTransactionStatus(tr), "type": directionOf(tr),
			"targetAddress": tr.ToAddress, "symbol": tr.Symbol, "chain": n.Name, "amount": tr.Amount,
			"createdTimestamp": tr.CreatedAt.Unix(), "updatedTimestamp": tr.UpdatedAt.Unix(),
		}
		if tr.Hash != "" {
			it["hash"] = tr.Hash
		}
		if tr.AddressTag != "" {
			it["memo"] = tr.AddressTag
		}
		if !tr.Fee.IsZero() {
			it["transferFee"] = tr.Fee
		}
		if ts := tr.CreatedAt.Unix(); earliest == 0 || ts < earliest {
			earliest = ts
		}
		items = append(items, it)
	}
	out := map[string]any{"transfers": items, "total": len(items), "earliestTimestamp": earliest}
	if page.Cursor != "" {
		out["cursor"] = page.Cursor
	}
	writeOK(w, out)
	return nil
}

func brokerTransactionStatus(t linkvault.TransferResult) string {
	return string(account.ReportedState(t.Status))
}

func directionOf(t linkvault.TransferResult) string {
	switch t.Direction {
	case linkvault.TransferWithdrawal, linkvault.TransferDeposit:
		return string(t.Direction)
	}
	return "unknown"
}

// --- portfolio value

// handleHoldingsValue is POST /api/v1/holdings/value: the account's value in USD at
// the exchange's own rates (linkvault integrates crypto exchanges: no equities or
// NFTs; performance is not tracked and reads 0).
func (a *accountAPI) handleHoldingsValue(w http.ResponseWriter, r *http.Request) error {
	v, err := tokenCall(a.s, r, a.s.account.PortfolioValue)
	if err != nil {
		return err
	}
	writeOK(w, map[string]any{
		"totalValue": v.Crypto.Add(v.Fiat).Round(2), "totalPerformance": 0, "equitiesValue": 0, "equitiesPerformance": 0,
		"cryptocurrenciesValue": v.Crypto.Round(2), "cryptocurrenciesPerformance": 0, "nftsValue": 0, "fiatValue": v.Fiat.Round(2),
	})
	return nil
}

// --- account holder

type verifyBody struct {
	AuthToken     string   `json:"authToken"`
	IntegrationID string   `json:"integrationId"`
	AccountInfo   []string `json:"accountInfo"`
}

// accountInfoTypes are the values of Mesh's AccountInfoType that exchange/verify's
// accountInfo takes, and dateOfBirth (a field of Mesh's answer, which linkvault lets an
// app ask for by name too). A field the exchange does not expose is left out of the
// answer.
var accountInfoTypes = []string{"firstName", "middleName", "lastName", "accountNumber", "email", "mobileNumber",
	"companyName", "countryCode", "city", "postalCode", "address", "id", "dateOfBirth"}

// handleExchangeVerify is POST /api/v1/exchange/verify {authToken, integrationId,
// accountInfo}: the account-holder fields the exchange exposes; notSupported where it
// exposes none.
func (a *accountAPI) handleExchangeVerify(w http.ResponseWriter, r *http.Request) error {
	var b verifyBody
	if err := a.s.decodeJSON(r, &b); err != nil {
		return err
	}
	if b.AuthToken == "" {
		return linkvault.ErrInvalid("authToken is required.")
	}
	if b.IntegrationID == "" {
		return linkvault.ErrInvalid("integrationId is required: the id of the integration in GET /api/v1/integrations.")
	}
	bt, ok := account.BrokerOfIntegrationID(b.IntegrationID)
	if !ok {
		return linkvault.ErrInvalid("Unknown integrationId; use an id from GET /api/v1/integrations.")
	}
	for i, f := range b.AccountInfo {
		name, ok := enumValue(accountInfoTypes, f)
		if !ok {
			return linkvault.ErrInvalid("accountInfo holds an unknown field; expected any of %s.", strings.Join(accountInfoTypes, ", "))
		}
		b.AccountInfo[i] = name
	}
	h, name, err := a.s.account.AccountHolder(r.Context(), caller(r), account.Target{TokenID: b.AuthToken, Broker: bt})
	if err != nil {
		return err
	}
	fields := map[string]string{
		"firstName": h.FirstName, "lastName": h.LastName, "accountNumber": h.AccountNumber, "email": h.Email,
		"countryCode": h.CountryCode, "city": h.City, "postalCode": h.PostalCode, "address": h.Address,
	}
	if h.FirstName == "" && h.LastName == "" && h.FullName != "" {
		fields["firstName"] = h.FullName
	}
	want := map[string]bool{}
	for _, f := range b.AccountInfo {
		want[f] = true
	}
	out := map[string]any{"integrationName": name}
	for k, v := range fields {
		if v != "" && (len(want) == 0 || want[k]) {
			out[k] = v
		}
	}
	if h.DateOfBirth != "" && (len(want) == 0 || want["dateOfBirth"]) {
		if d, err := time.Parse("2006-01-02", h.DateOfBirth); err == nil {
			out["dateOfBirth"] = d.Unix()
		}
	}
	writeOK(w, out)
	return nil
}

// --- token refresh and the operations linkvault does not implement

// handleTokenRefresh is POST /api/v1/token/refresh. linkvault refreshes managed tokens
// itself; the app never holds a refresh token.
func (a *accountAPI) handleTokenRefresh(w http.ResponseWriter, r *http.Request) error {
	return linkvault.Errorf(linkvault.StatusBadRequest, account.ErrTypeManagedRefresh,
		"linkvault refreshes managed tokens itself: keep using the tokenId (POST /api/v1/managed/token/get tells whether it needs the user to re-authenticate through Link). There is no refresh token to send.")
}

// notImplemented answers an operation of Mesh's API that linkvault does not offer,
// naming it and saying why.
func notImplemented(op, why string) func(w http.ResponseWriter, r *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		return linkvault.Errorf(linkvault.StatusNotFound, account.ErrTypeNotImplemented, "%s is not implemented by linkvault: %s", op, why)
	}
}
