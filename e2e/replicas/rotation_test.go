package replicas_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/linkvault/linkvault/internal/e2etest"
	"github.com/linkvault/linkvault/internal/exchangesim"
	"github.com/linkvault/linkvault/internal/link/linktest"
	lvclient "github.com/linkvault/linkvault/sdk/go"
)

// TestKeyRotationUnderLoadFailsNoRequest is issue 13, defect 5: following the rotation
// runbook used to break running replicas (`keys rotate` re-wrapped every data key at
// once with a master version no running server held, so any data key a replica had not
// cached failed with 500). Two real replicas on PostgreSQL serve continuous load
// (holdings, resolve cache off; client B's connection is used through replica 1 only
// until its data key was re-wrapped, then through both) through the whole runbook in
// docs/operations.md:
//
//   - `keys rotate` adds v2 while replica 0's copy of the key file still has v1 only
//     (as when a secret reaches pods one by one): it waits, re-wraps nothing, and when
//     given up on (--wait) says so and leaves everything working;
//   - a client created mid-rotation, connected through replica 1 (which holds v2),
//     works on both replicas: new data keys are wrapped with v1, which all hold;
//   - `keys rotate` again resumes (no v3), waits until replica 0 got the file (SIGHUP),
//     then re-wraps; --status reports it complete;
//   - the old v1 line is removed from both key files; replicas reload.
//
// Zero requests may fail.
func TestKeyRotationUnderLoadFailsNoRequest(t *testing.T) {
	env, _ := startOnPostgres(t, "runs two linkvault processes", map[string]string{
		"LINKVAULT_MASTER_KEY_CHECK_INTERVAL": "500ms",
		"LINKVAULT_RESOLVE_CACHE_SIZE":        "0",
		"LINKVAULT_LOG_LEVEL":                 "info",
	})
	mainKey := filepath.Join(env.Dir, "master.key")
	replica0Key := filepath.Join(env.Dir, "replica0.key")
	copyFile(t, mainKey, replica0Key)
	env.Servers[0].Stop()
	r0 := env.StartServerWith(map[string]string{"LINKVAULT_MASTER_KEY_FILE": replica0Key})
	r1 := env.StartServer()
	ctx := context.Background()

	client := func(t *testing.T, base, id, secret string) *lvclient.Client {
		t.Helper()
		c, err := lvclient.New(base, id, secret)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	connectVia := func(t *testing.T, base, id, secret, user string) string {
		t.Helper()
		// A key made by the CLI is seen by running servers within their key refresh (5s).
		var lt *lvclient.LinkToken
		var err error
		for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			lt, err = client(t, base, id, secret).CreateLinkToken(ctx, lvclient.LinkTokenRequest{UserID: user})
			if err == nil || time.Now().After(deadline) {
				break
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		p, err := linktest.Connect(ctx, nil, lt.LinkToken, "coinbase", user, exchangesim.DefaultPassword)
		if err != nil || len(p.AccountTokens) == 0 {
			t.Fatalf("connect %s via %s: %v", user, base, err)
		}
		return p.AccountTokens[0].TokenID
	}
	type target struct{ clientID, secret, token, onlyVia string }
	var mu sync.Mutex
	// Client B's data key is created through replica 1 and never used on replica 0
	// before the rotation: the case that failed on main.
	targets := []target{
		{env.ClientA.ID, env.ClientA.ReadSecret, connectVia(t, r0.URL, env.ClientA.ID, env.ClientA.ReadSecret, "ann"), ""},
		{env.ClientB.ID, env.ClientB.ReadSecret, connectVia(t, r1.URL, env.ClientB.ID, env.ClientB.ReadSecret, "bob"), r1.URL},
	}
	// Client B goes to replica 0 only once its data key was re-wrapped.
	openB := func() { mu.Lock(); targets[1].onlyVia = ""; mu.Unlock() }
	addTarget := func(tg target) { mu.Lock(); targets = append(targets, tg); mu.Unlock() }
	snapshot := func() []target { mu.Lock(); defer mu.Unlock(); return append([]target(nil), targets...) }

	// Continuous load on both replicas until the runbook is done.
	var total, failed atomic.Int64
	var firstFailure atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			servers := []string{r0.URL, r1.URL}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				ts := snapshot()
				tg := ts[(i+w)%len(ts)]
				base := servers[(i+w/2)%2]
				if tg.onlyVia != "" {
					base = tg.onlyVia
				}
				_, err := client(t, base, tg.clientID, tg.secret).Holdings(ctx, tg.token, lvclient.Coinbase)
				total.Add(1)
				if err != nil {
					failed.Add(1)
					firstFailure.CompareAndSwap(nil, base+": "+err.Error())
				}
			}
		})
	}
	defer func() {
		close(stop)
		wg.Wait()
		t.Logf("requests through the rotation: %d, failed: %d", total.Load(), failed.Load())
		if n := failed.Load(); n != 0 {
			t.Errorf("%d of %d requests failed during the rotation; first: %v", n, total.Load(), firstFailure.Load())
		}
	}()
	waitRequests := func(n int64) {
		t.Helper()
		target := total.Load() + n
		for total.Load() < target {
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitRequests(200)

	// Step 1: rotate while replica 0 cannot load v2; give up after a short wait.
	cmd := env.Command("keys", "rotate", "--wait", "3s")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err == nil || !strings.Contains(out.String(), "master key v2 added") ||
		!strings.Contains(out.String(), "nothing was re-wrapped") {
		t.Fatalf("first keys rotate: %v\n%s", err, out.String())
	}
	status := env.CLI("keys", "rotate", "--status")
	if !strings.Contains(status, "rotation to v2 in progress") || !strings.Contains(status, "v1: ") {
		t.Fatalf("status mid-rotation:\n%s", status)
	}
	waitRequests(200)

	// A client created mid-rotation, connected through replica 1, used on both.
	env.CLI("clients", "create", "--id", "client-mid")
	keyOut := env.CLI("keys", "create", "--client", "client-mid", "--permission", "read")
	secret := e2etest.KeySecret(keyOut)
	if secret == "" {
		t.Fatalf("keys create printed no secret:\n%s", keyOut)
	}
	env.AddSecret(secret, "an API key secret")
	mid := target{"client-mid", secret, connectVia(t, r1.URL, "client-mid", secret, "mia"), ""}
	for _, base := range []string{r0.URL, r1.URL} {
		for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			_, err := client(t, base, mid.clientID, mid.secret).Holdings(ctx, mid.token, lvclient.Coinbase)
			if err == nil {
				break
			}
			// Only "this server has not seen the new API key yet" may be waited out.
			if e, ok := err.(*lvclient.APIError); !ok || e.HTTPStatus != 401 || time.Now().After(deadline) {
				t.Fatalf("client created mid-rotation, via %s: %v", base, err)
			}
		}
	}
	addTarget(mid)
	waitRequests(200)

	// Step 2: resume. It must not add v3; it finishes once replica 0 has the file.
	resume := env.Command("keys", "rotate", "--wait", "60s")
	var resumeOut bytes.Buffer
	resume.Stdout, resume.Stderr = &resumeOut, &resumeOut
	if err := resume.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second) // it is waiting for replica 0
	copyFile(t, mainKey, replica0Key)
	if err := r0.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if err := resume.Wait(); err != nil {
		t.Fatalf("resumed keys rotate: %v\n%s", err, resumeOut.String())
	}
	if s := resumeOut.String(); !strings.Contains(s, "resuming the unfinished rotation to v2") || strings.Contains(s, "v3") ||
		!strings.Contains(s, "rotation complete") {
		t.Fatalf("resumed keys rotate:\n%s", s)
	}
	openB()
	waitRequests(200)

	// Step 3: remove v1 from both key files; the replicas reload.
	for _, f := range []string{mainKey, replica0Key} {
		dropVersion(t, f, "v1:")
	}
	if err := r0.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	status = env.CLI("keys", "rotate", "--status")
	if !strings.Contains(status, "versions [2]") || !strings.Contains(status, "rotation complete") {
		t.Fatalf("status after the runbook:\n%s", status)
	}
	time.Sleep(2 * time.Second)
	waitRequests(200)
	for _, s := range []*e2etest.Server{r0, r1} {
		if !bytes.Contains(s.Log(), []byte("master keyring reloaded")) {
			t.Errorf("a replica never reloaded its key file:\n%s", s.Log())
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	tmp := to + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, to); err != nil {
		t.Fatal(err)
	}
}

func dropVersion(t *testing.T, path, prefix string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var keep []string
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, prefix) {
			keep = append(keep, line)
		}
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(strings.Join(keep, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}
