package provider

import (
	"context"
	"maps"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/linkvault/linkvault"
)

// DefaultRatesTTL is how long an adapter reuses an exchange's published rates to value
// holdings: rates are public market data, and fetching them on every holdings call
// would double the calls made to the exchange.
const DefaultRatesTTL = 30 * time.Second

// rateCache keeps an exchange's latest rates per base currency for a short time, and
// collapses concurrent fetches of the same base into one call.
type rateCache struct {
	ttl    time.Duration
	now    func() time.Time
	mu     sync.Mutex
	byBase map[string]cachedRates
	flight singleflight.Group

	// prices remembers usdPrice's division per rate text (a pure function of it), so
	// valuing a holdings answer does not divide big numbers again for every position
	// of every call while the same rates are in use.
	priceMu sync.Mutex
	prices  map[string]linkvault.Decimal
}

// maxMemoPrices bounds rateCache.prices (an exchange lists a few hundred currencies).
const maxMemoPrices = 4096

// usdPrice is usdPrice(r, symbol), with the division remembered.
func (rc *rateCache) usdPrice(r linkvault.Rates, symbol string) linkvault.Decimal {
	if symbol == "USD" || r.Base != "USD" {
		return usdPrice(r, symbol)
	}
	units, ok := r.Rates[symbol]
	if !ok || units.Sign() <= 0 {
		return linkvault.Decimal{}
	}
	key := units.String()
	rc.priceMu.Lock()
	p, ok := rc.prices[key]
	rc.priceMu.Unlock()
	if ok {
		return p
	}
	p = usdPrice(r, symbol)
	rc.priceMu.Lock()
	if rc.prices == nil || len(rc.prices) >= maxMemoPrices {
		rc.prices = make(map[string]linkvault.Decimal)
	}
	rc.prices[key] = p
	rc.priceMu.Unlock()
	return p
}

type cachedRates struct {
	rates   linkvault.Rates
	fetched time.Time
}

func newRateCache(ttl time.Duration, now func() time.Time) *rateCache {
	if ttl <= 0 {
		ttl = DefaultRatesTTL
	}
	return &rateCache{ttl: ttl, now: now, byBase: map[string]cachedRates{}}
}

// get returns cached rates for base, or fetches them. The result is shared: callers
// must not modify its map (Rates methods of the adapters return copies).
func (rc *rateCache) get(ctx context.Context, base string, fetch func(context.Context) (linkvault.Rates, error)) (linkvault.Rates, error) {
	base = strings.ToUpper(base)
	rc.mu.Lock()
	c, ok := rc.byBase[base]
	rc.mu.Unlock()
	if ok && rc.now().Sub(c.fetched) < rc.ttl {
		return c.rates, nil
	}
	v, err, _ := rc.flight.Do(base, func() (any, error) {
		r, err := fetch(ctx)
		if err != nil {
			return nil, err
		}
		rc.mu.Lock()
		rc.byBase[base] = cachedRates{rates: r, fetched: rc.now()}
		rc.mu.Unlock()
		return r, nil
	})
	if err != nil {
		return linkvault.Rates{}, err
	}
	return v.(linkvault.Rates), nil
}

// copyRates returns r with its own map, safe to hand to a caller.
func copyRates(r linkvault.Rates) linkvault.Rates {
	r.Rates = maps.Clone(r.Rates)
	return r
}

// usdPrice is the price of one unit of symbol in USD, from rates based on USD
// (1 USD buys Rates[symbol] units). Zero when unknown.
func usdPrice(r linkvault.Rates, symbol string) linkvault.Decimal {
	if symbol == "USD" {
		return linkvault.DecimalFromInt(1)
	}
	if r.Base != "USD" {
		return linkvault.Decimal{}
	}
	units, ok := r.Rates[symbol]
	if !ok || units.Sign() <= 0 {
		return linkvault.Decimal{}
	}
	p, _ := linkvault.DecimalFromInt(1).Quo(units, ratePlaces)
	return p
}

// checkRatesBase validates the base currency a caller asks rates for.
func checkRatesBase(b linkvault.BrokerType, base string) (string, error) {
	base = strings.ToUpper(strings.TrimSpace(base))
	if base == "" {
		base = "USD"
	}
	if len(base) > 12 || strings.IndexFunc(base, func(r rune) bool { return !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') }) >= 0 {
		return "", rejected(b, "rates", "invalid_symbol")
	}
	return base, nil
}
