package exchangesim

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// SessionHeader carries the Binance-like session token.
const SessionHeader = "X-Session-Token"

const (
	mfaChallengeTTL     = 5 * time.Minute
	mfaAttemptsPerLogin = 5
)

// The Binance-like API (credential login with MFA, expiring sessions, no refresh):
//
//	POST /sapi/v1/login                   {username, password} → {mfaRequired, challenge}
//	POST /sapi/v1/login/mfa               {challenge, code} → {sessionToken, expiresIn}
//	POST /sapi/v1/logout                  ends the session (X-Session-Token)
//	GET  /sapi/v1/account/status          cheap validation → {"data":"Normal"}
//	GET  /api/v3/account                  balances
//	GET  /api/v3/ticker/price[?symbol=]   prices (public)
//	GET  /sapi/v1/capital/config/getall   coins, networks and withdrawal fees
//	POST /sapi/v1/capital/withdraw/apply  coin, network, address, amount, withdrawOrderId (idempotent)
//	GET  /sapi/v1/capital/withdraw/history?withdrawOrderId=|id=
func (e *Exchange) routeBinanceAPI() {
	e.mux.HandleFunc("POST /sapi/v1/login", e.faulty(classLogin, e.bnLogin))
	e.mux.HandleFunc("POST /sapi/v1/login/mfa", e.faulty(classLogin, e.bnLoginMFA))
	e.mux.HandleFunc("POST /sapi/v1/logout", e.faulty(classRevoke, e.withSession(e.bnLogout)))
	e.mux.HandleFunc("GET /sapi/v1/account/status", e.faulty(classAPI, e.withSession(e.bnStatus)))
	e.mux.HandleFunc("GET /api/v3/account", e.faulty(classAPI, e.withSession(e.bnAccount)))
	e.mux.HandleFunc("GET /api/v3/ticker/price", e.faulty(classAPI, e.bnPrices))
	e.mux.HandleFunc("GET /sapi/v1/capital/config/getall", e.faulty(classAPI, e.withSession(e.bnCoins)))
	e.mux.HandleFunc("POST /sapi/v1/capital/withdraw/apply", e.faulty(classAPI, e.withSession(e.bnWithdraw)))
	e.mux.HandleFunc("GET /sapi/v1/capital/withdraw/history", e.faulty(classAPI, e.withSession(e.bnWithdrawHistory)))
}

// challengeStore holds pending MFA challenges by digest.
type challengeStore struct {
	mu      sync.Mutex
	pending map[tokenKey]*mfaChallenge
}

type mfaChallenge struct {
	user      *user
	expiresAt time.Time
	attempts  int
}

func newChallengeStore() *challengeStore {
	return &challengeStore{pending: make(map[tokenKey]*mfaChallenge)}
}

func (c *challengeStore) add(token string, ch *mfaChallenge, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.pending) > 1024 {
		for k, old := range c.pending {
			if !now.Before(old.expiresAt) {
				delete(c.pending, k)
			}
		}
	}
	c.pending[keyOf(token)] = ch
}

// take returns the live challenge for token, or nil.
func (c *challengeStore) get(token string, now time.Time) *mfaChallenge {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := keyOf(token)
	ch, ok := c.pending[k]
	if !ok {
		return nil
	}
	if !now.Before(ch.expiresAt) || ch.attempts >= mfaAttemptsPerLogin {
		delete(c.pending, k)
		return nil
	}
	return ch
}

// fail counts a wrong code against the challenge.
func (c *challengeStore) fail(token string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ch, ok := c.pending[keyOf(token)]; ok {
		ch.attempts++
	}
}

func (c *challengeStore) remove(token string) {
	c.mu.Lock()
	delete(c.pending, keyOf(token))
	c.mu.Unlock()
}

func (e *Exchange) bnLogin(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if !readJSON(r, &req) {
		e.writeError(w, classLogin, http.StatusBadRequest, "invalid_request", "Malformed request body.")
		return
	}
	u, ok := e.users.authenticate(req.Username, req.Password)
	if !ok {
		e.stats.loginFailures.Add(1)
		e.writeError(w, classLogin, http.StatusUnauthorized, "invalid_credentials", "Wrong username or password.")
		return
	}
	challenge := e.grants.newToken()
	now := e.now()
	e.challenges.add(challenge, &mfaChallenge{user: u, expiresAt: now.Add(mfaChallengeTTL)}, now)
	writeJSON(w, http.StatusOK, map[string]any{"mfaRequired": true, "challenge": challenge})
}

func (e *Exchange) bnLoginMFA(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Challenge string `json:"challenge"`
		Code      string `json:"code"`
	}
	if !readJSON(r, &req) {
		e.writeError(w, classLogin, http.StatusBadRequest, "invalid_request", "Malformed request body.")
		return
	}
	ch := e.challenges.get(req.Challenge, e.now())
	if ch == nil {
		e.writeError(w, classLogin, http.StatusUnauthorized, "challenge_expired", "The login has expired; start again.")
		return
	}
	if !e.users.checkMFA(ch.user, req.Code) {
		e.challenges.fail(req.Challenge)
		e.stats.mfaFailures.Add(1)
		e.writeError(w, classLogin, http.StatusUnauthorized, "invalid_mfa_code", "The verification code is wrong.")
		return
	}
	e.challenges.remove(req.Challenge)
	_, t := e.grants.newGrant(ch.user, e.cfg.ClientID, e.defaultScope(), e.now(), e.lifetimes())
	e.stats.logins.Add(1)
	e.stats.tokensIssued.Add(1)
	writeJSON(w, http.StatusOK, map[string]any{"sessionToken": t.access, "expiresIn": int64(t.accessTTL / time.Second)})
}

// withSession authenticates the session header.
func (e *Exchange) withSession(h func(http.ResponseWriter, *http.Request, *grant)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		g, problem := e.grants.authenticate(r.Header.Get(SessionHeader), e.now(), true)
		switch problem {
		case tokenOK:
			h(w, r, g)
		case tokenExpired:
			e.apiError(w, http.StatusUnauthorized, "session_expired", "The session has expired.")
		default:
			e.apiError(w, http.StatusUnauthorized, "invalid_session", "The session is not valid.")
		}
	}
}

func (e *Exchange) bnLogout(w http.ResponseWriter, _ *http.Request, g *grant) {
	e.stats.revocations.Add(1)
	if e.grants.revokeGrant(g) {
		e.stats.grantsRevoked.Add(1)
	}
	writeJSON(w, http.StatusOK, map[string]any{})
}

func (e *Exchange) bnStatus(w http.ResponseWriter, _ *http.Request, _ *grant) {
	writeJSON(w, http.StatusOK, map[string]string{"data": "Normal"})
}

func (e *Exchange) bnAccount(w http.ResponseWriter, _ *http.Request, g *grant) {
	wallets := e.users.wallets(g.user)
	balances := make([]map[string]string, 0, len(wallets))
	for _, wv := range wallets {
		balances = append(balances, map[string]string{"asset": wv.Currency, "free": formatAmount(wv.Balance), "locked": "0"})
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"uid": g.user.id, "accountType": "SPOT", "canTrade": true, "canWithdraw": true, "canDeposit": true,
		"updateTime": e.now().UnixMilli(), "balances": balances,
	})
}

func (e *Exchange) bnPrices(w http.ResponseWriter, r *http.Request) {
	type price struct {
		Symbol string `json:"symbol"`
		Price  string `json:"price"`
	}
	var all []price
	for c, a := range assets {
		if c == "USD" || c == "USDT" || isFiat(c) {
			continue
		}
		all = append(all, price{Symbol: c + "USDT", Price: strconv.FormatFloat(a.USD, 'f', 2, 64)})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Symbol < all[j].Symbol })
	if sym := r.URL.Query().Get("symbol"); sym != "" {
		for _, p := range all {
			if p.Symbol == sym {
				writeJSON(w, http.StatusOK, p)
				return
			}
		}
		e.apiError(w, http.StatusBadRequest, "invalid_symbol", "Invalid symbol.")
		return
	}
	writeJSON(w, http.StatusOK, all)
}

// binanceNetworkCode maps a chain name to the Binance-like network code and back.
func binanceNetworkCode(chain string) string { return strings.ToUpper(chainToBinance[chain]) }

var chainToBinance = map[string]string{"bitcoin": "BTC", "ethereum": "ETH", "base": "BASE", "solana": "SOL"}

func chainFromBinance(code string) string {
	for chain, c := range chainToBinance {
		if c == strings.ToUpper(code) {
			return chain
		}
	}
	return ""
}

func (e *Exchange) bnCoins(w http.ResponseWriter, _ *http.Request, g *grant) {
	wallets := e.users.wallets(g.user)
	coins := make([]map[string]any, 0, len(wallets))
	for _, wv := range wallets {
		nets := []map[string]any{}
		for _, n := range networksOf(wv.Currency) {
			nets = append(nets, map[string]any{
				"network": binanceNetworkCode(n.Name), "coin": wv.Currency, "name": n.Name,
				"withdrawEnable": true, "withdrawFee": formatAmount(n.Fee),
				"withdrawMin": formatAmount(n.Min), "withdrawMax": "1000000",
			})
		}
		coins = append(coins, map[string]any{
			"coin": wv.Currency, "name": currencyName(wv.Currency), "free": formatAmount(wv.Balance), "locked": "0",
			"withdrawAllEnable": len(nets) > 0, "networkList": nets,
		})
	}
	writeJSON(w, http.StatusOK, coins)
}

func (e *Exchange) bnWithdraw(w http.ResponseWriter, r *http.Request, g *grant) {
	r.Body = http.MaxBytesReader(w, r.Body, maxRequestBody)
	if err := r.ParseForm(); err != nil {
		e.apiError(w, http.StatusBadRequest, "invalid_request", "Malformed request.")
		return
	}
	f := r.Form
	amount, ok := parseAmount(f.Get("amount"))
	if !ok {
		e.apiError(w, http.StatusBadRequest, "invalid_amount", "Amount is invalid.")
		return
	}
	coin := strings.ToUpper(f.Get("coin"))
	if _, ok := e.users.walletByCurrency(g.user, coin); !ok {
		e.apiError(w, http.StatusBadRequest, "insufficient_funds", "No balance in this coin.")
		return
	}
	t, _, p := e.send(transferSpec{
		User: g.user, Currency: coin, Network: chainFromBinance(f.Get("network")), Amount: amount,
		To: f.Get("address"), ClientKey: f.Get("withdrawOrderId"),
	})
	if p != transferOK {
		e.apiError(w, http.StatusBadRequest, string(p), "The withdrawal cannot be made.")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"id": t.ID})
}

func (e *Exchange) bnWithdrawHistory(w http.ResponseWriter, r *http.Request, g *grant) {
	q := r.URL.Query()
	var t transfer
	var ok bool
	if key := q.Get("withdrawOrderId"); key != "" {
		t, ok = e.lookupTransferByKey(g.user, key)
	} else {
		t, ok = e.lookupTransfer(g.user, q.Get("id"))
	}
	if !ok {
		writeJSON(w, http.StatusOK, []any{})
		return
	}
	writeJSON(w, http.StatusOK, []map[string]any{{
		"id": t.ID, "amount": formatAmount(t.Amount), "transactionFee": formatAmount(t.Fee), "coin": t.Currency,
		"status": 6, "address": t.To, "txId": t.Hash, "network": binanceNetworkCode(t.Network),
		"withdrawOrderId": t.ClientKey, "applyTime": t.CreatedAt.UTC().Format("2006-01-02 15:04:05"),
	}})
}
