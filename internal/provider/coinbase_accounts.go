package provider

import (
	"bytes"
	"encoding/binary"
	"unicode/utf8"
)

// The page of GET /v2/accounts is the largest answer a holdings call reads, and most of
// it (names, colours, slugs, timestamps, resource paths of every account) is not needed.
// Decoding it with encoding/json was 16% of the server's CPU on a proxied holdings/get
// and about a quarter of its instructions (docs/benchmarks.md, issue 19), so the page
// is read by scanCoinbaseAccounts below, which extracts the fields of
// coinbaseAccountWire and skips the rest without building anything. It accepts a
// subset of what encoding/json accepts: anything else (an escape inside a wanted
// string, a key that matches a wanted one only case-insensitively, a repeated wanted
// key, a value of another type, nesting deeper than maxScanDepth, invalid JSON) makes
// it report false and the page is decoded by encoding/json, which decides as before.
// For the inputs it accepts it yields exactly what encoding/json yields
// (coinbase_accounts_test.go, also under fuzzing).

// scanCoinbaseAccounts decodes a page into w; false: not decoded (w is then
// unspecified and the caller uses encoding/json). Each object and array is walked by a
// loop of its own over member or item (no closures, no recursion but for skipped
// values): the decoder runs on the request's goroutine, whose stack it should not grow.
func scanCoinbaseAccounts(b []byte, w *coinbaseListWire[coinbaseAccountWire]) bool {
	s := jsonScanner{b: b}
	s.ws()
	o, ok := walk{names: listFields}, true
	for ok && s.member(&o) {
		if o.field == 0 {
			ok = s.pagination(w)
		} else {
			ok = s.data(w)
		}
	}
	s.ws()
	return ok && o.ended && s.i == len(b)
}

// pagination reads {"next_uri": string or null, ...} (null: nothing, as encoding/json).
func (s *jsonScanner) pagination(w *coinbaseListWire[coinbaseAccountWire]) bool {
	if s.null() {
		return true
	}
	o, ok := walk{names: paginationFields}, true
	for ok && s.member(&o) { // next_uri, the only member read
		if s.null() {
			w.Pagination.NextURI = nil
			continue
		}
		var v string
		v, ok = s.plainString()
		w.Pagination.NextURI = &v
	}
	return ok && o.ended
}

// data reads the "data" array (null leaves it nil, as encoding/json does).
func (s *jsonScanner) data(w *coinbaseListWire[coinbaseAccountWire]) bool {
	if s.null() {
		w.Data = nil
		return true
	}
	w.Data = make([]coinbaseAccountWire, 0, 8)
	a, ok := walk{}, true
	for ok && s.item(&a, '[', ']') {
		w.Data = append(w.Data, coinbaseAccountWire{})
		ok = s.account(&w.Data[len(w.Data)-1])
	}
	return ok && a.ended
}

// account reads one account resource (null: a zero account, as encoding/json).
func (s *jsonScanner) account(a *coinbaseAccountWire) bool {
	if s.null() {
		return true
	}
	o, ok := walk{names: accountFields}, true
	for ok && s.member(&o) {
		switch o.field {
		case 0:
			ok = s.stringInto(&a.ID)
		case 1:
			ok = s.stringInto(&a.Type)
		case 2:
			c := &a.Currency
			ok = s.strings(currencyFields, &c.Code, &c.Name, &c.Type, &c.AddressRegex)
		case 3:
			ok = s.strings(moneyFields, &a.Balance.Amount, &a.Balance.Currency)
		}
	}
	return ok && o.ended
}

// strings reads an object of string members (or null): the member names[i] into
// *dst[i], other members skipped.
func (s *jsonScanner) strings(names []string, dst ...*string) bool {
	if s.null() {
		return true
	}
	o, ok := walk{names: names}, true
	for ok && s.member(&o) {
		ok = s.stringInto(dst[o.field])
	}
	return ok && o.ended
}

// The members read of a page, its pagination, an account, and an account's currency
// and balance.
var (
	listFields       = []string{"pagination", "data"}
	paginationFields = []string{"next_uri"}
	accountFields    = []string{"id", "type", "currency", "balance"}
	currencyFields   = []string{"code", "name", "type", "address_regex"}
	moneyFields      = []string{"amount", "currency"}
)

// maxScanDepth bounds the nesting of skipped values (encoding/json allows 10,000;
// deeper input goes to it).
const maxScanDepth = 64

// jsonScanner reads JSON text that encoding/json would accept, for targeted decoders:
// member and item walk the members of an object and the elements of an array,
// plainString reads a string without escapes, skip steps over any value. Every method
// reports false for what it does not handle.
type jsonScanner struct {
	b     []byte
	i     int
	src   string // b as a string, made once: the strings read are slices of it
	depth int
	ascii bool // whether the last string read by span was all ASCII
}

func (s *jsonScanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *jsonScanner) consume(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// null consumes a null literal if one is next.
func (s *jsonScanner) null() bool {
	if bytes.HasPrefix(s.b[s.i:], []byte("null")) {
		s.i += 4
		return true
	}
	return false
}

// walk is the state of a walk over the members of an object (member) or the elements
// of an array (item).
type walk struct {
	names   []string // the members wanted (member skips the others)
	seen    uint64   // which of names were read (field)
	field   int      // the index in names of the member the scanner is at
	started bool     // the opening '{' or '[' was read
	ended   bool     // the closing '}' or ']' was read
}

// member moves to the value of the object's next member wanted by o (the first call
// reads the '{'), skipping the others, and sets o.field. False: there is none; the
// object was read to its end when o.ended is set, otherwise the input is not one the
// scanner handles.
func (s *jsonScanner) member(o *walk) bool {
	for {
		if !s.item(o, '{', '}') {
			return false
		}
		key, ok := s.key()
		if !ok {
			return false
		}
		switch o.field = s.field(key, &o.seen, o.names...); o.field {
		case -1:
			if !s.skip() {
				return false
			}
		case -2:
			return false
		default:
			return true
		}
	}
}

// item moves to the next item of the object or array that opening and closing delimit
// (the first call reads opening, later ones the ',' after an item). False: there is
// none; the object or array was read to its end when w.ended is set, otherwise the
// input is not valid.
func (s *jsonScanner) item(w *walk, opening, closing byte) bool {
	if !w.started {
		w.started = true
		if !s.consume(opening) {
			return false
		}
		s.ws()
		w.ended = s.consume(closing)
		return !w.ended
	}
	s.ws()
	if s.consume(',') {
		s.ws()
		return true
	}
	w.ended = s.consume(closing)
	return false
}

// key reads a member's key (without escapes) and its colon.
func (s *jsonScanner) key() ([]byte, bool) {
	k, ok := s.rawString()
	if !ok {
		return nil, false
	}
	s.ws()
	if !s.consume(':') {
		return nil, false
	}
	s.ws()
	return k, true
}

// field is the index of key among names, or -1 when it is none of them. It is -2 (stop)
// for a name seen before in this object (encoding/json would merge or overwrite), and
// for a key that matches a name only case-insensitively or is not ASCII when there are
// names (encoding/json matches names by Unicode case folding).
func (s *jsonScanner) field(key []byte, seen *uint64, names ...string) int {
	for i, n := range names {
		if string(key) == n {
			if *seen&(1<<i) != 0 {
				return -2
			}
			*seen |= 1 << i
			return i
		}
	}
	if !s.ascii && len(names) > 0 {
		return -2
	}
	for _, n := range names {
		if len(n) == len(key) && bytes.EqualFold(key, []byte(n)) {
			return -2
		}
	}
	return -1
}

// span finds the end of the string whose content starts at s.i: the index of its
// closing quote, when the content has neither escapes nor control characters (and
// records whether it is ASCII).
func (s *jsonScanner) span() (int, bool) {
	j := bytes.IndexByte(s.b[s.i:], '"')
	if j < 0 {
		return 0, false
	}
	content := s.b[s.i : s.i+j]
	if bytes.IndexByte(content, '\\') >= 0 {
		return 0, false
	}
	ctl, high := controlOrHigh(content)
	s.ascii = !high
	return s.i + j, !ctl
}

// controlOrHigh reports whether b has a byte below 0x20, and one at or above 0x80,
// eight bytes at a time ((x - 0x20 per byte) &^ x has a byte's top bit set exactly
// when some byte of x is below 0x20: the "hasless" test).
func controlOrHigh(b []byte) (ctl, high bool) {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	var lows, all uint64
	for len(b) >= 8 {
		x := binary.LittleEndian.Uint64(b)
		lows |= (x - 0x20*ones) &^ x
		all |= x
		b = b[8:]
	}
	for _, c := range b {
		ctl = ctl || c < 0x20
		all |= uint64(c)
	}
	return ctl || lows&highs != 0, all&highs != 0
}

// rawString reads a string without escapes or control characters and returns its
// bytes (a slice of the input).
func (s *jsonScanner) rawString() ([]byte, bool) {
	if !s.consume('"') {
		return nil, false
	}
	end, ok := s.span()
	if !ok {
		return nil, false
	}
	k := s.b[s.i:end]
	s.i = end + 1
	return k, true
}

// plainString reads a string without escapes that is valid UTF-8 (encoding/json would
// replace invalid bytes) as a slice of src.
func (s *jsonScanner) plainString() (string, bool) {
	start := s.i + 1
	raw, ok := s.rawString()
	if !ok || (!s.ascii && !utf8.Valid(raw)) {
		return "", false
	}
	if s.src == "" {
		s.src = string(s.b)
	}
	return s.src[start : start+len(raw)], true
}

// stringInto reads a string into *dst; null leaves it unchanged, as encoding/json does.
func (s *jsonScanner) stringInto(dst *string) bool {
	if s.null() {
		return true
	}
	v, ok := s.plainString()
	*dst = v
	return ok
}

// skip steps over one value of any kind, checking it is valid JSON.
func (s *jsonScanner) skip() bool {
	if s.i >= len(s.b) {
		return false
	}
	switch c := s.b[s.i]; {
	case c == '{' || c == '[':
		return s.skipContainer()
	case c == '"':
		return s.skipString()
	case c == '-' || (c >= '0' && c <= '9'):
		return s.skipNumber()
	}
	for _, lit := range []string{"true", "false", "null"} {
		if bytes.HasPrefix(s.b[s.i:], []byte(lit)) {
			s.i += len(lit)
			return true
		}
	}
	return false
}

// skipContainer steps over an object or an array.
func (s *jsonScanner) skipContainer() bool {
	if s.depth++; s.depth > maxScanDepth {
		return false
	}
	defer func() { s.depth-- }()
	w := walk{} // no names: every member is skipped
	if s.b[s.i] == '{' {
		for s.member(&w) {
		}
		return w.ended
	}
	for s.item(&w, '[', ']') {
		if !s.skip() {
			return false
		}
	}
	return w.ended
}

// skipString steps over a string, escapes included (each checked; invalid UTF-8 is
// accepted, as encoding/json accepts it).
func (s *jsonScanner) skipString() bool {
	s.i++ // "
	if end, ok := s.span(); ok {
		s.i = end + 1
		return true
	}
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return true
		case c < 0x20:
			return false
		case c == '\\':
			if s.i+1 >= len(s.b) {
				return false
			}
			switch s.b[s.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i += 2
			case 'u':
				if s.i+6 > len(s.b) {
					return false
				}
				for _, h := range s.b[s.i+2 : s.i+6] {
					if !isHex(h) {
						return false
					}
				}
				s.i += 6
			default:
				return false
			}
		default:
			s.i++
		}
	}
	return false
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// skipNumber steps over a number of JSON's grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *jsonScanner) skipNumber() bool {
	s.consume('-')
	switch {
	case s.consume('0'):
	case s.i < len(s.b) && s.b[s.i] >= '1' && s.b[s.i] <= '9':
		s.digits()
	default:
		return false
	}
	if s.consume('.') && !s.digits() {
		return false
	}
	if s.consume('e') || s.consume('E') {
		if !s.consume('+') {
			s.consume('-')
		}
		if !s.digits() {
			return false
		}
	}
	return true
}

// digits consumes [0-9]* and reports whether there was at least one.
func (s *jsonScanner) digits() bool {
	start := s.i
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i > start
}
