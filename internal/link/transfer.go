package link

import (
	"context"
	"errors"

	"github.com/linkvault/linkvault"
)

// TransferParams is a transfer the user asks for in the Link page, from one of the
// session's connections.
type TransferParams struct {
	TokenID             string            `json:"tokenId"`
	Symbol              string            `json:"symbol"`
	Network             string            `json:"network"`
	ToAddress           string            `json:"toAddress"`
	Amount              linkvault.Decimal `json:"amount"`
	PreviewID           string            `json:"previewId,omitempty"`
	ClientTransactionID string            `json:"clientTransactionId,omitempty"`
}

// Preview is a transfer quote with the idempotency key the page repeats on execute.
type Preview struct {
	linkvault.TransferPreview
	ClientTransactionID string `json:"clientTransactionId"`
}

func (s *Service) checkTransfer(sess *linkvault.LinkSession, p TransferParams) (linkvault.TransferRequest, error) {
	if !sess.Permission.Allows(linkvault.PermissionWrite) {
		return linkvault.TransferRequest{}, linkvault.ErrScopeMismatch()
	}
	switch {
	case p.Symbol == "" || len(p.Symbol) > 16:
		return linkvault.TransferRequest{}, linkvault.ErrInvalid("symbol is required.")
	case p.Network == "" || len(p.Network) > 32:
		return linkvault.TransferRequest{}, linkvault.ErrInvalid("network is required.")
	case p.ToAddress == "" || len(p.ToAddress) > 256:
		return linkvault.TransferRequest{}, linkvault.ErrInvalid("toAddress is required.")
	case p.Amount.Sign() <= 0:
		return linkvault.TransferRequest{}, linkvault.ErrInvalid("amount must be a positive number.")
	case len(p.ClientTransactionID) > 64 || len(p.PreviewID) > 128:
		return linkvault.TransferRequest{}, linkvault.ErrInvalid("identifiers are too long.")
	}
	return linkvault.TransferRequest{
		ClientTransactionID: p.ClientTransactionID, ToAddress: p.ToAddress, Symbol: p.Symbol,
		Network: p.Network, Amount: p.Amount, PreviewID: p.PreviewID,
	}, nil
}

// PreviewTransfer quotes a transfer (write permission only) and picks the idempotency
// key for its execution.
func (s *Service) PreviewTransfer(ctx context.Context, sess *linkvault.LinkSession, p TransferParams) (*Preview, error) {
	req, err := s.checkTransfer(sess, p)
	if err != nil {
		return nil, err
	}
	var out linkvault.TransferPreview
	err = s.withCredential(ctx, sess, p.TokenID, func(pr linkvault.Provider, cred linkvault.Credential) (err error) {
		out, err = pr.PreviewTransfer(ctx, cred, req)
		return err
	})
	if err != nil {
		return nil, transferError(err)
	}
	return &Preview{TransferPreview: out, ClientTransactionID: "lvt_" + linkvault.NewRandomID(16)}, nil
}

// ExecuteTransfer runs a previewed transfer; the provider deduplicates by
// ClientTransactionID, so a repeated click sends once.
func (s *Service) ExecuteTransfer(ctx context.Context, sess *linkvault.LinkSession, p TransferParams) (*linkvault.TransferResult, error) {
	req, err := s.checkTransfer(sess, p)
	if err != nil {
		return nil, err
	}
	if req.ClientTransactionID == "" {
		return nil, linkvault.ErrInvalid("clientTransactionId is required; preview the transfer first.")
	}
	var out linkvault.TransferResult
	err = s.withCredential(ctx, sess, p.TokenID, func(pr linkvault.Provider, cred linkvault.Credential) (err error) {
		out, err = pr.ExecuteTransfer(ctx, cred, req)
		return err
	})
	if err != nil {
		return nil, transferError(err)
	}
	return &out, nil
}

// transferError names the provider's refusal where it is a known one.
func transferError(err error) error {
	var e *linkvault.Error
	if !errors.As(err, &e) || e.Type != linkvault.ErrTypeProviderRejected {
		return err
	}
	var pe *linkvault.ProviderError
	if errors.As(e.Err, &pe) {
		switch pe.Code {
		case "insufficient_funds":
			return &linkvault.Error{Status: linkvault.StatusBadRequest, Type: linkvault.ErrTypeInsufficientFunds,
				Message: "Insufficient funds for this transfer.", Display: "Not enough funds for this transfer."}
		case "invalid_address", "invalid_network", "invalid_amount", "invalid_symbol":
			return &linkvault.Error{Status: linkvault.StatusBadRequest, Type: linkvault.ErrTypeTransferNotAllowed,
				Message: "The exchange refused the transfer details (" + pe.Code + ").", Display: "The exchange refused these transfer details."}
		}
	}
	return err
}
