package web_test

// Drop-in checks of web/sdk against Mesh's published @meshconnect/web-link-sdk (the npm
// package scripts/webcheck installs into web/node_modules; version pinned in
// web/package.json). Nothing of Mesh's is copied here: the tests read the installed
// package's declarations and README at run time.

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const meshPkg = "node_modules/@meshconnect/web-link-sdk"

// tools returns web/'s directory, skipping the test when the npm tools are absent.
func tools(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"node_modules/.bin/tsc", meshPkg + "/index.d.ts"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Skipf("web tooling not installed (%s missing): run scripts/webcheck install (.ci/run does)", p)
		}
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node not found")
	}
	return dir
}

var exportRE = regexp.MustCompile(`(?m)^export (?:declare )?(?:interface|type|function|const) (\w+)`)

// meshExports lists the names Mesh's package exports (index.d.ts re-exports these
// files whole, plus createLink and BrokerType).
func meshExports(t *testing.T, dir string) []string {
	t.Helper()
	names := []string{"BrokerType"}
	for _, f := range []string{"utils/types.d.ts", "utils/event-types.d.ts", "Link.d.ts"} {
		b, err := os.ReadFile(filepath.Join(dir, meshPkg, f))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range exportRE.FindAllSubmatch(b, -1) {
			names = append(names, string(m[1]))
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	if len(names) < 60 || !slices.Contains(names, "createLink") || !slices.Contains(names, "SessionSummary") {
		t.Fatalf("unexpected export list of the Mesh package: %v", names)
	}
	return names
}

// project writes a TypeScript project into a fresh directory under web/ (so that
// node_modules resolves) and returns it.
func project(t *testing.T, dir string, files map[string]string) string {
	t.Helper()
	p, err := os.MkdirTemp(dir, ".tscheck-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(p) })
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(p, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// tsc type checks project p and returns its diagnostics, one per line, with the
// project's path removed.
func tsc(t *testing.T, dir, p string) string {
	t.Helper()
	cmd := exec.Command(filepath.Join(dir, "node_modules/.bin/tsc"), "-p", p, "--pretty", "false")
	cmd.Dir = p
	out, err := cmd.CombinedOutput()
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatalf("tsc: %v\n%s", err, out)
		}
	}
	return strings.TrimSpace(string(bytes.ReplaceAll(out, []byte(p+string(filepath.Separator)), nil)))
}

func tsconfig(paths string) string {
	return `{"compilerOptions": {"strict": true, "noEmit": true, "target": "es2022", "module": "es2022",
  "moduleResolution": "bundler", "lib": ["es2022", "dom"], "types": [], "skipLibCheck": true,
  "jsx": "preserve", "baseUrl": "."` + paths + `}, "include": ["*.ts", "*.tsx"]}`
}

// TestSDKTypesMatchMesh: every name Mesh's package exports is exported by link.d.ts,
// and each type is the same type both ways (mutually assignable). The one deliberate
// difference, BrokerType, is a superset: Mesh's union does not list "uphold". It is
// checked as such, and the rest is compared with Mesh's BrokerType substituted.
func TestSDKTypesMatchMesh(t *testing.T) {
	dir := tools(t)
	names := meshExports(t, dir)
	ours, err := os.ReadFile(filepath.Join(dir, "sdk", "link.d.ts"))
	if err != nil {
		t.Fatal(err)
	}
	btRE := regexp.MustCompile(`(?m)^export type BrokerType = .*;$`)
	if !btRE.Match(ours) {
		t.Fatal("link.d.ts has no one-line BrokerType declaration")
	}
	substituted := btRE.ReplaceAll(ours, []byte(`export type { BrokerType } from '@meshconnect/node-api';`))

	var b strings.Builder
	b.WriteString("import type * as M from '@meshconnect/web-link-sdk';\n")
	b.WriteString("import type * as L from './ours';\n")
	b.WriteString("import type * as Wide from './wide';\n")
	b.WriteString("type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;\n")
	b.WriteString("export const brokerTypeIsSuperset: [M.BrokerType] extends [Wide.BrokerType] ? true : false = true;\n")
	for _, n := range names {
		switch n {
		case "createLink", "isLinkEventTypeKey":
			fmt.Fprintf(&b, "declare const m_%[1]s: typeof import('@meshconnect/web-link-sdk').%[1]s;\n", n)
			fmt.Fprintf(&b, "declare const l_%[1]s: typeof import('./ours').%[1]s;\n", n)
			fmt.Fprintf(&b, "export const same_%[1]s: Same<typeof m_%[1]s, typeof l_%[1]s> = true;\n", n)
		default:
			fmt.Fprintf(&b, "export const same_%[1]s: Same<M.%[1]s, L.%[1]s> = true;\n", n)
		}
	}
	p := project(t, dir, map[string]string{
		"tsconfig.json": tsconfig(""),
		"ours.d.ts":     string(substituted),
		"wide.d.ts":     string(ours),
		"check.ts":      b.String(),
	})
	if out := tsc(t, dir, p); out != "" {
		t.Fatalf("link.d.ts differs from Mesh's types (%d names compared):\n%s", len(names), out)
	}

	// The runtime exports of link.js are the value exports of the declarations.
	cmd := exec.Command("node", "--input-type=module", "-e",
		`const m = await import(process.argv[1]); console.log(Object.keys(m).sort().join(','));`, filepath.Join(dir, "sdk", "link.js"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("import link.js in node: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "createLink,isLinkEventTypeKey" {
		t.Fatalf("link.js exports %q, want createLink and isLinkEventTypeKey (Mesh's value exports)", got)
	}
}

var fenceRE = regexp.MustCompile("(?s)```(tsx?|typescript)\n(.*?)```")

// closeBrackets appends the closers of brackets left open in src (a README fragment
// such as "createLink({ ..." without its end), so the compiler gets past the syntax
// and checks the fragment's types: tsc reports no type errors while any file of the
// program has a syntax error.
func closeBrackets(src string) string {
	var stack []byte
	pairs := map[byte]byte{'(': ')', '{': '}', '[': ']'}
	for i := 0; i < len(src); i++ {
		switch c := src[i]; c {
		case '(', '{', '[':
			stack = append(stack, pairs[c])
		case ')', '}', ']':
			if len(stack) > 0 && stack[len(stack)-1] == c {
				stack = stack[:len(stack)-1]
			}
		case '\'', '"', '`':
			if j := strings.IndexByte(src[i+1:], c); j >= 0 {
				i += j + 1
			}
		case '/':
			if strings.HasPrefix(src[i:], "//") {
				if j := strings.IndexByte(src[i:], '\n'); j >= 0 {
					i += j
				} else {
					i = len(src)
				}
			}
		}
	}
	var b strings.Builder
	b.WriteString(src)
	for i := len(stack) - 1; i >= 0; i-- {
		b.WriteByte(stack[i])
	}
	b.WriteByte('\n')
	return b.String()
}

// TestMeshReadmeExamplesCompile: the TypeScript examples of Mesh's own README (read
// from the installed package) give exactly the same compiler output against
// link.d.ts as against Mesh's package. The examples are fragments (elided code, React
// hooks used without imports, an unclosed call, which is closed here), so what is
// compared is the type checker's full output, each example on its own: any use of
// the SDK that typed differently against link.d.ts would show.
func TestMeshReadmeExamplesCompile(t *testing.T) {
	dir := tools(t)
	readme, err := os.ReadFile(filepath.Join(dir, meshPkg, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var examples []string
	for _, m := range fenceRE.FindAllSubmatch(readme, -1) {
		if bytes.Contains(m[2], []byte("@meshconnect/web-link-sdk")) {
			examples = append(examples, closeBrackets(string(m[2])))
		}
	}
	if len(examples) < 2 {
		t.Fatalf("found %d TypeScript examples in Mesh's README", len(examples))
	}
	ours := tsconfig(`, "paths": {"@meshconnect/web-link-sdk": ["../sdk/link.d.ts"]}`)
	for i, ex := range examples {
		want := tsc(t, dir, project(t, dir, map[string]string{"tsconfig.json": tsconfig(""), "example.tsx": ex}))
		got := tsc(t, dir, project(t, dir, map[string]string{"tsconfig.json": ours, "example.tsx": ex}))
		if got != want {
			t.Fatalf("README example %d types differently against link.d.ts.\nagainst Mesh's package:\n%s\nagainst link.d.ts:\n%s", i, want, got)
		}
		if strings.Contains(want, "TS1005") || strings.Contains(want, "TS1128") {
			t.Fatalf("README example %d still has syntax errors, so its types were not checked:\n%s", i, want)
		}
		t.Logf("README example %d: same diagnostics both ways:\n%s", i, want)
	}
	// Not vacuous: a use of a type the package lacks shows up in the diagnostics.
	broken := map[string]string{"tsconfig.json": ours, "x.ts": "import { NoSuchExport } from '@meshconnect/web-link-sdk';\nexport const x: NoSuchExport | undefined = undefined;\n"}
	if out := tsc(t, dir, project(t, dir, broken)); !strings.Contains(out, "NoSuchExport") {
		t.Fatalf("the paths mapping to link.d.ts is not in effect: %q", out)
	}
}

// TestSDKUsageCompiles: code written against Mesh's documented API (options, payload
// fields, event narrowing, embedded mode) compiles cleanly against link.d.ts and
// against Mesh's package alike.
func TestSDKUsageCompiles(t *testing.T) {
	dir := tools(t)
	usage := `import { createLink, isLinkEventTypeKey, type Link, type LinkPayload, type LinkOptions, type IntegrationAccessToken,
  type TransferFinishedPayload, type SessionSummary, type LinkEventType, type AccessTokenPayload, type BrokerType } from '@meshconnect/web-link-sdk';

const stored: IntegrationAccessToken[] = [{ accessToken: 'tok', brokerType: 'coinbase', brokerName: '', accountId: '', accountName: '' }];
const saved: string[] = [];
const options: LinkOptions = {
  accessTokens: stored,
  language: 'system', displayFiatCurrency: 'EUR', theme: 'dark', renderType: 'embedded',
  onIntegrationConnected: (payload: LinkPayload) => {
    const p: AccessTokenPayload | undefined = payload.accessToken;
    if (!p) return;
    const bt: BrokerType = p.brokerType;
    for (const at of p.accountTokens) saved.push(at.tokenId ?? at.accessToken, at.account.accountId, bt, p.brokerBrandInfo.brokerLogo);
    if (payload.delayedAuth) saved.push(payload.delayedAuth.refreshToken);
  },
  onExit: (error?: string, summary?: SessionSummary) => {
    saved.push(error ?? '', summary?.page ?? '', summary?.selectedIntegration?.name ?? '', String(summary?.transfer?.amount ?? 0));
  },
  onTransferFinished: (t: TransferFinishedPayload) => { saved.push(t.txId, t.fromAddress, t.toAddress, t.networkId, t.symbol, String(t.amount)); },
  onEvent: (e: LinkEventType) => {
    switch (e.type) {
      case 'integrationConnected': saved.push(e.payload.accessToken?.brokerName ?? ''); break;
      case 'transferCompleted': saved.push(e.payload.status); break;
      case 'transferExecutionError': saved.push(e.payload.errorMessage); break;
      case 'close': case 'done': saved.push(e.payload.page); break;
      case 'pageLoaded': break;
    }
    if (isLinkEventTypeKey(e.type)) saved.push(e.type);
  },
};
const link: Link = createLink(options);
link.openLink('bGlua3Rva2Vu', 'my-iframe');
link.closeLinkRequested();
link.closeLink();
window.meshLinkShouldSkipPrewarm = true;
`
	for _, paths := range []string{"", `, "paths": {"@meshconnect/web-link-sdk": ["../sdk/link.d.ts"]}`} {
		p := project(t, dir, map[string]string{"tsconfig.json": tsconfig(paths), "usage.ts": usage})
		if out := tsc(t, dir, p); out != "" {
			t.Fatalf("usage does not compile (paths %q):\n%s", paths, out)
		}
	}
}
