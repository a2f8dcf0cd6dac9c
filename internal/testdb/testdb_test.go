package testdb

import (
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

func TestDSNWithSearchPath(t *testing.T) {
	tests := []struct {
		dsn, want string
	}{
		{"postgres://u@h:5432/db?sslmode=disable", "postgres://u@h:5432/db?search_path=s1&sslmode=disable"},
		{"postgresql://u@h/db", "postgresql://u@h/db?search_path=s1"},
		{"postgres://u@h/db?search_path=old", "postgres://u@h/db?search_path=s1"},
		{"host=h user=u dbname=db", "host=h user=u dbname=db search_path=s1"},
	}
	for _, tt := range tests {
		got := dsnWithSearchPath(tt.dsn, "s1")
		if got != tt.want {
			t.Errorf("dsnWithSearchPath(%q) = %q, want %q", tt.dsn, got, tt.want)
		}
		cfg, err := pgconn.ParseConfig(got)
		if err != nil {
			t.Errorf("ParseConfig(%q): %v", got, err)
			continue
		}
		if cfg.RuntimeParams["search_path"] != "s1" {
			t.Errorf("%q: search_path = %q, want s1", got, cfg.RuntimeParams["search_path"])
		}
	}
}
