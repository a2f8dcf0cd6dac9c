package http

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
)

// contentTypes of the embedded files, by extension.
var contentTypes = map[string]string{
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	".json": "application/json; charset=utf-8",
	".ts":   "text/plain; charset=utf-8", // TypeScript declarations (link.d.ts)
}

func etag(b []byte) string {
	sum := sha256.Sum256(b)
	return `"` + hex.EncodeToString(sum[:12]) + `"`
}

// handleAsset serves the Link UI's static files (/link/assets/...).
func (ui *linkUI) handleAsset(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	p, ok := cleanAssetPath(r.PathValue("path"))
	if !ok {
		http.NotFound(w, r)
		return
	}
	ui.serveFile(w, r, ui.static, "static/", p, "public, max-age=86400")
}

// handleSDK serves the web SDK (/sdk/link.js, /sdk/link.d.ts, /sdk/package.json).
// Apps load it as an ES module from their own origin, so it is served with CORS.
func (ui *linkUI) handleSDK(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	name := r.PathValue("file")
	switch name {
	case "link.js", "link.d.ts", "package.json":
	default:
		http.NotFound(w, r)
		return
	}
	ui.serveFile(w, r, ui.sdk, "sdk/", name, "public, max-age=604800")
}

func (ui *linkUI) serveFile(w http.ResponseWriter, r *http.Request, fsys fs.FS, prefix, name, cacheControl string) {
	b, err := fs.ReadFile(fsys, name)
	ct, known := contentTypes[path.Ext(name)]
	if err != nil || !known {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("Cache-Control", cacheControl)
	tag := ui.etags[prefix+name]
	h.Set("ETag", tag)
	if match := r.Header.Get("If-None-Match"); match != "" && match == tag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	_, _ = w.Write(b)
}
