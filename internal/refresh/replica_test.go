package refresh_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/envelope"
	"github.com/linkvault/linkvault/internal/exchangesim/simprovider"
	"github.com/linkvault/linkvault/internal/poller"
	"github.com/linkvault/linkvault/internal/postgres"
	"github.com/linkvault/linkvault/internal/provider"
	"github.com/linkvault/linkvault/internal/refresh"
	"github.com/linkvault/linkvault/internal/testdb"
	"github.com/linkvault/linkvault/internal/vault"
)

// The test binary doubles as a replica program: with LINKVAULT_REFRESH_TEST_REPLICA
// set, TestMain runs one engine (its own process, pool, vault and provider adapter)
// until SIGTERM instead of running tests.
const (
	envReplica    = "LINKVAULT_REFRESH_TEST_REPLICA"
	envReplicaDSN = "LINKVAULT_REFRESH_TEST_DSN"
	envReplicaSim = "LINKVAULT_REFRESH_TEST_SANDBOX_URL"
	envReplicaKey = "LINKVAULT_REFRESH_TEST_MASTER_KEY"
	envReplicaWrk = "LINKVAULT_REFRESH_TEST_WORKERS"
)

func TestMain(m *testing.M) {
	if owner := os.Getenv(envReplica); owner != "" {
		os.Exit(replicaMain(owner))
	}
	os.Exit(m.Run())
}

func replicaMain(owner string) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	fail := func(what string, err error) int {
		fmt.Fprintf(os.Stderr, "replica %s: %s: %v\n", owner, what, err)
		return 1
	}
	db, err := postgres.Open(ctx, os.Getenv(envReplicaDSN), postgres.Options{SkipMigrations: true, MaxConns: 12})
	if err != nil {
		return fail("open", err)
	}
	defer db.Close()
	master, err := envelope.LoadMasterKeyring([]byte(os.Getenv(envReplicaKey)))
	if err != nil {
		return fail("master key", err)
	}
	keyring := envelope.New(db, master, time.Now)
	v := vault.New(vault.Config{Store: db, Sealer: keyring, Policy: testPolicy})
	sandbox, err := provider.NewSandbox(simprovider.OAuthConfig(os.Getenv(envReplicaSim), "/oauth2/auth"), provider.Deps{})
	if err != nil {
		return fail("provider", err)
	}
	workers, _ := strconv.Atoi(os.Getenv(envReplicaWrk))
	e, err := refresh.New(refresh.Config{
		QueueConfig: poller.QueueConfig{
			Owner: owner, Workers: workers, PollInterval: 20 * time.Millisecond,
			LeaseDuration: 3 * time.Second, WriteTimeout: time.Second,
		},
		ProviderTimeout: time.Second,
	}, refresh.Deps{Store: db, Vault: v, Sealer: keyring, Providers: provider.NewRegistryOf(sandbox)})
	if err != nil {
		return fail("engine", err)
	}
	if err := e.Start(ctx); err != nil {
		return fail("start", err)
	}
	fmt.Println("ready")
	<-ctx.Done()
	stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.Stop(stopCtx); err != nil {
		return fail("stop", err)
	}
	return 0
}

// replicaProcess is a running replica.
type replicaProcess struct {
	name   string
	cmd    *exec.Cmd
	output *bytes.Buffer
	mu     *sync.Mutex
	done   chan error
}

func startReplica(t *testing.T, h *harness, dsn, name string, workers int) *replicaProcess {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(),
		envReplica+"="+name, envReplicaDSN+"="+dsn, envReplicaSim+"="+h.sim.Sandbox.URL,
		envReplicaKey+"="+h.masterText, envReplicaWrk+"="+strconv.Itoa(workers))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &replicaProcess{name: name, cmd: cmd, output: &bytes.Buffer{}, mu: &sync.Mutex{}, done: make(chan error, 1)}
	cmd.Stderr = lockedWriter{p.mu, p.output}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start replica %s: %v", name, err)
	}
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if sc.Text() == "ready" {
				ready <- true
			}
		}
		close(ready)
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		if t.Failed() {
			p.mu.Lock()
			t.Logf("replica %s output:\n%s", name, p.output.String())
			p.mu.Unlock()
		}
	})
	select {
	case ok := <-ready:
		if !ok {
			t.Fatalf("replica %s exited before it was ready", name)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("replica %s did not start", name)
	}
	return p
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// TestReplicaProcessesSurviveKill9: three replica processes share one PostgreSQL and
// refresh 10,000 due connections; one is killed with SIGKILL mid-run. The two others
// take over its rows once its leases lapse. No connection is lost; every one ends
// refreshed or, for refreshes the killed process had in flight when it died (the crash
// window: the exchange rotated, the write never happened), re-auth-required, each of
// those explained by exactly one reuse detection at the exchange. No other refresh is
// doubled.
func TestReplicaProcessesSurviveKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("replica processes: skipped with -short")
	}
	const n, workers = 10000, 8
	dsn := testdb.PostgresDSN(t)
	db := openReplicas(t, dsn, 1)[0]
	h := newHarness(t, db, harnessOptions{})
	conns := h.connectMany(linkvault.BrokerSandbox, "user", n, 16)

	replicas := []*replicaProcess{
		startReplica(t, h, dsn, "replica-a", workers),
		startReplica(t, h, dsn, "replica-b", workers),
		startReplica(t, h, dsn, "replica-c", workers),
	}
	waitFor(t, "a third of the connections refreshed", func() bool {
		return h.sim.Sandbox.Stats().RefreshesOK >= n/3
	})
	victim := replicas[0]
	if err := victim.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9: %v", err)
	}
	<-victim.done //nolint:errcheck // killed: its exit status says only that
	killedAt := h.sim.Sandbox.Stats().RefreshesOK
	t.Logf("killed %s after %d refreshes", victim.name, killedAt)

	waitFor(t, "every connection handled", func() bool {
		due, err := h.store.CountDueConnections(t.Context(), time.Now())
		return err == nil && due == 0
	})
	for _, r := range replicas[1:] {
		if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if err := <-r.done; err != nil {
			t.Errorf("replica %s exited with %v", r.name, err)
		}
	}

	count, err := db.CountConnections(t.Context())
	if err != nil || count != n {
		t.Fatalf("%d connections stored (%v), want all %d", count, err, n)
	}
	var refreshed, reauth int
	for _, c0 := range conns {
		c := h.get(c0.TokenID) // fails the test if a row is gone
		switch {
		case c.LeaseOwner != "":
			t.Fatalf("row %s still leased by %s", c.TokenID, c.LeaseOwner)
		case c.Status == linkvault.StatusActive && c.NextCheckAt.After(time.Now().Add(30*time.Minute)) && c.FailureCount == 0:
			refreshed++
		case c.Status == linkvault.StatusReauthRequired:
			reauth++
		default:
			t.Fatalf("row %s neither refreshed nor re-auth-required: status %s next %v failures %d lastError %q",
				c.TokenID, c.Status, c.NextCheckAt, c.FailureCount, c.LastError)
		}
	}
	st := h.sim.Sandbox.Stats()
	t.Logf("%d refreshed, %d re-auth-required (crash window); exchange: %d rotations, %d reuse detections", refreshed, reauth, st.RefreshesOK, st.RefreshReuseDetected)
	if refreshed+reauth != n {
		t.Fatalf("%d refreshed + %d re-auth-required != %d", refreshed, reauth, n)
	}
	// Every row was rotated at the exchange exactly once: stored, or lost with the
	// killed process. Each lost rotation shows up as exactly one reuse detection and
	// one re-auth-required row, and only the killed process's in-flight refreshes
	// (at most its worker count) can be lost.
	if st.RefreshesOK != n || st.RefreshReuseDetected != int64(reauth) || reauth > workers || st.RefreshesRejected != 0 {
		t.Fatalf("exchange: %d rotations, %d reuse detections, %d other rejections; want %d, %d (the re-auth rows, at most %d), 0",
			st.RefreshesOK, st.RefreshReuseDetected, st.RefreshesRejected, n, reauth, workers)
	}
}
