package exchangesim

import (
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// The Coinbase-like API (also spoken by the sandbox): Coinbase v2 paths and shapes.
//
//	GET  /v2/user                                       cheap validation
//	GET  /v2/accounts?limit=&starting_after=            wallets with balances, paginated
//	GET  /v2/accounts/{id}/transactions/fee-estimate    ?amount=&currency=&network=&to=
//	POST /v2/accounts/{id}/transactions                 {type:"send", to, amount, currency, network, idem}
//	GET  /v2/accounts/{id}/transactions/{txid}
func (e *Exchange) routeCoinbaseAPI() {
	e.mux.HandleFunc("GET /v2/user", e.faulty(classAPI, e.withBearer(e.cbUser)))
	e.mux.HandleFunc("GET /v2/accounts", e.faulty(classAPI, e.withBearer(e.cbAccounts)))
	e.mux.HandleFunc("GET /v2/accounts/{id}/transactions/fee-estimate", e.faulty(classAPI, e.withBearer(e.cbFeeEstimate)))
	e.mux.HandleFunc("POST /v2/accounts/{id}/transactions", e.faulty(classAPI, e.withBearer(e.cbSend)))
	e.mux.HandleFunc("GET /v2/accounts/{id}/transactions/{txid}", e.faulty(classAPI, e.withBearer(e.cbTransaction)))
}

// withBearer authenticates the bearer access token and passes its grant on.
func (e *Exchange) withBearer(h func(http.ResponseWriter, *http.Request, *grant)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		g, problem := e.grants.authenticate(bearerToken(r), e.now(), e.killsTokensOnPasswordChange())
		if problem != tokenOK {
			e.apiError(w, http.StatusUnauthorized, string(problem), "The access token is not valid.")
			return
		}
		h(w, r, g)
	}
}

type cbMoney struct {
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
}

func money(v float64, c string) cbMoney { return cbMoney{Amount: formatAmount(v), Currency: c} }

func (e *Exchange) cbUser(w http.ResponseWriter, _ *http.Request, g *grant) {
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{
		"id": g.user.id, "name": g.user.name, "username": g.user.name,
		"resource": "user", "resource_path": "/v2/user",
	}})
}

type cbAccount struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Primary  bool   `json:"primary"`
	Type     string `json:"type"`
	Currency struct {
		Code string `json:"code"`
		Name string `json:"name"`
	} `json:"currency"`
	Balance       cbMoney `json:"balance"`
	NativeBalance cbMoney `json:"native_balance"`
	Resource      string  `json:"resource"`
	ResourcePath  string  `json:"resource_path"`
}

func (e *Exchange) cbAccounts(w http.ResponseWriter, r *http.Request, g *grant) {
	limit := 25
	if s := r.URL.Query().Get("limit"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 0 && n <= 100 {
			limit = n
		}
	}
	after := r.URL.Query().Get("starting_after")
	wallets := e.users.wallets(g.user)
	start := 0
	if after != "" {
		for i, wv := range wallets {
			if wv.ID == after {
				start = i + 1
			}
		}
	}
	end := min(start+limit, len(wallets))
	data := make([]cbAccount, 0, end-start)
	for i, wv := range wallets[start:end] {
		a := cbAccount{
			ID: wv.ID, Name: wv.Currency + " Wallet", Primary: start+i == 0, Type: "wallet",
			Balance:       money(wv.Balance, wv.Currency),
			NativeBalance: cbMoney{Amount: strconv.FormatFloat(wv.Balance*usdPrice(wv.Currency), 'f', 2, 64), Currency: "USD"},
			Resource:      "account", ResourcePath: "/v2/accounts/" + wv.ID,
		}
		if isFiat(wv.Currency) {
			a.Type = "fiat"
		}
		a.Currency.Code, a.Currency.Name = wv.Currency, currencyName(wv.Currency)
		data = append(data, a)
	}
	var next any // JSON null when there is no next page
	if end < len(wallets) {
		next = "/v2/accounts?" + url.Values{"limit": {strconv.Itoa(limit)}, "starting_after": {wallets[end-1].ID}}.Encode()
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"pagination": map[string]any{"limit": limit, "order": "asc", "next_uri": next},
		"data":       data,
	})
}

func (e *Exchange) cbFeeEstimate(w http.ResponseWriter, r *http.Request, g *grant) {
	wv, ok := e.users.walletByID(g.user, r.PathValue("id"))
	if !ok {
		e.apiError(w, http.StatusNotFound, "not_found", "Account not found.")
		return
	}
	q := r.URL.Query()
	amount, okAmount := parseAmount(q.Get("amount"))
	if !okAmount {
		e.apiError(w, http.StatusBadRequest, "invalid_amount", "Amount is invalid.")
		return
	}
	if c := q.Get("currency"); c != "" && c != wv.Currency {
		e.apiError(w, http.StatusBadRequest, "validation_error", "Currency does not match the account.")
		return
	}
	spec := transferSpec{User: g.user, WalletID: wv.ID, Currency: wv.Currency, Network: q.Get("network"), Amount: amount, To: q.Get("to")}
	fee, insufficient, p := e.quote(spec)
	if p != transferOK {
		e.apiError(w, http.StatusBadRequest, string(p), "The transfer cannot be made.")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{
		"amount":             money(amount, wv.Currency),
		"fee":                money(fee, wv.Currency),
		"total":              money(amount+fee, wv.Currency),
		"network":            spec.Network,
		"to":                 spec.To,
		"insufficient_funds": insufficient,
		"expires_at":         e.now().Add(5 * time.Minute).UTC().Format(time.RFC3339),
	}})
}

type cbSendRequest struct {
	Type     string `json:"type"`
	To       string `json:"to"`
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
	Network  string `json:"network"`
	Idem     string `json:"idem"`
}

func (e *Exchange) cbSend(w http.ResponseWriter, r *http.Request, g *grant) {
	var req cbSendRequest
	if !readJSON(r, &req) {
		e.apiError(w, http.StatusBadRequest, "invalid_request", "Malformed request body.")
		return
	}
	wv, ok := e.users.walletByID(g.user, r.PathValue("id"))
	if !ok {
		e.apiError(w, http.StatusNotFound, "not_found", "Account not found.")
		return
	}
	if req.Type != "send" || (req.Currency != "" && req.Currency != wv.Currency) {
		e.apiError(w, http.StatusBadRequest, "validation_error", "Only sends in the account currency are supported.")
		return
	}
	amount, okAmount := parseAmount(req.Amount)
	if !okAmount {
		e.apiError(w, http.StatusBadRequest, "invalid_amount", "Amount is invalid.")
		return
	}
	t, _, p := e.send(transferSpec{
		User: g.user, WalletID: wv.ID, Currency: wv.Currency, Network: req.Network,
		Amount: amount, To: req.To, ClientKey: req.Idem,
	})
	if p != transferOK {
		e.apiError(w, http.StatusBadRequest, string(p), "The transfer cannot be made.")
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"data": cbTransaction(t)})
}

func (e *Exchange) cbTransaction(w http.ResponseWriter, r *http.Request, g *grant) {
	t, ok := e.lookupTransfer(g.user, r.PathValue("txid"))
	if !ok || t.WalletID != r.PathValue("id") {
		e.apiError(w, http.StatusNotFound, "not_found", "Transaction not found.")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": cbTransaction(t)})
}

func cbTransaction(t transfer) map[string]any {
	return map[string]any{
		"id": t.ID, "type": "send", "status": string(t.State), "idem": t.ClientKey,
		"amount":        money(-t.Amount, t.Currency),
		"native_amount": cbMoney{Amount: strconv.FormatFloat(-t.Amount*usdPrice(t.Currency), 'f', 2, 64), Currency: "USD"},
		"created_at":    t.CreatedAt.UTC().Format(time.RFC3339),
		"network": map[string]any{
			"status": "confirmed", "network_name": t.Network, "hash": t.Hash,
			"transaction_fee": money(t.Fee, t.Currency),
		},
		"to":       map[string]string{"resource": "address", "address": t.To},
		"resource": "transaction",
	}
}
