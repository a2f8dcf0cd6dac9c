package provider

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
)

// coinbaseGoldenAccountsPage is the /v2/accounts answer of the golden holdings case
// (the shape of Coinbase's API reference, with every field the reference lists).
func coinbaseGoldenAccountsPage(t testing.TB) []byte {
	t.Helper()
	raw, err := os.ReadFile("testdata/golden/coinbase/holdings.json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Exchanges []struct {
			Request  struct{ Path string }
			Response struct{ Body json.RawMessage }
		}
	}
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	for _, e := range g.Exchanges {
		if e.Request.Path == "/v2/accounts" {
			return e.Response.Body
		}
	}
	t.Fatal("no /v2/accounts exchange in the golden holdings case")
	return nil
}

const account1 = `{"id":"a","name":"BTC Wallet","primary":true,"type":"wallet","currency":{"code":"BTC","name":"Bitcoin","color":"#F7931A","exponent":8,"type":"crypto","address_regex":"^x$","slug":"bitcoin"},"balance":{"amount":"39.59000000","currency":"BTC"},"created_at":"2025-01-31T20:49:02Z","resource":"account","resource_path":"/v2/accounts/a"}`

// Pages the scanner must read itself (the common shapes), and pages it must leave to
// encoding/json; either way the result must be encoding/json's.
var coinbaseAccountsCases = []struct {
	body string
	fast bool
}{
	{`{"pagination":{"ending_before":null,"starting_after":null,"limit":100,"order":"desc","previous_uri":null,"next_uri":null},"data":[` + account1 + `]}`, true},
	{`{"pagination":{"next_uri":"/v2/accounts?limit=100&starting_after=a"},"data":[` + account1 + `,` + account1 + `]}`, true},
	{" {\n \"data\" : [ ] , \"pagination\" : null } \n", true},
	{`{"data":null}`, true},
	{`{"data":[null,{"id":null,"currency":null,"balance":null}]}`, true},
	{`{"data":[{"id":"a","x":[1,-2.5e+3,0.1,true,false,null,"\u00e9\n\"",{"y":{}}],"currency":{"code":"é"}}]}`, true},
	{`{}`, true},
	// encoding/json's: escapes in wanted strings, case-folded or repeated keys,
	// other types, invalid or trailing input.
	{`{"data":[{"id":"a\u0062","currency":{"code":"BTC"}}]}`, false},
	{`{"data":[{"ID":"a","currency":{"code":"BTC"}}]}`, false},
	{`{"data":[{"id":"a","Id":"b","currency":{"code":"BTC"}}]}`, false},
	{`{"data":[{"id":"a","id":"b","currency":{"code":"BTC"}}]}`, false},
	{`{"data":[{"id":"a","currency":{"code":"BTC"},"currency":{"name":"x"}}]}`, false},
	{`{"data":[{"id":"a","currency":{"addreſſ_regex":"x","code":"BTC"}}]}`, false},
	{`{"data":[{"id":1}]}`, false},
	{`{"data":{}}`, false},
	{`{"pagination":{"next_uri":5},"data":[]}`, false},
	{`{"data":[]}x`, false},
	{`{"data":[]}{}`, false},
	{`{"data":[],}`, false},
	{`{"data":[{"id":"a","n":01}]}`, false},
	{`{"data":[{"id":"a","n":1.}]}`, false},
	{`{"data":[{"id":"a","n":"\x"}]}`, false},
	{"{\"data\":[{\"id\":\"a\xff\"}]}", false},
	{"{\"data\":[{\"id\":\"a\",\"x\":\"\xff\",\"currency\":{\"code\":\"B\"}}]}", true},
	{`{"data":[{"id":"a","n":nul}]}`, false},
	{"{\"data\":[{\"id\":\"a\tb\"}]}", false},
	{`[]`, false},
	{`null`, false},
	{``, false},
	{`{"data":[` + strings.Repeat(`{"x":`, 70) + `1` + strings.Repeat(`}`, 70) + `]}`, false},
}

func TestScanCoinbaseAccountsMatchesEncodingJSON(t *testing.T) {
	cases := coinbaseAccountsCases
	cases = append(cases, struct {
		body string
		fast bool
	}{string(coinbaseGoldenAccountsPage(t)), true})
	for _, c := range cases {
		var got coinbaseListWire[coinbaseAccountWire]
		ok := scanCoinbaseAccounts([]byte(c.body), &got)
		if ok != c.fast {
			t.Errorf("%.80q: scanned %v, want %v", c.body, ok, c.fast)
		}
		if ok {
			checkScanMatchesEncodingJSON(t, []byte(c.body), got)
		}
	}
	// The golden page is read in full: every account, with its currency and balance.
	var w coinbaseListWire[coinbaseAccountWire]
	if !scanCoinbaseAccounts(coinbaseGoldenAccountsPage(t), &w) || len(w.Data) < 3 || w.Data[0].Currency.Code != "BTC" || w.Data[0].Balance.Amount != "0.51000000" {
		t.Errorf("golden page: %+v", w)
	}
}

func checkScanMatchesEncodingJSON(t *testing.T, body []byte, got coinbaseListWire[coinbaseAccountWire]) {
	t.Helper()
	var want coinbaseListWire[coinbaseAccountWire]
	if err := json.Unmarshal(body, &want); err != nil {
		t.Fatalf("%q: scanned %+v, encoding/json refused: %v", body, got, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q:\nscanned       %+v\nencoding/json %+v", body, got, want)
	}
}

// The scanner accepts only what encoding/json accepts, with the same result.
func FuzzScanCoinbaseAccounts(f *testing.F) {
	for _, c := range coinbaseAccountsCases {
		f.Add([]byte(c.body))
	}
	f.Add(coinbaseGoldenAccountsPage(f))
	f.Fuzz(func(t *testing.T, body []byte) {
		var got coinbaseListWire[coinbaseAccountWire]
		if scanCoinbaseAccounts(body, &got) {
			checkScanMatchesEncodingJSON(t, body, got)
		}
	})
}

// controlOrHigh agrees with a byte-by-byte check.
func FuzzControlOrHigh(f *testing.F) {
	for _, s := range []string{"", "abc", "0123456789abcdef\x1f", "\x00", "\x7f\x80", "\xff", "  !!!!!!\x1f!!!!!!!", strings.Repeat("a", 40) + "\x01"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var ctl, high bool
		for _, c := range b {
			ctl = ctl || c < 0x20
			high = high || c >= 0x80
		}
		if gc, gh := controlOrHigh(b); gc != ctl || gh != high {
			t.Fatalf("%q: got %v %v, want %v %v", b, gc, gh, ctl, high)
		}
	})
}
