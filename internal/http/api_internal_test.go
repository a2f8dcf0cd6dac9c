package http

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/audit"
	"github.com/linkvault/linkvault/internal/clients"
)

func TestRejectedErrorWording(t *testing.T) {
	tests := []struct {
		code       string
		wantType   string
		wantStatus int
	}{
		{"insufficient_funds", linkvault.ErrTypeInsufficientFunds, 400},
		{"invalid_address", linkvault.ErrTypeProviderRejected, 422},
		{"invalid_network", linkvault.ErrTypeProviderRejected, 422},
		{"invalid_amount", linkvault.ErrTypeProviderRejected, 422},
		{"invalid_symbol", linkvault.ErrTypeProviderRejected, 422},
		{"quote_expired", linkvault.ErrTypeProviderRejected, 422},
		{"insufficient_scope", linkvault.ErrTypeTransferNotAllowed, 403},
		{"http_418", linkvault.ErrTypeProviderRejected, 422},
	}
	for _, tt := range tests {
		pe := &linkvault.ProviderError{Broker: linkvault.BrokerCoinbase, Op: "execute_transfer", Kind: linkvault.ProviderRejected,
			StatusCode: 400, Code: tt.code}
		err := providerError(pe)
		if linkvault.ErrorType(err) != tt.wantType || StatusCode(err) != tt.wantStatus {
			t.Errorf("%s: got %s %d, want %s %d", tt.code, linkvault.ErrorType(err), StatusCode(err), tt.wantType, tt.wantStatus)
		}
		if msg := linkvault.ErrorMessage(err); msg == "" || strings.Contains(msg, tt.code) {
			t.Errorf("%s: message %q is empty or repeats the provider's code", tt.code, msg)
		}
		if !isFinalRejection(err) {
			t.Errorf("%s: not treated as a final rejection", tt.code)
		}
	}
}

func TestProviderErrorMapping(t *testing.T) {
	transient := &linkvault.ProviderError{Kind: linkvault.ProviderTransient, StatusCode: 503, Code: "http_503"}
	limited := &linkvault.ProviderError{Kind: linkvault.ProviderTransient, StatusCode: 429, Code: "rate_limit_exceeded", RetryAfter: 9 * time.Second}
	reauth := &linkvault.ProviderError{Kind: linkvault.ProviderReauth, StatusCode: 401, Code: "invalid_grant"}
	tests := []struct {
		name       string
		in         error
		wantType   string
		wantStatus int
		wantRetry  time.Duration
	}{
		{"5xx", transient, linkvault.ErrTypeProviderFailure, 502, defaultRetryAfter},
		{"429 keeps its Retry-After", limited, linkvault.ErrTypeProviderFailure, 502, 9 * time.Second},
		{"refused credential", reauth, linkvault.ErrTypeReauthRequired, 423, 0},
		{"linkvault errors pass", linkvault.ErrScopeMismatch(), linkvault.ErrTypeScopeMismatch, 403, 0},
		{"our request timed out", context.DeadlineExceeded, linkvault.ErrTypeProviderFailure, 502, defaultRetryAfter},
		{"internal", errors.New("disk on fire"), linkvault.ErrTypeInternal, 500, 0},
	}
	for _, tt := range tests {
		err := providerError(tt.in)
		var e *linkvault.Error
		retry := time.Duration(0)
		if errors.As(err, &e) {
			retry = e.RetryAfter
		}
		if linkvault.ErrorType(err) != tt.wantType || StatusCode(err) != tt.wantStatus || retry != tt.wantRetry {
			t.Errorf("%s: got %s %d retry %v", tt.name, linkvault.ErrorType(err), StatusCode(err), retry)
		}
		if isFinalRejection(err) {
			t.Errorf("%s: treated as a final rejection", tt.name)
		}
	}
}

func TestBackoff(t *testing.T) {
	a := &accountAPI{deps: APIDeps{Retry: RetryPolicy{Attempts: 4, Base: 100 * time.Millisecond, Max: time.Second}}.withDefaults()}
	transient := &linkvault.ProviderError{Kind: linkvault.ProviderTransient, Code: "http_503"}
	ctx := context.Background()
	for attempt, want := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 3: 400 * time.Millisecond} {
		for range 50 {
			d, ok := a.backoff(ctx, attempt, transient)
			if !ok || d < want/2 || d > want {
				t.Fatalf("attempt %d: wait %v (ok %v), want within [%v, %v]", attempt, d, ok, want/2, want)
			}
		}
	}
	if _, ok := a.backoff(ctx, 4, transient); ok {
		t.Error("retried past Attempts")
	}
	if d, ok := a.backoff(ctx, 1, &linkvault.ProviderError{Kind: linkvault.ProviderTransient, RetryAfter: 700 * time.Millisecond}); !ok || d != 700*time.Millisecond {
		t.Errorf("Retry-After within Max: %v %v", d, ok)
	}
	if _, ok := a.backoff(ctx, 1, &linkvault.ProviderError{Kind: linkvault.ProviderTransient, RetryAfter: 5 * time.Second}); ok {
		t.Error("waited for a Retry-After longer than Max")
	}
	if _, ok := a.backoff(ctx, 1, &linkvault.ProviderError{Kind: linkvault.ProviderTransient, Code: "canceled"}); ok {
		t.Error("retried a call our own caller canceled")
	}
	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if _, ok := a.backoff(short, 3, transient); ok {
		t.Error("waited past the request's deadline")
	}
}

func TestExchangeIdempotencyKey(t *testing.T) {
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	k := exchangeIdempotencyKey("app1", "order-1")
	if !uuid.MatchString(k) || k != exchangeIdempotencyKey("app1", "order-1") {
		t.Fatalf("key %q: want a stable version-8 UUID", k)
	}
	for _, other := range []string{exchangeIdempotencyKey("app2", "order-1"), exchangeIdempotencyKey("app1", "order-2"),
		exchangeIdempotencyKey("app1order-", "1"), exchangeIdempotencyKey("app1\x00order-1", "")} {
		if other == k {
			t.Fatal("different (client, id) pairs share an exchange idempotency key")
		}
	}
}

func TestCanonicalTransferCoversEveryField(t *testing.T) {
	base := transfer{tokenID: "tok", broker: linkvault.BrokerCoinbase, txID: "t1", req: linkvault.TransferRequest{
		FromAccountID: "w1", ToAddress: "addr", Symbol: "ETH", Network: "ethereum", Amount: linkvault.MustDecimal("0.5"), PreviewID: "p1"}}
	ref := string(base.canonical())
	variants := []func(t *transfer){
		func(t *transfer) { t.tokenID = "tok2" },
		func(t *transfer) { t.broker = linkvault.BrokerSandbox },
		func(t *transfer) { t.req.FromAccountID = "w2" },
		func(t *transfer) { t.req.ToAddress = "addr2" },
		func(t *transfer) { t.req.Symbol = "BTC" },
		func(t *transfer) { t.req.Network = "base" },
		func(t *transfer) { t.req.Amount = linkvault.MustDecimal("0.50000001") },
		func(t *transfer) { t.req.PreviewID = "p2" },
	}
	for i, v := range variants {
		c := base
		v(&c)
		if string(c.canonical()) == ref {
			t.Errorf("variant %d hashes like the original", i)
		}
	}
	same := base
	same.txID = "t2" // the id itself is the record's key, not part of the request
	if string(same.canonical()) != ref {
		t.Error("the clientTransactionId changed the request hash")
	}
}

type recorded struct {
	mu sync.Mutex
	es []linkvault.AuditEntry
}

func (r *recorded) Record(_ context.Context, e linkvault.AuditEntry) {
	r.mu.Lock()
	r.es = append(r.es, e)
	r.mu.Unlock()
}

func TestRemoveAuditHook(t *testing.T) {
	rec := &recorded{}
	s := NewServer(Config{}, Deps{API: APIDeps{Audit: rec}})
	tok := linkvault.NewTokenID()
	outcomes := map[string]error{"ok": nil, "gone": linkvault.ErrTokenNotFound()}
	for name, result := range outcomes {
		var sent string
		h := s.withRemoveAudit(func(w http.ResponseWriter, r *http.Request) error {
			if got, _ := io.ReadAll(r.Body); string(got) != sent {
				t.Errorf("%s: the handler got body %q, want %q", name, got, sent)
			}
			return result
		})
		for _, body := range []string{`{"authToken":"` + tok + `","type":"coinbase"}`, `{"authToken":"` + tok + `","type":"kraken"}`, `nope`} {
			sent = body
			r := httptest.NewRequest("DELETE", "/api/v1/account", strings.NewReader(body))
			r = r.WithContext(withPrincipal(r.Context(), &clients.Principal{ClientID: "app1", KeyID: "k1", Permission: linkvault.PermissionRead}))
			_ = h(httptest.NewRecorder(), r)
		}
	}
	if len(rec.es) != 2 {
		t.Fatalf("%d entries, want 2 (invalid input is not audited): %+v", len(rec.es), rec.es)
	}
	for _, e := range rec.es {
		if e.Action != audit.ActionRemove || e.ClientID != "app1" || e.KeyID != "k1" || e.TokenRef != linkvault.TokenFingerprint(tok) {
			t.Errorf("entry %+v", e)
		}
		switch e.Outcome {
		case audit.OutcomeOK:
			if e.TokenID != tok || e.HTTPStatus != 200 {
				t.Errorf("successful removal entry %+v", e)
			}
		case linkvault.ErrTypeTokenNotFound:
			if e.TokenID != "" || e.HTTPStatus != 404 {
				t.Errorf("failed removal entry %+v: the tokenId must not be recorded", e)
			}
		default:
			t.Errorf("outcome %q", e.Outcome)
		}
	}
}
