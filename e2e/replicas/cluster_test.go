package replicas_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/linkvault/linkvault/internal/e2etest"
	"github.com/linkvault/linkvault/internal/proctest"
	"github.com/linkvault/linkvault/internal/testdb"
)

// startOnPostgres starts the harness on a PostgreSQL schema of its own, with vars for
// every process; it skips t in -short mode (what: the processes the test runs). It
// returns the env and the schema's DSN.
func startOnPostgres(t *testing.T, what string, vars map[string]string) (*e2etest.Env, string) {
	t.Helper()
	e2etest.SkipShort(t, what)
	dsn := testdb.PostgresDSN(t)
	return e2etest.Start(t, e2etest.Options{PostgresDSN: dsn, Env: vars}), dsn
}

// withProviderTimeout sets every simulated provider's request timeout in vars to d
// and returns vars.
func withProviderTimeout(vars map[string]string, d string) map[string]string {
	for _, p := range []string{"COINBASE", "UPHOLD", "BINANCE", "SANDBOX"} {
		vars["LINKVAULT_"+p+"_TIMEOUT"] = d
	}
	return vars
}

// openDB opens a session of the test's own on the database at dsn, closed when t ends.
func openDB(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

func countRows(t *testing.T, conn *pgx.Conn, where string) int {
	t.Helper()
	var n int
	if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM connections WHERE `+where).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// envelopeAnswer is the API's answer envelope.
type envelopeAnswer struct {
	Status    string `json:"status"`
	Message   string `json:"message"`
	ErrorType string `json:"errorType"`
}

// apiAnswer is the outcome of one API call.
type apiAnswer struct {
	status   int
	header   http.Header
	envelope envelopeAnswer
	err      error // no answer, or one that is not an envelope
}

// apiCall sends one API request through hc with the client's key and decodes the
// answer's envelope.
func apiCall(hc *http.Client, base, method, path, client, secret, body string) apiAnswer {
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		return apiAnswer{err: err}
	}
	req.Header.Set("X-Client-Id", client)
	req.Header.Set("X-Client-Secret", secret)
	req.Header.Set("Content-Type", "application/json")
	res, err := hc.Do(req)
	if err != nil {
		return apiAnswer{err: err}
	}
	defer func() { _ = res.Body.Close() }()
	a := apiAnswer{status: res.StatusCode, header: res.Header}
	b, _ := io.ReadAll(res.Body)
	if err := json.Unmarshal(b, &a.envelope); err != nil {
		a.err = fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, b)
	}
	return a
}

// metric reads one sample of the Prometheus text exposition at admin/metrics.
func metric(t *testing.T, admin, sample string) float64 {
	t.Helper()
	res, err := http.Get(admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = res.Body.Close() }()
	b, _ := io.ReadAll(res.Body)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(sample) + ` (\S+)$`).FindSubmatch(b)
	if m == nil {
		return 0
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// waitUntil polls cond for up to two minutes (a bound against hanging, not a timing
// assertion).
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	proctest.WaitFor(t, what, 2*time.Minute, 10*time.Millisecond, cond)
}
