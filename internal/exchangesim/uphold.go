package exchangesim

import (
	"net/http"
	"strconv"
	"time"
)

// quoteTTL is how long an Uphold-like transaction quote may wait for its commit. The real
// exchange gives 30 s; the simulator is more patient so a person can click through a demo.
const quoteTTL = 5 * time.Minute

// The Uphold-like API:
//
//	GET  /v0/me                                          cheap validation
//	GET  /v0/me/cards                                    cards (one per currency) with balances
//	POST /v0/me/cards/{id}/transactions[?commit=true]    quote a withdrawal; header Idempotency-Key
//	POST /v0/me/cards/{id}/transactions/{txid}/commit    execute a quote (idempotent)
//	GET  /v0/me/cards/{id}/transactions/{txid}
func (e *Exchange) routeUpholdAPI() {
	e.mux.HandleFunc("GET /v0/me", e.faulty(classAPI, e.withBearer(e.upMe)))
	e.mux.HandleFunc("GET /v0/me/cards", e.faulty(classAPI, e.withBearer(e.upCards)))
	e.mux.HandleFunc("POST /v0/me/cards/{id}/transactions", e.faulty(classAPI, e.withBearer(e.upCreateTransaction)))
	e.mux.HandleFunc("POST /v0/me/cards/{id}/transactions/{txid}/commit", e.faulty(classAPI, e.withBearer(e.upCommit)))
	e.mux.HandleFunc("GET /v0/me/cards/{id}/transactions/{txid}", e.faulty(classAPI, e.withBearer(e.upTransaction)))
}

func (e *Exchange) upMe(w http.ResponseWriter, _ *http.Request, g *grant) {
	writeJSON(w, http.StatusOK, map[string]any{
		"id": g.user.id, "username": g.user.name, "firstName": g.user.name, "email": g.user.name + "@example.invalid",
		"status": "ok", "settings": map[string]string{"currency": "USD"},
	})
}

type upNormalized struct {
	Available string `json:"available"`
	Balance   string `json:"balance"`
	Currency  string `json:"currency"`
}

type upCard struct {
	ID         string         `json:"id"`
	Label      string         `json:"label"`
	Currency   string         `json:"currency"`
	Available  string         `json:"available"`
	Balance    string         `json:"balance"`
	Normalized []upNormalized `json:"normalized"`
}

func (e *Exchange) upCards(w http.ResponseWriter, _ *http.Request, g *grant) {
	wallets := e.users.wallets(g.user)
	cards := make([]upCard, 0, len(wallets))
	for _, wv := range wallets {
		usd := strconv.FormatFloat(wv.Balance*usdPrice(wv.Currency), 'f', 2, 64)
		cards = append(cards, upCard{
			ID: wv.ID, Label: currencyName(wv.Currency) + " card", Currency: wv.Currency,
			Available: formatAmount(wv.Balance), Balance: formatAmount(wv.Balance),
			Normalized: []upNormalized{{Available: usd, Balance: usd, Currency: "USD"}},
		})
	}
	writeJSON(w, http.StatusOK, cards)
}

type upTransactionRequest struct {
	Denomination struct {
		Amount   string `json:"amount"`
		Currency string `json:"currency"`
	} `json:"denomination"`
	Destination string `json:"destination"`
	Network     string `json:"network"`
}

func (e *Exchange) upCreateTransaction(w http.ResponseWriter, r *http.Request, g *grant) {
	var req upTransactionRequest
	if !readJSON(r, &req) {
		e.apiError(w, http.StatusBadRequest, "validation_failed", "Malformed request body.")
		return
	}
	wv, ok := e.users.walletByID(g.user, r.PathValue("id"))
	if !ok {
		e.apiError(w, http.StatusNotFound, "not_found", "Card not found.")
		return
	}
	if req.Denomination.Currency != "" && req.Denomination.Currency != wv.Currency {
		e.apiError(w, http.StatusBadRequest, "validation_failed", "Denomination must be in the card currency.")
		return
	}
	amount, okAmount := parseAmount(req.Denomination.Amount)
	if !okAmount {
		e.apiError(w, http.StatusBadRequest, "invalid_amount", "Amount is invalid.")
		return
	}
	spec := transferSpec{
		User: g.user, WalletID: wv.ID, Currency: wv.Currency, Network: req.Network, Amount: amount,
		To: req.Destination, ClientKey: r.Header.Get("Idempotency-Key"),
	}
	t, _, p := e.createQuote(spec, quoteTTL)
	if p != transferOK {
		e.apiError(w, http.StatusBadRequest, string(p), "The transaction cannot be made.")
		return
	}
	if r.URL.Query().Get("commit") == "true" {
		if t, p = e.commit(g.user, t.ID); p != transferOK {
			e.apiError(w, http.StatusBadRequest, string(p), "The transaction cannot be committed.")
			return
		}
	}
	writeJSON(w, http.StatusOK, upTransaction(t))
}

func (e *Exchange) upCommit(w http.ResponseWriter, r *http.Request, g *grant) {
	t, ok := e.lookupTransfer(g.user, r.PathValue("txid"))
	if !ok || t.WalletID != r.PathValue("id") {
		e.apiError(w, http.StatusNotFound, "not_found", "Transaction not found.")
		return
	}
	t, p := e.commit(g.user, t.ID)
	if p != transferOK {
		e.apiError(w, http.StatusBadRequest, string(p), "The transaction cannot be committed.")
		return
	}
	writeJSON(w, http.StatusOK, upTransaction(t))
}

func (e *Exchange) upTransaction(w http.ResponseWriter, r *http.Request, g *grant) {
	t, ok := e.lookupTransfer(g.user, r.PathValue("txid"))
	if !ok || t.WalletID != r.PathValue("id") {
		e.apiError(w, http.StatusNotFound, "not_found", "Transaction not found.")
		return
	}
	writeJSON(w, http.StatusOK, upTransaction(t))
}

func upTransaction(t transfer) map[string]any {
	m := map[string]any{
		"id": t.ID, "type": "withdrawal", "status": string(t.State), "network": t.Network,
		"createdAt":    t.CreatedAt.UTC().Format(time.RFC3339),
		"denomination": map[string]string{"amount": formatAmount(t.Amount), "currency": t.Currency},
		"fees":         []map[string]string{{"type": "network", "amount": formatAmount(t.Fee), "currency": t.Currency}},
		"origin": map[string]string{
			"CardId": t.WalletID, "amount": formatAmount(t.Amount + t.Fee), "currency": t.Currency, "fee": formatAmount(t.Fee),
		},
		"destination": map[string]string{"address": t.To, "amount": formatAmount(t.Amount), "currency": t.Currency},
		"params":      map[string]string{"txid": t.Hash},
	}
	if t.State == transferQuoted {
		m["expiresAt"] = t.ExpiresAt.UTC().Format(time.RFC3339)
	}
	return m
}
