package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Load generators.
const (
	GenGo  = "go"  // Load: this package's closed-loop HTTP/1.1 client, in this process
	GenWrk = "wrk" // wrk (Debian package "wrk"), a separate process
)

// WrkAvailable reports whether wrk is on PATH.
func WrkAvailable() bool {
	_, err := exec.LookPath("wrk")
	return err == nil
}

// LoadWrk runs the same closed-loop load as Load with wrk (2 threads, cfg.Conns
// connections, cfg.Duration) as a separate process. A Lua script sends t.Requests in
// rotation, each thread starting at a different offset. wrk reports no per-request
// body check, so callers validate the target with Load first (the warm-up does).
// The returned CPU time is wrk's (user + system).
func LoadWrk(ctx context.Context, dir string, t Target, cfg LoadConfig) (Result, time.Duration, error) {
	if err := checkLoopback(t.Addr); err != nil {
		return Result{}, 0, err
	}
	if !WrkAvailable() {
		return Result{}, 0, errors.New("bench: wrk is not installed (apt-get install -y wrk), or use -gen go")
	}
	script := filepath.Join(dir, "requests.lua")
	var b bytes.Buffer
	b.WriteString("local reqs = {\n")
	for _, r := range t.Requests {
		// Requests are printable ASCII plus CR LF: Go's quoting is valid Lua (LuaJIT).
		b.WriteString(strconv.Quote(string(r)))
		b.WriteString(",\n")
	}
	b.WriteString(`}
local i = 0
local n = #reqs
local counter = 0
setup = function(thread)
  thread:set("start", counter * 7919)
  counter = counter + 1
end
init = function(args)
  i = (start or 0) % n
end
request = function()
  i = i + 1
  if i > n then i = 1 end
  return reqs[i]
end
`)
	if err := os.WriteFile(script, b.Bytes(), 0o600); err != nil {
		return Result{}, 0, err
	}
	secs := max(1, int(cfg.Duration.Round(time.Second)/time.Second))
	cmd := exec.CommandContext(ctx, "wrk", "-t2", "-c"+strconv.Itoa(cfg.Conns), "-d"+strconv.Itoa(secs)+"s",
		"--latency", "--timeout", "10s", "-s", script, "http://"+t.Addr+"/")
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	start := time.Now()
	err := cmd.Run()
	elapsed := time.Since(start)
	var cpu time.Duration
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok && ru != nil {
		cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	if err != nil {
		return Result{}, cpu, fmt.Errorf("wrk: %v\n%s%s", err, out.String(), stderr.String())
	}
	res, err := parseWrk(out.String())
	if err != nil {
		return Result{}, cpu, fmt.Errorf("wrk output: %w\n%s", err, out.String())
	}
	res.Name, res.Conns = t.Name, cfg.Conns
	if res.Elapsed == 0 {
		res.Elapsed = elapsed
	}
	return res, cpu, nil
}

// parseWrk reads wrk's --latency report.
func parseWrk(s string) (Result, error) {
	var r Result
	var total int64
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 2 && strings.HasSuffix(f[0], "%"):
			d, err := parseWrkDuration(f[1])
			if err != nil {
				return r, err
			}
			switch f[0] {
			case "50%":
				r.P50 = d
			case "90%":
				r.P90 = d
			case "99%":
				r.P99 = d
			}
		case len(f) >= 5 && f[1] == "requests" && f[2] == "in":
			total, _ = strconv.ParseInt(f[0], 10, 64)
			d, err := parseWrkDuration(strings.TrimSuffix(f[3], ","))
			if err != nil {
				return r, err
			}
			r.Elapsed = d
		case len(f) == 2 && f[0] == "Requests/sec:":
			r.RPS, _ = strconv.ParseFloat(f[1], 64)
		case len(f) >= 5 && f[0] == "Non-2xx":
			n, _ := strconv.ParseInt(f[len(f)-1], 10, 64)
			r.Errors += n
			r.FirstError = "non-2xx responses"
		case len(f) >= 2 && f[0] == "Socket" && f[1] == "errors:":
			// "Socket errors: connect 0, read 0, write 0, timeout 0"
			for i := 2; i+1 < len(f); i += 2 {
				n, _ := strconv.ParseInt(strings.TrimSuffix(f[i+1], ","), 10, 64)
				r.Errors += n
			}
		case len(f) >= 2 && f[0] == "Latency" && len(f) >= 4:
			if d, err := parseWrkDuration(f[3]); err == nil {
				r.Max = d
			}
		}
	}
	if r.RPS == 0 || total == 0 {
		return r, errors.New("no Requests/sec line")
	}
	r.Requests = total - r.Errors
	return r, nil
}

func parseWrkDuration(s string) (time.Duration, error) {
	for _, u := range []struct {
		suffix string
		unit   time.Duration
	}{{"us", time.Microsecond}, {"ms", time.Millisecond}, {"m", time.Minute}, {"s", time.Second}} {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return 0, fmt.Errorf("bad duration %q", s)
			}
			return time.Duration(f * float64(u.unit)), nil
		}
	}
	return 0, fmt.Errorf("bad duration %q", s)
}
