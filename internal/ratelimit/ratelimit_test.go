package ratelimit

import (
	"fmt"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestKeyedBuckets(t *testing.T) {
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := New(3, 100, c.now)
	for i := range 3 {
		if ok, _ := l.Take("ip1"); !ok {
			t.Fatalf("event %d refused within the burst", i)
		}
	}
	ok, wait := l.Take("ip1")
	if ok || wait <= 0 || wait > 20*time.Second {
		t.Fatalf("4th event: ok=%v wait=%v, want refused with a wait of at most 20s", ok, wait)
	}
	if ok, _ := l.Take("ip2"); !ok {
		t.Fatal("another key shares the bucket")
	}
	c.t = c.t.Add(20 * time.Second)
	if ok, _ := l.Take("ip1"); !ok {
		t.Fatal("bucket did not refill")
	}
}

func TestDisabledAndNil(t *testing.T) {
	var nilLimiter *Keyed
	for _, l := range []*Keyed{New(0, 10, nil), nilLimiter} {
		for range 100 {
			if ok, _ := l.Take("k"); !ok {
				t.Fatal("disabled limiter refused")
			}
		}
	}
}

func TestMemoryIsBounded(t *testing.T) {
	c := &clock{t: time.Now()}
	l := New(5, 1000, c.now)
	for i := range 10_000 {
		l.Take(fmt.Sprintf("key-%d", i))
		if i%100 == 0 {
			c.t = c.t.Add(time.Second)
		}
	}
	if n := l.Len(); n > 1000 {
		t.Fatalf("%d keys tracked, bound is 1000", n)
	}
}

// A full table forgets some keys, not all of them: a flood of new keys (one attacker
// cycling source addresses) must not reset every other key's count at once.
func TestFullTableEvictsPartly(t *testing.T) {
	c := &clock{t: time.Now()}
	l := New(2, 100, c.now)
	minLen := 0
	for i := range 1000 {
		l.Take(fmt.Sprintf("flood-%d", i))
		if n := l.Len(); n > 100 {
			t.Fatalf("%d keys tracked, bound is 100", n)
		} else if i >= 100 && (minLen == 0 || n < minLen) {
			minLen = n
		}
	}
	if minLen < 75 {
		t.Fatalf("table shrank to %d keys of 100; eviction must free a quarter, not everything", minLen)
	}
}
