package exchangesim

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"html"
	"html/template"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The Binance-like exchange: users create API keys (an HMAC key and secret with
// permissions and an IP restriction) and every private request is signed, in the way of
// Binance's public references (developers.binance.com):
//
//	GET  /api/v3/time                              public: {serverTime}
//	GET  /api/v3/ticker/price[?symbol=|symbols=]   public: [{symbol, price}]
//	GET  /api/v3/account[?omitZeroBalances=true]   USER_DATA: uid, balances
//	GET  /sapi/v1/account/apiRestrictions          USER_DATA: the key's permissions
//	GET  /sapi/v1/account/status                   USER_DATA: {"data":"Normal"}
//	GET  /sapi/v1/capital/config/getall            USER_DATA: coins and networks
//	GET  /sapi/v1/capital/deposit/address          USER_DATA: coin, network
//	GET  /sapi/v1/capital/deposit/hisrec           USER_DATA: deposits
//	POST /sapi/v1/capital/withdraw/apply           USER_DATA, needs Enable Withdrawals
//	GET  /sapi/v1/capital/withdraw/history         USER_DATA: withdrawOrderId | idList | coin, offset, limit
//	GET  /my/settings/api-management               the key creation page (HTML, for demos)
//
// SIGNED requests carry X-MBX-APIKEY and timestamp, recvWindow (default 5000, at most
// 60000) and signature = hex HMAC-SHA256(secret, query string + request body), checked
// with the documented timing rule. Errors are {"code": <negative int>, "msg": ...}:
// -2015 for an unknown, deleted or IP-restricted key or a missing permission (401),
// -2014 for a malformed key, -1022 for a bad signature, -1021 for a stale timestamp,
// -1102 for missing or malformed parameters.
func (e *Exchange) routeBinanceAPI() {
	e.mux.HandleFunc("GET /api/v3/time", e.faulty(classAPI, e.bnTime))
	e.mux.HandleFunc("GET /api/v3/ticker/price", e.faulty(classAPI, e.bnPrices))
	e.mux.HandleFunc("GET /api/v3/account", e.faulty(classAPI, e.signedHandler(false, e.bnAccount)))
	e.mux.HandleFunc("GET /sapi/v1/account/apiRestrictions", e.faulty(classAPI, e.signedHandler(false, e.bnRestrictions)))
	e.mux.HandleFunc("GET /sapi/v1/account/status", e.faulty(classAPI, e.signedHandler(false, e.bnStatus)))
	e.mux.HandleFunc("GET /sapi/v1/capital/config/getall", e.faulty(classAPI, e.signedHandler(false, e.bnCoins)))
	e.mux.HandleFunc("GET /sapi/v1/capital/deposit/address", e.faulty(classAPI, e.signedHandler(false, e.bnDepositAddress)))
	e.mux.HandleFunc("GET /sapi/v1/capital/deposit/hisrec", e.faulty(classAPI, e.signedHandler(false, e.bnDepositHistory)))
	e.mux.HandleFunc("POST /sapi/v1/capital/withdraw/apply", e.faulty(classAPI, e.signedHandler(true, e.bnWithdraw)))
	e.mux.HandleFunc("GET /sapi/v1/capital/withdraw/history", e.faulty(classAPI, e.signedHandler(false, e.bnWithdrawHistory)))
	e.mux.HandleFunc("GET "+BinanceKeyPagePath, e.bnKeyPage)
	e.mux.HandleFunc("POST "+BinanceKeyPagePath, e.bnKeyPageSubmit)
}

// BinanceKeyPagePath is the simulated API Management page.
const BinanceKeyPagePath = "/my/settings/api-management"

// APIKeyPermissions are what a simulated Binance API key may do.
type APIKeyPermissions struct {
	Withdrawals bool // Enable Withdrawals (requires TrustedIPs, as Binance demands)
	Trading     bool // Enable Spot & Margin Trading (linkvault refuses such keys)
	// TrustedIPs restricts the key to these client addresses (empty: unrestricted).
	TrustedIPs []string
}

// APIKey is a created key and its secret (the secret is shown once, like Binance does).
type APIKey struct {
	Key    string `json:"apiKey"`
	Secret string `json:"secretKey"`
}

type apiKey struct {
	user      *user
	secret    string
	perms     APIKeyPermissions
	seq       uint64 // issue number (issueOrder)
	created   time.Time
	expiresAt time.Time // zero: never (real keys have no lifetime; Config.AccessTTL sets one)
	deleted   bool
}

type apiKeyStore struct {
	mu    sync.Mutex
	byKey map[string]*apiKey
	order issueOrder // keys whose number it retired were deleted for inactivity
}

func newAPIKeyStore() *apiKeyStore { return &apiKeyStore{byKey: map[string]*apiKey{}} }

func randomAlnum(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// CreateAPIKey creates an API key for username (provisioning the user if needed), as
// the user would in API Management. Withdrawals need TrustedIPs.
func (e *Exchange) CreateAPIKey(username string, p APIKeyPermissions) (APIKey, error) {
	if e.flavor != FlavorBinance {
		return APIKey{}, errors.New("exchangesim: API keys exist on the Binance-like exchange only")
	}
	if p.Withdrawals && len(p.TrustedIPs) == 0 {
		return APIKey{}, errors.New("exchangesim: Enable Withdrawals requires an IP access restriction")
	}
	if username == "" {
		return APIKey{}, ErrUnknownUser
	}
	k := APIKey{Key: randomAlnum(64), Secret: randomAlnum(64)}
	if e.cfg.OnIssue != nil {
		e.cfg.OnIssue(k.Key)
		e.cfg.OnIssue(k.Secret)
	}
	now := e.now()
	s := e.keys
	s.mu.Lock()
	rec := &apiKey{user: e.users.ensure(username), secret: k.Secret, perms: p, seq: s.order.next(), created: now}
	if e.cfg.AccessTTL > 0 {
		rec.expiresAt = now.Add(e.cfg.AccessTTL)
	}
	s.byKey[k.Key] = rec
	s.mu.Unlock()
	e.stats.tokensIssued.Add(1)
	return k, nil
}

// deleteUserKeys deletes every key of u and returns how many.
func (s *apiKeyStore) deleteUserKeys(u *user) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, k := range s.byKey {
		if k.user == u && !k.deleted {
			k.deleted = true
			n++
		}
	}
	return n
}

func (s *apiKeyStore) live() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, k := range s.byKey {
		if !k.deleted && !s.order.isRetired(k.seq) {
			n++
		}
	}
	return n
}

// lookup returns a usable key (a copy), or nil.
func (s *apiKeyStore) lookup(key string, now time.Time) *apiKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.byKey[key]
	if !ok || k.deleted || s.order.isRetired(k.seq) || (!k.expiresAt.IsZero() && !now.Before(k.expiresAt)) {
		return nil
	}
	c := *k
	return &c
}

// bnError writes Binance's error shape.
func (e *Exchange) bnError(w http.ResponseWriter, status, code int, msg string) {
	if d := e.faults.load().ErrorDetail; d != "" {
		msg += " " + d
	}
	writeJSON(w, status, map[string]any{"code": code, "msg": msg})
}

var binanceKeyFormat = regexp.MustCompile(`^[A-Za-z0-9]{16,128}$`)

// signedRequest is a verified SIGNED request.
type signedRequest struct {
	key    *apiKey
	params url.Values // query and body parameters, without signature
}

// signedHandler verifies a SIGNED request and the key's permissions before h.
func (e *Exchange) signedHandler(withdraw bool, h func(http.ResponseWriter, *http.Request, signedRequest)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody))
		if err != nil {
			return
		}
		keyText := r.Header.Get("X-MBX-APIKEY")
		if !binanceKeyFormat.MatchString(keyText) {
			e.weigh(w, r, nil)
			e.bnError(w, http.StatusUnauthorized, -2014, "API-key format invalid.")
			return
		}
		now := e.now()
		key := e.keys.lookup(keyText, now)
		if key != nil {
			e.weigh(w, r, key.user)
		} else {
			e.weigh(w, r, nil)
		}
		if key == nil || !ipAllowed(key.perms.TrustedIPs, r.RemoteAddr) || withdraw && !key.perms.Withdrawals {
			e.bnError(w, http.StatusUnauthorized, -2015, "Invalid API-key, IP, or permissions for action.")
			return
		}
		query, qsig := stripSignature(r.URL.RawQuery)
		form, bsig := stripSignature(string(body))
		sig := qsig + bsig
		if sig == "" || qsig != "" && bsig != "" {
			e.bnError(w, http.StatusBadRequest, -1102, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.")
			return
		}
		// totalParams is the query string concatenated with the request body.
		m := hmac.New(sha256.New, []byte(key.secret))
		m.Write([]byte(query + form))
		want := hex.EncodeToString(m.Sum(nil))
		if !hmac.Equal([]byte(strings.ToLower(sig)), []byte(want)) {
			e.bnError(w, http.StatusBadRequest, -1022, "Signature for this request is not valid.")
			return
		}
		params, err1 := url.ParseQuery(query)
		bodyParams, err2 := url.ParseQuery(form)
		if err1 != nil || err2 != nil {
			e.bnError(w, http.StatusBadRequest, -1102, "Malformed parameters.")
			return
		}
		for k, v := range bodyParams {
			if _, dup := params[k]; !dup { // a query parameter wins over the body
				params[k] = v
			}
		}
		ts, errTS := strconv.ParseInt(params.Get("timestamp"), 10, 64)
		recv := int64(5000)
		if s := params.Get("recvWindow"); s != "" {
			v, err := strconv.ParseInt(s, 10, 64)
			if err != nil || v <= 0 || v > 60000 {
				e.bnError(w, http.StatusBadRequest, -1131, "recvWindow must be less than 60000")
				return
			}
			recv = v
		}
		server := now.UnixMilli()
		if errTS != nil || !(ts < server+1000 && server-ts <= recv) {
			e.bnError(w, http.StatusBadRequest, -1021, "Timestamp for this request is outside of the recvWindow.")
			return
		}
		h(w, r, signedRequest{key: key, params: params})
	}
}

// stripSignature removes the signature parameter from an encoded parameter string.
func stripSignature(raw string) (rest, signature string) {
	if raw == "" {
		return "", ""
	}
	parts := strings.Split(raw, "&")
	kept := parts[:0]
	for _, p := range parts {
		if v, ok := strings.CutPrefix(p, "signature="); ok {
			signature = v
			continue
		}
		kept = append(kept, p)
	}
	return strings.Join(kept, "&"), signature
}

func ipAllowed(trusted []string, remote string) bool {
	if len(trusted) == 0 {
		return true
	}
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	return slices.Contains(trusted, host)
}

// weigh adds the used-weight headers of Binance's limits: request weight per IP and
// minute for /api (X-MBX-USED-WEIGHT-1M); for /sapi, IP weight and, for a signed call,
// the account's UID weight (X-SAPI-USED-IP-WEIGHT-1M, X-SAPI-USED-UID-WEIGHT-1M).
func (e *Exchange) weigh(w http.ResponseWriter, r *http.Request, u *user) {
	wt, ok := binanceWeights[r.URL.Path]
	if !ok {
		wt = weight{ip: 1}
	}
	ip, uid := e.weights.add(e.now(), r.URL.Path, wt, u)
	if strings.HasPrefix(r.URL.Path, "/sapi/") {
		w.Header().Set("X-SAPI-USED-IP-WEIGHT-1M", strconv.Itoa(ip))
		if u != nil {
			w.Header().Set("X-SAPI-USED-UID-WEIGHT-1M", strconv.Itoa(uid))
		}
	} else {
		w.Header().Set("X-MBX-USED-WEIGHT-1M", strconv.Itoa(ip))
	}
}

type weight struct{ ip, uid int }

// binanceWeights are the documented request weights of the endpoints (IP, UID).
var binanceWeights = map[string]weight{
	"/api/v3/time": {ip: 1}, "/api/v3/account": {ip: 20}, "/api/v3/ticker/price": {ip: 4},
	"/sapi/v1/account/apiRestrictions": {ip: 1}, "/sapi/v1/account/status": {ip: 1},
	"/sapi/v1/capital/config/getall": {ip: 10}, "/sapi/v1/capital/deposit/address": {ip: 10},
	"/sapi/v1/capital/deposit/hisrec": {ip: 1}, "/sapi/v1/capital/withdraw/history": {uid: 18000},
	"/sapi/v1/capital/withdraw/apply": {uid: 900},
}

// weightMeter counts weight per minute (by the exchange clock): per IP for /api and
// /sapi (one client: the tests' loopback), per user for UID weight.
type weightMeter struct {
	mu     sync.Mutex
	minute int64
	api    int
	sapi   int
	uid    map[*user]int
}

func (m *weightMeter) add(now time.Time, path string, wt weight, u *user) (ip, uid int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if min := now.Unix() / 60; min != m.minute || m.uid == nil {
		m.minute, m.api, m.sapi, m.uid = min, 0, 0, map[*user]int{}
	}
	if u != nil {
		m.uid[u] += wt.uid
		uid = m.uid[u]
	}
	if strings.HasPrefix(path, "/sapi/") {
		m.sapi += wt.ip
		return m.sapi, uid
	}
	m.api += wt.ip
	return m.api, uid
}

// Weights returns the weight used in the current minute: per IP on /api and /sapi.
func (e *Exchange) Weights() (api, sapi int) {
	e.weights.mu.Lock()
	defer e.weights.mu.Unlock()
	if e.now().Unix()/60 != e.weights.minute {
		return 0, 0
	}
	return e.weights.api, e.weights.sapi
}

func (e *Exchange) bnTime(w http.ResponseWriter, r *http.Request) {
	e.weigh(w, r, nil)
	writeJSON(w, http.StatusOK, map[string]int64{"serverTime": e.now().UnixMilli()})
}

func (e *Exchange) bnPrices(w http.ResponseWriter, r *http.Request) {
	e.weigh(w, r, nil)
	type price struct {
		Symbol string `json:"symbol"`
		Price  string `json:"price"`
	}
	var all []price
	for c, a := range assets {
		if c == "USDT" || a.USD <= 0 {
			continue
		}
		all = append(all, price{Symbol: c + "USDT", Price: strconv.FormatFloat(a.USD, 'f', -1, 64)})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Symbol < all[j].Symbol })
	if sym := r.URL.Query().Get("symbol"); sym != "" {
		for _, p := range all {
			if p.Symbol == sym {
				writeJSON(w, http.StatusOK, p)
				return
			}
		}
		e.bnError(w, http.StatusBadRequest, -1121, "Invalid symbol.")
		return
	}
	writeJSON(w, http.StatusOK, all)
}

func (e *Exchange) bnRestrictions(w http.ResponseWriter, _ *http.Request, s signedRequest) {
	p := s.key.perms
	writeJSON(w, http.StatusOK, map[string]any{
		"ipRestrict": len(p.TrustedIPs) > 0, "createTime": s.key.created.UnixMilli(), "enableReading": true,
		"enableWithdrawals": p.Withdrawals, "enableInternalTransfer": false, "enableMargin": false, "enableFutures": false,
		"permitsUniversalTransfer": false, "enableVanillaOptions": false, "enableFixApiTrade": false, "enableFixReadOnly": false,
		"enableSpotAndMarginTrading": p.Trading, "enablePortfolioMarginTrading": false,
	})
}

func (e *Exchange) bnStatus(w http.ResponseWriter, _ *http.Request, _ signedRequest) {
	writeJSON(w, http.StatusOK, map[string]string{"data": "Normal"})
}

func (e *Exchange) bnAccount(w http.ResponseWriter, _ *http.Request, s signedRequest) {
	omitZero := s.params.Get("omitZeroBalances") == "true"
	balances := []map[string]string{}
	for _, wv := range e.users.wallets(s.key.user) {
		if omitZero && wv.Balance == 0 {
			continue
		}
		balances = append(balances, map[string]string{"asset": wv.Currency, "free": formatAmount(wv.Balance), "locked": "0.00000000"})
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"makerCommission": 10, "takerCommission": 10, "canTrade": s.key.perms.Trading, "canWithdraw": true, "canDeposit": true,
		"brokered": false, "requireSelfTradePrevention": false, "updateTime": e.now().UnixMilli(), "accountType": "SPOT",
		"balances": balances, "permissions": []string{"SPOT"}, "uid": uidOf(s.key.user),
	})
}

// uidOf is the user's numeric Binance UID.
func uidOf(u *user) int64 {
	sum := sha256.Sum256([]byte(u.id))
	var n int64
	for _, b := range sum[:6] {
		n = n<<8 | int64(b)
	}
	return 100000000 + n%900000000
}

// binanceNetworkCode maps a chain name to the Binance-like network code and back.
func binanceNetworkCode(chain string) string { return chainToBinance[chain] }

var chainToBinance = map[string]string{"bitcoin": "BTC", "ethereum": "ETH", "base": "BASE", "solana": "SOL"}

func chainFromBinance(code string) string {
	for chain, c := range chainToBinance {
		if c == code {
			return chain
		}
	}
	return ""
}

// binanceNetworkNames are the display names of the networks.
var binanceNetworkNames = map[string]string{"BTC": "Bitcoin", "ETH": "Ethereum (ERC20)", "BASE": "Base", "SOL": "Solana"}

func (e *Exchange) bnCoins(w http.ResponseWriter, _ *http.Request, s signedRequest) {
	held := map[string]float64{}
	for _, wv := range e.users.wallets(s.key.user) {
		held[wv.Currency] = wv.Balance
	}
	coins := []map[string]any{}
	for _, code := range sortedAssetCodes() {
		a := assets[code]
		nets := []map[string]any{}
		for i, n := range a.Networks {
			bc := binanceNetworkCode(n.Name)
			nets = append(nets, map[string]any{
				"network": bc, "coin": code, "withdrawIntegerMultiple": "0.00000001", "isDefault": i == 0,
				"depositEnable": true, "withdrawEnable": true, "depositDesc": "", "withdrawDesc": "", "specialTips": "",
				"specialWithdrawTips": "", "name": binanceNetworkNames[bc], "resetAddressStatus": false,
				"addressRegex": addressPatterns[n.Kind], "memoRegex": "", "withdrawFee": formatAmount(n.Fee),
				"withdrawMin": formatAmount(n.Min), "withdrawMax": "9999999999.99999999", "minConfirm": 1, "unLockConfirm": 0,
				"sameAddress": false, "withdrawTag": false, "estimatedArrivalTime": 5, "busy": false,
			})
		}
		coins = append(coins, map[string]any{
			"coin": code, "depositAllEnable": len(nets) > 0, "withdrawAllEnable": len(nets) > 0, "name": a.Name,
			"free": formatAmount(held[code]), "locked": "0", "freeze": "0", "withdrawing": "0", "ipoing": "0", "ipoable": "0",
			"storage": "0", "isLegalMoney": len(a.Networks) == 0, "trading": true, "networkList": nets,
		})
	}
	writeJSON(w, http.StatusOK, coins)
}

func (e *Exchange) bnDepositAddress(w http.ResponseWriter, _ *http.Request, s signedRequest) {
	coin := s.params.Get("coin")
	netName := defaultNetwork(coin)
	if code := s.params.Get("network"); code != "" {
		netName = chainFromBinance(code)
	}
	n, ok := network(coin, netName)
	if !ok {
		e.bnError(w, http.StatusBadRequest, -1102, "Invalid coin or network.")
		return
	}
	addr := e.users.depositAddress(s.key.user, coin, n)
	writeJSON(w, http.StatusOK, map[string]string{"address": addr, "coin": coin, "tag": "", "url": "https://explorer.example.invalid/address/" + addr})
}

// page applies offset and limit (default 1000) to a newest-first list.
func page[T any](items []T, params url.Values) []T {
	offset, _ := strconv.Atoi(params.Get("offset"))
	limit, err := strconv.Atoi(params.Get("limit"))
	if err != nil || limit <= 0 || limit > 1000 {
		limit = 1000
	}
	if offset < 0 || offset >= len(items) {
		return items[:0]
	}
	return items[offset:min(offset+limit, len(items))]
}

func (e *Exchange) bnDepositHistory(w http.ResponseWriter, _ *http.Request, s signedRequest) {
	coin := s.params.Get("coin")
	since, _ := strconv.ParseInt(s.params.Get("startTime"), 10, 64)
	deps := e.history(s.key.user, func(t *transfer) bool {
		return t.Deposit && (coin == "" || t.Currency == coin) && t.CreatedAt.UnixMilli() >= since
	})
	out := []map[string]any{}
	for _, t := range page(deps, s.params) {
		out = append(out, map[string]any{
			"id": t.ID, "amount": formatAmount(t.Amount), "coin": t.Currency, "network": binanceNetworkCode(t.Network), "status": 1,
			"address": t.To, "addressTag": "", "txId": t.Hash, "insertTime": t.CreatedAt.UnixMilli(), "transferType": 0,
			"confirmTimes": "12/12", "unlockConfirm": 0, "walletType": 0,
		})
	}
	writeJSON(w, http.StatusOK, out)
}

func (e *Exchange) bnWithdraw(w http.ResponseWriter, _ *http.Request, s signedRequest) {
	p := s.params
	coin, address := p.Get("coin"), p.Get("address")
	gross, ok := parseAmount(p.Get("amount"))
	if coin == "" || address == "" || !ok {
		e.bnError(w, http.StatusBadRequest, -1102, "Mandatory parameter was not sent, was empty/null, or malformed.")
		return
	}
	netName := defaultNetwork(coin)
	if code := p.Get("network"); code != "" {
		netName = chainFromBinance(code)
	}
	n, ok := network(coin, netName)
	switch {
	case !ok:
		e.bnError(w, http.StatusBadRequest, -1102, "Invalid network for this coin.")
		return
	case !validAddress(n, address):
		e.bnError(w, http.StatusBadRequest, -1102, "The address is not valid.")
		return
	case gross+1e-12 < n.Min || gross <= n.Fee:
		e.bnError(w, http.StatusBadRequest, -1102, "The amount is below the minimum withdrawal.")
		return
	}
	// The amount applied for includes the fee; the address receives the rest.
	t, _, problem := e.send(transferSpec{User: s.key.user, Currency: coin, Network: netName, Amount: roundAmount(gross - n.Fee),
		To: address, Tag: p.Get("addressTag"), Reference: p.Get("withdrawOrderId"), minOnGross: true})
	if problem != transferOK {
		e.bnError(w, http.StatusBadRequest, -1102, "The withdrawal cannot be made ("+string(problem)+").")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"id": bnWithdrawalID(t.ID)})
}

// bnWithdrawalID is Binance's 32-hex withdrawal id of a transfer.
func bnWithdrawalID(id string) string { return strings.ReplaceAll(id, "-", "") }

func (e *Exchange) bnWithdrawHistory(w http.ResponseWriter, _ *http.Request, s signedRequest) {
	p := s.params
	ids := map[string]bool{}
	for _, id := range strings.Split(p.Get("idList"), ",") {
		if id != "" {
			ids[id] = true
		}
	}
	orderID, coin := p.Get("withdrawOrderId"), p.Get("coin")
	since, _ := strconv.ParseInt(p.Get("startTime"), 10, 64)
	ws := e.history(s.key.user, func(t *transfer) bool {
		return !t.Deposit && t.State != transferQuoted && (len(ids) == 0 || ids[bnWithdrawalID(t.ID)]) &&
			(orderID == "" || t.Reference == orderID) && (coin == "" || t.Currency == coin) && t.CreatedAt.UnixMilli() >= since
	})
	out := []map[string]any{}
	for _, t := range page(ws, p) {
		status := 4
		if t.State == transferSent {
			status = 6
		}
		m := map[string]any{
			"id": bnWithdrawalID(t.ID), "amount": formatAmount(t.Amount + t.Fee), "transactionFee": formatAmount(t.Fee),
			"coin": t.Currency, "status": status, "address": t.To, "txId": t.Hash, "network": binanceNetworkCode(t.Network),
			"applyTime": t.CreatedAt.UTC().Format(time.DateTime), "transferType": 0, "confirmNo": 3, "walletType": 0,
			"txKey": "", "completeTime": t.SettledAt.UTC().Format(time.DateTime),
		}
		if t.Reference != "" {
			m["withdrawOrderId"] = t.Reference
		}
		if t.Tag != "" {
			m["addressTag"] = t.Tag
		}
		out = append(out, m)
	}
	writeJSON(w, http.StatusOK, out)
}

// --- the API Management page (what a user of the demo does at Binance) ---

var keyPageTemplate = template.Must(template.New("keys").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>API Management — Binance (simulated)</title>
<style>
body{font-family:system-ui,sans-serif;background:#f5f5f5;margin:0;display:flex;min-height:100vh;align-items:center;justify-content:center}
main{background:#fff;border-radius:12px;box-shadow:0 2px 12px rgba(0,0,0,.08);padding:2rem;width:min(30rem,92vw)}
h1{font-size:1.2rem;margin:0 0 1rem}label{display:block;margin:.7rem 0 .25rem;font-size:.9rem}
input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:.5rem;border:1px solid #ccc;border-radius:6px}
.check{display:flex;gap:.5rem;align-items:center}.check input{margin:0}
button{margin-top:1.2rem;width:100%;padding:.6rem;border:0;border-radius:6px;background:#F0B90B;font-weight:600;cursor:pointer}
code{display:block;word-break:break-all;background:#f0f0f0;padding:.5rem;border-radius:6px;font-size:.85rem}
.error{color:#b00020}
</style></head><body><main>
<h1>API Management (simulated Binance)</h1>
{{if .Key}}
<p>Your API key was created. The secret key is shown only once.</p>
<label>API Key</label><code id="api-key">{{.Key}}</code>
<label>Secret Key</label><code id="secret-key">{{.Secret}}</code>
{{else}}
{{if .Error}}<p class="error" id="error" role="alert">{{.Error}}</p>{{end}}
<form method="post" action="">
<label for="username">Email</label><input type="text" id="username" name="username" autocomplete="username" required>
<label for="password">Password</label><input type="password" id="password" name="password" autocomplete="current-password" required>
<p class="check"><input type="checkbox" id="reading" checked disabled><label for="reading">Enable Reading</label></p>
<p class="check"><input type="checkbox" id="withdrawals" name="withdrawals" value="1"><label for="withdrawals">Enable Withdrawals</label></p>
<p class="check"><input type="checkbox" id="trading" name="trading" value="1"><label for="trading">Enable Spot &amp; Margin Trading</label></p>
<label for="ips">Restrict access to trusted IPs only (comma-separated; required for withdrawals)</label>
<input type="text" id="ips" name="ips" value="127.0.0.1, ::1">
<button type="submit" id="create">Create API key</button>
</form>
{{end}}
</main></body></html>
`))

func (e *Exchange) renderKeyPage(w http.ResponseWriter, data map[string]string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
	_ = keyPageTemplate.Execute(w, data)
}

func (e *Exchange) bnKeyPage(w http.ResponseWriter, _ *http.Request) { e.renderKeyPage(w, nil) }

func (e *Exchange) bnKeyPageSubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxRequestBody)
	if err := r.ParseForm(); err != nil {
		e.renderKeyPage(w, map[string]string{"Error": "Invalid form."})
		return
	}
	u, ok := e.users.authenticate(r.PostForm.Get("username"), r.PostForm.Get("password"))
	if !ok {
		e.stats.loginFailures.Add(1)
		e.renderKeyPage(w, map[string]string{"Error": "Wrong email or password."})
		return
	}
	var ips []string
	for _, ip := range strings.Split(r.PostForm.Get("ips"), ",") {
		if ip = strings.TrimSpace(ip); ip != "" {
			ips = append(ips, ip)
		}
	}
	k, err := e.CreateAPIKey(u.name, APIKeyPermissions{Withdrawals: r.PostForm.Get("withdrawals") != "",
		Trading: r.PostForm.Get("trading") != "", TrustedIPs: ips})
	if err != nil {
		e.renderKeyPage(w, map[string]string{"Error": "Enable Withdrawals needs at least one trusted IP."})
		return
	}
	e.stats.logins.Add(1)
	e.renderKeyPage(w, map[string]string{"Key": k.Key, "Secret": k.Secret})
}

var keyPageValues = regexp.MustCompile(`<code id="(api-key|secret-key)">([^<]*)</code>`)

// CreateKeyAtPage drives the API Management page without a browser, for tests and
// headless Link drivers: it signs in as username and creates a key with permissions p,
// reading the key and secret off the answer. client nil uses http.DefaultClient.
func CreateKeyAtPage(ctx context.Context, client *http.Client, pageURL, username, password string, p APIKeyPermissions) (APIKey, error) {
	if client == nil {
		client = http.DefaultClient
	}
	form := url.Values{"username": {username}, "password": {password}, "ips": {strings.Join(p.TrustedIPs, ",")}}
	if p.Withdrawals {
		form.Set("withdrawals", "1")
	}
	if p.Trading {
		form.Set("trading", "1")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, pageURL, strings.NewReader(form.Encode()))
	if err != nil {
		return APIKey{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := client.Do(req)
	if err != nil {
		return APIKey{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return APIKey{}, err
	}
	var k APIKey
	for _, m := range keyPageValues.FindAllStringSubmatch(string(body), -1) {
		if m[1] == "api-key" {
			k.Key = html.UnescapeString(m[2])
		} else {
			k.Secret = html.UnescapeString(m[2])
		}
	}
	if k.Key == "" || k.Secret == "" {
		return APIKey{}, ErrConsentRefused
	}
	return k, nil
}
