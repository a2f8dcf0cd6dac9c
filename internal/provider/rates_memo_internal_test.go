package provider

import (
	"testing"
	"time"

	"github.com/linkvault/linkvault"
)

// The remembered price is exactly usdPrice's, for every kind of rate, also on the
// second look-up and after the rates change.
func TestRememberedUSDPriceEqualsUSDPrice(t *testing.T) {
	rc := newRateCache(time.Minute, time.Now)
	dec := func(s string) linkvault.Decimal {
		d, err := linkvault.ParseDecimal(s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	usd := linkvault.Rates{Base: "USD", Rates: map[string]linkvault.Decimal{
		"BTC": dec("0.0000105"), "ETH": dec("0.00031"), "EUR": dec("0.92"), "ZERO": dec("0"), "NEG": dec("-1"), "SHIB": dec("91000.123456789"),
	}}
	eur := linkvault.Rates{Base: "EUR", Rates: usd.Rates}
	for round := range 2 {
		for _, r := range []linkvault.Rates{usd, eur} {
			for _, sym := range []string{"BTC", "ETH", "EUR", "USD", "ZERO", "NEG", "SHIB", "MISSING"} {
				if got, want := rc.usdPrice(r, sym), usdPrice(r, sym); got != want {
					t.Errorf("round %d, base %s, %s: %s, want %s", round, r.Base, sym, got, want)
				}
			}
		}
	}
	changed := linkvault.Rates{Base: "USD", Rates: map[string]linkvault.Decimal{"BTC": dec("0.0000099")}}
	if got, want := rc.usdPrice(changed, "BTC"), usdPrice(changed, "BTC"); got != want {
		t.Errorf("after a rate change: %s, want %s", got, want)
	}
}
