package exchangesim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
)

// BenchmarkRefreshOverHTTP measures refresh-token rotations through the token endpoint,
// each goroutine walking its own grant's chain of refresh tokens.
func BenchmarkRefreshOverHTTP(b *testing.B) {
	ex := NewSandbox(Config{})
	srv := httptest.NewServer(ex)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	var n atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		g, err := ex.MintGrant(fmt.Sprintf("bench%d", n.Add(1)))
		if err != nil {
			b.Error(err)
			return
		}
		rt := g.RefreshToken
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/oauth2/token",
				strings.NewReader(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(DemoClientID, DemoClientSecret)
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			var tr struct {
				RefreshToken string `json:"refresh_token"`
			}
			err = jsonDecode(resp, &tr)
			if err != nil || tr.RefreshToken == "" {
				b.Errorf("refresh failed: %d", resp.StatusCode)
				return
			}
			rt = tr.RefreshToken
		}
	})
	if s := ex.Stats(); s.RefreshReuseDetected != 0 {
		b.Fatalf("reuse detected: %+v", s)
	}
}

// BenchmarkAuthenticateAccessToken measures the token lookup behind every API call.
func BenchmarkAuthenticateAccessToken(b *testing.B) {
	ex := NewCoinbase(Config{})
	tokens := make([]string, 10000)
	for i := range tokens {
		g, _ := ex.MintGrant(fmt.Sprintf("u%d", i))
		tokens[i] = g.AccessToken
	}
	now := ex.now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, p := ex.grants.authenticate(tokens[i%len(tokens)], now, false); p != tokenOK {
				b.Fatal(p)
			}
			i++
		}
	})
}

func jsonDecode(resp *http.Response, v any) error {
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}
