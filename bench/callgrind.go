package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// CallgrindParams configures the instructions scenario: every server runs under
// valgrind's callgrind tool, is warmed up, has its counters zeroed, answers exactly N
// requests on one keep-alive connection, and has its counters dumped. Instructions per
// request = instructions executed by the whole server process (every goroutine, the GC,
// the runtime) between zero and dump, divided by N. The count does not depend on what
// else the machine is doing, so it is the figure to compare changes with on a busy
// machine (throughput is not).
type CallgrindParams struct {
	N       int // measured requests per configuration
	Warmup  int // requests before the counters are zeroed
	Rows    int // connections seeded
	Configs []string
}

// flags declares the scenario's flags into p.
func (p *CallgrindParams) flags(fs *flagSet) {
	fs.IntVar(&p.N, "n", 2000, "measured requests per configuration")
	fs.IntVar(&p.Warmup, "warmup-requests", 500, "requests before the counters are zeroed")
	fs.IntVar(&p.Rows, "rows", 5000, "connections seeded")
	fs.list(&p.Configs, "configs", "hello,cached,sqlite,postgres,holdings,direct", "configurations to count")
}

// CallgrindRun is one configuration's count.
type CallgrindRun struct {
	Config          string        `json:"config"`
	Requests        int           `json:"requests"`
	Instructions    int64         `json:"instructions"`     // while answering the requests
	Idle            int64         `json:"idleInstructions"` // in as much time without requests (subtracted)
	Elapsed         time.Duration `json:"elapsedNs"`
	PerRequest      float64       `json:"instructionsPerRequest"`
	RatioToHello    float64       `json:"ratioToHello"`
	CallgrindOutput string        `json:"callgrindOutput"` // the dump, for callgrind_annotate
}

// CallgrindResults is what the scenario returns.
type CallgrindResults struct {
	Params CallgrindParams `json:"params"`
	Runs   []CallgrindRun  `json:"runs"`
}

// ValgrindAvailable reports whether valgrind and callgrind_control are installed.
func ValgrindAvailable() bool {
	_, e1 := exec.LookPath("valgrind")
	_, e2 := exec.LookPath("callgrind_control")
	return e1 == nil && e2 == nil
}

// RunCallgrind counts instructions per request for every configuration.
func RunCallgrind(ctx context.Context, h *harness, p CallgrindParams) (*CallgrindResults, error) {
	if !ValgrindAvailable() {
		return nil, errors.New("bench: valgrind is not installed (apt-get install -y valgrind)")
	}
	res := &CallgrindResults{Params: p}
	// A server starts 20-50 times slower under callgrind, and more on a busy machine.
	h.startTimeout = 15 * time.Minute
	// The warm-up visits every tokenId of the hot set once, so the measured requests
	// (which rotate over the same set) find the resolve cache filled.
	p.Warmup = min(max(p.Warmup, 1), p.Rows)
	w := &workloads{h: h, rows: p.Rows, hot: p.Warmup}
	defer w.close()
	for _, cfg := range p.Configs {
		run, err := callgrindOnce(ctx, h, w, p, cfg)
		if errors.Is(err, errSkipped) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", cfg, err)
		}
		h.logf("  %-9s %10.0f instructions per request", cfg, run.PerRequest)
		res.Runs = append(res.Runs, *run)
	}
	var hello float64
	for _, r := range res.Runs {
		if r.Config == ConfigHello {
			hello = r.PerRequest
		}
	}
	for i := range res.Runs {
		if hello > 0 {
			res.Runs[i].RatioToHello = res.Runs[i].PerRequest / hello
		}
	}
	fmt.Fprint(h.out, res.Markdown())
	return res, nil
}

func callgrindOnce(ctx context.Context, h *harness, w *workloads, p CallgrindParams, cfg string) (*CallgrindRun, error) {
	out := filepath.Join(h.dir, "callgrind."+cfg)
	// Go's asynchronous preemption signals trip an assertion in callgrind; goroutines
	// are still preempted at function calls. Valgrind 3.19 (Debian 12) does not decode
	// RDTSCP, which the runtime's cputicks uses when the CPU has it (reached from lock
	// contention, so at random): the process died of SIGILL before it listened.
	// cpu.rdtscp=off makes cputicks use RDTSC with fences instead.
	wrap := func(path string, args ...string) (string, []string) {
		return "valgrind", append([]string{"--tool=callgrind", "--callgrind-out-file=" + out, path}, args...)
	}
	env := map[string]string{"GODEBUG": "asyncpreemptoff=1,cpu.rdtscp=off"}
	proc, tg, err := w.start(ctx, cfg, cfg+"-callgrind", wrap, env)
	if err != nil {
		return nil, err
	}
	defer proc.Stop()
	// The first requests go through the warm-up (caches filled, connections made).
	if err := sendSequential(ctx, tg, p.Warmup, 0); err != nil {
		return nil, fmt.Errorf("warm-up: %w", err)
	}
	pid := strconv.Itoa(proc.Pid())
	if err := callgrindControl(ctx, "-z", pid); err != nil {
		return nil, err
	}
	start := time.Now()
	if err := sendSequential(ctx, tg, p.N, p.Warmup); err != nil {
		return nil, err
	}
	busy := time.Since(start)
	total, err := callgrindDump(ctx, pid, out+".1")
	if err != nil {
		return nil, err
	}
	// What the process does by itself in as much time (tickers, pollers, the key set
	// reload, GC of idle memory): counted the same way with no request, and taken off.
	// Under callgrind on a busy machine the requests take long enough for it to show.
	if err := callgrindControl(ctx, "-z", pid); err != nil {
		return nil, err
	}
	select {
	case <-time.After(busy):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	idle, err := callgrindDump(ctx, pid, out+".2")
	if err != nil {
		return nil, err
	}
	return &CallgrindRun{Config: cfg, Requests: p.N, Instructions: total, Idle: idle, Elapsed: busy,
		PerRequest: float64(total-idle) / float64(p.N), CallgrindOutput: out + ".1"}, nil
}

func callgrindControl(ctx context.Context, flag, pid string) error {
	if b, err := exec.CommandContext(ctx, "callgrind_control", flag, pid).CombinedOutput(); err != nil {
		return fmt.Errorf("callgrind_control %s: %v: %s", flag, err, b)
	}
	return nil
}

// callgrindDump dumps the counters of pid into file (callgrind numbers its dumps) and
// returns its total.
func callgrindDump(ctx context.Context, pid, file string) (int64, error) {
	if err := callgrindControl(ctx, "-d", pid); err != nil {
		return 0, err
	}
	for deadline := time.Now().Add(time.Minute); ; {
		total, err := callgrindTotal(file)
		if err == nil {
			return total, nil
		}
		if time.Now().After(deadline) {
			return 0, err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// callgrindTotal reads the "totals:" line of a callgrind dump.
func callgrindTotal(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "totals: "); ok {
			return strconv.ParseInt(strings.Fields(v)[0], 10, 64)
		}
	}
	return 0, fmt.Errorf("%s: no totals line (dump not complete)", path)
}

// sendSequential sends n requests of t, one at a time, on one keep-alive connection,
// starting at request index first, and checks every status (and the first body).
func sendSequential(ctx context.Context, t Target, n, first int) error {
	if len(t.Requests) == 0 {
		return errors.New("bench: no requests")
	}
	if err := checkLoopback(t.Addr); err != nil {
		return err
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", t.Addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	for i := range n {
		if err := ctx.Err(); err != nil {
			return err
		}
		_ = conn.SetDeadline(time.Now().Add(time.Minute))
		if _, err := conn.Write(t.Requests[(first+i)%len(t.Requests)]); err != nil {
			return err
		}
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			return err
		}
		var body bytes.Buffer
		_, err = body.ReadFrom(res.Body)
		res.Body.Close()
		if err != nil {
			return err
		}
		if res.StatusCode != t.WantStatus {
			return fmt.Errorf("%s: status %d: %.200s", t.Name, res.StatusCode, body.Bytes())
		}
		if i == 0 && t.Check != nil {
			if err := t.Check(body.Bytes()); err != nil {
				return err
			}
		}
	}
	return nil
}

// Markdown renders the counts.
func (r *CallgrindResults) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "\nInstructions per request (valgrind --tool=callgrind, whole server process, %d requests after %d warm-up, one keep-alive connection)\n\n",
		r.Params.N, r.Params.Warmup)
	fmt.Fprintf(&b, "| configuration | instructions per request | ratio to hello | idle share subtracted |\n|---|---:|---:|---:|\n")
	for _, run := range r.Runs {
		fmt.Fprintf(&b, "| %s | %.0f | %.2f | %.1f%% |\n", run.Config, run.PerRequest, run.RatioToHello, 100*float64(run.Idle)/float64(max(run.Instructions, 1)))
	}
	return b.String()
}
