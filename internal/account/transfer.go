package account

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/audit"
)

// Input limits of a transfer, the same for every caller.
const (
	MaxIDLength      = 128 // clientTransactionId, previewId, fromAccountId (Mesh: transactionId maxLength 128)
	MinAddressLength = 8
	MaxAddressLength = 256
	MaxSymbolLength  = 12
	// finishBudget bounds the write of a transfer's outcome after the exchange answered.
	finishBudget = 10 * time.Second
)

// maxAmount is the largest amount a transfer may name.
var maxAmount = linkvault.MustDecimal("1000000000000000")

// TransferInput is a transfer a caller asks for.
type TransferInput struct {
	Target
	// FromAccountID optionally selects the exchange wallet to send from.
	FromAccountID string
	ToAddress     string
	Symbol        string
	// Network names the network: linkvault's network code ("ethereum"), or its name.
	Network string
	// Amount in units of Symbol; nil when the caller gave none.
	Amount *linkvault.Decimal
	// PreviewID is the exchange's quote id from a preview (optional).
	PreviewID string
	// ClientTransactionID is the caller's idempotency key: one transfer per
	// (client, id). Required to execute.
	ClientTransactionID string
}

// transfer is a validated TransferInput.
type transfer struct {
	target Target
	txID   string
	req    linkvault.TransferRequest
}

// checkTransfer validates everything that can be checked without the tokenId, so bad
// input never reaches a lookup, a write or the exchange. The rules and messages are
// the same for the REST API and the Link page.
func (s *Service) checkTransfer(in TransferInput, execute bool) (*transfer, error) {
	if in.TokenID == "" {
		return nil, linkvault.ErrInvalid("fromAuthToken (the tokenId) is required.")
	}
	switch addr := in.ToAddress; {
	case addr == "":
		return nil, linkvault.ErrInvalid("toAddress is required.")
	case len(addr) < MinAddressLength || len(addr) > MaxAddressLength || !isToken(addr, ":_.-"):
		return nil, linkvault.ErrInvalid("toAddress must be %d-%d characters of letters, digits, ':', '_', '.' or '-'.", MinAddressLength, MaxAddressLength)
	}
	symbol := strings.ToUpper(in.Symbol)
	switch {
	case symbol == "":
		return nil, linkvault.ErrInvalid("symbol is required.")
	case len(symbol) > MaxSymbolLength || !isToken(symbol, ""):
		return nil, linkvault.ErrInvalid("symbol must be 1-%d letters or digits, e.g. \"ETH\".", MaxSymbolLength)
	}
	network, err := s.parseNetwork(in.Broker, in.Network)
	if err != nil {
		return nil, err
	}
	switch amt := in.Amount; {
	case amt == nil:
		return nil, linkvault.ErrInvalid("amount is required.")
	case amt.Sign() <= 0:
		return nil, linkvault.ErrInvalid("amount must be greater than zero.")
	case amt.Cmp(maxAmount) > 0:
		return nil, linkvault.ErrInvalid("amount is too large.")
	}
	if len(in.FromAccountID) > MaxIDLength || !isPrintable(in.FromAccountID) {
		return nil, linkvault.ErrInvalid("fromAccountId must be at most %d printable characters.", MaxIDLength)
	}
	if len(in.PreviewID) > MaxIDLength || !isToken(in.PreviewID, ":_.-") {
		return nil, linkvault.ErrInvalid("previewId is not one this API issues.")
	}
	t := &transfer{target: in.Target}
	if execute {
		switch id := in.ClientTransactionID; {
		case id == "":
			return nil, linkvault.ErrInvalid("clientTransactionId is required: it makes a retried execute safe.")
		case len(id) > MaxIDLength || !isPrintable(id):
			return nil, linkvault.ErrInvalid("clientTransactionId must be 1-%d printable characters without spaces.", MaxIDLength)
		}
		t.txID = in.ClientTransactionID
	}
	t.req = linkvault.TransferRequest{
		FromAccountID: in.FromAccountID, ToAddress: in.ToAddress, Symbol: symbol, Network: network,
		Amount: *in.Amount, PreviewID: in.PreviewID,
	}
	return t, nil
}

// parseNetwork resolves a network against the networks linkvault knows (those of
// every enabled integration), and against the stated integration's when the caller
// states one. A caller that states none (the Link page) has the integration checked
// once the connection is known (checkNetworkOf), with the same message.
func (s *Service) parseNetwork(bt linkvault.BrokerType, network string) (string, error) {
	id := strings.ToLower(network)
	if id == "" {
		return "", linkvault.ErrInvalid("networkId is required (e.g. \"ethereum\").")
	}
	var known []string
	for _, p := range s.providers.List() {
		for _, n := range p.Integration().Networks {
			if !slices.Contains(known, n) {
				known = append(known, n)
			}
		}
	}
	if !slices.Contains(known, id) {
		return "", linkvault.ErrInvalid("Unknown network; supported: %s.", strings.Join(known, ", "))
	}
	if p, ok := s.providers.Provider(bt); ok {
		if err := checkNetwork(p.Integration(), id); err != nil {
			return "", err
		}
	}
	return id, nil
}

func checkNetwork(in linkvault.Integration, network string) error {
	if !slices.Contains(in.Networks, network) {
		return linkvault.ErrInvalid("%s cannot send on network %q; supported: %s.", in.Name, network, strings.Join(in.Networks, ", "))
	}
	return nil
}

// checkNetworkOf verifies, once the connection is known, that its integration sends on
// the transfer's network (callers that state no broker learn it only then).
func checkNetworkOf(c *conn, t *transfer) error {
	return checkNetwork(c.provider.Integration(), t.req.Network)
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

// Preview is the exchange's quote for a transfer.
type Preview struct {
	linkvault.TransferPreview
	// ExpiresIn is how long the quote holds, when the exchange says (0: unknown).
	ExpiresIn time.Duration
	// ClientTransactionID is the idempotency key to execute it with: the caller's
	// own when it gave one, else one the service picked.
	ClientTransactionID string
	Connection          Connection
}

// Preview asks the exchange to quote a transfer (network fee, total). It needs write
// permission and a write-scoped connection.
func (s *Service) Preview(ctx context.Context, c Caller, in TransferInput) (*Preview, error) {
	t, err := s.checkTransfer(in, false)
	if err != nil {
		return nil, err
	}
	if in.ClientTransactionID != "" {
		if len(in.ClientTransactionID) > MaxIDLength || !isPrintable(in.ClientTransactionID) {
			return nil, linkvault.ErrInvalid("clientTransactionId must be 1-%d printable characters without spaces.", MaxIDLength)
		}
	}
	u := s.begin(c, in.Target, audit.ActionTransferPreview)
	out, err := s.preview(ctx, u, t)
	if out != nil {
		out.ClientTransactionID = in.ClientTransactionID
		if out.ClientTransactionID == "" {
			out.ClientTransactionID = linkvault.NewRandomID(16)
		}
	}
	return out, u.end(ctx, err)
}

func (s *Service) preview(ctx context.Context, u *use, t *transfer) (*Preview, error) {
	cn, err := u.prepare(ctx, linkvault.PermissionWrite)
	if err != nil {
		return nil, err
	}
	if err := checkNetworkOf(cn, t); err != nil {
		return nil, err
	}
	var p linkvault.TransferPreview
	err = s.call(ctx, cn, func(ctx context.Context, cred linkvault.Credential) error {
		var err error
		p, err = cn.provider.PreviewTransfer(ctx, cred, t.req)
		return err
	})
	if err != nil {
		return nil, err
	}
	p.Network = firstNonEmpty(p.Network, t.req.Network)
	p.Symbol = firstNonEmpty(p.Symbol, t.req.Symbol)
	p.ToAddress = firstNonEmpty(p.ToAddress, t.req.ToAddress)
	out := &Preview{TransferPreview: p, Connection: connectionOf(cn)}
	if !p.ExpiresAt.IsZero() {
		out.ExpiresIn = max(p.ExpiresAt.Sub(s.now()), 0)
	}
	return out, nil
}

// Transfer is an executed transfer, as the exchange reported it when it accepted it.
type Transfer struct {
	ClientTransactionID string            `json:"clientTransactionId"`
	TransferID          string            `json:"transferId"`
	Status              string            `json:"status"` // pending | succeeded | failed, as the exchange reports
	ToAddress           string            `json:"toAddress"`
	Symbol              string            `json:"symbol"`
	Network             string            `json:"network"`
	Amount              linkvault.Decimal `json:"amount"`
	Fee                 linkvault.Decimal `json:"fee"`
	Total               linkvault.Decimal `json:"total"`
	Hash                string            `json:"hash,omitempty"`
	// Replayed is true when this is the stored answer of an earlier execute with the
	// same clientTransactionId (the exchange was not called again).
	Replayed bool `json:"-"`
}

// ErrReplayed wraps the stored rejection of an earlier execute with the same
// clientTransactionId; errors.Is(err, ErrReplayed) tells a replayed answer.
var ErrReplayed = errors.New("replayed")

// Execute sends a transfer at most once per (client, clientTransactionId):
//
//   - the ledger record is claimed before the exchange is called, so of two
//     concurrent executes with the same id only one calls it; the other gets 409 (or,
//     once the first finished, its stored answer);
//   - the same id with a different request is refused with 409 and changes nothing;
//   - a final answer (completed, or rejected by the exchange) is stored and replayed to
//     every retry without calling the exchange again;
//   - the exchange receives an idempotency key derived from (client, id), so even a
//     retry after a crash between its answer and our write cannot pay twice; a
//     transient failure leaves the record interrupted and the retry calls again.
//
// It needs write permission and a write-scoped connection.
func (s *Service) Execute(ctx context.Context, c Caller, in TransferInput) (*Transfer, error) {
	t, err := s.checkTransfer(in, true)
	if err != nil {
		return nil, err
	}
	u := s.begin(c, in.Target, audit.ActionTransferExecute)
	out, err := s.execute(ctx, u, t)
	return out, u.end(ctx, err)
}

func (s *Service) execute(ctx context.Context, u *use, t *transfer) (*Transfer, error) {
	if s.transfers == nil {
		return nil, &linkvault.Error{Status: linkvault.StatusServerFailure, Type: linkvault.ErrTypeInternal,
			Message: "Transfers are not available: this server has no transfer store configured."}
	}
	cn, err := u.prepare(ctx, linkvault.PermissionWrite)
	if err != nil {
		return nil, err
	}
	if err := checkNetworkOf(cn, t); err != nil {
		return nil, err
	}
	rec := &linkvault.TransferRecord{
		ClientID: u.caller.ClientID, ClientTransactionID: t.txID, TokenID: cn.res.Connection.TokenID,
		RequestHash: audit.HashRequest(t.canonical(cn.res.Connection.TokenID)),
	}
	stored, claimed, err := s.transfers.ClaimTransfer(ctx, rec, s.now().Add(-s.staleAfter))
	if err != nil {
		return nil, err
	}
	if !claimed {
		return replay(stored, rec)
	}

	req := t.req
	req.ClientTransactionID = ExchangeIdempotencyKey(rec.ClientID, rec.ClientTransactionID)
	cctx, cancel := context.WithTimeout(ctx, s.staleAfter/2)
	defer cancel()
	var res linkvault.TransferResult
	callErr := s.call(cctx, cn, func(ctx context.Context, cred linkvault.Credential) error {
		var err error
		res, err = cn.provider.ExecuteTransfer(ctx, cred, req)
		return err
	})

	var out *Transfer
	fin := *stored
	switch {
	case callErr == nil:
		out = transferOf(t, res)
		fin.Status, fin.ProviderTransferID, fin.Result = linkvault.TransferCompleted, res.TransferID, mustJSON(out)
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

func transferOf(t *transfer, res linkvault.TransferResult) *Transfer {
	amount := res.Amount
	if amount.IsZero() {
		amount = t.req.Amount
	}
	return &Transfer{
		ClientTransactionID: t.txID, TransferID: res.TransferID, Status: firstNonEmpty(string(res.Status), "pending"),
		ToAddress: firstNonEmpty(res.ToAddress, t.req.ToAddress), Symbol: firstNonEmpty(res.Symbol, t.req.Symbol),
		Network: firstNonEmpty(res.Network, t.req.Network), Amount: amount, Fee: res.Fee,
		Total: amount.Add(res.Fee), Hash: res.Hash,
	}
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
func replay(stored, rec *linkvault.TransferRecord) (*Transfer, error) {
	if !bytes.Equal(stored.RequestHash, rec.RequestHash) {
		return nil, linkvault.ErrConflict("This clientTransactionId was already used for a different transfer request; use a new clientTransactionId for a new transfer.")
	}
	switch stored.Status {
	case linkvault.TransferCompleted:
		var out Transfer
		if err := json.Unmarshal(stored.Result, &out); err != nil {
			return nil, err
		}
		out.Replayed = true
		return &out, nil
	case linkvault.TransferRejected:
		var se storedError
		if err := json.Unmarshal(stored.Result, &se); err != nil {
			return nil, err
		}
		return nil, &linkvault.Error{Status: se.Status, Type: se.Type, Message: se.Message, Display: se.Display, Err: ErrReplayed}
	}
	return nil, linkvault.ErrConflict("A transfer with this clientTransactionId is being executed; retry shortly to get its result.")
}

// canonical is the encoding of everything that defines the transfer, hashed into the
// ledger record: the same clientTransactionId with any other value is a conflict.
func (t *transfer) canonical(tokenID string) []byte {
	return mustJSON([]string{
		tokenID, t.req.FromAccountID, t.req.ToAddress, t.req.Symbol, t.req.Network,
		t.req.Amount.String(), t.req.PreviewID,
	})
}

// ExchangeIdempotencyKey is the one derivation of the idempotency key sent to the
// exchange: from the client and its clientTransactionId (so two clients' ids never
// collide at an exchange user they share), shaped as a UUID (version 8) because
// exchanges expect one.
func ExchangeIdempotencyKey(clientID, clientTransactionID string) string {
	sum := sha256.Sum256([]byte("linkvault-transfer\x00" + clientID + "\x00" + clientTransactionID))
	sum[6] = sum[6]&0x0f | 0x80
	sum[8] = sum[8]&0x3f | 0x80
	h := hex.EncodeToString(sum[:16])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic("account: marshal: " + err.Error()) // plain structs of strings and numbers; cannot fail
	}
	return b
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
