// Package replicas_test runs several real `linkvault serve` processes on one PostgreSQL
// database and checks that their refresh engines share the due set without ever
// presenting a refresh token twice, also when one of them is killed with SIGKILL.
package replicas_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/e2etest"
	"github.com/linkvault/linkvault/internal/envelope"
	"github.com/linkvault/linkvault/internal/exchangesim"
	"github.com/linkvault/linkvault/internal/postgres"
	"github.com/linkvault/linkvault/internal/testdb"
	"github.com/linkvault/linkvault/internal/vault"
)

// connections is how many due connections the replicas share.
const connections = 10_000

// TestReplicasShareTheDueSetAndSurviveKill9: three replicas, 10,000 connections due at
// once. One replica is killed with SIGKILL once the work is under way. In the end every
// connection is still stored and is either refreshed once or, for the few whose refresh
// the killed process had obtained but not written (the crash window, docs/lifecycle.md),
// re-auth-required; the simulator's reuse detections match those one to one, so no
// refresh token was ever presented twice by live replicas.
func TestReplicasShareTheDueSetAndSurviveKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: runs three linkvault processes")
	}
	dsn := testdb.PostgresDSN(t)
	timeouts := map[string]string{}
	for _, p := range []string{"COINBASE", "UPHOLD", "BINANCE", "SANDBOX"} {
		timeouts["LINKVAULT_"+p+"_TIMEOUT"] = "2s"
	}
	env := e2etest.Start(t, e2etest.Options{
		PostgresDSN: dsn,
		Env: merge(timeouts, map[string]string{
			"LINKVAULT_REFRESH_POLL_INTERVAL":  "50ms",
			"LINKVAULT_REFRESH_LEASE_DURATION": "10s",
			"LINKVAULT_REFRESH_AHEAD":          "1m",
			"LINKVAULT_REFRESH_WORKERS":        "16",
			"LINKVAULT_REFRESH_ENABLED":        "false", // seed first, then start the replicas
			"LINKVAULT_LOG_LEVEL":              "info",
		}),
	})
	seed(t, env, dsn)
	// The replicas that do the work (the harness's first server only migrated and
	// created the clients; it runs no engine).
	env.Servers[0].Stop()
	var replicas []*e2etest.Server
	for range 3 {
		replicas = append(replicas, env.StartServerWith(map[string]string{"LINKVAULT_REFRESH_ENABLED": "true"}))
	}

	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	stats := func() exchangesim.Stats { return env.Sim.Sandbox.Stats() }

	// Kill one replica once a quarter of the work is done.
	for stats().RefreshesOK < connections/4 {
		time.Sleep(10 * time.Millisecond)
	}
	replicas[1].Kill()
	t.Logf("replica 1 killed after %d refreshes", stats().RefreshesOK)

	// Wait until no connection is due any more (the killed replica's leases expire
	// first, 10s).
	deadline := time.Now().Add(3 * time.Minute)
	for {
		var due int
		if err := conn.QueryRow(context.Background(),
			`SELECT count(*) FROM connections WHERE status = 'active' AND next_check_at <= now() + interval '30 seconds'`).Scan(&due); err != nil {
			t.Fatal(err)
		}
		if due == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d connections still due after 3 minutes (%+v)", due, stats())
		}
		time.Sleep(200 * time.Millisecond)
	}

	var total, reauth int
	if err := conn.QueryRow(context.Background(), `SELECT count(*), count(*) FILTER (WHERE status = 'reauth_required') FROM connections`).Scan(&total, &reauth); err != nil {
		t.Fatal(err)
	}
	s := stats()
	t.Logf("connections %d, re-auth-required %d, simulator %+v", total, reauth, s)
	if total != connections {
		t.Fatalf("%d connections stored, want %d: a connection was lost", total, connections)
	}
	if int(s.RefreshReuseDetected) != reauth {
		t.Fatalf("%d reuse detections but %d re-auth-required connections: a refresh token was presented twice outside the crash window", s.RefreshReuseDetected, reauth)
	}
	// Each refresh obtained by a live replica was written; the killed one can have lost
	// at most one per worker (16).
	if reauth > 16 {
		t.Fatalf("%d connections lost their grant; at most one per worker of the killed replica (16) may", reauth)
	}
	if got, want := int(s.RefreshesOK), connections; got < want || got > want+reauth {
		t.Fatalf("%d refreshes at the simulator, want %d..%d", got, want, want+reauth)
	}
}

func merge(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// seed creates the due connections directly in the database, sealed with the servers'
// master key, each holding a grant minted on the simulated sandbox exchange.
func seed(t *testing.T, env *e2etest.Env, dsn string) {
	t.Helper()
	seedConnections(t, env, dsn, "user", connections, nil)
}

// seedConnections creates n sandbox connections of users prefix-00000... directly in
// the database, sealed with the servers' master key, each holding a grant minted on the
// simulated sandbox exchange (its access expiry set by expiry, when given). It returns
// their tokenIds.
func seedConnections(t *testing.T, env *e2etest.Env, dsn, prefix string, n int, expiry func() time.Time) []string {
	t.Helper()
	ctx := context.Background()
	db, err := postgres.Open(ctx, dsn, postgres.Options{SkipMigrations: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	master, err := envelope.ReadMasterKeyFile(filepath.Join(env.Dir, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	// RefreshAhead longer than the tokens' 5-minute life: every seeded connection is due now.
	v := vault.New(vault.Config{Store: db, Sealer: envelope.New(db, master, time.Now),
		Policy: vault.Policy{RefreshAhead: 10 * time.Minute, ValidateEvery: time.Hour, WarnAhead: time.Hour}})
	tokens := make([]string, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				user := fmt.Sprintf("%s-%05d", prefix, i)
				g, err := env.Sim.Sandbox.MintGrant(user)
				if err != nil {
					errs <- err
					return
				}
				exp := time.Now().Add(time.Duration(*g.ExpiresIn) * time.Second)
				if expiry != nil {
					exp = expiry()
				}
				c, err := v.Connect(ctx, vault.ConnectParams{
					ConnectionIdentity: linkvault.ConnectionIdentity{ClientID: env.ClientA.ID, UserID: user, BrokerType: linkvault.BrokerSandbox, Scope: linkvault.PermissionRead},
					Credential:         linkvault.Credential{AccessToken: linkvault.NewSecret(g.AccessToken), RefreshToken: linkvault.NewSecret(g.RefreshToken), Expiry: exp},
				})
				if err != nil {
					errs <- err
					return
				}
				tokens[i] = c.TokenID
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return tokens
}
