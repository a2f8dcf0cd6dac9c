package http

import (
	"net/url"
	"testing"
)

func TestParseView(t *testing.T) {
	ui, err := newLinkUI(NewServer(Config{}, Deps{}))
	if err != nil {
		t.Fatal(err)
	}
	def := view{Lang: "en", FiatCur: "USD", Theme: "system", RenderType: "overlay"}
	tests := []struct {
		query string
		want  view
	}{
		{"", def},
		{"lng=es&fiatCur=eur&th=dark&rt=embedded", view{Lang: "es", FiatCur: "EUR", Theme: "dark", RenderType: "embedded"}},
		{"lng=es-MX", view{Lang: "es", FiatCur: "USD", Theme: "system", RenderType: "overlay"}},
		{"lng=ES_es&th=light", view{Lang: "es", FiatCur: "USD", Theme: "light", RenderType: "overlay"}},
		{"lng=xx&fiatCur=EURO&th=neon&rt=popup", def},
		{"lng=../../en&fiatCur=<b>&th=%22", def},
	}
	for _, tt := range tests {
		q, _ := url.ParseQuery(tt.query)
		if got := ui.parseView(q); got != tt.want {
			t.Errorf("parseView(%q) = %+v, want %+v", tt.query, got, tt.want)
		}
	}
}

func TestCleanAssetPath(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"link.js", "link.js", true},
		{"logos/coinbase.svg", "logos/coinbase.svg", true},
		{"", "", false},
		{"../web.go", "", false},
		{"logos/../../x", "", false},
		{"/etc/passwd", "", false},
		{"logos//a.svg", "", false},
		{`logos\a.svg`, "", false},
		{".", "", false},
	}
	for _, tt := range tests {
		got, ok := cleanAssetPath(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("cleanAssetPath(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestCatalogsAreCompleteAndEnglishFillsGaps(t *testing.T) {
	ui, err := newLinkUI(NewServer(Config{}, Deps{}))
	if err != nil {
		t.Fatal(err)
	}
	en := ui.catalogs["en"]
	if len(ui.langs) < 2 || len(en) == 0 {
		t.Fatalf("languages %v", ui.langs)
	}
	for _, lang := range ui.langs {
		for k := range en {
			if ui.catalogs[lang][k] == "" {
				t.Errorf("%s lacks %q", lang, k)
			}
		}
	}
}

// TestStoredOriginsThatAreNotOriginsStayOutOfThePolicy: a client row whose allowed
// origins hold text that is not an origin (written by an older release, which accepted
// ";" and "," in a host, or straight into the database) adds nothing to the Link
// page's frame-ancestors or its postMessage list; the well-formed ones stay.
func TestStoredOriginsThatAreNotOriginsStayOutOfThePolicy(t *testing.T) {
	for _, c := range []struct {
		stored []string
		want   string
	}{
		{nil, "'none'"},
		{[]string{"https://app.example", "http://127.0.0.1:8081"}, "https://app.example http://127.0.0.1:8081"},
		{[]string{"https://app.example;script-src", "https://a.example,https://b.example"}, "'none'"},
		{[]string{"https://app.example", "https://x.example; script-src *"}, "https://app.example"},
		{[]string{"HTTPS://App.Example"}, "'none'"}, // not the form ParseOrigin stores
		{[]string{"*"}, "*"},
	} {
		got := pageOrigins(c.stored)
		if fa := frameAncestors(got); fa != c.want {
			t.Errorf("stored %q: frame-ancestors %q, want %q", c.stored, fa, c.want)
		}
		if got == nil {
			t.Errorf("stored %q: nil list (the boot data needs [])", c.stored)
		}
	}
}
