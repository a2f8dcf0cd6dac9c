package lvclient_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	lvclient "github.com/linkvault/linkvault/sdk/go"
)

const testSecret = "lvsk_abcdef0123456789_supersecretvalue"

// server answers every request with the given status, headers and body, and remembers
// the last request.
type server struct {
	code   int
	header map[string]string
	body   string
	last   *http.Request
	lastB  []byte
}

func (s *server) start(t *testing.T) *lvclient.Client {
	t.Helper()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.last = r
		s.lastB, _ = io.ReadAll(r.Body)
		for k, v := range s.header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(s.code)
		_, _ = io.WriteString(w, s.body)
	}))
	t.Cleanup(hs.Close)
	c, err := lvclient.New(hs.URL+"/", "app1", testSecret)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRequestsCarryCredentialsAndMeshBodies(t *testing.T) {
	s := &server{code: 200, body: `{"status":"ok","message":"","displayMessage":null,"errorType":"","content":{"status":"succeeded","executeTransferResult":{"transferId":"t1","status":"pending"}}}`,
		header: map[string]string{"Idempotent-Replayed": "true"}}
	c := s.start(t)
	res, err := c.ExecuteTransfer(context.Background(), lvclient.TransferRequest{
		TokenID: "tok", Type: lvclient.Coinbase, PreviewID: "29b185b1-2305-40fb-a0e2-929d61451568", MFACode: "123456",
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Result.TransferID != "t1" || !res.Replayed {
		t.Fatalf("result %+v", res)
	}
	if s.last.Method != "POST" || s.last.URL.Path != "/api/v1/transfers/managed/execute" ||
		s.last.Header.Get("X-Client-Id") != "app1" || s.last.Header.Get("X-Client-Secret") != testSecret ||
		s.last.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("request %s %s %v", s.last.Method, s.last.URL, s.last.Header)
	}
	var body map[string]any
	if err := json.Unmarshal(s.lastB, &body); err != nil {
		t.Fatal(err)
	}
	// Mesh's ExecuteTransferRequest (FrontFin/mesh-web-sdk swagger.json at e7c178a9),
	// a closed schema: exactly these fields.
	want := map[string]any{"fromAuthToken": "tok", "fromType": "coinbase", "previewId": "29b185b1-2305-40fb-a0e2-929d61451568", "mfaCode": "123456"}
	if len(body) != len(want) {
		t.Errorf("body %s has fields beyond %v", s.lastB, want)
	}
	for k, v := range want {
		if body[k] != v {
			t.Errorf("body[%s] = %v, want %v (body %s)", k, body[k], v, s.lastB)
		}
	}

	// The preview body is Mesh's PreviewTransferRequest.
	s.body = `{"status":"ok","content":{"status":"succeeded","previewResult":{"previewId":"29b185b1-2305-40fb-a0e2-929d61451568"}}}`
	p, err := c.PreviewTransfer(context.Background(), lvclient.TransferRequest{
		TokenID: "tok", Type: lvclient.Coinbase, ToAddress: "0xabc", Symbol: "ETH", Network: "e3c7fdd8-b1fc-4e51-85ae-bb276e075611",
		Amount: 0.5, ClientTransactionID: "order-1",
	})
	if err != nil || p.Result.PreviewID != "29b185b1-2305-40fb-a0e2-929d61451568" {
		t.Fatalf("preview %+v, %v", p, err)
	}
	body = nil
	if err := json.Unmarshal(s.lastB, &body); err != nil {
		t.Fatal(err)
	}
	want = map[string]any{"fromAuthToken": "tok", "fromType": "coinbase", "toAddress": "0xabc", "symbol": "ETH",
		"networkId": "e3c7fdd8-b1fc-4e51-85ae-bb276e075611", "amount": 0.5, "transactionId": "order-1"}
	for k, v := range want {
		if body[k] != v {
			t.Errorf("preview body[%s] = %v, want %v (body %s)", k, body[k], v, s.lastB)
		}
	}
}

func TestAPIErrors(t *testing.T) {
	tests := []struct {
		name   string
		srv    server
		want   lvclient.APIError
		checks func(t *testing.T, err error)
	}{
		{
			name: "re-auth required",
			srv:  server{code: 423, body: `{"status":"locked","message":"open Link","displayMessage":"Please reconnect your account.","errorType":"reauthenticationRequired","content":null}`},
			want: lvclient.APIError{HTTPStatus: 423, Status: "locked", ErrorType: lvclient.ErrReauthRequired, Message: "open Link", DisplayMessage: "Please reconnect your account."},
			checks: func(t *testing.T, err error) {
				if !lvclient.IsReauthRequired(err) || lvclient.IsNotFound(err) {
					t.Error("helpers disagree with the error type")
				}
			},
		},
		{
			name: "transient with Retry-After",
			srv: server{code: 502, header: map[string]string{"Retry-After": "7"},
				body: `{"status":"serverFailure","message":"later","displayMessage":null,"errorType":"integrationUnavailable","content":null}`},
			want: lvclient.APIError{HTTPStatus: 502, Status: "serverFailure", ErrorType: lvclient.ErrProviderFailure, Message: "later", RetryAfter: 7 * time.Second},
			checks: func(t *testing.T, err error) {
				if !lvclient.IsTemporary(err) {
					t.Error("IsTemporary = false")
				}
			},
		},
		{
			name: "not an envelope",
			srv:  server{code: 502, body: `<html>bad gateway</html>`},
			want: lvclient.APIError{HTTPStatus: 502},
		},
		{
			name: "ok status with an error envelope",
			srv:  server{code: 200, body: `{"status":"notFound","message":"Token not found.","errorType":"tokenNotFound"}`},
			want: lvclient.APIError{HTTPStatus: 200, Status: "notFound", ErrorType: lvclient.ErrTokenNotFound, Message: "Token not found."},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.srv.start(t)
			_, err := c.Holdings(context.Background(), "tok", lvclient.Coinbase)
			var e *lvclient.APIError
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *APIError", err)
			}
			got := *e
			if tt.want.Message == "" {
				got.Message = "" // generated text
			}
			if got != tt.want {
				t.Fatalf("APIError = %+v, want %+v", got, tt.want)
			}
			if tt.checks != nil {
				tt.checks(t, err)
			}
			if strings.Contains(err.Error(), testSecret) {
				t.Fatal("the error contains the secret")
			}
		})
	}
}

func TestSecretNeverPrints(t *testing.T) {
	c, err := lvclient.New("http://127.0.0.1:1", "app1", testSecret)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
		if out := fmt.Sprintf(f, c) + fmt.Sprintf(f, *c); strings.Contains(out, testSecret) {
			t.Fatalf("%s of the client prints the secret: %s", f, out)
		}
	}
	// A transport error (nothing listens on port 1) does not carry it either.
	_, err = c.Status(context.Background())
	if err == nil || strings.Contains(err.Error(), testSecret) {
		t.Fatalf("err = %v", err)
	}
}

func TestContextAndTimeout(t *testing.T) {
	block := make(chan struct{})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(hs.Close)
	t.Cleanup(func() { close(block) })

	c, _ := lvclient.New(hs.URL, "app1", testSecret)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Integrations(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled context: err = %v", err)
	}
	c, _ = lvclient.New(hs.URL, "app1", testSecret, lvclient.WithTimeout(20*time.Millisecond))
	_, err := c.Integrations(context.Background())
	var ne interface{ Timeout() bool }
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("timeout: err = %v", err)
	}
}

func TestNewValidates(t *testing.T) {
	for _, tc := range []struct{ url, id, secret string }{
		{"ftp://x", "a", "b"}, {"not a url", "a", "b"}, {"http://", "a", "b"}, {"http://x", "", "b"}, {"http://x", "a", ""},
	} {
		if _, err := lvclient.New(tc.url, tc.id, tc.secret); err == nil {
			t.Errorf("New(%q, %q, …) accepted", tc.url, tc.id)
		}
	}
}

func TestCreateLinkTokenDecodesTheURL(t *testing.T) {
	s := &server{code: 200, body: `{"status":"ok","content":{"linkToken":"aHR0cDovLzEyNy4wLjAuMTo4MDgwL2xpbmsvYWJj"}}`}
	c := s.start(t)
	lt, err := c.CreateLinkToken(context.Background(), lvclient.LinkTokenRequest{UserID: "u1"})
	if err != nil {
		t.Fatal(err)
	}
	if lt.URL != "http://127.0.0.1:8080/link/abc" {
		t.Fatalf("URL = %q", lt.URL)
	}
	if !strings.Contains(string(s.lastB), `"userId":"u1"`) {
		t.Fatalf("body %s", s.lastB)
	}
}
