package bench

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/linkvault/linkvault/internal/sqlite"
)

// ScaleParams configures the scale scenario.
type ScaleParams struct {
	Rows       int           // connections in the large database
	SmallRows  int           // connections in the comparison database
	Due        int           // due set (same in both)
	ClaimLimit int           // rows per claim (the engine's batch)
	Drivers    []string      //
	Conns      int           // load generator connections for the memory test
	LoadFor    time.Duration // memory test: load duration
	Distinct   int           // memory test: distinct tokenIds requested
	ColdStarts int           // cold start repetitions
	Settle     time.Duration // idle time before and after the memory test's load
}

// flags declares the scenario's flags into p.
func (p *ScaleParams) flags(fs *flagSet) {
	fs.IntVar(&p.Rows, "rows", 1_000_000, "connections in the large database")
	fs.IntVar(&p.SmallRows, "small-rows", 10_000, "connections in the comparison database (same due set)")
	fs.IntVar(&p.Due, "due", 1000, "connections due now (the due set)")
	fs.IntVar(&p.ClaimLimit, "claim", 100, "rows per claim (the engine's batch size)")
	fs.IntVar(&p.Conns, "conns", 32, "load generator connections for the memory test")
	fs.DurationVar(&p.LoadFor, "load", 20*time.Second, "memory test: resolve load duration")
	fs.IntVar(&p.Distinct, "distinct", 200_000, "memory test: distinct tokenIds requested (random rows)")
	fs.IntVar(&p.ColdStarts, "cold-starts", 5, "cold start repetitions")
	fs.DurationVar(&p.Settle, "settle", 5*time.Second, "memory test: idle time before and after the load")
	fs.list(&p.Drivers, "drivers", "sqlite,postgres", "databases to measure")
}

// ScaleDB is the result for one database.
type ScaleDB struct {
	Driver string `json:"driver"`
	Rows   int    `json:"rows"`
	// Seeding.
	SeedTime time.Duration `json:"seedNs"`
	// Size on disk.
	SizeBytes     int64            `json:"sizeBytes"`
	BytesPerConn  float64          `json:"bytesPerConnection"`
	SizeBreakdown map[string]int64 `json:"sizeBreakdown"`
	// Due set.
	Plan       string          `json:"plan"`
	CountDue   []time.Duration `json:"countDueNs"`
	Claim      []time.Duration `json:"claimNs"`      // claims of ClaimLimit rows from the due set
	ClaimEmpty []time.Duration `json:"claimEmptyNs"` // claims when nothing is due
	// Server.
	ColdStart  []time.Duration `json:"coldStartNs"`
	RSSIdle    int64           `json:"rssIdleBytes"`
	RSSLoadMax int64           `json:"rssLoadMaxBytes"`
	RSSAfter   int64           `json:"rssAfterBytes"`
	RSSSeries  []int64         `json:"rssSeriesBytes"` // every second under load
	HeapIdle   float64         `json:"heapInuseIdleBytes"`
	HeapAfter  float64         `json:"heapInuseAfterBytes"`
	Load       Result          `json:"load"`
	LoadCPU    CPUUse          `json:"loadCpu"`
}

// ScaleResults is what the scenario returns.
type ScaleResults struct {
	Params ScaleParams `json:"params"`
	DBs    []ScaleDB   `json:"dbs"`
}

// RunScale measures, for each driver, a database of p.Rows connections next to one of
// p.SmallRows with the same due set: size per connection, due-set claim time, cold
// start, and server memory idle and under resolve load over many distinct tokenIds.
func RunScale(ctx context.Context, h *harness, p ScaleParams) (*ScaleResults, error) {
	res := &ScaleResults{Params: p}
	for _, driver := range p.Drivers {
		if driver == DriverPostgres && h.c.pgDSN == "" {
			h.logf("PostgreSQL skipped: -pg-dsn is empty")
			continue
		}
		for _, rows := range []int{p.SmallRows, p.Rows} {
			r, err := scaleOne(ctx, h, p, driver, rows)
			if err != nil {
				return nil, fmt.Errorf("scale %s %d: %w", driver, rows, err)
			}
			res.DBs = append(res.DBs, *r)
		}
	}
	fmt.Fprint(h.out, res.Markdown())
	return res, nil
}

func scaleOne(ctx context.Context, h *harness, p ScaleParams, driver string, rows int) (*ScaleDB, error) {
	name := fmt.Sprintf("scale-%s-%d", driver, rows)
	db, err := h.newDB(ctx, driver, name)
	if err != nil {
		return nil, err
	}
	defer db.Drop()
	out := &ScaleDB{Driver: driver, Rows: rows}
	h.logf("%s: seeding %d connections (%d due)", name, rows, p.Due)
	batch := 10000
	if driver == DriverPostgres {
		batch = 50000
	}
	var progress *progressWriter
	if rows >= 100000 {
		progress = &progressWriter{h: h, every: 100000}
	}
	spec := SeedSpec{Rows: rows, Due: p.Due, Batch: batch}
	if progress != nil {
		spec.Progress = progress
	}
	seeded, err := Seed(ctx, db, spec)
	if err != nil {
		return nil, err
	}
	out.SeedTime = seeded.Elapsed
	h.logf("  seeded in %s (%.0f rows/s)", seeded.Elapsed.Round(time.Millisecond), float64(rows)/seeded.Elapsed.Seconds())

	if err := dbSize(ctx, db, out); err != nil {
		return nil, err
	}
	out.BytesPerConn = float64(out.SizeBytes) / float64(rows)
	h.logf("  size %.1f MiB, %.0f bytes per connection %v", float64(out.SizeBytes)/(1<<20), out.BytesPerConn, out.SizeBreakdown)

	if err := dueSet(ctx, h, db, p, out); err != nil {
		return nil, err
	}
	h.logf("  due set: plan %q; count %s, claim of %d %s (median), empty claim %s", out.Plan, fmtDur(median(out.CountDue)),
		p.ClaimLimit, fmtDur(median(out.Claim)), fmtDur(median(out.ClaimEmpty)))

	// Cold starts: process start to /readyz 200, with the database in the page cache
	// (it was just written).
	var proc *Proc
	for i := range p.ColdStarts {
		h.quiet(ctx)
		proc, err = h.startLinkvault(ctx, fmt.Sprintf("%s-start%d", name, i), db, nil)
		if err != nil {
			return nil, err
		}
		out.ColdStart = append(out.ColdStart, proc.ReadyAfter)
		if i < p.ColdStarts-1 {
			proc.Stop()
		}
	}
	defer proc.Stop()
	h.logf("  cold start %s (median of %d)", fmtDur(median(out.ColdStart)), len(out.ColdStart))

	// Memory: idle, under resolve load over many distinct tokenIds (default cache
	// settings), and idle again.
	time.Sleep(p.Settle)
	mem, _ := ReadMem(proc.Pid())
	out.RSSIdle = mem.RSS
	out.HeapIdle = heapInuse(ctx, proc)
	ids := slices.Clone(seeded.TokenIDs)
	rng := rand.New(rand.NewPCG(3, 4))
	rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	ids = ids[:min(len(ids), p.Distinct)]
	reqs := withHost(tokenRequests(seeded, ResolvePath, "coinbase", ids), proc.Addr)
	seeded.TokenIDs = nil

	stopSampling := make(chan struct{})
	sampled := make(chan []int64, 1)
	go func() {
		var series []int64
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stopSampling:
				sampled <- series
				return
			case <-t.C:
				if m, err := ReadMem(proc.Pid()); err == nil {
					series = append(series, m.RSS)
				}
			}
		}
	}()
	h.quiet(ctx)
	meter := startCPUMeter(proc.Pid())
	out.Load, err = Load(ctx, Target{Name: name, Addr: proc.Addr, Requests: reqs, WantStatus: 200}, LoadConfig{Conns: p.Conns, Duration: p.LoadFor, MaxRequests: 10_000_000})
	out.LoadCPU = meter.stop()
	close(stopSampling)
	out.RSSSeries = <-sampled
	if err != nil {
		return nil, err
	}
	for _, v := range out.RSSSeries {
		out.RSSLoadMax = max(out.RSSLoadMax, v)
	}
	time.Sleep(p.Settle)
	mem, _ = ReadMem(proc.Pid())
	out.RSSAfter = mem.RSS
	out.HeapAfter = heapInuse(ctx, proc)
	h.logf("  memory: idle %s, under load max %s (%.0f req/s over %d distinct tokenIds, errors %d), after %s; heap in use %s → %s",
		mib(out.RSSIdle), mib(out.RSSLoadMax), out.Load.RPS, len(ids), out.Load.Errors, mib(out.RSSAfter), mib(int64(out.HeapIdle)), mib(int64(out.HeapAfter)))
	return out, nil
}

type progressWriter struct {
	h     *harness
	every int
	n     int
}

func (w *progressWriter) Write(b []byte) (int, error) {
	// Seed writes one line per batch; log every w.every rows worth of lines.
	w.n++
	if s := string(b); strings.Contains(s, "/") {
		var done, total int
		if _, err := fmt.Sscanf(strings.TrimSpace(s), "seeded %d/%d", &done, &total); err == nil && (done%w.every == 0 || done == total) {
			fmt.Fprint(w.h.log, s)
		}
	}
	return len(b), nil
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

func heapInuse(ctx context.Context, p *Proc) float64 {
	m, err := scrape(ctx, p.AdminURL+"/metrics", "go_memstats_heap_inuse_bytes")
	if err != nil {
		return 0
	}
	return m[""]
}

// dbSize records the size of the database: for SQLite the file after a checkpoint
// (WAL folded in), with a per-table/index breakdown from dbstat when available; for
// PostgreSQL the connections table with its indexes and TOAST, after VACUUM ANALYZE.
func dbSize(ctx context.Context, db *DB, out *ScaleDB) error {
	out.SizeBreakdown = map[string]int64{}
	switch db.Driver {
	case DriverSQLite:
		st, err := sqlite.Open(ctx, db.SQLitePath, sqlite.Options{})
		if err != nil {
			return err
		}
		err = st.Checkpoint(ctx)
		st.Close()
		if err != nil {
			return err
		}
		fi, err := os.Stat(db.SQLitePath)
		if err != nil {
			return err
		}
		out.SizeBytes = fi.Size()
		c, err := sql.Open("sqlite", "file:"+db.SQLitePath+"?mode=ro")
		if err != nil {
			return err
		}
		defer c.Close()
		rows, err := c.QueryContext(ctx, `SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC`)
		if err == nil {
			defer rows.Close()
			for rows.Next() {
				var name string
				var n int64
				if rows.Scan(&name, &n) == nil && n > 64<<10 {
					out.SizeBreakdown[name] = n
				}
			}
		}
		return nil
	case DriverPostgres:
		c, err := pgx.Connect(ctx, db.PostgresDSN)
		if err != nil {
			return err
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, `VACUUM ANALYZE connections`); err != nil {
			return err
		}
		var total, heap, idx, toast int64
		err = c.QueryRow(ctx, `SELECT pg_total_relation_size('connections'), pg_relation_size('connections'),
			pg_indexes_size('connections'),
			coalesce(pg_total_relation_size(nullif(reltoastrelid, 0)), 0)
			FROM pg_class WHERE oid = 'connections'::regclass`).Scan(&total, &heap, &idx, &toast)
		if err != nil {
			return err
		}
		out.SizeBytes = total
		out.SizeBreakdown["heap"] = heap
		out.SizeBreakdown["indexes"] = idx
		out.SizeBreakdown["toast"] = toast
		rows, err := c.Query(ctx, `SELECT indexrelid::regclass::text, pg_relation_size(indexrelid) FROM pg_index WHERE indrelid = 'connections'::regclass`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var name string
			var n int64
			if err := rows.Scan(&name, &n); err != nil {
				return err
			}
			out.SizeBreakdown[name] = n
		}
		return rows.Err()
	}
	return nil
}

// dueSet measures finding and claiming the due set through the store's own methods
// (CountDueConnections, ClaimDueConnections: the engine's poll), and records the query
// plan of the claim's row selection. The claims lease rows to a benchmark owner; the
// leases are cleared between passes.
func dueSet(ctx context.Context, h *harness, db *DB, p ScaleParams, out *ScaleDB) error {
	st, err := db.OpenStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	plan, err := claimPlan(ctx, db)
	if err != nil {
		return err
	}
	out.Plan = plan
	h.quiet(ctx)
	for range 20 {
		t0 := time.Now()
		n, err := st.CountDueConnections(ctx, time.Now())
		if err != nil {
			return err
		}
		out.CountDue = append(out.CountDue, time.Since(t0))
		if n != int64(p.Due) {
			return fmt.Errorf("due count %d, want %d", n, p.Due)
		}
	}
	// claim runs one timed claim of the engine's batch, adds its time to times and
	// returns how many rows it claimed.
	claim := func(times *[]time.Duration) (int, error) {
		now := time.Now()
		t0 := time.Now()
		got, err := st.ClaimDueConnections(ctx, now, "bench-scale", now.Add(time.Minute), p.ClaimLimit)
		if err != nil {
			return 0, err
		}
		*times = append(*times, time.Since(t0))
		return len(got), nil
	}
	for pass := range 3 {
		claimed := 0
		for claimed < p.Due {
			n, err := claim(&out.Claim)
			if err != nil {
				return err
			}
			if n == 0 {
				return fmt.Errorf("claim returned nothing with %d of %d claimed", claimed, p.Due)
			}
			claimed += n
		}
		for range 5 {
			n, err := claim(&out.ClaimEmpty)
			if err != nil {
				return err
			}
			if n != 0 {
				return fmt.Errorf("claim returned %d rows with the due set leased", n)
			}
		}
		if pass < 2 {
			if err := releaseLeases(ctx, db); err != nil {
				return err
			}
		}
	}
	return releaseLeases(ctx, db)
}

// claimSelect is the row selection of the stores' ClaimDueConnections (the statement
// whose cost must follow the due set), for EXPLAIN. Keep in step with
// internal/sqlite and internal/postgres.
const claimSelect = `SELECT token_id FROM connections
	WHERE next_check_at <= %[1]s AND (lease_owner = '' OR lease_expires_at <= %[1]s)
	ORDER BY next_check_at LIMIT %[2]s`

func claimPlan(ctx context.Context, db *DB) (string, error) {
	now := time.Now()
	switch db.Driver {
	case DriverSQLite:
		c, err := sql.Open("sqlite", "file:"+db.SQLitePath+"?mode=ro")
		if err != nil {
			return "", err
		}
		defer c.Close()
		rows, err := c.QueryContext(ctx, `EXPLAIN QUERY PLAN `+fmt.Sprintf(claimSelect, "?1", "?2"), now.UnixNano(), 100)
		if err != nil {
			return "", err
		}
		defer rows.Close()
		var lines []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				return "", err
			}
			lines = append(lines, detail)
		}
		return strings.Join(lines, "; "), rows.Err()
	case DriverPostgres:
		c, err := pgx.Connect(ctx, db.PostgresDSN)
		if err != nil {
			return "", err
		}
		defer c.Close(ctx)
		rows, err := c.Query(ctx, `EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, SUMMARY ON) `+fmt.Sprintf(claimSelect, "$1", "$2")+` FOR UPDATE SKIP LOCKED`, now, 100)
		if err != nil {
			return "", err
		}
		defer rows.Close()
		var lines []string
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				return "", err
			}
			lines = append(lines, strings.TrimSpace(line))
		}
		return strings.Join(lines, "; "), rows.Err()
	}
	return "", nil
}

// releaseLeases clears the benchmark's leases so the due set is claimable again.
func releaseLeases(ctx context.Context, db *DB) error {
	const q = `UPDATE connections SET lease_owner = '', lease_expires_at = NULL WHERE lease_owner = 'bench-scale'`
	switch db.Driver {
	case DriverSQLite:
		c, err := sql.Open("sqlite", "file:"+db.SQLitePath+"?_pragma=busy_timeout(10000)")
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.ExecContext(ctx, q)
		return err
	default:
		c, err := pgx.Connect(ctx, db.PostgresDSN)
		if err != nil {
			return err
		}
		defer c.Close(ctx)
		_, err = c.Exec(ctx, q)
		return err
	}
}

// Markdown renders the results.
func (r *ScaleResults) Markdown() string {
	var b strings.Builder
	p := r.Params
	fmt.Fprintf(&b, "\nScale: %d vs %d stored connections, due set %d, claims of %d rows; memory under %s of resolve load (%d connections) over up to %d distinct tokenIds, default resolve cache\n\n",
		p.Rows, p.SmallRows, p.Due, p.ClaimLimit, p.LoadFor, p.Conns, p.Distinct)
	fmt.Fprintf(&b, "| database | rows | seed time | size | bytes / connection | count due (median) | claim %d due (median / max) | claim, nothing due | cold start (median / max) | RSS idle | RSS under load (max) | RSS after | heap in use idle → after | load req/s | load errors |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n", p.ClaimLimit)
	for _, d := range r.DBs {
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %.0f | %s | %s / %s | %s | %s / %s | %s | %s | %s | %s → %s | %.0f | %d |\n",
			d.Driver, d.Rows, fmtDur(d.SeedTime), mib(d.SizeBytes), d.BytesPerConn, fmtDur(median(d.CountDue)),
			fmtDur(median(d.Claim)), fmtDur(slices.Max(d.Claim)), fmtDur(median(d.ClaimEmpty)),
			fmtDur(median(d.ColdStart)), fmtDur(slices.Max(d.ColdStart)),
			mib(d.RSSIdle), mib(d.RSSLoadMax), mib(d.RSSAfter), mib(int64(d.HeapIdle)), mib(int64(d.HeapAfter)), d.Load.RPS, d.Load.Errors)
	}
	b.WriteString("\nClaim query plans:\n\n")
	for _, d := range r.DBs {
		fmt.Fprintf(&b, "- %s, %d rows: `%s`\n", d.Driver, d.Rows, d.Plan)
	}
	b.WriteString("\nSize breakdown (bytes):\n\n")
	for _, d := range r.DBs {
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(d.SizeBreakdown)) {
			parts = append(parts, fmt.Sprintf("%s %s", k, mib(d.SizeBreakdown[k])))
		}
		fmt.Fprintf(&b, "- %s, %d rows: %s\n", d.Driver, d.Rows, strings.Join(parts, ", "))
	}
	b.WriteString("\nRSS every second under load (MiB):\n\n")
	for _, d := range r.DBs {
		var parts []string
		for _, v := range d.RSSSeries {
			parts = append(parts, fmt.Sprintf("%.0f", float64(v)/(1<<20)))
		}
		fmt.Fprintf(&b, "- %s, %d rows: %s\n", d.Driver, d.Rows, strings.Join(parts, " "))
	}
	return b.String()
}
