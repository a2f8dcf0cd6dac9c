package http

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
)

// The hand-written codec must produce exactly what encoding/json produces (and accept
// exactly what it accepts, with the same values): these tests compare the two on
// tables of awkward values and, as fuzz targets, on any input.

var awkwardStrings = []string{
	"", "plain", `quote " and \ backslash`, "<script>&amp;</script>", "tab\tnl\ncr\r\b\f\x00\x01\x1f\x7f",
	"é ü ß 日本語 🙂", "\u2028\u2029", "bad \xff utf8 \xc3", "\xed\xa0\x80 surrogate bytes", "end\\",
}

func TestAppendJSONStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range awkwardStrings {
		want, _ := json.Marshal(s)
		if got := appendJSONString(nil, s); !bytes.Equal(got, want) {
			t.Errorf("%q: got %s, want %s", s, got, want)
		}
	}
}

func TestAppendJSONFloatMatchesEncodingJSON(t *testing.T) {
	for _, f := range []float64{0, math.Copysign(0, -1), 1, -1, 1234.56, 78.9, 0.1, 1e-6, 9.99e-7, 1e-7, 1e20, 1e21, 1.5e300,
		-2.5e-10, math.MaxFloat64, math.SmallestNonzeroFloat64, 123456789012345678, 0.000001234} {
		want, _ := json.Marshal(f)
		got, ok := appendJSONFloat(nil, f)
		if !ok || !bytes.Equal(got, want) {
			t.Errorf("%v: got %s (%v), want %s", f, got, ok, want)
		}
	}
	for _, f := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if _, ok := appendJSONFloat(nil, f); ok {
			t.Errorf("%v accepted; encoding/json refuses it", f)
		}
	}
}

func TestTokenStatusEnvelopeMatchesEncodingJSON(t *testing.T) {
	secs := int64(-42)
	big := int64(math.MaxInt64)
	loc := time.FixedZone("X", -(3*3600 + 30*60))
	cases := []tokenStatus{
		{},
		{TokenID: "tok_abc", BrokerType: "coinbase", Scope: "read", Status: "active", Accounts: []linkvault.Account{},
			CreatedAt: time.Date(2026, 11, 30, 19, 0, 0, 123456789, time.UTC), UpdatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, loc)},
		{TokenID: awkwardStrings[3], BrokerType: awkwardStrings[4], Scope: awkwardStrings[5], Status: "reauthRequired",
			Accounts: []linkvault.Account{{AccountID: awkwardStrings[6], AccountName: awkwardStrings[7], Fund: 1234.56, Cash: 1e-9},
				{AccountID: "b", Fund: 1e22, Cash: -0.5}},
			ExpiresInSeconds: optSeconds{n: secs, known: true}, Refreshable: true, CreatedAt: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), UpdatedAt: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)},
		{TokenID: "x", ExpiresInSeconds: optSeconds{n: big, known: true}, Accounts: nil},
	}
	for i, st := range cases {
		want, err := json.Marshal(Envelope{Status: linkvault.StatusOK, Content: st})
		if err != nil {
			t.Fatal(err)
		}
		w := httptest.NewRecorder()
		writeOKFast(w, func() any { return &st }, st.appendJSON)
		if got := bytes.TrimSuffix(w.Body.Bytes(), []byte("\n")); !bytes.Equal(got, want) {
			t.Errorf("case %d:\n got %s\nwant %s", i, got, want)
		}
		if ct := w.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
			t.Errorf("case %d: Content-Type %q", i, ct)
		}
	}
}

// A value the appenders cannot encode falls back to encoding/json, which refuses it
// with the same 500 envelope as before.
func TestTokenStatusFallsBackToEncodingJSON(t *testing.T) {
	for _, st := range []tokenStatus{
		{Accounts: []linkvault.Account{{Fund: math.NaN()}}},
		{CreatedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		w := httptest.NewRecorder()
		writeOKFast(w, func() any { return &st }, st.appendJSON)
		want := httptest.NewRecorder()
		writeOK(want, &st)
		if w.Code != want.Code || w.Body.String() != want.Body.String() {
			t.Errorf("fast %d %s, encoding/json %d %s", w.Code, w.Body, want.Code, want.Body)
		}
	}
}

var tokenBodySeeds = []string{
	`{"authToken":"tok_1","type":"coinbase"}`, ` { "type" : "binance" ,	"authToken":"a" } `, `{}`, `{"authToken":"a"}`,
	`{"authToken":"a","authToken":"b"}`, `{"AuthToken":"a"}`, `{"authToken":"a","extra":1}`, `{"authToken":1}`,
	`{"authToken":"a\u0041"}`, `{"authToken":"é"}`, `{"authToken":"a",}`, `{"authToken":"a"}x`, `{"authToken":"a"}{}`,
	`[]`, `null`, `"x"`, `{"type":null}`, `{"authToken":"a\tb"}`, `{"authToken":"a` + "\x01" + `"}`, `{`, `{"a"`, ``,
}

// parseTokenBody accepts only what encoding/json (with the text checks) accepts, with
// the same values.
func FuzzParseTokenBody(f *testing.F) {
	for _, s := range tokenBodySeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		data = bytes.TrimSpace(data)
		got, ok := parseTokenBody(data)
		if !ok {
			return
		}
		var want tokenRequest
		if err := decodeJSONData(data, &want); err != nil {
			t.Fatalf("%q: fast path accepted %+v, encoding/json refused: %v", data, got, err)
		}
		if got != want {
			t.Fatalf("%q: fast path %+v, encoding/json %+v", data, got, want)
		}
	})
}

func TestParseTokenBodySeeds(t *testing.T) {
	accepted := 0
	for _, s := range tokenBodySeeds {
		data := bytes.TrimSpace([]byte(s))
		got, ok := parseTokenBody(data)
		if !ok {
			continue
		}
		accepted++
		var want tokenRequest
		if err := decodeJSONData(data, &want); err != nil || got != want {
			t.Errorf("%q: fast %+v, encoding/json %+v (%v)", s, got, want, err)
		}
	}
	// The common shapes take the fast path: both fields in either order, with or
	// without spaces, one field, none (a repeated field does not: the full path
	// refuses it).
	if accepted < 4 {
		t.Errorf("only %d seeds took the fast path", accepted)
	}
	if got, ok := parseTokenBody([]byte(`{"authToken":"tok_1","type":"coinbase"}`)); !ok || got != (tokenRequest{AuthToken: "tok_1", Type: "coinbase"}) {
		t.Errorf("common body: %+v %v", got, ok)
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range awkwardStrings {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := appendJSONString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("%q: got %s, want %s", s, got, want)
		}
	})
}

func FuzzAppendJSONFloat(f *testing.F) {
	for _, v := range []float64{0, 1.5, 1e-7, 1e21, -3.25e-300} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v float64) {
		want, err := json.Marshal(v)
		got, ok := appendJSONFloat(nil, v)
		if ok != (err == nil) || (ok && !bytes.Equal(got, want)) {
			t.Fatalf("%v: got %s (%v), want %s (%v)", v, got, ok, want, err)
		}
	})
}

func TestLinkTokenEnvelopeMatchesEncodingJSON(t *testing.T) {
	for _, tok := range []string{"aHR0cDovL2xvY2FsaG9zdC9saW5rL2FiYw==", "", "<&>\u2028"} {
		want, _ := json.Marshal(Envelope{Status: linkvault.StatusOK, Content: map[string]string{"linkToken": tok}})
		w := httptest.NewRecorder()
		writeLinkToken(w, tok)
		if got := bytes.TrimSuffix(w.Body.Bytes(), []byte("\n")); !bytes.Equal(got, want) {
			t.Errorf("%q:\n got %s\nwant %s", tok, got, want)
		}
	}
}
