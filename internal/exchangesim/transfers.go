package exchangesim

import (
	"sort"
	"strings"
	"sync"
	"time"
)

// transferState is the lifecycle of a simulated transfer.
type transferState string

const (
	transferQuoted    transferState = "quoted"    // Uphold quote, not committed
	transferPending   transferState = "pending"   // debited, not yet on chain (Config.SettleAfter)
	transferSent      transferState = "completed" // debited and broadcast
	transferCancelled transferState = "cancelled" // an expired quote
)

// transfer is one withdrawal or deposit.
type transfer struct {
	ID        string
	User      *user
	WalletID  string
	Currency  string
	Network   string
	Amount    float64 // what the destination receives
	Fee       float64
	To        string
	Tag       string
	Hash      string
	State     transferState
	Deposit   bool   // credited to the user (from outside)
	ClientKey string // idempotency key chosen by the client (empty: none)
	Reference string // Uphold's external reference
	CreatedAt time.Time
	SettledAt time.Time // when a pending transfer completes
	ExpiresAt time.Time // quotes only
}

// transferBook keeps transfers by id, by (user, idempotency key) and per user in order.
type transferBook struct {
	mu       sync.Mutex
	byID     map[string]*transfer
	byClient map[string]*transfer // user id + "\x00" + key
	byUser   map[*user][]*transfer
}

func newTransferBook() *transferBook {
	return &transferBook{byID: make(map[string]*transfer), byClient: make(map[string]*transfer), byUser: make(map[*user][]*transfer)}
}

func clientKey(u *user, key string) string { return u.id + "\x00" + key }

// transferProblem is a business refusal, as a short code; each exchange words it in
// its own error shape.
type transferProblem string

const (
	transferOK            transferProblem = ""
	problemInvalidAmount  transferProblem = "invalid_amount"
	problemInvalidAddress transferProblem = "invalid_address"
	problemInvalidNetwork transferProblem = "invalid_network"
	problemInsufficient   transferProblem = "insufficient_funds"
	problemBelowMinimum   transferProblem = "below_minimum"
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
	Tag       string
	ClientKey string
	Reference string
	// minOnGross: the network minimum applies to Amount plus the fee (Binance's
	// amount includes the fee).
	minOnGross bool
}

// validateTransfer checks a spec and computes its fee.
func validateTransfer(s transferSpec) (fee float64, p transferProblem) {
	if s.Amount <= 0 {
		return 0, problemInvalidAmount
	}
	n, ok := network(s.Currency, strings.ToLower(s.Network))
	if !ok {
		return 0, problemInvalidNetwork
	}
	if !validAddress(n, s.To) {
		return 0, problemInvalidAddress
	}
	gross := s.Amount
	if s.minOnGross {
		gross += n.Fee
	}
	if gross+1e-12 < n.Min {
		return 0, problemBelowMinimum
	}
	return n.Fee, transferOK
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
	return e.createTransfer(s, false, 0)
}

// createQuote records a quoted transfer (Uphold's two-step flow), idempotent by key.
func (e *Exchange) createQuote(s transferSpec, ttl time.Duration) (transfer, bool, transferProblem) {
	return e.createTransfer(s, true, ttl)
}

func (e *Exchange) createTransfer(s transferSpec, quoteOnly bool, ttl time.Duration) (transfer, bool, transferProblem) {
	b := e.transfers
	s.Network = strings.ToLower(s.Network)
	// The book lock is held across the debit so two requests with the same key cannot
	// both debit.
	b.mu.Lock()
	defer b.mu.Unlock()
	if s.ClientKey != "" {
		if t, ok := b.byClient[clientKey(s.User, s.ClientKey)]; ok {
			return e.view(t), true, transferOK
		}
	}
	fee, p := validateTransfer(s)
	if p != transferOK {
		return transfer{}, false, p
	}
	now := e.now()
	t := &transfer{
		ID: uuidLike(), User: s.User, WalletID: s.WalletID, Currency: s.Currency, Network: s.Network,
		Amount: s.Amount, Fee: fee, To: s.To, Tag: s.Tag, ClientKey: s.ClientKey, Reference: s.Reference, CreatedAt: now,
	}
	if quoteOnly {
		if w, ok := e.users.walletByCurrency(s.User, s.Currency); !ok || w.Balance+1e-12 < s.Amount+fee {
			return transfer{}, false, problemInsufficient
		}
		t.State, t.ExpiresAt = transferQuoted, now.Add(ttl)
	} else if p := e.debitLocked(t); p != transferOK {
		return transfer{}, false, p
	}
	b.byID[t.ID] = t
	b.byUser[s.User] = append(b.byUser[s.User], t)
	if s.ClientKey != "" {
		b.byClient[clientKey(s.User, s.ClientKey)] = t
	}
	return e.view(t), false, transferOK
}

// debitLocked takes amount+fee from the wallet and puts t on its way (book lock held).
func (e *Exchange) debitLocked(t *transfer) transferProblem {
	if err := e.users.debit(t.User, t.Currency, roundAmount(t.Amount+t.Fee)); err != nil {
		return problemInsufficient
	}
	t.Hash = "0x" + randomHex(32)
	t.State, t.SettledAt = transferPending, e.now().Add(e.cfg.SettleAfter)
	e.stats.transfers.Add(1)
	return transferOK
}

// view returns a copy of t with its state as of now (a pending transfer whose
// settlement time passed is completed).
func (e *Exchange) view(t *transfer) transfer {
	if t.State == transferPending && !e.now().Before(t.SettledAt) {
		t.State = transferSent
	}
	return *t
}

// commit executes a quoted transfer; committing a debited one returns it unchanged.
func (e *Exchange) commit(u *user, id string) (transfer, transferProblem) {
	b := e.transfers
	b.mu.Lock()
	defer b.mu.Unlock()
	t, ok := b.byID[id]
	if !ok || t.User != u {
		return transfer{}, problemNotFound
	}
	switch t.State {
	case transferPending, transferSent:
		return e.view(t), transferOK
	case transferCancelled:
		return transfer{}, problemQuoteExpired
	}
	if !e.now().Before(t.ExpiresAt) {
		t.State = transferCancelled
		return transfer{}, problemQuoteExpired
	}
	if p := e.debitLocked(t); p != transferOK {
		return transfer{}, p
	}
	return e.view(t), transferOK
}

// deposit credits u with an incoming transfer from outside (admin API).
func (e *Exchange) deposit(u *user, currency, networkName string, amount float64) (transfer, error) {
	if err := e.users.credit(u, currency, amount); err != nil {
		return transfer{}, err
	}
	b := e.transfers
	b.mu.Lock()
	defer b.mu.Unlock()
	w, _ := e.users.walletByCurrency(u, currency)
	now := e.now()
	t := &transfer{ID: uuidLike(), User: u, WalletID: w.ID, Currency: currency, Network: networkName, Amount: amount,
		Hash: "0x" + randomHex(32), State: transferSent, Deposit: true, CreatedAt: now, SettledAt: now}
	b.byID[t.ID] = t
	b.byUser[u] = append(b.byUser[u], t)
	return *t, nil
}

// lookupTransfer returns one of u's transfers.
func (e *Exchange) lookupTransfer(u *user, id string) (transfer, bool) {
	return e.lookup(func(b *transferBook) *transfer {
		if t := b.byID[id]; t != nil && t.User == u {
			return t
		}
		return nil
	})
}

// lookupTransferByKey returns u's transfer with a client key.
func (e *Exchange) lookupTransferByKey(u *user, key string) (transfer, bool) {
	return e.lookup(func(b *transferBook) *transfer { return b.byClient[clientKey(u, key)] })
}

// lookup returns the transfer find picks (nil: none) with the book locked.
func (e *Exchange) lookup(find func(*transferBook) *transfer) (transfer, bool) {
	b := e.transfers
	b.mu.Lock()
	defer b.mu.Unlock()
	if t := find(b); t != nil {
		return e.view(t), true
	}
	return transfer{}, false
}

// history returns u's transfers newest first, filtered by keep (nil: all).
func (e *Exchange) history(u *user, keep func(*transfer) bool) []transfer {
	b := e.transfers
	b.mu.Lock()
	defer b.mu.Unlock()
	all := b.byUser[u]
	out := make([]transfer, 0, len(all))
	for i := len(all) - 1; i >= 0; i-- {
		if keep == nil || keep(all[i]) {
			out = append(out, e.view(all[i]))
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreatedAt.After(out[j].CreatedAt) })
	return out
}
