package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
)

// Golden tests replay request/response examples written from each exchange's published
// API reference (testdata/golden/<exchange>/*.json; each file names the page it
// follows). The adapter runs against a server that answers with the documented
// response only if the request is exactly the documented one: method, path, query,
// the listed headers and the body.

type goldenFile struct {
	Doc       string            `json:"doc"`
	Op        string            `json:"op"`
	Input     json.RawMessage   `json:"input"`
	Exchanges []goldenExchange  `json:"exchanges"`
	Want      json.RawMessage   `json:"want"`
	WantError *goldenWantError  `json:"wantError"`
	Config    map[string]string `json:"config"`
}

type goldenExchange struct {
	Request struct {
		Method string             `json:"method"`
		Path   string             `json:"path"`
		Query  map[string]string  `json:"query"`
		Ignore []string           `json:"ignoreQuery"` // present but run-dependent (timestamp, signature)
		Header map[string]*string `json:"headers"`     // null: must be absent
		JSON   json.RawMessage    `json:"json"`
		Form   map[string]string  `json:"form"`
		// SignedWith, when set, is the secret of a Binance SIGNED request: the last
		// parameter of the query (GET) or form body (POST) must be signature = hex
		// HMAC-SHA256(secret, query string + body) over everything before it, and the
		// signature is then left out of the comparison.
		SignedWith string `json:"signedWith"`
	} `json:"request"`
	Response struct {
		Status int               `json:"status"`
		Header map[string]string `json:"headers"`
		Body   json.RawMessage   `json:"body"`
	} `json:"response"`
}

type goldenWantError struct {
	Kind       string `json:"kind"`
	Code       string `json:"code"`
	Status     int    `json:"status"`
	RetryAfter string `json:"retryAfter"`
}

// goldenCredential is the credential every golden case uses.
var goldenCredential = linkvault.Credential{
	AccessToken: linkvault.NewSecret("golden-access-token"), RefreshToken: linkvault.NewSecret("golden-refresh-token"),
	APISecret: linkvault.NewSecret("golden-api-secret"), Subject: "golden-user",
}

// goldenAdapters builds the adapter of a golden directory against baseURL.
var goldenAdapters = map[string]func(t *testing.T, baseURL string, d Deps, cfg map[string]string) linkvault.Provider{
	"coinbase": func(t *testing.T, u string, d Deps, _ map[string]string) linkvault.Provider {
		p, err := NewCoinbase(goldenOAuthConfig(u, "/oauth2/auth"), d)
		return goldenAdapter(t, p, err)
	},
	"binance": func(t *testing.T, u string, d Deps, _ map[string]string) linkvault.Provider {
		p, err := NewBinance(Config{APIBaseURL: u}, d)
		return goldenAdapter(t, p, err)
	},
	"uphold": func(t *testing.T, u string, d Deps, _ map[string]string) linkvault.Provider {
		p, err := NewUphold(goldenOAuthConfig(u, "/authorize/golden-client"), d)
		return goldenAdapter(t, p, err)
	},
}

// goldenOAuthConfig is an OAuth adapter's configuration with every endpoint at baseURL
// and the client the golden files name.
func goldenOAuthConfig(baseURL, authPath string) Config {
	cfg := simOAuthConfig(baseURL, authPath)
	cfg.ClientID, cfg.ClientSecret = "golden-client", linkvault.NewSecret("golden-secret")
	return cfg
}

// goldenAdapter is the adapter a constructor built; a constructor error fails the test.
func goldenAdapter[P linkvault.Provider](t *testing.T, p P, err error) linkvault.Provider {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestGolden(t *testing.T) {
	dirs, err := filepath.Glob("testdata/golden/*")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no golden directories: %v", err)
	}
	for _, dir := range dirs {
		exchange := filepath.Base(dir)
		build, ok := goldenAdapters[exchange]
		if !ok {
			t.Fatalf("no adapter for golden directory %s", dir)
		}
		files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
		for _, file := range files {
			t.Run(exchange+"/"+strings.TrimSuffix(filepath.Base(file), ".json"), func(t *testing.T) {
				runGolden(t, file, build)
			})
		}
	}
}

func runGolden(t *testing.T, file string, build func(*testing.T, string, Deps, map[string]string) linkvault.Provider) {
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var g goldenFile
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&g); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if !strings.HasPrefix(g.Doc, "https://") {
		t.Fatalf("%s names no documentation page", file)
	}
	var (
		mu   sync.Mutex
		next int
		errs []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if next >= len(g.Exchanges) {
			errs = append(errs, fmt.Sprintf("unexpected extra request %s %s", r.Method, r.URL))
			w.WriteHeader(http.StatusTeapot)
			return
		}
		ex := g.Exchanges[next]
		next++
		if problem := matchGoldenRequest(ex, r); problem != "" {
			errs = append(errs, fmt.Sprintf("request %d: %s", next, problem))
			w.WriteHeader(http.StatusTeapot)
			return
		}
		for k, v := range ex.Response.Header {
			w.Header().Set(k, v)
		}
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(ex.Response.Status)
		if len(ex.Response.Body) > 0 && string(ex.Response.Body) != "null" {
			_, _ = w.Write(ex.Response.Body)
		}
	}))
	defer srv.Close()
	clock := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	p := build(t, srv.URL, Deps{Now: func() time.Time { return clock }}, g.Config)

	result, callErr := runGoldenOp(context.Background(), p, g.Op, g.Input)
	mu.Lock()
	defer mu.Unlock()
	for _, e := range errs {
		t.Error(e)
	}
	if next != len(g.Exchanges) {
		t.Errorf("%d of %d documented requests were sent", next, len(g.Exchanges))
	}
	if g.WantError != nil {
		var pe *linkvault.ProviderError
		if !errors.As(callErr, &pe) {
			t.Fatalf("error = %v, want %+v", callErr, *g.WantError)
		}
		w := g.WantError
		if pe.Kind.String() != w.Kind || pe.Code != w.Code || (w.Status != 0 && pe.StatusCode != w.Status) ||
			(w.RetryAfter != "" && pe.RetryAfter.String() != w.RetryAfter) {
			t.Fatalf("error = %+v, want %+v", pe, *w)
		}
		return
	}
	if callErr != nil {
		t.Fatalf("%s: %v", g.Op, callErr)
	}
	got, _ := json.Marshal(result)
	var gotV, wantV any
	_ = json.Unmarshal(got, &gotV)
	if err := json.Unmarshal(g.Want, &wantV); err != nil {
		t.Fatalf("want: %v", err)
	}
	if !reflect.DeepEqual(gotV, wantV) {
		pretty, _ := json.MarshalIndent(gotV, "", "  ")
		t.Fatalf("%s result\n%s\nwant\n%s", g.Op, pretty, g.Want)
	}
}

func matchGoldenRequest(ex goldenExchange, r *http.Request) string {
	want := ex.Request
	if r.Method != want.Method || r.URL.Path != want.Path {
		return fmt.Sprintf("got %s %s, want %s %s", r.Method, r.URL.Path, want.Method, want.Path)
	}
	body, _ := io.ReadAll(r.Body)
	q := r.URL.Query()
	if want.SignedWith != "" {
		if problem := checkGoldenSignature(want.SignedWith, r.URL.RawQuery, string(body)); problem != "" {
			return problem
		}
		q.Del("signature")
	}
	for _, k := range want.Ignore {
		if !q.Has(k) {
			return "query lacks " + k
		}
		q.Del(k)
	}
	got := map[string]string{}
	for k, v := range q {
		got[k] = strings.Join(v, ",")
	}
	if len(got) != len(want.Query) || (len(want.Query) > 0 && !reflect.DeepEqual(got, want.Query)) {
		return fmt.Sprintf("query %v, want %v", got, want.Query)
	}
	for k, v := range want.Header {
		switch {
		case v == nil && r.Header.Get(k) != "":
			return fmt.Sprintf("header %s = %q, want none", k, r.Header.Get(k))
		case v != nil && r.Header.Get(k) != *v:
			return fmt.Sprintf("header %s = %q, want %q", k, r.Header.Get(k), *v)
		}
	}
	switch {
	case len(want.JSON) > 0:
		var gotB, wantB any
		if json.Unmarshal(body, &gotB) != nil || json.Unmarshal(want.JSON, &wantB) != nil || !reflect.DeepEqual(gotB, wantB) {
			return fmt.Sprintf("JSON body %s, want %s", body, want.JSON)
		}
	case want.Form != nil:
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return "body is not a form"
		}
		gotF := map[string]string{}
		for k, v := range form {
			if !slices.Contains(want.Ignore, k) && (want.SignedWith == "" || k != "signature") {
				gotF[k] = strings.Join(v, ",")
			}
		}
		if !reflect.DeepEqual(gotF, want.Form) {
			return fmt.Sprintf("form body %v, want %v", gotF, want.Form)
		}
	case len(body) > 0 && string(body) != "{}":
		return fmt.Sprintf("unexpected body %s", body)
	}
	return ""
}

// checkGoldenSignature verifies a SIGNED request as Binance's request-security page
// describes it (bnDocsSecurity).
func checkGoldenSignature(secret, query, body string) string {
	payload, where := query, "query"
	if body != "" {
		payload, where = query+body, "body"
	}
	i := strings.LastIndex(payload, "signature=")
	if i < 0 || (i > 0 && payload[i-1] != '&') || strings.Contains(payload[i:], "&") {
		return "no signature as the last parameter of the " + where
	}
	signed := strings.TrimSuffix(payload[:i], "&")
	if got := payload[i+len("signature="):]; got != hmacSHA256Hex(secret, signed) {
		return fmt.Sprintf("signature %s does not sign %q", got, signed)
	}
	return ""
}

// goldenInput is the union of the inputs golden cases give an operation.
type goldenInput struct {
	ClientTransactionID string            `json:"clientTransactionId"`
	FromAccountID       string            `json:"fromAccountId"`
	ToAddress           string            `json:"toAddress"`
	AddressTag          string            `json:"addressTag"`
	Symbol              string            `json:"symbol"`
	Network             string            `json:"network"`
	Amount              linkvault.Decimal `json:"amount"`
	PreviewID           string            `json:"previewId"`
	MFACode             string            `json:"mfaCode"`
	TransferID          string            `json:"transferId"`
	AccountID           string            `json:"accountId"`
	Limit               int               `json:"limit"`
	Cursor              string            `json:"cursor"`
	Base                string            `json:"base"`
	Since               time.Time         `json:"since"`
	APIKey              string            `json:"apiKey"`
	APISecret           string            `json:"apiSecret"`
	Scope               string            `json:"scope"`
}

func runGoldenOp(ctx context.Context, p linkvault.Provider, op string, raw json.RawMessage) (any, error) {
	var in goldenInput
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &in); err != nil {
			return nil, err
		}
	}
	c := goldenCredential
	tr := linkvault.TransferRequest{ClientTransactionID: in.ClientTransactionID, FromAccountID: in.FromAccountID, ToAddress: in.ToAddress,
		AddressTag: in.AddressTag, Symbol: in.Symbol, Network: in.Network, Amount: in.Amount, PreviewID: in.PreviewID,
		MFACode: linkvault.NewSecret(in.MFACode)}
	switch op {
	case "validate":
		return map[string]bool{"ok": true}, p.Validate(ctx, c)
	case "revoke":
		return map[string]bool{"ok": true}, p.Revoke(ctx, c)
	case "accounts":
		return p.Accounts(ctx, c)
	case "holdings":
		return p.Holdings(ctx, c)
	case "balances":
		return p.Balances(ctx, c)
	case "transfer_options":
		return p.TransferOptions(ctx, c)
	case "preview_transfer":
		return p.PreviewTransfer(ctx, c, tr)
	case "execute_transfer":
		return p.ExecuteTransfer(ctx, c, tr)
	case "get_transfer":
		return p.GetTransfer(ctx, c, linkvault.TransferRef{TransferID: in.TransferID, AccountID: in.AccountID, Symbol: in.Symbol})
	case "transfers":
		return p.Transfers(ctx, c, linkvault.TransferQuery{Symbol: in.Symbol, Limit: in.Limit, Cursor: in.Cursor, Since: in.Since})
	case "deposit_address":
		return p.DepositAddress(ctx, c, linkvault.DepositAddressRequest{Symbol: in.Symbol, Network: in.Network})
	case "account_holder":
		return p.AccountHolder(ctx, c)
	case "rates":
		return p.Rates(ctx, in.Base)
	}
	return runGoldenExtra(ctx, p, op, in)
}

// goldenExtra are operations beyond linkvault.Provider: connecting an API key.
var goldenExtra = map[string]func(context.Context, linkvault.Provider, goldenInput) (any, error){
	"connect_api_key": func(ctx context.Context, p linkvault.Provider, in goldenInput) (any, error) {
		kp, ok := p.(linkvault.APIKeyProvider)
		if !ok {
			return nil, fmt.Errorf("%T takes no API keys", p)
		}
		c, err := kp.ConnectAPIKey(ctx, linkvault.APIKeyRequest{Key: in.APIKey, Secret: linkvault.NewSecret(in.APISecret),
			Scope: linkvault.Permission(in.Scope)})
		if err != nil {
			return nil, err
		}
		return map[string]any{"apiKey": c.AccessToken.Reveal(), "apiSecretKept": c.APISecret.Reveal() == in.APISecret,
			"subject": c.Subject, "expires": !c.Expiry.IsZero(), "refreshable": c.CanRefresh()}, nil
	},
}

func runGoldenExtra(ctx context.Context, p linkvault.Provider, op string, in goldenInput) (any, error) {
	if f, ok := goldenExtra[op]; ok {
		return f(ctx, p, in)
	}
	keys := make([]string, 0, len(goldenExtra))
	for k := range goldenExtra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return nil, fmt.Errorf("unknown golden op %q (extra: %v)", op, keys)
}
