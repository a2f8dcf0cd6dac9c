package refresh_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/exchangesim"
	"github.com/linkvault/linkvault/internal/link/linktest"
)

// TestAPICallsOnExpiredCredentialRefreshOnce: 100 concurrent holdings requests through
// the real HTTP API of the production assembly (the engine is the server's Lifecycle),
// on one connection whose access token has expired: all succeed, and the exchange saw
// exactly one refresh and no reuse.
func TestAPICallsOnExpiredCredentialRefreshOnce(t *testing.T) {
	st := linktest.NewStack(t, linktest.StackOptions{})
	c := st.Connect(t, testClient, "alice", linkvault.BrokerCoinbase, linkvault.PermissionRead)
	st.Clock.Advance(2 * time.Hour) // the access token expired, here and at the exchange
	st.Sim.Coinbase.SetFaults(exchangesim.Faults{Latency: 20 * time.Millisecond})
	secret := st.Secret(testClient, linkvault.PermissionRead)

	const calls = 100
	body := fmt.Sprintf(`{"authToken":%q,"type":"coinbase"}`, c.TokenID)
	var wg sync.WaitGroup
	errs := make(chan error, calls)
	for range calls {
		wg.Go(func() {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, st.URL+"/api/v1/holdings/get", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Client-Id", testClient)
			req.Header.Set("X-Client-Secret", secret.Reveal())
			resp, err := http.DefaultClient.Do(req)
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
	stats := st.Sim.Coinbase.Stats()
	if stats.RefreshesOK != 1 || stats.RefreshReuseDetected != 0 || stats.RefreshesRejected != 0 {
		t.Fatalf("exchange: %d refreshes, %d reuse detections, %d rejected; want exactly 1, 0, 0", stats.RefreshesOK, stats.RefreshReuseDetected, stats.RefreshesRejected)
	}
	got, err := st.DB.GetConnection(t.Context(), testClient, c.TokenID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != linkvault.StatusActive || got.LeaseOwner != "" || got.Version != c.Version+2 {
		t.Fatalf("row: status %s lease %q version %d (want one claim and one write after %d)", got.Status, got.LeaseOwner, got.Version, c.Version)
	}
}
