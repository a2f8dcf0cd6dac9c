package linkvault_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
)

// The layout rules of docs/architecture.md, checked on the import graph of the
// production build (test files excluded) as `go list` reports it, in the manner of
// tailscale's tstest/deptest (tailscale/tailscale, tstest/deptest/deptest.go: a negative
// dependency test run by `go test`, so a forbidden import fails the build's tests).

const module = "github.com/linkvault/linkvault"

// testKits are the packages that support tests: they may import testing and each other,
// and nothing in production may import them.
var testKits = []string{
	"internal/e2etest",
	"internal/apispec",
	"internal/envelope/envelopetest",
	"internal/link/linktest",
	"internal/meshspec",
	"internal/metricstest",
	"internal/proctest",
	"internal/storetest",
	"internal/testdb",
}

// devTools drive a real browser for the browser tests and the link benchmark
// (bench/cmd/lvbench). They are never linked into the linkvault binary, so they may use
// the test kits.
var devTools = []string{
	"bench/browser",
	"bench/cmd/lvbench",
	"internal/chromium",
}

// stores are the database packages: they import only the domain root, their driver
// and each other (internal/sqlstore is the SQL both engines share), never a service
// package.
var stores = []string{
	"internal/postgres",
	"internal/sqlite",
	"internal/sqlstore",
}

// simulatorUsers may run the simulated exchanges: the demo and `linkvault exchangesim`
// (cmd/linkvault), the wiring that points providers at them (internal/app, through
// internal/exchangesim/simprovider) and the benchmarks; test kits and dev tools too.
// Adapters and services never see them.
var simulatorUsers = []string{"bench", "cmd/linkvault", "internal/app"}

type goPackage struct {
	ImportPath string
	GoFiles    []string
	Imports    []string
	Deps       []string
}

// rel is a module package's path relative to the module root ("" for the root), or
// ok=false for a package outside the module.
func rel(path string) (string, bool) {
	if path == module {
		return "", true
	}
	r, ok := strings.CutPrefix(path, module+"/")
	return r, ok
}

func isTestSupport(dep string) bool {
	if dep == "testing" || strings.HasPrefix(dep, "testing/") || dep == "net/http/httptest" {
		return true
	}
	r, ok := rel(dep)
	return ok && slices.Contains(testKits, r)
}

// isStandard reports whether path is in the standard library (its first element has
// no dot; the standard library's vendored packages start with "vendor/").
func isStandard(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

var listOnce = sync.OnceValues(func() (map[string]goPackage, error) {
	cmd := exec.Command("go", "list", "-e", "-json=ImportPath,GoFiles,Imports,Deps", "./...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, errors.New("go list: " + err.Error() + ": " + stderr.String())
	}
	pkgs := map[string]goPackage{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p goPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, err
		}
		r, ok := rel(p.ImportPath)
		if ok && len(p.GoFiles) > 0 { // directories of tests only have no production build
			pkgs[r] = p
		}
	}
	return pkgs, nil
})

func packages(t *testing.T) map[string]goPackage {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not on PATH")
	}
	pkgs, err := listOnce()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range slices.Concat([]string{"", "cmd/linkvault", "internal/app"}, testKits, stores) {
		if _, ok := pkgs[want]; !ok {
			t.Fatalf("package %q is gone: update the rules of this test", want)
		}
	}
	return pkgs
}

func TestBinaryLinksNoTestSupport(t *testing.T) {
	p := packages(t)["cmd/linkvault"]
	for _, dep := range p.Deps {
		if isTestSupport(dep) {
			t.Errorf("the linkvault binary links %s: test support belongs in _test.go files and test kits", dep)
		}
		if strings.HasPrefix(dep, "github.com/chromedp/") {
			t.Errorf("the linkvault binary links the browser driver %s (bench/browser is for lvbench only)", dep)
		}
	}
	if !slices.Contains(p.Deps, module+"/internal/app") {
		t.Error("cmd/linkvault does not use internal/app, the one production wiring")
	}
}

func TestProductionPackagesImportNoTestSupport(t *testing.T) {
	for name, p := range packages(t) {
		if slices.Contains(testKits, name) || slices.Contains(devTools, name) {
			continue
		}
		for _, dep := range p.Deps {
			if isTestSupport(dep) {
				t.Errorf("%s (production code) depends on %s", p.ImportPath, dep)
			}
		}
	}
}

func TestDomainRootImportsOnlyTheStandardLibrary(t *testing.T) {
	for _, dep := range packages(t)[""].Deps {
		if !isStandard(dep) {
			t.Errorf("package linkvault depends on %s; the domain root imports only the standard library", dep)
		}
	}
}

func TestStoresImportNoServicePackage(t *testing.T) {
	pkgs := packages(t)
	for _, name := range stores {
		for _, dep := range pkgs[name].Deps {
			if r, ok := rel(dep); ok && r != "" && !slices.Contains(stores, r) {
				t.Errorf("store %s depends on %s; a store imports only package linkvault, its driver and other stores", name, r)
			}
		}
	}
}

func TestOnlyTheWiringUsesTheSimulator(t *testing.T) {
	const sim = module + "/internal/exchangesim"
	for name, p := range packages(t) {
		if strings.HasPrefix(name, "internal/exchangesim") || slices.Contains(simulatorUsers, name) || slices.Contains(testKits, name) || slices.Contains(devTools, name) {
			continue
		}
		if slices.Contains(p.Imports, sim) {
			t.Errorf("%s imports the simulated exchanges; only %v reach them (tests through the test kits)", name, simulatorUsers)
		}
	}
}

// TestRulesCatchViolations runs the classifiers on known cases, so a rule cannot pass
// by matching nothing.
func TestRulesCatchViolations(t *testing.T) {
	for _, tt := range []struct {
		dep          string
		test, stdlib bool
	}{
		{"testing", true, true},
		{"testing/fstest", true, true},
		{"net/http/httptest", true, true},
		{module + "/internal/link/linktest", true, false},
		{module + "/internal/testdb", true, false},
		{"net/http", false, true},
		{"vendor/golang.org/x/net/http2/hpack", false, true},
		{module + "/internal/app", false, false},
		{"github.com/jackc/pgx/v5", false, false},
	} {
		if got := isTestSupport(tt.dep); got != tt.test {
			t.Errorf("isTestSupport(%q) = %v", tt.dep, got)
		}
		if got := isStandard(tt.dep); got != tt.stdlib {
			t.Errorf("isStandard(%q) = %v", tt.dep, got)
		}
	}
}
