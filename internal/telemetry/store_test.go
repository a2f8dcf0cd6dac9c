package telemetry_test

import (
	"testing"

	"github.com/linkvault/linkvault/internal/telemetry"
)

func TestSpanName(t *testing.T) {
	for _, tc := range []struct{ query, want string }{
		{"SELECT a, b FROM connections WHERE id = $1", "SELECT connections"},
		{"  select count(*) from webhook_events", "SELECT webhook_events"},
		{"INSERT INTO audit_log (a) VALUES (?)", "INSERT audit_log"},
		{"UPDATE connections SET x = 1", "UPDATE connections"},
		{"DELETE FROM link_sessions WHERE expires_at < $1", "DELETE link_sessions"},
		{"WITH due AS (SELECT id FROM connections) UPDATE connections SET lease = 1", "UPDATE connections"},
		{"SELECT 1", "SELECT"},
		{"SELECT x FROM (SELECT 1) AS t", "SELECT"},
		{"PRAGMA foreign_keys = ON", "PRAGMA"},
		{"", "db"},
	} {
		if got := telemetry.SpanName(tc.query); got != tc.want {
			t.Errorf("SpanName(%q) = %q, want %q", tc.query, got, tc.want)
		}
	}
}
