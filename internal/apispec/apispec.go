// Package apispec holds linkvault's answers to its own OpenAPI 3.1 document (api/openapi.json),
// for tests: it loads the document with kin-openapi, checks it is valid OpenAPI 3.1, and
// validates responses against the operation they answer (declared status, JSON body
// against the schema, with JSON Schema 2020-12 semantics). Its RoundTripper is handed to
// the end-to-end tests' clients, as internal/meshspec's is for Mesh's document, so every
// answer they receive is held to the published contract. Only tests import it.
package apispec

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/linkvault/linkvault/api"
	"github.com/linkvault/linkvault/internal/meshspec"
)

// Spec is the loaded document.
type Spec struct {
	Doc *openapi3.T
	ops []Operation
}

// Operation is one operation of the document.
type Operation struct {
	Method, Path string
	Op           *openapi3.Operation
}

func (o Operation) String() string { return o.Method + " " + o.Path }

// Route is the operation's method and path template.
func (o Operation) Route() (method, path string) { return o.Method, o.Path }

var (
	once    sync.Once
	loaded  *Spec
	loadErr error
)

// Load parses and validates the embedded document (once per process).
func Load() (*Spec, error) {
	once.Do(func() { loaded, loadErr = load(api.OpenAPI()) })
	return loaded, loadErr
}

func load(data []byte) (*Spec, error) {
	// The formats Mesh's schemas use (meshspec defines them for its own loader too).
	openapi3.DefineStringFormatValidator("uuid", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForUUIDOfRFC9562))
	doc, err := openapi3.NewLoader().LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("apispec: load: %w", err)
	}
	if !doc.IsOpenAPI31OrLater() || doc.IsOpenAPI32OrLater() {
		return nil, fmt.Errorf("apispec: the document declares openapi %q, want 3.1.x", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background(), openapi3.DisableExamplesValidation()); err != nil {
		return nil, fmt.Errorf("apispec: the document is not valid OpenAPI: %w", err)
	}
	s := &Spec{Doc: doc}
	for _, path := range doc.Paths.InMatchingOrder() {
		for method, op := range doc.Paths.Value(path).Operations() {
			s.ops = append(s.ops, Operation{Method: strings.ToUpper(method), Path: path, Op: op})
		}
	}
	sort.Slice(s.ops, func(i, j int) bool { return s.ops[i].String() < s.ops[j].String() })
	return s, nil
}

// Operations lists every operation, by path then method.
func (s *Spec) Operations() []Operation { return append([]Operation(nil), s.ops...) }

// Find returns the operation a request matches (a literal path wins over a template).
func (s *Spec) Find(method, path string) (Operation, bool) {
	return meshspec.FindOperation(s.ops, method, path)
}

// ValidateResponse checks an answer: the operation exists, declares the status (or its
// class, or a default), and a JSON body matches the declared schema.
func (s *Spec) ValidateResponse(method, path string, status int, contentType string, body []byte) error {
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	o, ok := s.Find(method, path)
	if !ok {
		return fmt.Errorf("%s %s is not in linkvault's OpenAPI document", method, path)
	}
	ref := o.Op.Responses.Status(status)
	if ref == nil {
		ref = o.Op.Responses.Value(strconv.Itoa(status/100) + "XX")
	}
	if ref == nil {
		ref = o.Op.Responses.Default()
	}
	if ref == nil || ref.Value == nil {
		return fmt.Errorf("%s answered %d, a status the document does not declare for it", o, status)
	}
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt != "application/json" {
		if len(ref.Value.Content) > 0 && ref.Value.Content.Get(mt) == nil && len(body) > 0 {
			return fmt.Errorf("%s answered %d with %q, which the document does not declare", o, status, mt)
		}
		return nil
	}
	media := ref.Value.Content.Get("application/json")
	if media == nil || media.Schema == nil || media.Schema.Value == nil {
		return fmt.Errorf("%s answered %d with JSON, but the document declares no JSON body", o, status)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return fmt.Errorf("%s answered %d with a body that is not JSON: %w", o, status, err)
	}
	v = meshspec.NumbersToFloats(v)
	if err := media.Schema.Value.VisitJSON(v, openapi3.VisitAsResponse(), openapi3.EnableFormatValidation(),
		openapi3.EnableJSONSchema2020(), openapi3.MultiErrors()); err != nil {
		return fmt.Errorf("%s answered %d with a body that does not match the document: %w", o, status, err)
	}
	return nil
}

// RoundTripper wraps base so that every answer from linkvault at baseURL (other hosts,
// such as the simulated exchanges a Link flow visits, pass unchecked) is validated
// against the document; report receives each violation (including a request to an
// undocumented path).
func (s *Spec) RoundTripper(base http.RoundTripper, baseURL string, report func(error)) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	host := baseURL
	if u, err := url.Parse(baseURL); err == nil && u.Host != "" {
		host = u.Host
	}
	return roundTripper{s: s, base: base, host: host, report: report}
}

type roundTripper struct {
	s      *Spec
	base   http.RoundTripper
	host   string
	report func(error)
}

func (rt roundTripper) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := rt.base.RoundTrip(r)
	if err != nil || r.URL.Host != rt.host {
		return res, err
	}
	body, rerr := io.ReadAll(res.Body)
	_ = res.Body.Close()
	res.Body = io.NopCloser(bytes.NewReader(body))
	if rerr != nil {
		return res, nil
	}
	if verr := rt.s.ValidateResponse(r.Method, r.URL.Path, res.StatusCode, res.Header.Get("Content-Type"), body); verr != nil {
		rt.report(fmt.Errorf("%w\n%s", verr, truncate(body)))
	}
	return res, nil
}

func truncate(b []byte) []byte {
	if len(b) > 2000 {
		return append(b[:2000:2000], "…"...)
	}
	return b
}

// Client is an HTTP client whose every answer from linkvault at baseURL is validated
// (report receives the violations, typically t.Error).
func (s *Spec) Client(baseURL string, report func(error)) *http.Client {
	return &http.Client{Transport: s.RoundTripper(nil, baseURL, report)}
}
