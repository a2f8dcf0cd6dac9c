package testdb

import (
	"database/sql"
	"testing"
)

// Strings runs a one-column query on db and returns the column of every row, failing the
// test on any error.
func Strings(tb testing.TB, db *sql.DB, query string, args ...any) []string {
	tb.Helper()
	rows, err := db.Query(query, args...)
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			tb.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Close(); err != nil {
		tb.Fatal(err)
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}
