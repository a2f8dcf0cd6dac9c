package http

import (
	"net/http"
	"net/url"

	"github.com/linkvault/linkvault"
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

// handleCredentials runs the username + password step of a credentials login.
func (ui *linkUI) handleCredentials(w http.ResponseWriter, r *http.Request, sess *linkvault.LinkSession) error {
	var req struct {
		BrokerType string `json:"brokerType"`
		Username   string `json:"username"`
		Password   string `json:"password"`
		TokenID    string `json:"tokenId"`
	}
	if err := ui.s.decodeJSON(r, &req); err != nil {
		return err
	}
	password := linkvault.NewSecret(req.Password)
	req.Password = ""
	bt, err := linkvault.ParseBrokerType(req.BrokerType)
	if err != nil {
		return err
	}
	step, err := ui.svc.Login(r.Context(), sess, bt, req.Username, password, req.TokenID)
	if err != nil {
		return err
	}
	writeOK(w, step)
	return nil
}

// handleMFA runs the MFA step of the pending credentials login.
func (ui *linkUI) handleMFA(w http.ResponseWriter, r *http.Request, sess *linkvault.LinkSession) error {
	var req struct {
		Code string `json:"code"`
	}
	if err := ui.s.decodeJSON(r, &req); err != nil {
		return err
	}
	step, err := ui.svc.SubmitMFA(r.Context(), sess, linkvault.NewSecret(req.Code))
	if err != nil {
		return err
	}
	writeOK(w, step)
	return nil
}

// handleHoldings returns the holdings of one of the session's connections.
func (ui *linkUI) handleHoldings(w http.ResponseWriter, r *http.Request, sess *linkvault.LinkSession) error {
	var req struct {
		TokenID string `json:"tokenId"`
	}
	if err := ui.s.decodeJSON(r, &req); err != nil {
		return err
	}
	h, err := ui.svc.Holdings(r.Context(), sess, req.TokenID)
	if err != nil {
		return err
	}
	writeOK(w, h)
	return nil
}

// handleTransferPreview quotes a transfer from one of the session's connections.
func (ui *linkUI) handleTransferPreview(w http.ResponseWriter, r *http.Request, sess *linkvault.LinkSession) error {
	var req link.TransferParams
	if err := ui.s.decodeJSON(r, &req); err != nil {
		return err
	}
	p, err := ui.svc.PreviewTransfer(r.Context(), sess, req)
	if err != nil {
		return err
	}
	writeOK(w, p)
	return nil
}

// handleTransferExecute executes a previewed transfer.
func (ui *linkUI) handleTransferExecute(w http.ResponseWriter, r *http.Request, sess *linkvault.LinkSession) error {
	var req link.TransferParams
	if err := ui.s.decodeJSON(r, &req); err != nil {
		return err
	}
	res, err := ui.svc.ExecuteTransfer(r.Context(), sess, req)
	if err != nil {
		return err
	}
	writeOK(w, res)
	return nil
}
