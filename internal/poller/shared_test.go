package poller

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestSampledReadsAtMostOncePerSecondAndKeepsTheLastValue(t *testing.T) {
	now := time.Unix(1_900_000_000, 0)
	reads, answer, fail := 0, int64(0), false
	s := NewSampled(func(context.Context, time.Time) (int64, error) {
		reads++
		if fail {
			return 0, errors.New("database down")
		}
		return answer, nil
	}, func() time.Time { return now })
	steps := []struct {
		name      string
		advance   time.Duration
		answer    int64
		fail      bool
		want      int64
		wantReads int
	}{
		{name: "first scrape reads", answer: 7, want: 7, wantReads: 1},
		{name: "within the second: cached", advance: 500 * time.Millisecond, answer: 9, want: 7, wantReads: 1},
		{name: "a second later: read again", advance: 500 * time.Millisecond, answer: 9, want: 9, wantReads: 2},
		{name: "database fails: last value kept", advance: time.Second, answer: 11, fail: true, want: 9, wantReads: 3},
		{name: "failed read is retried at the next scrape", answer: 11, want: 11, wantReads: 4},
	}
	for _, st := range steps {
		now, answer, fail = now.Add(st.advance), st.answer, st.fail
		if got := s.Value(); got != st.want || reads != st.wantReads {
			t.Fatalf("%s: Value = %d after %d reads, want %d after %d", st.name, got, reads, st.want, st.wantReads)
		}
	}
}

func TestSampledBeforeAnyRead(t *testing.T) {
	s := NewSampled(func(context.Context, time.Time) (int64, error) { return 0, errors.New("down") }, time.Now)
	if got := s.Value(); got != 0 {
		t.Fatalf("Value with no successful read = %d, want 0", got)
	}
}

func TestDefault(t *testing.T) {
	d, n := time.Duration(0), 3
	Default(&d, time.Second)
	Default(&n, 8)
	if d != time.Second || n != 3 {
		t.Fatalf("Default: %v, %d; want 1s (was zero) and 3 (was set)", d, n)
	}
}

func TestDefaultOwnersDiffer(t *testing.T) {
	if a, b := DefaultOwner(), DefaultOwner(); a == b || a == "" {
		t.Fatalf("DefaultOwner = %q and %q, want two distinct names", a, b)
	}
}

func TestDefaultRuntimeKeepsWhatIsSet(t *testing.T) {
	var owner string
	var now func() time.Time
	var log *slog.Logger
	DefaultRuntime(&owner, &now, &log)
	if owner == "" || now == nil || log == nil {
		t.Fatalf("defaults not filled: owner %q, clock set %v, logger set %v", owner, now != nil, log != nil)
	}
	fixed := func() time.Time { return time.Unix(1, 0) }
	owner2, now2, log2 := "replica-1", fixed, slog.Default()
	DefaultRuntime(&owner2, &now2, &log2)
	if owner2 != "replica-1" || !now2().Equal(time.Unix(1, 0)) || log2 != slog.Default() {
		t.Fatal("DefaultRuntime replaced a configured value")
	}
}

func TestCheckLeaseAndBackoff(t *testing.T) {
	for _, tt := range []struct {
		lease, timeout, write time.Duration
		ok                    bool
	}{
		{time.Minute, 10 * time.Second, 5 * time.Second, true},
		{15 * time.Second, 10 * time.Second, 5 * time.Second, false}, // equal is not enough
		{time.Second, 10 * time.Second, 0, false},
	} {
		err := CheckLease(tt.lease, tt.timeout, "delivery timeout", tt.write)
		if (err == nil) != tt.ok || (err != nil && !strings.Contains(err.Error(), "delivery timeout")) {
			t.Errorf("CheckLease(%v, %v, %v) = %v, want ok=%v", tt.lease, tt.timeout, tt.write, err, tt.ok)
		}
	}
	if CheckBackoff(time.Second, time.Second) != nil || CheckBackoff(time.Minute, time.Second) == nil {
		t.Error("CheckBackoff: a ceiling equal to the base must pass and one below it fail")
	}
}
