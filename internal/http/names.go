package http

import (
	"bytes"
	"encoding/json"
	"unicode"
	"unicode/utf8"

	"github.com/linkvault/linkvault"
)

// objectNames tracks the field names of the JSON objects open at a point of a scan,
// to refuse a name given twice in one object. encoding/json would keep the last of
// them, and it matches names without regard to case ("authToken" and "AuthToken" fill
// the same field), so a request that says two things at once is refused instead of
// read as one of them. Names are compared after unescaping, with case folded as
// bytes.EqualFold folds it.
type objectNames struct {
	names  [][]byte              // the names of the open objects, innermost last
	starts []int                 // where each open object's names start in names
	sets   []map[string]struct{} // per open object: its folded names, once it has many
}

// manyNames is the count of names from which an object's names are looked up in a
// set instead of compared one by one (a body of a megabyte can hold 100,000 names).
const manyNames = 16

func (o *objectNames) open() {
	o.starts = append(o.starts, len(o.names))
	o.sets = append(o.sets, nil)
}

func (o *objectNames) close() {
	if n := len(o.starts); n > 0 {
		o.names = o.names[:o.starts[n-1]]
		o.starts, o.sets = o.starts[:n-1], o.sets[:n-1]
	}
}

// add records raw, a name's text between its quotes in the innermost open object, and
// refuses it when that object already has it.
func (o *objectNames) add(raw []byte) error {
	top := len(o.starts) - 1
	if top < 0 {
		return nil
	}
	name := raw
	if bytes.IndexByte(raw, '\\') >= 0 {
		var s string
		if err := json.Unmarshal(append(append([]byte{'"'}, raw...), '"'), &s); err == nil {
			name = []byte(s)
		}
	}
	own := o.names[o.starts[top]:]
	switch set := o.sets[top]; {
	case set != nil:
		f := foldName(name)
		if _, dup := set[f]; dup {
			return duplicateName(name)
		}
		set[f] = struct{}{}
	default:
		for _, n := range own {
			if bytes.EqualFold(n, name) {
				return duplicateName(name)
			}
		}
		if len(own)+1 >= manyNames {
			set = make(map[string]struct{}, 2*manyNames)
			for _, n := range own {
				set[foldName(n)] = struct{}{}
			}
			set[foldName(name)] = struct{}{}
			o.sets[top] = set
		}
	}
	o.names = append(o.names, name)
	return nil
}

func duplicateName(name []byte) error {
	return linkvault.Errorf(linkvault.StatusBadRequest, linkvault.ErrTypeInvalidJSON,
		"%s is given more than once in one object; field names are matched without regard to case.", named("Field", string(name)))
}

// foldName maps name to one spelling per bytes.EqualFold class: every rune becomes the
// smallest rune of its simple case-folding orbit.
func foldName(name []byte) string {
	out := make([]byte, 0, len(name))
	for len(name) > 0 {
		r, size := utf8.DecodeRune(name)
		name = name[size:]
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		out = utf8.AppendRune(out, least)
	}
	return string(out)
}
