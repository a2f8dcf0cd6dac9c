package sqlstore

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/linkvault/linkvault"
)

// decodeAccounts decodes a connection's accounts column. The column holds what
// encodeJSON wrote: encoding/json's encoding of []linkvault.Account, with no spaces,
// the keys in declaration order and plain strings. That form is read here without
// reflection (every connection read decodes it: a sixth of a token status read from
// SQLite was encoding/json); anything else, an escape, another key order, spaces, goes
// to encoding/json, so the result is encoding/json's in every case
// (FuzzDecodeAccounts).
func decodeAccounts(s string) ([]linkvault.Account, error) {
	if as, ok := scanAccounts(s); ok {
		return as, nil
	}
	var as []linkvault.Account
	err := decodeJSON("accounts of a connection", s, &as)
	return as, err
}

// scanAccounts reads the canonical form of decodeAccounts; false for anything else.
func scanAccounts(s string) ([]linkvault.Account, bool) {
	if s == "null" {
		return nil, true
	}
	if len(s) < 2 || s[0] != '[' || s[len(s)-1] != ']' {
		return nil, false
	}
	s = s[1 : len(s)-1]
	as := make([]linkvault.Account, 0, strings.Count(s, `{"accountId":`))
	for s != "" {
		var ok bool
		if len(as) > 0 {
			if s, ok = strings.CutPrefix(s, ","); !ok {
				return nil, false
			}
		}
		var a linkvault.Account
		a.AccountID, s, ok = field(s, `{"accountId":`, scanPlainString)
		if ok {
			a.AccountName, s, ok = field(s, `,"accountName":`, scanPlainString)
		}
		if ok {
			a.Fund, s, ok = field(s, `,"fund":`, scanNumber)
		}
		if ok {
			a.Cash, s, ok = field(s, `,"cash":`, scanNumber)
		}
		if ok {
			s, ok = strings.CutPrefix(s, "}")
		}
		if !ok {
			return nil, false
		}
		as = append(as, a)
	}
	return as, true
}

// field reads key, then a value with scan.
func field[T any](s, key string, scan func(string) (T, string, bool)) (v T, rest string, ok bool) {
	if s, ok = strings.CutPrefix(s, key); !ok {
		return v, s, false
	}
	return scan(s)
}

// scanPlainString reads a JSON string at the start of s that encoding/json would
// decode to its bytes unchanged: no escape, no control character, valid UTF-8.
func scanPlainString(s string) (v, rest string, ok bool) {
	if s == "" || s[0] != '"' {
		return "", s, false
	}
	end := strings.IndexByte(s[1:], '"')
	if end < 0 {
		return "", s, false
	}
	v = s[1 : 1+end]
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c == '\\' {
			return "", s, false
		}
	}
	if !utf8.ValidString(v) {
		return "", s, false
	}
	return v, s[2+end:], true
}

// scanNumber reads a JSON number (RFC 8259 grammar) at the start of s.
func scanNumber(s string) (v float64, rest string, ok bool) {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		i = skipDigits(s, i)
	default:
		return 0, s, false
	}
	if i < len(s) && s[i] == '.' {
		j := skipDigits(s, i+1)
		if j == i+1 {
			return 0, s, false
		}
		i = j
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		j := skipDigits(s, i)
		if j == i {
			return 0, s, false
		}
		i = j
	}
	f, err := strconv.ParseFloat(s[:i], 64)
	if err != nil {
		return 0, s, false // out of range: encoding/json's error, from the fallback
	}
	return f, s[i:], true
}

func skipDigits(s string, i int) int {
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}
