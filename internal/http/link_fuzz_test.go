package http

import (
	"bytes"
	"net/url"
	"strings"
	"testing"

	"github.com/linkvault/linkvault"
)

// FuzzParseView feeds arbitrary Link URL query strings (lng, fiatCur, th, rt, as the
// SDK or anyone else appends them): the view only ever holds known values.
func FuzzParseView(f *testing.F) {
	ui := &linkUI{catalogs: map[string]map[string]string{"en": {}, "es": {}}}
	for _, seed := range []string{"lng=es&fiatCur=eur&th=dark&rt=embedded", "lng=es-MX", "lng=zz&th=<script>&rt=x&fiatCur=EURO", "lng=%00", ""} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		v := ui.parseView(q)
		if _, ok := ui.catalogs[v.Lang]; !ok {
			t.Fatalf("lang %q is not a catalog", v.Lang)
		}
		if !currencyPattern.MatchString(v.FiatCur) {
			t.Fatalf("fiatCur %q", v.FiatCur)
		}
		if v.Theme != "light" && v.Theme != "dark" && v.Theme != "system" {
			t.Fatalf("theme %q", v.Theme)
		}
		if v.RenderType != "overlay" && v.RenderType != "embedded" {
			t.Fatalf("renderType %q", v.RenderType)
		}
		if again := ui.parseView(mustQuery(t, v.query())); again != v {
			t.Fatalf("view does not survive its own query string: %+v vs %+v", v, again)
		}
	})
}

func mustQuery(t *testing.T, s string) url.Values {
	q, err := url.ParseQuery(s)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// FuzzCleanAssetPath: whatever is accepted stays inside the asset tree.
func FuzzCleanAssetPath(f *testing.F) {
	for _, seed := range []string{"link.css", "logos/coinbase.svg", "../secret", "/etc/passwd", "a/../../b", `a\b`, "./x", ""} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, p string) {
		c, ok := cleanAssetPath(p)
		if !ok {
			return
		}
		if strings.HasPrefix(c, "/") || strings.Contains(c, `\`) || c != p {
			t.Fatalf("accepted %q as %q", p, c)
		}
		for _, elem := range strings.Split(c, "/") {
			if elem == ".." || elem == "." || elem == "" {
				t.Fatalf("accepted %q, which has a %q element", p, elem)
			}
		}
	})
}

// FuzzDecodeLinkTokenRequest feeds arbitrary POST /api/v1/linktoken bodies to the
// decoder: every failure is a badRequest, never a panic.
func FuzzDecodeLinkTokenRequest(f *testing.F) {
	for _, seed := range []string{`{"userId":"u1"}`, `{"userId":1}`, `{"userId":"u","restrictMultipleAccounts":"yes"}`, `{"brokerType":null}`, `{`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req linkTokenRequest
		if err := decodeJSONBody(bytes.NewReader(body), &req); err != nil && linkvault.ErrorStatus(err) != linkvault.StatusBadRequest {
			t.Fatalf("decode error %v is not a badRequest", err)
		}
	})
}
