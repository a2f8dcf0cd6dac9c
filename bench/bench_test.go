package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestMain lets the test binary stand in for the harness's hidden hello scenario,
// which the resolve scenario starts by re-executing "Self".
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "hello" {
		if err := Main(context.Background(), Options{}, os.Args[1:], os.Stdout, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestLoadCountsRequestsAndOrdersPercentiles(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	res, err := Load(t.Context(), Target{
		Name: "t", Addr: addr, Requests: [][]byte{PostJSON(addr, "/x", map[string]string{"X-A": "1"}, []byte(`{}`)), Get(addr, "/y")},
		Check: func(b []byte) error {
			if string(b) != `{"status":"ok"}` {
				return fmt.Errorf("body %q", b)
			}
			return nil
		},
	}, LoadConfig{Conns: 4, Duration: 5 * time.Second, MaxRequests: 400})
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors != 0 || res.Requests != 400 {
		t.Fatalf("requests %d errors %d (%s); want 400 and 0", res.Requests, res.Errors, res.FirstError)
	}
	if !(res.P50 > 0 && res.P50 <= res.P90 && res.P90 <= res.P99 && res.P99 <= res.P999 && res.P999 <= res.Max) || res.RPS <= 0 {
		t.Fatalf("percentiles out of order or empty: %+v", res)
	}
}

func TestLoadCountsWrongStatusChunkedAndClose(t *testing.T) {
	var count atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := count.Add(1)
		if n%3 == 0 {
			w.Header().Set("Connection", "close")
		}
		if n%2 == 0 {
			w.WriteHeader(http.StatusInternalServerError)
		}
		_, _ = w.Write([]byte("part one "))
		w.(http.Flusher).Flush() // forces chunked encoding
		_, _ = w.Write([]byte("part two"))
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	res, err := Load(t.Context(), Target{Name: "t", Addr: addr, Requests: [][]byte{Get(addr, "/")}},
		LoadConfig{Conns: 1, Duration: 5 * time.Second, MaxRequests: 30})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests+res.Errors != 30 || res.Errors != 15 {
		t.Fatalf("requests %d errors %d (%s); want 15 and 15", res.Requests, res.Errors, res.FirstError)
	}
	if !strings.Contains(res.FirstError, "status 500") {
		t.Fatalf("first error %q", res.FirstError)
	}
}

func TestReadResponseKeepsBody(t *testing.T) {
	for name, raw := range map[string]string{
		"length":  "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"chunked": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n2;x=y\r\nlo\r\n0\r\nTrailer: v\r\n\r\n",
	} {
		var body []byte
		status, closeConn, err := readResponse(bufio.NewReader(strings.NewReader(raw)), &body)
		if err != nil || status != 200 || closeConn || string(body) != "hello" {
			t.Errorf("%s: status %d close %v body %q err %v", name, status, closeConn, body, err)
		}
	}
	if _, _, err := readResponse(bufio.NewReader(strings.NewReader("HTTP/1.1 200 OK\r\n\r\n")), nil); err == nil {
		t.Error("a response without length or chunking was accepted")
	}
}

func TestLoadRefusesNonLoopback(t *testing.T) {
	for _, addr := range []string{"10.0.0.1:80", "example.com:80", "0.0.0.0:80"} {
		if _, err := Load(t.Context(), Target{Addr: addr, Requests: [][]byte{Get(addr, "/")}}, LoadConfig{Duration: time.Second}); err == nil {
			t.Errorf("Load accepted %s", addr)
		}
	}
}

func TestPercentileNearestRank(t *testing.T) {
	s := make([]time.Duration, 100)
	for i := range s {
		s[i] = time.Duration(i + 1)
	}
	for q, want := range map[float64]time.Duration{0.5: 50, 0.9: 90, 0.99: 99, 0.999: 100, 1: 100} {
		if got := percentile(s, q); got != want {
			t.Errorf("p%v = %d, want %d", q*100, got, want)
		}
	}
	if percentile([]time.Duration{7}, 0.99) != 7 || percentile(nil, 0.5) != 0 {
		t.Error("edge cases")
	}
}

func TestScrapeReadsOneFamily(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "# HELP x\nlinkvault_refresh_refreshes_total{broker=\"coinbase\",outcome=\"ok\"} 12\n"+
			"linkvault_refresh_refreshes_total_other 3\ngo_memstats_heap_inuse_bytes 1.5e+06\n")
	}))
	defer srv.Close()
	m, err := scrape(t.Context(), srv.URL, "linkvault_refresh_refreshes_total")
	if err != nil || len(m) != 1 || m[`broker="coinbase",outcome="ok"`] != 12 {
		t.Fatalf("%v %v", m, err)
	}
	m, err = scrape(t.Context(), srv.URL, "go_memstats_heap_inuse_bytes")
	if err != nil || m[""] != 1.5e6 {
		t.Fatalf("%v %v", m, err)
	}
}

func TestStatCPUParsesCommWithSpaces(t *testing.T) {
	stat := "42 (my (odd) proc) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 1 0"
	if got := statCPU(stat); got != 3*time.Second {
		t.Fatalf("got %v, want 3s", got)
	}
}

// The scenario smoke tests run the real binary with tiny sizes: they check that the
// harness works end to end (servers start, requests succeed, results render), never
// how fast anything is.

func smokeOptions(t *testing.T) Options {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the linkvault binary")
	}
	return Options{Self: []string{os.Args[0]}}
}

// runSmoke runs the scenario args (with -quiet 0, a temporary -dir and -pg-dsn pgDSN)
// as the lvbench command does, failing the test if it fails. It returns what the
// scenario printed and its log.
func runSmoke(t *testing.T, pgDSN string, args ...string) (out, log string) {
	t.Helper()
	opts := smokeOptions(t)
	var o, l bytes.Buffer
	args = append(args, "-quiet", "0", "-dir", t.TempDir(), "-pg-dsn", pgDSN)
	if err := Main(t.Context(), opts, args, &o, &l); err != nil {
		t.Fatalf("%v\n%s", err, l.String())
	}
	return o.String(), l.String()
}

// withPostgres is list, and more after a comma when the tests have a PostgreSQL
// database.
func withPostgres(list, more string) string {
	if os.Getenv("LINKVAULT_TEST_POSTGRES_DSN") != "" {
		return list + "," + more
	}
	return list
}

func TestResolveScenarioSmoke(t *testing.T) {
	configs := withPostgres("hello,cached,sqlite,holdings,direct,linktoken-sqlite", "postgres,linktoken-postgres")
	out, log := runSmoke(t, os.Getenv("LINKVAULT_TEST_POSTGRES_DSN"), "resolve", "-rows", "300", "-hot", "50", "-duration", "300ms", "-warmup", "100ms",
		"-rounds", "1", "-conns", "4", "-configs", configs)
	for _, c := range strings.Split(configs, ",") {
		if !strings.Contains(out, "| "+c+" go #1 |") {
			t.Errorf("no run of %s in:\n%s", c, out)
		}
	}
	if strings.Contains(log, "first error") {
		t.Errorf("requests failed:\n%s", log)
	}
}

// TestCallgrindScenarioSmoke runs the instructions scenario on a few requests (CI
// installs valgrind; without it the test is skipped). It checks that every path was
// counted, never what the counts are.
func TestCallgrindScenarioSmoke(t *testing.T) {
	if !ValgrindAvailable() {
		t.Skip("valgrind not installed (apt-get install -y valgrind); .ci/run installs it")
	}
	configs := "hello,cached,holdings"
	out, _ := runSmoke(t, "", "callgrind", "-n", "20", "-warmup-requests", "20", "-rows", "50", "-configs", configs)
	for _, c := range strings.Split(configs, ",") {
		if !strings.Contains(out, "| "+c+" | ") {
			t.Errorf("no count for %s in:\n%s", c, out)
		}
	}
}

func TestRefreshScenarioSmoke(t *testing.T) {
	setups := withPostgres("sqlite-1", "postgres-2")
	profiles := t.TempDir()
	_, log := runSmoke(t, os.Getenv("LINKVAULT_TEST_POSTGRES_DSN"), "refresh", "-n", "200", "-workers", "4", "-setups", setups,
		"-profile", profiles, "-profile-seconds", "1")
	if fi, err := os.Stat(filepath.Join(profiles, "sqlite-1.pprof")); err != nil || fi.Size() == 0 {
		t.Errorf("no CPU profile of the replica: %v\n%s", err, log)
	}
	if strings.Contains(log, "replica syscalls 0.0") {
		t.Errorf("the replicas' system calls were not counted:\n%s", log)
	}
	for _, s := range strings.Split(setups, ",") {
		// Exactly N refreshes, no reuse, nothing written twice, nothing left due.
		if !strings.Contains(log, s+": 200 refreshes") || !strings.Contains(log, "reuse detected 0, rejected 0, rows written twice 0, still due 0") {
			t.Errorf("%s: unexpected outcome:\n%s", s, log)
		}
	}
}

func TestScaleScenarioSmoke(t *testing.T) {
	out, _ := runSmoke(t, os.Getenv("LINKVAULT_TEST_POSTGRES_DSN"), "scale", "-rows", "2000", "-small-rows", "500", "-due", "150", "-claim", "50",
		"-load", "500ms", "-distinct", "1000", "-cold-starts", "1", "-conns", "4", "-settle", "100ms", "-drivers", withPostgres("sqlite", "postgres"))
	if !strings.Contains(out, "connections_due") {
		t.Errorf("claim plan does not use the due index:\n%s", out)
	}
}

func TestParseWrk(t *testing.T) {
	out := `Running 10s test @ http://127.0.0.1:4000/
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   612.00us    1.10ms  31.20ms   93.02%
    Req/Sec    20.12k     1.51k   23.40k    71.50%
  Latency Distribution
     50%  410.00us
     75%  600.00us
     90%    1.02ms
     99%    5.31ms
  400321 requests in 10.01s, 98.12MB read
  Non-2xx or 3xx responses: 21
Requests/sec:  39992.10
Transfer/sec:      9.80MB
`
	r, err := parseWrk(out)
	if err != nil {
		t.Fatal(err)
	}
	if r.RPS != 39992.10 || r.Requests != 400300 || r.Errors != 21 || r.P50 != 410*time.Microsecond ||
		r.P90 != 1020*time.Microsecond || r.P99 != 5310*time.Microsecond || r.Max != 31200*time.Microsecond || r.Elapsed != 10010*time.Millisecond {
		t.Fatalf("%+v", r)
	}
	if _, err := parseWrk("garbage"); err == nil {
		t.Fatal("garbage parsed")
	}
}
