package audit_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/audit"
	"github.com/linkvault/linkvault/internal/testdb"
)

// memStore is an in-memory audit.Appender that can be told to fail or to block.
type memStore struct {
	mu      sync.Mutex
	entries []linkvault.AuditEntry
	batches []int
	fail    error
	gate    chan struct{} // when non-nil, AppendAudit waits for it
	entered chan struct{} // when non-nil, AppendAudit signals here before waiting
}

func (m *memStore) AppendAudit(ctx context.Context, es []linkvault.AuditEntry) error {
	if m.entered != nil {
		m.entered <- struct{}{}
	}
	if m.gate != nil {
		select {
		case <-m.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	m.entries = append(m.entries, es...)
	m.batches = append(m.batches, len(es))
	return nil
}

func (m *memStore) snapshot() ([]linkvault.AuditEntry, []int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]linkvault.AuditEntry(nil), m.entries...), append([]int(nil), m.batches...)
}

func entry(i int) linkvault.AuditEntry {
	return linkvault.AuditEntry{ClientID: "app", KeyID: "k", TokenRef: linkvault.TokenFingerprint(fmt.Sprint(i)), Action: audit.ActionHoldings,
		Outcome: audit.OutcomeOK, HTTPStatus: 200, CreatedAt: time.Unix(int64(i), 0)}
}

func TestRecorderWritesEverythingInOrder(t *testing.T) {
	st := &memStore{}
	r := audit.NewRecorder(st, audit.RecorderConfig{BatchSize: 64})
	const n = 1000
	for i := range n {
		r.Record(t.Context(), entry(i))
	}
	if err := r.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	got, batches := st.snapshot()
	if len(got) != n {
		t.Fatalf("written %d entries, want %d", len(got), n)
	}
	for i, e := range got {
		if e.TokenRef != entry(i).TokenRef {
			t.Fatalf("entry %d out of order", i)
		}
	}
	for _, b := range batches {
		if b > 64 {
			t.Fatalf("batch of %d entries exceeds BatchSize 64", b)
		}
	}
	if s := r.Stats(); s.Written != n || s.Dropped != 0 || s.Failed != 0 {
		t.Fatalf("stats = %+v", s)
	}
	if err := r.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// TestRecorderGroupsQueuedEntries checks that entries queued while a write is in
// progress go out together in the next batch.
func TestRecorderGroupsQueuedEntries(t *testing.T) {
	st := &memStore{gate: make(chan struct{}), entered: make(chan struct{}, 10)}
	r := audit.NewRecorder(st, audit.RecorderConfig{BatchSize: 100})
	r.Record(t.Context(), entry(0))
	<-st.entered // the writer took entry 0 alone and waits on the gate
	for i := 1; i <= 50; i++ {
		r.Record(t.Context(), entry(i))
	}
	close(st.gate)
	if err := r.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	_, batches := st.snapshot()
	if len(batches) != 2 || batches[0] != 1 || batches[1] != 50 {
		t.Fatalf("batches = %v, want [1 50]: the entries queued during a write go out together", batches)
	}
}

func TestRecorderCloseDrainsAndThenDrops(t *testing.T) {
	st := &memStore{}
	r := audit.NewRecorder(st, audit.RecorderConfig{})
	for i := range 100 {
		r.Record(t.Context(), entry(i))
	}
	if err := r.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.snapshot(); len(got) != 100 {
		t.Fatalf("Close left %d of 100 entries unwritten", 100-len(got))
	}
	r.Record(t.Context(), entry(101))
	if err := r.Flush(t.Context()); !errors.Is(err, audit.ErrClosed) {
		t.Fatalf("Flush after Close = %v, want ErrClosed", err)
	}
	if err := r.Close(t.Context()); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if s := r.Stats(); s.Dropped != 1 || s.Written != 100 {
		t.Fatalf("stats = %+v, want 1 dropped, 100 written", s)
	}
}

func TestRecorderFullQueueWaitsThenDropsWhenTheRequestEnds(t *testing.T) {
	st := &memStore{gate: make(chan struct{}), entered: make(chan struct{}, 10)}
	r := audit.NewRecorder(st, audit.RecorderConfig{QueueSize: 2})
	r.Record(t.Context(), entry(0))
	<-st.entered // the writer holds entry 0 and waits, so the queue is empty again
	r.Record(t.Context(), entry(1))
	r.Record(t.Context(), entry(2)) // queue now full
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	r.Record(ctx, entry(3)) // must not block: its request is over
	if s := r.Stats(); s.Dropped != 1 {
		t.Fatalf("stats = %+v, want 1 dropped", s)
	}
	close(st.gate)
	if err := r.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.snapshot(); len(got) != 3 {
		t.Fatalf("written %d, want 3", len(got))
	}
}

func TestRecorderCountsLostBatches(t *testing.T) {
	st := &memStore{fail: errors.New("disk full")}
	r := audit.NewRecorder(st, audit.RecorderConfig{})
	r.Record(t.Context(), entry(1))
	if err := r.Flush(t.Context()); err == nil {
		t.Fatal("Flush reported success for a failed write")
	}
	if s := r.Stats(); s.Failed != 1 || s.Written != 0 {
		t.Fatalf("stats = %+v", s)
	}
	_ = r.Close(t.Context())
}

func TestRecorderOnSQLite(t *testing.T) {
	db := testdb.SQLite(t)
	r := audit.NewRecorder(db, audit.RecorderConfig{})
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 50 {
				e := entry(w*1000 + i)
				e.ClientID = fmt.Sprintf("app%d", w%2)
				r.Record(t.Context(), e)
			}
		})
	}
	wg.Wait()
	if err := r.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"app0", "app1"} {
		got, err := db.ListAudit(t.Context(), linkvault.AuditQuery{ClientID: c, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 200 {
			t.Fatalf("%s has %d entries, want 200", c, len(got))
		}
	}
}

// BenchmarkRecord is the cost the request path pays per audited call: an enqueue.
func BenchmarkRecord(b *testing.B) {
	r := audit.NewRecorder(&memStore{}, audit.RecorderConfig{})
	recordParallel(b, r)
	b.StopTimer()
	_ = r.Close(context.Background())
}

// recordParallel records b.N entries from parallel goroutines, allocations reported.
func recordParallel(b *testing.B, r *audit.Recorder) {
	e := entry(1)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r.Record(ctx, e)
		}
	})
}

// BenchmarkRecordSQLite measures sustained throughput into SQLite: entries per second
// the background writer keeps up with (Close waits until all are written).
func BenchmarkRecordSQLite(b *testing.B) {
	db := testdb.SQLite(b)
	r := audit.NewRecorder(db, audit.RecorderConfig{})
	recordParallel(b, r)
	if err := r.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
	if s := r.Stats(); s.Written != int64(b.N) {
		b.Fatalf("written %d of %d", s.Written, b.N)
	}
}
