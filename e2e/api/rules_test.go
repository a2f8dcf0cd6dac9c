// Package api_test checks the rules of the design brief end to end: the real
// `linkvault serve` binary (started by internal/e2etest) with the simulated exchanges
// on loopback, accounts connected through the real Link endpoints by the headless
// driver (internal/link/linktest), and every API call made through the Go client
// (sdk/go). Each test is one row of the rules table.
package api_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/apispec"
	"github.com/linkvault/linkvault/internal/e2etest"
	"github.com/linkvault/linkvault/internal/exchangesim"
	"github.com/linkvault/linkvault/internal/link"
	"github.com/linkvault/linkvault/internal/link/linktest"
	"github.com/linkvault/linkvault/internal/meshspec"
	"github.com/linkvault/linkvault/internal/testdb"
	lvclient "github.com/linkvault/linkvault/sdk/go"
)

// world is one running environment and its four API clients.
type world struct {
	env                  *e2etest.Env
	aRead, aWrite, bRead *lvclient.Client
	bWrite               *lvclient.Client
}

// forEachStore runs the rule on SQLite and, when LINKVAULT_TEST_POSTGRES_DSN is set,
// on PostgreSQL, each in a fresh environment.
func forEachStore(t *testing.T, rule func(t *testing.T, w *world)) {
	t.Run("sqlite", func(t *testing.T) { rule(t, start(t, "")) })
	t.Run("postgres", func(t *testing.T) {
		rule(t, start(t, testdb.PostgresDSN(t)))
	})
}

func start(t *testing.T, postgresDSN string) *world {
	t.Helper()
	e2etest.SkipShort(t, "builds and runs the linkvault binary")
	env := e2etest.Start(t, e2etest.Options{PostgresDSN: postgresDSN})
	w := &world{env: env}
	spec, err := meshspec.Load()
	if err != nil {
		t.Fatal(err)
	}
	own, err := apispec.Load()
	if err != nil {
		t.Fatal(err)
	}
	// Every answer these clients receive is held to Mesh's schemas and to linkvault's
	// own OpenAPI document (api/openapi.json).
	report := func(err error) { t.Error(err) }
	hc := &http.Client{Timeout: 30 * time.Second, Transport: own.RoundTripper(spec.RoundTripper(http.DefaultTransport, report), env.URL(), report)}
	mk := func(id, secret string) *lvclient.Client {
		c, err := lvclient.New(env.URL(), id, secret, lvclient.WithHTTPClient(hc))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	w.aRead, w.aWrite = mk(env.ClientA.ID, env.ClientA.ReadSecret), mk(env.ClientA.ID, env.ClientA.WriteSecret)
	w.bRead, w.bWrite = mk(env.ClientB.ID, env.ClientB.ReadSecret), mk(env.ClientB.ID, env.ClientB.WriteSecret)
	requireWired(t, w)
	return w
}

// requireWired fails at once, with a clear message, when `linkvault serve` does not
// wire what these rules need: the Link service (lvhttp.Deps.Link) and the transfer
// store (lvhttp.Deps.API.Transfers).
func requireWired(t *testing.T, w *world) {
	t.Helper()
	if _, err := w.aRead.CreateLinkToken(ctx, lvclient.LinkTokenRequest{UserID: "wiring-probe"}); err != nil {
		t.Fatalf("linkvault serve answers linktoken with %v: is the Link service wired (lvhttp.Deps.Link)?", err)
	}
	_, err := w.aWrite.ExecuteTransfer(ctx, send("d2lyaW5nLXByb2JlLW5ldmVyLWlzc3VlZA", lvclient.Coinbase, "wiring-probe"))
	if e := apiErr(t, err); e.ErrorType != lvclient.ErrTokenNotFound {
		t.Fatalf("execute with an unknown tokenId answers %v: is the transfer store wired (lvhttp.Deps.API)?", err)
	}
}

// linkClient is the client a Link session of linkToken runs with: linkvault's answers
// (the Link page, its JSON API, the OAuth callback) are held to api/openapi.json.
func linkClient(t *testing.T, linkToken string) *http.Client {
	t.Helper()
	spec, err := apispec.Load()
	if err != nil {
		t.Fatal(err)
	}
	u, err := linktest.DecodeLinkToken(linkToken)
	if err != nil {
		t.Fatal(err)
	}
	return spec.Client(u.Scheme+"://"+u.Host, func(err error) { t.Error(err) })
}

// connect runs a whole Link session for user with the API client c (whose key's
// permission becomes the scope) and returns the tokenId the app receives.
func connect(t *testing.T, c *lvclient.Client, user string, b lvclient.BrokerType) string {
	t.Helper()
	ctx := context.Background()
	lt, err := c.CreateLinkToken(ctx, lvclient.LinkTokenRequest{UserID: user})
	if err != nil {
		t.Fatalf("linktoken: %v", err)
	}
	payload, err := linktest.Connect(ctx, linkClient(t, lt.LinkToken), lt.LinkToken, string(b), user, exchangesim.DefaultPassword)
	if err != nil {
		t.Fatalf("Link connect %s as %s: %v", b, user, err)
	}
	if len(payload.AccountTokens) == 0 || payload.AccountTokens[0].TokenID == "" {
		t.Fatalf("Link payload without a tokenId: %+v", payload)
	}
	tok := payload.AccountTokens[0].TokenID
	if payload.AccountTokens[0].AccessToken != tok {
		t.Fatalf("accessToken %q differs from tokenId %q on connect", payload.AccountTokens[0].AccessToken, tok)
	}
	return tok
}

func apiErr(t *testing.T, err error) *lvclient.APIError {
	t.Helper()
	var e *lvclient.APIError
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want an API error", err)
	}
	return e
}

// wantErr checks that err is an API error with httpStatus and errorType.
func wantErr(t *testing.T, err error, httpStatus int, errorType string) {
	t.Helper()
	_ = matchErr(t, err, httpStatus, errorType)
}

// matchErr is wantErr for callers that go on to inspect the error: it returns it.
func matchErr(t *testing.T, err error, httpStatus int, errorType string) *lvclient.APIError {
	t.Helper()
	e := apiErr(t, err)
	if e.HTTPStatus != httpStatus || e.ErrorType != errorType {
		t.Fatalf("got %d %s (%s), want %d %s", e.HTTPStatus, e.ErrorType, e.Message, httpStatus, errorType)
	}
	return e
}

var ctx = context.Background()

func send(tok string, b lvclient.BrokerType, txID string) lvclient.TransferRequest {
	return lvclient.TransferRequest{TokenID: tok, Type: b, ToAddress: "0x326a8825472bb0f4719998e708a1eeeb4473ed1b",
		Symbol: "ETH", Network: "ethereum", Amount: 0.01, ClientTransactionID: txID}
}

// Rule: the same user (same client, same userId) reconnecting the same integration with
// the same scope gets the same tokenId; a different user gets a new one; the same user
// with a different scope gets a distinct tokenId per scope.
func TestRuleTokenIdentity(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *world) {
		first := connect(t, w.aRead, "alice", lvclient.Coinbase)
		again := connect(t, w.aRead, "alice", lvclient.Coinbase)
		if again != first {
			t.Fatalf("same user, same integration, same scope: tokenId %q then %q", first, again)
		}
		bob := connect(t, w.aRead, "bob", lvclient.Coinbase)
		if bob == first {
			t.Fatal("a different user got the same tokenId")
		}
		writeScoped := connect(t, w.aWrite, "alice", lvclient.Coinbase)
		if writeScoped == first {
			t.Fatal("the same user with a write key got the read-scoped tokenId")
		}
		if again := connect(t, w.aWrite, "alice", lvclient.Coinbase); again != writeScoped {
			t.Fatalf("write scope reconnect: %q then %q", writeScoped, again)
		}
		otherClient := connect(t, w.bRead, "alice", lvclient.Coinbase)
		if otherClient == first {
			t.Fatal("another client's user named alice got client A's tokenId")
		}
		for _, tok := range []string{first, bob, writeScoped} {
			if _, err := w.aRead.Holdings(ctx, tok, lvclient.Coinbase); err != nil {
				t.Fatalf("holdings with %s: %v", tok, err)
			}
		}
		st, err := w.aRead.TokenStatus(ctx, writeScoped, lvclient.Coinbase)
		if err != nil || st.Scope != "write" {
			t.Fatalf("token status %+v, %v", st, err)
		}
	})
}

// Rule: a write endpoint called with a read-scoped tokenId answers 403 with a clear
// scope-mismatch error, and nothing is executed.
func TestRuleWriteWithReadScopedToken(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *world) {
		tok := connect(t, w.aRead, "carol", lvclient.Coinbase)
		_, err := w.aWrite.ExecuteTransfer(ctx, send(tok, lvclient.Coinbase, "order-1"))
		e := matchErr(t, err, 403, lvclient.ErrScopeMismatch)
		if !strings.Contains(e.Message, "read permission") {
			t.Fatalf("unclear message %q", e.Message)
		}
		_, err = w.aWrite.PreviewTransfer(ctx, send(tok, lvclient.Coinbase, ""))
		wantErr(t, err, 403, lvclient.ErrScopeMismatch)
		// A read key cannot call the write endpoints at all.
		_, err = w.aRead.ExecuteTransfer(ctx, send(tok, lvclient.Coinbase, "order-2"))
		wantErr(t, err, 403, lvclient.ErrReadOnlyKey)
		if n := w.env.Sim.Coinbase.Stats().Transfers; n != 0 {
			t.Fatalf("%d transfers executed at the exchange", n)
		}
		bal, _ := w.env.Sim.Coinbase.Balances("carol")
		if bal["ETH"] != exchangesim.DefaultBalances()["ETH"] {
			t.Fatalf("ETH balance moved: %v", bal["ETH"])
		}

		// With a write-scoped tokenId the same transfer goes through, exactly once.
		wtok := connect(t, w.aWrite, "carol", lvclient.Coinbase)
		res, err := w.aWrite.ExecuteTransfer(ctx, send(wtok, lvclient.Coinbase, "order-3"))
		if err != nil || res.Result.TransferID == "" || res.Replayed {
			t.Fatalf("execute: %+v, %v", res, err)
		}
		again, err := w.aWrite.ExecuteTransfer(ctx, send(wtok, lvclient.Coinbase, "order-3"))
		if err != nil || again.Result.TransferID != res.Result.TransferID || !again.Replayed {
			t.Fatalf("retried execute: %+v, %v", again, err)
		}
		if n := w.env.Sim.Coinbase.Stats().Transfers; n != 1 {
			t.Fatalf("%d transfers at the exchange, want 1", n)
		}
	})
}

// Rule: removing a token revokes it at the provider (RFC 7009), deletes it, and any
// later use is "not found"; it cannot be restored.
func TestRuleRemoval(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *world) {
		tok := connect(t, w.aRead, "dave", lvclient.Coinbase)
		before := w.env.Sim.Coinbase.Stats()
		if err := w.aRead.RemoveAccount(ctx, tok, lvclient.Coinbase); err != nil {
			t.Fatal(err)
		}
		after := w.env.Sim.Coinbase.Stats()
		// RFC 7009 calls (access and refresh token) revoked exactly the user's one grant.
		if after.RevocationsReceived <= before.RevocationsReceived || after.GrantsRevoked != before.GrantsRevoked+1 || after.LiveGrants != before.LiveGrants-1 {
			t.Fatalf("revocations %d -> %d, grants revoked %d -> %d", before.RevocationsReceived, after.RevocationsReceived,
				before.GrantsRevoked, after.GrantsRevoked)
		}
		_, err := w.aRead.Holdings(ctx, tok, lvclient.Coinbase)
		wantErr(t, err, 404, lvclient.ErrTokenNotFound)
		wantErr(t, w.aRead.RemoveAccount(ctx, tok, lvclient.Coinbase), 404, lvclient.ErrTokenNotFound)
		_, err = w.aRead.TokenStatus(ctx, tok, lvclient.Coinbase)
		wantErr(t, err, 404, lvclient.ErrTokenNotFound)
		// Connecting again makes a new connection; the removed tokenId stays gone.
		if again := connect(t, w.aRead, "dave", lvclient.Coinbase); again == tok {
			t.Fatal("the removed tokenId was restored by a new Link session")
		}
		_, err = w.aRead.Holdings(ctx, tok, lvclient.Coinbase)
		wantErr(t, err, 404, lvclient.ErrTokenNotFound)
	})
}

// Rule: a credential the provider refuses (grant revoked, API key deleted) marks the
// connection re-auth-required; the next Link session with that tokenId asks the user to
// log in again and re-attaches the same tokenId.
func TestRuleReauthKeepsTheTokenID(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *world) {
		t.Run("OAuth grant revoked", func(t *testing.T) {
			tok := connect(t, w.aRead, "erin", lvclient.Coinbase)
			if _, err := w.env.Sim.Coinbase.RevokeUserGrants("erin"); err != nil {
				t.Fatal(err)
			}
			_, err := w.aRead.Holdings(ctx, tok, lvclient.Coinbase)
			e := matchErr(t, err, 423, lvclient.ErrReauthRequired)
			if !strings.Contains(e.Message, "Link") || e.DisplayMessage == "" {
				t.Fatalf("the answer does not tell the app to open Link: %+v", e)
			}
			if st, err := w.aRead.TokenStatus(ctx, tok, lvclient.Coinbase); err != nil || st.Status != "reauthRequired" {
				t.Fatalf("token status %+v, %v", st, err)
			}
			reattached := reauthenticate(t, w.aRead, "erin", lvclient.Coinbase, tok, false)
			if reattached != tok {
				t.Fatalf("re-authentication gave tokenId %q, want the same %q", reattached, tok)
			}
			if _, err := w.aRead.Holdings(ctx, tok, lvclient.Coinbase); err != nil {
				t.Fatalf("holdings after re-authentication: %v", err)
			}
		})
		t.Run("API key deleted by the exchange", func(t *testing.T) {
			tok := connect(t, w.aRead, "frank", lvclient.Binance)
			w.env.Sim.Binance.ExpireAccessTokens()
			_, err := w.aRead.Balance(ctx, tok, lvclient.Binance)
			wantErr(t, err, 423, lvclient.ErrReauthRequired)
			if reattached := reauthenticate(t, w.aRead, "frank", lvclient.Binance, tok, true); reattached != tok {
				t.Fatalf("re-authentication gave tokenId %q, want the same %q", reattached, tok)
			}
			if _, err := w.aRead.Balance(ctx, tok, lvclient.Binance); err != nil {
				t.Fatalf("balance after re-authentication: %v", err)
			}
		})
	})
}

// reauthenticate opens a Link session as the app would with the stored tokenId and
// logs the user in again for it.
func reauthenticate(t *testing.T, c *lvclient.Client, user string, b lvclient.BrokerType, tok string, apiKey bool) string {
	t.Helper()
	lt, err := c.CreateLinkToken(ctx, lvclient.LinkTokenRequest{UserID: user})
	if err != nil {
		t.Fatal(err)
	}
	page, err := linktest.Open(ctx, linkClient(t, lt.LinkToken), lt.LinkToken)
	if err != nil {
		t.Fatal(err)
	}
	known, err := page.Known(ctx, tok)
	if err != nil || len(known) != 1 || known[0].TokenID != tok {
		t.Fatalf("the Link page does not know the stored tokenId: %+v, %v", known, err)
	}
	if known[0].Status != link.KnownReauthRequired {
		t.Fatalf("the Link page does not ask to log in again: status %q", known[0].Status)
	}
	if apiKey { // the user creates a new key at the exchange and enters it
		k, err := page.CreateAPIKey(ctx, string(b), user, exchangesim.DefaultPassword)
		if err != nil {
			t.Fatalf("creating an API key: %v", err)
		}
		p, err := page.ConnectAPIKey(ctx, string(b), k.Key, k.Secret, tok)
		if err != nil {
			t.Fatalf("API key re-authentication: %v", err)
		}
		return p.AccountTokens[0].TokenID
	}
	p, err := page.ConnectOAuth(ctx, string(b), user, exchangesim.DefaultPassword, tok)
	if err != nil {
		t.Fatalf("OAuth re-authentication: %v", err)
	}
	return p.AccountTokens[0].TokenID
}

// Rule: another client presenting my tokenId gets exactly the answer of a tokenId that
// never existed (no oracle).
func TestRuleNoOracle(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *world) {
		tok := connect(t, w.aWrite, "gina", lvclient.Coinbase)
		raw := func(tokenID string) (int, []byte) {
			req, _ := http.NewRequest("POST", w.env.URL()+"/api/v1/holdings/get",
				strings.NewReader(`{"authToken":"`+tokenID+`","type":"coinbase"}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Client-Id", w.env.ClientB.ID)
			req.Header.Set("X-Client-Secret", w.env.ClientB.ReadSecret)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			return res.StatusCode, b
		}
		c1, b1 := raw(tok)
		c2, b2 := raw("dGhpcyB0b2tlbklkIG5ldmVyIGV4aXN0ZWQgYXQgYWxs")
		if c1 != 404 || c1 != c2 || !bytes.Equal(b1, b2) {
			t.Fatalf("another client's tokenId: %d %s\nnever issued: %d %s", c1, b1, c2, b2)
		}
		// Through the client library, on every endpoint, with either key of client B.
		for _, c := range []*lvclient.Client{w.bRead, w.bWrite} {
			_, err := c.Holdings(ctx, tok, lvclient.Coinbase)
			wantErr(t, err, 404, lvclient.ErrTokenNotFound)
			_, err = c.Balance(ctx, tok, lvclient.Coinbase)
			wantErr(t, err, 404, lvclient.ErrTokenNotFound)
			wantErr(t, c.RemoveAccount(ctx, tok, lvclient.Coinbase), 404, lvclient.ErrTokenNotFound)
		}
		_, err := w.bWrite.ExecuteTransfer(ctx, send(tok, lvclient.Coinbase, "steal-1"))
		wantErr(t, err, 404, lvclient.ErrTokenNotFound)
		if n := w.env.Sim.Coinbase.Stats().Transfers; n != 0 {
			t.Fatalf("%d transfers executed", n)
		}
		// Client A still owns it, untouched.
		if _, err := w.aRead.Holdings(ctx, tok, lvclient.Coinbase); err != nil {
			t.Fatal(err)
		}
	})
}

// Rule: a transient provider failure (5xx, 429) is retried with backoff, the credential
// is kept, and it is never confused with a permanent failure.
func TestRuleTransientFailure(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *world) {
		tok := connect(t, w.aRead, "henry", lvclient.Coinbase)
		ex := w.env.Sim.Coinbase
		before := ex.Stats()

		ex.SetFaults(exchangesim.Faults{ErrorRate: 1})
		_, err := w.aRead.Holdings(ctx, tok, lvclient.Coinbase)
		e := matchErr(t, err, 502, lvclient.ErrProviderFailure)
		if e.RetryAfter <= 0 || !lvclient.IsTemporary(err) {
			t.Fatalf("a transient failure without Retry-After: %+v", e)
		}
		if n := ex.Stats().Injected503 - before.Injected503; n < 2 {
			t.Fatalf("the server made %d attempts, want retries", n)
		}

		ex.SetFaults(exchangesim.Faults{RateLimitRate: 1, RetryAfter: time.Second})
		_, err = w.aRead.Holdings(ctx, tok, lvclient.Coinbase)
		e = matchErr(t, err, 502, lvclient.ErrProviderFailure)
		if e.RetryAfter != time.Second {
			t.Fatalf("Retry-After %v, want the exchange's 1s", e.RetryAfter)
		}
		if n := ex.Stats().Injected429 - before.Injected429; n < 2 {
			t.Fatalf("the server made %d attempts on 429, want retries", n)
		}

		st, err := w.aRead.TokenStatus(ctx, tok, lvclient.Coinbase)
		if err != nil || st.Status != "active" {
			t.Fatalf("after transient failures the token is %+v, %v; want active", st, err)
		}
		ex.SetFaults(exchangesim.Faults{})
		if _, err := w.aRead.Holdings(ctx, tok, lvclient.Coinbase); err != nil {
			t.Fatalf("holdings once the exchange is back: %v", err)
		}
		if after := ex.Stats(); after.GrantsRevoked != before.GrantsRevoked || after.RefreshReuseDetected != before.RefreshReuseDetected {
			t.Fatalf("transient failures burned the grant: %+v", after)
		}

		statuses, err := w.aRead.Status(ctx)
		if err != nil || len(statuses) == 0 {
			t.Fatalf("status: %v, %v", statuses, err)
		}
	})
}

// The audit trail: every use of a tokenId is recorded (who, what, when, outcome, never
// a secret) and an operator reads it per client with `linkvault audit`.
func TestAuditTrailFromTheCLI(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *world) {
		tok := connect(t, w.aWrite, "ivy", lvclient.Coinbase)
		readTok := connect(t, w.aRead, "ivy", lvclient.Coinbase)
		if _, err := w.aRead.Holdings(ctx, tok, lvclient.Coinbase); err != nil {
			t.Fatal(err)
		}
		if _, err := w.aWrite.ExecuteTransfer(ctx, send(tok, lvclient.Coinbase, "audit-1")); err != nil {
			t.Fatal(err)
		}
		_, err := w.aWrite.ExecuteTransfer(ctx, send(readTok, lvclient.Coinbase, "audit-2"))
		wantErr(t, err, 403, lvclient.ErrScopeMismatch)
		_, err = w.bRead.Balance(ctx, tok, lvclient.Coinbase) // client B probes client A's tokenId
		wantErr(t, err, 404, lvclient.ErrTokenNotFound)
		if err := w.aRead.RemoveAccount(ctx, readTok, lvclient.Coinbase); err != nil {
			t.Fatal(err)
		}

		// The log is written in the background: wait until the CLI sees every entry.
		auditOf := func(want int, args ...string) string {
			t.Helper()
			deadline := time.Now().Add(30 * time.Second)
			for {
				out := w.env.CLI(append([]string{"audit", "--json"}, args...)...)
				if n := strings.Count(out, "\n"); n >= want || time.Now().After(deadline) {
					return out
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		a := auditOf(2, "--client", w.env.ClientA.ID, "--token", tok)
		for _, want := range []string{`"action":"holdings.get","outcome":"ok","httpStatus":200`, `"action":"transfer.execute","outcome":"ok"`} {
			if !strings.Contains(a, want) {
				t.Errorf("client A's trail for the token lacks %s:\n%s", want, a)
			}
		}
		r := auditOf(2, "--client", w.env.ClientA.ID, "--token", readTok)
		if !strings.Contains(r, `"outcome":"scopeMismatch","httpStatus":403`) {
			t.Errorf("the refused write is not in the trail:\n%s", r)
		}
		if !strings.Contains(r, `"action":"account.remove","outcome":"ok"`) {
			t.Errorf("the removal is not in the trail:\n%s", r)
		}
		b := auditOf(1, "--client", w.env.ClientB.ID)
		if !strings.Contains(b, `"tokenRef":"`+linkvault.TokenFingerprint(tok)+`"`) || strings.Contains(b, tok) {
			t.Errorf("client B's probe must be recorded by fingerprint only:\n%s", b)
		}
		all := w.env.CLI("audit", "--client", w.env.ClientA.ID) + a + r + b
		for _, secret := range []string{w.env.ClientA.ReadSecret, w.env.ClientA.WriteSecret, w.env.ClientB.ReadSecret} {
			if strings.Contains(all, secret) {
				t.Fatal("an API secret appears in the audit trail")
			}
		}
	})
}
