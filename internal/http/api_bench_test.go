package http_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"

	"github.com/linkvault/linkvault"
)

// BenchmarkHoldings is POST /api/v1/holdings/get end to end over loopback (auth,
// resolve, decrypt, the adapter's call to the simulated exchange, the audit entry,
// JSON) on the production assembly.
func BenchmarkHoldings(b *testing.B) {
	e := newAPIEnv(b)
	tok := e.connect(b, "app1", "bench", linkvault.BrokerSandbox, linkvault.PermissionRead)
	body := `{"authToken":"` + tok + `","type":"sandbox"}`
	secret := e.keys["app1"][linkvault.PermissionRead]
	b.ResetTimer()
	cpu0 := processCPU()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest("POST", e.url+"/api/v1/holdings/get", strings.NewReader(body))
			req.Header.Set("X-Client-Id", "app1")
			req.Header.Set("X-Client-Secret", secret)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != 200 {
				b.Errorf("status %d", res.StatusCode)
				return
			}
		}
	})
	_ = e.recorder.Flush(context.Background()) // the writes are part of the cost
	b.StopTimer()
	// CPU time of the whole process (client, server, simulated exchange, audit writer)
	// per request: robust to other load on the machine, unlike ns/op.
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
	if s := e.recorder.Stats(); s.Dropped != 0 || s.Failed != 0 {
		b.Fatalf("audit lost entries: %+v", s)
	}
}

// processCPU is the user+system CPU time the process has used, in nanoseconds.
func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
