package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/linkvault/linkvault/internal/proctest"
)

var (
	appURLRE = regexp.MustCompile(`Open the example app:\s+(http://\S+)`)
	lvURLRE  = regexp.MustCompile(`linkvault API \+ Link UI\s+(http://\S+)`)
	adminRE  = regexp.MustCompile(`metrics and health\s+(http://\S+)`)
)

// TestDemoRunsTheWholeStack runs `linkvault demo` (the README's first command) on free
// ports and goes through the example app as a browser would, up to an opened Link
// page: server, SQLite, simulated exchanges, example app and their wiring.
func TestDemoRunsTheWholeStack(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut proctest.Output
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"demo", "--dir", dir, "--addr", "127.0.0.1:0", "--app-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0"}, &out, &errOut, func(string) (string, bool) { return "", false })
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("demo ended with %v", err)
		}
	}()
	var appURL, lvURL string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m, l := appURLRE.FindStringSubmatch(out.String()), lvURLRE.FindStringSubmatch(out.String()); m != nil && l != nil {
			appURL, lvURL = m[1], l[1]
			break
		}
	}
	if appURL == "" {
		t.Fatalf("the demo printed no URL to open:\n%s\n%s", out.String(), errOut.String())
	}

	// answer is the response to a request and its body, read and closed; a request that
	// could not be sent fails the test.
	answer := func(res *http.Response, err error) (*http.Response, []byte) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res, body
	}
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	res, page := answer(browser.PostForm(appURL+"/signin", url.Values{"name": {"alice"}}))
	if res.StatusCode != 200 || !strings.Contains(string(page), `data-linkvault="`+lvURL+`"`) {
		t.Fatalf("signed-in app page: %d, does not point the SDK at linkvault %s", res.StatusCode, lvURL)
	}
	res, body := answer(browser.Post(appURL+"/api/linktoken", "application/json", strings.NewReader(`{}`)))
	var lt struct {
		LinkToken string `json:"linkToken"`
	}
	if err := json.Unmarshal(body, &lt); err != nil || res.StatusCode != 200 {
		t.Fatalf("the app's backend got no linkToken: %d %v", res.StatusCode, err)
	}
	linkURL, err := base64.StdEncoding.DecodeString(lt.LinkToken)
	if err != nil || !strings.HasPrefix(string(linkURL), lvURL+"/link/") {
		t.Fatalf("linkToken %q is not the base64 of a Link URL on %s", lt.LinkToken, lvURL)
	}
	res, body = answer(http.Get(string(linkURL)))
	if res.StatusCode != 200 || !strings.Contains(string(body), "data-boot") || res.Header.Get("Content-Security-Policy") == "" {
		t.Fatalf("Link page: %d (CSP %q)", res.StatusCode, res.Header.Get("Content-Security-Policy"))
	}
	admin := adminRE.FindStringSubmatch(out.String())
	if admin == nil {
		t.Fatalf("the demo printed no admin URL:\n%s", out.String())
	}
	for _, u := range []string{lvURL + "/sdk/link.js", admin[1] + "/readyz", admin[1] + "/metrics"} {
		if res, _ := answer(http.Get(u)); res.StatusCode != 200 {
			t.Fatalf("%s: %d", u, res.StatusCode)
		}
	}
	// The public listener serves no health, metrics or profiles.
	for _, path := range []string{"/readyz", "/healthz", "/metrics", "/debug/pprof/"} {
		if res, _ := answer(http.Get(lvURL + path)); res.StatusCode != http.StatusNotFound {
			t.Errorf("public %s answered %d, want 404", path, res.StatusCode)
		}
	}
}
