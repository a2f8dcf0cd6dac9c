package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Proc is a server process started by the harness.
type Proc struct {
	Name string
	Addr string // host:port it listens on
	URL  string // http://Addr
	// AdminURL is the admin listener's base URL (linkvault's /readyz and /metrics), for
	// a spec with Admin set.
	AdminURL string
	LogPath  string
	// ReadyAfter is the time from process start to the first 200 from the ready path:
	// the cold start time.
	ReadyAfter time.Duration

	cmd  *exec.Cmd
	done chan struct{}
}

var (
	listeningLine = regexp.MustCompile(`listening on (\S+)`)
	adminLine     = regexp.MustCompile(`admin listening on (\S+)`)
)

// ProcSpec describes a server to start.
type ProcSpec struct {
	Name      string
	Path      string   // executable
	Args      []string // arguments
	Env       map[string]string
	LogPath   string // stderr goes here
	ReadyPath string // polled until it answers 200, e.g. /readyz
	// Admin: the process also prints "... admin listening on host:port" (linkvault
	// serve), and ReadyPath is polled there.
	Admin   bool
	Timeout time.Duration
}

// StartProc starts a server that prints "... listening on host:port" on stdout, and
// waits until its ready path answers 200. Every LINKVAULT_* variable of the harness's
// own environment is dropped, so only spec.Env configures the server.
func StartProc(ctx context.Context, spec ProcSpec) (*Proc, error) {
	if spec.Timeout <= 0 {
		spec.Timeout = 2 * time.Minute
	}
	logFile, err := os.Create(spec.LogPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(spec.Path, spec.Args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LINKVAULT_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	for _, k := range sortedKeys(spec.Env) {
		cmd.Env = append(cmd.Env, k+"="+spec.Env[k])
	}
	cmd.Stderr = logFile
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		logFile.Close()
		return nil, err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, err
	}
	p := &Proc{Name: spec.Name, LogPath: spec.LogPath, cmd: cmd, done: make(chan struct{})}
	addr, admin := make(chan string, 1), make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sent := false
		for sc.Scan() {
			if m := adminLine.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case admin <- m[1]:
				default:
				}
				continue
			}
			if m := listeningLine.FindStringSubmatch(sc.Text()); m != nil && !sent {
				addr <- m[1]
				sent = true
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	go func() {
		_ = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	fail := func(err error) (*Proc, error) {
		p.Stop()
		return nil, fmt.Errorf("%s: %w\n%s", spec.Name, err, tail(spec.LogPath, 2000))
	}
	timeout := time.NewTimer(spec.Timeout)
	defer timeout.Stop()
	a, err := awaitStart(ctx, p.done, timeout.C, addr, "exited before listening", "did not start listening in time")
	if err != nil {
		return fail(err)
	}
	p.Addr = a
	p.URL = "http://" + a
	if err := checkLoopback(p.Addr); err != nil {
		return fail(err)
	}
	readyBase := p.URL
	if spec.Admin {
		a, err := awaitStart(ctx, p.done, timeout.C, admin, "exited before its admin listener listened", "admin listener did not listen in time")
		if err != nil {
			return fail(err)
		}
		p.AdminURL = "http://" + a
		readyBase = p.AdminURL
	}
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for {
		res, err := client.Get(readyBase + spec.ReadyPath)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				p.ReadyAfter = time.Since(start)
				return p, nil
			}
		}
		if _, err := awaitStart(ctx, p.done, timeout.C, time.After(2*time.Millisecond), "exited before it was ready", "not ready in time"); err != nil {
			return fail(err)
		}
	}
}

// awaitStart waits for a value on ch while a starting process runs: it fails with
// exited when the process ends first (done), with late when the start timeout fires,
// and with ctx's error when ctx ends.
func awaitStart[T any](ctx context.Context, done <-chan struct{}, timeout <-chan time.Time, ch <-chan T, exited, late string) (T, error) {
	var zero T
	select {
	case v := <-ch:
		return v, nil
	case <-done:
		return zero, errors.New(exited)
	case <-timeout:
		return zero, errors.New(late)
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// Pid is the process id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Stop ends the process gracefully (SIGTERM; SIGKILL after 30 s) and waits for it.
func (p *Proc) Stop() {
	if p == nil || p.cmd.Process == nil {
		return
	}
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// Mem is a process's memory from /proc/<pid>/status.
type Mem struct {
	RSS int64 `json:"rssBytes"` // VmRSS
	HWM int64 `json:"hwmBytes"` // VmHWM: peak RSS since start
}

// ReadMem reads VmRSS and VmHWM of pid.
func ReadMem(pid int) (Mem, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Mem{}, err
	}
	var m Mem
	for line := range strings.SplitSeq(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			m.RSS = kb << 10
		case "VmHWM:":
			m.HWM = kb << 10
		}
	}
	return m, nil
}

// procSyscalls returns the read and write system calls pid has made (syscr + syscw of
// /proc/<pid>/io), 0 when unreadable: with keep-alive connections, about two per round
// trip to the database or the exchange, whatever the machine's load.
func procSyscalls(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return 0
	}
	var n int64
	for line := range strings.SplitSeq(string(b), "\n") {
		k, v, ok := strings.Cut(line, ": ")
		if ok && (k == "syscr" || k == "syscw") {
			c, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			n += c
		}
	}
	return n
}

// clockTicks is USER_HZ, the unit of /proc CPU times; 100 on every Linux we run on.
const clockTicks = 100

// procCPU returns the user+system CPU time of pid (all its threads).
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	return statCPU(string(b))
}

func statCPU(stat string) time.Duration {
	// The command name may contain spaces; fields resume after the last ')'.
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(stat[i+1:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / clockTicks
}

// commCPU sums the CPU time of every process whose command name is comm (e.g. the
// PostgreSQL server's backends).
func commCPU(comm string) time.Duration {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	var total time.Duration
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(b)
		if strings.Contains(s, "("+comm+")") {
			total += statCPU(s)
		}
	}
	return total
}

// systemCPU returns the busy and total CPU time of the machine from /proc/stat.
func systemCPU() (busy, total time.Duration) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0, 0
	}
	var sum, idle int64
	for i, s := range f[1:] {
		if i >= 8 { // guest times are already counted in user
			break
		}
		v, _ := strconv.ParseInt(s, 10, 64)
		sum += v
		if i == 3 || i == 4 { // idle, iowait
			idle += v
		}
	}
	return time.Duration(sum-idle) * time.Second / clockTicks, time.Duration(sum) * time.Second / clockTicks
}

// LoadAvg returns the 1-minute load average.
func LoadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return -1
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// CPUUse is where the machine's CPU went during a measurement, in cores (1.0 = one
// core busy for the whole interval).
type CPUUse struct {
	Server    float64 `json:"server"`    // the measured server process(es)
	Generator float64 `json:"generator"` // this process (the load generator)
	Postgres  float64 `json:"postgres"`  // PostgreSQL backends
	Other     float64 `json:"other"`     // everything else: other users of the machine
	LoadAvg   float64 `json:"loadavg1"`  // 1-minute load average before the run
}

// cpuMeter measures CPUUse over an interval.
type cpuMeter struct {
	pids                   []int
	t0                     time.Time
	busy0, srv0, gen0, pg0 time.Duration
	load                   float64
}

func startCPUMeter(pids ...int) *cpuMeter {
	m := &cpuMeter{pids: pids, load: LoadAvg(), t0: time.Now()}
	m.busy0, _ = systemCPU()
	m.srv0 = m.serverCPU()
	m.gen0 = procCPU(os.Getpid())
	m.pg0 = commCPU("postgres")
	return m
}

func (m *cpuMeter) serverCPU() time.Duration {
	var d time.Duration
	for _, p := range m.pids {
		d += procCPU(p)
	}
	return d
}

func (m *cpuMeter) stop() CPUUse {
	el := time.Since(m.t0).Seconds()
	busy, _ := systemCPU()
	u := CPUUse{
		Server:    (m.serverCPU() - m.srv0).Seconds() / el,
		Generator: (procCPU(os.Getpid()) - m.gen0).Seconds() / el,
		// Backends that exit during the interval take their CPU time with them; never
		// report less than nothing.
		Postgres: max(0, (commCPU("postgres")-m.pg0).Seconds()/el),
		LoadAvg:  m.load,
	}
	u.Other = max(0, (busy-m.busy0).Seconds()/el-u.Server-u.Generator-u.Postgres)
	return u
}

// WaitQuiet waits (at most maxWait) until the machine looks idle apart from us: the
// share of CPU used by other processes over a 2-second window is below maxOther cores.
// It returns the last observed value; maxOther <= 0 disables the check (returns -1).
func WaitQuiet(ctx context.Context, maxOther float64, maxWait time.Duration, log io.Writer) float64 {
	if maxOther <= 0 {
		return -1
	}
	deadline := time.Now().Add(maxWait)
	for {
		m := startCPUMeter()
		select {
		case <-ctx.Done():
			return -1
		case <-time.After(2 * time.Second):
		}
		u := m.stop()
		other := u.Other + u.Postgres
		if other < maxOther || !time.Now().Before(deadline) {
			return other
		}
		if log != nil {
			fmt.Fprintf(log, "  machine busy (%.2f cores used by other processes, load %.2f); waiting\n", other, u.LoadAvg)
		}
	}
}
