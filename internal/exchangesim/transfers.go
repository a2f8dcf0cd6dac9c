package exchangesim

import (
	"sort"
	"strings"
	"sync"
	"time"
)

// Prices in USD used for native balances and valuations.
var usdPrices = map[string]float64{"BTC": 60000, "ETH": 3000, "USDC": 1, "USDT": 1, "SOL": 150, "USD": 1}

func usdPrice(currency string) float64 { return usdPrices[currency] }

// currencyNames are display names of the simulated currencies.
var currencyNames = map[string]string{
	"BTC": "Bitcoin", "ETH": "Ethereum", "USDC": "USD Coin", "USDT": "Tether", "SOL": "Solana", "USD": "US Dollar",
}

func currencyName(c string) string {
	if n, ok := currencyNames[c]; ok {
		return n
	}
	return c
}

// isFiat reports whether a currency is fiat (cannot be sent on-chain).
func isFiat(c string) bool { return c == "USD" }

// networkFees is the flat withdrawal fee per (currency, network), in the currency.
// Network names are the lowercase chain names; the Binance-like exchange shows them
// upper-cased in its own codes (see binanceNetworkCode).
var networkFees = map[string]map[string]float64{
	"BTC":  {"bitcoin": 0.0001},
	"ETH":  {"ethereum": 0.0008, "base": 0.00002},
	"USDC": {"ethereum": 2.5, "base": 0.05, "solana": 0.01},
	"USDT": {"ethereum": 3, "solana": 0.01},
	"SOL":  {"solana": 0.000005},
}

// Networks lists every network name the simulated exchanges support, sorted.
func Networks() []string {
	seen := map[string]bool{}
	for _, nets := range networkFees {
		for n := range nets {
			seen[n] = true
		}
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// networksOf lists the networks a currency can be sent on, sorted.
func networksOf(currency string) []string {
	out := make([]string, 0, len(networkFees[currency]))
	for n := range networkFees[currency] {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// withdrawalFee returns the fee of sending currency on network.
func withdrawalFee(currency, network string) (float64, bool) {
	f, ok := networkFees[currency][network]
	return f, ok
}

// validAddress is a loose check: 20..128 characters of letters and digits (plus ':' and
// '_' for tagged formats). Enough to reject obvious garbage.
func validAddress(a string) bool {
	if len(a) < 20 || len(a) > 128 {
		return false
	}
	for _, r := range a {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == ':' || r == '_') {
			return false
		}
	}
	return true
}

// transferState is the lifecycle of a simulated transfer.
type transferState string

const (
	transferQuoted    transferState = "pending"   // Uphold quote, not committed
	transferSent      transferState = "completed" // debited and broadcast
	transferCancelled transferState = "cancelled"
)

// transfer is one withdrawal.
type transfer struct {
	ID        string
	User      *user
	WalletID  string
	Currency  string
	Network   string
	Amount    float64
	Fee       float64
	To        string
	Hash      string
	State     transferState
	ClientKey string // idempotency key chosen by the client (empty: none)
	CreatedAt time.Time
	ExpiresAt time.Time // quotes only
}

// transferBook keeps transfers by id and by (user, idempotency key).
type transferBook struct {
	mu       sync.Mutex
	byID     map[string]*transfer
	byClient map[string]*transfer // user id + "\x00" + key
}

func newTransferBook() *transferBook {
	return &transferBook{byID: make(map[string]*transfer), byClient: make(map[string]*transfer)}
}

func clientKey(u *user, key string) string { return u.id + "\x00" + key }

// transferProblem is a business refusal, as a short code.
type transferProblem string

const (
	transferOK            transferProblem = ""
	problemInvalidAmount  transferProblem = "invalid_amount"
	problemInvalidAddress transferProblem = "invalid_address"
	problemInvalidNetwork transferProblem = "invalid_network"
	problemInsufficient   transferProblem = "insufficient_funds"
	problemQuoteExpired   transferProblem = "quote_expired"
	problemNotFound       transferProblem = "not_found"
)

// transferSpec is a requested withdrawal.
type transferSpec struct {
	User      *user
	WalletID  string
	Currency  string
	Network   string
	Amount    float64
	To        string
	ClientKey string
}

// validate checks a spec and computes its fee.
func validateTransfer(s transferSpec) (fee float64, p transferProblem) {
	if s.Amount <= 0 {
		return 0, problemInvalidAmount
	}
	if isFiat(s.Currency) {
		return 0, problemInvalidNetwork
	}
	fee, ok := withdrawalFee(s.Currency, strings.ToLower(s.Network))
	if !ok {
		return 0, problemInvalidNetwork
	}
	if !validAddress(s.To) {
		return 0, problemInvalidAddress
	}
	return fee, transferOK
}

// quote validates s and computes its fee and whether the balance covers it.
func (e *Exchange) quote(s transferSpec) (fee float64, insufficient bool, p transferProblem) {
	fee, p = validateTransfer(s)
	if p != transferOK {
		return 0, false, p
	}
	w, ok := e.users.walletByCurrency(s.User, s.Currency)
	return fee, !ok || w.Balance+1e-12 < s.Amount+fee, transferOK
}

// send executes a withdrawal immediately, idempotent by s.ClientKey: a repeated key
// returns the first transfer (replayed=true) without touching balances.
func (e *Exchange) send(s transferSpec) (t transfer, replayed bool, p transferProblem) {
	return e.createTransfer(s, transferSent, 0)
}

// createQuote records a pending transfer (Uphold's two-step flow), idempotent by key.
func (e *Exchange) createQuote(s transferSpec, ttl time.Duration) (transfer, bool, transferProblem) {
	return e.createTransfer(s, transferQuoted, ttl)
}

func (e *Exchange) createTransfer(s transferSpec, state transferState, ttl time.Duration) (transfer, bool, transferProblem) {
	b := e.transfers
	s.Network = strings.ToLower(s.Network)
	// The book lock is held across the debit so two requests with the same key cannot
	// both debit.
	b.mu.Lock()
	defer b.mu.Unlock()
	if s.ClientKey != "" {
		if t, ok := b.byClient[clientKey(s.User, s.ClientKey)]; ok {
			return *t, true, transferOK
		}
	}
	fee, p := validateTransfer(s)
	if p != transferOK {
		return transfer{}, false, p
	}
	now := e.now()
	t := &transfer{
		ID: uuidLike(), User: s.User, WalletID: s.WalletID, Currency: s.Currency, Network: s.Network,
		Amount: s.Amount, Fee: fee, To: s.To, State: state, ClientKey: s.ClientKey, CreatedAt: now,
	}
	if state == transferSent {
		if err := e.users.debit(s.User, s.Currency, roundAmount(s.Amount+fee)); err != nil {
			return transfer{}, false, problemInsufficient
		}
		t.Hash = "0x" + randomHex(32)
		e.stats.transfers.Add(1)
	} else {
		if w, ok := e.users.walletByCurrency(s.User, s.Currency); !ok || w.Balance+1e-12 < s.Amount+fee {
			return transfer{}, false, problemInsufficient
		}
		t.ExpiresAt = now.Add(ttl)
	}
	b.byID[t.ID] = t
	if s.ClientKey != "" {
		b.byClient[clientKey(s.User, s.ClientKey)] = t
	}
	return *t, false, transferOK
}

// commit executes a quoted transfer; committing a completed one returns it unchanged.
func (e *Exchange) commit(u *user, id string) (transfer, transferProblem) {
	b := e.transfers
	b.mu.Lock()
	defer b.mu.Unlock()
	t, ok := b.byID[id]
	if !ok || t.User != u {
		return transfer{}, problemNotFound
	}
	switch t.State {
	case transferSent:
		return *t, transferOK
	case transferCancelled:
		return transfer{}, problemQuoteExpired
	}
	if !e.now().Before(t.ExpiresAt) {
		t.State = transferCancelled
		return transfer{}, problemQuoteExpired
	}
	if err := e.users.debit(u, t.Currency, roundAmount(t.Amount+t.Fee)); err != nil {
		return transfer{}, problemInsufficient
	}
	t.State = transferSent
	t.Hash = "0x" + randomHex(32)
	e.stats.transfers.Add(1)
	return *t, transferOK
}

// lookupTransfer returns a copy of one of u's transfers.
func (e *Exchange) lookupTransfer(u *user, id string) (transfer, bool) {
	b := e.transfers
	b.mu.Lock()
	defer b.mu.Unlock()
	t, ok := b.byID[id]
	if !ok || t.User != u {
		return transfer{}, false
	}
	return *t, true
}

// lookupTransferByKey returns a copy of u's transfer with a client key.
func (e *Exchange) lookupTransferByKey(u *user, key string) (transfer, bool) {
	b := e.transfers
	b.mu.Lock()
	defer b.mu.Unlock()
	t, ok := b.byClient[clientKey(u, key)]
	if !ok {
		return transfer{}, false
	}
	return *t, true
}
