package account

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
)

func TestRejectedErrorWording(t *testing.T) {
	tests := []struct {
		code       string
		wantType   string
		wantStatus string
	}{
		{"insufficient_funds", linkvault.ErrTypeInsufficientFunds, linkvault.StatusBadRequest},
		{"invalid_address", linkvault.ErrTypeProviderRejected, linkvault.StatusBadRequest},
		{"invalid_network", linkvault.ErrTypeProviderRejected, linkvault.StatusBadRequest},
		{"invalid_amount", linkvault.ErrTypeProviderRejected, linkvault.StatusBadRequest},
		{"invalid_symbol", linkvault.ErrTypeProviderRejected, linkvault.StatusBadRequest},
		{"quote_expired", linkvault.ErrTypeProviderRejected, linkvault.StatusBadRequest},
		{"insufficient_scope", linkvault.ErrTypeTransferNotAllowed, linkvault.StatusPermissionDenied},
		{"http_418", linkvault.ErrTypeProviderRejected, linkvault.StatusBadRequest},
	}
	for _, tt := range tests {
		pe := &linkvault.ProviderError{Broker: linkvault.BrokerCoinbase, Op: "execute_transfer", Kind: linkvault.ProviderRejected,
			StatusCode: 400, Code: tt.code}
		err := MapProviderError(pe)
		if linkvault.ErrorType(err) != tt.wantType || linkvault.ErrorStatus(err) != tt.wantStatus {
			t.Errorf("%s: got %s %s, want %s %s", tt.code, linkvault.ErrorType(err), linkvault.ErrorStatus(err), tt.wantType, tt.wantStatus)
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
		name      string
		in        error
		wantType  string
		wantRetry time.Duration
	}{
		{"5xx", transient, linkvault.ErrTypeProviderFailure, DefaultRetryAfter},
		{"429 keeps its Retry-After", limited, linkvault.ErrTypeProviderFailure, 9 * time.Second},
		{"refused credential", reauth, linkvault.ErrTypeReauthRequired, 0},
		{"linkvault errors pass", linkvault.ErrScopeMismatch(), linkvault.ErrTypeScopeMismatch, 0},
		{"our request timed out", context.DeadlineExceeded, linkvault.ErrTypeProviderFailure, DefaultRetryAfter},
		{"internal", errors.New("disk on fire"), linkvault.ErrTypeInternal, 0},
	}
	for _, tt := range tests {
		err := MapProviderError(tt.in)
		var e *linkvault.Error
		retry := time.Duration(0)
		if errors.As(err, &e) {
			retry = e.RetryAfter
		}
		if linkvault.ErrorType(err) != tt.wantType || retry != tt.wantRetry {
			t.Errorf("%s: got %s retry %v", tt.name, linkvault.ErrorType(err), retry)
		}
		if isFinalRejection(err) {
			t.Errorf("%s: treated as a final rejection", tt.name)
		}
	}
}

func TestBackoff(t *testing.T) {
	s := &Service{retry: RetryPolicy{Attempts: 4, Base: 100 * time.Millisecond, Max: time.Second}}
	transient := &linkvault.ProviderError{Kind: linkvault.ProviderTransient, Code: "http_503"}
	ctx := context.Background()
	for attempt, want := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 3: 400 * time.Millisecond} {
		for range 50 {
			d, ok := s.backoff(ctx, attempt, transient)
			if !ok || d < want/2 || d > want {
				t.Fatalf("attempt %d: wait %v (ok %v), want within [%v, %v]", attempt, d, ok, want/2, want)
			}
		}
	}
	if _, ok := s.backoff(ctx, 4, transient); ok {
		t.Error("retried past Attempts")
	}
	if d, ok := s.backoff(ctx, 1, &linkvault.ProviderError{Kind: linkvault.ProviderTransient, RetryAfter: 700 * time.Millisecond}); !ok || d != 700*time.Millisecond {
		t.Errorf("Retry-After within Max: %v %v", d, ok)
	}
	if _, ok := s.backoff(ctx, 1, &linkvault.ProviderError{Kind: linkvault.ProviderTransient, RetryAfter: 5 * time.Second}); ok {
		t.Error("waited for a Retry-After longer than Max")
	}
	if _, ok := s.backoff(ctx, 1, &linkvault.ProviderError{Kind: linkvault.ProviderTransient, Code: "canceled"}); ok {
		t.Error("retried a call our own caller canceled")
	}
	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if _, ok := s.backoff(short, 3, transient); ok {
		t.Error("waited past the request's deadline")
	}
}

func TestExchangeIdempotencyKey(t *testing.T) {
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	k := ExchangeIdempotencyKey("app1", "order-1")
	if !uuid.MatchString(k) || k != ExchangeIdempotencyKey("app1", "order-1") {
		t.Fatalf("key %q: want a stable version-8 UUID", k)
	}
	for _, other := range []string{ExchangeIdempotencyKey("app2", "order-1"), ExchangeIdempotencyKey("app1", "order-2"),
		ExchangeIdempotencyKey("app1order-", "1"), ExchangeIdempotencyKey("app1\x00order-1", "")} {
		if other == k {
			t.Fatal("different (client, id) pairs share an exchange idempotency key")
		}
	}
}

func TestCanonicalTransferCoversEveryField(t *testing.T) {
	base := previewRequest{Network: "ethereum", Symbol: "ETH", ToAddress: "addr", AddressTag: "tag",
		Amount: linkvault.MustDecimal("0.5"), QuoteID: "q1", TransactionID: "t1"}
	ref := string(base.canonical("tok"))
	if string(base.canonical("tok2")) == ref {
		t.Error("another tokenId hashes like the original")
	}
	variants := []func(p *previewRequest){
		func(p *previewRequest) { p.ToAddress = "addr2" },
		func(p *previewRequest) { p.AddressTag = "tag2" },
		func(p *previewRequest) { p.Symbol = "BTC" },
		func(p *previewRequest) { p.Network = "base" },
		func(p *previewRequest) { p.Amount = linkvault.MustDecimal("0.50000001") },
	}
	for i, v := range variants {
		c := base
		v(&c)
		if string(c.canonical("tok")) == ref {
			t.Errorf("variant %d hashes like the original", i)
		}
	}
	// A new quote of the same transfer (another preview under the same transaction id)
	// is the same transfer.
	same := base
	same.QuoteID, same.Fee = "q2", linkvault.MustDecimal("0.001")
	if string(same.canonical("tok")) != ref {
		t.Error("the exchange's quote changed the request hash")
	}
}

// TestIntegrationIDsNeverChange: the integration ids apps store (Mesh's id for Coinbase,
// UUIDv5 of urn:linkvault:integration:<type> otherwise) are written out here; the
// version-5 derivation is checked against RFC 9562's own example (www.example.com in
// the DNS namespace, Appendix A.4).
func TestIntegrationIDsNeverChange(t *testing.T) {
	if got := uuidV5(mustParseUUID("6ba7b810-9dad-11d1-80b4-00c04fd430c8"), "www.example.com"); got != "2ed6657d-e927-568b-95e1-2665a8aea6a2" {
		t.Fatalf("uuidV5 of RFC 9562's example = %s", got)
	}
	want := map[linkvault.BrokerType]string{
		linkvault.BrokerCoinbase: "47624467-e52e-4938-a41a-7926b6c27acf",
		linkvault.BrokerBinance:  "f704b1e4-77ab-5ddf-bb7c-05fea3830386",
		linkvault.BrokerUphold:   "ee61d636-4775-55fc-a836-f42dcc0745f5",
		linkvault.BrokerSandbox:  "da880329-fa5a-5dc6-a8c7-357c65499af2",
	}
	for b, id := range want {
		if got := IntegrationID(b); got != id {
			t.Errorf("IntegrationID(%s) = %s, want %s", b, got, id)
		}
		if got, ok := BrokerOfIntegrationID(strings.ToUpper(id)); !ok || got != b {
			t.Errorf("BrokerOfIntegrationID(%s) = %s, %v", id, got, ok)
		}
	}
}
