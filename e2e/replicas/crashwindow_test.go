package replicas_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/linkvault/linkvault/internal/e2etest"
	"github.com/linkvault/linkvault/internal/exchangesim"
)

// Issue 13, defect 4: the crash window must hold its bound. docs/lifecycle.md ("The
// crash window") promises that a crash loses at most LINKVAULT_REFRESH_WORKERS grants
// per process, API-triggered refreshes included, and that a database stall shorter
// than the lease loses none.

// crashWorkers is LINKVAULT_REFRESH_WORKERS in these tests: the bound.
const crashWorkers = 4

// crashEnv starts one replica (engine loop off: every refresh is API-driven) with n
// sandbox connections whose access tokens expire within LINKVAULT_REFRESH_EXPIRY_SKEW,
// so that the first API call on each renews it; the simulated sandbox holds each answer
// back by answerLatency (after rotating the refresh token at once).
func crashEnv(t *testing.T, n int, lease string, answerLatency time.Duration) (*e2etest.Env, string, []string) {
	t.Helper()
	env, dsn := startOnPostgres(t, "runs linkvault processes", withProviderTimeout(map[string]string{
		"LINKVAULT_REFRESH_ENABLED":        "false",
		"LINKVAULT_REFRESH_WORKERS":        fmt.Sprint(crashWorkers),
		"LINKVAULT_REFRESH_LEASE_DURATION": lease,
		"LINKVAULT_LOG_LEVEL":              "info",
	}, "5s"))
	tokens := seedConnections(t, env, dsn, "crash", n, func() time.Time { return time.Now().Add(10 * time.Second) })
	env.Sim.Sandbox.SetFaults(exchangesim.Faults{AnswerLatency: answerLatency})
	return env, dsn, tokens
}

// holdings asks server for a connection's holdings (an API call that needs a usable
// credential, so it renews an expiring one first).
func holdings(client *http.Client, env *e2etest.Env, server, tokenID string) apiAnswer {
	return apiCall(client, server, http.MethodPost, "/api/v1/holdings/get", env.ClientA.ID, env.ClientA.ReadSecret,
		`{"authToken":"`+tokenID+`","type":"sandbox"}`)
}

// allHoldings calls holdings for every token concurrently and returns the answers.
func allHoldings(client *http.Client, env *e2etest.Env, server string, tokens []string) []apiAnswer {
	out := make([]apiAnswer, len(tokens))
	var wg sync.WaitGroup
	for i, tok := range tokens {
		wg.Go(func() { out[i] = holdings(client, env, server, tok) })
	}
	wg.Wait()
	return out
}

// waitSteady waits until f stops changing for settle, and returns its value.
func waitSteady(t *testing.T, f func() int64, settle time.Duration) int64 {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	last, since := f(), time.Now()
	for time.Since(since) < settle {
		if time.Now().After(deadline) {
			t.Fatal("value never settled")
		}
		time.Sleep(10 * time.Millisecond)
		if v := f(); v != last {
			last, since = v, time.Now()
		}
	}
	return last
}

// TestKill9WithMaxOnDemandRefreshesInFlight: 40 API calls, each on a different
// connection whose access token needs renewing, reach one replica at once. The
// simulated exchange rotates each refresh token at once but holds its answer back
// (Faults.AnswerLatency), so every refresh the replica has started is inside the crash
// window when the replica is killed with SIGKILL. A second replica then serves the same
// 40 calls: each connection whose rotated tokens died with the first replica presents
// its spent refresh token, the exchange detects the reuse and revokes the grant. The
// reuse detections must not exceed LINKVAULT_REFRESH_WORKERS; before the bound covered
// on-demand refreshes, all 40 were lost (the per-provider cap of 64 was the only limit).
func TestKill9WithMaxOnDemandRefreshesInFlight(t *testing.T) {
	const calls = 40
	env, dsn, tokens := crashEnv(t, calls, "15s", 4*time.Second)
	victim := env.Servers[0]
	sim := env.Sim.Sandbox

	client := &http.Client{Timeout: time.Minute}
	go allHoldings(client, env, victim.URL, tokens) // answers die with the victim
	for sim.Stats().RefreshesOK == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	// Every refresh the replica can start has started (and been rotated at the exchange)
	// once the count stops growing; the answers are still held back.
	inFlight := waitSteady(t, func() int64 { return sim.Stats().RefreshesOK }, 500*time.Millisecond)
	victim.Kill()
	sim.SetFaults(exchangesim.Faults{})

	conn := openDB(t, dsn)
	// The killed replica's leases lapse after LINKVAULT_REFRESH_LEASE_DURATION.
	for countRows(t, conn, `lease_expires_at > now()`) > 0 {
		time.Sleep(100 * time.Millisecond)
	}
	survivor := env.StartServer()
	answers := allHoldings(client, env, survivor.URL, tokens)

	s := sim.Stats()
	reauth := countRows(t, conn, `status = 'reauth_required'`)
	var ok, needUser int
	for i, a := range answers {
		switch {
		case a.status == http.StatusOK:
			ok++
		case a.envelope.ErrorType != "" && reauth > 0 && a.err == nil && a.status < 500:
			needUser++
		default:
			t.Errorf("call %d on the survivor: status %d errorType %q err %v", i, a.status, a.envelope.ErrorType, a.err)
		}
	}
	t.Logf("refreshes rotated at the exchange when the replica was killed: %d; grants lost (reuse detections): %d; bound (LINKVAULT_REFRESH_WORKERS): %d; survivor answers: %d ok, %d re-authentication required",
		inFlight, s.RefreshReuseDetected, crashWorkers, ok, needUser)
	if int(s.RefreshReuseDetected) != reauth || needUser != reauth {
		t.Errorf("%d reuse detections, %d re-auth-required rows, %d calls answered re-authentication required: they must match",
			s.RefreshReuseDetected, reauth, needUser)
	}
	if s.RefreshReuseDetected > crashWorkers {
		t.Fatalf("one kill cost %d grants; the bound (LINKVAULT_REFRESH_WORKERS) is %d", s.RefreshReuseDetected, crashWorkers)
	}
	if ok+needUser != calls {
		t.Fatalf("%d of %d calls answered", ok+needUser, calls)
	}
}

// TestDatabaseStallLosesNoGrant: API calls renew 12 connections on one replica; while
// the exchange has rotated the first refresh tokens (answers held back for 2 s),
// another database session takes LOCK TABLE connections IN EXCLUSIVE MODE and holds it
// for 8 s, so every write-back waits. Writes that wait as long as the lease allows (30
// s) all land: no grant is lost, every call succeeds, and every connection works after.
// Before, the write-back gave up after a fixed 5 s and every refresh in flight was lost.
func TestDatabaseStallLosesNoGrant(t *testing.T) {
	const calls = 12
	env, dsn, tokens := crashEnv(t, calls, "30s", 2*time.Second)
	server := env.Servers[0]
	sim := env.Sim.Sandbox

	locker := openDB(t, dsn)

	client := &http.Client{Timeout: 2 * time.Minute}
	done := make(chan []apiAnswer, 1)
	go func() { done <- allHoldings(client, env, server.URL, tokens) }()
	for sim.Stats().RefreshesOK == 0 {
		time.Sleep(time.Millisecond)
	}
	// The refreshes the replica could start have rotated at the exchange; their answers
	// are on their way (2 s): stall the table.
	waitSteady(t, func() int64 { return sim.Stats().RefreshesOK }, 300*time.Millisecond)
	tx, err := locker.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(context.Background(), `LOCK TABLE connections IN EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	rotated := sim.Stats().RefreshesOK
	time.Sleep(8 * time.Second) // the stall: longer than the old fixed 5 s write timeout
	if err := tx.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	first := <-done
	sim.SetFaults(exchangesim.Faults{})
	second := allHoldings(client, env, server.URL, tokens)

	s := sim.Stats()
	t.Logf("refreshes rotated before the 8 s stall: %d; after all calls: %d; reuse detections: %d", rotated, s.RefreshesOK, s.RefreshReuseDetected)
	for i := range tokens {
		if first[i].status != http.StatusOK || second[i].status != http.StatusOK {
			t.Errorf("connection %d: during the stall %d %q %v, after it %d %q %v", i,
				first[i].status, first[i].envelope.ErrorType, first[i].err, second[i].status, second[i].envelope.ErrorType, second[i].err)
		}
	}
	if s.RefreshReuseDetected != 0 {
		t.Fatalf("%d grants lost to the stall", s.RefreshReuseDetected)
	}
	if s.RefreshesOK != calls {
		t.Fatalf("%d refreshes at the exchange, want one per connection (%d)", s.RefreshesOK, calls)
	}
}
