// Package meshspec is the contract of Mesh's REST API as published in Mesh's OpenAPI
// document, for tests: it validates the bodies linkvault answers against the schemas of
// that document. Only tests import it (the production binary links no schema
// validator).
//
// mesh-openapi.json is extracted from FrontFin/mesh-web-sdk,
// packages/node-api/swagger.json at commit e7c178a9f4cab0e1fc028b0511deb4ff114776b9
// (the document @meshconnect/node-api 2.0.28 is generated from): the paths with their
// tags, parameters and request/response schema references, and every component schema
// (names, types, required fields, enums, formats, nullability, additionalProperties),
// without descriptions, summaries, titles or examples. Its info.x-source says the same.
package meshspec

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
)

//go:embed mesh-openapi.json
var document []byte

// Spec is the loaded contract.
type Spec struct {
	doc *openapi3.T
	ops []Operation
}

// Operation is one operation of the document.
type Operation struct {
	Method string // upper case
	Path   string // template, e.g. /api/v1/transactions/{side}
	Tag    string
	op     *openapi3.Operation
}

// String is "METHOD path".
func (o Operation) String() string { return o.Method + " " + o.Path }

var (
	loadOnce sync.Once
	loaded   *Spec
	loadErr  error
)

// Load parses the embedded document (once per process).
func Load() (*Spec, error) {
	loadOnce.Do(func() { loaded, loadErr = load() })
	return loaded, loadErr
}

func load() (*Spec, error) {
	openapi3.DefineStringFormatValidator("uuid", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForUUIDOfRFC9562))
	openapi3.DefineStringFormatValidator("uri", uriValidator{})
	l := openapi3.NewLoader()
	doc, err := l.LoadFromData(extend(document))
	if err != nil {
		return nil, fmt.Errorf("meshspec: load: %w", err)
	}
	if err := doc.Validate(context.Background(), openapi3.DisableExamplesValidation()); err != nil {
		return nil, fmt.Errorf("meshspec: the document is not valid OpenAPI: %w", err)
	}
	s := &Spec{doc: doc}
	for _, path := range doc.Paths.InMatchingOrder() {
		item := doc.Paths.Value(path)
		for method, op := range item.Operations() {
			tag := ""
			if len(op.Tags) > 0 {
				tag = op.Tags[0]
			}
			s.ops = append(s.ops, Operation{Method: strings.ToUpper(method), Path: path, Tag: tag, op: op})
		}
	}
	sort.Slice(s.ops, func(i, j int) bool {
		if s.ops[i].Path != s.ops[j].Path {
			return s.ops[i].Path < s.ops[j].Path
		}
		return s.ops[i].Method < s.ops[j].Method
	})
	return s, nil
}

// Source is where the document comes from (info.x-source).
func (s *Spec) Source() map[string]any {
	v, _ := s.doc.Info.Extensions["x-source"].(map[string]any)
	return v
}

// Operations lists every operation of the document, by path then method.
func (s *Spec) Operations() []Operation { return append([]Operation(nil), s.ops...) }

// Find returns the operation a request path matches (literal paths win over
// templates, as a router would).
func (s *Spec) Find(method, path string) (Operation, bool) { return FindOperation(s.ops, method, path) }

// Route is the operation's method and path template.
func (o Operation) Route() (method, path string) { return o.Method, o.Path }

// FindOperation returns the operation among ops that a request matches: a literal
// path wins over a template, as a router would. apispec finds linkvault's own
// operations with it too.
func FindOperation[O interface{ Route() (method, path string) }](ops []O, method, path string) (O, bool) {
	method = strings.ToUpper(method)
	templated := -1
	for i, o := range ops {
		m, p := o.Route()
		if m != method {
			continue
		}
		if p == path {
			return o, true
		}
		if templated < 0 && matches(p, path) {
			templated = i
		}
	}
	if templated < 0 {
		var none O
		return none, false
	}
	return ops[templated], true
}

// MatchPath reports whether a request path matches an OpenAPI path template
// ("/api/v1/transactions/{side}"), one segment per parameter.
func MatchPath(template, path string) bool { return matches(template, path) }

func matches(template, path string) bool {
	ts, ps := strings.Split(template, "/"), strings.Split(path, "/")
	if len(ts) != len(ps) {
		return false
	}
	for i := range ts {
		if strings.HasPrefix(ts[i], "{") && strings.HasSuffix(ts[i], "}") {
			if ps[i] == "" {
				return false
			}
			continue
		}
		if ts[i] != ps[i] {
			return false
		}
	}
	return true
}

// ResponseSchema returns the name of the schema an answer with this HTTP status must
// match: the operation's own for the status (its 200 schema for success), else
// ApiResult, the envelope of every Mesh error (the document declares 401 and 403 with
// an empty schema and leaves other error statuses out; linkvault answers them with the
// ApiResult envelope, which is closed, so they are held to it).
func (s *Spec) ResponseSchema(o Operation, status int) (string, *openapi3.Schema, error) {
	if r := o.op.Responses.Value(strconv.Itoa(status)); r != nil && r.Value != nil {
		if mt := r.Value.Content.Get("application/json"); mt != nil && mt.Schema != nil {
			name := refName(mt.Schema.Ref)
			if mt.Schema.Value != nil && (name != "" || !isEmpty(mt.Schema.Value)) {
				return name, mt.Schema.Value, nil
			}
		}
	}
	if status >= 200 && status < 300 {
		return "", nil, fmt.Errorf("meshspec: %s declares no JSON body for HTTP %d", o, status)
	}
	ref := s.doc.Components.Schemas["ApiResult"]
	return "ApiResult", ref.Value, nil
}

func isEmpty(sc *openapi3.Schema) bool {
	return sc.Type == nil && len(sc.Properties) == 0 && len(sc.AllOf) == 0 && len(sc.OneOf) == 0 && len(sc.AnyOf) == 0 && sc.Items == nil
}

func refName(ref string) string {
	if i := strings.LastIndexByte(ref, '/'); i >= 0 {
		return ref[i+1:]
	}
	return ref
}

// Schema returns a component schema by name.
func (s *Spec) Schema(name string) (*openapi3.Schema, bool) {
	r := s.doc.Components.Schemas[name]
	if r == nil || r.Value == nil {
		return nil, false
	}
	return r.Value, true
}

// ValidateResponse checks an answer of linkvault to method path against the operation's
// schema for status. It reports which schema it used.
func (s *Spec) ValidateResponse(method, path string, status int, body []byte) (schema string, err error) {
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	o, ok := s.Find(method, path)
	if !ok {
		return "", fmt.Errorf("meshspec: %s %s is not an operation of Mesh's API", method, path)
	}
	name, sc, err := s.ResponseSchema(o, status)
	if err != nil {
		return "", err
	}
	return name, ValidateJSON(sc, body)
}

// ValidateJSON checks body against sc as a response (readOnly properties allowed,
// formats such as uuid enforced, every violation reported).
func ValidateJSON(sc *openapi3.Schema, body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return fmt.Errorf("meshspec: body is not JSON: %w", err)
	}
	v = NumbersToFloats(v)
	return sc.VisitJSON(v, openapi3.VisitAsResponse(), openapi3.EnableFormatValidation(), openapi3.MultiErrors())
}

// NumbersToFloats turns the json.Numbers of a value decoded with UseNumber into
// float64, which kin-openapi's validator expects.
func NumbersToFloats(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			t[k] = NumbersToFloats(x)
		}
	case []any:
		for i, x := range t {
			t[i] = NumbersToFloats(x)
		}
	case json.Number:
		f, _ := t.Float64()
		return f
	}
	return v
}

// Extensions are linkvault's documented additions to Mesh's document, applied at load:
// the brokerType "uphold" (the design brief's integration, absent from the document's
// BrokerType enum at this commit) joins every BrokerType enum. No property is added to
// any schema.
var Extensions = []string{`BrokerType enum + "uphold"`}

// extend applies Extensions to the raw document.
func extend(doc []byte) []byte {
	// Every BrokerType enum (the component and its inlined copies) ends with
	// "bybitDirectMobile", "sandbox".
	return brokerEnumEnd.ReplaceAll(doc, []byte(`"bybitDirectMobile",${1}"sandbox",${1}"uphold"`))
}

var brokerEnumEnd = regexp.MustCompile(`"bybitDirectMobile",(\s*)"sandbox"`)

// uriValidator accepts absolute URIs (the document's "uri" format).
type uriValidator struct{}

func (uriValidator) Validate(value string) error {
	u, err := url.Parse(value)
	if err != nil || u.Scheme == "" {
		return fmt.Errorf("not an absolute URI")
	}
	return nil
}

// RoundTripper wraps base so that every answer to an operation of Mesh's document is
// validated against its schema; report receives each violation (requests outside the
// document, such as linkvault's own endpoints, pass unchecked). Tests hand it to the
// API clients they use, so every response they receive is held to the contract.
func (s *Spec) RoundTripper(base http.RoundTripper, report func(error)) http.RoundTripper {
	return roundTripper{s: s, base: base, report: report}
}

type roundTripper struct {
	s      *Spec
	base   http.RoundTripper
	report func(error)
}

func (rt roundTripper) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := rt.base.RoundTrip(r)
	if err != nil {
		return res, err
	}
	if _, ok := rt.s.Find(r.Method, r.URL.Path); !ok {
		return res, nil
	}
	body, rerr := io.ReadAll(res.Body)
	_ = res.Body.Close()
	res.Body = io.NopCloser(bytes.NewReader(body))
	if rerr != nil {
		return res, nil // the client reports the read error itself
	}
	if schema, verr := rt.s.ValidateResponse(r.Method, r.URL.Path, res.StatusCode, body); verr != nil {
		rt.report(fmt.Errorf("%s %s answered %d, which does not match Mesh's %s schema: %w\n%s", r.Method, r.URL.Path, res.StatusCode, schema, verr, body))
	}
	return res, nil
}
