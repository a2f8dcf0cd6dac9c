package refresh_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/clients"
	"github.com/linkvault/linkvault/internal/exchangesim"
	lvhttp "github.com/linkvault/linkvault/internal/http"
	"github.com/linkvault/linkvault/internal/refresh"
	"github.com/linkvault/linkvault/internal/sqlite"
)

// TestAPICallsOnExpiredCredentialRefreshOnce: 100 concurrent holdings requests through
// the real HTTP API, with the engine as the server's Lifecycle, on one connection whose
// access token has expired: all succeed, and the exchange saw exactly one refresh and
// no reuse.
func TestAPICallsOnExpiredCredentialRefreshOnce(t *testing.T) {
	h := newHarness(t, sqlite.OpenTestDB(t), harnessOptions{manualClock: true})
	e := h.engine(refresh.Config{}, nil)
	cs := clients.New(h.store, h.now, time.Minute)
	key, err := cs.CreateKey(t.Context(), testClient, linkvault.PermissionRead)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(lvhttp.NewServer(lvhttp.Config{}, lvhttp.Deps{
		Vault: h.vault, Auth: cs, Providers: h.reg, Lifecycle: e, Now: h.now,
	}).Handler())
	t.Cleanup(srv.Close)

	c := h.connect(linkvault.BrokerCoinbase, "alice", nil)
	h.clock.Advance(2 * time.Hour) // the access token expired
	h.sim.Coinbase.SetFaults(exchangesim.Faults{Latency: 20 * time.Millisecond})

	const calls = 100
	body := fmt.Sprintf(`{"authToken":%q,"type":"coinbase"}`, c.TokenID)
	var wg sync.WaitGroup
	errs := make(chan error, calls)
	for range calls {
		wg.Go(func() {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+"/api/v1/holdings/get", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Client-Id", testClient)
			req.Header.Set("X-Client-Secret", key.Secret.Reveal())
			resp, err := srv.Client().Do(req)
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			var env struct {
				Status string `json:"status"`
			}
			if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &env) != nil || env.Status != "ok" {
				errs <- fmt.Errorf("HTTP %d: %s", resp.StatusCode, b)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	st := h.sim.Coinbase.Stats()
	if st.RefreshesOK != 1 || st.RefreshReuseDetected != 0 || st.RefreshesRejected != 0 {
		t.Fatalf("exchange: %d refreshes, %d reuse detections, %d rejected; want exactly 1, 0, 0", st.RefreshesOK, st.RefreshReuseDetected, st.RefreshesRejected)
	}
	if got := h.get(c.TokenID); got.Status != linkvault.StatusActive || got.LeaseOwner != "" || got.Version != c.Version+2 {
		t.Fatalf("row: status %s lease %q version %d (want one claim and one write after %d)", got.Status, got.LeaseOwner, got.Version, c.Version)
	}
}
