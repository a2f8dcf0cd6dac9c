package refresh_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/envelope"
	"github.com/linkvault/linkvault/internal/envelope/envelopetest"
	"github.com/linkvault/linkvault/internal/exchangesim"
	"github.com/linkvault/linkvault/internal/exchangesim/simprovider"
	"github.com/linkvault/linkvault/internal/link/linktest"
	"github.com/linkvault/linkvault/internal/proctest"
	"github.com/linkvault/linkvault/internal/provider"
	"github.com/linkvault/linkvault/internal/refresh"
	"github.com/linkvault/linkvault/internal/vault"
)

// testStore is what the tests need from either database.
type testStore interface {
	linkvault.Store
	refresh.Store
	PendingEvents(ctx context.Context, clientID string) ([]linkvault.Event, error)
}

const testClient = "app1"

var testPolicy = vault.Policy{RefreshAhead: 5 * time.Minute, ValidateEvery: time.Hour, WarnAhead: time.Hour}

// harness is one linkvault deployment under test: a store, the simulated exchanges on
// loopback ports, the real provider adapters pointed at them, and the vault.
type harness struct {
	t      testing.TB
	clock  *exchangesim.ManualClock // nil: real time
	now    func() time.Time
	sim    *exchangesim.Cluster
	reg    *provider.Registry
	store  testStore
	master *envelope.MasterKeyring
	// masterText is the master keyring's text form, for replica processes.
	masterText string
	vault      *vault.Service
	sealer     *envelope.Keyring
}

type harnessOptions struct {
	manualClock bool
	// accessTTL of the Coinbase-like and sandbox exchanges (default 1h).
	accessTTL time.Duration
	// sessionTTL of the Binance-like exchange (default 24h).
	sessionTTL time.Duration
}

var clockStart = time.Date(2031, 6, 1, 12, 0, 0, 0, time.UTC)

func newHarness(t testing.TB, st testStore, o harnessOptions) *harness {
	t.Helper()
	h := &harness{t: t, store: st, now: time.Now}
	if o.manualClock {
		h.clock = exchangesim.NewManualClock(clockStart)
		h.now = h.clock.Now
	}
	if o.accessTTL == 0 {
		o.accessTTL = time.Hour
	}
	if o.sessionTTL == 0 {
		o.sessionTTL = 24 * time.Hour
	}
	ctx, cancel := context.WithCancel(context.Background())
	sim, err := exchangesim.Start(ctx, exchangesim.ClusterConfig{
		Now:      h.now,
		Coinbase: exchangesim.Config{AccessTTL: o.accessTTL},
		Sandbox:  exchangesim.Config{AccessTTL: o.accessTTL},
		Binance:  exchangesim.Config{AccessTTL: o.sessionTTL},
	})
	if err != nil {
		cancel()
		t.Fatalf("start simulated exchanges: %v", err)
	}
	t.Cleanup(func() { cancel(); _ = sim.Close() })
	h.sim = sim
	h.reg, err = provider.NewRegistry(simprovider.Configs(sim), provider.Deps{Now: h.now})
	if err != nil {
		t.Fatalf("provider registry: %v", err)
	}
	if err := st.CreateClient(context.Background(), &linkvault.Client{ID: testClient, Name: testClient, CreatedAt: h.now()}); err != nil {
		t.Fatalf("create client: %v", err)
	}
	h.masterText = newMasterKeyText(t)
	if h.master, err = envelope.LoadMasterKeyring([]byte(h.masterText)); err != nil {
		t.Fatal(err)
	}
	h.vault, h.sealer = h.newVault(st)
	return h
}

// newMasterKeyText returns a fresh master keyring in its text form.
func newMasterKeyText(t testing.TB) string {
	text, _ := envelopetest.MasterKeyText()
	return text
}

// newVault returns a vault service and sealer over st, as another replica would have.
func (h *harness) newVault(st testStore) (*vault.Service, *envelope.Keyring) {
	k := envelope.New(st, h.master, h.now)
	return vault.New(vault.Config{Store: st, Sealer: k, Now: h.now, Policy: testPolicy, CacheSize: 1000, CacheTTL: time.Minute}), k
}

// engine returns an engine over the harness's vault with test-friendly defaults.
func (h *harness) engine(cfg refresh.Config, reg prometheus.Registerer) *refresh.Engine {
	h.t.Helper()
	return h.engineOn(h.store, h.vault, h.sealer, cfg, reg)
}

// engineOn is engine over another store, vault and sealer (another replica's, or a vault
// that misbehaves).
func (h *harness) engineOn(st testStore, v refresh.Vault, k *envelope.Keyring, cfg refresh.Config, reg prometheus.Registerer) *refresh.Engine {
	h.t.Helper()
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 5 * time.Millisecond
	}
	if cfg.LeaseDuration == 0 {
		cfg.LeaseDuration, cfg.ProviderTimeout, cfg.WriteTimeout = 20*time.Second, 5*time.Second, 5*time.Second
	}
	if cfg.Now == nil {
		cfg.Now = h.now
	}
	e, err := refresh.New(cfg, refresh.Deps{Store: st, Vault: v, Sealer: k, Providers: h.reg, Registerer: reg})
	if err != nil {
		h.t.Fatalf("refresh.New: %v", err)
	}
	return e
}

func (h *harness) exchange(b linkvault.BrokerType) *exchangesim.Server {
	return h.sim.ByBrokerType(string(b))
}

// credential mints a grant for user on the broker's simulated exchange, as if the user
// had gone through Link.
func (h *harness) credential(b linkvault.BrokerType, user string) linkvault.Credential {
	h.t.Helper()
	tr, err := h.exchange(b).MintGrant(user)
	if err != nil {
		h.t.Fatalf("MintGrant: %v", err)
	}
	return linktest.Credential(tr, user, h.now())
}

// connect creates a connection for user with a freshly minted credential; mutate may
// adjust the credential first (to make it due, for instance).
func (h *harness) connect(b linkvault.BrokerType, user string, mutate func(*linkvault.Credential)) *linkvault.Connection {
	h.t.Helper()
	cred := h.credential(b, user)
	if mutate != nil {
		mutate(&cred)
	}
	c, err := h.vault.Connect(context.Background(), vault.ConnectParams{
		ConnectionIdentity: linkvault.ConnectionIdentity{ClientID: testClient, UserID: user, BrokerType: b, Scope: linkvault.PermissionRead},
		Credential:         cred,
	})
	if err != nil {
		h.t.Fatalf("Connect: %v", err)
	}
	if h.clock != nil {
		// Later events get later timestamps, so their order is checkable.
		h.clock.Advance(time.Second)
	}
	return c
}

// connectMany creates n due connections of broker b concurrently (users prefix-0...),
// each stored with an access expiry 1 minute away so that it is due at once.
func (h *harness) connectMany(b linkvault.BrokerType, prefix string, n, parallel int) []*linkvault.Connection {
	h.t.Helper()
	out := make([]*linkvault.Connection, n)
	var wg sync.WaitGroup
	next := make(chan int)
	for range parallel {
		wg.Go(func() {
			for i := range next {
				cred := h.credential(b, fmt.Sprintf("%s-%05d", prefix, i))
				cred.Expiry = h.now().Add(time.Minute)
				c, err := h.vault.Connect(context.Background(), vault.ConnectParams{
					ConnectionIdentity: linkvault.ConnectionIdentity{ClientID: testClient, UserID: fmt.Sprintf("%s-%05d", prefix, i), BrokerType: b, Scope: linkvault.PermissionRead},
					Credential:         cred,
				})
				if err != nil {
					h.t.Errorf("Connect %d: %v", i, err)
					continue
				}
				out[i] = c
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	if h.t.Failed() {
		h.t.FailNow()
	}
	return out
}

func (h *harness) get(tokenID string) *linkvault.Connection {
	h.t.Helper()
	c, err := h.store.GetConnection(context.Background(), testClient, tokenID)
	if err != nil {
		h.t.Fatalf("GetConnection: %v", err)
	}
	return c
}

func (h *harness) open(c *linkvault.Connection) linkvault.Credential {
	h.t.Helper()
	cred, err := h.vault.Open(context.Background(), c)
	if err != nil {
		h.t.Fatalf("Open: %v", err)
	}
	return cred
}

// resolve reads a connection bypassing the vault cache and opens it.
func (h *harness) resolve(tokenID string) *vault.Resolved {
	h.t.Helper()
	c := h.get(tokenID)
	return &vault.Resolved{Connection: c, Credential: h.open(c)}
}

// eventTypes lists the types of the client's pending outbox events for tokenID.
func (h *harness) eventTypes(tokenID string) []string {
	h.t.Helper()
	evs, err := h.store.PendingEvents(context.Background(), testClient)
	if err != nil {
		h.t.Fatalf("PendingEvents: %v", err)
	}
	var out []string
	for _, e := range evs {
		if e.TokenID == tokenID {
			out = append(out, e.Type)
		}
	}
	return out
}

// waitFor polls cond until it holds or the deadline passes (the deadline is a
// safeguard against a hung test, not a performance assertion).
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	proctest.WaitFor(t, what, 60*time.Second, 5*time.Millisecond, cond)
}

// waitForDrain waits until remaining reports zero. It fails only when the count stops
// falling for a minute, so a slow (loaded, race-instrumented) machine gets the time it
// needs while a stuck engine still fails.
func waitForDrain(t testing.TB, what string, remaining func() (int, error)) {
	t.Helper()
	last, deadline := -1, time.Now().Add(60*time.Second)
	for {
		n, err := remaining()
		if err == nil && n == 0 {
			return
		}
		if err == nil && (last < 0 || n < last) {
			last, deadline = n, time.Now().Add(60*time.Second)
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s: %d left, no progress for 60s (last error %v)", what, last, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func stopEngine(t testing.TB, e *refresh.Engine) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.Stop(ctx); err != nil {
		t.Errorf("Stop: %v", err)
	}
}
