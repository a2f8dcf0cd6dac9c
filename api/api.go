// Package api holds linkvault's OpenAPI 3.1 document (openapi.json): every REST
// operation (the Mesh-compatible ones, those of Mesh's document answered with
// notImplemented, linkvault's own), the Link page API, the admin endpoints and the
// webhooks. The server serves it at /openapi.json; internal/apispec validates the
// end-to-end tests' answers against it; docs/api.md is its prose companion.
package api

import _ "embed"

//go:embed openapi.json
var document []byte

// OpenAPI returns the document (a copy: callers may keep or change it).
func OpenAPI() []byte { return append([]byte(nil), document...) }
