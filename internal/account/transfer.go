package account

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/audit"
	"github.com/linkvault/linkvault/internal/bech32"
	"github.com/linkvault/linkvault/internal/eip55"
)

// Managed transfers, as Mesh's API runs them: preview (the transfer is checked, quoted by
// the exchange and stored server-side under a previewId bound to the client and the
// tokenId, with an expiry), then execute by previewId (plus an MFA code when the
// exchange asks for one), at most once per preview.

// Input limits of a transfer, the same for every caller.
const (
	MaxIDLength      = 128 // transactionId (Mesh: maxLength 128), account ids
	MinAddressLength = 8
	MaxAddressLength = 256
	MaxTagLength     = 64
	MaxSymbolLength  = 12
	MaxMFACodeLength = 32
	// DefaultPreviewTTL is how long a preview may be executed (Mesh's previewExpiresIn
	// example is 300 seconds); an exchange quote that expires sooner shortens it.
	DefaultPreviewTTL = 5 * time.Minute
	// previewRetention is how long an expired preview is kept, so GET …/managed/mesh
	// can still find the transfer it became.
	previewRetention = 30 * 24 * time.Hour
	// finishBudget bounds the write of a transfer's outcome after the exchange answered.
	finishBudget = 10 * time.Second
)

// maxAmount is the largest amount a transfer may name.
var maxAmount = linkvault.MustDecimal("1000000000000000")

// PreviewInput is a transfer to preview (Mesh's PreviewTransferRequest).
type PreviewInput struct {
	Target
	// NetworkID is the network's UUID (GET …/managed/networks) or linkvault's code.
	NetworkID  string
	Symbol     string
	ToAddress  string
	AddressTag string
	// Amount in units of Symbol, or AmountInFiat in FiatCurrency (USD); exactly one.
	Amount       *linkvault.Decimal
	AmountInFiat *linkvault.Decimal
	FiatCurrency string
	// TransactionID is the app's own id of the transfer (optional): a second preview
	// with the same id and the same transfer executes as the same transfer.
	TransactionID string
}

// checked is a validated PreviewInput.
type checked struct {
	in      PreviewInput
	network CatalogNetwork
	symbol  string
}

// addressPatterns are the destination address formats linkvault checks per network
// family (Network.Type), before any exchange is asked.
var addressPatterns = map[string]*regexp.Regexp{
	"evm":     regexp.MustCompile(`^0x[0-9a-fA-F]{40}$`),
	"bitcoin": regexp.MustCompile(`^(bc1[02-9ac-hj-np-z]{11,87}|[13][1-9A-HJ-NP-Za-km-z]{25,34})$`),
	"solana":  regexp.MustCompile(`^[1-9A-HJ-NP-Za-km-z]{32,44}$`),
}

// AddressPattern is the regular expression (Go and JavaScript syntax alike) a
// destination address of a network family (Network.Type) must match, or "" when
// linkvault checks only its length and characters.
func AddressPattern(networkType string) string {
	if re, ok := addressPatterns[networkType]; ok {
		return re.String()
	}
	return ""
}

// checkPreview validates everything that needs neither the tokenId nor the exchange,
// so bad input never reaches a lookup, a write or the exchange. The rules and messages
// are the same for the REST API and the Link page.
func (s *Service) checkPreview(in PreviewInput) (*checked, error) {
	if in.TokenID == "" {
		return nil, linkvault.ErrInvalid("fromAuthToken (the tokenId) is required.")
	}
	if in.NetworkID == "" {
		return nil, linkvault.ErrInvalid("networkId is required: the UUID of a network of GET /api/v1/transfers/managed/networks.")
	}
	n, ok := s.catalog.Network(in.NetworkID)
	if !ok {
		return nil, linkvault.Errorf(linkvault.StatusBadRequest, ErrTypeUnknownNetwork,
			"Unknown networkId; GET /api/v1/transfers/managed/networks lists the networks and their ids.")
	}
	symbol := strings.ToUpper(in.Symbol)
	switch {
	case symbol == "":
		return nil, linkvault.ErrInvalid("symbol is required.")
	case len(symbol) > MaxSymbolLength || !isToken(symbol, ""):
		return nil, linkvault.ErrInvalid("symbol must be 1-%d letters or digits, e.g. \"ETH\".", MaxSymbolLength)
	case !n.Open && !containsStr(n.Tokens, symbol):
		return nil, linkvault.Errorf(linkvault.StatusBadRequest, ErrTypeUnknownNetwork,
			"%s is not sent on %s by any integration; GET /api/v1/transfers/managed/tokens lists the pairs.", symbol, n.Name)
	}
	if err := checkAddress(n, in.ToAddress); err != nil {
		return nil, err
	}
	if len(in.AddressTag) > MaxTagLength || !isPrintable(in.AddressTag) {
		return nil, linkvault.ErrInvalid("addressTag must be at most %d printable characters.", MaxTagLength)
	}
	switch {
	case in.Amount == nil && in.AmountInFiat == nil:
		return nil, linkvault.ErrInvalid("amount (or amountInFiat) is required.")
	case in.Amount != nil && in.AmountInFiat != nil:
		return nil, linkvault.ErrInvalid("Give amount or amountInFiat, not both.")
	}
	for field, a := range map[string]*linkvault.Decimal{"amount": in.Amount, "amountInFiat": in.AmountInFiat} {
		switch {
		case a == nil:
		case a.Sign() <= 0:
			return nil, linkvault.ErrInvalid("%s must be greater than zero.", field)
		case a.Cmp(maxAmount) > 0:
			return nil, linkvault.ErrInvalid("%s is too large.", field)
		}
	}
	if in.AmountInFiat != nil && in.FiatCurrency != "" && !strings.EqualFold(in.FiatCurrency, "USD") {
		return nil, linkvault.ErrInvalid("fiatCurrency must be USD.")
	}
	if len(in.TransactionID) > MaxIDLength || !isPrintable(in.TransactionID) {
		return nil, linkvault.ErrInvalid("transactionId must be at most %d printable characters without spaces.", MaxIDLength)
	}
	return &checked{in: in, network: n, symbol: symbol}, nil
}

// checkAddress checks a destination address against its network's address format.
func checkAddress(n CatalogNetwork, addr string) error {
	if addr == "" {
		return linkvault.ErrInvalid("toAddress is required.")
	}
	if len(addr) < MinAddressLength || len(addr) > MaxAddressLength || !isToken(addr, ":_.-") {
		return invalidAddress(n)
	}
	if re, ok := addressPatterns[n.Type]; ok && !re.MatchString(addr) {
		return invalidAddress(n)
	}
	// A segwit address carries a checksum (BIP 173/350) that catches a mistyped
	// character; the exchange would send to whatever address it is given.
	if n.Type == "bitcoin" && strings.HasPrefix(addr, "bc1") && !bech32.ValidSegwit(addr) {
		return invalidAddress(n)
	}
	// So does a mixed-case EVM address (EIP-55); one in a single case carries none.
	if n.Type == "evm" && !eip55.Valid(addr) {
		return invalidAddress(n)
	}
	return nil
}

func invalidAddress(n CatalogNetwork) error {
	e := linkvault.Errorf(linkvault.StatusBadRequest, ErrTypeInvalidAddress, "toAddress is not a valid %s address.", n.Name)
	e.Display = "This address is not valid on the selected network."
	return e
}

// Error types of the managed-transfer flow.
const (
	ErrTypeUnknownNetwork  = "unknownNetwork"
	ErrTypeInvalidAddress  = "invalidAddress"
	ErrTypePreviewExpired  = "previewExpired"
	ErrTypeAmountTooSmall  = "amountBelowMinimum"
	ErrTypeNotImplemented  = "notImplemented"
	ErrTypeManagedRefresh  = "managedTokenRefresh"
	ErrTypeUnsupportedFiat = "fiatConversionUnavailable"
)

// previewRequest is the previewed transfer as stored in its record (Request).
type previewRequest struct {
	Network       string            `json:"network"`
	Symbol        string            `json:"symbol"`
	ToAddress     string            `json:"toAddress"`
	AddressTag    string            `json:"addressTag,omitempty"`
	Amount        linkvault.Decimal `json:"amount"`
	FromAccountID string            `json:"fromAccountId,omitempty"`
	TransactionID string            `json:"transactionId,omitempty"`
	// The exchange's quote.
	QuoteID     string            `json:"quoteId,omitempty"`
	Fee         linkvault.Decimal `json:"fee"`
	FeeCurrency string            `json:"feeCurrency,omitempty"`
	FeeKnown    bool              `json:"feeKnown,omitempty"`
	UnitPrice   linkvault.Decimal `json:"unitPrice,omitzero"` // USD per unit, when known
}

// Preview is a stored, quoted transfer (Mesh's PreviewTransferResult).
type Preview struct {
	ID          string // previewId
	ExpiresIn   time.Duration
	Network     CatalogNetwork
	Symbol      string
	ToAddress   string
	AddressTag  string
	Amount      linkvault.Decimal
	Fee         linkvault.Decimal
	FeeCurrency string
	Total       linkvault.Decimal // Amount + Fee when the fee is in the asset
	// FeeKnown is false when the exchange quotes no fee before the transfer (Coinbase
	// sets it when it sends): Fee is then zero and means "set by the exchange".
	FeeKnown      bool
	UnitPrice     linkvault.Decimal // USD per unit; zero when no rate is known
	TransactionID string            // the app's, if it gave one
	Connection    Connection
}

// InFiat converts an amount of the preview's asset to USD; false when no rate is known.
func (p *Preview) InFiat(v linkvault.Decimal) (linkvault.Decimal, bool) {
	if p.UnitPrice.IsZero() {
		return linkvault.Decimal{}, false
	}
	return v.Mul(p.UnitPrice).Round(2), true
}

// Preview checks a transfer, quotes it at the exchange and stores it for execute. It
// needs write permission and a write-scoped connection. Nothing is sent: amounts beyond
// the balance, below the exchange's minimum, an address invalid for the network and
// unknown network/symbol pairs are refused with clear errors before the quote.
func (s *Service) Preview(ctx context.Context, c Caller, in PreviewInput) (*Preview, error) {
	if s.previews == nil {
		return nil, errNoPreviewStore()
	}
	ck, err := s.checkPreview(in)
	if err != nil {
		return nil, err
	}
	return withConn(ctx, s, c, in.Target, audit.ActionTransferPreview, linkvault.PermissionWrite, func(cn *conn) (*Preview, error) {
		return s.preview(ctx, c, cn, ck)
	})
}

func errNoPreviewStore() error {
	return &linkvault.Error{Status: linkvault.StatusServerFailure, Type: linkvault.ErrTypeInternal,
		Message: "Transfers are not available: this server has no transfer store configured."}
}

func (s *Service) preview(ctx context.Context, c Caller, cn *conn, ck *checked) (*Preview, error) {
	broker := cn.res.Connection.BrokerType
	if !s.catalog.Sends(broker, ck.symbol, ck.network.Code) {
		return nil, linkvault.Errorf(linkvault.StatusBadRequest, ErrTypeUnknownNetwork,
			"%s does not send %s on %s; GET /api/v1/transfers/managed/integrations lists what each integration sends.",
			cn.provider.Integration().Name, ck.symbol, ck.network.Name)
	}
	// What the account holds and can send, from the exchange (a read).
	assets, err := callValue(ctx, s, cn, cn.provider.TransferOptions)
	if err != nil {
		return nil, err
	}
	asset, anet := findAsset(assets, ck.symbol, ck.network.Code)
	if asset != nil && anet == nil {
		return nil, linkvault.Errorf(linkvault.StatusBadRequest, ErrTypeUnknownNetwork,
			"%s does not send %s on %s for this account.", cn.provider.Integration().Name, ck.symbol, ck.network.Name)
	}
	unitPrice := s.unitPrice(ctx, cn, ck.symbol)
	amount := linkvault.Decimal{}
	if ck.in.Amount != nil {
		amount = *ck.in.Amount
	} else {
		if unitPrice.IsZero() {
			return nil, linkvault.Errorf(linkvault.StatusBadRequest, ErrTypeUnsupportedFiat,
				"No USD rate for %s is available from the exchange; give amount in %s instead of amountInFiat.", ck.symbol, ck.symbol)
		}
		q, ok := ck.in.AmountInFiat.Quo(unitPrice, 8)
		if !ok || q.Sign() <= 0 {
			return nil, linkvault.ErrInvalid("amountInFiat is too small to send any %s.", ck.symbol)
		}
		amount = q
	}
	if asset == nil || asset.Available.Cmp(amount) < 0 {
		return nil, errInsufficient()
	}
	if anet != nil {
		if !anet.Enabled {
			return nil, linkvault.Errorf(linkvault.StatusBadRequest, linkvault.ErrTypeTransferNotAllowed,
				"The exchange has withdrawals of %s on %s suspended.", ck.symbol, ck.network.Name)
		}
		if !anet.Minimum.IsZero() && amount.Cmp(anet.Minimum) < 0 {
			return nil, linkvault.Errorf(linkvault.StatusBadRequest, ErrTypeAmountTooSmall,
				"The exchange's minimum for %s on %s is %s.", ck.symbol, ck.network.Name, anet.Minimum)
		}
		if !anet.Maximum.IsZero() && amount.Cmp(anet.Maximum) > 0 {
			return nil, linkvault.ErrInvalid("The exchange's maximum for %s on %s is %s.", ck.symbol, ck.network.Name, anet.Maximum)
		}
		if anet.TagRequired && ck.in.AddressTag == "" {
			return nil, linkvault.ErrInvalid("addressTag is required for %s on %s.", ck.symbol, ck.network.Name)
		}
		if anet.AddressPattern != "" {
			if re, err := regexp.Compile(anet.AddressPattern); err == nil && !re.MatchString(ck.in.ToAddress) {
				return nil, invalidAddress(ck.network)
			}
		}
	}
	req := linkvault.TransferRequest{
		FromAccountID: asset.AccountID, ToAddress: ck.in.ToAddress, AddressTag: ck.in.AddressTag,
		Symbol: ck.symbol, Network: ck.network.Code, Amount: amount,
	}
	q, err := callValue(ctx, s, cn, func(ctx context.Context, cred linkvault.Credential) (linkvault.TransferPreview, error) {
		return cn.provider.PreviewTransfer(ctx, cred, req)
	})
	if err != nil {
		return nil, err
	}
	if q.InsufficientFund {
		return nil, errInsufficient()
	}
	now := s.now()
	expires := now.Add(s.previewTTL)
	if !q.ExpiresAt.IsZero() && q.ExpiresAt.Before(expires) {
		expires = q.ExpiresAt
	}
	id := NewUUID()
	pr := previewRequest{
		Network: ck.network.Code, Symbol: ck.symbol, ToAddress: ck.in.ToAddress, AddressTag: ck.in.AddressTag,
		Amount: amount, FromAccountID: firstNonEmpty(q.AccountID, asset.AccountID), TransactionID: ck.in.TransactionID,
		QuoteID: q.PreviewID, Fee: q.Fee, FeeCurrency: firstNonEmpty(q.FeeCurrency, ck.symbol), FeeKnown: q.FeeKnown,
		UnitPrice: unitPrice,
	}
	rec := &linkvault.TransferPreviewRecord{
		ID: id, ClientID: c.ClientID, TokenID: cn.res.Connection.TokenID,
		ClientTransactionID: firstNonEmpty(ck.in.TransactionID, "preview:"+id),
		Request:             mustJSON(pr), CreatedAt: now, ExpiresAt: expires,
	}
	if err := s.previews.CreateTransferPreview(ctx, rec); err != nil {
		return nil, err
	}
	if s.sweeps.Add(1)%64 == 0 {
		if _, err := s.previews.DeleteTransferPreviews(ctx, now.Add(-previewRetention)); err != nil {
			s.log.WarnContext(ctx, "transfer preview sweep failed", "error", err)
		}
	}
	return s.previewOf(rec, pr, connectionOf(cn)), nil
}

func (s *Service) previewOf(rec *linkvault.TransferPreviewRecord, pr previewRequest, c Connection) *Preview {
	n, _ := s.catalog.Network(pr.Network)
	p := &Preview{
		ID: rec.ID, ExpiresIn: max(rec.ExpiresAt.Sub(s.now()), 0), Network: n, Symbol: pr.Symbol,
		ToAddress: pr.ToAddress, AddressTag: pr.AddressTag, Amount: pr.Amount, Fee: pr.Fee, FeeCurrency: pr.FeeCurrency,
		Total: pr.Amount, FeeKnown: pr.FeeKnown, UnitPrice: pr.UnitPrice, TransactionID: pr.TransactionID, Connection: c,
	}
	if pr.FeeCurrency == "" || pr.FeeCurrency == pr.Symbol {
		p.Total = pr.Amount.Add(pr.Fee)
	}
	return p
}

func errInsufficient() error {
	return &linkvault.Error{Status: linkvault.StatusBadRequest, Type: linkvault.ErrTypeInsufficientFunds,
		Message: "The account's available balance does not cover the amount.", Display: "Insufficient funds for this transfer."}
}

// findAsset finds symbol among the account's assets, and its network.
func findAsset(assets []linkvault.TransferAsset, symbol, network string) (*linkvault.TransferAsset, *linkvault.AssetNetwork) {
	for i := range assets {
		a := &assets[i]
		if !strings.EqualFold(a.Symbol, symbol) {
			continue
		}
		for j := range a.Networks {
			if a.Networks[j].Network == network {
				return a, &a.Networks[j]
			}
		}
		return a, nil
	}
	return nil, nil
}

// unitPrice is the USD price of one unit of symbol from the exchange's public rates,
// or zero when none is known (a failure to read rates never fails the call).
func (s *Service) unitPrice(ctx context.Context, cn *conn, symbol string) linkvault.Decimal {
	r, err := cn.provider.Rates(ctx, "USD")
	if err != nil {
		s.log.DebugContext(ctx, "exchange rates unavailable", "broker", cn.res.Connection.BrokerType, "error", err)
		return linkvault.Decimal{}
	}
	v, ok := r.Convert(linkvault.DecimalFromInt(1), symbol, "USD", 8)
	if !ok {
		return linkvault.Decimal{}
	}
	return v
}

// ExecuteInput executes a preview (Mesh's ExecuteTransferRequest).
type ExecuteInput struct {
	Target
	PreviewID string
	// MFACode is the user's code when a previous execute answered mfaRequired.
	MFACode linkvault.Secret
}

// Execute outcomes (Mesh's ExecuteTransferStatus).
const (
	ExecuteSucceeded   = "succeeded"
	ExecuteMFARequired = "mfaRequired"
	ExecuteMFAFailed   = "mfaFailed"
)

// Execution is the answer of Execute: a transfer, or a request for an MFA code (then
// nothing was executed; repeat with the code).
type Execution struct {
	Status   string    // ExecuteSucceeded, ExecuteMFARequired or ExecuteMFAFailed
	Transfer *Transfer // set when Status is ExecuteSucceeded
	// Replayed is true when this is the stored answer of an earlier execute of the same
	// transfer (the exchange was not called again).
	Replayed bool
}

// Transfer is an executed transfer (Mesh's ExecuteTransferResultResponse and
// TransferModel).
type Transfer struct {
	ID                  string            `json:"id"` // the previewId that executed it
	ClientTransactionID string            `json:"clientTransactionId,omitempty"`
	ExchangeTransferID  string            `json:"exchangeTransferId"`
	AccountID           string            `json:"accountId,omitempty"`
	Status              string            `json:"status"` // pending | succeeded | failed
	StatusDetail        string            `json:"statusDetail,omitempty"`
	Broker              string            `json:"broker"`
	Network             string            `json:"network"`
	Symbol              string            `json:"symbol"`
	ToAddress           string            `json:"toAddress"`
	AddressTag          string            `json:"addressTag,omitempty"`
	Amount              linkvault.Decimal `json:"amount"`
	Fee                 linkvault.Decimal `json:"fee"`
	FeeCurrency         string            `json:"feeCurrency,omitempty"`
	UnitPrice           linkvault.Decimal `json:"unitPrice,omitzero"`
	Hash                string            `json:"hash,omitempty"`
	UserID              string            `json:"userId,omitempty"`
	CreatedAt           time.Time         `json:"createdAt"`
	ExecutedAt          time.Time         `json:"executedAt,omitzero"`
}

// ErrReplayed wraps the stored rejection of an earlier execute of the same transfer;
// errors.Is(err, ErrReplayed) tells a replayed answer.
var ErrReplayed = errors.New("replayed")

// Execute runs a stored preview at most once:
//
//   - the preview must be the caller's client's and made with this tokenId (else not
//     found) and not expired (unless it already executed: then its answer is replayed);
//   - the ledger record (one per client transaction id: the app's transactionId, or
//     the preview's own) is claimed before the exchange is called, so of two concurrent
//     executes only one calls it; the other gets 409 (or, once the first finished, its
//     stored answer);
//   - a final answer (completed, or rejected by the exchange) is stored and replayed to
//     every retry without calling the exchange again;
//   - the exchange receives an idempotency key derived from (client, id), so even a
//     retry after a crash between its answer and our write cannot pay twice; a
//     transient failure or an MFA request leaves the record interrupted and the retry
//     calls again.
//
// It needs write permission and a write-scoped connection.
func (s *Service) Execute(ctx context.Context, c Caller, in ExecuteInput) (*Execution, error) {
	if s.previews == nil || s.transfers == nil {
		return nil, errNoPreviewStore()
	}
	if in.TokenID == "" {
		return nil, linkvault.ErrInvalid("fromAuthToken (the tokenId) is required.")
	}
	if in.PreviewID == "" {
		return nil, linkvault.ErrInvalid("previewId is required: preview the transfer first.")
	}
	if !IsUUID(in.PreviewID) {
		return nil, errUnknownPreview()
	}
	if len(in.MFACode.Reveal()) > MaxMFACodeLength {
		return nil, linkvault.ErrInvalid("mfaCode must be at most %d characters.", MaxMFACodeLength)
	}
	return withConn(ctx, s, c, in.Target, audit.ActionTransferExecute, linkvault.PermissionWrite, func(cn *conn) (*Execution, error) {
		return s.execute(ctx, c, cn, in)
	})
}

func errUnknownPreview() error {
	return &linkvault.Error{Status: linkvault.StatusNotFound, Type: linkvault.ErrTypeNotFound,
		Message: "Unknown previewId: preview the transfer with this tokenId first."}
}

func (s *Service) execute(ctx context.Context, c Caller, cn *conn, in ExecuteInput) (*Execution, error) {
	rec, err := s.previews.GetTransferPreview(ctx, c.ClientID, strings.ToLower(in.PreviewID))
	if linkvault.IsNotFound(err) || (err == nil && rec.TokenID != cn.res.Connection.TokenID) {
		return nil, errUnknownPreview()
	}
	if err != nil {
		return nil, err
	}
	var pr previewRequest
	if err := json.Unmarshal(rec.Request, &pr); err != nil {
		return nil, err
	}
	ledger := &linkvault.TransferRecord{
		ClientID: c.ClientID, ClientTransactionID: rec.ClientTransactionID, TokenID: rec.TokenID,
		RequestHash: audit.HashRequest(pr.canonical(rec.TokenID)),
	}
	if !s.now().Before(rec.ExpiresAt) {
		// An expired preview can still answer what it became.
		stored, err := s.transfers.GetTransfer(ctx, ledger.ClientID, ledger.ClientTransactionID)
		if err == nil && stored.Status.Final() {
			return replay(stored, ledger)
		}
		return nil, &linkvault.Error{Status: linkvault.StatusBadRequest, Type: ErrTypePreviewExpired,
			Message: "The preview expired; preview the transfer again."}
	}
	stored, claimed, err := s.transfers.ClaimTransfer(ctx, ledger, s.now().Add(-s.staleAfter))
	if err != nil {
		return nil, err
	}
	if !claimed {
		return replay(stored, ledger)
	}

	req := linkvault.TransferRequest{
		ClientTransactionID: ExchangeIdempotencyKey(ledger.ClientID, ledger.ClientTransactionID),
		FromAccountID:       pr.FromAccountID, ToAddress: pr.ToAddress, AddressTag: pr.AddressTag,
		Symbol: pr.Symbol, Network: pr.Network, Amount: pr.Amount, PreviewID: pr.QuoteID, MFACode: in.MFACode,
	}
	cctx, cancel := context.WithTimeout(ctx, s.staleAfter/2)
	defer cancel()
	var res linkvault.TransferResult
	callErr := s.call(cctx, cn, func(ctx context.Context, cred linkvault.Credential) error {
		var err error
		res, err = cn.provider.ExecuteTransfer(ctx, cred, req)
		return err
	})

	var out *Execution
	fin := *stored
	switch {
	case callErr == nil:
		t := s.transferOf(rec, pr, cn, res)
		out = &Execution{Status: ExecuteSucceeded, Transfer: t}
		fin.Status, fin.ProviderTransferID, fin.Result = linkvault.TransferCompleted, res.TransferID, mustJSON(t)
	case linkvault.ErrorType(callErr) == linkvault.ErrTypeMFARequired || linkvault.ErrorType(callErr) == linkvault.ErrTypeMFAFailed:
		// Nothing was executed; the same preview is executed again with the code.
		status := ExecuteMFARequired
		if linkvault.ErrorType(callErr) == linkvault.ErrTypeMFAFailed {
			status = ExecuteMFAFailed
		}
		out, callErr = &Execution{Status: status}, nil
		fin.Status = linkvault.TransferInterrupted
	case isFinalRejection(callErr):
		fin.Status, fin.Result = linkvault.TransferRejected, mustJSON(storedErrorOf(callErr))
	default:
		fin.Status = linkvault.TransferInterrupted
	}
	fctx, fcancel := context.WithTimeout(context.WithoutCancel(ctx), finishBudget)
	defer fcancel()
	if err := s.transfers.FinishTransfer(fctx, &fin); err != nil {
		// The answer stands; a retry finds the record executing (409 until it is
		// stale), then calls the exchange again with the same key and gets it back.
		s.log.ErrorContext(ctx, "could not record a transfer outcome", "status", fin.Status, "error", err)
	}
	if callErr != nil {
		return nil, callErr
	}
	return out, nil
}

func (s *Service) transferOf(rec *linkvault.TransferPreviewRecord, pr previewRequest, cn *conn, res linkvault.TransferResult) *Transfer {
	t := &Transfer{
		ID: rec.ID, ClientTransactionID: pr.TransactionID, ExchangeTransferID: res.TransferID,
		AccountID: firstNonEmpty(res.AccountID, pr.FromAccountID), Status: firstNonEmpty(string(res.Status), string(linkvault.TransferPending)),
		StatusDetail: res.StatusDetail, Broker: string(cn.res.Connection.BrokerType), Network: firstNonEmpty(res.Network, pr.Network),
		Symbol: firstNonEmpty(res.Symbol, pr.Symbol), ToAddress: firstNonEmpty(res.ToAddress, pr.ToAddress),
		AddressTag: firstNonEmpty(res.AddressTag, pr.AddressTag), Amount: res.Amount, Fee: res.Fee,
		FeeCurrency: firstNonEmpty(res.FeeCurrency, pr.FeeCurrency), UnitPrice: pr.UnitPrice, Hash: res.Hash,
		UserID: cn.res.Connection.UserID, CreatedAt: rec.CreatedAt, ExecutedAt: s.now(),
	}
	if t.Amount.IsZero() {
		t.Amount = pr.Amount
	}
	if t.Fee.IsZero() {
		t.Fee = pr.Fee
	}
	return t
}

// canonical is the encoding of everything that defines the transfer, hashed into the
// ledger record: the same transaction id with any other transfer is a conflict, and the
// same transfer previewed again under the same transaction id executes once.
func (pr previewRequest) canonical(tokenID string) []byte {
	return mustJSON([]string{tokenID, pr.Network, pr.Symbol, pr.ToAddress, pr.AddressTag, pr.Amount.String()})
}

// storedError is how a rejection is kept in a ledger record, to be replayed.
type storedError struct {
	Status  string `json:"status"`
	Type    string `json:"errorType"`
	Message string `json:"message"`
	Display string `json:"displayMessage,omitempty"`
}

func storedErrorOf(err error) storedError {
	se := storedError{Status: linkvault.ErrorStatus(err), Type: linkvault.ErrorType(err), Message: linkvault.ErrorMessage(err)}
	var e *linkvault.Error
	if errors.As(err, &e) {
		se.Display = e.Display
	}
	return se
}

// replay answers from a ledger record this request did not claim.
func replay(stored, rec *linkvault.TransferRecord) (*Execution, error) {
	if !bytes.Equal(stored.RequestHash, rec.RequestHash) {
		return nil, linkvault.ErrConflict("This transactionId was already used for a different transfer; use a new transactionId for a new transfer.")
	}
	switch stored.Status {
	case linkvault.TransferCompleted:
		var t Transfer
		if err := json.Unmarshal(stored.Result, &t); err != nil {
			return nil, err
		}
		return &Execution{Status: ExecuteSucceeded, Transfer: &t, Replayed: true}, nil
	case linkvault.TransferRejected:
		var se storedError
		if err := json.Unmarshal(stored.Result, &se); err != nil {
			return nil, err
		}
		return nil, &linkvault.Error{Status: se.Status, Type: se.Type, Message: se.Message, Display: se.Display, Err: ErrReplayed}
	}
	return nil, linkvault.ErrConflict("This transfer is being executed; retry shortly to get its result.")
}

// ExchangeIdempotencyKey is the one derivation of the idempotency key sent to the
// exchange: from the client and the transfer's client transaction id (so two clients'
// ids never collide at an exchange user they share), shaped as a UUID (version 8)
// because exchanges expect one.
func ExchangeIdempotencyKey(clientID, clientTransactionID string) string {
	sum := sha256.Sum256([]byte("linkvault-transfer\x00" + clientID + "\x00" + clientTransactionID))
	sum[6] = sum[6]&0x0f | 0x80
	sum[8] = sum[8]&0x3f | 0x80
	return formatUUID(sum[:16])
}

// isToken reports whether s holds only ASCII letters, digits and the given extra bytes.
func isToken(s, extra string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(extra, c) >= 0) {
			return false
		}
	}
	return true
}

// isPrintable reports whether s is printable ASCII without spaces.
func isPrintable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic("account: marshal: " + err.Error()) // plain structs of strings and decimals; cannot fail
	}
	return b
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
