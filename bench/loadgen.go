package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Target is what a load run sends: raw HTTP/1.1 requests to one loopback address.
// Requests are serialised once up front and sent in rotation, so the generator spends
// its CPU on the socket, not on building requests.
type Target struct {
	Name string
	Addr string // host:port; must be a loopback address
	// Requests are complete HTTP/1.1 requests (keep-alive). Worker w sends
	// Requests[(w + k*Conns) % len] on its k-th request.
	Requests [][]byte
	// WantStatus is the expected HTTP status; any other counts as an error.
	WantStatus int
	// Check, if set, validates the body of each worker's first response.
	Check func(body []byte) error
}

// LoadConfig bounds a closed-loop run: every connection sends its next request as soon
// as the previous answer is read. The run stops at Duration or after MaxRequests,
// whichever comes first.
type LoadConfig struct {
	Conns       int
	Duration    time.Duration
	MaxRequests int64 // 0: bounded by Duration only
}

// Result is the outcome of one load run.
type Result struct {
	Name     string        `json:"name"`
	Conns    int           `json:"conns"`
	Requests int64         `json:"requests"` // completed with the expected status
	Errors   int64         `json:"errors"`   // wrong status, I/O error or failed check
	Elapsed  time.Duration `json:"elapsedNs"`
	RPS      float64       `json:"rps"`
	P50      time.Duration `json:"p50Ns"`
	P90      time.Duration `json:"p90Ns"`
	P99      time.Duration `json:"p99Ns"`
	P999     time.Duration `json:"p999Ns"`
	Max      time.Duration `json:"maxNs"`
	// FirstError describes the first error seen, if any.
	FirstError string `json:"firstError,omitempty"`
}

// maxSamplesPerConn bounds the memory of one run (8 bytes per sample).
const maxSamplesPerConn = 1 << 21

// Load runs a closed-loop load test against t and returns throughput and latency
// percentiles over every completed request (sorted samples, exact percentiles).
func Load(ctx context.Context, t Target, cfg LoadConfig) (Result, error) {
	if cfg.Conns <= 0 {
		cfg.Conns = 1
	}
	if cfg.Duration <= 0 {
		return Result{}, errors.New("bench: load: duration must be positive")
	}
	if len(t.Requests) == 0 {
		return Result{}, errors.New("bench: load: no requests")
	}
	if err := checkLoopback(t.Addr); err != nil {
		return Result{}, err
	}
	if t.WantStatus == 0 {
		t.WantStatus = 200
	}
	// Connect every worker first, so connection setup is not part of the measurement.
	conns := make([]net.Conn, cfg.Conns)
	for i := range conns {
		c, err := net.DialTimeout("tcp", t.Addr, 5*time.Second)
		if err != nil {
			for _, c := range conns[:i] {
				c.Close()
			}
			return Result{}, fmt.Errorf("bench: load %s: dial: %w", t.Name, err)
		}
		conns[i] = c
	}

	var (
		sent     atomic.Int64
		errCount atomic.Int64
		firstErr atomic.Pointer[string]
		wg       sync.WaitGroup
	)
	samples := make([][]time.Duration, cfg.Conns)
	start := time.Now()
	deadline := start.Add(cfg.Duration)
	stop := make(chan struct{})
	stopOnce := sync.OnceFunc(func() { close(stop) })
	defer stopOnce()
	go func() {
		select {
		case <-ctx.Done():
			stopOnce()
		case <-stop:
		}
	}()
	recordErr := func(err error) {
		errCount.Add(1)
		msg := err.Error()
		firstErr.CompareAndSwap(nil, &msg)
	}

	for w := range cfg.Conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn := conns[w]
			defer func() { conn.Close() }()
			br := bufio.NewReaderSize(conn, 32<<10)
			// No read may outlive the run by much, whatever the server does.
			_ = conn.SetDeadline(deadline.Add(10 * time.Second))
			lat := make([]time.Duration, 0, 4096)
			checked := t.Check == nil
			var body []byte
			for k := 0; ; k++ {
				select {
				case <-stop:
					samples[w] = lat
					return
				default:
				}
				if cfg.MaxRequests > 0 && sent.Add(1) > cfg.MaxRequests {
					samples[w] = lat
					return
				}
				req := t.Requests[(w+k*cfg.Conns)%len(t.Requests)]
				t0 := time.Now()
				if !t0.Before(deadline) {
					samples[w] = lat
					return
				}
				if _, err := conn.Write(req); err != nil {
					recordErr(err)
					if conn, br = redial(t.Addr, deadline); conn == nil {
						samples[w] = lat
						return
					}
					continue
				}
				var keep *[]byte
				if !checked {
					keep = &body
				}
				status, closeConn, err := readResponse(br, keep)
				d := time.Since(t0)
				switch {
				case err != nil:
					recordErr(err)
					conn.Close()
					if conn, br = redial(t.Addr, deadline); conn == nil {
						samples[w] = lat
						return
					}
					continue
				case status != t.WantStatus:
					recordErr(fmt.Errorf("status %d, want %d", status, t.WantStatus))
				case !checked:
					checked = true
					if err := t.Check(body); err != nil {
						recordErr(fmt.Errorf("check: %w", err))
					} else if len(lat) < maxSamplesPerConn {
						lat = append(lat, d)
					}
				default:
					if len(lat) < maxSamplesPerConn {
						lat = append(lat, d)
					}
				}
				if closeConn {
					conn.Close()
					if conn, br = redial(t.Addr, deadline); conn == nil {
						samples[w] = lat
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	// Requests in flight at the deadline finish after it: throughput is over the time
	// the run actually took.
	elapsed := time.Since(start)
	var all []time.Duration
	for _, s := range samples {
		all = append(all, s...)
	}
	res := Result{Name: t.Name, Conns: cfg.Conns, Requests: int64(len(all)), Errors: errCount.Load(), Elapsed: elapsed}
	if p := firstErr.Load(); p != nil {
		res.FirstError = *p
	}
	if len(all) > 0 {
		slices.Sort(all)
		res.RPS = float64(len(all)) / elapsed.Seconds()
		res.P50 = percentile(all, 0.50)
		res.P90 = percentile(all, 0.90)
		res.P99 = percentile(all, 0.99)
		res.P999 = percentile(all, 0.999)
		res.Max = all[len(all)-1]
	}
	return res, nil
}

func redial(addr string, deadline time.Time) (net.Conn, *bufio.Reader) {
	if !time.Now().Before(deadline) {
		return nil, nil
	}
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return nil, nil
	}
	_ = c.SetDeadline(deadline.Add(10 * time.Second))
	return c, bufio.NewReaderSize(c, 32<<10)
}

// percentile returns the nearest-rank percentile q (0..1] of sorted samples.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.999999) - 1
	i = max(0, min(i, len(sorted)-1))
	return sorted[i]
}

// readResponse reads one HTTP/1.1 response from br. It returns the status code and
// whether the server will close the connection; the body is discarded unless keep is
// non-nil, in which case it is stored there.
func readResponse(br *bufio.Reader, keep *[]byte) (status int, closeConn bool, err error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return 0, false, err
	}
	// "HTTP/1.1 200 OK\r\n"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, false, fmt.Errorf("malformed status line %q", line)
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, false, fmt.Errorf("malformed status line %q", line)
	}
	contentLength := -1
	chunked := false
	for {
		line, err = br.ReadSlice('\n')
		if err != nil {
			return 0, false, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		i := bytes.IndexByte(line, ':')
		if i < 0 {
			continue
		}
		name, value := line[:i], bytes.TrimSpace(line[i+1:])
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			contentLength, err = strconv.Atoi(string(value))
			if err != nil {
				return 0, false, fmt.Errorf("bad Content-Length %q", value)
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			closeConn = bytes.EqualFold(value, []byte("close"))
		}
	}
	w := io.Writer(io.Discard)
	var buf *bytes.Buffer
	if keep != nil {
		buf = new(bytes.Buffer)
		w = buf
	}
	switch {
	case chunked:
		for {
			line, err = br.ReadSlice('\n')
			if err != nil {
				return 0, false, err
			}
			line = bytes.TrimRight(line, "\r\n")
			if i := bytes.IndexByte(line, ';'); i >= 0 {
				line = line[:i]
			}
			n, err := strconv.ParseInt(string(line), 16, 64)
			if err != nil {
				return 0, false, fmt.Errorf("bad chunk size %q", line)
			}
			if n == 0 {
				// Trailers, then the blank line.
				for {
					line, err = br.ReadSlice('\n')
					if err != nil {
						return 0, false, err
					}
					if len(bytes.TrimRight(line, "\r\n")) == 0 {
						break
					}
				}
				break
			}
			if _, err := io.CopyN(w, br, n); err != nil {
				return 0, false, err
			}
			if _, err := br.Discard(2); err != nil {
				return 0, false, err
			}
		}
	case contentLength >= 0:
		if keep != nil {
			if _, err := io.CopyN(w, br, int64(contentLength)); err != nil {
				return 0, false, err
			}
		} else if _, err := br.Discard(contentLength); err != nil {
			return 0, false, err
		}
	default:
		return 0, false, errors.New("response without Content-Length or chunked encoding")
	}
	if keep != nil {
		*keep = buf.Bytes()
	}
	return status, closeConn, nil
}

// checkLoopback refuses to load anything but 127.0.0.0/8 (or ::1).
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("bench: bad address %q: %w", addr, err)
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("bench: refusing to load %q: only loopback addresses (127.0.0.0/8) are allowed", addr)
	}
	return nil
}

// PostJSON serialises a keep-alive POST request with the given headers and JSON body.
func PostJSON(host, path string, headers map[string]string, body []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n", path, host, len(body))
	for _, k := range sortedKeys(headers) {
		fmt.Fprintf(&b, "%s: %s\r\n", k, headers[k])
	}
	b.WriteString("\r\n")
	b.Write(body)
	return b.Bytes()
}

// Get serialises a keep-alive GET request.
func Get(host, path string) []byte {
	return []byte("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n")
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
