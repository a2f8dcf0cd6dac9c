package browser_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/linkvault/linkvault"
)

// openAccount signs in to the example app as name (with query on its page, when
// given), connects Coinbase as cbUser with password and opens that connection's
// account screen on a return visit.
func (e *env) openAccount(name, cbUser, password, query string) {
	e.t.Helper()
	e.pickIntegration(name, query, "coinbase")
	e.waitInFrame(overlayFrame, "[data-screen=oauth]")
	e.consentInPopup(overlayFrame, "#lv-continue", cbUser, password, "")
	e.waitInFrame(overlayFrame, "[data-screen=success]")
	e.clickInFrame(overlayFrame, "#lv-done")
	e.run(chromedp.WaitNotPresent(chromedp.CSS("[data-linkvault=overlay]")), chromedp.WaitVisible(chromedp.CSS("[data-token-id]")))
	e.run(chromedp.Navigate(e.app+"/"+query), chromedp.WaitVisible(chromedp.CSS(`[data-action=open]`)), chromedp.Click(chromedp.CSS(`[data-action=open]`)))
	e.waitInFrame(overlayFrame, "#lv-positions")
}

// btcValue opens the account screen of name's Coinbase connection (name-cb) with query
// on the app's page and returns the BTC row's value cell and BTC's USD market value
// read through the REST API.
func (e *env) btcValue(name, query string) (cell string, usd float64) {
	e.t.Helper()
	e.openAccount(name, name+"-cb", "pw", query)
	tokenID := e.storedTokenIDs()[0]
	return e.textInFrame(overlayFrame, "[data-symbol=BTC] td:last-child"), e.usdValue(tokenID, "BTC")
}

// usdValue is the USD market value of symbol in the connection's holdings, read
// through the REST API.
func (e *env) usdValue(tokenID, symbol string) float64 {
	e.t.Helper()
	r := e.st.API(e.t, http.MethodPost, "/api/v1/holdings/get", "app1", linkvault.PermissionRead, `{"authToken":`+jsString(tokenID)+`,"type":"coinbase"}`)
	var h struct {
		Content struct {
			Positions []struct {
				Symbol      string  `json:"symbol"`
				MarketValue float64 `json:"marketValue"`
			} `json:"cryptocurrencyPositions"`
		} `json:"content"`
	}
	if err := json.Unmarshal(r.Body, &h); err != nil {
		e.t.Fatalf("holdings: %v %s", err, r.Body)
	}
	for _, p := range h.Content.Positions {
		if p.Symbol == symbol {
			return p.MarketValue
		}
	}
	e.t.Fatalf("no %s in %s", symbol, r.Body)
	return 0
}

// coinbaseRate is the simulated Coinbase's published rate of currency per USD
// (GET /v2/exchange-rates, as the adapter reads it).
func (e *env) coinbaseRate(currency string) float64 {
	e.t.Helper()
	resp, err := http.Get(e.st.Sim.Coinbase.URL + "/v2/exchange-rates?currency=USD")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Data struct {
			Rates map[string]string `json:"rates"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		e.t.Fatal(err)
	}
	v, err := strconv.ParseFloat(out.Data.Rates[currency], 64)
	if err != nil {
		e.t.Fatalf("rate %s: %q", currency, out.Data.Rates[currency])
	}
	return v
}

// money parses "€1,234.56" / "$1,234.56".
func parseMoney(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(strings.NewReplacer("€", "", "$", "", ",", "", "\u00a0", "", "US", "").Replace(strings.TrimSpace(s)), 64)
	if err != nil {
		t.Fatalf("not an amount: %q", s)
	}
	return v
}

// TestEURDisplayConverts (issue 16.2): with displayFiatCurrency EUR the values are
// converted with Coinbase's published EUR rate and say so, with its time (main put a
// € sign on USD figures).
func TestEURDisplayConverts(t *testing.T) {
	e := newEnv(t)
	cell, usd := e.btcValue("uma", "?fiat=EUR")
	if !strings.HasPrefix(cell, "€") {
		t.Fatalf("BTC value %q is not in euros", cell)
	}
	want := usd * e.coinbaseRate("EUR")
	if got := parseMoney(t, cell); got < want-0.01 || got > want+0.01 {
		t.Fatalf("BTC value %v EUR, want %v (USD value × Coinbase's EUR rate)", got, want)
	}
	if note := e.textInFrame(overlayFrame, "#lv-rate"); !strings.HasPrefix(note, "1 USD = ") || !strings.Contains(note, "EUR · Coinbase rate at ") {
		t.Fatalf("rate note %q", note)
	}
	e.shotBoth("currency-01-eur")
}

// TestUnknownCurrencyStaysUSD: a currency the exchange publishes no rate for is not
// shown at all: the values stay in USD, labelled USD, and the page says why.
func TestUnknownCurrencyStaysUSD(t *testing.T) {
	e := newEnv(t)
	cell, usd := e.btcValue("vic", "?fiat=JPY")
	if !strings.HasPrefix(cell, "$") {
		t.Fatalf("BTC value %q: want USD", cell)
	}
	if got, want := parseMoney(t, cell), usd; got < want-0.01 || got > want+0.01 {
		t.Fatalf("BTC value %v, want %v USD", got, want)
	}
	if note := e.textInFrame(overlayFrame, "#lv-rate"); !strings.Contains(note, "no JPY rate") {
		t.Fatalf("note %q", note)
	}
	e.shotBoth("currency-02-no-rate")
}
