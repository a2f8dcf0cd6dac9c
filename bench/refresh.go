package bench

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/app"
	"github.com/linkvault/linkvault/internal/exchangesim"
)

// RefreshParams configures the refresh scenario.
type RefreshParams struct {
	N            int           // due connections per run
	Workers      int           // LINKVAULT_REFRESH_WORKERS per replica
	BatchSize    int           // LINKVAULT_REFRESH_BATCH_SIZE
	PollInterval time.Duration // LINKVAULT_REFRESH_POLL_INTERVAL
	Timeout      time.Duration // bound of one run
	Setups       []string      // e.g. sqlite-1, postgres-1, postgres-3
	// ProfileDir, when set, receives <setup>.pprof: the first replica's CPU profile over
	// the first ProfileSeconds of the drain (LINKVAULT_ADMIN_PPROF is turned on).
	ProfileDir     string `json:"-"`
	ProfileSeconds int    `json:"-"`
}

// flags declares the scenario's flags into p.
func (p *RefreshParams) flags(fs *flagSet) {
	fs.IntVar(&p.N, "n", 20000, "due connections per run")
	fs.IntVar(&p.Workers, "workers", 32, "refresh workers per replica (LINKVAULT_REFRESH_WORKERS)")
	fs.IntVar(&p.BatchSize, "batch", 100, "rows claimed per poll at most (LINKVAULT_REFRESH_BATCH_SIZE)")
	fs.DurationVar(&p.PollInterval, "poll", 100*time.Millisecond, "poll interval when the due set looked empty (LINKVAULT_REFRESH_POLL_INTERVAL)")
	fs.DurationVar(&p.Timeout, "timeout", 5*time.Minute, "bound of one run")
	fs.list(&p.Setups, "setups", "sqlite-1,postgres-1,postgres-3", "driver-replicas setups to run")
	fs.StringVar(&p.ProfileDir, "profile", "", "also take a CPU profile of the first replica during the drain, into this directory as <setup>.pprof (enables LINKVAULT_ADMIN_PPROF)")
	fs.IntVar(&p.ProfileSeconds, "profile-seconds", 4, "length of that profile, from the release of the due set")
}

// RefreshRun is the outcome of one setup.
type RefreshRun struct {
	Setup    string `json:"setup"`
	Driver   string `json:"driver"`
	Replicas int    `json:"replicas"`
	N        int    `json:"n"`
	// Drain is the time from the due set becoming due to the last refresh; Active is
	// from the first refresh to the last (excludes the first poll's wait).
	Drain  time.Duration `json:"drainNs"`
	Active time.Duration `json:"activeNs"`
	Rate   float64       `json:"refreshesPerSecond"` // N / Active
	// What the simulated exchange saw.
	RefreshesOK       int64 `json:"refreshesOk"`
	ReuseDetected     int64 `json:"reuseDetected"` // replayed refresh tokens: double refreshes
	RefreshesRejected int64 `json:"refreshesRejected"`
	// What the database holds afterwards.
	StillDue     int64              `json:"stillDue"`
	WrittenTwice int64              `json:"rowsWrittenMoreThanOnce"` // version > 3: claimed and written more than once
	PerReplica   []float64          `json:"perReplicaOk"`
	Outcomes     map[string]float64 `json:"outcomes"`
	CPU          CPUUse             `json:"cpu"`
	OtherBefore  float64            `json:"otherCoresBefore"`
	// Per refresh, over the drain, summed over the replicas: CPU time and read/write
	// system calls (about two per round trip), both independent of the machine's load
	// to first order.
	ReplicaCPUPerRefresh      time.Duration `json:"replicaCpuPerRefreshNs"`
	ReplicaSyscallsPerRefresh float64       `json:"replicaSyscallsPerRefresh"`
}

// RefreshResults is what the scenario returns.
type RefreshResults struct {
	Params RefreshParams `json:"params"`
	Runs   []RefreshRun  `json:"runs"`
}

// RunRefresh measures the lifecycle engine: for each setup it seeds N connections whose
// credentials are real grants minted on the simulated Coinbase exchange (running in
// this process, on a loopback port), starts the replicas, makes all N due at once, and
// waits until the exchange has seen N refreshes. The exchange revokes a grant whose
// refresh token is replayed, so its reuse counter counts double refreshes.
func RunRefresh(ctx context.Context, h *harness, p RefreshParams) (*RefreshResults, error) {
	res := &RefreshResults{Params: p}
	for _, setup := range p.Setups {
		driver, reps, ok := strings.Cut(setup, "-")
		replicas, err := strconv.Atoi(reps)
		if !ok || err != nil || replicas < 1 || (driver != DriverSQLite && driver != DriverPostgres) {
			return nil, fmt.Errorf("bench: bad setup %q (want sqlite-1, postgres-3, ...)", setup)
		}
		if driver == DriverPostgres && h.c.pgDSN == "" {
			h.logf("%s skipped: -pg-dsn is empty", setup)
			continue
		}
		run, err := refreshOnce(ctx, h, p, setup, driver, replicas)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", setup, err)
		}
		h.logf("  %s: %d refreshes in %s (%.0f/s; drain %s), reuse detected %d, rejected %d, rows written twice %d, still due %d, per replica %v; cpu: replicas %.2f harness+sim %.2f pg %.2f other %.2f; per refresh: replica cpu %s, replica syscalls %.1f",
			setup, run.RefreshesOK, fmtDur(run.Active), run.Rate, fmtDur(run.Drain), run.ReuseDetected, run.RefreshesRejected,
			run.WrittenTwice, run.StillDue, run.PerReplica, run.CPU.Server, run.CPU.Generator, run.CPU.Postgres, run.CPU.Other,
			run.ReplicaCPUPerRefresh, run.ReplicaSyscallsPerRefresh)
		res.Runs = append(res.Runs, *run)
	}
	fmt.Fprint(h.out, res.Markdown())
	return res, nil
}

func refreshOnce(ctx context.Context, h *harness, p RefreshParams, setup, driver string, replicas int) (*RefreshRun, error) {
	sim, stopSim, err := startSim(ctx)
	if err != nil {
		return nil, err
	}
	defer stopSim()
	ex := sim.Coinbase

	db, err := h.newDB(ctx, driver, "refresh-"+setup)
	if err != nil {
		return nil, err
	}
	defer db.Drop()
	h.logf("%s: seeding %d connections with grants minted on the simulated exchange", setup, p.N)
	seeded, err := Seed(ctx, db, SeedSpec{
		Rows: p.N, Broker: linkvault.BrokerCoinbase,
		Credential: func(i int) (linkvault.Credential, error) {
			tr, err := ex.MintGrant(fmt.Sprintf("bench-user-%08d", i))
			if err != nil {
				return linkvault.Credential{}, err
			}
			return credentialOf(tr, time.Now()), nil
		},
	})
	if err != nil {
		return nil, err
	}
	_ = seeded

	env := map[string]string{
		"LINKVAULT_LISTEN_ADDR":            "127.0.0.1:0",
		"LINKVAULT_LOG_LEVEL":              "warn",
		"LINKVAULT_REFRESH_ENABLED":        "true",
		"LINKVAULT_REFRESH_WORKERS":        strconv.Itoa(p.Workers),
		"LINKVAULT_REFRESH_BATCH_SIZE":     strconv.Itoa(p.BatchSize),
		"LINKVAULT_REFRESH_POLL_INTERVAL":  p.PollInterval.String(),
		"LINKVAULT_REFRESH_LEASE_DURATION": "1m",
	}
	if p.ProfileDir != "" {
		env["LINKVAULT_ADMIN_PPROF"] = "true"
	}
	for k, v := range db.Env() {
		env[k] = v
	}
	for k, v := range app.SimulatorEnv(sim) {
		env[k] = v
	}
	var procs []*Proc
	defer func() {
		for _, pr := range procs {
			pr.Stop()
		}
	}()
	for i := range replicas {
		name := fmt.Sprintf("refresh-%s-r%d", setup, i)
		pr, err := h.startLinkvault(ctx, name, db, env)
		if err != nil {
			return nil, err
		}
		procs = append(procs, pr)
	}
	pids := make([]int, len(procs))
	for i, pr := range procs {
		pids[i] = pr.Pid()
	}
	if before := ex.Stats(); before.RefreshesOK != 0 {
		return nil, fmt.Errorf("refreshes before the due set was released: %d (rows were due too early)", before.RefreshesOK)
	}

	other := h.quiet(ctx)
	meter := startCPUMeter(pids...)
	replicaUse := func() (cpu time.Duration, syscalls int64) {
		for _, pid := range pids {
			cpu += procCPU(pid)
			syscalls += procSyscalls(pid)
		}
		return cpu, syscalls
	}
	cpu0, sys0 := replicaUse()
	profiled := make(chan error, 1)
	if p.ProfileDir != "" {
		path := filepath.Join(p.ProfileDir, setup+".pprof")
		go func() {
			profiled <- fetchProfile(ctx, procs[0].AdminURL, path, time.Duration(p.ProfileSeconds)*time.Second+500*time.Millisecond)
		}()
	} else {
		profiled <- nil
	}
	released, err := makeAllDue(ctx, db)
	if err != nil {
		return nil, err
	}
	run := &RefreshRun{Setup: setup, Driver: driver, Replicas: replicas, N: p.N, OtherBefore: other}
	var first, last time.Time
	deadline := time.Now().Add(p.Timeout)
	for {
		st := ex.Stats()
		now := time.Now()
		if first.IsZero() && st.RefreshesOK > 0 {
			first = now
		}
		if st.RefreshesOK+st.RefreshesRejected+st.RefreshReuseDetected >= int64(p.N) {
			last = now
			break
		}
		if now.After(deadline) {
			return nil, fmt.Errorf("timed out after %s with %d of %d refreshes", p.Timeout, st.RefreshesOK, p.N)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	run.CPU = meter.stop()
	cpu1, sys1 := replicaUse()
	run.ReplicaCPUPerRefresh = (cpu1 - cpu0) / time.Duration(p.N)
	run.ReplicaSyscallsPerRefresh = float64(sys1-sys0) / float64(p.N)
	if err := <-profiled; err != nil {
		h.logf("    CPU profile not taken: %v", err)
	}
	run.Drain, run.Active = last.Sub(released), last.Sub(first)
	run.Rate = float64(p.N) / run.Active.Seconds()
	// Let write-backs in flight land, then read what the exchange and the rows say.
	time.Sleep(500 * time.Millisecond)
	st := ex.Stats()
	run.RefreshesOK, run.ReuseDetected, run.RefreshesRejected = st.RefreshesOK, st.RefreshReuseDetected, st.RefreshesRejected
	run.StillDue, run.WrittenTwice, err = rowFacts(ctx, db)
	if err != nil {
		return nil, err
	}
	run.Outcomes = map[string]float64{}
	for _, pr := range procs {
		m, err := scrape(ctx, pr.AdminURL+"/metrics", "linkvault_refresh_refreshes_total")
		if err != nil {
			return nil, err
		}
		ok := 0.0
		for labels, v := range m {
			for _, kv := range strings.Split(labels, ",") {
				if o, found := strings.CutPrefix(kv, `outcome="`); found {
					o = strings.TrimSuffix(o, `"`)
					run.Outcomes[o] += v
					if o == "ok" {
						ok += v
					}
				}
			}
		}
		run.PerReplica = append(run.PerReplica, ok)
	}
	return run, nil
}

// credentialOf turns a token response of the simulated exchange into a credential, as
// the provider adapter would.
func credentialOf(tr exchangesim.TokenResponse, now time.Time) linkvault.Credential {
	c := linkvault.Credential{
		AccessToken: linkvault.NewSecret(tr.AccessToken), RefreshToken: linkvault.NewSecret(tr.RefreshToken),
		TokenType: tr.TokenType,
	}
	if tr.ExpiresIn != nil {
		c.Expiry = now.Add(time.Duration(*tr.ExpiresIn) * time.Second)
	}
	if tr.RefreshTokenExpiresIn > 0 {
		c.RefreshExpiry = now.Add(time.Duration(tr.RefreshTokenExpiresIn) * time.Second)
	}
	return c
}

// makeAllDue schedules every connection for now in one committed statement, and
// returns the commit time: the moment the whole due set appears at once.
func makeAllDue(ctx context.Context, db *DB) (time.Time, error) {
	now := time.Now()
	switch db.Driver {
	case DriverSQLite:
		c, err := sql.Open("sqlite", "file:"+db.SQLitePath+"?_pragma=busy_timeout(10000)")
		if err != nil {
			return time.Time{}, err
		}
		defer c.Close()
		if _, err := c.ExecContext(ctx, `UPDATE connections SET next_check_at = ?`, now.UnixNano()); err != nil {
			return time.Time{}, err
		}
	case DriverPostgres:
		c, err := pgx.Connect(ctx, db.PostgresDSN)
		if err != nil {
			return time.Time{}, err
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, `UPDATE connections SET next_check_at = $1`, now); err != nil {
			return time.Time{}, err
		}
	}
	return time.Now(), nil
}

// rowFacts counts rows still due and rows written more than once (seeded at version 1;
// one claim and one write-back make 3).
func rowFacts(ctx context.Context, db *DB) (stillDue, writtenTwice int64, err error) {
	const q = `SELECT
		(SELECT count(*) FROM connections WHERE next_check_at <= %s),
		(SELECT count(*) FROM connections WHERE version > 3)`
	switch db.Driver {
	case DriverSQLite:
		c, err := sql.Open("sqlite", "file:"+db.SQLitePath+"?_pragma=busy_timeout(10000)")
		if err != nil {
			return 0, 0, err
		}
		defer c.Close()
		err = c.QueryRowContext(ctx, fmt.Sprintf(q, "?"), time.Now().UnixNano()).Scan(&stillDue, &writtenTwice)
		return stillDue, writtenTwice, err
	default:
		c, err := pgx.Connect(ctx, db.PostgresDSN)
		if err != nil {
			return 0, 0, err
		}
		defer c.Close(ctx)
		err = c.QueryRow(ctx, fmt.Sprintf(q, "$1"), time.Now()).Scan(&stillDue, &writtenTwice)
		return stillDue, writtenTwice, err
	}
}

// scrape reads the samples of one metric family from a Prometheus text endpoint, keyed
// by their label string.
func scrape(ctx context.Context, url, name string) (map[string]float64, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, res.Status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name) {
			continue
		}
		rest := line[len(name):]
		labels := ""
		if strings.HasPrefix(rest, "{") {
			end := strings.IndexByte(rest, '}')
			if end < 0 {
				continue
			}
			labels, rest = rest[1:end], rest[end+1:]
		} else if !strings.HasPrefix(rest, " ") {
			continue // another metric sharing the prefix
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
		if err != nil {
			continue
		}
		out[labels] = v
	}
	return out, sc.Err()
}

var refreshTargets = map[string]float64{DriverSQLite: 3000, DriverPostgres: 2000}

// Markdown renders the runs.
func (r *RefreshResults) Markdown() string {
	var b strings.Builder
	p := r.Params
	fmt.Fprintf(&b, "\nRefresh engine (linkvault serve replicas), %d due connections per run, %d workers per replica, batch %d, poll %s\n\n",
		p.N, p.Workers, p.BatchSize, p.PollInterval)
	fmt.Fprintf(&b, "| setup | target | refreshes/s | drain time | double refreshes (reuse detected) | rejected | rows written twice | still due | per replica | replicas CPU | harness+sim CPU | PostgreSQL CPU | other CPU | replica CPU / refresh | replica syscalls / refresh |\n|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|\n")
	for _, run := range r.Runs {
		target := refreshTargets[run.Driver]
		verdict := "✅"
		if run.Rate < target || run.ReuseDetected != 0 || run.WrittenTwice != 0 || run.StillDue != 0 {
			verdict = "❌"
		}
		fmt.Fprintf(&b, "| %s | ≥ %.0f/s, 0 double | %.0f %s | %s | %d | %d | %d | %d | %v | %.2f | %.2f | %.2f | %.2f | %s | %.1f |\n",
			run.Setup, target, run.Rate, verdict, fmtDur(run.Drain), run.ReuseDetected, run.RefreshesRejected, run.WrittenTwice,
			run.StillDue, run.PerReplica, run.CPU.Server, run.CPU.Generator, run.CPU.Postgres, run.CPU.Other,
			run.ReplicaCPUPerRefresh.Round(time.Microsecond), run.ReplicaSyscallsPerRefresh)
	}
	return b.String()
}

// startSim runs the simulated exchanges in this process until stop is called.
func startSim(ctx context.Context) (sim *exchangesim.Cluster, stop func(), err error) {
	simCtx, cancel := context.WithCancel(ctx)
	sim, err = exchangesim.Start(simCtx, exchangesim.ClusterConfig{})
	if err != nil {
		cancel()
		return nil, nil, err
	}
	return sim, func() {
		_ = sim.Close()
		cancel()
	}, nil
}
