// Package web holds the files the server embeds and serves: the Link UI's HTML
// templates, its stylesheet and page scripts (ES modules, type checked with
// tsc --checkJs by scripts/webcheck against tsconfig.json), the integration logos, the message
// catalogs of the Link UI, and the project's web SDK (sdk/link.js with its TypeScript
// declarations and npm package manifest). Everything the Link UI needs is here, so it
// works with no external network at all.
package web

import (
	"embed"
	"io/fs"
)

//go:embed templates/*.html static i18n/*.json sdk/link.js sdk/link.d.ts sdk/package.json
var files embed.FS

// Templates returns the HTML templates: link.html, status.html (the OAuth callback and
// message pages) and head.html (the head both share).
func Templates() fs.FS { return sub("templates") }

// Static returns the Link UI's static assets: link.css and its dark palette dark.css,
// the entry modules of the Link, message and callback pages (link.js, message.js,
// callback.js), the modules they share (lib/*.js) and logos/.
func Static() fs.FS { return sub("static") }

// Catalogs returns the Link UI message catalogs, one <lang>.json per language.
func Catalogs() fs.FS { return sub("i18n") }

// SDK returns the web SDK files (link.js, link.d.ts, package.json).
func SDK() fs.FS { return sub("sdk") }

func sub(dir string) fs.FS {
	f, err := fs.Sub(files, dir)
	if err != nil {
		panic("web: embedded directory " + dir + ": " + err.Error()) // fixed paths; cannot fail
	}
	return f
}
