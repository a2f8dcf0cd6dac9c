package clients

import (
	"context"
	"encoding/base64"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/linkvault/linkvault"
)

// A client's Link settings: the name and logo its Link pages show, and the web
// origins allowed to frame them and receive their messages.

// MaxLogoBytes bounds a client's logo (the image itself, before base64).
const MaxLogoBytes = 64 << 10

// MaxAllowedOrigins bounds a client's list of allowed origins.
const MaxAllowedOrigins = 32

// AnyOrigin is the allowed origin that lets any site frame the Link page. The
// operator must set it explicitly; it is never a default.
const AnyOrigin = "*"

// logoTypes are the image types a logo may have, by the prefix of their bytes.
var logoTypes = []struct {
	mime  string
	match func([]byte) bool
}{
	{"image/png", func(b []byte) bool { return strings.HasPrefix(string(b), "\x89PNG\r\n\x1a\n") }},
	{"image/jpeg", func(b []byte) bool { return strings.HasPrefix(string(b), "\xff\xd8\xff") }},
	{"image/webp", func(b []byte) bool { return len(b) > 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP" }},
	{"image/svg+xml", func(b []byte) bool {
		s := strings.TrimSpace(string(b))
		return strings.HasPrefix(s, "<svg") || (strings.HasPrefix(s, "<?xml") && strings.Contains(s, "<svg"))
	}},
}

// LogoDataURI checks an image file's bytes (PNG, JPEG, WebP or SVG, at most
// MaxLogoBytes) and returns it as the data: URI Client.Logo holds. An SVG logo is
// shown through <img>, where its scripts never run.
func LogoDataURI(b []byte) (string, error) {
	if len(b) == 0 || len(b) > MaxLogoBytes {
		return "", linkvault.ErrInvalid("the logo must be an image file of at most %d KiB.", MaxLogoBytes>>10)
	}
	for _, t := range logoTypes {
		if t.match(b) {
			return "data:" + t.mime + ";base64," + base64.StdEncoding.EncodeToString(b), nil
		}
	}
	return "", linkvault.ErrInvalid("the logo must be a PNG, JPEG, WebP or SVG image.")
}

// ParseOrigin checks a web origin as an operator types it and returns it in the form
// browsers report (lowercase scheme and host, no default port, no trailing slash):
// "https://app.example", "http://localhost:8080", or AnyOrigin.
func ParseOrigin(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == AnyOrigin {
		return s, nil
	}
	u, err := url.Parse(s)
	bad := func() (string, error) {
		return "", linkvault.ErrInvalid("allowed origin %q must be scheme://host[:port] (http or https, no path), or *.", s)
	}
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" || strings.ContainsAny(u.Host, "*") {
		return bad()
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if !originHost(host) || !originPort(port) {
		// The origin is written into the Link page's Content-Security-Policy header
		// (frame-ancestors) and compared with browsers' event.origin: anything but a
		// host name, an IP address and a port (";", ",", quotes, a port above 65535)
		// would be an origin no browser reports, or extra policy text.
		return "", linkvault.ErrInvalid("allowed origin %q must be scheme://host[:port] with a DNS name (international names in their xn-- form), an IP address and a port of 1-65535, or *.", s)
	}
	if (u.Scheme == "https" && port == "443") || (u.Scheme == "http" && port == "80") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	out := u.Scheme + "://" + host
	if port != "" {
		out += ":" + port
	}
	return out, nil
}

// LinkSettings are the fields of a client's Link settings an update changes; nil
// leaves a field as it is.
type LinkSettings struct {
	Name           *string
	Logo           *string // a data: URI from LogoDataURI, or "" to remove it
	AllowedOrigins []string
	SetOrigins     bool // replace AllowedOrigins (with an empty list: none)
}

// UpdateLinkSettings changes a client's name, logo and allowed origins.
func (s *Service) UpdateLinkSettings(ctx context.Context, id string, u LinkSettings) (*linkvault.Client, error) {
	c, err := s.store.GetClient(ctx, id)
	if err != nil {
		return nil, err
	}
	if u.Name != nil {
		name := strings.TrimSpace(*u.Name)
		if name == "" || len(name) > 200 {
			return nil, linkvault.ErrInvalid("client name must be 1-200 characters.")
		}
		c.Name = name
	}
	if u.Logo != nil {
		if *u.Logo != "" && !strings.HasPrefix(*u.Logo, "data:image/") {
			return nil, linkvault.ErrInvalid("the logo must be a data:image URI (see LogoDataURI).")
		}
		c.Logo = *u.Logo
	}
	if u.SetOrigins {
		if len(u.AllowedOrigins) > MaxAllowedOrigins {
			return nil, linkvault.ErrInvalid("at most %d allowed origins.", MaxAllowedOrigins)
		}
		var origins []string
		for _, o := range u.AllowedOrigins {
			n, err := ParseOrigin(o)
			if err != nil {
				return nil, err
			}
			if !slices.Contains(origins, n) {
				origins = append(origins, n)
			}
		}
		if slices.Contains(origins, AnyOrigin) {
			origins = []string{AnyOrigin}
		}
		c.AllowedOrigins = origins
	}
	if err := s.store.UpdateClient(ctx, c); err != nil {
		return nil, err
	}
	return c, nil
}

// originHost reports whether host (lowercase, without brackets) is an IP address or a
// DNS name of ASCII letters, digits, hyphens and underscores in non-empty dot-separated
// labels.
func originHost(host string) bool {
	if a, err := netip.ParseAddr(host); err == nil {
		return a.Zone() == ""
	}
	if host == "" || len(host) > 253 {
		return false
	}
	for _, label := range strings.Split(host, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// originPort reports whether port is empty or a decimal number within 1..65535.
func originPort(port string) bool {
	if port == "" {
		return true
	}
	n, err := strconv.Atoi(port)
	return err == nil && n >= 1 && n <= 65535 && port[0] != '0'
}
