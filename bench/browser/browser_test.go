package browser_test

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/linkvault/linkvault/bench"
	"github.com/linkvault/linkvault/bench/browser"
)

// TestLinkScenarioSmoke runs the link scenario with two visits: the harness, the
// driver and the page marks work end to end. It asserts no timing.
func TestLinkScenarioSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds linkvault and runs headless Chromium")
	}
	const chromium = "/usr/bin/chromium"
	if _, err := os.Stat(chromium); err != nil {
		t.Skipf("%s not found", chromium)
	}
	var out, log bytes.Buffer
	err := bench.Main(t.Context(), bench.Options{Browser: browser.New},
		[]string{"link", "-visits", "2", "-quiet", "0", "-chromium", chromium, "-pg-dsn", "", "-dir", t.TempDir()}, &out, &log)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	for _, want := range []string{"visit 2: account screen", "/sdk/link.js"} {
		if !strings.Contains(log.String()+out.String(), want) {
			t.Errorf("missing %q in:\n%s\n%s", want, log.String(), out.String())
		}
	}
}
