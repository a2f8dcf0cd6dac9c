package http

import (
	"cmp"
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

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
	start, err := ui.svc.StartOAuth(r.Context(), sess, bt, req.TokenID, req.Mode, ui.parseView(q).query())
	if err != nil {
		return err
	}
	if start.ResumeKey != "" {
		ui.setResumeCookie(w, start.ResumeKey, start.Resume.Reveal(), sess)
	}
	writeOK(w, map[string]string{"authUrl": start.AuthURL})
	return nil
}

// handleOAuthStatus tells a page waiting for its OAuth flow where it stands: the
// popup's, or, in a native SDK, the consent the SDK sent to the system browser. The
// page polls it (with backoff, and at once when the app comes back to the
// foreground) until the outcome is there.
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

// decodeAccountCall decodes the body of a Link page call that goes through the account
// service into v; a server without the account service refuses the call.
func (ui *linkUI) decodeAccountCall(r *http.Request, v any) error {
	if err := ui.s.decodeJSON(r, v); err != nil {
		return err
	}
	if ui.s.account == nil {
		return errAccountUnavailable()
	}
	return nil
}

// handleHoldings returns the holdings of one of the session's connections, through the
// account service (audited like the REST API's holdings/get). Values are in USD, as the
// exchange's rates give them; when the page shows another currency (fiatCurrency), the
// answer adds the USD rate of that currency from the same exchange's published rates,
// with the time it was read, or nothing when the exchange has none (the page then
// shows USD rather than a wrong label).
func (ui *linkUI) handleHoldings(w http.ResponseWriter, r *http.Request, sess *linkvault.LinkSession) error {
	var req struct {
		TokenID      string `json:"tokenId"`
		FiatCurrency string `json:"fiatCurrency"`
	}
	if err := ui.decodeAccountCall(r, &req); err != nil {
		return err
	}
	h, err := ui.s.account.Holdings(r.Context(), linkCaller(sess), account.Target{TokenID: req.TokenID})
	if err != nil {
		return err
	}
	writeOK(w, linkHoldings{Holdings: h.Holdings, Display: ui.displayRate(r.Context(), h.Connection.Broker, req.FiatCurrency)})
	return nil
}

// linkHoldings is the Link page's holdings: Mesh's shape plus the display rate.
type linkHoldings struct {
	linkvault.Holdings
	Display *displayRate `json:"display,omitempty"`
}

// displayRate converts the USD values of an answer to the page's currency.
type displayRate struct {
	Currency string            `json:"currency"`
	Rate     linkvault.Decimal `json:"rate"` // units of Currency per USD
	AsOf     time.Time         `json:"asOf"`
	Source   string            `json:"source"` // the exchange's name
}

// displayRate reads the exchange's published rate of currency against USD; nil when
// currency is USD, malformed, or the exchange publishes none (a failure to read rates
// never fails the holdings).
func (ui *linkUI) displayRate(ctx context.Context, b linkvault.BrokerType, currency string) *displayRate {
	currency = strings.ToUpper(currency)
	if currency == "" || currency == "USD" || !currencyPattern.MatchString(currency) || ui.s.deps.Providers == nil {
		return nil
	}
	p, ok := ui.s.deps.Providers.Provider(b)
	if !ok {
		return nil
	}
	rates, err := p.Rates(ctx, "USD")
	if err != nil {
		return nil
	}
	v, ok := rates.Convert(linkvault.DecimalFromInt(1), "USD", currency, 8)
	if !ok || v.Sign() <= 0 {
		return nil
	}
	asOf := rates.AsOf
	if asOf.IsZero() {
		asOf = ui.s.now()
	}
	return &displayRate{Currency: currency, Rate: v, AsOf: asOf.UTC(), Source: p.Integration().Name}
}

// linkAsset is one asset the transfer form offers: what the account holds and can
// send, and the networks it can leave on (the account service's Configure, as the
// REST API's managed-transfer configure).
type linkAsset struct {
	Symbol    string             `json:"symbol"`
	Available linkvault.Decimal  `json:"available"`
	Networks  []linkAssetNetwork `json:"networks"`
}

// linkAssetNetwork is one network of a linkAsset, with what the form checks before
// asking for a preview.
type linkAssetNetwork struct {
	ID             string            `json:"id"`
	Code           string            `json:"code"`
	Name           string            `json:"name"`
	Eligible       bool              `json:"eligible"`
	Reason         string            `json:"reason,omitempty"`
	Minimum        linkvault.Decimal `json:"minimum,omitzero"`
	Maximum        linkvault.Decimal `json:"maximum,omitzero"`
	Fee            linkvault.Decimal `json:"fee,omitzero"`
	FeeKnown       bool              `json:"feeKnown"`
	AddressPattern string            `json:"addressPattern,omitempty"`
	TagRequired    bool              `json:"tagRequired,omitempty"`
}

// handleTransferOptions lists what the transfer form may offer for one of the
// session's connections, through the account service (same checks and audit as the
// REST API's configure).
func (ui *linkUI) handleTransferOptions(w http.ResponseWriter, r *http.Request, sess *linkvault.LinkSession) error {
	var req struct {
		TokenID string `json:"tokenId"`
	}
	if err := ui.decodeAccountCall(r, &req); err != nil {
		return err
	}
	assets, err := ui.s.account.Configure(r.Context(), linkCaller(sess), account.Target{TokenID: req.TokenID}, "", "")
	if err != nil {
		return err
	}
	out := []linkAsset{}
	for _, a := range assets {
		la := linkAsset{Symbol: a.Symbol, Available: a.Available, Networks: []linkAssetNetwork{}}
		for _, n := range a.Networks {
			la.Networks = append(la.Networks, linkAssetNetwork{
				ID: n.Network.ID, Code: n.Network.Code, Name: n.Network.Name, Eligible: n.Eligible, Reason: n.Reason,
				Minimum: n.Minimum, Maximum: n.Maximum, Fee: n.Fee, FeeKnown: n.FeeKnown,
				AddressPattern: n.AddressPattern, TagRequired: n.TagRequired,
			})
		}
		out = append(out, la)
	}
	writeOK(w, map[string]any{"assets": out})
	return nil
}

// linkTransferBody is a transfer the user asks for in the Link page, from one of the
// session's connections: the preview's fields, then the previewId (and an MFA code)
// to execute it.
type linkTransferBody struct {
	TokenID   string `json:"tokenId"`
	Symbol    string `json:"symbol"`
	NetworkID string `json:"networkId"`
	Network   string `json:"network"` // the network's code, as the page's form names it
	ToAddress string `json:"toAddress"`
	// AddressTag is the memo/tag some networks need with the address (XRP, XLM).
	AddressTag string   `json:"addressTag"`
	Amount     *float64 `json:"amount"`
	PreviewID  string   `json:"previewId"`
	MFACode    string   `json:"mfaCode"`
}

// linkPreview is the Link page's quote: previewId and the exchange's figures.
type linkPreview struct {
	PreviewID   string            `json:"previewId"`
	Symbol      string            `json:"symbol"`
	NetworkID   string            `json:"networkId"`
	NetworkName string            `json:"networkName"`
	ToAddress   string            `json:"toAddress"`
	AddressTag  string            `json:"addressTag,omitempty"`
	Amount      linkvault.Decimal `json:"amount"`
	Fee         linkvault.Decimal `json:"estimatedNetworkGasFee"`
	FeeCurrency string            `json:"feeCurrency"`
	// FeeKnown is false when the exchange sets the fee only when it sends (the page
	// then says so instead of showing a zero fee).
	FeeKnown  bool              `json:"feeKnown"`
	Total     linkvault.Decimal `json:"totalAmount"`
	ExpiresIn int64             `json:"expiresInSeconds"`
	// ClientTransactionID names the transfer in the page's events (Mesh's
	// transferExecuted carries one): the previewId.
	ClientTransactionID string `json:"clientTransactionId"`
}

// handleTransferPreview previews a transfer through the account service: the same
// rules, limits, stored preview, audit and error mapping as the REST API's preview.
func (ui *linkUI) handleTransferPreview(w http.ResponseWriter, r *http.Request, sess *linkvault.LinkSession) error {
	var b linkTransferBody
	if err := ui.decodeAccountCall(r, &b); err != nil {
		return err
	}
	amount, err := amountOf(b.Amount, "amount")
	if err != nil {
		return err
	}
	p, err := ui.s.account.Preview(r.Context(), linkCaller(sess), account.PreviewInput{
		Target: account.Target{TokenID: b.TokenID}, NetworkID: cmp.Or(b.NetworkID, b.Network), Symbol: b.Symbol,
		ToAddress: b.ToAddress, AddressTag: b.AddressTag, Amount: amount,
	})
	if err != nil {
		return err
	}
	writeOK(w, linkPreview{
		PreviewID: p.ID, Symbol: p.Symbol, NetworkID: p.Network.ID, NetworkName: p.Network.Name, ToAddress: p.ToAddress, AddressTag: p.AddressTag,
		Amount: p.Amount, Fee: p.Fee, FeeCurrency: p.FeeCurrency, FeeKnown: p.FeeKnown, Total: p.Total, ExpiresIn: int64(p.ExpiresIn / time.Second),
		ClientTransactionID: p.ID,
	})
	return nil
}

// linkTransfer is the Link page's executed transfer (or an MFA request).
type linkTransfer struct {
	Status      string            `json:"status"` // pending | succeeded | failed | mfaRequired | mfaFailed
	TransferID  string            `json:"transferId,omitempty"`
	Symbol      string            `json:"symbol,omitempty"`
	NetworkID   string            `json:"networkId,omitempty"`
	NetworkName string            `json:"networkName,omitempty"`
	Amount      linkvault.Decimal `json:"amount"`
	Fee         linkvault.Decimal `json:"fee"`
	ToAddress   string            `json:"toAddress,omitempty"`
	Hash        string            `json:"hash,omitempty"`
}

// handleTransferExecute executes a preview through the account service: the same
// ledger, idempotency key derivation and audit as the REST API's execute.
func (ui *linkUI) handleTransferExecute(w http.ResponseWriter, r *http.Request, sess *linkvault.LinkSession) error {
	var b linkTransferBody
	if err := ui.decodeAccountCall(r, &b); err != nil {
		return err
	}
	code := linkvault.NewSecret(b.MFACode)
	b.MFACode = ""
	ex, err := ui.s.account.Execute(r.Context(), linkCaller(sess), account.ExecuteInput{
		Target: account.Target{TokenID: b.TokenID}, PreviewID: b.PreviewID, MFACode: code,
	})
	if err != nil {
		return err
	}
	if ex.Transfer == nil {
		writeOK(w, linkTransfer{Status: ex.Status})
		return nil
	}
	t := ex.Transfer
	n, _ := ui.s.account.Catalog().Network(t.Network)
	writeOK(w, linkTransfer{
		Status: t.Status, TransferID: t.ID, Symbol: t.Symbol, NetworkID: n.ID, NetworkName: n.Name,
		Amount: t.Amount, Fee: t.Fee, ToAddress: t.ToAddress, Hash: t.Hash,
	})
	return nil
}
