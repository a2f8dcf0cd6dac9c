package provider

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/linkvault/linkvault"
)

// fiatCurrencies are reported as balances rather than crypto positions.
var fiatCurrencies = map[string]bool{"USD": true, "EUR": true, "GBP": true, "CAD": true, "AUD": true, "JPY": true, "CHF": true}

func isFiat(c string) bool { return fiatCurrencies[c] }

// Precision of what adapters compute (exchange amounts themselves are kept as given).
const (
	fiatPlaces  = 2  // USD values
	pricePlaces = 8  // unit prices
	ratePlaces  = 18 // inverted exchange rates
)

// amount parses an exchange's decimal string; "" is an error (use optAmount when the
// field may be absent).
func amount(s string) (linkvault.Decimal, error) { return linkvault.ParseDecimal(s) }

// optAmount parses s, treating "" as zero.
func optAmount(s string) (linkvault.Decimal, error) {
	if strings.TrimSpace(s) == "" {
		return linkvault.Decimal{}, nil
	}
	return linkvault.ParseDecimal(s)
}

// usdFloat rounds a USD value to cents for linkvault.Account, which predates Decimal.
func usdFloat(d linkvault.Decimal) float64 { return d.Round(fiatPlaces).Float64() }

// position builds a holding valued at usdPrice per unit (zero price: value unknown).
func position(symbol, name string, amt, usdPrice linkvault.Decimal) linkvault.Position {
	p := linkvault.Position{Symbol: symbol, Name: name, Amount: amt}
	if usdPrice.Sign() > 0 {
		p.LastPrice = usdPrice.Round(pricePlaces)
		p.MarketValue = amt.Mul(usdPrice).Round(fiatPlaces)
	}
	return p
}

func fiatBalance(currency string, amt linkvault.Decimal) linkvault.Balance {
	return linkvault.Balance{CurrencyCode: currency, Cash: amt, BuyingPower: amt, CryptocurrencyBuyingPower: amt}
}

// matches reports whether s matches an exchange's published pattern (true when there is
// none: a pattern Go cannot read is not ours to enforce either).
func matches(pattern, s string) bool {
	if pattern == "" {
		return true
	}
	re, err := regexp.Compile(pattern)
	return err != nil || re.MatchString(s)
}

// portfolioAccount is the connection as the one account Accounts reports: the USD
// value of its holdings and the USD it holds in cash (worth says both of a holding:
// its value, currency and cash amount).
func portfolioAccount[T any](id, name string, items []T, worth func(T) (usd linkvault.Decimal, currency string, cash linkvault.Decimal)) []linkvault.Account {
	var fund, cash linkvault.Decimal
	for _, it := range items {
		usd, currency, amt := worth(it)
		fund = fund.Add(usd)
		if currency == "USD" {
			cash = cash.Add(amt)
		}
	}
	return []linkvault.Account{{AccountID: id, AccountName: name, Fund: usdFloat(fund), Cash: usdFloat(cash)}}
}

// portfolioHoldings is what Holdings reports of a connection's holdings: value gives a
// holding's position (false: a fiat holding or none at all).
func portfolioHoldings[T any](accountID, name string, items []T, value func(T) (linkvault.Position, bool)) linkvault.Holdings {
	h := linkvault.Holdings{AccountID: accountID, InstitutionName: name,
		CryptocurrencyPositions: []linkvault.Position{}, EquityPositions: []linkvault.Position{}}
	for _, it := range items {
		if pos, ok := value(it); ok {
			h.CryptocurrencyPositions = append(h.CryptocurrencyPositions, pos)
		}
	}
	return h
}

// fiatBalances is what Balances answers for a listing of an exchange's holdings: the
// fiat ones (fiat says of an item whether it is fiat, its currency and its cash), USD 0
// when there is none. A failed listing's error passes through:
// fiatBalances(fiat)(p.list(...)).
func fiatBalances[T any](fiat func(T) (currency string, cash linkvault.Decimal, ok bool)) func([]T, error) ([]linkvault.Balance, error) {
	return func(items []T, err error) ([]linkvault.Balance, error) {
		if err != nil {
			return nil, err
		}
		var out []linkvault.Balance
		for _, it := range items {
			if currency, cash, ok := fiat(it); ok {
				out = append(out, fiatBalance(currency, cash))
			}
		}
		if len(out) == 0 {
			out = []linkvault.Balance{fiatBalance("USD", linkvault.Decimal{})}
		}
		return out, nil
	}
}

// transferAssets is what TransferOptions answers for a listing of an exchange's
// holdings: asset converts an item (false: not a crypto holding), and the assets with a
// positive available amount and at least one network are kept. A failed listing's error
// passes through: transferAssets(asset)(p.list(...)).
func transferAssets[T any](asset func(T) (linkvault.TransferAsset, bool)) func([]T, error) ([]linkvault.TransferAsset, error) {
	return func(items []T, err error) ([]linkvault.TransferAsset, error) {
		if err != nil {
			return nil, err
		}
		out := []linkvault.TransferAsset{}
		for _, it := range items {
			if a, ok := asset(it); ok && a.Available.Sign() > 0 && len(a.Networks) > 0 {
				out = append(out, a)
			}
		}
		return out, nil
	}
}

// networkNames translates between an exchange's network names and linkvault's
// canonical codes (linkvault.Networks). Names not listed translate to themselves when
// they are canonical codes, so an exchange that adopts a known chain needs no entry.
type networkNames map[string]string // exchange name -> canonical code

// canonical returns the canonical code of an exchange's network name ("" if unknown).
func (m networkNames) canonical(exchangeName string) string {
	if c, ok := m[exchangeName]; ok {
		return c
	}
	if n, ok := linkvault.LookupNetwork(exchangeName); ok {
		return n.Code
	}
	return ""
}

// list is the set of canonical codes of the networks in an asset→networks table, in
// the order of linkvault.Networks.
func (m networkNames) list(table map[string][]string) []string {
	seen := map[string]bool{}
	for _, ns := range table {
		for _, n := range ns {
			if c := m.canonical(n); c != "" {
				seen[c] = true
			}
		}
	}
	var out []string
	for _, n := range linkvault.Networks {
		if seen[n.Code] {
			out = append(out, n.Code)
		}
	}
	return out
}

// asset describes an exchange's network for a transferable asset: its canonical code
// and name, enabled, the default when first.
func (m networkNames) asset(exchangeName string, first bool) linkvault.AssetNetwork {
	an := linkvault.AssetNetwork{Network: m.canonical(exchangeName), ExchangeCode: exchangeName, Default: first, Enabled: true}
	if net, ok := linkvault.LookupNetwork(an.Network); ok {
		an.Name = net.Name
	}
	return an
}

// exchange returns the exchange's name of a canonical code ("" if it has none).
func (m networkNames) exchange(code string) string {
	for name, c := range m {
		if c == code {
			return name
		}
	}
	if _, ok := linkvault.LookupNetwork(code); ok {
		return code
	}
	return ""
}

// transferLimits bound what a caller may put in a transfer request.
const (
	maxAddressLen = 256
	maxTagLen     = 128
	maxKeyLen     = 128
)

// checkTransferRequest validates the caller's request before any provider call.
func checkTransferRequest(b linkvault.BrokerType, op string, r linkvault.TransferRequest, execute bool) error {
	switch {
	case r.Symbol == "" || r.ToAddress == "" || len(r.ToAddress) > maxAddressLen || len(r.AddressTag) > maxTagLen ||
		!utf8.ValidString(r.ToAddress) || strings.ContainsAny(r.ToAddress, " \t\r\n"):
		return rejected(b, op, "invalid_request")
	case r.Amount.Sign() <= 0:
		return rejected(b, op, "invalid_amount")
	case r.Network == "":
		return rejected(b, op, "invalid_network")
	case execute && (r.ClientTransactionID == "" || len(r.ClientTransactionID) > maxKeyLen):
		return rejected(b, op, "missing_client_transaction_id")
	}
	if _, ok := linkvault.LookupNetwork(r.Network); !ok {
		return rejected(b, op, "invalid_network")
	}
	return nil
}

// uuidFromKey derives a stable UUID (version 4 layout) from an idempotency key, for
// exchanges that want their idempotency token to be a UUIDv4: the same key always
// gives the same token, so a retried request is recognised.
func uuidFromKey(key string) string {
	sum := sha256.Sum256([]byte("linkvault-idem\x00" + key))
	sum[6] = sum[6]&0x0f | 0x40
	sum[8] = sum[8]&0x3f | 0x80
	h := hex.EncodeToString(sum[:16])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// transferStatuses sorts the transfer statuses an exchange documents into linkvault's
// states.
type transferStatuses struct{ succeeded, failed, pending []string }

// state is the state of status s, with s as the detail; a status the exchange does not
// document is pending, detail "unknown".
func (ts transferStatuses) state(s string) (linkvault.TransferState, string) {
	switch {
	case slices.Contains(ts.succeeded, s):
		return linkvault.TransferSucceeded, s
	case slices.Contains(ts.failed, s):
		return linkvault.TransferFailed, s
	case slices.Contains(ts.pending, s):
		return linkvault.TransferPending, s
	}
	return linkvault.TransferPending, "unknown"
}
