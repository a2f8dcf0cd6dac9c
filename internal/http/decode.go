package http

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"
	"sync"

	"github.com/linkvault/linkvault"
)

// decodeJSON reads exactly one JSON object from the body into v, bounded by the
// server's body limit, and turns every failure into a clear badRequest.
func (s *Server) decodeJSON(r *http.Request, v any) error {
	if err := checkJSONContentType(r); err != nil {
		return err
	}
	return decodeJSONBody(r.Body, v)
}

// checkJSONContentType refuses a Content-Type other than application/json (absent is
// accepted). The two spellings clients send are recognised without parsing.
func checkJSONContentType(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" || ct == "application/json" || ct == "application/json; charset=utf-8" {
		return nil
	}
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
		return linkvault.Errorf(linkvault.StatusBadRequest, linkvault.ErrTypeInvalidJSON, "Content-Type must be application/json.")
	}
	return nil
}

// decodeJSONBody parses exactly one JSON value from body into v and checks that every
// string in it is valid text (validate.go). It is separate from the HTTP plumbing so it
// can be fuzzed. The body is read whole (it is bounded by the
// server's MaxBytesReader) and parsed in one pass: json.Unmarshal refuses trailing data.
func decodeJSONBody(body io.Reader, v any) error {
	buf := bufPool.Get().(*bytes.Buffer)
	defer releaseBody(buf)
	buf.Reset()
	if _, err := buf.ReadFrom(body); err != nil {
		return jsonError(err, nil)
	}
	return decodeJSONData(bytes.TrimSpace(buf.Bytes()), v)
}

// decodeJSONData is decodeJSONBody of a body already read and trimmed.
func decodeJSONData(data []byte, v any) error {
	if len(data) == 0 {
		return jsonError(io.EOF, nil)
	}
	if err := json.Unmarshal(data, v); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) && syn.Offset > 1 && json.Valid(data[:syn.Offset-1]) {
			// A complete value followed by more input.
			return linkvault.Errorf(linkvault.StatusBadRequest, linkvault.ErrTypeInvalidJSON, "Request body must contain a single JSON object.")
		}
		return jsonError(err, v)
	}
	return checkJSONText(data)
}

// bufPool recycles request-body buffers; bodies above maxPooledBody are not kept.
var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

const maxPooledBody = 64 << 10

func isTooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}

// jsonError is the envelope error of a failed decode into v (nil when nothing was
// decoded yet).
func jsonError(err error, v any) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case isTooLarge(err):
		return linkvault.Errorf(linkvault.StatusBadRequest, linkvault.ErrTypeBodyTooLarge, "Request body is too large.")
	case errors.Is(err, io.EOF):
		return linkvault.Errorf(linkvault.StatusBadRequest, linkvault.ErrTypeInvalidJSON, "Request body is empty; a JSON object is required.")
	case errors.As(err, &syn), errors.Is(err, io.ErrUnexpectedEOF):
		return linkvault.Errorf(linkvault.StatusBadRequest, linkvault.ErrTypeInvalidJSON, "Request body is not valid JSON.")
	case errors.As(err, &typ):
		if typ.Field != "" {
			return linkvault.Errorf(linkvault.StatusBadRequest, linkvault.ErrTypeInvalidJSON, "Field %q %s.", jsonPath(v, typ.Field), typeMismatch(typ))
		}
		return linkvault.Errorf(linkvault.StatusBadRequest, linkvault.ErrTypeInvalidJSON, "Request body must be a JSON object.")
	default:
		return linkvault.Errorf(linkvault.StatusBadRequest, linkvault.ErrTypeInvalidJSON, "Request body could not be read as JSON.")
	}
}

// jsonPath is the JSON path of field, a path encoding/json reported for a decode into
// v, without the names of embedded structs it puts in (encoding/json names a field of
// an embedded struct "fromAccount.fromAuthToken" where the request has "fromAuthToken":
// the request's own path is what the caller can act on, and Go type names are not part
// of the API).
func jsonPath(v any, field string) string {
	if v == nil {
		return field
	}
	t := reflect.TypeOf(v)
	segs := strings.Split(field, ".")
	out := segs[:0]
	for _, seg := range segs {
		for t != nil && (t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map) {
			t = t.Elem()
		}
		if t == nil || t.Kind() != reflect.Struct {
			out, t = append(out, seg), nil
			continue
		}
		f, ok := t.FieldByName(seg)
		if ok && f.Anonymous && f.Tag.Get("json") == "" {
			t = f.Type // an embedded struct's Go name: not in the request
			continue
		}
		out, t = append(out, seg), fieldByJSONName(t, seg)
	}
	return strings.Join(out, ".")
}

// fieldByJSONName is the type of t's field (embedded ones included) that JSON names
// name, or nil.
func fieldByJSONName(t reflect.Type, name string) reflect.Type {
	for _, f := range reflect.VisibleFields(t) {
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag == name || (tag == "" && strings.EqualFold(f.Name, name)) {
			return f.Type
		}
	}
	return nil
}

// typeMismatch says what a field's JSON value should have been ("must be of type
// string"). A number given for an integer field that does not fit it is told apart: a
// fraction or exponent is not a whole number, and too many digits are out of range
// (encoding/json reports both as a number of the wrong type); so is a number beyond a
// double's range (1e400) given for a number field.
func typeMismatch(typ *json.UnmarshalTypeError) string {
	switch typ.Type.Kind() {
	case reflect.String:
		return "must be of type string"
	case reflect.Bool:
		return "must be of type boolean"
	case reflect.Struct, reflect.Map:
		return "must be of type object"
	case reflect.Slice, reflect.Array:
		return "must be of type array"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		digits, isNumber := strings.CutPrefix(typ.Value, "number ")
		switch {
		case !isNumber:
			return "must be of type integer"
		case strings.ContainsAny(digits, ".eE"):
			return "must be a whole number"
		default:
			return "is out of range"
		}
	default:
		if strings.HasPrefix(typ.Value, "number") {
			return "is out of range"
		}
		return "must be of type number"
	}
}
