package exchangesim

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The Coinbase-like API (also spoken by the sandbox), in the paths and shapes of the
// Coinbase App API reference (docs.cdp.coinbase.com/coinbase-app):
//
//	GET  /v2/user                                      current user (email with wallet:user:email)
//	GET  /v2/accounts?limit=&starting_after=           accounts, cursor-paginated
//	GET  /v2/accounts/{id}
//	GET  /v2/accounts/{id}/transactions                transactions, newest first, paginated
//	POST /v2/accounts/{id}/transactions                send {type:"send", to, amount, currency, network?, idem?, destination_tag?}
//	                                                   (wallet:transactions:send; 402 two_factor_required
//	                                                   until CB-2FA-TOKEN carries the code)
//	GET  /v2/accounts/{id}/transactions/{txid}
//	GET  /v2/accounts/{id}/addresses                   (wallet:addresses:read)
//	POST /v2/accounts/{id}/addresses                   {name?} → address on the default network (wallet:addresses:create)
//	GET  /v2/exchange-rates?currency=                  public
//
// Errors are {"errors":[{"id","message"}]} with the documented ids.
func (e *Exchange) routeCoinbaseAPI() {
	e.mux.HandleFunc("GET /v2/user", e.faulty(classAPI, e.withBearer(e.cbUser)))
	e.mux.HandleFunc("GET /v2/accounts", e.faulty(classAPI, e.withBearer(e.cbAccounts)))
	e.mux.HandleFunc("GET /v2/accounts/{id}", e.faulty(classAPI, e.withBearer(e.cbAccount)))
	e.mux.HandleFunc("GET /v2/accounts/{id}/transactions", e.faulty(classAPI, e.withBearer(e.cbTransactions)))
	e.mux.HandleFunc("POST /v2/accounts/{id}/transactions", e.faulty(classAPI, e.withBearer(e.cbSend)))
	e.mux.HandleFunc("GET /v2/accounts/{id}/transactions/{txid}", e.faulty(classAPI, e.withBearer(e.cbTransaction)))
	e.mux.HandleFunc("GET /v2/accounts/{id}/addresses", e.faulty(classAPI, e.withBearer(e.cbAddresses)))
	e.mux.HandleFunc("POST /v2/accounts/{id}/addresses", e.faulty(classAPI, e.withBearer(e.cbCreateAddress)))
	e.mux.HandleFunc("GET /v2/exchange-rates", e.faulty(classAPI, e.cbExchangeRates))
}

// pathWallet returns the grant's wallet (a Coinbase account, an Uphold card) that the
// path's {id} names, answering 404 when there is none, or 403 first when the grant
// lacks scope (unless scope is empty).
func (e *Exchange) pathWallet(w http.ResponseWriter, r *http.Request, g *grant, scope string) (walletView, bool) {
	if scope != "" && !e.requireScope(w, g, scope) {
		return walletView{}, false
	}
	wv, ok := e.users.walletByID(g.user, r.PathValue("id"))
	if !ok {
		msg := "Not found"
		if e.flavor == FlavorUphold {
			msg = "Card not found."
		}
		e.apiError(w, http.StatusNotFound, "not_found", msg)
	}
	return wv, ok
}

// walletRequest decodes the JSON body of a request on the path's wallet into req, then
// resolves that wallet as pathWallet does. A malformed body answers 400 first
// (invalid_request at Coinbase, validation_failed at Uphold).
func (e *Exchange) walletRequest(w http.ResponseWriter, r *http.Request, g *grant, scope string, req any) (walletView, bool) {
	if !readJSON(r, req) {
		code := "invalid_request"
		if e.flavor == FlavorUphold {
			code = "validation_failed"
		}
		e.apiError(w, http.StatusBadRequest, code, "Malformed request body.")
		return walletView{}, false
	}
	return e.pathWallet(w, r, g, scope)
}

// withBearer authenticates the bearer access token and passes its grant on.
func (e *Exchange) withBearer(h func(http.ResponseWriter, *http.Request, *grant)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		g, problem := e.grants.authenticate(bearerToken(r), e.now(), e.killsTokensOnPasswordChange())
		if problem != tokenOK {
			if e.flavor == FlavorUphold {
				// Uphold answers refused tokens in OAuth form (its SDK checks error=invalid_token).
				e.writeError(w, classToken, http.StatusUnauthorized, "invalid_token", "The access token is not valid.")
				return
			}
			e.apiError(w, http.StatusUnauthorized, string(problem), "The access token is not valid.")
			return
		}
		h(w, r, g)
	}
}

// requireScope answers 403 invalid_scope (Coinbase) or forbidden (Uphold) when the
// grant lacks scope.
func (e *Exchange) requireScope(w http.ResponseWriter, g *grant, scope string) bool {
	if hasScope(g, scope) {
		return true
	}
	code := "invalid_scope"
	if e.flavor == FlavorUphold {
		code = "forbidden"
	}
	e.apiError(w, http.StatusForbidden, code, "The authorization lacks the scope "+scope+".")
	return false
}

type cbMoney struct {
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
}

func money(v float64, c string) cbMoney { return cbMoney{Amount: formatAmount(v), Currency: c} }

func (e *Exchange) cbUser(w http.ResponseWriter, _ *http.Request, g *grant) {
	data := map[string]any{
		"id": g.user.id, "name": strings.Join(strings.Fields(strings.Join([]string{first(g.user), last(g.user)}, " ")), " "),
		"username": g.user.name, "profile_location": nil, "profile_bio": nil, "profile_url": nil,
		"avatar_url": "https://images.example.invalid/avatar.png", "resource": "user", "resource_path": "/v2/user",
	}
	if hasScope(g, "wallet:user:read") {
		data["time_zone"], data["native_currency"], data["bitcoin_unit"] = "UTC", "USD", "BTC"
		data["country"] = map[string]string{"code": "US", "name": "United States"}
		data["created_at"] = g.createdAt.UTC().Format(time.RFC3339)
	}
	if hasScope(g, "wallet:user:email") {
		data["email"] = g.user.email()
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data})
}

func first(u *user) string { f, _ := u.names(); return f }
func last(u *user) string  { _, l := u.names(); return l }

// hasScope reports whether the grant's space-separated scope includes scope.
func hasScope(g *grant, scope string) bool {
	return slices.Contains(strings.Fields(g.scope), scope)
}

type cbCurrency struct {
	Code         string `json:"code"`
	Name         string `json:"name"`
	Color        string `json:"color"`
	Exponent     int    `json:"exponent"`
	Type         string `json:"type"`
	AddressRegex string `json:"address_regex,omitempty"`
	Slug         string `json:"slug"`
}

type cbAccount struct {
	ID           string     `json:"id"`
	Name         string     `json:"name"`
	Primary      bool       `json:"primary"`
	Type         string     `json:"type"`
	Currency     cbCurrency `json:"currency"`
	Balance      cbMoney    `json:"balance"`
	CreatedAt    string     `json:"created_at"`
	UpdatedAt    string     `json:"updated_at"`
	Resource     string     `json:"resource"`
	ResourcePath string     `json:"resource_path"`
}

func (e *Exchange) cbAccountOf(wv walletView, primary bool, g *grant) cbAccount {
	a := cbAccount{
		ID: wv.ID, Name: wv.Currency + " Wallet", Primary: primary, Type: "wallet",
		Currency: cbCurrency{Code: wv.Currency, Name: currencyName(wv.Currency), Color: "#0052FF", Exponent: 8, Type: "crypto",
			Slug: strings.ToLower(strings.ReplaceAll(currencyName(wv.Currency), " ", "-"))},
		Balance:   money(wv.Balance, wv.Currency),
		CreatedAt: g.createdAt.UTC().Format(time.RFC3339), UpdatedAt: e.now().UTC().Format(time.RFC3339),
		Resource: "account", ResourcePath: "/v2/accounts/" + wv.ID,
	}
	if isFiat(wv.Currency) {
		a.Type, a.Currency.Type, a.Currency.Exponent = "fiat", "fiat", 2
	} else if ns := networksOf(wv.Currency); len(ns) > 0 {
		a.Currency.AddressRegex = addressPatterns[ns[0].Kind]
	}
	return a
}

// paginate answers a cursor-paginated list (limit 1-100, default 25; starting_after an
// id of the list) with the pagination object of the reference.
func paginate[T any](r *http.Request, path string, items []T, id func(T) string) (page []T, pagination map[string]any) {
	limit := 25
	if s := r.URL.Query().Get("limit"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 0 && n <= 100 {
			limit = n
		}
	}
	after := r.URL.Query().Get("starting_after")
	start := 0
	if after != "" {
		for i, it := range items {
			if id(it) == after {
				start = i + 1
			}
		}
	}
	end := min(start+limit, len(items))
	var next any // JSON null when there is no next page
	if end < len(items) {
		next = path + "?" + url.Values{"limit": {strconv.Itoa(limit)}, "starting_after": {id(items[end-1])}}.Encode()
	}
	var startingAfter any
	if after != "" {
		startingAfter = after
	}
	return items[start:end], map[string]any{"ending_before": nil, "starting_after": startingAfter, "limit": limit,
		"order": "desc", "previous_uri": nil, "next_uri": next}
}

func (e *Exchange) cbAccounts(w http.ResponseWriter, r *http.Request, g *grant) {
	wallets := e.users.wallets(g.user)
	page, pagination := paginate(r, "/v2/accounts", wallets, func(wv walletView) string { return wv.ID })
	data := make([]cbAccount, 0, len(page))
	for _, wv := range page {
		data = append(data, e.cbAccountOf(wv, wv.ID == wallets[0].ID, g))
	}
	writeJSON(w, http.StatusOK, map[string]any{"pagination": pagination, "data": data})
}

func (e *Exchange) cbAccount(w http.ResponseWriter, r *http.Request, g *grant) {
	wv, ok := e.pathWallet(w, r, g, "")
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": e.cbAccountOf(wv, false, g)})
}

func (e *Exchange) cbTransactions(w http.ResponseWriter, r *http.Request, g *grant) {
	wv, ok := e.pathWallet(w, r, g, "")
	if !ok {
		return
	}
	txs := e.history(g.user, func(t *transfer) bool { return t.WalletID == wv.ID && t.State != transferQuoted })
	page, pagination := paginate(r, "/v2/accounts/"+wv.ID+"/transactions", txs, func(t transfer) string { return t.ID })
	data := make([]map[string]any, 0, len(page))
	for _, t := range page {
		data = append(data, cbTransaction(t))
	}
	writeJSON(w, http.StatusOK, map[string]any{"pagination": pagination, "data": data})
}

type cbSendRequest struct {
	Type           string `json:"type"`
	To             string `json:"to"`
	Amount         string `json:"amount"`
	Currency       string `json:"currency"`
	Network        string `json:"network"`
	Idem           string `json:"idem"`
	DestinationTag string `json:"destination_tag"`
}

func (e *Exchange) cbSend(w http.ResponseWriter, r *http.Request, g *grant) {
	var req cbSendRequest
	wv, ok := e.walletRequest(w, r, g, "wallet:transactions:send", &req)
	if !ok {
		return
	}
	switch {
	case req.Type != "send":
		e.apiError(w, http.StatusBadRequest, "param_required", "type must be send.")
		return
	case req.To == "" || req.Amount == "" || req.Currency == "":
		e.apiError(w, http.StatusBadRequest, "param_required", "to, amount and currency are required.")
		return
	case req.Currency != wv.Currency:
		e.apiError(w, http.StatusBadRequest, "validation_error", "Currency does not match the account.")
		return
	}
	// A replayed idem returns the first transaction without asking for 2FA again.
	if req.Idem != "" {
		if t, ok := e.lookupTransferByKey(g.user, req.Idem); ok {
			writeJSON(w, http.StatusCreated, map[string]any{"data": cbTransaction(t)})
			return
		}
	}
	amount, okAmount := parseAmount(req.Amount)
	if !okAmount {
		e.apiError(w, http.StatusBadRequest, "validation_error", "Please enter a valid amount.")
		return
	}
	netName := req.Network
	if netName == "" {
		netName = defaultNetwork(wv.Currency)
	}
	spec := transferSpec{User: g.user, WalletID: wv.ID, Currency: wv.Currency, Network: netName, Amount: amount,
		To: req.To, Tag: req.DestinationTag, ClientKey: req.Idem}
	if _, insufficient, p := e.quote(spec); p != transferOK {
		e.apiError(w, http.StatusBadRequest, "validation_error", cbProblemMessage(p))
		return
	} else if insufficient {
		e.apiError(w, http.StatusBadRequest, "validation_error", cbProblemMessage(problemInsufficient))
		return
	}
	if g.user.twoFactor {
		code := r.Header.Get("CB-2FA-TOKEN")
		if code == "" || !e.users.checkMFA(g.user, code) {
			if code != "" {
				e.stats.mfaFailures.Add(1)
			}
			e.apiError(w, http.StatusPaymentRequired, "two_factor_required", "Two-step verification code required to complete this request.")
			return
		}
	}
	t, _, p := e.send(spec)
	if p != transferOK {
		e.apiError(w, http.StatusBadRequest, "validation_error", cbProblemMessage(p))
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"data": cbTransaction(t)})
}

func cbProblemMessage(p transferProblem) string {
	switch p {
	case problemInsufficient:
		return "You don't have that much."
	case problemInvalidAddress:
		return "Please enter a valid email or crypto address."
	case problemInvalidNetwork:
		return "This currency cannot be sent on that network."
	case problemBelowMinimum:
		return "The amount is below the minimum for this network."
	}
	return "The amount is not valid."
}

func (e *Exchange) cbTransaction(w http.ResponseWriter, r *http.Request, g *grant) {
	t, ok := e.lookupTransfer(g.user, r.PathValue("txid"))
	if !ok || t.WalletID != r.PathValue("id") || t.State == transferQuoted {
		e.apiError(w, http.StatusNotFound, "not_found", "Not found")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": cbTransaction(t)})
}

// cbTransaction is a transaction resource in the current schema of the reference
// (network{status, hash, network_name, transaction_fee}, to/from, idem).
func cbTransaction(t transfer) map[string]any {
	typ, amount, netStatus := "send", -t.Amount, "pending"
	if t.Deposit {
		typ, amount = "receive", t.Amount
	}
	status := "pending"
	if t.State == transferSent {
		status, netStatus = "completed", "confirmed"
	}
	m := map[string]any{
		"id": t.ID, "type": typ, "status": status,
		"amount":        money(amount, t.Currency),
		"native_amount": cbMoney{Amount: strconv.FormatFloat(amount*usdPrice(t.Currency), 'f', 2, 64), Currency: "USD"},
		"description":   nil,
		"created_at":    t.CreatedAt.UTC().Format(time.RFC3339),
		"updated_at":    t.SettledAt.UTC().Format(time.RFC3339),
		"resource":      "transaction", "resource_path": "/v2/accounts/" + t.WalletID + "/transactions/" + t.ID,
		"network": map[string]any{
			"status": netStatus, "network_name": t.Network, "hash": t.Hash,
			"transaction_fee": money(t.Fee, t.Currency),
		},
	}
	if t.ClientKey != "" {
		m["idem"] = t.ClientKey
	}
	if t.Deposit {
		m["from"] = map[string]string{"resource": "network", "currency": t.Currency}
	} else {
		m["to"] = map[string]string{"resource": "address", "address": t.To, "currency": t.Currency}
	}
	return m
}

func (e *Exchange) cbAddressOf(wv walletView, n netSpec, addr string) map[string]any {
	id := uuidFromString(wv.ID + "/" + n.Name)
	return map[string]any{
		"id": id, "address": addr, "name": nil, "network": n.Name,
		"created_at": e.now().UTC().Format(time.RFC3339), "updated_at": e.now().UTC().Format(time.RFC3339),
		"resource": "address", "resource_path": "/v2/accounts/" + wv.ID + "/addresses/" + id,
	}
}

func (e *Exchange) cbAddresses(w http.ResponseWriter, r *http.Request, g *grant) {
	if data, ok := e.walletAddresses(w, r, g, "wallet:addresses:read", e.cbAddressOf); ok {
		writeJSON(w, http.StatusOK, map[string]any{"pagination": map[string]any{"limit": 25, "order": "desc", "next_uri": nil}, "data": data})
	}
}

// walletAddresses resolves the path's wallet as pathWallet does and renders its known
// addresses, one for each of its currency's networks that has one, in network order.
func (e *Exchange) walletAddresses(w http.ResponseWriter, r *http.Request, g *grant, scope string,
	render func(walletView, netSpec, string) map[string]any) ([]map[string]any, bool) {
	wv, ok := e.pathWallet(w, r, g, scope)
	if !ok {
		return nil, false
	}
	out := []map[string]any{}
	for _, n := range networksOf(wv.Currency) {
		if a, ok := e.users.knownAddress(g.user, wv.Currency, n.Name); ok {
			out = append(out, render(wv, n, a))
		}
	}
	return out, true
}

func (e *Exchange) cbCreateAddress(w http.ResponseWriter, r *http.Request, g *grant) {
	if !e.requireScope(w, g, "wallet:addresses:create") {
		return
	}
	wv, ok := e.users.walletByID(g.user, r.PathValue("id"))
	if !ok || isFiat(wv.Currency) {
		e.apiError(w, http.StatusNotFound, "not_found", "Not found")
		return
	}
	n := networksOf(wv.Currency)[0]
	writeJSON(w, http.StatusCreated, map[string]any{"data": e.cbAddressOf(wv, n, e.users.depositAddress(g.user, wv.Currency, n))})
}

// cbExchangeRates: one unit of `currency` (default USD) in every simulated currency.
func (e *Exchange) cbExchangeRates(w http.ResponseWriter, r *http.Request) {
	base := strings.ToUpper(r.URL.Query().Get("currency"))
	if base == "" {
		base = "USD"
	}
	if _, ok := assets[base]; !ok {
		e.apiError(w, http.StatusBadRequest, "invalid_request", "Invalid currency.")
		return
	}
	rates := map[string]string{}
	for c := range assets {
		if v, ok := rate(base, c); ok {
			rates[c] = formatRate(v)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"currency": base, "rates": rates}})
}
