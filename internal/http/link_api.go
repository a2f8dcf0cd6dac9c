package http

import (
	"net/http"
	"net/url"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/account"
	"github.com/linkvault/linkvault/internal/link"
)

// The JSON endpoints the Link page script calls (and headless clients such as
// internal/link/linktest). Every one is authenticated by the page secret (pageAPI) and
// answers the usual envelope.

// handleTokens validates the tokenIds the app passed in (frontAccessTokens or the
// native shell's window.accessTokens) and returns those this session may use.
func (ui *linkUI) handleTokens(w http.ResponseWriter, r *http.Request, sess *linkvault.LinkSession) error {
	var req struct {
		AccessTokens []link.TokenRef `json:"accessTokens"`
	}
	if err := ui.s.decodeJSON(r, &req); err != nil {
		return err
	}
	known, err := ui.svc.Known(r.Context(), sess, req.AccessTokens)
	if err != nil {
		return err
	}
	writeOK(w, map[string]any{"connections": known})
	return nil
}

// handleOAuthStart begins the authorization-code round trip and returns the consent URL.
func (ui *linkUI) handleOAuthStart(w http.ResponseWriter, r *http.Request, sess *linkvault.LinkSession) error {
	var req struct {
		BrokerType string            `json:"brokerType"`
		TokenID    string            `json:"tokenId"`
		Mode       string            `json:"mode"`
		View       map[string]string `json:"view"`
	}
	if err := ui.s.decodeJSON(r, &req); err != nil {
		return err
	}
	bt, err := linkvault.ParseBrokerType(req.BrokerType)
	if err != nil {
		return err
	}
	q := url.Values{}
	for k, v := range req.View {
		q.Set(k, v)
	}
	authURL, err := ui.svc.StartOAuth(r.Context(), sess, bt, req.TokenID, req.Mode, ui.parseView(q).query())
	if err != nil {
		return err
	}
	writeOK(w, map[string]string{"authUrl": authURL})
	return nil
}

// handleOAuthStatus tells a page waiting for its popup where the flow stands.
func (ui *linkUI) handleOAuthStatus(w http.ResponseWriter, r *http.Request, sess *linkvault.LinkSession) error {
	status, outcome := ui.svc.PendingStatus(sess)
	writeOK(w, map[string]any{"status": status, "outcome": outcome})
	return nil
}

// handleAPIKey connects (or re-authenticates) an API-key integration with the key
// and secret the user created at the exchange.
func (ui *linkUI) handleAPIKey(w http.ResponseWriter, r *http.Request, sess *linkvault.LinkSession) error {
	var req struct {
		BrokerType string `json:"brokerType"`
		APIKey     string `json:"apiKey"`
		APISecret  string `json:"apiSecret"`
		TokenID    string `json:"tokenId"`
	}
	if err := ui.s.decodeJSON(r, &req); err != nil {
		return err
	}
	secret := linkvault.NewSecret(req.APISecret)
	req.APISecret = ""
	bt, err := linkvault.ParseBrokerType(req.BrokerType)
	if err != nil {
		return err
	}
	payload, err := ui.svc.ConnectAPIKey(r.Context(), sess, bt, req.APIKey, secret, req.TokenID)
	if err != nil {
		return err
	}
	writeOK(w, map[string]any{"payload": payload})
	return nil
}

// linkCaller is the account-service caller of a Link page: the session's client and
// user, with the permission of the key that opened it. The service lets it use only
// that user's connections of that scope.
func linkCaller(sess *linkvault.LinkSession) account.Caller {
	return account.Caller{ClientID: sess.ClientID, KeyID: account.KeyLinkPage, Permission: sess.Permission, UserID: sess.UserID}
}

// handleHoldings returns the holdings of one of the session's connections, through the
// account service (audited like the REST API's holdings/get).
func (ui *linkUI) handleHoldings(w http.ResponseWriter, r *http.Request, sess *linkvault.LinkSession) error {
	var req struct {
		TokenID string `json:"tokenId"`
	}
	if err := ui.s.decodeJSON(r, &req); err != nil {
		return err
	}
	if ui.s.account == nil {
		return errAccountUnavailable()
	}
	h, err := ui.s.account.Holdings(r.Context(), linkCaller(sess), account.Target{TokenID: req.TokenID})
	if err != nil {
		return err
	}
	writeOK(w, h.Holdings)
	return nil
}

// linkTransferBody is a transfer the user asks for in the Link page, from one of the
// session's connections.
type linkTransferBody struct {
	TokenID             string   `json:"tokenId"`
	Symbol              string   `json:"symbol"`
	Network             string   `json:"network"`
	ToAddress           string   `json:"toAddress"`
	Amount              *float64 `json:"amount"`
	PreviewID           string   `json:"previewId"`
	ClientTransactionID string   `json:"clientTransactionId"`
}

func (ui *linkUI) parseTransfer(r *http.Request) (account.TransferInput, error) {
	var b linkTransferBody
	if err := ui.s.decodeJSON(r, &b); err != nil {
		return account.TransferInput{}, err
	}
	if ui.s.account == nil {
		return account.TransferInput{}, errAccountUnavailable()
	}
	amount, err := amountOf(b.Amount)
	if err != nil {
		return account.TransferInput{}, err
	}
	return account.TransferInput{
		Target: account.Target{TokenID: b.TokenID}, ToAddress: b.ToAddress, Symbol: b.Symbol, Network: b.Network,
		Amount: amount, PreviewID: b.PreviewID, ClientTransactionID: b.ClientTransactionID,
	}, nil
}

// linkPreview is the Link page's quote: the exchange's preview and the idempotency key
// the page repeats on execute.
type linkPreview struct {
	linkvault.TransferPreview
	ClientTransactionID string `json:"clientTransactionId"`
}

// handleTransferPreview quotes a transfer through the account service (the same rules,
// limits, audit and error mapping as the REST API's preview).
func (ui *linkUI) handleTransferPreview(w http.ResponseWriter, r *http.Request, sess *linkvault.LinkSession) error {
	in, err := ui.parseTransfer(r)
	if err != nil {
		return err
	}
	p, err := ui.s.account.Preview(r.Context(), linkCaller(sess), in)
	if err != nil {
		return err
	}
	writeOK(w, linkPreview{TransferPreview: p.TransferPreview, ClientTransactionID: p.ClientTransactionID})
	return nil
}

// handleTransferExecute executes a previewed transfer through the account service: the
// same ledger, idempotency key derivation and audit as the REST API's execute.
func (ui *linkUI) handleTransferExecute(w http.ResponseWriter, r *http.Request, sess *linkvault.LinkSession) error {
	in, err := ui.parseTransfer(r)
	if err != nil {
		return err
	}
	if in.ClientTransactionID == "" {
		return linkvault.ErrInvalid("clientTransactionId is required; preview the transfer first.")
	}
	t, err := ui.s.account.Execute(r.Context(), linkCaller(sess), in)
	if err != nil {
		return err
	}
	writeOK(w, linkvault.TransferResult{
		TransferID: t.TransferID, Status: linkvault.TransferState(t.Status), Symbol: t.Symbol, Network: t.Network,
		Amount: t.Amount, Fee: t.Fee, ToAddress: t.ToAddress, Hash: t.Hash,
	})
	return nil
}
