package exchangesim

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sign returns params encoded with Binance's SIGNED rule
// (https://developers.binance.com/docs/binance-spot-api-docs/rest-api/request-security):
// signature = hex HMAC-SHA256(secret, totalParams) appended as the last parameter.
func sign(secret, encoded string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(encoded))
	return encoded + "&signature=" + hex.EncodeToString(m.Sum(nil))
}

// signed sends a SIGNED request: GET parameters in the query, POST parameters in the
// body; timestamp is the exchange clock's unless params has one.
func (f *fixture) signed(t *testing.T, method, path, key, secret string, params url.Values) answer {
	t.Helper()
	if params.Get("timestamp") == "" {
		params.Set("timestamp", strconv.FormatInt(f.clock.Now().UnixMilli(), 10))
	}
	payload := sign(secret, params.Encode())
	var req *http.Request
	if method == http.MethodGet {
		req, _ = http.NewRequest(method, f.srv.URL+path+"?"+payload, nil)
	} else {
		req, _ = http.NewRequest(method, f.srv.URL+path, strings.NewReader(payload))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("X-MBX-APIKEY", key)
	return do(t, req)
}

func binanceCode(a answer) int {
	c, _ := a.body["code"].(float64)
	return int(c)
}

func TestBinanceSignedRequestVerification(t *testing.T) {
	f := newFixture(t, NewBinance, Config{})
	read, err := f.ex.CreateAPIKey("ana", APIKeyPermissions{})
	if err != nil {
		t.Fatal(err)
	}
	elsewhere, _ := f.ex.CreateAPIKey("ana", APIKeyPermissions{TrustedIPs: []string{"203.0.113.7"}})
	gone, _ := f.ex.CreateAPIKey("bo", APIKeyPermissions{})
	if _, err := f.ex.RevokeUserGrants("bo"); err != nil {
		t.Fatal(err)
	}
	now := func() string { return strconv.FormatInt(f.clock.Now().UnixMilli(), 10) }
	raw := func(method, target, key, body string) answer {
		req, _ := http.NewRequest(method, f.srv.URL+target, strings.NewReader(body))
		req.Header.Set("X-MBX-APIKEY", key)
		return do(t, req)
	}
	const status = "/sapi/v1/account/status"
	tests := []struct {
		name   string
		call   func() answer
		status int
		code   int
	}{
		{"valid", func() answer { return f.signed(t, "GET", status, read.Key, read.Secret, url.Values{}) }, 200, 0},
		{"valid with recvWindow", func() answer {
			return f.signed(t, "GET", status, read.Key, read.Secret, url.Values{"recvWindow": {"60000"}})
		}, 200, 0},
		{"wrong secret", func() answer { return f.signed(t, "GET", status, read.Key, "not-the-secret", url.Values{}) }, 400, -1022},
		{"tampered parameter", func() answer {
			p := sign(read.Secret, "timestamp="+now())
			return raw("GET", status+"?"+strings.Replace(p, "timestamp=", "timestamp=1", 1), read.Key, "")
		}, 400, -1022},
		{"no signature", func() answer { return raw("GET", status+"?timestamp="+now(), read.Key, "") }, 400, -1102},
		{"stale timestamp", func() answer {
			ts := strconv.FormatInt(f.clock.Now().Add(-6*time.Second).UnixMilli(), 10)
			return f.signed(t, "GET", status, read.Key, read.Secret, url.Values{"timestamp": {ts}})
		}, 400, -1021},
		{"timestamp ahead of the server", func() answer {
			ts := strconv.FormatInt(f.clock.Now().Add(time.Second).UnixMilli(), 10)
			return f.signed(t, "GET", status, read.Key, read.Secret, url.Values{"timestamp": {ts}})
		}, 400, -1021},
		{"recvWindow above 60000", func() answer {
			return f.signed(t, "GET", status, read.Key, read.Secret, url.Values{"recvWindow": {"60001"}})
		}, 400, -1131},
		{"malformed key", func() answer { return f.signed(t, "GET", status, "short", read.Secret, url.Values{}) }, 401, -2014},
		{"unknown key", func() answer { return f.signed(t, "GET", status, strings.Repeat("A", 64), read.Secret, url.Values{}) }, 401, -2015},
		{"deleted key", func() answer { return f.signed(t, "GET", status, gone.Key, gone.Secret, url.Values{}) }, 401, -2015},
		{"other client IP", func() answer { return f.signed(t, "GET", status, elsewhere.Key, elsewhere.Secret, url.Values{}) }, 401, -2015},
		{"withdrawal without Enable Withdrawals", func() answer {
			return f.signed(t, "POST", "/sapi/v1/capital/withdraw/apply", read.Key, read.Secret,
				url.Values{"coin": {"BTC"}, "address": {"bc1qexampleaddress000000000000000000"}, "amount": {"0.01"}})
		}, 401, -2015},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := tt.call()
			if a.status != tt.status || binanceCode(a) != tt.code {
				t.Fatalf("%d %s, want %d code %d", a.status, a.raw, tt.status, tt.code)
			}
		})
	}
}

func TestBinanceSignatureOverQueryAndBody(t *testing.T) {
	f := newFixture(t, NewBinance, Config{})
	if err := f.ex.CreateUser(User{Username: "cy", Password: "pw", Balances: map[string]float64{"BTC": 1}}); err != nil {
		t.Fatal(err)
	}
	k, _ := f.ex.CreateAPIKey("cy", APIKeyPermissions{Withdrawals: true, TrustedIPs: []string{"127.0.0.1", "::1"}})
	// Parameters split between the query and the body: the signature covers the query
	// string immediately followed by the body.
	query := "coin=BTC&network=BTC&timestamp=" + strconv.FormatInt(f.clock.Now().UnixMilli(), 10)
	body := "address=bc1qexampleaddress000000000000000000&amount=0.0102&withdrawOrderId=order-1"
	m := hmac.New(sha256.New, []byte(k.Secret))
	m.Write([]byte(query + body))
	req, _ := http.NewRequest("POST", f.srv.URL+"/sapi/v1/capital/withdraw/apply?"+query,
		strings.NewReader(body+"&signature="+hex.EncodeToString(m.Sum(nil))))
	req.Header.Set("X-MBX-APIKEY", k.Key)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	a := do(t, req)
	id, _ := a.body["id"].(string)
	if a.status != 200 || len(id) != 32 {
		t.Fatalf("withdraw: %d %s", a.status, a.raw)
	}
	// The applied amount includes the fee (0.0001): the balance drops by 0.0102.
	if b, _ := f.ex.Balances("cy"); b["BTC"] != 0.9898 {
		t.Fatalf("BTC = %v, want 0.9898", b["BTC"])
	}
	h := f.signed(t, "GET", "/sapi/v1/capital/withdraw/history", k.Key, k.Secret, url.Values{"withdrawOrderId": {"order-1"}})
	if h.status != 200 || !strings.Contains(h.raw, `"amount":"0.0102"`) || !strings.Contains(h.raw, `"transactionFee":"0.0001"`) ||
		!strings.Contains(h.raw, `"id":"`+id+`"`) || !strings.Contains(h.raw, `"withdrawOrderId":"order-1"`) {
		t.Fatalf("history: %d %s", h.status, h.raw)
	}
	// Below the network minimum (0.0002 including the fee).
	w := f.signed(t, "POST", "/sapi/v1/capital/withdraw/apply", k.Key, k.Secret,
		url.Values{"coin": {"BTC"}, "address": {"bc1qexampleaddress000000000000000000"}, "amount": {"0.00015"}})
	if w.status != 400 || binanceCode(w) != -1102 {
		t.Fatalf("below minimum: %d %s", w.status, w.raw)
	}
}

func TestBinanceWeightHeaders(t *testing.T) {
	f := newFixture(t, NewBinance, Config{})
	k, _ := f.ex.CreateAPIKey("di", APIKeyPermissions{})
	a := f.signed(t, "GET", "/api/v3/account", k.Key, k.Secret, url.Values{})
	if a.status != 200 || a.header.Get("X-MBX-USED-WEIGHT-1M") != "20" {
		t.Fatalf("account: %d weight %q", a.status, a.header.Get("X-MBX-USED-WEIGHT-1M"))
	}
	if a := f.get(t, "/api/v3/time", ""); a.header.Get("X-MBX-USED-WEIGHT-1M") != "21" {
		t.Fatalf("time: weight %q", a.header.Get("X-MBX-USED-WEIGHT-1M"))
	}
	s := f.signed(t, "GET", "/sapi/v1/capital/withdraw/history", k.Key, k.Secret, url.Values{})
	if s.header.Get("X-SAPI-USED-UID-WEIGHT-1M") != "18000" || s.header.Get("X-SAPI-USED-IP-WEIGHT-1M") != "0" {
		t.Fatalf("withdraw history: uid %q ip %q", s.header.Get("X-SAPI-USED-UID-WEIGHT-1M"), s.header.Get("X-SAPI-USED-IP-WEIGHT-1M"))
	}
	if api, sapi := f.ex.Weights(); api != 21 || sapi != 0 {
		t.Fatalf("weights = %d, %d", api, sapi)
	}
	f.clock.Advance(time.Minute)
	if api, sapi := f.ex.Weights(); api != 0 || sapi != 0 {
		t.Fatalf("weights a minute later = %d, %d", api, sapi)
	}
}

func TestBinanceKeyLifecycle(t *testing.T) {
	f := newFixture(t, NewBinance, Config{})
	if _, err := f.ex.CreateAPIKey("ed", APIKeyPermissions{Withdrawals: true}); err == nil {
		t.Fatal("a withdrawal key without trusted IPs was created")
	}
	g, err := f.ex.MintGrant("ed")
	if err != nil || g.AccessToken == "" || g.SecretKey == "" || g.ExpiresIn != nil {
		t.Fatalf("MintGrant = %+v, %v", g, err)
	}
	r := f.signed(t, "GET", "/sapi/v1/account/apiRestrictions", g.AccessToken, g.SecretKey, url.Values{})
	if r.status != 200 || r.body["enableWithdrawals"] != true || r.body["ipRestrict"] != true || r.body["enableSpotAndMarginTrading"] != false {
		t.Fatalf("apiRestrictions: %d %s", r.status, r.raw)
	}
	if s := f.ex.Stats(); s.LiveGrants != 1 || s.TokensIssued != 1 {
		t.Fatalf("stats = %+v", s)
	}
	f.ex.ExpireAccessTokens() // Binance deletes keys; every key so far stops working
	if a := f.signed(t, "GET", "/sapi/v1/account/status", g.AccessToken, g.SecretKey, url.Values{}); a.status != 401 || binanceCode(a) != -2015 {
		t.Fatalf("deleted key: %d %s", a.status, a.raw)
	}
	if s := f.ex.Stats(); s.LiveGrants != 0 {
		t.Fatalf("stats = %+v", s)
	}
	// A key with a lifetime (Config.AccessTTL) stops at its end.
	f2 := newFixture(t, NewBinance, Config{AccessTTL: time.Hour})
	g2, _ := f2.ex.MintGrant("ed")
	if g2.ExpiresIn == nil || *g2.ExpiresIn != 3600 {
		t.Fatalf("expires_in = %v", g2.ExpiresIn)
	}
	f2.clock.Advance(time.Hour)
	if a := f2.signed(t, "GET", "/sapi/v1/account/status", g2.AccessToken, g2.SecretKey, url.Values{}); binanceCode(a) != -2015 {
		t.Fatalf("key after its lifetime: %d %s", a.status, a.raw)
	}
}

func TestBinanceKeyPage(t *testing.T) {
	f := newFixture(t, NewBinance, Config{})
	if err := f.ex.CreateUser(User{Username: "flo", Password: "pw"}); err != nil {
		t.Fatal(err)
	}
	page := f.srv.URL + BinanceKeyPagePath
	if a := f.get(t, BinanceKeyPagePath, ""); a.status != 200 || !strings.Contains(a.raw, "Enable Withdrawals") {
		t.Fatalf("page: %d", a.status)
	}
	ctx := context.Background()
	if _, err := CreateKeyAtPage(ctx, nil, page, "flo", "wrong", APIKeyPermissions{}); err == nil {
		t.Fatal("a key was created with a wrong password")
	}
	if _, err := CreateKeyAtPage(ctx, nil, page, "flo", "pw", APIKeyPermissions{Withdrawals: true}); err == nil {
		t.Fatal("a withdrawal key without trusted IPs was created")
	}
	k, err := CreateKeyAtPage(ctx, nil, page, "flo", "pw", APIKeyPermissions{Trading: true, TrustedIPs: []string{"127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	r := f.signed(t, "GET", "/sapi/v1/account/apiRestrictions", k.Key, k.Secret, url.Values{})
	if r.status != 200 || r.body["enableSpotAndMarginTrading"] != true || r.body["enableWithdrawals"] != false {
		t.Fatalf("apiRestrictions: %d %s", r.status, r.raw)
	}
}
