package exchangesim

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The Uphold-like API, in the paths and shapes of Uphold's REST reference
// (github.com/uphold/docs):
//
//	GET  /v0/me                                      user object (user:read)
//	GET  /v0/me/cards                                cards, Range/Content-Range paginated (cards:read)
//	POST /v0/me/cards/{id}/transactions[?commit=true] create a quote {denomination, destination, reference?}
//	                                                 (transactions:withdraw)
//	POST /v0/me/cards/{id}/transactions/{txid}/commit commit a quote; with OTP on: 401 + "OTP-Token: Required"
//	                                                 until the OTP-Token header carries the code; past ttl: 404
//	GET  /v0/me/cards/{id}/transactions              the card's transactions, newest first, Range-paginated
//	GET  /v0/me/transactions                         all of the user's transactions, Range-paginated
//	GET  /v0/me/cards/{id}/addresses                 [{formats:[{format,value}], type}]
//	POST /v0/me/cards/{id}/addresses                 {network} → {id: address, network} (cards:write)
//	GET  /v0/ticker/{currency}                       public: [{ask, bid, currency, pair}]
//
// Token refusals are OAuth errors ({"error": "invalid_token"}); validation failures are
// {"code": "validation_failed", "errors": {...}} with nested codes.
func (e *Exchange) routeUpholdAPI() {
	e.mux.HandleFunc("GET /v0/me", e.faulty(classAPI, e.withBearer(e.upMe)))
	e.mux.HandleFunc("GET /v0/me/cards", e.faulty(classAPI, e.withBearer(e.upCards)))
	e.mux.HandleFunc("POST /v0/me/cards/{id}/transactions", e.faulty(classAPI, e.withBearer(e.upCreateTransaction)))
	e.mux.HandleFunc("POST /v0/me/cards/{id}/transactions/{txid}/commit", e.faulty(classAPI, e.withBearer(e.upCommit)))
	e.mux.HandleFunc("GET /v0/me/cards/{id}/transactions", e.faulty(classAPI, e.withBearer(e.upCardTransactions)))
	e.mux.HandleFunc("GET /v0/me/transactions", e.faulty(classAPI, e.withBearer(e.upUserTransactions)))
	e.mux.HandleFunc("GET /v0/me/cards/{id}/addresses", e.faulty(classAPI, e.withBearer(e.upAddresses)))
	e.mux.HandleFunc("POST /v0/me/cards/{id}/addresses", e.faulty(classAPI, e.withBearer(e.upCreateAddress)))
	e.mux.HandleFunc("GET /v0/ticker/{currency}", e.faulty(classAPI, e.upTicker))
}

func (e *Exchange) upMe(w http.ResponseWriter, _ *http.Request, g *grant) {
	f, l := g.user.names()
	writeJSON(w, http.StatusOK, map[string]any{
		"id": g.user.id, "username": g.user.name, "firstName": f, "lastName": l, "name": f + " " + l,
		"email": g.user.email(), "country": "US", "state": "US-CA", "birthdate": "1990-01-31",
		"address":  map[string]string{"city": "Sim City", "line1": "1 Test Street", "zipCode": "94105"},
		"memberAt": g.createdAt.UTC().Format(time.RFC3339), "status": "ok", "type": "individual",
		"settings": map[string]any{"currency": "USD", "otp": map[string]any{
			"login": map[string]bool{"enabled": false},
			"transactions": map[string]any{"send": map[string]bool{"enabled": g.user.twoFactor},
				"transfer": map[string]bool{"enabled": false}, "withdraw": map[string]any{"crypto": map[string]bool{"enabled": g.user.twoFactor}}},
		}},
		"verifications": map[string]any{},
	})
}

var rangePattern = regexp.MustCompile(`^items=(\d{1,9})-(\d{1,9})$`)

// upRange answers a Range-paginated collection (at most 50 items; 412 for a malformed
// Range, 416 for one that cannot be satisfied) and reports whether it wrote the page.
func upRange[T any](e *Exchange, w http.ResponseWriter, r *http.Request, items []T, render func(T) any) {
	start, end := 0, 49
	if h := r.Header.Get("Range"); h != "" {
		m := rangePattern.FindStringSubmatch(h)
		if m == nil {
			e.apiError(w, http.StatusPreconditionFailed, "precondition_failed", "Malformed Range header.")
			return
		}
		start, _ = strconv.Atoi(m[1])
		end, _ = strconv.Atoi(m[2])
		if end < start {
			e.apiError(w, http.StatusPreconditionFailed, "precondition_failed", "Malformed Range header.")
			return
		}
		end = min(end, start+49)
	}
	if start > 0 && start >= len(items) {
		e.apiError(w, http.StatusRequestedRangeNotSatisfiable, "range_not_satisfiable", "Range not satisfiable.")
		return
	}
	last := min(end, len(items)-1)
	out := make([]any, 0, max(last-start+1, 0))
	for i := start; i <= last; i++ {
		out = append(out, render(items[i]))
	}
	w.Header().Set("Content-Range", fmt.Sprintf("items %d-%d/%d", start, max(last, start), len(items)))
	writeJSON(w, http.StatusOK, out)
}

func (e *Exchange) upCardOf(u *user, wv walletView) map[string]any {
	usd := strconv.FormatFloat(wv.Balance*usdPrice(wv.Currency), 'f', 2, 64)
	addrs := map[string]string{}
	for _, n := range networksOf(wv.Currency) {
		if a, ok := e.users.knownAddress(u, wv.Currency, n.Name); ok {
			addrs[n.Name] = a
		}
	}
	// A card is provisioned an address on its currency's default network.
	if ns := networksOf(wv.Currency); len(ns) > 0 && len(addrs) == 0 {
		addrs[ns[0].Name] = e.users.depositAddress(u, wv.Currency, ns[0])
	}
	return map[string]any{
		"id": wv.ID, "label": currencyName(wv.Currency) + " card", "currency": wv.Currency, "address": addrs,
		"available": formatAmount(wv.Balance), "balance": formatAmount(wv.Balance),
		"normalized": []map[string]string{{"available": usd, "balance": usd, "currency": "USD"}},
		"settings":   map[string]any{"starred": true, "protected": false},
	}
}

func (e *Exchange) upCards(w http.ResponseWriter, r *http.Request, g *grant) {
	upRange(e, w, r, e.users.wallets(g.user), func(wv walletView) any { return e.upCardOf(g.user, wv) })
}

type upTransactionRequest struct {
	Denomination struct {
		Amount   string `json:"amount"`
		Currency string `json:"currency"`
	} `json:"denomination"`
	Destination string `json:"destination"`
	Reference   string `json:"reference"`
}

// upValidation writes {"code":"validation_failed","errors":{field:{...nested code}}}.
func (e *Exchange) upValidation(w http.ResponseWriter, field, code, message string) {
	writeJSON(w, http.StatusBadRequest, map[string]any{
		"code": "validation_failed",
		"errors": map[string]any{field: map[string]any{"code": "validation_failed",
			"errors": map[string]any{"amount": []map[string]string{{"code": code, "message": message}}}}},
	})
}

func (e *Exchange) upProblem(w http.ResponseWriter, p transferProblem) {
	switch p {
	case problemInsufficient:
		e.upValidation(w, "denomination", "sufficient_funds", "Not enough funds for the specified amount")
	case problemBelowMinimum:
		e.upValidation(w, "denomination", "greater_than_or_equal_to", "This value should be greater than or equal to the minimum")
	case problemInvalidAmount:
		e.upValidation(w, "denomination", "invalid", "This value is not valid")
	case problemQuoteExpired, problemNotFound:
		e.apiError(w, http.StatusNotFound, "not_found", "Transaction not found")
	default: // address / network
		writeJSON(w, http.StatusBadRequest, map[string]any{"code": "validation_failed",
			"errors": map[string]any{"destination": []map[string]string{{"code": "invalid", "message": "This value is not valid"}}}})
	}
}

func (e *Exchange) upCreateTransaction(w http.ResponseWriter, r *http.Request, g *grant) {
	var req upTransactionRequest
	wv, ok := e.walletRequest(w, r, g, "transactions:withdraw", &req)
	if !ok {
		return
	}
	if req.Denomination.Currency != wv.Currency {
		e.upValidation(w, "denomination", "invalid", "Denomination must be in the card currency")
		return
	}
	amount, okAmount := parseAmount(req.Denomination.Amount)
	if !okAmount {
		e.upProblem(w, problemInvalidAmount)
		return
	}
	if len(req.Reference) > 100 {
		e.upValidation(w, "reference", "length", "This value is too long")
		return
	}
	// The network follows from the card's currency (the reference has no network field).
	spec := transferSpec{User: g.user, WalletID: wv.ID, Currency: wv.Currency, Network: defaultNetwork(wv.Currency),
		Amount: amount, To: req.Destination, Reference: req.Reference}
	t, _, p := e.createQuote(spec, e.cfg.QuoteTTL)
	if p != transferOK {
		e.upProblem(w, p)
		return
	}
	if r.URL.Query().Get("commit") == "true" {
		if !e.upOTP(w, r, g) {
			return
		}
		if t, p = e.commit(g.user, t.ID); p != transferOK {
			e.upProblem(w, p)
			return
		}
	}
	writeJSON(w, http.StatusOK, e.upTransaction(t))
}

// upOTP enforces the user's OTP setting on commits: 401 with "OTP-Token: Required"
// until the OTP-Token header carries the code.
func (e *Exchange) upOTP(w http.ResponseWriter, r *http.Request, g *grant) bool {
	if !g.user.twoFactor {
		return true
	}
	code := r.Header.Get("OTP-Token")
	if code != "" && e.users.checkMFA(g.user, code) {
		return true
	}
	if code != "" {
		e.stats.mfaFailures.Add(1)
	}
	w.Header().Set("OTP-Token", "Required")
	e.apiError(w, http.StatusUnauthorized, "otp_required", "An OTP is required to complete this request.")
	return false
}

func (e *Exchange) upCommit(w http.ResponseWriter, r *http.Request, g *grant) {
	t, ok := e.lookupTransfer(g.user, r.PathValue("txid"))
	if !ok || t.WalletID != r.PathValue("id") {
		e.apiError(w, http.StatusNotFound, "not_found", "Transaction not found")
		return
	}
	if !e.requireScope(w, g, "transactions:withdraw") {
		return
	}
	if t.State == transferQuoted && !e.upOTP(w, r, g) {
		return
	}
	t, p := e.commit(g.user, t.ID)
	if p != transferOK {
		e.upProblem(w, p)
		return
	}
	writeJSON(w, http.StatusOK, e.upTransaction(t))
}

func (e *Exchange) upCardTransactions(w http.ResponseWriter, r *http.Request, g *grant) {
	wv, ok := e.pathWallet(w, r, g, "")
	if !ok {
		return
	}
	txs := e.history(g.user, func(t *transfer) bool { return t.WalletID == wv.ID })
	upRange(e, w, r, txs, func(t transfer) any { return e.upTransaction(t) })
}

func (e *Exchange) upUserTransactions(w http.ResponseWriter, r *http.Request, g *grant) {
	upRange(e, w, r, e.history(g.user, nil), func(t transfer) any { return e.upTransaction(t) })
}

// upTransaction is a transaction object of the reference (status pending while quoted,
// then processing, completed; fees[] with type network; origin amount includes fees).
func (e *Exchange) upTransaction(t transfer) map[string]any {
	status := map[transferState]string{transferQuoted: "pending", transferPending: "processing", transferSent: "completed",
		transferCancelled: "cancelled"}[t.State]
	typ := "withdrawal"
	if t.Deposit {
		typ = "deposit"
	}
	m := map[string]any{
		"id": t.ID, "type": typ, "status": status, "network": t.Network, "message": nil, "priority": "normal",
		"createdAt":    t.CreatedAt.UTC().Format(time.RFC3339),
		"denomination": map[string]string{"amount": formatAmount(t.Amount), "currency": t.Currency, "pair": t.Currency + t.Currency, "rate": "1.00"},
		"fees":         []map[string]string{{"type": "network", "amount": formatAmount(t.Fee), "currency": t.Currency, "percentage": "0", "target": "origin"}},
		"origin": map[string]string{
			"CardId": t.WalletID, "amount": formatAmount(t.Amount + t.Fee), "base": formatAmount(t.Amount), "currency": t.Currency,
			"fee": formatAmount(t.Fee), "commission": "0.00", "type": "card",
		},
		"destination": map[string]string{"address": t.To, "amount": formatAmount(t.Amount), "currency": t.Currency, "type": "crypto"},
		"params":      map[string]any{"currency": t.Currency, "margin": "0.00", "rate": "1.00", "type": typ, "txid": t.Hash},
		"reference":   nil,
	}
	if t.Reference != "" {
		m["reference"] = t.Reference
	}
	if t.State == transferQuoted {
		m["params"].(map[string]any)["ttl"] = max(t.ExpiresAt.Sub(t.CreatedAt).Milliseconds(), 0)
	}
	return m
}

func (e *Exchange) upAddresses(w http.ResponseWriter, r *http.Request, g *grant) {
	if out, ok := e.walletAddresses(w, r, g, "", upAddressOf); ok {
		writeJSON(w, http.StatusOK, out)
	}
}

func upAddressOf(_ walletView, n netSpec, addr string) map[string]any {
	return map[string]any{"formats": []map[string]string{{"format": "pubkeyhash", "value": addr}}, "type": n.Name}
}

func (e *Exchange) upCreateAddress(w http.ResponseWriter, r *http.Request, g *grant) {
	var req struct {
		Network string `json:"network"`
	}
	wv, ok := e.walletRequest(w, r, g, "cards:write", &req)
	if !ok {
		return
	}
	n, ok := network(wv.Currency, req.Network)
	if !ok {
		writeJSON(w, http.StatusBadRequest, map[string]any{"code": "validation_failed",
			"errors": map[string]any{"network": []map[string]string{{"code": "invalid", "message": "This value is not valid"}}}})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"id": e.users.depositAddress(g.user, wv.Currency, n), "network": n.Name})
}

// upTicker: every simulated currency quoted in {currency} (pair <X><currency>).
func (e *Exchange) upTicker(w http.ResponseWriter, r *http.Request) {
	base := strings.ToUpper(r.PathValue("currency"))
	if _, ok := assets[base]; !ok {
		e.apiError(w, http.StatusNotFound, "not_found", "Currency not found.")
		return
	}
	out := []map[string]string{}
	for _, c := range sortedAssetCodes() {
		if c == base {
			continue
		}
		v, _ := rate(c, base)
		s := formatRate(v)
		out = append(out, map[string]string{"ask": s, "bid": s, "currency": base, "pair": c + base})
	}
	writeJSON(w, http.StatusOK, out)
}

func sortedAssetCodes() []string {
	out := make([]string, 0, len(assets))
	for c := range assets {
		out = append(out, c)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}
