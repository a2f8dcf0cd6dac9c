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
	if testing.Short() {
		t.Skip("builds and runs the linkvault binary")
	}
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
	if testing.Short() {
		t.Skip("builds and runs the linkvault binary")
	}
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
