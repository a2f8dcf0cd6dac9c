package provider

import (
	"math"
	"testing"
	"time"
)

// Seed corpora live in testdata/fuzz/<FuzzName>/; these targets check that the parsers
// of upstream answers never panic and only return well-formed values.

func FuzzParseCoinbaseAccounts(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		page, err := parseCoinbaseAccounts(body)
		if err != nil {
			return
		}
		for _, a := range page.Accounts {
			if a.ID == "" || a.Currency == "" {
				t.Fatalf("account without id or currency: %+v", a)
			}
			if math.IsNaN(a.Amount) || math.IsInf(a.Amount, 0) || math.IsNaN(a.NativeValue) || math.IsInf(a.NativeValue, 0) {
				t.Fatalf("non-finite amount: %+v", a)
			}
		}
	})
}

func FuzzParseCoinbaseTransaction(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		tx, err := parseCoinbaseTransaction(body)
		if err != nil {
			return
		}
		if tx.ID == "" || math.IsNaN(tx.Amount) || math.IsNaN(tx.Fee) {
			t.Fatalf("bad transaction: %+v", tx)
		}
		switch tx.Status {
		case "pending", "succeeded", "failed":
		default:
			t.Fatalf("status %q outside pending|succeeded|failed", tx.Status)
		}
	})
}

func FuzzParseUpholdCards(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		cards, err := parseUpholdCards(body)
		if err != nil {
			return
		}
		for _, c := range cards {
			if c.ID == "" || c.Currency == "" || math.IsNaN(c.Balance) || math.IsInf(c.USDValue, 0) {
				t.Fatalf("bad card: %+v", c)
			}
		}
	})
}

func FuzzParseBinanceAccount(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		acct, err := parseBinanceAccount(body)
		if err != nil {
			return
		}
		for _, b := range acct.Balances {
			if b.Asset == "" || math.IsNaN(b.Free) || math.IsInf(b.Free, 0) {
				t.Fatalf("bad balance: %+v", b)
			}
		}
	})
}

func FuzzParseBinanceLogin(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		step, err := parseBinanceLogin(body)
		if err != nil {
			return
		}
		if step.MFARequired && step.Challenge == "" || !step.MFARequired && step.SessionToken == "" || step.ExpiresIn < 0 {
			t.Fatalf("inconsistent login step: %+v", step)
		}
	})
}

// FuzzErrorCode checks that whatever an error body says, only a known short code can
// come out of it.
func FuzzErrorCode(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, extract := range []errorCodeFunc{coinbaseErrorCode, upholdErrorCode, binanceErrorCode, oauthErrorCode} {
			code := sanitizeCode(extract(body))
			if code != "" && !knownCodes[code] {
				t.Fatalf("unknown code %q escaped sanitizing", code)
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
