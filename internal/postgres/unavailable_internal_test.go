package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestIsUnavailable: the errors a PostgreSQL outage produces are classified as
// unavailability (answered 503 with Retry-After, issue 13 defect 6); constraint
// violations, syntax errors and other bugs are not.
func TestIsUnavailable(t *testing.T) {
	e := &engine{}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"admin shutdown (57P01)", &pgconn.PgError{Code: "57P01"}, true},
		{"crash shutdown (57P02)", &pgconn.PgError{Code: "57P02"}, true},
		{"starting up (57P03)", &pgconn.PgError{Code: "57P03"}, true},
		{"connection failure (08006)", &pgconn.PgError{Code: "08006"}, true},
		{"too many connections (53300)", &pgconn.PgError{Code: "53300"}, true},
		{"statement timeout (57014)", &pgconn.PgError{Code: "57014"}, true},
		{"lock timeout (55P03)", &pgconn.PgError{Code: "55P03"}, true},
		{"connection refused", fmt.Errorf("dial: %w", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}), true},
		{"connection reset", fmt.Errorf("read: %w", syscall.ECONNRESET), true},
		{"cut connection", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), true},
		{"connect error", &pgconn.ConnectError{}, true},
		{"unique violation", &pgconn.PgError{Code: codeUniqueViolation}, false},
		{"syntax error", &pgconn.PgError{Code: "42601"}, false},
		{"a bug", errors.New("something else"), false},
		{"cancelled by the caller", context.Canceled, false}, // sqlstore decides on context errors itself
	}
	for _, tt := range tests {
		if got := e.IsUnavailable(tt.err); got != tt.want {
			t.Errorf("%s: IsUnavailable = %v, want %v", tt.name, got, tt.want)
		}
	}
}
