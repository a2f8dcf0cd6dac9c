package link

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
)

// sweepStore counts session writes and sweeps; it holds only a number of expired
// sessions (the stores' own DeleteExpiredLinkSessions is in the conformance suite).
type sweepStore struct {
	Store   // unused methods panic
	mu      sync.Mutex
	expired int
	created int
	sweeps  []int // rows deleted by each call
	swept   chan struct{}
}

func (s *sweepStore) CreateLinkSession(context.Context, *linkvault.LinkSession) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.created++
	return nil
}

func (s *sweepStore) DeleteExpiredLinkSessions(_ context.Context, before time.Time, limit int) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := min(limit, s.expired)
	s.expired -= n
	s.sweeps = append(s.sweeps, n)
	if n < limit && s.swept != nil {
		close(s.swept)
		s.swept = nil
	}
	return n, nil
}

// Creating sessions never deletes any (it used to sweep inline on every 32nd
// creation); the background sweeper clears a backlog in batches of sweepBatch,
// back to back, on its first tick.
func TestSessionsAreSweptInTheBackgroundOnly(t *testing.T) {
	st := &sweepStore{expired: 2*sweepBatch + 234, swept: make(chan struct{})}
	s := &Service{store: st, baseURL: "http://lv.test", ttl: time.Minute, now: time.Now, log: slog.New(slog.DiscardHandler)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i := range 100 {
		if _, err := s.Create(ctx, CreateParams{ClientID: "app", UserID: "u", Permission: linkvault.PermissionRead}); err != nil {
			t.Fatalf("create %d: %v", i, err)
		}
	}
	st.mu.Lock()
	if len(st.sweeps) != 0 {
		t.Errorf("creating 100 sessions swept %d times inside the requests", len(st.sweeps))
	}
	done := st.swept
	st.mu.Unlock()

	stopped := make(chan struct{})
	go func() { s.RunSweeper(ctx, time.Millisecond); close(stopped) }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("the sweeper did not run")
	}
	cancel()
	<-stopped
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.expired != 0 || len(st.sweeps) < 3 || st.sweeps[0] != sweepBatch || st.sweeps[1] != sweepBatch || st.sweeps[2] != 234 {
		t.Errorf("sweeps %v, %d left; want %d, %d, 234 back to back", st.sweeps, st.expired, sweepBatch, sweepBatch)
	}
}
