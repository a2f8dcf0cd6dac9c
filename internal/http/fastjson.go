package http

import (
	"bytes"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/linkvault/linkvault"
)

// The hot endpoints (POST /api/v1/managed/token/get and the {authToken, type} body of
// every account call) decode and encode without reflection: encoding/json's reflection,
// its re-compaction of time.Time's MarshalJSON output and its allocations were a third
// of the instructions of a cached token/get (docs/benchmarks.md, issue 19). The
// appenders below write exactly the bytes encoding/json writes for the same values
// (fastjson_test.go compares them, also under fuzzing); anything they do not handle
// (a float that is NaN or infinite, a time outside years 0-9999) makes them report
// false and the caller falls back to encoding/json, which answers as before.

// jsonBufPool recycles the buffers answers are encoded into.
var jsonBufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// appendJSONString appends s as a JSON string, as encoding/json does with HTML
// escaping on (its default): <, > and & as \u003c..., U+2028 and U+2029 escaped,
// invalid UTF-8 replaced by \ufffd.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if jsonPlain[c] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '\\', '"':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// jsonPlain marks the ASCII bytes appendJSONString copies as they are: printable, not
// '"' or '\\', and not <, > or & (escaped with HTML escaping on).
var jsonPlain = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// appendJSONFloat appends f as encoding/json encodes a float64 (ES6 number
// formatting); ok is false for NaN and infinities, which encoding/json refuses.
func appendJSONFloat(dst []byte, f float64) ([]byte, bool) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return dst, false
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// e-09 → e-9
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst, true
}

// appendJSONTime appends t as time.Time's MarshalJSON does (RFC 3339 with
// nanoseconds, quoted); ok is false outside years 0-9999, which it refuses.
func appendJSONTime(dst []byte, t time.Time) ([]byte, bool) {
	if y := t.Year(); y < 0 || y > 9999 {
		return dst, false
	}
	dst = append(dst, '"')
	dst = t.AppendFormat(dst, time.RFC3339Nano)
	return append(dst, '"'), true
}

// appendAccounts appends a []linkvault.Account as encoding/json does (nil as null).
func appendAccounts(dst []byte, as []linkvault.Account) ([]byte, bool) {
	if as == nil {
		return append(dst, "null"...), true
	}
	dst = append(dst, '[')
	ok := true
	for i := range as {
		a := &as[i]
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"accountId":`...)
		dst = appendJSONString(dst, a.AccountID)
		dst = append(dst, `,"accountName":`...)
		dst = appendJSONString(dst, a.AccountName)
		dst = append(dst, `,"fund":`...)
		var ok1, ok2 bool
		dst, ok1 = appendJSONFloat(dst, a.Fund)
		dst = append(dst, `,"cash":`...)
		dst, ok2 = appendJSONFloat(dst, a.Cash)
		dst = append(dst, '}')
		ok = ok && ok1 && ok2
	}
	return append(dst, ']'), ok
}

// appendJSON appends st as encoding/json would encode it.
func (st *tokenStatus) appendJSON(dst []byte) ([]byte, bool) {
	dst = append(dst, `{"tokenId":`...)
	dst = appendJSONString(dst, st.TokenID)
	dst = append(dst, `,"brokerType":`...)
	dst = appendJSONString(dst, st.BrokerType)
	dst = append(dst, `,"scope":`...)
	dst = appendJSONString(dst, st.Scope)
	dst = append(dst, `,"status":`...)
	dst = appendJSONString(dst, st.Status)
	dst = append(dst, `,"accounts":`...)
	dst, ok1 := appendAccounts(dst, st.Accounts)
	dst = append(dst, `,"expiresInSeconds":`...)
	dst = st.ExpiresInSeconds.appendJSON(dst)
	dst = append(dst, `,"refreshable":`...)
	dst = strconv.AppendBool(dst, st.Refreshable)
	dst = append(dst, `,"createdAt":`...)
	dst, ok2 := appendJSONTime(dst, st.CreatedAt)
	dst = append(dst, `,"updatedAt":`...)
	dst, ok3 := appendJSONTime(dst, st.UpdatedAt)
	return append(dst, '}'), ok1 && ok2 && ok3
}

// okPrefix is the envelope of a success up to its content (Envelope's field order).
const okPrefix = `{"status":"ok","message":"","displayMessage":null,"errorType":"","content":`

// writeOKFast writes a success envelope whose content is encoded by appendContent,
// falling back to encoding/json (writeOK of content()) when it reports false. The
// content for encoding/json is made only then, so the hot path's values can stay on
// the stack.
func writeOKFast(w http.ResponseWriter, content func() any, appendContent func([]byte) ([]byte, bool)) {
	bp := jsonBufPool.Get().(*[]byte)
	b := append((*bp)[:0], okPrefix...)
	b, ok := appendContent(b)
	if !ok {
		*bp = b[:0]
		jsonBufPool.Put(bp)
		writeOK(w, content())
		return
	}
	b = append(b, '}', '\n')
	setEnvelopeHeaders(w.Header())
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
	if cap(b) <= maxPooledBody {
		*bp = b[:0]
		jsonBufPool.Put(bp)
	}
}

// parseTokenBody is the fast path of {authToken, type} bodies: a flat object whose
// members are exactly "authToken" and/or "type" with string values of printable ASCII
// without escapes. It reports false for anything else (other members, escapes,
// non-ASCII, other value types, malformed input), and the caller decodes with
// encoding/json and the text checks, so every error message stays what it was. For
// the inputs it accepts the result equals encoding/json's (fastjson_test.go, fuzzed):
// such strings need no text check (no control character, valid UTF-8, no escape).
func parseTokenBody(data []byte) (tokenRequest, bool) {
	var req tokenRequest
	i := skipJSONSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return req, false
	}
	i = skipJSONSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		return req, skipJSONSpace(data, i+1) == len(data)
	}
	// One allocation holds every value: the body is copied into a string once.
	var body string
	var seenAuth, seenType bool
	for {
		key, j, ok := scanPlainString(data, i)
		if !ok {
			return req, false
		}
		j = skipJSONSpace(data, j)
		if j >= len(data) || data[j] != ':' {
			return req, false
		}
		j = skipJSONSpace(data, j+1)
		vs := j + 1
		_, j, ok = scanPlainString(data, j)
		if !ok {
			return req, false
		}
		if body == "" {
			body = string(data)
		}
		v := body[vs : j-1]
		switch string(key) {
		case "authToken":
			if seenAuth {
				return req, false // refused on the full path (objectNames)
			}
			req.AuthToken, seenAuth = v, true
		case "type":
			if seenType {
				return req, false
			}
			req.Type, seenType = v, true
		default:
			return req, false
		}
		j = skipJSONSpace(data, j)
		if j >= len(data) {
			return req, false
		}
		switch data[j] {
		case ',':
			i = skipJSONSpace(data, j+1)
		case '}':
			return req, skipJSONSpace(data, j+1) == len(data)
		default:
			return req, false
		}
	}
}

// scanPlainString reads a JSON string at data[i] made of printable ASCII without
// escapes; it returns its content and the index after the closing quote.
func scanPlainString(data []byte, i int) ([]byte, int, bool) {
	if i >= len(data) || data[i] != '"' {
		return nil, i, false
	}
	for j := i + 1; j < len(data); j++ {
		switch c := data[j]; {
		case c == '"':
			return data[i+1 : j], j + 1, true
		case c < 0x20 || c > 0x7e || c == '\\':
			return nil, j, false
		}
	}
	return nil, len(data), false
}

func skipJSONSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// readBody reads the (bounded) body into a pooled buffer, returned with the trimmed
// data; the caller hands the buffer back with releaseBody once done with data (a
// function rather than a closure: no allocation per request).
func readBody(r *http.Request) (data []byte, buf *bytes.Buffer, err error) {
	buf = bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	if _, err := buf.ReadFrom(r.Body); err != nil {
		releaseBody(buf)
		return nil, nil, jsonError(err, nil)
	}
	return bytes.TrimSpace(buf.Bytes()), buf, nil
}

// releaseBody returns a body buffer to the pool (bodies above maxPooledBody are not
// kept).
func releaseBody(buf *bytes.Buffer) {
	if buf.Cap() <= maxPooledBody {
		buf.Reset()
		bufPool.Put(buf)
	}
}
