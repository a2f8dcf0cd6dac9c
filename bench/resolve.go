package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// ResolvePath is the resolve benchmark endpoint: auth, lookup, decrypt, JSON, no
// exchange call.
const ResolvePath = "/api/v1/managed/token/get"

// Resolve configurations.
const (
	ConfigHello    = "hello"    // bare Go hello-world server (baseline)
	ConfigCached   = "cached"   // hot set served from the resolve cache
	ConfigSQLite   = "sqlite"   // SQLite, cache disabled: one read per request
	ConfigPostgres = "postgres" // PostgreSQL, cache disabled: one read per request
)

// ResolveParams configures the resolve scenario.
type ResolveParams struct {
	Rows     int           // connections seeded per database
	Hot      int           // tokenIds in the cached hot set
	Conns    int           // concurrent keep-alive connections of the generator
	Duration time.Duration // measured time per run
	Warmup   time.Duration // unmeasured load before each measured run
	Rounds   int           // every configuration is measured this many times, interleaved
	Max      int64         // request cap per run (a safety bound)
	Configs  []string
	Gens     []string // load generators: go, wrk
	// ProfileDir, when set, receives <config>-<round>.pprof: the server's CPU profile
	// during its measured run with the built-in generator.
	ProfileDir string `json:"-"`
}

// flags declares the scenario's flags into p.
func (p *ResolveParams) flags(fs *flagSet) {
	fs.IntVar(&p.Rows, "rows", 100000, "connections seeded in each database")
	fs.IntVar(&p.Hot, "hot", 10000, "size of the cached hot set (tokenIds)")
	fs.IntVar(&p.Conns, "conns", 32, "concurrent keep-alive connections")
	fs.DurationVar(&p.Duration, "duration", 10*time.Second, "measured time per run")
	fs.DurationVar(&p.Warmup, "warmup", 3*time.Second, "unmeasured load before each run")
	fs.IntVar(&p.Rounds, "rounds", 3, "measure every configuration this many times (interleaved)")
	fs.Int64Var(&p.Max, "max-requests", 5_000_000, "request cap per run (safety bound)")
	fs.list(&p.Configs, "configs", "hello,cached,sqlite,postgres", "configurations to measure")
	fs.StringVar(&p.ProfileDir, "profile", "", "also take a CPU profile of each server during its measured built-in-generator run, into this directory (enables LINKVAULT_ADMIN_PPROF)")
	fs.list(&p.Gens, "gen", "go", `load generators, comma-separated: "go" (built in) and/or "wrk" (apt-get install -y wrk)`)
}

// ResolveRun is one measured run.
type ResolveRun struct {
	Config    string        `json:"config"`
	Gen       string        `json:"generator"`
	Round     int           `json:"round"`
	Result    Result        `json:"result"`
	CPU       CPUUse        `json:"cpu"`
	QuietWait float64       `json:"otherCoresBefore"` // other processes' cores just before the run
	ServerRSS int64         `json:"serverRssBytes"`   // after the run
	ColdStart time.Duration `json:"coldStartNs"`
}

// ResolveSummary aggregates the rounds of one configuration (medians).
type ResolveSummary struct {
	Config         string        `json:"config"`
	Gen            string        `json:"generator"`
	RPS            float64       `json:"rps"`
	RPSMin, RPSMax float64       `json:"-"`
	P50, P99       time.Duration `json:"-"`
	Ratio          float64       `json:"ratioToHello"`
	RatioDirect    float64       `json:"ratioToDirect,omitempty"` // holdings: to the same call made directly
	Errors         int64         `json:"errors"`
}

// ResolveResults is what the scenario returns.
type ResolveResults struct {
	Params  ResolveParams    `json:"params"`
	Runs    []ResolveRun     `json:"runs"`
	Summary []ResolveSummary `json:"summary"`
}

// RunResolve seeds the databases and measures every configuration p.Rounds times,
// interleaved (hello, cached, sqlite, postgres, hello, ...), so drift of the machine
// shows as spread rather than as a bias against one configuration. Of p.Gens, wrk is
// left out (and said so) when it is not installed; none left means the built-in one.
func RunResolve(ctx context.Context, h *harness, p ResolveParams) (*ResolveResults, error) {
	var gens []string
	for _, g := range p.Gens {
		switch {
		case g == GenWrk && !WrkAvailable():
			h.logf("wrk is not installed (apt-get install -y wrk): measuring with the built-in generator only")
		case g == GenGo || g == GenWrk:
			if !slices.Contains(gens, g) {
				gens = append(gens, g)
			}
		default:
			return nil, fmt.Errorf("bench: unknown generator %q", g)
		}
	}
	if len(gens) == 0 {
		gens = []string{GenGo}
	}
	p.Gens = gens
	if p.Hot > p.Rows {
		p.Hot = p.Rows
	}
	if p.Hot <= 0 {
		p.Hot = p.Rows
	}
	res := &ResolveResults{Params: p}
	w := &workloads{h: h, rows: p.Rows, hot: p.Hot}
	defer w.close()
	for round := 1; round <= p.Rounds; round++ {
		for _, cfg := range p.Configs {
			name := fmt.Sprintf("%s-%d", cfg, round)
			var env map[string]string
			if p.ProfileDir != "" {
				env = map[string]string{"LINKVAULT_ADMIN_PPROF": "true"}
			}
			proc, tg, err := w.start(ctx, cfg, name, identity, env)
			if errors.Is(err, errSkipped) {
				continue
			}
			if err != nil {
				return nil, err
			}
			for gi, gen := range p.Gens {
				warm := p.Warmup
				if gi > 0 {
					warm = 0 // the server is warm already
				}
				profile := ""
				if p.ProfileDir != "" && gen == GenGo {
					profile = filepath.Join(p.ProfileDir, name+".pprof")
				}
				run, err := measure(ctx, h, proc, tg, LoadConfig{Conns: p.Conns, Duration: p.Duration, MaxRequests: p.Max}, warm, gen, profile)
				if err != nil {
					proc.Stop()
					return nil, err
				}
				run.Config, run.Gen, run.Round = cfg, gen, round
				if proc != nil {
					run.ColdStart = proc.ReadyAfter
				}
				res.Runs = append(res.Runs, *run)
				r := run.Result
				h.logf("  round %d %-8s %-3s %8.0f req/s  p50 %-9s p99 %-9s errors %d  cpu: server %.2f gen %.2f pg %.2f other %.2f",
					round, cfg, gen, r.RPS, fmtDur(r.P50), fmtDur(r.P99), r.Errors, run.CPU.Server, run.CPU.Generator, run.CPU.Postgres, run.CPU.Other)
				if r.Errors > 0 {
					h.logf("    first error: %s", r.FirstError)
				}
			}
			proc.Stop()
		}
	}
	for _, gen := range p.Gens {
		res.Summary = append(res.Summary, summarizeResolve(res.Runs, p.Configs, gen)...)
	}
	fmt.Fprint(h.out, res.Markdown())
	return res, nil
}

// measure warms a server up with the built-in generator (which also checks the
// answers), then runs the measured load with gen, with CPU accounting.
func measure(ctx context.Context, h *harness, proc *Proc, tg Target, cfg LoadConfig, warmup time.Duration, gen, profile string) (*ResolveRun, error) {
	if warmup > 0 {
		w := cfg
		w.Duration = warmup
		wr, err := Load(ctx, tg, w)
		if err != nil {
			return nil, err
		}
		if wr.Errors > 0 {
			return nil, fmt.Errorf("bench: %s: warm-up errors: %s", tg.Name, wr.FirstError)
		}
	}
	other := h.quiet(ctx)
	var pids []int
	if proc != nil { // nil: the target runs in this process (the simulator)
		pids = append(pids, proc.Pid())
	}
	m := startCPUMeter(pids...)
	profiled := make(chan error, 1)
	if profile != "" && proc != nil && proc.AdminURL != "" {
		go func() { profiled <- fetchProfile(ctx, proc.AdminURL, profile, cfg.Duration) }()
	} else {
		profiled <- nil
	}
	var r Result
	var err error
	var wrkCPU time.Duration
	if gen == GenWrk {
		r, wrkCPU, err = LoadWrk(ctx, h.dir, tg, cfg)
	} else {
		r, err = Load(ctx, tg, cfg)
	}
	if err != nil {
		return nil, err
	}
	cpu := m.stop()
	if err := <-profiled; err != nil {
		h.logf("    CPU profile not taken: %v", err)
	}
	if gen == GenWrk {
		// wrk is a child process: its CPU is not in this process's /proc times, and
		// the meter counted it as "other".
		wc := wrkCPU.Seconds() / r.Elapsed.Seconds()
		cpu.Generator += wc
		cpu.Other = max(0, cpu.Other-wc)
	}
	if r.Requests == 0 {
		return nil, fmt.Errorf("bench: %s: no request succeeded: %s", tg.Name, r.FirstError)
	}
	var mem Mem
	if proc != nil {
		mem, _ = ReadMem(proc.Pid())
	}
	return &ResolveRun{Result: r, CPU: cpu, QuietWait: other, ServerRSS: mem.RSS}, nil
}

// withHost returns the requests with the Host placeholder replaced.
func withHost(reqs [][]byte, addr string) [][]byte {
	out := make([][]byte, len(reqs))
	for i, r := range reqs {
		out[i] = bytes.Replace(r, []byte("Host: HOST\r\n"), []byte("Host: "+addr+"\r\n"), 1)
	}
	return out
}

func summarizeResolve(runs []ResolveRun, configs []string, gen string) []ResolveSummary {
	var out []ResolveSummary
	var helloRPS float64
	for _, cfg := range configs {
		var rps []float64
		var p50, p99 []time.Duration
		var errs int64
		for _, r := range runs {
			if r.Config != cfg || r.Gen != gen {
				continue
			}
			rps = append(rps, r.Result.RPS)
			p50 = append(p50, r.Result.P50)
			p99 = append(p99, r.Result.P99)
			errs += r.Result.Errors
		}
		if len(rps) == 0 {
			continue
		}
		s := ResolveSummary{Config: cfg, Gen: gen, RPS: median(rps), RPSMin: slices.Min(rps), RPSMax: slices.Max(rps),
			P50: median(p50), P99: median(p99), Errors: errs}
		if cfg == ConfigHello {
			helloRPS = s.RPS
		}
		out = append(out, s)
	}
	var directRPS float64
	for _, s := range out {
		if s.Config == ConfigDirect {
			directRPS = s.RPS
		}
	}
	for i := range out {
		if helloRPS > 0 {
			out[i].Ratio = out[i].RPS / helloRPS
		}
		if out[i].Config == ConfigHoldings && directRPS > 0 {
			out[i].RatioDirect = out[i].RPS / directRPS
		}
	}
	return out
}

func median[T int64 | float64 | time.Duration](v []T) T {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

var resolveTargets = map[string]struct {
	rps float64
	p99 time.Duration
	txt string
}{
	ConfigHello:    {0, 0, "~45k req/s (reference)"},
	ConfigCached:   {30000, 7 * time.Millisecond, "≥ 30k req/s, p99 ≤ 7 ms"},
	ConfigSQLite:   {15000, 0, "≥ 15k req/s"},
	ConfigPostgres: {10000, 0, "≥ 10k req/s"},
	ConfigHoldings: {0, 0, "≥ 0.6× direct"},
	ConfigDirect:   {0, 0, "(baseline of holdings)"},
	// Issue 19: linktoken writes at 32 connections with p99 ≤ 10 ms.
	ConfigLinkTokenSQLite:   {15000, 10 * time.Millisecond, "≥ 15k req/s, p99 ≤ 10 ms"},
	ConfigLinkTokenPostgres: {8000, 10 * time.Millisecond, "≥ 8k req/s, p99 ≤ 10 ms"},
}

// Markdown renders the summary table and the per-run table.
func (r *ResolveResults) Markdown() string {
	var b strings.Builder
	p := r.Params
	fmt.Fprintf(&b, "\nResolve over HTTP (POST %s), %d connections, %s per run after %s warm-up, %d rounds (medians; range in brackets)\n\n",
		ResolvePath, p.Conns, p.Duration, p.Warmup, p.Rounds)
	fmt.Fprintf(&b, "| configuration | generator | target | req/s | p50 | p99 | ratio to hello | errors |\n|---|---|---|---:|---:|---:|---:|---:|\n")
	for _, s := range r.Summary {
		t := resolveTargets[s.Config]
		verdict := ""
		if t.rps > 0 {
			verdict = " ✅"
			if s.RPS < t.rps || (t.p99 > 0 && s.P99 > t.p99) {
				verdict = " ❌"
			}
		}
		if s.Config == ConfigHoldings && s.RatioDirect > 0 {
			verdict = " ✅"
			if s.RatioDirect < 0.6 {
				verdict = " ❌"
			}
			verdict += fmt.Sprintf(" (%.2f× direct)", s.RatioDirect)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %.0f [%.0f–%.0f]%s | %s | %s | %.2f | %d |\n",
			s.Config, s.Gen, t.txt, s.RPS, s.RPSMin, s.RPSMax, verdict, fmtDur(s.P50), fmtDur(s.P99), s.Ratio, s.Errors)
	}
	fmt.Fprintf(&b, "\n| run | req/s | p50 | p90 | p99 | p99.9 | max | server CPU | generator CPU | PostgreSQL CPU | other CPU | other before | load1 |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, run := range r.Runs {
		x := run.Result
		fmt.Fprintf(&b, "| %s %s #%d | %.0f | %s | %s | %s | %s | %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |\n",
			run.Config, run.Gen, run.Round, x.RPS, fmtDur(x.P50), fmtDur(x.P90), fmtDur(x.P99), fmtDur(x.P999), fmtDur(x.Max),
			run.CPU.Server, run.CPU.Generator, run.CPU.Postgres, run.CPU.Other, run.QuietWait, run.CPU.LoadAvg)
	}
	return b.String()
}

// fetchProfile saves the server's CPU profile over most of a measured run of length d.
func fetchProfile(ctx context.Context, adminURL, path string, d time.Duration) error {
	secs := max(1, int((d-500*time.Millisecond)/time.Second))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", adminURL, secs), nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", res.StatusCode)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, res.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func fmtDur(d time.Duration) string {
	switch {
	case d <= 0:
		return "–"
	case d < time.Millisecond:
		return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
	case d < time.Second:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
}
