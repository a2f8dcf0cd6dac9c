package refresh_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/exchangesim"
	lvhttp "github.com/linkvault/linkvault/internal/http"
	"github.com/linkvault/linkvault/internal/metricstest"
	"github.com/linkvault/linkvault/internal/poller"
	"github.com/linkvault/linkvault/internal/refresh"
	"github.com/linkvault/linkvault/internal/testdb"
	"github.com/linkvault/linkvault/internal/vault"
)

// The engine is what the API handlers use to keep credentials usable.
var _ lvhttp.Lifecycle = (*refresh.Engine)(nil)

// expiredConnection returns a Coinbase-like connection whose access token has
// expired (the manual clock moved past it), as an API call would resolve it.
func expiredConnection(t *testing.T, h *harness, user string) *vault.Resolved {
	t.Helper()
	c := h.connect(linkvault.BrokerCoinbase, user, nil)
	h.clock.Advance(2 * time.Hour)
	r := h.resolve(c.TokenID)
	if !r.Credential.Expired(h.now(), 0) {
		t.Fatal("test setup: credential should be expired")
	}
	return r
}

// checkWorks proves cred is accepted by the exchange (it is the live access token).
func checkWorks(t *testing.T, h *harness, b linkvault.BrokerType, cred linkvault.Credential) {
	t.Helper()
	p, _ := h.reg.Provider(b)
	if err := p.Validate(t.Context(), cred); err != nil {
		t.Fatalf("renewed credential refused by the exchange: %v", err)
	}
}

// TestEnsureFreshConcurrentCallsRefreshOnce: 100 concurrent API calls on one expired
// credential cause exactly one provider refresh, all get the same renewed credential,
// and that credential was committed before any of them got it.
func TestEnsureFreshConcurrentCallsRefreshOnce(t *testing.T) {
	h := newHarness(t, testdb.SQLite(t), harnessOptions{manualClock: true})
	reg := metricstest.NewRegistry(t)
	e := h.engine(refresh.Config{}, reg)
	r := expiredConnection(t, h, "alice")
	// Slow the token endpoint so that the calls really overlap.
	h.sim.Coinbase.SetFaults(exchangesim.Faults{Latency: 50 * time.Millisecond})

	const calls = 100
	results := make([]*vault.Resolved, calls)
	errs := make([]error, calls)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range calls {
		wg.Go(func() {
			<-start
			results[i], errs[i] = e.EnsureFresh(t.Context(), r)
		})
	}
	close(start)
	wg.Wait()

	st := h.sim.Coinbase.Stats()
	if st.RefreshesOK != 1 || st.RefreshReuseDetected != 0 || st.RefreshesRejected != 0 {
		t.Fatalf("exchange saw %d refreshes (%d reuse detections, %d rejected); want exactly 1 and none", st.RefreshesOK, st.RefreshReuseDetected, st.RefreshesRejected)
	}
	stored := h.resolve(r.Connection.TokenID)
	for i := range calls {
		if errs[i] != nil {
			t.Fatalf("call %d: %v", i, errs[i])
		}
		if !results[i].Credential.AccessToken.Equal(stored.Credential.AccessToken) || !results[i].Credential.RefreshToken.Equal(stored.Credential.RefreshToken) {
			t.Fatalf("call %d got a credential that is not the stored one", i)
		}
	}
	if stored.Credential.AccessToken.Equal(r.Credential.AccessToken) || stored.Credential.Expired(h.now(), time.Minute) {
		t.Fatal("stored credential was not renewed")
	}
	c := stored.Connection
	if c.LeaseOwner != "" || c.Status != linkvault.StatusActive || c.FailureCount != 0 || !c.NextCheckAt.After(h.now()) {
		t.Errorf("after renewal: lease %q status %s failures %d next %v", c.LeaseOwner, c.Status, c.FailureCount, c.NextCheckAt)
	}
	checkWorks(t, h, linkvault.BrokerCoinbase, stored.Credential)
	joined := reg.Counter("linkvault_refresh_single_flight_joins_total", nil)
	fromStore := reg.Counter("linkvault_refresh_on_demand_total", map[string]string{"outcome": "stored"})
	if joined+fromStore != calls-1 || reg.Counter("linkvault_refresh_on_demand_total", map[string]string{"outcome": "ok"}) != 1 {
		t.Errorf("metrics: %v joins + %v answered from the store; want %d, and 1 renewal", joined, fromStore, calls-1)
	}
}

// TestEnsureFreshAcrossReplicas: two engines (two replicas, separate vault caches and
// lease owners) on one database serve concurrent calls on one expired credential:
// still one refresh, the second replica waits for the first one's lease and uses its
// stored result.
func TestEnsureFreshAcrossReplicas(t *testing.T) {
	db := testdb.SQLite(t)
	h := newHarness(t, db, harnessOptions{manualClock: true})
	r := expiredConnection(t, h, "bob")
	h.sim.Coinbase.SetFaults(exchangesim.Faults{Latency: 50 * time.Millisecond})
	v2, k2 := h.newVault(db)
	engines := []*refresh.Engine{
		h.engine(refresh.Config{QueueConfig: poller.QueueConfig{Owner: "replica-1"}}, nil),
		h.engineOn(db, v2, k2, refresh.Config{QueueConfig: poller.QueueConfig{Owner: "replica-2"}}, nil),
	}
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		wg.Go(func() {
			got, err := engines[i%2].EnsureFresh(t.Context(), r)
			if err == nil && got.Credential.Expired(h.now(), time.Minute) {
				err = errors.New("got an expired credential")
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if st := h.sim.Coinbase.Stats(); st.RefreshesOK != 1 || st.RefreshReuseDetected != 0 {
		t.Fatalf("exchange saw %d refreshes, %d reuse detections; want 1, 0", st.RefreshesOK, st.RefreshReuseDetected)
	}
}

// TestEnsureFreshUsableCredentialIsUntouched: a credential with time left is returned
// as is, without a provider call or a write.
func TestEnsureFreshUsableCredentialIsUntouched(t *testing.T) {
	h := newHarness(t, testdb.SQLite(t), harnessOptions{manualClock: true})
	e := h.engine(refresh.Config{}, nil)
	c := h.connect(linkvault.BrokerCoinbase, "carol", nil)
	r := h.resolve(c.TokenID)
	got, err := e.EnsureFresh(t.Context(), r)
	if err != nil || got != r {
		t.Fatalf("EnsureFresh = %p, %v; want r itself", got, err)
	}
	if st := h.sim.Coinbase.Stats(); st.TokenCalls != 0 {
		t.Fatalf("token endpoint called %d times, want 0", st.TokenCalls)
	}
	if h.get(c.TokenID).Version != c.Version {
		t.Fatal("row was written")
	}
}

// TestEnsureFreshFailures: permanent and transient failures on demand.
func TestEnsureFreshFailures(t *testing.T) {
	tests := []struct {
		name  string
		setup func(h *harness, user string)
		// want
		reauth            bool
		tokenCalls        int64
		failures          int
		errorType         string
		retryAfterAtLeast time.Duration
	}{
		{
			name:   "grant revoked: re-auth required",
			setup:  func(h *harness, user string) { _, _ = h.sim.Coinbase.RevokeUserGrants(user) },
			reauth: true, tokenCalls: 1,
		},
		{
			name:       "503 every time: retried, then unavailable, credential kept",
			setup:      func(h *harness, _ string) { h.sim.Coinbase.SetFaults(exchangesim.Faults{ErrorRate: 1}) },
			tokenCalls: 3, failures: 1, errorType: linkvault.ErrTypeProviderFailure,
		},
		{
			name: "429 with a long Retry-After: not retried within the request",
			setup: func(h *harness, _ string) {
				h.sim.Coinbase.SetFaults(exchangesim.Faults{RateLimitRate: 1, RetryAfter: 120 * time.Second})
			},
			tokenCalls: 1, failures: 1, errorType: linkvault.ErrTypeProviderFailure, retryAfterAtLeast: 120 * time.Second,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, testdb.SQLite(t), harnessOptions{manualClock: true})
			e := h.engine(refresh.Config{OnDemandBackoff: time.Millisecond}, nil)
			r := expiredConnection(t, h, "dave")
			tt.setup(h, "dave")
			before := h.sim.Coinbase.Stats().TokenCalls
			_, err := e.EnsureFresh(t.Context(), r)
			calls := h.sim.Coinbase.Stats().TokenCalls - before
			if calls != tt.tokenCalls {
				t.Errorf("token endpoint called %d times, want %d", calls, tt.tokenCalls)
			}
			c := h.get(r.Connection.TokenID)
			if c.LeaseOwner != "" {
				t.Errorf("lease not released: %q", c.LeaseOwner)
			}
			if tt.reauth {
				var le *linkvault.Error
				if !errors.As(err, &le) || le.Type != linkvault.ErrTypeReauthRequired {
					t.Fatalf("err = %v, want reauthenticationRequired", err)
				}
				if c.Status != linkvault.StatusReauthRequired || c.TokenID != r.Connection.TokenID || !c.NextCheckAt.IsZero() {
					t.Errorf("row: status %s next %v", c.Status, c.NextCheckAt)
				}
				if got := h.eventTypes(c.TokenID); !slices.Contains(got, linkvault.EventReauthRequired) {
					t.Errorf("events %v, want a %s", got, linkvault.EventReauthRequired)
				}
				// The next call fails fast, without the provider.
				if _, err := e.EnsureFresh(t.Context(), h.resolve(c.TokenID)); linkvault.ErrorType(err) != linkvault.ErrTypeReauthRequired {
					t.Errorf("second call: %v", err)
				}
				return
			}
			var le *linkvault.Error
			if !errors.As(err, &le) || le.Type != linkvault.ErrTypeProviderFailure || le.RetryAfter < tt.retryAfterAtLeast {
				t.Fatalf("err = %#v, want integrationUnavailable with RetryAfter >= %v", err, tt.retryAfterAtLeast)
			}
			if c.Status != linkvault.StatusActive || c.FailureCount != tt.failures || c.LastError != tt.errorType {
				t.Errorf("row: status %s failures %d lastError %q; want active, %d, %q", c.Status, c.FailureCount, c.LastError, tt.failures, tt.errorType)
			}
			if !bytes.Equal(c.SealedCredential, r.Connection.SealedCredential) {
				t.Error("credential was replaced after a transient failure")
			}
			if wantNext := h.now().Add(tt.retryAfterAtLeast); c.NextCheckAt.Before(wantNext) {
				t.Errorf("next check %v, want at least %v", c.NextCheckAt, wantNext)
			}
		})
	}
}

// TestHandleRejected covers the answers to a provider refusing a credential.
func TestHandleRejected(t *testing.T) {
	refused := &linkvault.ProviderError{Broker: linkvault.BrokerCoinbase, Op: "holdings", Kind: linkvault.ProviderReauth, StatusCode: 401, Code: "invalid_token"}

	t.Run("rotated meanwhile: the stored credential, no provider call", func(t *testing.T) {
		h := newHarness(t, testdb.SQLite(t), harnessOptions{manualClock: true})
		e := h.engine(refresh.Config{}, nil)
		stale := expiredConnection(t, h, "erin")
		fresh, err := e.EnsureFresh(t.Context(), stale) // another call renews it
		if err != nil {
			t.Fatal(err)
		}
		before := h.sim.Coinbase.Stats().TokenCalls
		got, err := e.HandleRejected(t.Context(), stale, refused)
		if err != nil || !got.Credential.AccessToken.Equal(fresh.Credential.AccessToken) {
			t.Fatalf("HandleRejected = %v; want the stored, renewed credential", err)
		}
		if h.sim.Coinbase.Stats().TokenCalls != before {
			t.Fatal("provider called although the credential had been rotated")
		}
	})
	t.Run("refreshable and not rotated: refreshed although not expired", func(t *testing.T) {
		h := newHarness(t, testdb.SQLite(t), harnessOptions{manualClock: true})
		e := h.engine(refresh.Config{}, nil)
		c := h.connect(linkvault.BrokerCoinbase, "frank", nil)
		r := h.resolve(c.TokenID)
		got, err := e.HandleRejected(t.Context(), r, refused)
		if err != nil {
			t.Fatal(err)
		}
		if got.Credential.AccessToken.Equal(r.Credential.AccessToken) || h.sim.Coinbase.Stats().RefreshesOK != 1 {
			t.Fatal("credential not refreshed")
		}
		checkWorks(t, h, linkvault.BrokerCoinbase, got.Credential)
	})
	t.Run("not refreshable (Uphold-like): re-auth required, same tokenId, event", func(t *testing.T) {
		h := newHarness(t, testdb.SQLite(t), harnessOptions{manualClock: true})
		e := h.engine(refresh.Config{}, nil)
		c := h.connect(linkvault.BrokerUphold, "grace", nil)
		_, err := e.HandleRejected(t.Context(), h.resolve(c.TokenID), refused)
		if linkvault.ErrorType(err) != linkvault.ErrTypeReauthRequired {
			t.Fatalf("err = %v, want reauthenticationRequired", err)
		}
		got := h.get(c.TokenID)
		if got.Status != linkvault.StatusReauthRequired || got.LeaseOwner != "" {
			t.Fatalf("row: status %s lease %q", got.Status, got.LeaseOwner)
		}
		if ev := h.eventTypes(c.TokenID); !slices.Equal(ev, []string{linkvault.EventConnectionCreated, linkvault.EventReauthRequired}) {
			t.Fatalf("events = %v", ev)
		}
	})
	t.Run("recovery after re-auth returns the connection to active", func(t *testing.T) {
		h := newHarness(t, testdb.SQLite(t), harnessOptions{manualClock: true})
		e := h.engine(refresh.Config{}, nil)
		c := h.connect(linkvault.BrokerCoinbase, "heidi", nil)
		_, _ = h.sim.Coinbase.RevokeUserGrants("heidi")
		if _, err := e.HandleRejected(t.Context(), h.resolve(c.TokenID), refused); linkvault.ErrorType(err) != linkvault.ErrTypeReauthRequired {
			t.Fatalf("err = %v, want reauthenticationRequired", err)
		}
		// The user goes through Link again with the same tokenId.
		h.clock.Advance(time.Second)
		back, err := h.vault.Connect(context.Background(), vault.ConnectParams{
			ConnectionIdentity: c.ConnectionIdentity, Credential: h.credential(linkvault.BrokerCoinbase, "heidi"), TokenID: c.TokenID,
		})
		if err != nil || back.TokenID != c.TokenID || back.Status != linkvault.StatusActive {
			t.Fatalf("re-auth: %v (tokenId %s status %s)", err, back.TokenID, back.Status)
		}
		if ev := h.eventTypes(c.TokenID); !slices.Equal(ev, []string{linkvault.EventConnectionCreated, linkvault.EventReauthRequired, linkvault.EventConnectionRecovered}) {
			t.Fatalf("events = %v", ev)
		}
		h.clock.Advance(2 * time.Hour)
		got, err := e.EnsureFresh(t.Context(), h.resolve(c.TokenID))
		if err != nil {
			t.Fatalf("EnsureFresh after recovery: %v", err)
		}
		checkWorks(t, h, linkvault.BrokerCoinbase, got.Credential)
	})
}
