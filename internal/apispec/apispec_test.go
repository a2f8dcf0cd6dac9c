package apispec_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/linkvault/linkvault/internal/apispec"
)

func TestDocumentIsValidOpenAPI31(t *testing.T) {
	s, err := apispec.Load()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(s.Operations()); n < 60 {
		t.Fatalf("%d operations", n)
	}
	for _, tc := range []struct {
		method, path string
		status       int
		body         string
		ok           bool
	}{
		{"GET", "/api/v1/integrations", 401, `{"status":"permissionDenied","message":"x","displayMessage":null,"errorType":"invalidCredentials"}`, true},
		{"GET", "/api/v1/integrations", 401, `{"status":"permissionDenied","message":"x","errorType":"y","extra":1}`, false},
		{"GET", "/api/v1/nowhere", 404, `{}`, false},
		{"GET", "/healthz", 200, `{"status":"ok","message":"","displayMessage":null,"errorType":"","content":{"state":"alive"}}`, true},
		{"GET", "/healthz", 418, `{}`, false},
		{"POST", "/api/v1/transactions/buy", 404, `{"status":"notFound","message":"x","displayMessage":null,"errorType":"notImplemented"}`, true},
	} {
		err := s.ValidateResponse(tc.method, tc.path, tc.status, "application/json", []byte(tc.body))
		if (err == nil) != tc.ok {
			t.Errorf("%s %s %d %s: %v, want ok=%v", tc.method, tc.path, tc.status, tc.body, err, tc.ok)
		}
	}
}

// TestDocsAPIMatchesTheDocument: docs/api.md's table of operations lists every
// Mesh-compatible operation of api/openapi.json, with the same status (implemented or
// notImplemented), and nothing the document lacks.
func TestDocsAPIMatchesTheDocument(t *testing.T) {
	s, err := apispec.Load()
	if err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join("..", "..", "docs", "api.md"))
	if err != nil {
		t.Fatal(err)
	}
	type row struct{ ops, status string }
	var rows []row
	for _, line := range strings.Split(string(md), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 4 || !strings.Contains(cells[1], "/api/v1/") {
			continue
		}
		rows = append(rows, row{ops: cells[1], status: strings.TrimSpace(cells[2])})
	}
	if len(rows) < 30 {
		t.Fatalf("docs/api.md: %d operation rows", len(rows))
	}
	paths := regexp.MustCompile("/api/v1/[A-Za-z0-9/{}*_.-]+")
	covers := func(r row, path string) bool {
		for _, p := range paths.FindAllString(r.ops, -1) {
			if p == path || (strings.HasSuffix(p, "/*") && strings.HasPrefix(path, strings.TrimSuffix(p, "*"))) {
				return true
			}
		}
		return false
	}
	for _, o := range s.Operations() {
		if !strings.HasPrefix(o.Path, "/api/v1/") || o.Path == "/api/v1/managed/token/get" {
			continue
		}
		var found *row
		for i := range rows {
			if covers(rows[i], o.Path) && strings.Contains(rows[i].ops, o.Method) {
				found = &rows[i]
				break
			}
		}
		if found == nil {
			t.Errorf("docs/api.md has no row for %s", o)
			continue
		}
		_, notImpl := o.Op.Extensions["x-linkvault-status"]
		if notImpl != strings.HasPrefix(found.status, "notImplemented") {
			t.Errorf("%s: docs/api.md says %q, the document notImplemented=%v", o, found.status, notImpl)
		}
	}
	for _, r := range rows {
		for _, p := range paths.FindAllString(r.ops, -1) {
			if strings.HasSuffix(p, "/*") {
				continue
			}
			documented := false
			for _, o := range s.Operations() {
				documented = documented || o.Path == p
			}
			if !documented {
				t.Errorf("docs/api.md lists %s, which api/openapi.json lacks", p)
			}
		}
	}
}
