package http

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/audit"
)

// transferBody is the body of POST /api/v1/transfers/managed/preview and /execute.
//
// Field names follow Mesh's managed-transfer API: fromAuthToken (the tokenId), fromType
// (its brokerType), toAddress, symbol, amount (in crypto), networkId, previewId. Where
// Mesh's public reference differs or is silent, linkvault chooses:
//   - networkId is linkvault's network name ("ethereum", "base", "bitcoin", "solana";
//     GET /api/v1/integrations lists each integration's networks), not a Mesh UUID;
//     networkName ("Ethereum") is accepted instead, case-insensitively;
//   - execute takes the full transfer (toAddress, symbol, network, amount) rather than
//     only a previewId, so it stands alone; previewId is optional (Uphold commits that
//     quote);
//   - execute requires clientTransactionId (1-128 printable characters, the app's own
//     id): a retry with the same id never pays twice and gets the first answer back;
//   - fromAccountId (optional) selects the exchange wallet to send from.
type transferBody struct {
	FromAuthToken       string   `json:"fromAuthToken"`
	FromType            string   `json:"fromType"`
	FromAccountID       string   `json:"fromAccountId"`
	ToAddress           string   `json:"toAddress"`
	Symbol              string   `json:"symbol"`
	NetworkID           string   `json:"networkId"`
	NetworkName         string   `json:"networkName"`
	Amount              *float64 `json:"amount"`
	PreviewID           string   `json:"previewId"`
	ClientTransactionID string   `json:"clientTransactionId"`
}

// transfer is a validated transfer request.
type transfer struct {
	tokenID string
	broker  linkvault.BrokerType
	txID    string // the app's clientTransactionId (execute only)
	req     linkvault.TransferRequest
}

// Input limits.
const (
	maxAmount         = 1e15
	maxIDLength       = 128
	minAddressLength  = 8
	maxAddressLength  = 256
	maxSymbolLength   = 12
	transferRPCBudget = 10 * time.Second // bound of one FinishTransfer after the exchange answered
)

// parseTransfer decodes and validates a transfer body. Everything that can be checked
// without the tokenId is checked here, so bad input never reaches a lookup, a write or
// the exchange.
func (a *accountAPI) parseTransfer(r *http.Request, execute bool) (*transfer, error) {
	var b transferBody
	if err := a.s.decodeJSON(r, &b); err != nil {
		return nil, err
	}
	if b.FromAuthToken == "" {
		return nil, linkvault.ErrInvalid("fromAuthToken (the tokenId) is required.")
	}
	if b.FromType == "" {
		return nil, linkvault.ErrInvalid("fromType is required.")
	}
	bt, err := linkvault.ParseBrokerType(b.FromType)
	if err != nil {
		return nil, err
	}
	t := &transfer{tokenID: b.FromAuthToken, broker: bt}
	switch addr := b.ToAddress; {
	case addr == "":
		return nil, linkvault.ErrInvalid("toAddress is required.")
	case len(addr) < minAddressLength || len(addr) > maxAddressLength || !isToken(addr, ":_.-"):
		return nil, linkvault.ErrInvalid("toAddress must be %d-%d characters of letters, digits, ':', '_', '.' or '-'.", minAddressLength, maxAddressLength)
	}
	symbol := strings.ToUpper(b.Symbol)
	switch {
	case symbol == "":
		return nil, linkvault.ErrInvalid("symbol is required.")
	case len(symbol) > maxSymbolLength || !isToken(symbol, ""):
		return nil, linkvault.ErrInvalid("symbol must be 1-%d letters or digits, e.g. \"ETH\".", maxSymbolLength)
	}
	network, err := a.parseNetwork(bt, b.NetworkID, b.NetworkName)
	if err != nil {
		return nil, err
	}
	switch amt := b.Amount; {
	case amt == nil:
		return nil, linkvault.ErrInvalid("amount is required.")
	case !(*amt > 0) || math.IsInf(*amt, 0):
		return nil, linkvault.ErrInvalid("amount must be greater than zero.")
	case *amt > maxAmount:
		return nil, linkvault.ErrInvalid("amount is too large.")
	}
	if len(b.FromAccountID) > maxIDLength || !isPrintable(b.FromAccountID) {
		return nil, linkvault.ErrInvalid("fromAccountId must be at most %d printable characters.", maxIDLength)
	}
	if len(b.PreviewID) > maxIDLength || !isToken(b.PreviewID, ":_.-") {
		return nil, linkvault.ErrInvalid("previewId is not one this API issues.")
	}
	if execute {
		switch id := b.ClientTransactionID; {
		case id == "":
			return nil, linkvault.ErrInvalid("clientTransactionId is required: it makes a retried execute safe.")
		case len(id) > maxIDLength || !isPrintable(id):
			return nil, linkvault.ErrInvalid("clientTransactionId must be 1-%d printable characters without spaces.", maxIDLength)
		}
		t.txID = b.ClientTransactionID
	}
	// Mesh's schema declares amounts as JSON numbers; the float64 the decoder made is
	// turned into the shortest decimal that reads back as it, which is what was sent.
	amount, ok := linkvault.DecimalFromFloat(*b.Amount)
	if !ok {
		return nil, linkvault.ErrInvalid("amount must be greater than zero.")
	}
	t.req = linkvault.TransferRequest{
		FromAccountID: b.FromAccountID, ToAddress: b.ToAddress, Symbol: symbol, Network: network,
		Amount: amount, PreviewID: b.PreviewID,
	}
	return t, nil
}

// parseNetwork resolves networkId / networkName against the integration's networks.
// When the integration is not enabled the name is kept, and the call fails later with
// the same answer as any other use of that integration.
func (a *accountAPI) parseNetwork(bt linkvault.BrokerType, id, name string) (string, error) {
	id, name = strings.ToLower(id), strings.ToLower(name)
	switch {
	case id == "" && name == "":
		return "", linkvault.ErrInvalid("networkId is required (e.g. \"ethereum\").")
	case id != "" && name != "" && id != name:
		return "", linkvault.ErrInvalid("networkId and networkName name different networks.")
	case id == "":
		id = name
	}
	p, ok := a.provider(bt)
	if !ok {
		return id, nil
	}
	nets := p.Integration().Networks
	if !slices.Contains(nets, id) {
		return "", linkvault.ErrInvalid("Unknown network %q for %s; supported: %s.", id, bt, strings.Join(nets, ", "))
	}
	return id, nil
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

// fee is a fee in Mesh's shape.
type fee struct {
	Fee         linkvault.Decimal `json:"fee"`
	FeeCurrency string            `json:"feeCurrency"`
}

// previewContent is the content of POST /api/v1/transfers/managed/preview. When the
// balance does not cover amount plus fee, status is "failed" with an errorMessage and
// the quote is still returned (as Mesh does).
type previewContent struct {
	Status        string         `json:"status"` // succeeded | failed
	ErrorMessage  string         `json:"errorMessage,omitempty"`
	PreviewResult *previewResult `json:"previewResult"`
}

type previewResult struct {
	PreviewID              string            `json:"previewId"`
	PreviewExpiresIn       *int64            `json:"previewExpiresIn,omitempty"` // seconds
	ToAddress              string            `json:"toAddress"`
	Symbol                 string            `json:"symbol"`
	Amount                 linkvault.Decimal `json:"amount"`
	NetworkID              string            `json:"networkId"`
	NetworkName            string            `json:"networkName"`
	TotalEstimatedAmount   linkvault.Decimal `json:"totalEstimatedAmount"`
	EstimatedNetworkGasFee fee               `json:"estimatedNetworkGasFee"`
}

// handlePreviewTransfer is POST /api/v1/transfers/managed/preview: the exchange's quote
// (network fee, total) for a transfer. Needs a write key and a write-scoped tokenId.
func (a *accountAPI) handlePreviewTransfer(w http.ResponseWriter, r *http.Request) error {
	t, err := a.parseTransfer(r, false)
	if err != nil {
		return err
	}
	ctx := r.Context()
	u := a.s.begin(r, audit.ActionTransferPreview, t.tokenID, t.broker)
	content, err := a.preview(ctx, u, t)
	if err != nil {
		return a.s.end(ctx, u, err)
	}
	writeOK(w, content)
	return a.s.end(ctx, u, nil)
}

func (a *accountAPI) preview(ctx context.Context, u *use, t *transfer) (*previewContent, error) {
	conn, err := a.prepare(ctx, u, linkvault.PermissionWrite)
	if err != nil {
		return nil, err
	}
	var p linkvault.TransferPreview
	err = a.call(ctx, conn, func(ctx context.Context, cred linkvault.Credential) error {
		var err error
		p, err = conn.provider.PreviewTransfer(ctx, cred, t.req)
		return err
	})
	if err != nil {
		return nil, err
	}
	network := firstNonEmptyString(p.Network, t.req.Network)
	res := &previewResult{
		// Exchanges without a quote step give no preview id of their own.
		PreviewID: firstNonEmptyString(p.PreviewID, linkvault.NewRandomID(12)), ToAddress: firstNonEmptyString(p.ToAddress, t.req.ToAddress),
		Symbol: firstNonEmptyString(p.Symbol, t.req.Symbol), Amount: p.Amount,
		NetworkID: network, NetworkName: networkDisplayName(network), TotalEstimatedAmount: p.Total,
		EstimatedNetworkGasFee: fee{Fee: p.Fee, FeeCurrency: firstNonEmptyString(p.Symbol, t.req.Symbol)},
	}
	if !p.ExpiresAt.IsZero() {
		secs := max(int64(p.ExpiresAt.Sub(a.s.now())/time.Second), 0)
		res.PreviewExpiresIn = &secs
	}
	out := &previewContent{Status: "succeeded", PreviewResult: res}
	if p.InsufficientFund {
		out.Status, out.ErrorMessage = "failed", "The account's balance does not cover the amount plus the network fee."
	}
	return out, nil
}

// executeContent is the content of POST /api/v1/transfers/managed/execute, in Mesh's
// shape (executeTransferResult), plus the app's clientTransactionId.
type executeContent struct {
	Status                string        `json:"status"` // succeeded
	ExecuteTransferResult executeResult `json:"executeTransferResult"`
}

type executeResult struct {
	TransferID          string            `json:"transferId"`
	ClientTransactionID string            `json:"clientTransactionId"`
	Status              string            `json:"status"` // pending | succeeded | failed, as the exchange reports
	ToAddress           string            `json:"toAddress"`
	Symbol              string            `json:"symbol"`
	Amount              linkvault.Decimal `json:"amount"`
	NetworkID           string            `json:"networkId"`
	NetworkName         string            `json:"networkName"`
	Hash                string            `json:"hash,omitempty"`
	NetworkGasFee       fee               `json:"networkGasFee"`
	TotalAmount         linkvault.Decimal `json:"totalAmount"`
}

// storedError is how a rejection is kept in an idempotency record, to be replayed.
type storedError struct {
	Status  string `json:"status"`
	Type    string `json:"errorType"`
	Message string `json:"message"`
	Display string `json:"displayMessage,omitempty"`
}

// handleExecuteTransfer is POST /api/v1/transfers/managed/execute: sends crypto from
// the connected account. Needs a write key and a write-scoped tokenId; idempotent by
// clientTransactionId (see execute). A replayed answer carries the header
// Idempotent-Replayed: true.
func (a *accountAPI) handleExecuteTransfer(w http.ResponseWriter, r *http.Request) error {
	t, err := a.parseTransfer(r, true)
	if err != nil {
		return err
	}
	ctx := r.Context()
	u := a.s.begin(r, audit.ActionTransferExecute, t.tokenID, t.broker)
	content, replayed, err := a.execute(ctx, u, t)
	if err != nil {
		if replayed {
			w.Header().Set("Idempotent-Replayed", "true")
		}
		return a.s.end(ctx, u, err)
	}
	if replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	writeOK(w, content)
	return a.s.end(ctx, u, nil)
}

// execute runs a transfer at most once per (client, clientTransactionId):
//
//   - the idempotency record is claimed before the exchange is called, so of two
//     concurrent executes with the same id only one calls it; the other gets 409 (or,
//     once the first finished, its stored answer);
//   - the same id with a different request is refused with 409 and changes nothing;
//   - a final answer (completed, or rejected by the exchange) is stored and replayed to
//     every retry without calling the exchange again;
//   - the exchange receives an idempotency key derived from (client, id), so even a
//     retry after a crash between its answer and our write cannot pay twice; a
//     transient failure leaves the record interrupted and the retry calls again.
func (a *accountAPI) execute(ctx context.Context, u *use, t *transfer) (content json.RawMessage, replayed bool, err error) {
	store := a.deps.Transfers
	if store == nil {
		return nil, false, &linkvault.Error{Status: linkvault.StatusServerFailure, Type: linkvault.ErrTypeInternal,
			Message: "Transfers are not available: this server has no transfer store configured."}
	}
	conn, err := a.prepare(ctx, u, linkvault.PermissionWrite)
	if err != nil {
		return nil, false, err
	}
	rec := &linkvault.TransferRecord{
		ClientID: u.entry.ClientID, ClientTransactionID: t.txID, TokenID: conn.res.Connection.TokenID,
		RequestHash: audit.HashRequest(t.canonical()),
	}
	stored, claimed, err := store.ClaimTransfer(ctx, rec, a.s.now().Add(-a.deps.TransferStaleAfter))
	if err != nil {
		return nil, false, err
	}
	if !claimed {
		return replay(stored, rec)
	}

	req := t.req
	req.ClientTransactionID = exchangeIdempotencyKey(rec.ClientID, rec.ClientTransactionID)
	cctx, cancel := context.WithTimeout(ctx, a.deps.TransferStaleAfter/2)
	defer cancel()
	var res linkvault.TransferResult
	callErr := a.call(cctx, conn, func(ctx context.Context, cred linkvault.Credential) error {
		var err error
		res, err = conn.provider.ExecuteTransfer(ctx, cred, req)
		return err
	})

	fin := *stored
	switch {
	case callErr == nil:
		content, err = json.Marshal(executeContent{Status: "succeeded", ExecuteTransferResult: a.executeResult(t, res)})
		if err != nil {
			return nil, false, err
		}
		fin.Status, fin.ProviderTransferID, fin.Result = linkvault.TransferCompleted, res.TransferID, content
	case isFinalRejection(callErr):
		fin.Status, fin.Result = linkvault.TransferRejected, mustJSON(storedError{
			Status: linkvault.ErrorStatus(callErr), Type: linkvault.ErrorType(callErr),
			Message: linkvault.ErrorMessage(callErr), Display: displayOf(callErr),
		})
	default:
		fin.Status = linkvault.TransferInterrupted
	}
	fctx, fcancel := context.WithTimeout(context.WithoutCancel(ctx), transferRPCBudget)
	defer fcancel()
	if err := store.FinishTransfer(fctx, &fin); err != nil {
		// The answer stands; a retry finds the record executing (409 until it is
		// stale), then calls the exchange again with the same key and gets it back.
		a.s.log.ErrorContext(ctx, "could not record a transfer outcome", "status", fin.Status, "error", err)
	}
	if callErr != nil {
		return nil, false, callErr
	}
	return content, false, nil
}

// replay answers from an idempotency record this request did not claim.
func replay(stored, rec *linkvault.TransferRecord) (json.RawMessage, bool, error) {
	if !bytes.Equal(stored.RequestHash, rec.RequestHash) {
		return nil, false, linkvault.ErrConflict("This clientTransactionId was already used for a different transfer request; use a new clientTransactionId for a new transfer.")
	}
	switch stored.Status {
	case linkvault.TransferCompleted:
		return stored.Result, true, nil
	case linkvault.TransferRejected:
		var se storedError
		if err := json.Unmarshal(stored.Result, &se); err != nil {
			return nil, false, err
		}
		return nil, true, &linkvault.Error{Status: se.Status, Type: se.Type, Message: se.Message, Display: se.Display}
	}
	return nil, false, linkvault.ErrConflict("A transfer with this clientTransactionId is being executed; retry shortly to get its result.")
}

// isFinalRejection reports whether err is the exchange refusing the transfer itself,
// which a retry would only repeat.
func isFinalRejection(err error) bool {
	switch linkvault.ErrorType(err) {
	case linkvault.ErrTypeProviderRejected, linkvault.ErrTypeInsufficientFunds, linkvault.ErrTypeTransferNotAllowed:
		return true
	}
	return false
}

func displayOf(err error) string {
	var e *linkvault.Error
	if errors.As(err, &e) {
		return e.Display
	}
	return ""
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic("http: marshal: " + err.Error()) // plain structs of strings; cannot fail
	}
	return b
}

func (a *accountAPI) executeResult(t *transfer, res linkvault.TransferResult) executeResult {
	network := firstNonEmptyString(res.Network, t.req.Network)
	symbol := firstNonEmptyString(res.Symbol, t.req.Symbol)
	amount := res.Amount
	if amount.IsZero() {
		amount = t.req.Amount
	}
	return executeResult{
		TransferID: res.TransferID, ClientTransactionID: t.txID, Status: firstNonEmptyString(string(res.Status), "pending"),
		ToAddress: firstNonEmptyString(res.ToAddress, t.req.ToAddress), Symbol: symbol, Amount: amount,
		NetworkID: network, NetworkName: networkDisplayName(network), Hash: res.Hash,
		NetworkGasFee: fee{Fee: res.Fee, FeeCurrency: symbol}, TotalAmount: amount.Add(res.Fee),
	}
}

// canonical is the encoding of everything that defines the transfer, hashed into the
// idempotency record: the same clientTransactionId with any other value is a conflict.
func (t *transfer) canonical() []byte {
	return mustJSON([]string{
		t.tokenID, string(t.broker), t.req.FromAccountID, t.req.ToAddress, t.req.Symbol, t.req.Network,
		t.req.Amount.String(), t.req.PreviewID,
	})
}

// exchangeIdempotencyKey is the idempotency key sent to the exchange: derived from the
// client and its clientTransactionId (so two clients' ids never collide at an exchange
// user they share), shaped as a UUID (version 8) because exchanges expect one.
func exchangeIdempotencyKey(clientID, clientTransactionID string) string {
	sum := sha256.Sum256([]byte("linkvault-transfer\x00" + clientID + "\x00" + clientTransactionID))
	sum[6] = sum[6]&0x0f | 0x80
	sum[8] = sum[8]&0x3f | 0x80
	h := hex.EncodeToString(sum[:16])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// networkDisplayName is a network's name as Mesh shows it ("Ethereum").
func networkDisplayName(n string) string {
	if n == "" {
		return ""
	}
	return strings.ToUpper(n[:1]) + n[1:]
}

func firstNonEmptyString(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
