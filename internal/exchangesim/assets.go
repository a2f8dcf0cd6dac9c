package exchangesim

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"math/big"
	"regexp"
	"sort"
	"strconv"

	"github.com/linkvault/linkvault/internal/bech32"
)

// netSpec is one network an asset moves on at the simulated exchanges. Network names
// are lowercase chain names (what Coinbase and Uphold call them); the Binance-like
// exchange shows its own codes (binanceNetworkCode).
type netSpec struct {
	Name string
	Fee  float64 // flat withdrawal fee, in the asset
	Min  float64 // smallest withdrawal
	Kind string  // address family: "evm", "bitcoin", "solana"
}

// assetSpec is one currency the simulated exchanges hold.
type assetSpec struct {
	Name     string
	USD      float64   // price in USD
	Networks []netSpec // default first; none for fiat
}

// assets is the simulated market. Prices are fixed so tests can compute values.
var assets = map[string]assetSpec{
	"BTC":  {"Bitcoin", 60000, []netSpec{{"bitcoin", 0.0001, 0.0002, "bitcoin"}}},
	"ETH":  {"Ethereum", 3000, []netSpec{{"ethereum", 0.0008, 0.001, "evm"}, {"base", 0.00002, 0.0001, "evm"}}},
	"USDC": {"USD Coin", 1, []netSpec{{"ethereum", 2.5, 10, "evm"}, {"base", 0.05, 1, "evm"}, {"solana", 0.01, 1, "solana"}}},
	"USDT": {"Tether", 1, []netSpec{{"ethereum", 3, 10, "evm"}, {"solana", 0.01, 1, "solana"}}},
	"SOL":  {"Solana", 150, []netSpec{{"solana", 0.000005, 0.01, "solana"}}},
	"USD":  {"US Dollar", 1, nil},
	"EUR":  {"Euro", 1.08, nil},
	"GBP":  {"British Pound", 1.27, nil},
}

func usdPrice(currency string) float64 { return assets[currency].USD }

func currencyName(c string) string {
	if a, ok := assets[c]; ok {
		return a.Name
	}
	return c
}

// isFiat reports whether a currency is fiat (cannot be sent on-chain).
func isFiat(c string) bool {
	a, ok := assets[c]
	return ok && len(a.Networks) == 0
}

// Networks lists every network name the simulated exchanges support, sorted.
func Networks() []string {
	seen := map[string]bool{}
	for _, a := range assets {
		for _, n := range a.Networks {
			seen[n.Name] = true
		}
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// networksOf lists the networks a currency can be sent on, default first.
func networksOf(currency string) []netSpec { return assets[currency].Networks }

// defaultNetwork is a currency's first network ("" for fiat).
func defaultNetwork(currency string) string {
	if ns := networksOf(currency); len(ns) > 0 {
		return ns[0].Name
	}
	return ""
}

// network finds a currency's network by name.
func network(currency, name string) (netSpec, bool) {
	for _, n := range networksOf(currency) {
		if n.Name == name {
			return n, true
		}
	}
	return netSpec{}, false
}

// Address formats per family, as the exchanges publish them (Binance's addressRegex,
// Coinbase's address_regex).
var addressPatterns = map[string]string{
	"evm":     `^0x[0-9a-fA-F]{40}$`,
	"bitcoin": `^(bc1[02-9ac-hj-np-z]{11,71}|[13][a-km-zA-HJ-NP-Z1-9]{25,34})$`,
	"solana":  `^[1-9A-HJ-NP-Za-km-z]{32,44}$`,
}

var addressRegexps = func() map[string]*regexp.Regexp {
	m := map[string]*regexp.Regexp{}
	for k, p := range addressPatterns {
		m[k] = regexp.MustCompile(p)
	}
	return m
}()

// validAddress reports whether a is an address of the network's family.
func validAddress(n netSpec, a string) bool {
	re, ok := addressRegexps[n.Kind]
	return ok && re.MatchString(a)
}

const base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

// newAddress makes a fresh random deposit address of the network's family.
func newAddress(n netSpec) string {
	switch n.Kind {
	case "evm":
		return "0x" + randomHex(20)
	case "bitcoin":
		// A P2WPKH address: version q, a 20-byte program, a valid bech32 checksum.
		b := make([]byte, 32)
		for i := range b {
			b[i] = bech32.Charset[randInt(len(bech32.Charset))]
		}
		data := "q" + string(b)
		return "bc1" + data + bech32.Checksum("bc", data)
	default:
		b := make([]byte, 44)
		for i := range b {
			b[i] = base58Alphabet[randInt(len(base58Alphabet))]
		}
		return string(b)
	}
}

func randInt(n int) int {
	v, _ := rand.Int(rand.Reader, big.NewInt(int64(n)))
	return int(v.Int64())
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// rate is how many units of `to` one unit of `from` buys at the simulated prices.
func rate(from, to string) (float64, bool) {
	f, t := assets[from].USD, assets[to].USD
	if f <= 0 || t <= 0 {
		return 0, false
	}
	return f / t, true
}

// formatRate renders a rate with enough digits for tiny values.
func formatRate(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// uuidFromString is a stable UUID-shaped id derived from s.
func uuidFromString(s string) string {
	sum := sha256.Sum256([]byte(s))
	h := hex.EncodeToString(sum[:16])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
