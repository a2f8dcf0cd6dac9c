package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/account"
	"github.com/linkvault/linkvault/internal/audit"
	"github.com/linkvault/linkvault/internal/exchangesim"
)

const (
	read  = linkvault.PermissionRead
	write = linkvault.PermissionWrite
)

type position struct {
	Symbol      string  `json:"symbol"`
	Name        string  `json:"name"`
	Amount      float64 `json:"amount"`
	LastPrice   float64 `json:"lastPrice"`
	MarketValue float64 `json:"marketValue"`
}

// TestHoldingsAndBalanceShapes reads every integration through its real adapter and
// simulated exchange and checks the Mesh field names and values.
func TestHoldingsAndBalanceShapes(t *testing.T) {
	e := newAPIEnv(t)
	for _, b := range linkvault.BrokerTypes {
		t.Run(string(b), func(t *testing.T) {
			tok := e.connect(t, "app1", "holder-"+string(b), b, read)
			r := e.post(t, "/api/v1/holdings/get", "app1", read, tokenBody(tok, b))
			expect(t, r, 200, "ok", "")
			var raw map[string]json.RawMessage
			r.content(t, &raw)
			for _, k := range []string{"status", "type", "accountId", "institutionName", "cryptocurrencyPositions", "equityPositions", "nftPositions", "optionPositions"} {
				if _, ok := raw[k]; !ok {
					t.Errorf("holdings content has no %q: %s", k, r.body)
				}
			}
			var h struct {
				Status          string     `json:"status"`
				Type            string     `json:"type"`
				AccountID       string     `json:"accountId"`
				Crypto          []position `json:"cryptocurrencyPositions"`
				Equity          []position `json:"equityPositions"`
				InstitutionName string     `json:"institutionName"`
			}
			r.content(t, &h)
			if h.Status != "succeeded" || h.Type != string(b) || h.AccountID == "" || h.InstitutionName == "" || h.Equity == nil || len(h.Equity) != 0 {
				t.Fatalf("holdings = %+v", h)
			}
			var btc *position
			for i := range h.Crypto {
				if h.Crypto[i].Symbol == "BTC" {
					btc = &h.Crypto[i]
				}
				if h.Crypto[i].Symbol == "USD" {
					t.Errorf("fiat listed as a crypto position: %+v", h.Crypto[i])
				}
			}
			if btc == nil || btc.Amount != 1.5 || math.Abs(btc.MarketValue-90000) > 0.01 {
				t.Fatalf("BTC position = %+v in %s", btc, r.body)
			}

			r = e.post(t, "/api/v1/balance/get", "app1", read, tokenBody(tok, b))
			expect(t, r, 200, "ok", "")
			var bal struct {
				Balances  []map[string]any `json:"balances"`
				TotalCash *float64         `json:"totalCashUsdValue"`
			}
			r.content(t, &bal)
			if len(bal.Balances) == 0 || bal.TotalCash == nil || *bal.TotalCash != 1000 {
				t.Fatalf("balance = %s", r.body)
			}
			usd := bal.Balances[0]
			for _, k := range []string{"currencyCode", "cash", "buyingPower", "cryptocurrencyBuyingPower"} {
				if _, ok := usd[k]; !ok {
					t.Errorf("balance has no %q: %s", k, r.body)
				}
			}
			if usd["currencyCode"] != "USD" || usd["cash"] != 1000.0 {
				t.Fatalf("USD balance = %v", usd)
			}
		})
	}
}

// TestNoOracleAcrossClientsTypesAndRemovals: another client's tokenId, a tokenId with
// the wrong type, a removed one and one never issued get byte-identical answers, on
// read and write endpoints alike, and the exchange is never called.
func TestNoOracleAcrossClientsTypesAndRemovals(t *testing.T) {
	e := newAPIEnv(t)
	mine := e.connect(t, "app1", "alice", linkvault.BrokerCoinbase, write)
	theirs := e.connect(t, "app2", "bob", linkvault.BrokerCoinbase, write)
	removed := e.connect(t, "app1", "carol", linkvault.BrokerCoinbase, write)
	if _, err := e.vault.Remove(context.Background(), "app1", removed, ""); err != nil {
		t.Fatal(err)
	}
	calls := e.sim.Coinbase.Stats().APICalls
	for _, ep := range []struct {
		path string
		body func(tok string, b linkvault.BrokerType) any
	}{
		{"/api/v1/holdings/get", func(tok string, b linkvault.BrokerType) any { return tokenBody(tok, b) }},
		{"/api/v1/balance/get", func(tok string, b linkvault.BrokerType) any { return tokenBody(tok, b) }},
		{"/api/v1/transfers/managed/preview", func(tok string, b linkvault.BrokerType) any { return sendBody(tok, b, "") }},
		{"/api/v1/transfers/managed/execute", func(tok string, b linkvault.BrokerType) any { return sendBody(tok, b, "tx-oracle") }},
	} {
		t.Run(ep.path, func(t *testing.T) {
			answers := map[string]apiResponse{
				"never issued":    e.post(t, ep.path, "app1", write, ep.body(linkvault.NewTokenID(), linkvault.BrokerCoinbase)),
				"other client's":  e.post(t, ep.path, "app1", write, ep.body(theirs, linkvault.BrokerCoinbase)),
				"wrong type":      e.post(t, ep.path, "app1", write, ep.body(mine, linkvault.BrokerSandbox)),
				"removed":         e.post(t, ep.path, "app1", write, ep.body(removed, linkvault.BrokerCoinbase)),
				"not a token":     e.post(t, ep.path, "app1", write, ep.body("../../etc/passwd", linkvault.BrokerCoinbase)),
				"absurdly long":   e.post(t, ep.path, "app1", write, ep.body(strings.Repeat("A", 500), linkvault.BrokerCoinbase)),
				"other client's2": e.post(t, ep.path, "app1", read, ep.body(theirs, linkvault.BrokerCoinbase)),
			}
			if ep.path != "/api/v1/holdings/get" && ep.path != "/api/v1/balance/get" {
				delete(answers, "other client's2") // read key: refused before the token is looked at
			}
			ref := answers["never issued"]
			expect(t, ref, 404, "notFound", linkvault.ErrTypeTokenNotFound)
			for name, r := range answers {
				if r.code != ref.code || !bytes.Equal(r.body, ref.body) {
					t.Errorf("%s: %d %s differs from %d %s", name, r.code, r.body, ref.code, ref.body)
				}
			}
		})
	}
	if got := e.sim.Coinbase.Stats().APICalls; got != calls {
		t.Fatalf("the exchange was called %d times for tokens that do not resolve", got-calls)
	}
	if _, err := e.db.GetTransfer(context.Background(), "app1", "tx-oracle"); !linkvault.IsNotFound(err) {
		t.Fatalf("a transfer record was written for an unresolved token: %v", err)
	}
}

// TestReadScopedTokenCannotTransfer: a write call with a read-scoped tokenId is a 403
// scopeMismatch and nothing is executed: no exchange call, no transfer record.
func TestReadScopedTokenCannotTransfer(t *testing.T) {
	e := newAPIEnv(t)
	tok := e.connect(t, "app1", "reader", linkvault.BrokerCoinbase, read)
	before := e.sim.Coinbase.Stats()
	for _, path := range []string{"/api/v1/transfers/managed/preview", "/api/v1/transfers/managed/execute"} {
		r := e.post(t, path, "app1", write, sendBody(tok, linkvault.BrokerCoinbase, "tx-scope"))
		expect(t, r, 403, "permissionDenied", linkvault.ErrTypeScopeMismatch)
		if !strings.Contains(r.env.Message, "read permission") {
			t.Errorf("message does not explain the scope: %q", r.env.Message)
		}
	}
	after := e.sim.Coinbase.Stats()
	if after.APICalls != before.APICalls || after.Transfers != 0 {
		t.Fatalf("the exchange saw %d calls and %d transfers", after.APICalls-before.APICalls, after.Transfers)
	}
	if _, err := e.db.GetTransfer(context.Background(), "app1", "tx-scope"); !linkvault.IsNotFound(err) {
		t.Fatalf("a transfer record was written: %v", err)
	}
	// The same token still reads.
	expect(t, e.post(t, "/api/v1/holdings/get", "app1", read, tokenBody(tok, linkvault.BrokerCoinbase)), 200, "ok", "")
	// And the attempt is in the audit trail, against this tokenId.
	es := e.auditLog(t, linkvault.AuditQuery{ClientID: "app1", TokenID: tok})
	var mismatches int
	for _, en := range es {
		if en.Outcome == linkvault.ErrTypeScopeMismatch && en.TokenID == tok && en.HTTPStatus == 403 {
			mismatches++
		}
	}
	if mismatches != 2 {
		t.Fatalf("audit has %d scope mismatches for the token, want 2: %+v", mismatches, es)
	}
}

// TestReadKeyCannotCallWriteEndpoints: a read API key is refused on the transfer
// endpoints whatever the tokenId, before anything is looked up.
func TestReadKeyCannotCallWriteEndpoints(t *testing.T) {
	e := newAPIEnv(t)
	tok := e.connect(t, "app1", "writer", linkvault.BrokerCoinbase, write)
	for _, path := range []string{"/api/v1/transfers/managed/preview", "/api/v1/transfers/managed/execute"} {
		r := e.post(t, path, "app1", read, sendBody(tok, linkvault.BrokerCoinbase, "tx-readkey"))
		expect(t, r, 403, "permissionDenied", linkvault.ErrTypeReadOnlyKey)
	}
	if st := e.sim.Coinbase.Stats(); st.Transfers != 0 || st.APICalls != 0 {
		t.Fatalf("exchange stats %+v", st)
	}
	if _, err := e.db.GetTransfer(context.Background(), "app1", "tx-readkey"); !linkvault.IsNotFound(err) {
		t.Fatalf("a transfer record was written: %v", err)
	}
}

// TestReauthRequiredTellsTheAppToOpenLink: a connection flagged re-auth-required
// answers 423 with the instruction, without calling the exchange.
func TestReauthRequiredTellsTheAppToOpenLink(t *testing.T) {
	e := newAPIEnv(t)
	tok := e.connect(t, "app1", "dave", linkvault.BrokerCoinbase, write)
	c := e.connection(t, "app1", tok)
	if err := e.vault.MarkReauthRequired(context.Background(), c, linkvault.ErrTypeReauthRequired); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		body any
	}{
		{"/api/v1/holdings/get", tokenBody(tok, linkvault.BrokerCoinbase)},
		{"/api/v1/balance/get", tokenBody(tok, linkvault.BrokerCoinbase)},
		{"/api/v1/transfers/managed/execute", sendBody(tok, linkvault.BrokerCoinbase, "tx-locked")},
	} {
		r := e.post(t, tc.path, "app1", write, tc.body)
		expect(t, r, 423, "locked", linkvault.ErrTypeReauthRequired)
		if !strings.Contains(r.env.Message, "Link") || r.env.DisplayMessage == nil {
			t.Fatalf("%s: the answer does not tell the app to open Link: %s", tc.path, r.body)
		}
	}
	if st := e.sim.Coinbase.Stats(); st.APICalls != 0 {
		t.Fatalf("the exchange was called %d times", st.APICalls)
	}
}

// TestTransientFailureIsRetriedAndNeverMarksReauth: an exchange answering 503 twice is
// retried within the request; one that keeps failing gives 502 with Retry-After, and
// the connection stays active with its credential.
func TestTransientFailureIsRetriedAndNeverMarksReauth(t *testing.T) {
	e := newAPIEnv(t)
	tok := e.connect(t, "app1", "erin", linkvault.BrokerCoinbase, read)
	before := e.connection(t, "app1", tok)

	e.proxy.failNext.Store(2)
	calls := e.proxy.calls.Load()
	expect(t, e.post(t, "/api/v1/holdings/get", "app1", read, tokenBody(tok, linkvault.BrokerCoinbase)), 200, "ok", "")
	// Two 503s, then the accounts and (unless the adapter still holds them) the
	// exchange's public rates that value them.
	if n := e.proxy.calls.Load() - calls; n != 3 && n != 4 {
		t.Fatalf("%d calls reached the exchange's front, want 3 or 4 (two 503s, then success)", n)
	}

	e.exchange(linkvault.BrokerCoinbase).SetFaults(exchangesim.Faults{ErrorRate: 1, ErrorDetail: "SECRET-UPSTREAM-DETAIL"})
	r := e.post(t, "/api/v1/holdings/get", "app1", read, tokenBody(tok, linkvault.BrokerCoinbase))
	expect(t, r, 502, "serverFailure", linkvault.ErrTypeProviderFailure)
	if r.hdr.Get("Retry-After") == "" {
		t.Fatal("502 without Retry-After")
	}
	if strings.Contains(string(r.body), "SECRET-UPSTREAM-DETAIL") {
		t.Fatal("upstream error text reached the caller")
	}
	if n := e.sim.Coinbase.Stats().Injected503; n != 3 {
		t.Fatalf("exchange answered %d injected 503s, want 3 (all attempts)", n)
	}

	e.exchange(linkvault.BrokerCoinbase).SetFaults(exchangesim.Faults{RateLimitRate: 1, RetryAfter: 7e9})
	r = e.post(t, "/api/v1/holdings/get", "app1", read, tokenBody(tok, linkvault.BrokerCoinbase))
	expect(t, r, 502, "serverFailure", linkvault.ErrTypeProviderFailure)
	if got := r.hdr.Get("Retry-After"); got != "7" {
		t.Fatalf("Retry-After = %q, want the exchange's 7", got)
	}

	after := e.connection(t, "app1", tok)
	if after.Status != linkvault.StatusActive || !bytes.Equal(after.SealedCredential, before.SealedCredential) {
		t.Fatalf("a transient failure changed the connection: status %s", after.Status)
	}
	e.exchange(linkvault.BrokerCoinbase).SetFaults(exchangesim.Faults{})
	expect(t, e.post(t, "/api/v1/holdings/get", "app1", read, tokenBody(tok, linkvault.BrokerCoinbase)), 200, "ok", "")
}

// TestRevokedGrantMarksReauth: when the exchange refuses the credential (the user
// revoked the grant), the lifecycle engine's one refresh attempt is refused too, the
// connection becomes re-auth-required and later calls answer 423 without calling the
// exchange; the tokenId stays.
func TestRevokedGrantMarksReauth(t *testing.T) {
	e := newAPIEnv(t)
	tok := e.connect(t, "app1", "frank", linkvault.BrokerCoinbase, read)
	if _, err := e.sim.Coinbase.RevokeUserGrants("frank"); err != nil {
		t.Fatal(err)
	}
	r := e.post(t, "/api/v1/holdings/get", "app1", read, tokenBody(tok, linkvault.BrokerCoinbase))
	expect(t, r, 423, "locked", linkvault.ErrTypeReauthRequired)
	if c := e.connection(t, "app1", tok); c.Status != linkvault.StatusReauthRequired {
		t.Fatalf("connection status %s, want reauth_required", c.Status)
	}
	st := e.sim.Coinbase.Stats()
	if st.RefreshesOK != 0 || st.RefreshesRejected != 1 {
		t.Fatalf("exchange saw %d refreshes and %d refused ones; want the engine's one refused attempt", st.RefreshesOK, st.RefreshesRejected)
	}
	expect(t, e.post(t, "/api/v1/balance/get", "app1", read, tokenBody(tok, linkvault.BrokerCoinbase)), 423, "locked", linkvault.ErrTypeReauthRequired)
	if got := e.sim.Coinbase.Stats(); got.APICalls != st.APICalls || got.RefreshesRejected != st.RefreshesRejected {
		t.Fatal("a re-auth-required connection still calls the exchange")
	}
}

// TestExpiredAccessTokenIsRefreshedThroughLifecycle: the exchange refuses an expired
// access token; the lifecycle engine refreshes it and the call is retried once,
// successfully.
func TestExpiredAccessTokenIsRefreshedThroughLifecycle(t *testing.T) {
	e := newAPIEnv(t)
	tok := e.connect(t, "app1", "gina", linkvault.BrokerCoinbase, read)
	e.sim.Coinbase.ExpireAccessTokens()
	expect(t, e.post(t, "/api/v1/holdings/get", "app1", read, tokenBody(tok, linkvault.BrokerCoinbase)), 200, "ok", "")
	if st := e.sim.Coinbase.Stats(); st.RefreshesOK != 1 || st.RefreshReuseDetected != 0 {
		t.Fatalf("refreshes %d, reuse detections %d; want 1, 0", st.RefreshesOK, st.RefreshReuseDetected)
	}
	if c := e.connection(t, "app1", tok); c.Status != linkvault.StatusActive {
		t.Fatalf("status %s after a successful refresh", c.Status)
	}
	// The refreshed credential is used from now on: no further refresh.
	expect(t, e.post(t, "/api/v1/holdings/get", "app1", read, tokenBody(tok, linkvault.BrokerCoinbase)), 200, "ok", "")
	if e.sim.Coinbase.Stats().RefreshesOK != 1 {
		t.Fatal("the refreshed credential was not kept")
	}
}

type executed struct {
	Status string `json:"status"`
	Result struct {
		TransferID          string  `json:"transferId"`
		ClientTransactionID string  `json:"clientTransactionId"`
		Status              string  `json:"status"`
		Symbol              string  `json:"symbol"`
		Amount              float64 `json:"amount"`
		NetworkID           string  `json:"networkId"`
		NetworkName         string  `json:"networkName"`
		Hash                string  `json:"hash"`
		NetworkGasFee       struct {
			Fee         float64 `json:"fee"`
			FeeCurrency string  `json:"feeCurrency"`
		} `json:"networkGasFee"`
	} `json:"executeTransferResult"`
}

// TestPreviewAndExecute checks the shapes and that the funds move once.
func TestPreviewAndExecute(t *testing.T) {
	e := newAPIEnv(t)
	for _, b := range linkvault.BrokerTypes {
		t.Run(string(b), func(t *testing.T) {
			user := "sender-" + string(b)
			tok := e.connect(t, "app1", user, b, write)
			r := e.post(t, "/api/v1/transfers/managed/preview", "app1", write, previewBody(tok, b, ""))
			expect(t, r, 200, "ok", "")
			var p struct {
				Status string `json:"status"`
				Result struct {
					PreviewID string  `json:"previewId"`
					Symbol    string  `json:"symbol"`
					Amount    float64 `json:"amount"`
					NetworkID string  `json:"networkId"`
					Total     float64 `json:"totalEstimatedAmount"`
					Fee       *struct {
						Fee         float64 `json:"fee"`
						FeeCurrency string  `json:"feeCurrency"`
					} `json:"estimatedNetworkGasFee"`
				} `json:"previewResult"`
			}
			r.content(t, &p)
			if p.Status != "succeeded" || p.Result.PreviewID == "" || p.Result.Symbol != "ETH" || p.Result.Amount != 0.01 ||
				p.Result.NetworkID != ethereumID {
				t.Fatalf("preview = %s", r.body)
			}
			// Uphold and Binance quote the fee up front; Coinbase sets it only when it sends,
			// so its preview has no estimatedNetworkGasFee (nullable in Mesh's schema): a fee
			// of 0 would tell the app the transfer is free.
			switch fee := p.Result.Fee; {
			case b == linkvault.BrokerCoinbase && fee != nil:
				t.Fatalf("preview quotes a fee Coinbase does not quote: %s", r.body)
			case (b == linkvault.BrokerUphold || b == linkvault.BrokerBinance) && (fee == nil || fee.Fee <= 0):
				t.Fatalf("preview without the exchange's fee: %s", r.body)
			case fee != nil && (fee.FeeCurrency != "ETH" || fee.Fee < 0):
				t.Fatalf("preview fee: %s", r.body)
			}
			if st := e.exchange(b).Stats(); st.Transfers != 0 {
				t.Fatal("a preview executed a transfer")
			}

			r = e.post(t, "/api/v1/transfers/managed/execute", "app1", write, executeBody(tok, b, p.Result.PreviewID))
			expect(t, r, 200, "ok", "")
			var x executed
			r.content(t, &x)
			if x.Status != "succeeded" || x.Result.TransferID != p.Result.PreviewID ||
				x.Result.Symbol != "ETH" || x.Result.Amount != 0.01 || x.Result.NetworkName != "Ethereum" {
				t.Fatalf("execute = %s", r.body)
			}
			bal, _ := e.exchange(b).Balances(user)
			if st := e.exchange(b).Stats(); st.Transfers != 1 || bal["ETH"] >= 12-0.01 {
				t.Fatalf("exchange transfers %d, ETH balance %v", st.Transfers, bal["ETH"])
			}
		})
	}
}

// TestExecuteIsIdempotent: a retried execute never pays twice.
func TestExecuteIsIdempotent(t *testing.T) {
	e := newAPIEnv(t)
	tok := e.connect(t, "app1", "henry", linkvault.BrokerCoinbase, write)
	body := executeBody(tok, linkvault.BrokerCoinbase, e.previewID(t, "app1", previewBody(tok, linkvault.BrokerCoinbase, "order-1")))
	first := e.post(t, "/api/v1/transfers/managed/execute", "app1", write, body)
	expect(t, first, 200, "ok", "")
	second := e.post(t, "/api/v1/transfers/managed/execute", "app1", write, body)
	expect(t, second, 200, "ok", "")
	if !bytes.Equal(first.body, second.body) || second.hdr.Get("Idempotent-Replayed") != "true" || first.hdr.Get("Idempotent-Replayed") != "" {
		t.Fatalf("replay differs:\n%s\n%s", first.body, second.body)
	}
	if n := e.sim.Coinbase.Stats().Transfers; n != 1 {
		t.Fatalf("%d transfers at the exchange, want 1", n)
	}

	t.Run("same id, different body", func(t *testing.T) {
		other := previewBody(tok, linkvault.BrokerCoinbase, "order-1")
		other["amount"] = 0.02
		r := e.post(t, "/api/v1/transfers/managed/execute", "app1", write, executeBody(tok, linkvault.BrokerCoinbase, e.previewID(t, "app1", other)))
		expect(t, r, 409, "conflict", linkvault.ErrTypeConflict)
		if !strings.Contains(r.env.Message, "different transfer") {
			t.Fatalf("unclear conflict message %q", r.env.Message)
		}
		if n := e.sim.Coinbase.Stats().Transfers; n != 1 {
			t.Fatalf("%d transfers at the exchange, want 1", n)
		}
	})

	t.Run("same id, another client", func(t *testing.T) {
		tok2 := e.connect(t, "app2", "henry", linkvault.BrokerCoinbase, write) // the same exchange user
		r := e.post(t, "/api/v1/transfers/managed/execute", "app2", write,
			executeBody(tok2, linkvault.BrokerCoinbase, e.previewID(t, "app2", previewBody(tok2, linkvault.BrokerCoinbase, "order-1"))))
		expect(t, r, 200, "ok", "")
		if n := e.sim.Coinbase.Stats().Transfers; n != 2 {
			t.Fatalf("%d transfers, want 2: ids of different clients must not collide at the exchange", n)
		}
	})

	t.Run("concurrent duplicates", func(t *testing.T) {
		tok := e.connect(t, "app1", "irene", linkvault.BrokerCoinbase, write)
		before := e.sim.Coinbase.Stats().Transfers
		body := executeBody(tok, linkvault.BrokerCoinbase, e.previewID(t, "app1", previewBody(tok, linkvault.BrokerCoinbase, "order-race")))
		var (
			wg  sync.WaitGroup
			mu  sync.Mutex
			ids = map[string]int{}
		)
		for range 8 {
			wg.Go(func() {
				r := e.post(t, "/api/v1/transfers/managed/execute", "app1", write, body)
				mu.Lock()
				defer mu.Unlock()
				switch r.code {
				case 200:
					var x executed
					r.content(t, &x)
					ids[x.Result.TransferID]++
				case 409:
					ids["conflict"]++
				default:
					t.Errorf("unexpected answer %d %s", r.code, r.body)
				}
			})
		}
		wg.Wait()
		if n := e.sim.Coinbase.Stats().Transfers - before; n != 1 {
			t.Fatalf("%d transfers for one clientTransactionId, want 1 (answers %v)", n, ids)
		}
		delete(ids, "conflict")
		if len(ids) != 1 {
			t.Fatalf("successful answers name %d transfers: %v", len(ids), ids)
		}
	})

	t.Run("beyond the balance is refused at preview", func(t *testing.T) {
		big := previewBody(tok, linkvault.BrokerCoinbase, "order-big")
		big["amount"] = 1000
		before := e.sim.Coinbase.Stats().Transfers
		r := e.post(t, "/api/v1/transfers/managed/preview", "app1", write, big)
		expect(t, r, 400, "badRequest", linkvault.ErrTypeInsufficientFunds)
		if e.sim.Coinbase.Stats().Transfers != before {
			t.Fatal("a refused preview moved funds")
		}
	})
}

// TestExecuteRetryAfterALostAnswer: the exchange executes but its answer is lost (a
// crash or network cut between its answer and our write). The record stays
// interrupted; the retry calls the exchange again with the same idempotency key and
// gets the same transfer back: paid once.
func TestExecuteRetryAfterALostAnswer(t *testing.T) {
	e := newAPIEnv(t)
	tok := e.connect(t, "app1", "jack", linkvault.BrokerCoinbase, write)
	body := executeBody(tok, linkvault.BrokerCoinbase, e.previewID(t, "app1", previewBody(tok, linkvault.BrokerCoinbase, "order-lost")))
	e.proxy.swallow.Store(true)
	r := e.post(t, "/api/v1/transfers/managed/execute", "app1", write, body)
	expect(t, r, 502, "serverFailure", linkvault.ErrTypeProviderFailure)
	if n := e.sim.Coinbase.Stats().Transfers; n != 1 {
		t.Fatalf("the exchange executed %d transfers, want 1 (the retries carried the same key)", n)
	}
	rec, err := e.db.GetTransfer(context.Background(), "app1", "order-lost")
	if err != nil || rec.Status != linkvault.TransferInterrupted {
		t.Fatalf("record = %+v, %v; want interrupted", rec, err)
	}
	e.proxy.swallow.Store(false)
	r = e.post(t, "/api/v1/transfers/managed/execute", "app1", write, body)
	expect(t, r, 200, "ok", "")
	if n := e.sim.Coinbase.Stats().Transfers; n != 1 {
		t.Fatalf("the retry paid again: %d transfers", n)
	}
	bal, _ := e.sim.Coinbase.Balances("jack")
	if bal["ETH"] < 12-0.01-0.001-1e-9 {
		t.Fatalf("ETH balance %v: debited more than once", bal["ETH"])
	}
	rec, _ = e.db.GetTransfer(context.Background(), "app1", "order-lost")
	var x executed
	r.content(t, &x)
	if rec.Status != linkvault.TransferCompleted || rec.ProviderTransferID == "" || x.Result.TransferID == "" || rec.Attempt != 2 {
		t.Fatalf("record after the retry = %+v", rec)
	}
}

// TestTransferBadInputWritesNothing: every malformed transfer request gets a clear 400
// and changes nothing anywhere.
func TestTransferBadInputWritesNothing(t *testing.T) {
	e := newAPIEnv(t)
	tok := e.connect(t, "app1", "kate", linkvault.BrokerCoinbase, write)
	with := func(kv ...any) map[string]any {
		b := previewBody(tok, linkvault.BrokerCoinbase, "tx-bad")
		for i := 0; i < len(kv); i += 2 {
			if k, v := kv[i].(string), kv[i+1]; v == nil {
				delete(b, k)
			} else {
				b[k] = v
			}
		}
		return b
	}
	tests := []struct {
		name     string
		body     any
		wantType string
		wantMsg  string
	}{
		{"malformed JSON", `{"fromAuthToken":`, linkvault.ErrTypeInvalidJSON, "not valid JSON"},
		{"empty body", ``, linkvault.ErrTypeInvalidJSON, "empty"},
		{"amount as text", with("amount", "0.01"), linkvault.ErrTypeInvalidJSON, "amount"},
		{"missing fromAuthToken", with("fromAuthToken", nil), linkvault.ErrTypeInvalidRequest, "fromAuthToken"},
		{"missing fromType", with("fromType", nil), linkvault.ErrTypeInvalidRequest, "fromType"},
		{"unknown fromType", with("fromType", "kraken"), linkvault.ErrTypeUnknownBrokerType, "brokerType"},
		{"missing toAddress", with("toAddress", nil), linkvault.ErrTypeInvalidRequest, "toAddress"},
		{"garbage toAddress", with("toAddress", "0x12 34; DROP"), account.ErrTypeInvalidAddress, "toAddress"},
		{"Bitcoin address on Ethereum", with("toAddress", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"), account.ErrTypeInvalidAddress, "Ethereum"},
		// EIP-55's example with one letter's case flipped (…BeAed → …BeaEd).
		{"mistyped Ethereum address", with("toAddress", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeaEd"), account.ErrTypeInvalidAddress, "Ethereum"},
		// One character of a valid segwit address changed: its checksum no longer holds.
		{"mistyped Bitcoin address", with("networkId", "0880db06-7c7c-4738-898f-cf74efc03c47", "symbol", "BTC", "toAddress", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdx"), account.ErrTypeInvalidAddress, "Bitcoin"},
		{"missing symbol", with("symbol", nil), linkvault.ErrTypeInvalidRequest, "symbol"},
		{"malformed symbol", with("symbol", "ET H"), linkvault.ErrTypeInvalidRequest, "symbol"},
		{"missing network", with("networkId", nil), linkvault.ErrTypeInvalidRequest, "networkId"},
		{"unknown network", with("networkId", "00000000-0000-4000-8000-000000000000"), account.ErrTypeUnknownNetwork, "Unknown networkId"},
		{"amount and amountInFiat", with("amountInFiat", 10), linkvault.ErrTypeInvalidRequest, "not both"},
		{"missing amount", with("amount", nil), linkvault.ErrTypeInvalidRequest, "amount"},
		{"zero amount", with("amount", 0), linkvault.ErrTypeInvalidRequest, "greater than zero"},
		{"negative amount", with("amount", -1), linkvault.ErrTypeInvalidRequest, "greater than zero"},
		{"huge amount", with("amount", 1e300), linkvault.ErrTypeInvalidRequest, "too large"},
		{"amount beyond a double", `{"fromAuthToken":"` + tok + `","fromType":"coinbase","amount":1e400}`, linkvault.ErrTypeInvalidJSON, `Field "amount" is out of range.`},
		{"zero amountInFiat", with("amount", nil, "amountInFiat", 0), linkvault.ErrTypeInvalidRequest, "amountInFiat must be greater than zero"},
		{"negative amountInFiat", with("amount", nil, "amountInFiat", -5), linkvault.ErrTypeInvalidRequest, "amountInFiat must be greater than zero"},
		{"huge amountInFiat", with("amount", nil, "amountInFiat", 1e19), linkvault.ErrTypeInvalidRequest, "amountInFiat is too large"},
		{"transactionId with spaces", with("transactionId", "a b"), linkvault.ErrTypeInvalidRequest, "transactionId"},
		{"transactionId too long", with("transactionId", strings.Repeat("x", 129)), linkvault.ErrTypeInvalidRequest, "transactionId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.post(t, "/api/v1/transfers/managed/preview", "app1", write, tt.body)
			expect(t, r, 400, "badRequest", tt.wantType)
			if !strings.Contains(r.env.Message, tt.wantMsg) {
				t.Fatalf("message %q does not mention %q", r.env.Message, tt.wantMsg)
			}
		})
	}
	if st := e.sim.Coinbase.Stats(); st.APICalls != 0 || st.Transfers != 0 {
		t.Fatalf("bad input reached the exchange: %+v", st)
	}
	if _, err := e.db.GetTransfer(context.Background(), "app1", "tx-bad"); !linkvault.IsNotFound(err) {
		t.Fatalf("bad input wrote a transfer record: %v", err)
	}
	if es := e.auditLog(t, linkvault.AuditQuery{ClientID: "app1"}); len(es) != 0 {
		t.Fatalf("bad input was audited as a use of the tokenId: %+v", es)
	}
	if c := e.connection(t, "app1", tok); c.Version != 1 {
		t.Fatalf("bad input changed the connection (version %d)", c.Version)
	}
}

// TestAuditTrail records who used which tokenId, when and with what outcome, and never
// a secret; a probe with another client's tokenId is recorded by fingerprint only.
func TestAuditTrail(t *testing.T) {
	e := newAPIEnv(t)
	mine := e.connect(t, "app1", "liam", linkvault.BrokerCoinbase, write)
	theirs := e.connect(t, "app2", "mia", linkvault.BrokerCoinbase, write)
	expect(t, e.post(t, "/api/v1/holdings/get", "app1", read, tokenBody(mine, linkvault.BrokerCoinbase)), 200, "ok", "")
	pid := e.previewID(t, "app1", previewBody(mine, linkvault.BrokerCoinbase, "a-1"))
	expect(t, e.post(t, "/api/v1/transfers/managed/execute", "app1", write, executeBody(mine, linkvault.BrokerCoinbase, pid)), 200, "ok", "")
	expect(t, e.post(t, "/api/v1/balance/get", "app1", read, tokenBody(theirs, linkvault.BrokerCoinbase)), 404, "notFound", linkvault.ErrTypeTokenNotFound)

	es := e.auditLog(t, linkvault.AuditQuery{ClientID: "app1"})
	if len(es) != 4 {
		t.Fatalf("%d entries, want 4: %+v", len(es), es)
	}
	probe, exec, hold := es[0], es[1], es[3]
	if es[2].Action != audit.ActionTransferPreview || es[2].TokenID != mine {
		t.Errorf("preview entry %+v", es[2])
	}
	if hold.Action != audit.ActionHoldings || hold.Outcome != audit.OutcomeOK || hold.TokenID != mine || hold.HTTPStatus != 200 ||
		hold.KeyID == "" || hold.BrokerType != linkvault.BrokerCoinbase || hold.CreatedAt.IsZero() {
		t.Errorf("holdings entry %+v", hold)
	}
	if exec.Action != audit.ActionTransferExecute || exec.Outcome != audit.OutcomeOK || exec.TokenID != mine || exec.KeyID == hold.KeyID {
		t.Errorf("execute entry %+v (must name the write key, not the read key)", exec)
	}
	if probe.Action != audit.ActionBalance || probe.Outcome != linkvault.ErrTypeTokenNotFound || probe.TokenID != "" ||
		probe.TokenRef != linkvault.TokenFingerprint(theirs) || probe.HTTPStatus != 404 {
		t.Errorf("probe entry %+v: another client's tokenId must be kept by fingerprint only", probe)
	}
	if got := e.auditLog(t, linkvault.AuditQuery{ClientID: "app2"}); len(got) != 0 {
		t.Errorf("app1's probe shows in app2's trail: %+v", got)
	}
	// No secret anywhere in the log.
	b, _ := json.Marshal(es)
	c := e.connection(t, "app1", mine)
	cred, err := e.vault.Open(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	noSecretIn(t, "audit log", b, cred.AccessToken.Reveal(), cred.RefreshToken.Reveal(), e.keys["app1"][read], e.keys["app1"][write], theirs)
}

// TestIntegrationsAndStatus: the catalog lists the enabled integrations; the status
// reflects recent outcomes and never calls an exchange itself.
func TestIntegrationsAndStatus(t *testing.T) {
	e := newAPIEnv(t)
	r := e.do(t, "GET", "/api/v1/integrations", "app1", read, "")
	expect(t, r, 200, "ok", "")
	var cat struct {
		Items []struct {
			ID                       string               `json:"id"`
			Type                     linkvault.BrokerType `json:"type"`
			CryptoTransfersSupported bool                 `json:"cryptoTransfersSupported"`
		} `json:"items"`
	}
	r.content(t, &cat)
	if len(cat.Items) != 4 || cat.Items[0].Type != linkvault.BrokerCoinbase || cat.Items[0].ID != "47624467-e52e-4938-a41a-7926b6c27acf" || !cat.Items[0].CryptoTransfersSupported {
		t.Fatalf("integrations = %s", r.body)
	}

	type status struct {
		Type   linkvault.BrokerType `json:"type"`
		Status string               `json:"description"`
		IsUp   bool                 `json:"isUp"`
	}
	statusOf := func(b linkvault.BrokerType) status {
		t.Helper()
		r := e.do(t, "GET", "/api/v1/status", "app1", read, "")
		expect(t, r, 200, "ok", "")
		var ss []status
		r.content(t, &ss)
		if len(ss) != 4 {
			t.Fatalf("status = %s", r.body)
		}
		for _, s := range ss {
			if s.Type == b {
				return s
			}
		}
		t.Fatalf("no status for %s", b)
		return status{}
	}
	if s := statusOf(linkvault.BrokerCoinbase); s.Status != "unknown" || !s.IsUp {
		t.Fatalf("before any call: %+v", s)
	}
	tok := e.connect(t, "app1", "noah", linkvault.BrokerCoinbase, read)
	expect(t, e.post(t, "/api/v1/holdings/get", "app1", read, tokenBody(tok, linkvault.BrokerCoinbase)), 200, "ok", "")
	if s := statusOf(linkvault.BrokerCoinbase); s.Status != "operational" || !s.IsUp {
		t.Fatalf("after a success: %+v", s)
	}
	e.sim.Coinbase.SetFaults(exchangesim.Faults{ErrorRate: 1})
	expect(t, e.post(t, "/api/v1/holdings/get", "app1", read, tokenBody(tok, linkvault.BrokerCoinbase)), 502, "serverFailure", linkvault.ErrTypeProviderFailure)
	calls := e.sim.Coinbase.Stats().APICalls
	for range 5 {
		if s := statusOf(linkvault.BrokerCoinbase); s.Status != "degraded" || s.IsUp {
			t.Fatalf("after transient failures: %+v", s)
		}
	}
	if e.sim.Coinbase.Stats().APICalls != calls {
		t.Fatal("GET /api/v1/status called the exchange")
	}
	e.sim.Coinbase.SetFaults(exchangesim.Faults{})
	if _, err := e.sim.Coinbase.RevokeUserGrants("noah"); err != nil {
		t.Fatal(err)
	}
	expect(t, e.post(t, "/api/v1/holdings/get", "app1", read, tokenBody(tok, linkvault.BrokerCoinbase)), 423, "locked", linkvault.ErrTypeReauthRequired)
	if s := statusOf(linkvault.BrokerCoinbase); s.Status != "operational" {
		t.Fatalf("a refused credential is an answer, the exchange is up: %+v", s)
	}
}

// TestWriteKeyReadsToo: write keys may call the read endpoints.
func TestWriteKeyReadsToo(t *testing.T) {
	e := newAPIEnv(t)
	tok := e.connect(t, "app1", "olga", linkvault.BrokerSandbox, read)
	expect(t, e.post(t, "/api/v1/balance/get", "app1", write, tokenBody(tok, linkvault.BrokerSandbox)), 200, "ok", "")
	r := e.do(t, "GET", "/api/v1/status", "app1", write, "")
	expect(t, r, 200, "ok", "")
	if r.code != http.StatusOK {
		t.Fatal(r.code)
	}
}

// TestPreviewReportsInsufficientFunds: an amount the balance does not cover is a clear
// error (Mesh's PreviewTransferResponse has no place for one), and nothing moves.
func TestPreviewReportsInsufficientFunds(t *testing.T) {
	e := newAPIEnv(t)
	tok := e.connect(t, "app1", "pat", linkvault.BrokerCoinbase, write)
	body := previewBody(tok, linkvault.BrokerCoinbase, "")
	body["amount"] = 1000
	r := e.post(t, "/api/v1/transfers/managed/preview", "app1", write, body)
	expect(t, r, 400, "badRequest", linkvault.ErrTypeInsufficientFunds)
	if !strings.Contains(r.env.Message, "balance") {
		t.Fatalf("preview = %s", r.body)
	}
	if st := e.sim.Coinbase.Stats(); st.Transfers != 0 {
		t.Fatal("a preview moved funds")
	}
}

// TestTransferNeverUsesACachedConnection: another replica removes a connection (the row
// is deleted behind this server's resolve cache). Reads may still be served from the
// cache within its TTL, but a transfer reads the database and gets not found: nothing
// reaches the exchange.
func TestTransferNeverUsesACachedConnection(t *testing.T) {
	e := newAPIEnv(t)
	tok := e.connect(t, "app1", "mover", linkvault.BrokerCoinbase, write)
	expect(t, e.post(t, "/api/v1/holdings/get", "app1", read, tokenBody(tok, linkvault.BrokerCoinbase)), 200, "ok", "") // now cached
	if err := e.db.DeleteConnection(context.Background(), "app1", tok); err != nil {
		t.Fatal(err)
	}
	before := e.sim.Coinbase.Stats()
	for _, path := range []string{"/api/v1/transfers/managed/preview", "/api/v1/transfers/managed/execute"} {
		expect(t, e.post(t, path, "app1", write, sendBody(tok, linkvault.BrokerCoinbase, "tx-removed")), 404, "notFound", linkvault.ErrTypeTokenNotFound)
	}
	if after := e.sim.Coinbase.Stats(); after.APICalls != before.APICalls || after.Transfers != before.Transfers {
		t.Fatalf("the exchange saw %d calls for a removed connection", after.APICalls-before.APICalls)
	}
}

// TestExecuteAsksForMFA: when the exchange wants a second factor, execute answers 200
// with Mesh's status mfaRequired (nothing moved); the same previewId with mfaCode
// executes. Every answer is checked against Mesh's schemas by e.post.
func TestExecuteAsksForMFA(t *testing.T) {
	e := newAPIEnv(t)
	if err := e.sim.Coinbase.CreateUser(exchangesim.User{Username: "mona", Password: "pw", TwoFactor: true}); err != nil {
		t.Fatal(err)
	}
	tok := e.connect(t, "app1", "mona", linkvault.BrokerCoinbase, write)
	pid := e.previewID(t, "app1", previewBody(tok, linkvault.BrokerCoinbase, ""))
	var x struct {
		Status string `json:"status"`
	}
	r := e.post(t, "/api/v1/transfers/managed/execute", "app1", write, executeBody(tok, linkvault.BrokerCoinbase, pid))
	expect(t, r, 200, "ok", "")
	r.content(t, &x)
	if x.Status != "mfaRequired" || e.sim.Coinbase.Stats().Transfers != 0 {
		t.Fatalf("execute without a code: %s", r.body)
	}
	body := executeBody(tok, linkvault.BrokerCoinbase, pid)
	body["mfaCode"] = exchangesim.DefaultMFACode
	r = e.post(t, "/api/v1/transfers/managed/execute", "app1", write, body)
	expect(t, r, 200, "ok", "")
	r.content(t, &x)
	if x.Status != "succeeded" || e.sim.Coinbase.Stats().Transfers != 1 {
		t.Fatalf("execute with the code: %s", r.body)
	}
}

// TestManagedTransfersQuery: GET /api/v1/transfers/managed/mesh reads Mesh's query
// parameters (Count and Offset are int32, Id a UUID): a page, one transfer by Id (a
// GUID in any case, as Mesh's .NET server parses it) or by ClientTransactionId, and a
// clear 400 naming the parameter for each bad value.
func TestManagedTransfersQuery(t *testing.T) {
	e := newAPIEnv(t)
	tok := e.connect(t, "app1", "quinn", linkvault.BrokerCoinbase, write)
	id := e.previewID(t, "app1", previewBody(tok, linkvault.BrokerCoinbase, "q-1"))
	expect(t, e.post(t, "/api/v1/transfers/managed/execute", "app1", write, executeBody(tok, linkvault.BrokerCoinbase, id)), 200, "ok", "")
	pages := map[string]int{ // query -> items on the page
		"": 1, "?Count=1&Offset=0": 1, "?Offset=1": 0,
		"?Id=" + id: 1, "?Id=" + strings.ToUpper(id): 1, "?Id=00000000-0000-4000-8000-000000000000": 0,
		"?ClientTransactionId=q-1": 1, "?ClientTransactionId=q-2": 0,
	}
	for query, want := range pages {
		r := e.do(t, "GET", "/api/v1/transfers/managed/mesh"+query, "app1", read, "")
		var page struct {
			Items []struct {
				ID string `json:"id"`
			} `json:"items"`
		}
		if r.code != 200 {
			t.Errorf("%s: %d %s", query, r.code, r.body)
			continue
		}
		r.content(t, &page)
		if len(page.Items) != want || want == 1 && page.Items[0].ID != id {
			t.Errorf("%s: %s, want %d item(s)", query, r.body, want)
		}
	}
	refused := map[string]string{ // query -> message
		"?Count=abc": "Count must be a whole number.", "?Count=1.5": "Count must be a whole number.",
		"?Count=101": "Count must be between 1 and 100.", "?Count=-1": "Count must be between 1 and 100.",
		"?Offset=-1": "Offset must not be negative.", "?Offset=99999999999999999999": "Offset is out of range.",
		"?Offset=2147483648": "Offset is out of range.", "?Count=-99999999999999999999": "Count is out of range.",
		"?Id=nope": "Id must be a transfer id (a UUID).",
	}
	// Filters linkvault does not apply are refused, never ignored: an app asking for one
	// user's transfers must not be handed every user's.
	const notApplied = " is not supported: linkvault does not filter managed transfers by it. " +
		"Ask for one transfer by Id or ClientTransactionId, or read the pages (Count, Offset) and filter them."
	for query, name := range map[string]string{
		"?UserId=quinn": "UserId", "?userid=quinn": "UserId", "?Id=" + id + "&UserId=someone": "UserId",
		"?Statuses=succeeded": "Statuses", "?IntegrationIds=" + id: "IntegrationIds", "?FromTimestamp=1": "FromTimestamp",
		"?ToTimestamp=1": "ToTimestamp", "?MinAmountInFiat=1": "MinAmountInFiat", "?MaxAmountInFiat=1": "MaxAmountInFiat",
		"?OrderBy=amount": "OrderBy", "?Hash=0xabc": "Hash", "?SubClientId=" + id: "SubClientId",
		"?DescendingOrder=false": "DescendingOrder other than true",
	} {
		refused[query] = name + notApplied
	}
	for _, query := range []string{"?DescendingOrder=true", "?UserId=", "?IsSandBox=false"} {
		if r := e.do(t, "GET", "/api/v1/transfers/managed/mesh"+query, "app1", read, ""); r.code != 200 {
			t.Errorf("%s: %d %s", query, r.code, r.body)
		}
	}
	for query, msg := range refused {
		r := e.do(t, "GET", "/api/v1/transfers/managed/mesh"+query, "app1", read, "")
		if r.code != 400 || r.env.ErrorType != linkvault.ErrTypeInvalidRequest || r.env.Message != msg {
			t.Errorf("%s: %d %s, want 400 %q", query, r.code, r.body, msg)
		}
	}
}

// TestTransferHistoryStatuses: POST /api/v1/transfers/list applies Mesh's statuses
// filter (BrokerCryptocurrencyTransactionStatus values) to the exchange's history; a
// value outside that enum is a 400 that never reaches the exchange.
func TestTransferHistoryStatuses(t *testing.T) {
	e := newAPIEnv(t)
	tok := e.connect(t, "app1", "rosa", linkvault.BrokerCoinbase, write)
	id := e.previewID(t, "app1", previewBody(tok, linkvault.BrokerCoinbase, ""))
	expect(t, e.post(t, "/api/v1/transfers/managed/execute", "app1", write, executeBody(tok, linkvault.BrokerCoinbase, id)), 200, "ok", "")
	list := func(statuses any) apiResponse {
		b := tokenBody(tok, linkvault.BrokerCoinbase)
		if statuses != nil {
			b["statuses"] = statuses
		}
		return e.post(t, "/api/v1/transfers/list", "app1", read, b)
	}
	for name, tc := range map[string]struct {
		statuses any
		want     int
	}{
		"no filter": {nil, 1}, "empty filter": {[]string{}, 1}, "succeeded": {[]string{"succeeded"}, 1},
		"pending or failed": {[]string{"pending", "failed"}, 0}, "a status linkvault never reports": {[]string{"frozen"}, 0},
		"pending or succeeded": {[]string{"pending", "succeeded"}, 1}, "Succeeded (case as .NET reads enums)": {[]string{"Succeeded"}, 1},
	} {
		r := list(tc.statuses)
		expect(t, r, 200, "ok", "")
		var page struct {
			Transfers []struct {
				Status string `json:"status"`
			} `json:"transfers"`
			Total int `json:"total"`
		}
		r.content(t, &page)
		if len(page.Transfers) != tc.want || page.Total != tc.want || tc.want == 1 && page.Transfers[0].Status != "succeeded" {
			t.Errorf("%s: %s, want %d transfer(s)", name, r.body, tc.want)
		}
	}
	calls := e.sim.Coinbase.Stats().APICalls
	for _, bad := range []any{[]string{"success"}, []string{"done"}, "succeeded"} {
		r := list(bad)
		if r.code != 400 || !strings.Contains(r.env.Message, "statuses") {
			t.Errorf("statuses %v: %d %s, want a 400 naming statuses", bad, r.code, r.body)
		}
	}
	if e.sim.Coinbase.Stats().APICalls != calls {
		t.Error("a refused statuses filter reached the exchange")
	}
}

// TestExchangeVerifyAccountInfo: POST /api/v1/exchange/verify answers the fields of
// accountInfo (Mesh's AccountInfoType values) the exchange exposes, and refuses a value
// outside that enum with a 400 naming accountInfo instead of silently answering
// nothing for it.
func TestExchangeVerifyAccountInfo(t *testing.T) {
	e := newAPIEnv(t)
	tok := e.connect(t, "app1", "sam", linkvault.BrokerCoinbase, read)
	verify := func(info any) apiResponse {
		return e.post(t, "/api/v1/exchange/verify", "app1", read, map[string]any{
			"authToken": tok, "integrationId": account.IntegrationID(linkvault.BrokerCoinbase), "accountInfo": info})
	}
	// Enum values are matched without regard to case, as Mesh's .NET server reads them.
	for _, info := range [][]string{{"email", "middleName"}, {"Email"}} {
		r := verify(info)
		expect(t, r, 200, "ok", "")
		var got map[string]any
		r.content(t, &got)
		if got["email"] == nil || got["firstName"] != nil || got["integrationName"] != "Coinbase" {
			t.Errorf("accountInfo %v: %s", info, r.body)
		}
	}
	calls := e.sim.Coinbase.Stats().APICalls
	for _, bad := range []any{[]string{"emial"}, []string{"email", "e-mail"}, "email"} {
		r := verify(bad)
		if r.code != 400 || !strings.Contains(r.env.Message, "accountInfo") {
			t.Errorf("accountInfo %v: %d %s, want a 400 naming accountInfo", bad, r.code, r.body)
		}
	}
	if e.sim.Coinbase.Stats().APICalls != calls {
		t.Error("a refused accountInfo reached the exchange")
	}
}
