package http

import (
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/linkvault/linkvault"
)

// One validation of the text that enters over HTTP (issue 15, failures 3 and 4): every
// string of a JSON body (decodeJSONBody), the path and query of every request, and the
// headers read as data (identityHeaders) must be well-formed Unicode text, checked
// before anything is looked up or stored, so every store sees the same strings and
// every endpoint answers a bad one with the same clear 400:
//
//   - valid UTF-8 only. Go's encoding/json (and url.QueryUnescape) would otherwise turn
//     invalid bytes, overlong forms and UTF-8-encoded surrogates into U+FFFD, merging
//     distinct userIds into one;
//   - no unpaired UTF-16 surrogate escapes ("\ud800", what JavaScript produces from a
//     truncated emoji), which encoding/json also turns into U+FFFD;
//   - no NUL and no other control character (Unicode category Cc: U+0000-U+001F,
//     U+007F-U+009F), except tab, line feed and carriage return inside JSON strings,
//     where free text may hold them. PostgreSQL refuses NUL in text (SQLSTATE 22021)
//     while SQLite stores it, so letting it through made the two stores disagree.
//
// Fields that are identifiers are stricter still where they are parsed (userId:
// linkvault.ValidateUserID, no control character at all and 1..300 characters;
// tokenIds: linkvault.PlausibleID; client ids: linkvault.ValidateClientID).

// identityHeaders are the request headers whose values are used as data. Each may be
// given once: a second value (a second field line, or a comma-separated list would be
// one value that no check accepts) is refused, whatever the two values are.
var identityHeaders = []string{"X-Client-Id", "X-Client-Secret", PageSecretHeader}

// textFault is why a string is not acceptable text; "" when it is.
type textFault string

const (
	faultUTF8      textFault = "is not valid UTF-8"
	faultSurrogate textFault = "contains an unpaired UTF-16 surrogate escape"
	faultNUL       textFault = "contains a NUL character"
	faultControl   textFault = "contains a control character"
)

func controlFault(r rune) textFault {
	if r == 0 {
		return faultNUL
	}
	return faultControl
}

// plainTextFault checks a decoded string (path, query value, header) where no control
// character makes sense.
func plainTextFault(s string) textFault {
	// Printable ASCII, eight bytes at a time (paths and identity headers almost always
	// are): a word with a byte below 0x20, or at or above 0x7f, goes byte by byte below.
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		const ones, highs = 0x0101010101010101, 0x8080808080808080
		below20 := (x - 0x20*ones) &^ x & highs            // some byte < 0x20 (exact for a presence test)
		from7f := ((x & (0x7f * ones)) + ones | x) & highs // some byte is 0x7f or has its top bit set
		if below20|from7f != 0 {
			break
		}
	}
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				return controlFault(rune(c))
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return faultUTF8
		}
		if unicode.IsControl(r) {
			return faultControl
		}
		i += size
	}
	return ""
}

func textError(where string, f textFault) *linkvault.Error {
	return linkvault.Errorf(linkvault.StatusBadRequest, linkvault.ErrTypeInvalidRequest, "%s %s; text must be valid UTF-8 without control characters.", where, f)
}

// checkRequestText checks the path, the query and the identity headers of r.
func checkRequestText(r *http.Request) error {
	if f := plainTextFault(r.URL.Path); f != "" {
		return textError("The request path", f)
	}
	if r.URL.RawQuery != "" {
		q, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			return linkvault.Errorf(linkvault.StatusBadRequest, linkvault.ErrTypeInvalidRequest, "The query string is malformed.")
		}
		for k, vs := range q {
			if f := plainTextFault(k); f != "" {
				return textError("A query parameter name", f)
			}
			for _, v := range vs {
				if f := plainTextFault(v); f != "" {
					return textError(named("Query parameter", k), f)
				}
			}
		}
	}
	for _, h := range identityHeaders {
		if len(r.Header[h]) > 1 {
			// Which one counts would be up to each reader (net/http's Get takes the
			// first, some proxies the last): refuse the request rather than pick.
			return linkvault.Errorf(linkvault.StatusBadRequest, linkvault.ErrTypeInvalidRequest,
				"Header %s is given more than once; send it once.", h)
		}
		for _, v := range r.Header[h] {
			if f := plainTextFault(v); f != "" {
				return textError("Header "+h, f)
			}
		}
	}
	return nil
}

// checkText wraps the server's handler: a request whose path, query or identity headers
// are not valid text gets a 400 envelope before routing.
func checkText(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := checkRequestText(r); err != nil {
			if strings.HasPrefix(r.URL.Path, "/link/") {
				setLinkHeaders(w.Header())
			}
			writeErrorEnvelope(w, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// checkJSONText checks every string (keys and values) of data, a syntactically valid
// JSON document, and names the field at fault. It reads the raw bytes because
// encoding/json has already replaced invalid UTF-8 and unpaired surrogates by U+FFFD
// when it hands strings over.
//
// It also refuses a field name given twice in one object (objectNames).
func checkJSONText(data []byte) error {
	var lastKey []byte // the most recent field name (a slice of data: no allocation)
	var objs objectNames
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case '{': // outside strings: the loop steps over every string whole
			objs.open()
			continue
		case '}':
			objs.close()
			continue
		case '"':
		default:
			continue
		}
		start := i + 1
		end, fault := scanJSONString(data, start)
		i = end // the closing quote
		isKey := nextNonSpace(data, end+1) == ':'
		if fault != "" {
			if isKey {
				return textError("A field name", fault)
			}
			return textError(named("Field", string(lastKey)), fault)
		}
		if isKey {
			lastKey = data[start:end]
			if err := objs.add(lastKey); err != nil {
				return err
			}
		}
	}
	return nil
}

// scanJSONString scans the string whose content starts at data[start] and returns the
// index of its closing quote and the first fault found. data is valid JSON.
func scanJSONString(data []byte, start int) (end int, fault textFault) {
	setFault := func(f textFault) {
		if fault == "" {
			fault = f
		}
	}
	j := start
	for j < len(data) {
		c := data[j]
		switch {
		case c == '"':
			return j, fault
		case c == '\\':
			if j+1 >= len(data) {
				return len(data), fault
			}
			switch data[j+1] {
			case 'u':
				r := hex4(data, j+2)
				j += 6
				switch {
				case r >= 0xD800 && r <= 0xDBFF:
					if j+6 <= len(data) && data[j] == '\\' && data[j+1] == 'u' {
						if lo := hex4(data, j+2); lo >= 0xDC00 && lo <= 0xDFFF {
							j += 6
							continue
						}
					}
					setFault(faultSurrogate)
				case r >= 0xDC00 && r <= 0xDFFF:
					setFault(faultSurrogate)
				case unicode.IsControl(r) && !lineSpace(r):
					setFault(controlFault(r))
				}
			case 'b', 'f':
				setFault(faultControl)
				j += 2
			default: // \" \\ \/ \n \r \t
				j += 2
			}
		case c < utf8.RuneSelf:
			if c == 0x7f { // the only raw control valid JSON allows
				setFault(faultControl)
			}
			j++
		default:
			r, size := utf8.DecodeRune(data[j:])
			if r == utf8.RuneError && size == 1 {
				setFault(faultUTF8)
			} else if unicode.IsControl(r) {
				setFault(faultControl)
			}
			j += size
		}
	}
	return len(data), fault
}

// lineSpace reports the control characters free text may hold.
func lineSpace(r rune) bool { return r == '\t' || r == '\n' || r == '\r' }

// hex4 decodes the four hex digits at data[i:] (valid JSON guarantees them); -1 if
// they are missing.
func hex4(data []byte, i int) rune {
	if i+4 > len(data) {
		return -1
	}
	var r rune
	for _, c := range data[i : i+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return -1
		}
	}
	return r
}

func nextNonSpace(data []byte, i int) byte {
	for ; i < len(data); i++ {
		switch data[i] {
		case ' ', '\t', '\n', '\r':
		default:
			return data[i]
		}
	}
	return 0
}

// named is what a message calls a field or parameter: kind and its name when the name
// is plain, or "A <kind>" (the name itself may be the garbage).
func named(kind, name string) string {
	if len(name) == 0 || len(name) > 64 {
		return "A " + strings.ToLower(kind)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return "A " + strings.ToLower(kind)
		}
	}
	return kind + ` "` + name + `"`
}
