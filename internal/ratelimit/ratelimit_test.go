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
	if blocked, _ := l.Blocked("ip1"); !blocked {
		t.Fatal("key over its limit not reported blocked")
	}
	if blocked, _ := l.Blocked("ip2"); blocked {
		t.Fatal("another key is blocked")
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
		if b, _ := l.Blocked("k"); b {
			t.Fatal("disabled limiter blocked")
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
