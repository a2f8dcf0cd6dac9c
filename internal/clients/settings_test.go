package clients_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/clients"
)

// TestParseOrigin: origins in the form browsers report them (the value a CSP
// frame-ancestors list and a postMessage origin check compare against).
func TestParseOrigin(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"https://app.example", "https://app.example"},
		{"https://App.Example/", "https://app.example"},
		{"https://app.example:443", "https://app.example"},
		{"http://app.example:80", "http://app.example"},
		{"http://127.0.0.1:8081", "http://127.0.0.1:8081"},
		{"http://[::1]:8081", "http://[::1]:8081"},
		{" * ", "*"},
		{"app.example", ""},
		{"ftp://app.example", ""},
		{"https://app.example/path", ""},
		{"https://app.example?x=1", ""},
		{"https://user@app.example", ""},
		{"https://*.app.example", ""},
		{"javascript:alert(1)", ""},
		{"", ""},
		// Only a host name, an IP address and a port: the origin goes into the Link
		// page's CSP header, where ";" starts a directive and "," a second policy.
		{"https://app.example;script-src", ""},
		{"https://app.example,evil.example", ""},
		{"https://app.ex'ample", ""},
		{`https://app.ex"ample`, ""},
		{"https://app..example", ""},
		{"https://app.example.", ""},
		{"https://bücher.example", ""},
		{"https://xn--bcher-kva.example", "https://xn--bcher-kva.example"},
		{"https://my_shop.example", "https://my_shop.example"},
		{"https://app.example:99999", ""},
		{"https://app.example:0", ""},
		{"https://app.example:08080", ""},
		{"https://app.example:8443", "https://app.example:8443"},
		{"http://[fe80::1%25eth0]:8081", ""},
	} {
		got, err := clients.ParseOrigin(c.in)
		if got != c.want || (err == nil) != (c.want != "") {
			t.Errorf("ParseOrigin(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
		if err != nil && linkvault.ErrorStatus(err) != linkvault.StatusBadRequest {
			t.Errorf("ParseOrigin(%q): %v is not a bad request", c.in, err)
		}
	}
}

func TestLogoDataURI(t *testing.T) {
	png := "\x89PNG\r\n\x1a\n" + strings.Repeat("\x00", 16)
	for _, c := range []struct {
		in   string
		mime string
	}{
		{png, "image/png"},
		{"\xff\xd8\xff\xe0rest", "image/jpeg"},
		{`<svg xmlns="http://www.w3.org/2000/svg"/>`, "image/svg+xml"},
		{"<html><script>alert(1)</script></html>", ""},
		{"", ""},
		{"\x89PNG\r\n\x1a\n" + strings.Repeat("x", clients.MaxLogoBytes), ""},
	} {
		got, err := clients.LogoDataURI([]byte(c.in))
		if c.mime == "" {
			if err == nil {
				t.Errorf("LogoDataURI(%.20q) accepted: %.40s", c.in, got)
			}
			continue
		}
		if err != nil || !strings.HasPrefix(got, "data:"+c.mime+";base64,") {
			t.Errorf("LogoDataURI(%.20q) = %.40s, %v", c.in, got, err)
		}
	}
}

// TestUpdateLinkSettings: name, logo and origins change independently; origins are
// normalised and deduplicated; "*" stands alone; bad input changes nothing.
func TestUpdateLinkSettings(t *testing.T) {
	ctx := context.Background()
	svc, db := newService(t, time.Minute)
	if _, err := svc.CreateClient(ctx, "appA", "App A"); err != nil {
		t.Fatal(err)
	}
	name, logo := "Demo Wallet", "data:image/png;base64,iVBORw0KGgo="
	c, err := svc.UpdateLinkSettings(ctx, "appA", clients.LinkSettings{Name: &name, Logo: &logo,
		AllowedOrigins: []string{"https://App.example:443", "https://app.example", "http://localhost:3000"}, SetOrigins: true})
	if err != nil || c.Name != name || c.Logo != logo || strings.Join(c.AllowedOrigins, " ") != "https://app.example http://localhost:3000" {
		t.Fatalf("update: %+v %v", c, err)
	}
	// Only the name: logo and origins stay.
	other := "Wallet"
	if c, err = svc.UpdateLinkSettings(ctx, "appA", clients.LinkSettings{Name: &other}); err != nil || c.Logo != logo || len(c.AllowedOrigins) != 2 {
		t.Fatalf("name only: %+v %v", c, err)
	}
	if c, _ = svc.UpdateLinkSettings(ctx, "appA", clients.LinkSettings{AllowedOrigins: []string{"https://a.example", "*"}, SetOrigins: true}); strings.Join(c.AllowedOrigins, " ") != "*" {
		t.Fatalf("with *: %v", c.AllowedOrigins)
	}
	if _, err := svc.UpdateLinkSettings(ctx, "appA", clients.LinkSettings{AllowedOrigins: []string{"https://ok.example", "not an origin"}, SetOrigins: true}); err == nil {
		t.Fatal("bad origin accepted")
	}
	bad := "https://evil.example/logo.png"
	if _, err := svc.UpdateLinkSettings(ctx, "appA", clients.LinkSettings{Logo: &bad}); err == nil {
		t.Fatal("remote logo accepted")
	}
	got, _ := db.GetClient(ctx, "appA")
	if strings.Join(got.AllowedOrigins, " ") != "*" || got.Logo != logo || got.Name != other {
		t.Fatalf("a refused update changed the client: %+v", got)
	}
	if c, _ = svc.UpdateLinkSettings(ctx, "appA", clients.LinkSettings{SetOrigins: true}); len(c.AllowedOrigins) != 0 {
		t.Fatalf("cleared: %v", c.AllowedOrigins)
	}
	if _, err := svc.UpdateLinkSettings(ctx, "nope", clients.LinkSettings{Name: &name}); linkvault.ErrorStatus(err) != linkvault.StatusNotFound {
		t.Fatalf("unknown client: %v", err)
	}
}
