package http

import (
	"cmp"
	"errors"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/account"
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

// parseTransfer decodes a transfer body into the account service's input; the service
// validates it.
func (a *accountAPI) parseTransfer(r *http.Request) (account.TransferInput, error) {
	var b transferBody
	if err := a.s.decodeJSON(r, &b); err != nil {
		return account.TransferInput{}, err
	}
	if b.FromAuthToken == "" {
		return account.TransferInput{}, linkvault.ErrInvalid("fromAuthToken (the tokenId) is required.")
	}
	if b.FromType == "" {
		return account.TransferInput{}, linkvault.ErrInvalid("fromType is required.")
	}
	bt, err := linkvault.ParseBrokerType(b.FromType)
	if err != nil {
		return account.TransferInput{}, err
	}
	network := b.NetworkID
	switch {
	case b.NetworkID != "" && b.NetworkName != "" && !strings.EqualFold(b.NetworkID, b.NetworkName):
		return account.TransferInput{}, linkvault.ErrInvalid("networkId and networkName name different networks.")
	case network == "":
		network = b.NetworkName
	}
	amount, err := amountOf(b.Amount)
	if err != nil {
		return account.TransferInput{}, err
	}
	return account.TransferInput{
		Target: account.Target{TokenID: b.FromAuthToken, Broker: bt}, FromAccountID: b.FromAccountID,
		ToAddress: b.ToAddress, Symbol: b.Symbol, Network: network, Amount: amount, PreviewID: b.PreviewID,
		ClientTransactionID: b.ClientTransactionID,
	}, nil
}

// amountOf turns an amount decoded as a JSON number (Mesh's schemas declare amounts
// as numbers, so a string is refused by the decoder) into the exact decimal that was
// sent: the shortest decimal that reads back as the float64. nil stays nil (the
// service reports a missing amount).
func amountOf(f *float64) (*linkvault.Decimal, error) {
	if f == nil {
		return nil, nil
	}
	if math.Abs(*f) >= 1e18 {
		return nil, linkvault.ErrInvalid("amount is too large.")
	}
	d, ok := linkvault.DecimalFromFloat(*f)
	if !ok {
		return nil, linkvault.ErrInvalid("amount must be greater than zero.")
	}
	return &d, nil
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
	in, err := a.parseTransfer(r)
	if err != nil {
		return err
	}
	p, err := a.s.account.Preview(r.Context(), caller(r), in)
	if err != nil {
		return err
	}
	res := &previewResult{
		// Exchanges without a quote step give no preview id of their own.
		PreviewID: cmp.Or(p.PreviewID, linkvault.NewRandomID(12)), ToAddress: p.ToAddress, Symbol: p.Symbol, Amount: p.Amount,
		NetworkID: p.Network, NetworkName: networkDisplayName(p.Network), TotalEstimatedAmount: p.Total,
		EstimatedNetworkGasFee: fee{Fee: p.Fee, FeeCurrency: p.Symbol},
	}
	if !p.ExpiresAt.IsZero() {
		secs := int64(p.ExpiresIn / time.Second)
		res.PreviewExpiresIn = &secs
	}
	out := &previewContent{Status: "succeeded", PreviewResult: res}
	if p.InsufficientFund {
		out.Status, out.ErrorMessage = "failed", "The account's balance does not cover the amount plus the network fee."
	}
	writeOK(w, out)
	return nil
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

// handleExecuteTransfer is POST /api/v1/transfers/managed/execute: sends crypto from
// the connected account. Needs a write key and a write-scoped tokenId; idempotent by
// clientTransactionId (account.Service.Execute). A replayed answer carries the header
// Idempotent-Replayed: true.
func (a *accountAPI) handleExecuteTransfer(w http.ResponseWriter, r *http.Request) error {
	in, err := a.parseTransfer(r)
	if err != nil {
		return err
	}
	t, err := a.s.account.Execute(r.Context(), caller(r), in)
	if err != nil {
		if errors.Is(err, account.ErrReplayed) {
			w.Header().Set("Idempotent-Replayed", "true")
		}
		return err
	}
	if t.Replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	writeOK(w, executeContent{Status: "succeeded", ExecuteTransferResult: executeResult{
		TransferID: t.TransferID, ClientTransactionID: t.ClientTransactionID, Status: t.Status,
		ToAddress: t.ToAddress, Symbol: t.Symbol, Amount: t.Amount, NetworkID: t.Network,
		NetworkName: networkDisplayName(t.Network), Hash: t.Hash,
		NetworkGasFee: fee{Fee: t.Fee, FeeCurrency: t.Symbol}, TotalAmount: t.Total,
	}})
	return nil
}

// networkDisplayName is a network's name as Mesh shows it ("Ethereum").
func networkDisplayName(n string) string {
	if n == "" {
		return ""
	}
	return strings.ToUpper(n[:1]) + n[1:]
}
