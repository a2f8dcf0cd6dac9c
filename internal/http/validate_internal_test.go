package http

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/linkvault/linkvault"
)

func TestCheckJSONText(t *testing.T) {
	tests := []struct {
		name, body string
		want       string // substring of the message; "" when accepted
	}{
		{"plain", `{"userId":"u1","type":"coinbase"}`, ""},
		{"non-ASCII", `{"userId":"Zoë 😀 東京"}`, ""},
		{"escaped surrogate pair", `{"userId":"\ud83d\ude00"}`, ""},
		{"escaped upper-case pair", `{"userId":"\uD83D\uDE00"}`, ""},
		{"real U+FFFD", `{"userId":"\ufffd"}`, ""},
		{"free-text line breaks and tabs", `{"description":"line 1\nline 2\r\n\tend"}`, ""},
		{"escaped quote and backslash", `{"a":"\"\\\/","b":"x"}`, ""},
		{"nested arrays and objects", `{"accessTokens":[{"accessToken":"abc","brokerType":"coinbase"}],"n":[1,true,null]}`, ""},

		{"escaped NUL", `{"userId":"a\u0000b"}`, `Field "userId" contains a NUL character`},
		{"escaped bell", `{"userId":"a\u0007"}`, `Field "userId" contains a control character`},
		{"backspace escape", `{"userId":"a\b"}`, `Field "userId" contains a control character`},
		{"form feed escape", `{"userId":"a\f"}`, `Field "userId" contains a control character`},
		{"raw DEL", "{\"userId\":\"a\x7f\"}", `Field "userId" contains a control character`},
		{"escaped DEL", `{"userId":"a\u007F"}`, `contains a control character`},
		{"raw C1 control", "{\"userId\":\"a\u0085\"}", `contains a control character`},
		{"escaped C1 control", `{"userId":"\u009b"}`, `contains a control character`},
		{"lone high surrogate", `{"userId":"\ud800"}`, `Field "userId" contains an unpaired UTF-16 surrogate escape`},
		{"lone low surrogate", `{"userId":"\udc00"}`, `unpaired UTF-16 surrogate`},
		{"reversed pair", `{"userId":"\ude00\ud83d"}`, `unpaired UTF-16 surrogate`},
		{"high then non-surrogate escape", `{"userId":"\ud83d\u0041"}`, `unpaired UTF-16 surrogate`},
		{"high surrogate at the end", `{"userId":"x\ud83d"}`, `unpaired UTF-16 surrogate`},
		{"invalid byte", "{\"userId\":\"a\xffb\"}", `Field "userId" is not valid UTF-8`},
		{"overlong slash", "{\"userId\":\"\xc0\xaf\"}", `is not valid UTF-8`},
		{"overlong NUL", "{\"userId\":\"\xc0\x80\"}", `is not valid UTF-8`},
		{"UTF-8-encoded surrogate", "{\"userId\":\"\xed\xa0\x80\"}", `is not valid UTF-8`},
		{"truncated sequence", "{\"userId\":\"\xe2\x82\"}", `is not valid UTF-8`},
		{"code point above U+10FFFF", "{\"userId\":\"\xf4\x90\x80\x80\"}", `is not valid UTF-8`},
		{"bad field name", `{"user\u0000Id":"u"}`, `A field name contains a NUL character`},
		{"inside an array of objects", `{"accessTokens":[{"accessToken":"ok"},{"accessToken":"\ud800"}]}`, `Field "accessToken"`},
		{"after a nested object", `{"a":{"b":"ok"},"c":"\u0000"}`, `Field "c"`},
		{"string in an array", `{"list":["ok","\u0001"]}`, `Field "list"`},
		{"top-level string", `"\u0000"`, `A field contains a NUL character`},
		{"hostile field name is not echoed", "{\"<script>\":\"\\u0000\"}", `A field contains`},
		{"whitespace before the colon", "{\"userId\" :\t\"\\u0000\"}", `Field "userId"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !json.Valid([]byte(tt.body)) {
				t.Fatalf("test body is not valid JSON: %q", tt.body)
			}
			err := checkJSONText([]byte(tt.body))
			if tt.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted, want %q", tt.want)
			}
			if linkvault.ErrorStatus(err) != linkvault.StatusBadRequest || linkvault.ErrorType(err) != linkvault.ErrTypeInvalidRequest {
				t.Fatalf("error %v, want badRequest/invalidRequest", err)
			}
			if msg := linkvault.ErrorMessage(err); !strings.Contains(msg, tt.want) {
				t.Fatalf("message %q, want it to contain %q", msg, tt.want)
			}
		})
	}
}

// TestDecodeRefusesWhatEncodingJSONWouldRepair shows the failure of issue 15 item 4 at
// its root: encoding/json turns each of these into U+FFFD, so two different userIds
// decode to the same string. decodeJSONBody refuses them instead.
func TestDecodeRefusesWhatEncodingJSONWouldRepair(t *testing.T) {
	for _, body := range []string{`{"userId":"x\ud800"}`, `{"userId":"x\udbff"}`, "{\"userId\":\"x\xff\"}", "{\"userId\":\"x\xed\xa0\x80\"}"} {
		var plain struct{ UserID string }
		if err := json.Unmarshal([]byte(body), &plain); err != nil || !strings.Contains(plain.UserID, "\ufffd") {
			t.Fatalf("encoding/json no longer repairs %q (got %q, %v): revisit validate.go", body, plain.UserID, err)
		}
		var req linkTokenRequest
		if err := decodeJSONBody(strings.NewReader(body), &req); linkvault.ErrorStatus(err) != linkvault.StatusBadRequest {
			t.Errorf("decodeJSONBody(%q) = %v, want a badRequest", body, err)
		}
	}
}

// A wrongly typed field is named by its path in the request, never by the Go names of
// the embedded structs it is declared in (encoding/json reports
// "transferParties.fromAccount.fromAuthToken" for a top-level fromAuthToken).
func TestDecodeErrorNamesTheRequestsPath(t *testing.T) {
	type nested struct {
		Inner struct {
			fromAccount
			Count int `json:"count"`
		} `json:"inner"`
		List []transferParties `json:"list"`
	}
	for _, tc := range []struct {
		body string
		into any
		want string
	}{
		{`{"fromAuthToken":1}`, &configureBody{}, `Field "fromAuthToken" must be of type string.`},
		{`{"toType":true}`, &previewBody{}, `Field "toType" must be of type string.`},
		{`{"symbol":2}`, &configureBody{}, `Field "symbol" must be of type string.`},
		{`{"amount":"1"}`, &previewBody{}, `Field "amount" must be of type number.`},
		{`{"inner":{"fromType":[]}}`, &nested{}, `Field "inner.fromType" must be of type string.`},
		{`{"inner":{"count":"x"}}`, &nested{}, `Field "inner.count" must be of type integer.`},
		{`{"inner":{"count":1.5}}`, &nested{}, `Field "inner.count" must be a whole number.`},
		{`{"inner":{"count":1e3}}`, &nested{}, `Field "inner.count" must be a whole number.`},
		{`{"inner":{"count":99999999999999999999}}`, &nested{}, `Field "inner.count" is out of range.`},
		{`{"inner":{"count":-99999999999999999999}}`, &nested{}, `Field "inner.count" is out of range.`},
		{`{"list":[{"fromAuthToken":{}}]}`, &nested{}, `Field "list.fromAuthToken" must be of type string.`},
	} {
		err := decodeJSONBody(strings.NewReader(tc.body), tc.into)
		if err == nil || linkvault.ErrorMessage(err) != tc.want {
			t.Errorf("decode %s: %v, want %q", tc.body, err, tc.want)
		}
	}
}

func TestCheckRequestText(t *testing.T) {
	tests := []struct {
		name    string
		target  string
		headers map[string]string
		want    string
	}{
		{"plain", "/link/abc?lng=es&th=dark", nil, ""},
		{"non-ASCII query", "/link/abc?x=%C3%A9", nil, ""},
		{"NUL in the path", "/link/a%00b", nil, "The request path contains a NUL character"},
		{"invalid UTF-8 in the path", "/link/a%FFb", nil, "The request path is not valid UTF-8"},
		{"NUL in a query value", "/link/abc?lng=%00", nil, `Query parameter "lng" contains a NUL character`},
		{"line feed in a query value", "/link/oauth/callback?state=a%0Ab", nil, `Query parameter "state" contains a control character`},
		{"overlong UTF-8 in a query value", "/link/abc?lng=%C0%AF", nil, `Query parameter "lng" is not valid UTF-8`},
		{"encoded surrogate in a query value", "/link/abc?lng=%ED%A0%80", nil, `is not valid UTF-8`},
		{"bad parameter name", "/x?%FF=1", nil, "A query parameter name is not valid UTF-8"},
		{"malformed escape", "/x?a=%ZZ", nil, "The query string is malformed"},
		{"invalid UTF-8 in X-Client-Id", "/api/v1/status", map[string]string{"X-Client-Id": "app\xff"}, "Header X-Client-Id is not valid UTF-8"},
		{"C1 control in the page secret", "/link/api/tokens", map[string]string{PageSecretHeader: "abc\u0085"}, "Header X-Link-Page contains a control character"},
		{"other headers are not data", "/api/v1/status", map[string]string{"User-Agent": "caf\xe9"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := http.NewRequest("GET", "http://h"+tt.target, nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.headers {
				r.Header.Set(k, v)
			}
			err = checkRequestText(r)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(linkvault.ErrorMessage(err), tt.want) || StatusCode(err) != http.StatusBadRequest {
				t.Fatalf("checkRequestText = %v, want a 400 containing %q", err, tt.want)
			}
		})
	}
}

// TestIdentityHeadersGivenTwiceAreRefused: a request carrying X-Client-Id,
// X-Client-Secret or X-Link-Page twice (any casing) is a 400 envelope naming the header,
// before anything is authenticated. It used to be authenticated with the first value
// while a proxy or log in front may read the last: one request, two callers.
func TestIdentityHeadersGivenTwiceAreRefused(t *testing.T) {
	h := NewServer(Config{}, Deps{}).Handler()
	for _, tc := range []struct {
		target, header string
		values         []string
	}{
		{"/api/v1/linktoken", "X-Client-Id", []string{"app1", "app2"}},
		{"/api/v1/linktoken", "x-client-id", []string{"app1", "app1"}},
		{"/api/v1/linktoken", "X-Client-Secret", []string{"lvsk_0123456789abcdef_a", "lvsk_0123456789abcdef_b"}},
		{"/link/api/tokens", PageSecretHeader, []string{"secret-one", "secret-two"}},
	} {
		r := httptest.NewRequest("POST", tc.target, strings.NewReader(`{"userId":"u"}`))
		r.Header.Set("Content-Type", "application/json")
		for _, v := range tc.values {
			r.Header.Add(tc.header, v)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		var env struct {
			Status, Message, ErrorType string
		}
		if err := json.Unmarshal(w.Body.Bytes(), &env); err != nil || w.Code != http.StatusBadRequest ||
			env.ErrorType != linkvault.ErrTypeInvalidRequest || !strings.Contains(env.Message, http.CanonicalHeaderKey(tc.header)+" is given more than once") {
			t.Errorf("%s twice on %s: %d %s", tc.header, tc.target, w.Code, w.Body)
		}
		if strings.HasPrefix(tc.target, "/link/") && w.Header().Get("Content-Security-Policy") == "" {
			t.Errorf("%s twice on %s: no Link headers", tc.header, tc.target)
		}
	}
	// Once is checked as text only.
	r := httptest.NewRequest("GET", "/api/v1/status", nil)
	r.Header.Set("X-Client-Id", "app1")
	r.Header.Set("X-Client-Secret", "lvsk_0123456789abcdef_a")
	if err := checkRequestText(r); err != nil {
		t.Fatalf("each header once: %v", err)
	}
}

// referenceTextOK is the oracle for FuzzCheckJSONText: a strict RFC 8259 decoder
// (github.com/go-json-experiment/json/jsontext, which refuses invalid UTF-8 and unpaired
// surrogates by default) reads every token, and no decoded string holds a control
// character but tab, line feed or carriage return.
func referenceTextOK(data []byte) bool {
	dec := jsontext.NewDecoder(bytes.NewReader(data), jsontext.AllowDuplicateNames(true))
	for {
		tok, err := dec.ReadToken()
		if err == io.EOF {
			return true
		}
		if err != nil {
			return false
		}
		if tok.Kind() == '"' {
			for _, r := range tok.String() {
				if unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' {
					return false
				}
			}
		}
	}
}

// FuzzCheckJSONText compares checkJSONText with the strict reference decoder on every
// valid JSON document the fuzzer finds.
func FuzzCheckJSONText(f *testing.F) {
	for _, seed := range []string{
		`{"userId":"u"}`, `{"userId":"\ud800"}`, `{"a":"\ud83d\ude00"}`, `{"a":"\u0000"}`, "{\"a\":\"\xff\"}",
		`["\n","\t","\b"]`, `{"a\u0085":1}`, "{\"a\":\"\xc2\x85\"}", `"\\u0000"`, `{"a":"\\\ud800"}`, `[{"x":"\uDBFF\uDFFF"}]`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !json.Valid(data) {
			return
		}
		got := checkJSONText(data) == nil
		if want := referenceTextOK(data); got != want {
			t.Fatalf("checkJSONText(%q) accepted=%v, reference accepted=%v", data, got, want)
		}
	})
}

// plainTextFault (eight bytes at a time where it can) finds what a byte-by-byte scan
// finds.
func FuzzPlainTextFault(f *testing.F) {
	for _, s := range []string{"", "/api/v1/managed/token/get", "abcdefg\x7f", "abcdefgh\x00ijk", "\x1fabcdefgh", "abcdefgh\u00e9abcdefgh",
		"abcdefgh\xffabc", "abcdefgh\u0085abcdefgh", "~~~~~~~~~~~~~~~~ ", "abcdefghabcdefgh\t"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var want textFault
		for i := 0; i < len(s); {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				want = faultUTF8
				break
			}
			if r < utf8.RuneSelf && (r < 0x20 || r == 0x7f) {
				want = controlFault(r)
				break
			}
			if unicode.IsControl(r) {
				want = faultControl
				break
			}
			i += size
		}
		if got := plainTextFault(s); got != want {
			t.Fatalf("%q: %q, want %q", s, got, want)
		}
	})
}

// A field name given twice in one object is refused: encoding/json would keep the last
// one, matching names without regard to case, so the request would be read as only one
// of the two things it says. The same name in different objects is fine.
func TestDuplicateFieldNamesAreRefused(t *testing.T) {
	many := func(extra string) string {
		var b strings.Builder
		b.WriteString(`{"options":{`)
		for i := range 40 {
			fmt.Fprintf(&b, `"k%d":%d,`, i, i)
		}
		b.WriteString(extra + `"z":1},"userId":"u"}`)
		return b.String()
	}
	for _, tc := range []struct {
		body string
		dup  string // the name refused; "" for none
	}{
		{`{"userId":"a","userId":"b"}`, "userId"},
		{`{"userId":"a","UserID":"b"}`, "UserID"},
		{`{"userId":"a","\u0075serId":"b"}`, "userId"},
		{`{"userId":"a","restrictMultipleAccounts":true,"RESTRICTMULTIPLEACCOUNTS":false}`, "RESTRICTMULTIPLEACCOUNTS"},
		{`{"userId":"a","x":{"userId":"b"},"y":[{"userId":"c"},{"userId":"d"}]}`, ""},
		{`{"userId":"a","x":{"k":1,"k":2}}`, "k"},
		{`{"userId":"u","s":"{\"userId\":1}","t":"}"}`, ""}, // braces and names inside strings
		{many(""), ""},
		{many(`"K7":0,`), "K7"},     // found through the set of a large object
		{many(`"ſ":1,"S":2,`), "S"}, // U+017F folds with s and S, as in bytes.EqualFold
	} {
		var req linkTokenRequest
		err := decodeJSONBody(strings.NewReader(tc.body), &req)
		if tc.dup == "" {
			if err != nil && strings.Contains(linkvault.ErrorMessage(err), "more than once") {
				t.Errorf("%s: refused: %v", tc.body, err)
			}
			continue
		}
		want := `Field "` + tc.dup + `" is given more than once in one object; field names are matched without regard to case.`
		if tc.dup == "ſ" || !isPlainName(tc.dup) {
			want = "A field is given more than once in one object; field names are matched without regard to case."
		}
		if linkvault.ErrorStatus(err) != linkvault.StatusBadRequest || linkvault.ErrorMessage(err) != want {
			t.Errorf("%s: %v, want %q", tc.body, err, want)
		}
	}
	// token/get's fast path hands a repeated name to the full path, which refuses it.
	for _, body := range []string{`{"authToken":"a","authToken":"b","type":"coinbase"}`, `{"type":"a","authToken":"t","type":"b"}`} {
		if _, ok := parseTokenBody([]byte(body)); ok {
			t.Errorf("fast path took %s", body)
		}
		var req tokenRequest
		if err := decodeJSONBody(strings.NewReader(body), &req); linkvault.ErrorStatus(err) != linkvault.StatusBadRequest {
			t.Errorf("%s: %v, want a 400", body, err)
		}
	}
}

func isPlainName(s string) bool { return named("Field", s) != "A field" }
