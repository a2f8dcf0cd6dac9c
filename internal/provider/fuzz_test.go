package provider

import (
	"net/http"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
)

// Seed corpora live in testdata/fuzz/<FuzzName>/; these targets check that the parsers
// of upstream answers never panic and only return well-formed values.

// canonicalDecimal fails when d does not survive a round trip through its text.
func canonicalDecimal(t *testing.T, what string, d linkvault.Decimal) {
	t.Helper()
	if back, err := linkvault.ParseDecimal(d.String()); err != nil || back != d {
		t.Fatalf("%s %q is not a canonical decimal", what, d)
	}
}

func FuzzParseCoinbaseAccounts(f *testing.F) {
	f.Add([]byte(`{"pagination":{"next_uri":null},"data":[{"id":"a","type":"wallet","currency":{"code":"BTC","name":"Bitcoin","type":"crypto"},"balance":{"amount":"39.59000000","currency":"BTC"}}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		page, err := parseCoinbaseAccounts(body)
		if err != nil {
			return
		}
		for _, a := range page.Items {
			if a.ID == "" || a.Currency == "" {
				t.Fatalf("account without id or currency: %+v", a)
			}
			canonicalDecimal(t, "balance", a.Balance)
		}
	})
}

func FuzzParseCoinbaseTransaction(f *testing.F) {
	f.Add([]byte(`{"data":{"id":"t","type":"send","status":"completed","amount":{"amount":"-0.5","currency":"BTC"},"network":{"hash":"h","network_name":"bitcoin","transaction_fee":{"amount":"0.0001","currency":"BTC"}},"to":{"address":"x"}}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		tx, err := parseCoinbaseTransaction(body)
		if err != nil {
			return
		}
		res := tx.result("w")
		if tx.ID == "" || res.Amount.Sign() < 0 {
			t.Fatalf("bad transaction: %+v", tx)
		}
		switch res.Status {
		case linkvault.TransferPending, linkvault.TransferSucceeded, linkvault.TransferFailed:
		default:
			t.Fatalf("status %q outside pending|succeeded|failed", res.Status)
		}
	})
}

func FuzzParseCoinbaseRates(f *testing.F) {
	f.Add([]byte(`{"data":{"currency":"BTC","rates":{"USD":"60000","EUR":"55555.5"}}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := parseCoinbaseRates(body)
		if err != nil {
			return
		}
		for c, v := range r.Rates {
			if v.Sign() < 0 {
				t.Fatalf("negative rate for %s", c)
			}
			canonicalDecimal(t, "rate", v)
		}
	})
}

func FuzzParseUpholdCards(f *testing.F) {
	f.Add([]byte(`[{"id":"c","label":"BTC card","currency":"BTC","available":"5.00","balance":"5.00","address":{"bitcoin":"x"},"normalized":[{"balance":"4500.00","currency":"USD"}]}]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		cards, err := parseUpholdCards(body)
		if err != nil {
			return
		}
		for _, c := range cards {
			if c.ID == "" || c.Currency == "" {
				t.Fatalf("bad card: %+v", c)
			}
			canonicalDecimal(t, "balance", c.Balance)
			for _, n := range c.Networks {
				if upholdNetworkNames.canonical(n) == "" {
					t.Fatalf("unknown network %q kept", n)
				}
			}
		}
	})
}

func FuzzParseUpholdTransaction(f *testing.F) {
	f.Add([]byte(`{"id":"t","status":"pending","type":"withdrawal","createdAt":"2026-03-01T12:00:00Z","denomination":{"amount":"1","currency":"BTC"},"fees":[{"amount":"0.0001","currency":"BTC"}],"origin":{"amount":"1.0001","currency":"BTC"},"params":{"ttl":18000}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		tx, err := parseUpholdTransaction(body)
		if err != nil {
			return
		}
		if tx.ID == "" || !tx.ExpiresAt.IsZero() && tx.ExpiresAt.Before(tx.CreatedAt) {
			t.Fatalf("bad transaction: %+v", tx)
		}
		canonicalDecimal(t, "fee", tx.Fee)
	})
}

func FuzzParseBinanceAccount(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		acct, err := parseBinanceAccount(body)
		if err != nil {
			return
		}
		for _, b := range acct.Balances {
			if b.Asset == "" {
				t.Fatalf("bad balance: %+v", b)
			}
			canonicalDecimal(t, "free", b.Free)
			canonicalDecimal(t, "locked", b.Locked)
		}
	})
}

// FuzzParseBinanceWallet feeds one body to the wallet parsers (all coins, withdrawal
// and deposit history): whatever they accept has canonical amounts and ids.
func FuzzParseBinanceWallet(f *testing.F) {
	f.Add([]byte(`[{"coin":"BTC","free":"0.1","isLegalMoney":false,"networkList":[{"network":"BTC","withdrawFee":"0.0002","withdrawMin":"0.001","withdrawMax":"7500","withdrawIntegerMultiple":"0.00000001","isDefault":true,"withdrawEnable":true}]}]`))
	f.Add([]byte(`[{"id":"b6ae22b3aa844210a7041aee7589627c","amount":"8.91","transactionFee":"0.004","coin":"USDT","status":6,"network":"ETH","applyTime":"2026-02-27 11:12:02"}]`))
	f.Add([]byte(`[{"id":769800519366885376,"amount":"0.001","coin":"BNB","network":"BNB","status":1,"insertTime":1772190000000}]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if coins, err := parseBinanceCoins(body); err == nil {
			for _, c := range coins {
				if c.Coin == "" {
					t.Fatalf("coin without name: %+v", c)
				}
				canonicalDecimal(t, "free", c.Free)
				for _, n := range c.Networks {
					for _, d := range []linkvault.Decimal{n.Fee, n.Min, n.Max, n.Multiple} {
						canonicalDecimal(t, "network amount", d)
					}
				}
			}
		}
		if ws, err := parseBinanceWithdrawals(body); err == nil {
			for _, w := range ws {
				if w.ID == "" {
					t.Fatalf("withdrawal without id: %+v", w)
				}
				r := w.result()
				if r.Amount.Sign() < 0 {
					t.Fatalf("negative amount received: %+v", r)
				}
				canonicalDecimal(t, "amount", w.Amount)
				canonicalDecimal(t, "fee", w.Fee)
			}
		}
		if ds, err := parseBinanceDeposits(body); err == nil {
			for _, d := range ds {
				canonicalDecimal(t, "deposit", d.Amount)
			}
		}
	})
}

// FuzzErrorCode checks that whatever an error answer says, only a known short code can
// come out of it, and only the documented kinds.
func FuzzErrorCode(f *testing.F) {
	f.Add(401, "Required", []byte(`{"code":"validation_failed","errors":{"denomination":{"errors":{"amount":[{"code":"sufficient_funds"}]}}}}`))
	f.Add(402, "", []byte(`{"errors":[{"id":"two_factor_required","message":"x"}]}`))
	f.Fuzz(func(t *testing.T, status int, otp string, body []byte) {
		h := http.Header{}
		h.Set("OTP-Token", otp)
		for i, parse := range []errorParser{coinbaseErrors, upholdErrors, binanceErrors, codeOnly(oauthErrorCode)} {
			code, kind := parse(status, h, body)
			code = sanitizeCode(code)
			if code != "" && !knownCodes[code] {
				t.Fatalf("unknown code %q escaped sanitizing", code)
			}
			allowed := kind == 0 || kind == linkvault.ProviderMFARequired
			if i == 2 { // Binance's codes decide the kind themselves (bnDocsErrors)
				allowed = kind == 0 || kind == linkvault.ProviderTransient || kind == linkvault.ProviderReauth || kind == linkvault.ProviderRejected
				if status >= 500 && kind != 0 && kind != linkvault.ProviderTransient {
					t.Fatalf("a %d was classified %v", status, kind)
				}
			}
			if !allowed {
				t.Fatalf("parser %d chose kind %v", i, kind)
			}
		}
	})
}

func FuzzParseRetryAfter(f *testing.F) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		d, ok := ParseRetryAfter(v, now)
		if !ok && d != 0 {
			t.Fatalf("ParseRetryAfter(%q) = %v, false; want 0 when unparseable", v, d)
		}
		if d < 0 || d > maxRetryAfter {
			t.Fatalf("ParseRetryAfter(%q) = %v, outside [0, %v]", v, d, maxRetryAfter)
		}
	})
}
