package exchangesim

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"math"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// User describes a simulated exchange user for CreateUser.
type User struct {
	Username string
	Password string
	MFACode  string             // default: the exchange's MFA code
	Balances map[string]float64 // default: the exchange's default balances
	// TwoFactor makes the exchange ask for the MFA code on every send (Coinbase
	// CB-2FA-TOKEN, Uphold OTP-Token); default Config.TwoFactor.
	TwoFactor bool
}

// ErrUserExists is returned by CreateUser for a taken username.
var ErrUserExists = errors.New("exchangesim: user exists")

// ErrUnknownUser is returned by control methods naming a user that does not exist.
var ErrUnknownUser = errors.New("exchangesim: unknown user")

// user is one account holder. Balances and the password digest are guarded by the
// directory's mutex; credentialEpoch is bumped on every password change so tokens that
// die with a password change can check it without taking the directory lock.
type user struct {
	name            string
	id              string
	passwordDigest  [32]byte
	mfaDigest       [32]byte
	twoFactor       bool
	credentialEpoch atomic.Int64
	wallets         map[string]*wallet // by currency
	addresses       map[string]string  // deposit addresses by currency + "/" + network
}

// email is the simulated user's address (the .invalid TLD never resolves).
func (u *user) email() string { return strings.ToLower(u.name) + "@example.invalid" }

// names splits the username into a first and last name for the user objects.
func (u *user) names() (first, last string) {
	local, _, _ := strings.Cut(u.name, "@")
	first, last, _ = strings.Cut(local, ".")
	if last == "" {
		last = "Tester"
	}
	return strings.ToUpper(first[:min(1, len(first))]) + first[min(1, len(first)):], last
}

type wallet struct {
	id       string
	currency string
	balance  float64
}

type userDirectory struct {
	mu        sync.Mutex
	byName    map[string]*user
	mfaCode   string
	defaults  map[string]float64
	twoFactor bool
}

func newUserDirectory(mfaCode string, defaults map[string]float64, twoFactor bool) *userDirectory {
	return &userDirectory{byName: make(map[string]*user), mfaCode: mfaCode, defaults: defaults, twoFactor: twoFactor}
}

func digest(s string) [32]byte { return sha256.Sum256([]byte(s)) }

// equalDigest compares two digests in constant time.
func equalDigest(a, b [32]byte) bool { return subtle.ConstantTimeCompare(a[:], b[:]) == 1 }

func (d *userDirectory) newUserLocked(u User) *user {
	mfa := u.MFACode
	if mfa == "" {
		mfa = d.mfaCode
	}
	balances := u.Balances
	if balances == nil {
		balances = d.defaults
	}
	nu := &user{
		name:           u.Username,
		id:             uuidLike(),
		passwordDigest: digest(u.Password),
		mfaDigest:      digest(mfa),
		twoFactor:      u.TwoFactor || d.twoFactor,
		wallets:        make(map[string]*wallet, len(balances)),
		addresses:      map[string]string{},
	}
	for cur, amt := range balances {
		nu.wallets[cur] = &wallet{id: uuidLike(), currency: cur, balance: roundAmount(amt)}
	}
	d.byName[u.Username] = nu
	return nu
}

// create adds a user; ErrUserExists if the name is taken.
func (d *userDirectory) create(u User) (*user, error) {
	if u.Username == "" {
		return nil, errors.New("exchangesim: username is required")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.byName[u.Username]; ok {
		return nil, ErrUserExists
	}
	return d.newUserLocked(u), nil
}

// authenticate checks a password. An unknown username is provisioned on the spot with
// this password and the default balances (first use wins), so tests and demos can log in
// as anyone.
func (d *userDirectory) authenticate(name, password string) (*user, bool) {
	if name == "" || password == "" {
		return nil, false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	u, ok := d.byName[name]
	if !ok {
		return d.newUserLocked(User{Username: name, Password: password}), true
	}
	if !equalDigest(u.passwordDigest, digest(password)) {
		return nil, false
	}
	return u, true
}

// ensure returns the named user, provisioning it with DefaultPassword if needed.
func (d *userDirectory) ensure(name string) *user {
	d.mu.Lock()
	defer d.mu.Unlock()
	if u, ok := d.byName[name]; ok {
		return u
	}
	return d.newUserLocked(User{Username: name, Password: DefaultPassword})
}

func (d *userDirectory) lookup(name string) *user {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.byName[name]
}

func (d *userDirectory) checkMFA(u *user, code string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return equalDigest(u.mfaDigest, digest(code))
}

// changePassword sets a new password and bumps the user's credential epoch.
func (d *userDirectory) changePassword(name, password string) (*user, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	u, ok := d.byName[name]
	if !ok {
		return nil, ErrUnknownUser
	}
	u.passwordDigest = digest(password)
	u.credentialEpoch.Add(1)
	return u, nil
}

// walletView is a copy of one wallet, safe to use outside the lock.
type walletView struct {
	ID       string
	Currency string
	Balance  float64
}

// wallets returns copies of u's wallets sorted by currency.
func (d *userDirectory) wallets(u *user) []walletView {
	d.mu.Lock()
	out := make([]walletView, 0, len(u.wallets))
	for _, w := range u.wallets {
		out = append(out, walletView{ID: w.id, Currency: w.currency, Balance: w.balance})
	}
	d.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Currency < out[j].Currency })
	return out
}

// walletByID finds one of u's wallets.
func (d *userDirectory) walletByID(u *user, id string) (walletView, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, w := range u.wallets {
		if w.id == id {
			return walletView{ID: w.id, Currency: w.currency, Balance: w.balance}, true
		}
	}
	return walletView{}, false
}

// walletByCurrency finds u's wallet of a currency.
func (d *userDirectory) walletByCurrency(u *user, currency string) (walletView, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	w, ok := u.wallets[currency]
	if !ok {
		return walletView{}, false
	}
	return walletView{ID: w.id, Currency: w.currency, Balance: w.balance}, true
}

var errInsufficientFunds = errors.New("insufficient funds")

// debit subtracts amount from u's wallet of currency.
func (d *userDirectory) debit(u *user, currency string, amount float64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	w, ok := u.wallets[currency]
	if !ok || w.balance+1e-12 < amount {
		return errInsufficientFunds
	}
	w.balance = roundAmount(w.balance - amount)
	return nil
}

// credit adds amount to u's wallet of currency, creating the wallet if needed.
func (d *userDirectory) credit(u *user, currency string, amount float64) error {
	if amount <= 0 {
		return errors.New("exchangesim: credit must be positive")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	w, ok := u.wallets[currency]
	if !ok {
		w = &wallet{id: uuidLike(), currency: currency}
		u.wallets[currency] = w
	}
	w.balance = roundAmount(w.balance + amount)
	return nil
}

// depositAddress returns u's address for currency on network, making one the first time.
func (d *userDirectory) depositAddress(u *user, currency string, n netSpec) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	k := currency + "/" + n.Name
	if a, ok := u.addresses[k]; ok {
		return a
	}
	a := newAddress(n)
	u.addresses[k] = a
	return a
}

// knownAddress reports whether u has an address for currency on network, and which.
func (d *userDirectory) knownAddress(u *user, currency, network string) (string, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	a, ok := u.addresses[currency+"/"+network]
	return a, ok
}

// balances returns a copy of a user's balances by currency.
func (d *userDirectory) balances(name string) (map[string]float64, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	u, ok := d.byName[name]
	if !ok {
		return nil, false
	}
	out := make(map[string]float64, len(u.wallets))
	for c, w := range u.wallets {
		out[c] = w.balance
	}
	return out, true
}

// roundAmount rounds to 8 decimal places, the precision of every simulated currency.
func roundAmount(v float64) float64 { return math.Round(v*1e8) / 1e8 }

// uuidLike returns a random identifier in UUID text form.
func uuidLike() string {
	h := randomHex(16)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// CreateUser adds a user with explicit password, MFA code and balances.
func (e *Exchange) CreateUser(u User) error {
	_, err := e.users.create(u)
	return err
}

// Balances returns a copy of a user's balances, or false if the user does not exist.
func (e *Exchange) Balances(username string) (map[string]float64, bool) {
	return e.users.balances(username)
}

// ChangePassword sets a user's password. On the Uphold-like exchange this kills every
// token of the user; Binance-like API keys survive it, as at Binance.
func (e *Exchange) ChangePassword(username, password string) error {
	if _, err := e.users.changePassword(username, password); err != nil {
		return err
	}
	e.log.Info("password changed", "user", username)
	return nil
}

// Deposit credits a user with crypto arriving from outside on a network, recorded as a
// deposit in the user's transfer history (provisioning the user if needed).
func (e *Exchange) Deposit(username, currency, networkName string, amount float64) error {
	if _, ok := network(currency, networkName); !ok {
		return errors.New("exchangesim: unknown currency or network")
	}
	_, err := e.deposit(e.users.ensure(username), currency, networkName, roundAmount(amount))
	return err
}
