package poller

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestQueueConfigWithDefaultsFillsOnlyZeroFields(t *testing.T) {
	d := QueueConfig{PollInterval: time.Second, BatchSize: 50, Workers: 8, LeaseDuration: time.Minute,
		WriteTimeout: 5 * time.Second, BackoffBase: 5 * time.Second, BackoffMax: time.Hour}
	got := QueueConfig{Owner: "replica-1", Workers: 2, BackoffMax: time.Minute}.WithDefaults(d)
	want := d
	want.Owner, want.Workers, want.BackoffMax = "replica-1", 2, time.Minute
	if got.Now == nil || got.Logger == nil {
		t.Fatal("WithDefaults left the clock or the logger unset")
	}
	got.Now, got.Logger = nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("WithDefaults = %+v, want %+v", got, want)
	}
	if (QueueConfig{}).WithDefaults(d).Owner == "" {
		t.Fatal("WithDefaults left the owner empty")
	}
}

func TestQueueConfigCheck(t *testing.T) {
	valid := QueueConfig{PollInterval: time.Second, BatchSize: 1, Workers: 1, LeaseDuration: time.Minute,
		WriteTimeout: time.Second, BackoffBase: time.Second, BackoffMax: time.Second}
	tests := []struct {
		name  string
		edit  func(*QueueConfig)
		extra []time.Duration
		want  []string // one substring per error expected
	}{
		{"valid", func(*QueueConfig) {}, []time.Duration{time.Second}, nil},
		{"negative poll interval", func(c *QueueConfig) { c.PollInterval = -1 }, nil, []string{"durations must be positive"}},
		{"zero write timeout", func(c *QueueConfig) { c.WriteTimeout = 0 }, nil, []string{"durations must be positive"}},
		{"zero extra duration", func(*QueueConfig) {}, []time.Duration{time.Second, 0}, []string{"durations must be positive"}},
		{"no workers", func(c *QueueConfig) { c.Workers = 0 }, nil, []string{"batch size and workers"}},
		{"no batch", func(c *QueueConfig) { c.BatchSize = -1 }, nil, []string{"batch size and workers"}},
		{"ceiling below base", func(c *QueueConfig) { c.BackoffBase = time.Minute }, nil, []string{"backoff max"}},
		{"all three", func(c *QueueConfig) { c.BackoffMax, c.Workers = -time.Second, 0 }, nil,
			[]string{"durations must be positive", "batch size and workers", "backoff max"}},
	}
	for _, tt := range tests {
		c := valid
		tt.edit(&c)
		var got []string
		for _, err := range c.Check(tt.extra...) {
			if err != nil {
				got = append(got, err.Error())
			}
		}
		if len(got) != len(tt.want) {
			t.Errorf("%s: Check = %q, want %d errors about %q", tt.name, got, len(tt.want), tt.want)
			continue
		}
		for i := range got {
			if !strings.Contains(got[i], tt.want[i]) {
				t.Errorf("%s: error %d = %q, want one about %q", tt.name, i, got[i], tt.want[i])
			}
		}
	}
	if err := errors.Join(valid.Check()...); err != nil {
		t.Errorf("Check of a valid config = %v", err)
	}
}

func TestQueueConfigPoller(t *testing.T) {
	q := QueueConfig{PollInterval: time.Second, BatchSize: 20, Workers: 4, Now: time.Now}
	c := q.Poller("revocation", nil)
	if c.Name != "revocation" || c.PollInterval != time.Second || c.BatchSize != 20 || c.Workers != 4 || c.Now == nil || c.Slots != nil {
		t.Fatalf("Poller = %+v", c)
	}
}
