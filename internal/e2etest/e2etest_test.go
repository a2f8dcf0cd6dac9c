package e2etest_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/linkvault/linkvault/internal/e2etest"
	"github.com/linkvault/linkvault/internal/testdb"
)

// TestHarnessStartsTheRealBinary checks the harness itself: the binary builds, the CLI
// creates clients and keys, and a configured server answers with the envelope.
func TestHarnessStartsTheRealBinary(t *testing.T) {
	e2etest.SkipShort(t, "builds and runs the linkvault binary")
	e := e2etest.Start(t, e2etest.Options{})
	req, _ := http.NewRequest("DELETE", e.URL()+"/api/v1/account", strings.NewReader(`{"authToken":"nope","type":"sandbox"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Client-Id", e.ClientA.ID)
	req.Header.Set("X-Client-Secret", e.ClientA.ReadSecret)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 404 || !strings.Contains(string(b), `"status":"notFound"`) {
		t.Fatalf("got %d %s", res.StatusCode, b)
	}
	// The log check is not vacuous: it knows the API secrets and the master key, and it
	// finds a registered value that does appear in the log.
	if n := e.SecretCount(); n < 5 {
		t.Fatalf("log check searches for only %d secrets", n)
	}
	const canary = "linkvault serving"
	e.AddSecret(canary, "the canary")
	if leaks := e.LeakedSecrets(); len(leaks) != 1 || !strings.Contains(leaks[0], "the canary") {
		t.Fatalf("log check did not find the canary: %v", leaks)
	}
	e.ForgetSecret(canary)
	out := e.CLI("clients", "list")
	if !strings.Contains(out, "client-a") || !strings.Contains(out, "client-b") {
		t.Fatalf("clients list:\n%s", out)
	}
}

func TestHarnessRunsReplicasOnPostgres(t *testing.T) {
	e2etest.SkipShort(t, "builds and runs the linkvault binary")
	e := e2etest.Start(t, e2etest.Options{PostgresDSN: testdb.PostgresDSN(t), Replicas: 2})
	for _, s := range e.Servers {
		res, err := http.Get(s.AdminURL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("replica %s not ready: %d", s.URL, res.StatusCode)
		}
	}
}

// TestOutputParsers: the lines the binary prints (cmd/linkvault: keys create, serve)
// are read back, and other lines are not taken for them.
func TestOutputParsers(t *testing.T) {
	for _, c := range []struct {
		line, addr string
		admin      bool
	}{
		{"linkvault listening on 127.0.0.1:8080", "127.0.0.1:8080", false},
		{"linkvault admin listening on 127.0.0.1:9090", "127.0.0.1:9090", true},
		{"linkvault serving", "", false},
	} {
		if addr, admin := e2etest.ServeAddr(c.line); addr != c.addr || admin != c.admin {
			t.Errorf("ServeAddr(%q) = %q, %v; want %q, %v", c.line, addr, admin, c.addr, c.admin)
		}
	}
	out := "API key created (the secret is shown only now; store it safely)\n  client:     shop\n  key id:     k1\n  permission: read\n  secret:     lvk_abc-123\n"
	if got := e2etest.KeySecret(out); got != "lvk_abc-123" {
		t.Errorf("KeySecret = %q", got)
	}
	if got := e2etest.KeySecret("client created\n"); got != "" {
		t.Errorf("KeySecret without a secret = %q", got)
	}
}
