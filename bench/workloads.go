package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/app"
	"github.com/linkvault/linkvault/internal/exchangesim"
)

// Request-path configurations beyond resolve (constants of the resolve ones are in
// resolve.go).
const (
	// ConfigHoldings is POST /api/v1/holdings/get through linkvault to the simulated
	// sandbox exchange (Coinbase-flavoured), hot set in the resolve cache.
	ConfigHoldings = "holdings"
	// ConfigDirect is the exchange call holdings/get makes (GET /v2/accounts with the
	// bearer token), sent straight to the same simulator: the proxied path's baseline.
	ConfigDirect = "direct"
	// ConfigLinkTokenSQLite and ConfigLinkTokenPostgres are POST /api/v1/linktoken,
	// one Link session written per request.
	ConfigLinkTokenSQLite   = "linktoken-sqlite"
	ConfigLinkTokenPostgres = "linktoken-postgres"
)

// HoldingsPath is the proxied benchmark endpoint.
const HoldingsPath = "/api/v1/holdings/get"

// LinkTokenPath creates a Link session.
const LinkTokenPath = "/api/v1/linktoken"

var errSkipped = errors.New("bench: configuration skipped")

// launcher turns an executable and its arguments into the command actually run (the
// identity, or valgrind around them).
type launcher func(path string, args ...string) (string, []string)

// workloads seeds what the request-path configurations need, once, and starts one
// server for a configuration with the requests to send it. It is shared by the
// resolve (throughput) and callgrind (instructions) scenarios.
type workloads struct {
	h         *harness
	rows, hot int

	sq, pg, sb *target
	sim        *exchangesim.Cluster
	stopSim    context.CancelFunc
}

type target struct {
	db       *DB
	seeded   *Seeded
	requests [][]byte // per-request configurations: random order over all rows
	hot      [][]byte // the first hot rows
	direct   [][]byte // ConfigDirect: the exchange call of each hot row
}

func (w *workloads) close() {
	for _, t := range []*target{w.pg} {
		if t != nil {
			_ = t.db.Drop()
		}
	}
	if w.sim != nil {
		_ = w.sim.Close()
		w.stopSim()
	}
}

func (w *workloads) seed(ctx context.Context, driver, name string, spec SeedSpec) (*target, error) {
	db, err := w.h.newDB(ctx, driver, name)
	if err != nil {
		return nil, err
	}
	w.h.logf("seeding %d connections into %s (%s)", spec.Rows, driver, name)
	spec.Batch = 10000
	s, err := Seed(ctx, db, spec)
	if err != nil {
		_ = db.Drop()
		return nil, err
	}
	t := &target{db: db, seeded: s}
	ids := slices.Clone(s.TokenIDs)
	rng := rand.New(rand.NewPCG(1, 2))
	rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	t.requests = tokenRequests(s, ResolvePath, "coinbase", ids)
	t.hot = tokenRequests(s, ResolvePath, "coinbase", s.TokenIDs[:min(w.hot, len(s.TokenIDs))])
	return t, nil
}

func (w *workloads) sqlite(ctx context.Context) (*target, error) {
	var err error
	if w.sq == nil {
		w.sq, err = w.seed(ctx, DriverSQLite, "requests-sqlite", SeedSpec{Rows: w.rows})
	}
	return w.sq, err
}

func (w *workloads) postgres(ctx context.Context) (*target, error) {
	if w.h.c.pgDSN == "" {
		w.h.logf("PostgreSQL skipped: -pg-dsn is empty")
		return nil, errSkipped
	}
	var err error
	if w.pg == nil {
		w.pg, err = w.seed(ctx, DriverPostgres, "requests-postgres", SeedSpec{Rows: w.rows})
	}
	return w.pg, err
}

// onDriver is the seeded PostgreSQL target when postgres is set, else the SQLite one.
func (w *workloads) onDriver(ctx context.Context, postgres bool) (*target, error) {
	if postgres {
		return w.postgres(ctx)
	}
	return w.sqlite(ctx)
}

// sandbox starts the simulated exchanges in this process and seeds hot connections
// whose credentials are grants minted on the sandbox exchange.
func (w *workloads) sandbox(ctx context.Context) (*target, error) {
	if w.sb != nil {
		return w.sb, nil
	}
	simCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	sim, err := exchangesim.Start(simCtx, exchangesim.ClusterConfig{})
	if err != nil {
		stop()
		return nil, err
	}
	w.sim, w.stopSim = sim, stop
	ex := sim.Sandbox
	n := w.hot
	access := make([]string, n)
	t, err := w.seed(ctx, DriverSQLite, "requests-sandbox", SeedSpec{
		Rows: n, Broker: linkvault.BrokerSandbox,
		Credential: func(i int) (linkvault.Credential, error) {
			tr, err := ex.MintGrant(fmt.Sprintf("bench-user-%08d", i))
			if err != nil {
				return linkvault.Credential{}, err
			}
			access[i] = tr.AccessToken
			return credentialOf(tr, time.Now()), nil
		},
	})
	if err != nil {
		return nil, err
	}
	t.hot = tokenRequests(t.seeded, HoldingsPath, string(linkvault.BrokerSandbox), t.seeded.TokenIDs)
	u, err := url.Parse(ex.URL)
	if err != nil {
		return nil, err
	}
	for _, a := range access {
		t.direct = append(t.direct, []byte("GET /v2/accounts?limit=100 HTTP/1.1\r\nHost: "+u.Host+
			"\r\nAccept: application/json\r\nAuthorization: Bearer "+a+"\r\n\r\n"))
	}
	w.sb = t
	return t, nil
}

// start starts the server of cfg (through launch) and returns it with its target.
func (w *workloads) start(ctx context.Context, cfg, name string, launch launcher, env map[string]string) (*Proc, Target, error) {
	h := w.h
	okCheck := func(body []byte) error {
		if !bytes.Contains(body, []byte(`"status":"ok"`)) {
			return fmt.Errorf("unexpected body %.200q", body)
		}
		return nil
	}
	lv := func(t *target, extra map[string]string, reqs [][]byte) (*Proc, Target, error) {
		for k, v := range env {
			extra[k] = v
		}
		p, err := h.startLinkvaultWith(ctx, name, t.db, extra, launch)
		if err != nil {
			return nil, Target{}, err
		}
		return p, Target{Name: cfg, Addr: p.Addr, WantStatus: 200, Requests: withHost(reqs, p.Addr), Check: okCheck}, nil
	}
	cache := map[string]string{"LINKVAULT_RESOLVE_CACHE_SIZE": fmt.Sprint(2 * w.hot), "LINKVAULT_RESOLVE_CACHE_TTL": "1h"}
	switch cfg {
	case ConfigHello:
		self := h.opts.Self
		if len(self) == 0 {
			exe, err := os.Executable()
			if err != nil {
				return nil, Target{}, err
			}
			self = []string{exe}
		}
		path, args := launch(self[0], append(slices.Clone(self[1:]), "hello")...)
		p, err := StartProc(ctx, ProcSpec{Name: name, Path: path, Args: args, Env: env,
			LogPath: filepath.Join(h.dir, name+".log"), ReadyPath: "/", Timeout: h.startTimeout})
		if err != nil {
			return nil, Target{}, err
		}
		return p, Target{Name: cfg, Addr: p.Addr, WantStatus: 200, Requests: [][]byte{Get(p.Addr, "/")}, Check: func(body []byte) error {
			if !bytes.Equal(body, helloBody) {
				return fmt.Errorf("unexpected body %.200q", body)
			}
			return nil
		}}, nil
	case ConfigCached:
		t, err := w.sqlite(ctx)
		if err != nil {
			return nil, Target{}, err
		}
		return lv(t, cache, t.hot)
	case ConfigSQLite, ConfigPostgres:
		t, err := w.onDriver(ctx, cfg == ConfigPostgres)
		if err != nil {
			return nil, Target{}, err
		}
		return lv(t, map[string]string{"LINKVAULT_RESOLVE_CACHE_SIZE": "0"}, t.requests)
	case ConfigLinkTokenSQLite, ConfigLinkTokenPostgres:
		t, err := w.onDriver(ctx, cfg == ConfigLinkTokenPostgres)
		if err != nil {
			return nil, Target{}, err
		}
		hdr := map[string]string{"X-Client-Id": t.seeded.ClientID, "X-Client-Secret": t.seeded.ReadSecret}
		reqs := make([][]byte, 64)
		for i := range reqs {
			reqs[i] = PostJSON("HOST", LinkTokenPath, hdr, []byte(fmt.Sprintf(`{"userId":"bench-link-user-%03d"}`, i)))
		}
		// The per-client Link-token rate limit is off: the bench is one client.
		return lv(t, map[string]string{"LINKVAULT_RATE_LIMIT_LINK_TOKENS_PER_CLIENT": "0"}, reqs)
	case ConfigHoldings:
		t, err := w.sandbox(ctx)
		if err != nil {
			return nil, Target{}, err
		}
		extra := map[string]string{}
		for k, v := range cache {
			extra[k] = v
		}
		for k, v := range app.SimulatorEnv(w.sim) {
			extra[k] = v
		}
		return lv(t, extra, t.hot)
	case ConfigDirect:
		t, err := w.sandbox(ctx)
		if err != nil {
			return nil, Target{}, err
		}
		u, _ := url.Parse(w.sim.Sandbox.URL)
		// The simulator runs in this process: nothing is started, Stop is a no-op.
		return nil, Target{Name: cfg, Addr: u.Host, WantStatus: 200, Requests: t.direct, Check: func(body []byte) error {
			if !bytes.Contains(body, []byte(`"data"`)) {
				return fmt.Errorf("unexpected body %.200q", body)
			}
			return nil
		}}, nil
	}
	return nil, Target{}, fmt.Errorf("bench: unknown configuration %q", cfg)
}

// tokenRequests serialises one {authToken, type} request per tokenId (Host is patched
// in later, once the server's port is known).
func tokenRequests(s *Seeded, path, broker string, ids []string) [][]byte {
	hdr := map[string]string{"X-Client-Id": s.ClientID, "X-Client-Secret": s.ReadSecret}
	out := make([][]byte, len(ids))
	for i, id := range ids {
		out[i] = PostJSON("HOST", path, hdr, []byte(`{"authToken":"`+id+`","type":"`+broker+`"}`))
	}
	return out
}

func identity(path string, args ...string) (string, []string) { return path, args }
