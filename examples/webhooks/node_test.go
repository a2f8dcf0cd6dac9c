// Package webhooks_test checks the webhook receiver examples that docs/webhooks.md
// shows: the Node.js/TypeScript receiver (examples/webhooks/node), built on the Standard
// Webhooks reference library from npm, must accept what linkvault's real dispatcher
// delivers, refuse tampered and replayed deliveries, and be the code the docs show.
package webhooks_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/envelope"
	"github.com/linkvault/linkvault/internal/envelope/envelopetest"
	"github.com/linkvault/linkvault/internal/poller"
	"github.com/linkvault/linkvault/internal/proctest"
	"github.com/linkvault/linkvault/internal/revocation"
	"github.com/linkvault/linkvault/internal/testdb"
	"github.com/linkvault/linkvault/internal/vault"
	"github.com/linkvault/linkvault/internal/webhook"
)

const exampleDir = "node"

// TestDocsShowTheCheckedExample: the TypeScript block in docs/webhooks.md is
// receiver.ts, byte for byte, so what readers copy is what this package runs.
func TestDocsShowTheCheckedExample(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(exampleDir, "receiver.ts"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "webhooks.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```ts\n(.*?)```").FindSubmatch(doc)
	if m == nil {
		t.Fatal("docs/webhooks.md has no ```ts block")
	}
	if !bytes.Equal(m[1], src) {
		t.Fatal("the ```ts block of docs/webhooks.md differs from examples/webhooks/node/receiver.ts; copy the file into the doc")
	}
}

// compiled is the output directory of the one tsc run of this test binary.
var compiled struct {
	once sync.Once
	dir  string
	err  error
}

// compile type checks and compiles receiver.ts once (tsc --strict, see tsconfig.json).
func compile(t *testing.T, tsc string) string {
	t.Helper()
	compiled.once.Do(func() {
		compiled.dir, compiled.err = os.MkdirTemp("", "linkvault-webhook-example-")
		if compiled.err != nil {
			return
		}
		if b, err := exec.Command(tsc, "-p", filepath.Join(exampleDir, "tsconfig.json"), "--outDir", compiled.dir).CombinedOutput(); err != nil {
			compiled.err = fmt.Errorf("tsc: %v\n%s", err, b)
		}
	})
	if compiled.err != nil {
		t.Fatal(compiled.err)
	}
	return compiled.dir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if compiled.dir != "" {
		_ = os.RemoveAll(compiled.dir) // a temporary directory; the exit code is the tests'
	}
	os.Exit(code)
}

// receiverProcess is the compiled example running under node.
type receiverProcess struct {
	url    string
	mu     sync.Mutex
	events []map[string]string
	gotOne chan struct{}
}

// startReceiver compiles receiver.ts with the example's pinned TypeScript and runs it
// with node, trusting secrets.
func startReceiver(t *testing.T, secrets ...string) *receiverProcess {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed; the Node.js webhook example is not checked")
	}
	modules, _ := filepath.Abs(filepath.Join(exampleDir, "node_modules"))
	tsc := filepath.Join(modules, ".bin", "tsc")
	if _, err := os.Stat(filepath.Join(modules, "standardwebhooks")); err != nil {
		t.Skipf("examples/webhooks/node has no node_modules: run `npm ci` there (.ci/run does) to check the Node.js example")
	}
	out := compile(t, tsc)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, node, filepath.Join(out, "receiver.js"))
	cmd.Env = append(os.Environ(), "PORT=0", "NODE_PATH="+modules, "LINKVAULT_WEBHOOK_SECRETS="+strings.Join(secrets, " "))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})
	r := &receiverProcess{gotOne: make(chan struct{}, 100)}
	listening := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			if u, ok := strings.CutPrefix(line, "listening on "); ok {
				listening <- u
				continue
			}
			var ev map[string]string
			if json.Unmarshal([]byte(line), &ev) == nil {
				r.mu.Lock()
				r.events = append(r.events, ev)
				r.mu.Unlock()
				r.gotOne <- struct{}{}
			}
		}
	}()
	select {
	case r.url = <-listening:
	case <-time.After(30 * time.Second):
		t.Fatalf("the Node receiver did not start:\n%s", stderr.String())
	}
	return r
}

func (r *receiverProcess) waitEvents(t *testing.T, n int) []map[string]string {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		r.mu.Lock()
		if len(r.events) >= n {
			evs := append([]map[string]string(nil), r.events...)
			r.mu.Unlock()
			return evs
		}
		r.mu.Unlock()
		select {
		case <-r.gotOne:
		case <-deadline:
			t.Fatalf("the Node receiver handled %d events, want %d", len(r.events), n)
		}
	}
}

// TestNodeReceiverAcceptsRealDeliveries: linkvault's dispatcher delivers connection
// events, signed with the client's two secrets during a rotation, to the Node receiver
// holding only the old secret, then only the new one: standardwebhooks verifies each,
// and the receiver handles each event once.
func TestNodeReceiverAcceptsRealDeliveries(t *testing.T) {
	if testing.Short() {
		t.Skip("starts node")
	}
	ctx := t.Context()
	db := testdb.SQLite(t)
	keyring := envelope.New(db, envelopetest.MasterKeyring(t), time.Now)
	if err := db.CreateClient(ctx, &linkvault.Client{ID: "app", Name: "app", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	admin := webhook.NewAdmin(db, keyring, time.Now, time.Hour)
	// Removals reach connection.revoked at once: the sandbox stands in for an exchange
	// whose grants cannot be revoked (as Binance's API keys), so the production vault
	// and revocation queue emit the event with the data of a removed connection.
	queue, err := revocation.New(revocation.Config{}, revocation.Deps{Store: db, Opener: keyring, Revoker: noRevocation{}})
	if err != nil {
		t.Fatal(err)
	}
	vlt := vault.New(vault.Config{Store: db, Sealer: keyring, Revoker: noRevocation{}, Revocations: queue})

	// The receiver's URL is known only once it runs, and it needs the secret first:
	// set a placeholder URL to mint the secret, then point it at the receiver.
	first, err := admin.SetURL(ctx, "app", "http://127.0.0.1:1/")
	if err != nil {
		t.Fatal(err)
	}
	second, err := admin.RotateSecret(ctx, "app")
	if err != nil {
		t.Fatal(err)
	}

	connect := func(user string) string {
		c, err := vlt.Connect(ctx, vault.ConnectParams{
			ConnectionIdentity: linkvault.ConnectionIdentity{ClientID: "app", UserID: user, BrokerType: linkvault.BrokerSandbox, Scope: linkvault.PermissionRead},
			Credential:         linkvault.Credential{AccessToken: linkvault.NewSecret("sandbox-" + linkvault.NewRandomID(8))},
		})
		if err != nil {
			t.Fatal(err)
		}
		return c.TokenID
	}
	deliver := func() {
		d, err := webhook.NewDispatcher(webhook.Config{QueueConfig: poller.QueueConfig{PollInterval: 10 * time.Millisecond}, SecretCacheTTL: time.Nanosecond},
			webhook.Deps{Store: db, Sealer: keyring})
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Start(ctx); err != nil {
			t.Fatal(err)
		}
		proctest.WaitFor(t, "every event delivered", 60*time.Second, 10*time.Millisecond, func() bool {
			n, err := db.CountPendingWebhookEvents(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return n == 0
		})
		stopCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := d.Stop(stopCtx); err != nil {
			t.Fatal(err)
		}
	}

	for i, secrets := range [][]string{{first.Secret.Reveal()}, {second.Secret.Reveal()}} {
		r := startReceiver(t, secrets...)
		if _, err := admin.SetURL(ctx, "app", r.url+"/hooks/linkvault"); err != nil {
			t.Fatal(err)
		}
		tok := connect("user-" + strconv.Itoa(i))
		if _, err := vlt.Remove(ctx, "app", tok, linkvault.BrokerSandbox); err != nil {
			t.Fatal(err)
		}
		deliver()
		evs := r.waitEvents(t, 3) // delivered concurrently: in any order
		types, ids := map[string]bool{}, map[string]bool{}
		for _, ev := range evs {
			// connection.revoked carries no userId (the connection is gone): the
			// receiver's type has it optional and logs none.
			wantUser := "user-" + strconv.Itoa(i)
			if ev["type"] == linkvault.EventConnectionRevoked {
				wantUser = ""
			}
			if ev["tokenId"] != tok || ev["userId"] != wantUser {
				t.Fatalf("receiver %d handled %v for %s", i, ev, tok)
			}
			types[ev["type"]], ids[ev["id"]] = true, true
		}
		if len(evs) != 3 || len(ids) != 3 || !types[linkvault.EventConnectionCreated] || !types[linkvault.EventConnectionRemoved] || !types[linkvault.EventConnectionRevoked] {
			t.Fatalf("receiver %d handled %v; want connection.created, .removed and .revoked for %s", i, evs, tok)
		}
		log, err := admin.Deliveries(ctx, "app", 3)
		if err != nil || len(log) != 3 {
			t.Fatalf("delivery log: %+v, %v", log, err)
		}
		for _, d := range log {
			if d.StatusCode != http.StatusNoContent {
				t.Fatalf("delivery log: %+v", log)
			}
		}
	}
}

// TestNodeReceiverRefusesForgeries: deliveries signed by linkvault's signer but
// tampered with, replayed late, or signed with another secret are refused with 401 and
// never handled; a retry of a handled delivery (same webhook-id) is acknowledged but not
// handled again.
func TestNodeReceiverRefusesForgeries(t *testing.T) {
	if testing.Short() {
		t.Skip("starts node")
	}
	secret, other := webhook.NewSecret(), webhook.NewSecret()
	r := startReceiver(t, secret.Reveal())
	body := []byte(`{"type":"connection.created","timestamp":"2031-01-01T00:00:00Z","data":{"tokenId":"tok_1","userId":"u1","brokerType":"sandbox","scope":"read","status":"active"}}`)
	post := func(id string, at time.Time, signWith linkvault.Secret, b []byte) int {
		t.Helper()
		sig, err := webhook.Sign([]linkvault.Secret{signWith}, id, at, body)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodPost, r.url+"/hooks/linkvault", bytes.NewReader(b))
		req.Header.Set(webhook.HeaderID, id)
		req.Header.Set(webhook.HeaderTimestamp, strconv.FormatInt(at.Unix(), 10))
		req.Header.Set(webhook.HeaderSignature, sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	now := time.Now()
	tampered := bytes.Replace(body, []byte(`"read"`), []byte(`"write"`), 1)
	tests := []struct {
		name string
		code int
	}{
		{"tampered body", post("evt_a", now, secret, tampered)},
		{"replayed after 5 minutes", post("evt_b", now.Add(-6*time.Minute), secret, body)},
		{"signed with another secret", post("evt_c", now, other, body)},
	}
	for _, tc := range tests {
		if tc.code != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", tc.name, tc.code)
		}
	}
	if code := post("evt_ok", now, secret, body); code != http.StatusNoContent {
		t.Fatalf("genuine delivery: status %d", code)
	}
	if code := post("evt_ok", now.Add(time.Second), secret, body); code != http.StatusNoContent {
		t.Fatalf("retry of a handled delivery: status %d", code)
	}
	// A last genuine event: the receiver handles requests in order, so once it is
	// seen, every line the earlier requests could have printed is there too.
	if code := post("evt_last", now, secret, body); code != http.StatusNoContent {
		t.Fatalf("genuine delivery: status %d", code)
	}
	evs := r.waitEvents(t, 2)
	if len(evs) != 2 || evs[0]["id"] != "evt_ok" || evs[1]["id"] != "evt_last" {
		t.Fatalf("handled %v; want evt_ok once, then evt_last", evs)
	}
}

// noRevocation is an exchange without grant revocation (as Binance): removals end in
// revocationUnsupported, and nothing is ever revoked.
type noRevocation struct{}

func (noRevocation) CanRevoke(linkvault.BrokerType) bool { return false }

func (noRevocation) Revoke(_ context.Context, broker linkvault.BrokerType, _ linkvault.Credential) error {
	return fmt.Errorf("noRevocation: %s grants cannot be revoked", broker)
}
