package sqlstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/linkvault/linkvault"
)

// Arguments: times are passed as time.Time (the engine encodes them for its column
// type), an unset optional time as NULL (nullTime), JSON as a string, optional text and
// bytes as NULL when empty. Times are scanned through s.t (Engine.ScanTime).

// nullTime is the argument of an optional time column: NULL for the zero time.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// nullString is the argument of an optional text column: NULL for "".
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// nullText is the argument of an optional text or JSON column holding b: NULL when b
// is empty.
func nullText(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}

// nullBytes is the argument of an optional binary column: NULL when b is empty.
func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// isDomain reports whether err is a *linkvault.Error (an expected outcome such as
// notFound or conflict), which the store returns unwrapped.
func isDomain(err error) bool {
	var e *linkvault.Error
	return errors.As(err, &e)
}

func encodeJSON(what string, v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode %s: %w", what, err)
	}
	return string(b), nil
}

func decodeJSON(what, s string, v any) error {
	if err := json.Unmarshal([]byte(s), v); err != nil {
		return fmt.Errorf("decode %s: %w", what, err)
	}
	return nil
}
