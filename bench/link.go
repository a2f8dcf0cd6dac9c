package bench

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/linkvault/linkvault/internal/app"
)

// Browser drives a headless browser for the link scenario. It lives outside this
// package (bench/browser, on chromedp and the Link test driver) so that `linkvault
// bench` links neither a browser driver nor a test kit into the server binary; lvbench
// passes one in Options.Browser.
type Browser interface {
	// ReturnVisit loads pageURL (the harness's app page, which has imported the web
	// SDK), calls window.lvOpen(linkToken) and waits until the account screen of the
	// Link iframe shows the holdings table (#lv-positions). Screen is measured by the
	// driver from just before the call to the table being visible; the page's own
	// marks (performance.now() relative to openLink) come back in Marks.
	ReturnVisit(ctx context.Context, pageURL, linkToken string) (LinkTiming, error)
	// Connect opens linkToken and connects brokerType as username through the Link
	// flow (OAuth consent at the simulated exchange), returning the tokenId. The
	// scenario does it once, untimed, so the return visits have a stored tokenId.
	Connect(ctx context.Context, linkToken, brokerType, username, password string) (tokenID string, err error)
	Close()
}

// NewBrowser starts a browser (chromiumPath: the executable) with a fresh profile.
type NewBrowser func(ctx context.Context, chromiumPath string) (Browser, error)

// LinkTiming is one return visit.
type LinkTiming struct {
	// Screen: openLink called → account screen with holdings visible (driver clock,
	// includes the driver's polling, a few ms).
	Screen time.Duration `json:"screenNs"`
	// Marks: page clock, from openLink to the first SDK event of each type
	// ("loaded", "integrationConnected" for onIntegrationConnected...).
	Marks map[string]time.Duration `json:"marks"`
}

// LinkParams configures the link scenario.
type LinkParams struct {
	Visits   int
	Chromium string
}

// flags declares the scenario's flags into p.
func (p *LinkParams) flags(fs *flagSet) {
	fs.IntVar(&p.Visits, "visits", 20, "return visits to time (the first in a fresh browser profile)")
	fs.StringVar(&p.Chromium, "chromium", "/usr/bin/chromium", "Chromium executable")
}

// LinkResults is what the link scenario returns.
type LinkResults struct {
	Params LinkParams   `json:"params"`
	Visits []LinkTiming `json:"visits"` // the first one in a fresh browser profile (cold cache)
	SDK    AssetSize    `json:"sdk"`
	Assets []AssetSize  `json:"linkPageAssets"`
}

// AssetSize is the size of one served file.
type AssetSize struct {
	Path        string `json:"path"`
	Bytes       int    `json:"bytes"`
	Gzip        int    `json:"gzipBytes"` // gzip -9
	ContentEnc  string `json:"servedEncoding"`
	CacheHeader string `json:"cacheControl"`
}

// appPage is the app page of the link scenario: it imports the web SDK from the
// linkvault server and opens Link for a return user whose tokenId it passes in.
const appPage = `<!doctype html>
<html><head><meta charset="utf-8"><title>bench app</title></head><body>
<p id="ready">bench app</p>
<script type="module">
import { createLink } from '%[1]s/sdk/link.js';
const tokens = %[2]s;
window.lvOpen = (linkToken) => {
  const t0 = performance.now();
  const marks = {};
  let link;
  window.lvDone = new Promise((resolve) => {
    link = createLink({
      accessTokens: tokens,
      onIntegrationConnected: () => { marks.integrationConnected = performance.now() - t0; resolve(marks); },
      // The SDK reports the page's 'loaded' message as the event pageLoaded (Mesh's name).
      onEvent: (e) => { const k = e.type === 'pageLoaded' ? 'loaded' : e.type; if (!(k in marks)) marks[k] = performance.now() - t0; },
    });
  });
  window.lvClose = () => link.closeLink();
  link.openLink(linkToken);
};
document.getElementById('ready').dataset.ready = '1';
</script></body></html>`

// RunLink times the return-user flow: a user connected Coinbase through the real Link
// flow once; then, p.Visits times, the app page calls openLink with a fresh linkToken
// and the stored tokenId, and the harness waits for the account screen (holdings
// included, fetched from the simulated exchange). It also records the size of the web
// SDK and of the Link page's assets as served, raw and gzip -9.
func RunLink(ctx context.Context, h *harness, p LinkParams, newBrowser NewBrowser) (*LinkResults, error) {
	if newBrowser == nil {
		return nil, errors.New("bench: the link scenario needs a browser driver: run it with `go run ./bench/cmd/lvbench link`")
	}
	res := &LinkResults{Params: p}
	sim, stopSim, err := startSim(ctx)
	if err != nil {
		return nil, err
	}
	defer stopSim()
	db, err := h.newDB(ctx, DriverSQLite, "link")
	if err != nil {
		return nil, err
	}
	// The app page's listener comes first: its origin is one the client allows to
	// frame Link (no origin is allowed by default).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	defer ln.Close()
	seeded, err := Seed(ctx, db, SeedSpec{Rows: 0, AllowedOrigins: []string{"http://" + ln.Addr().String()}})
	if err != nil {
		return nil, err
	}
	env := app.SimulatorEnv(sim)
	env["LINKVAULT_REFRESH_ENABLED"] = "true"
	proc, err := h.startLinkvault(ctx, "link", db, env)
	if err != nil {
		return nil, err
	}
	defer proc.Stop()

	newToken := func() (string, error) { return linkToken(ctx, proc.URL, seeded, "bench-alice") }
	lt, err := newToken()
	if err != nil {
		return nil, err
	}
	b, err := newBrowser(ctx, p.Chromium)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	tokenID, err := b.Connect(ctx, lt, "coinbase", "bench-alice-cb", "pw")
	if err != nil {
		return nil, fmt.Errorf("first connect through Link: %w", err)
	}
	tokens, _ := json.Marshal([]map[string]string{{"accessToken": tokenID, "brokerType": "coinbase", "brokerName": "", "accountId": "", "accountName": ""}})

	page := fmt.Sprintf(appPage, proc.URL, tokens)
	appSrv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, page)
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = appSrv.Serve(ln) }()
	defer appSrv.Close()
	appURL := "http://" + ln.Addr().String() + "/"

	for i := range p.Visits {
		lt, err := newToken()
		if err != nil {
			return nil, err
		}
		if i > 0 {
			h.quiet(ctx)
		}
		t, err := b.ReturnVisit(ctx, appURL, lt)
		if err != nil {
			return nil, fmt.Errorf("return visit %d: %w", i+1, err)
		}
		res.Visits = append(res.Visits, t)
		h.logf("  visit %d: account screen %s (page: loaded %s, onIntegrationConnected %s)", i+1, fmtDur(t.Screen),
			fmtDur(t.Marks["loaded"]), fmtDur(t.Marks["integrationConnected"]))
	}

	if res.SDK, err = assetSize(ctx, proc.URL+"/sdk/link.js"); err != nil {
		return nil, err
	}
	for _, a := range []string{"/link/assets/link.js", "/link/assets/link.css"} {
		s, err := assetSize(ctx, proc.URL+a)
		if err != nil {
			return nil, err
		}
		res.Assets = append(res.Assets, s)
	}
	fmt.Fprint(h.out, res.Markdown())
	return res, nil
}

// linkToken creates a linkToken for userID through the REST API.
func linkToken(ctx context.Context, base string, s *Seeded, userID string) (string, error) {
	body, _ := json.Marshal(map[string]string{"userId": userID})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/linktoken", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Client-Id", s.ClientID)
	req.Header.Set("X-Client-Secret", s.ReadSecret)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var env struct {
		Status  string `json:"status"`
		Message string `json:"message"`
		Content struct {
			LinkToken string `json:"linkToken"`
		} `json:"content"`
	}
	if err := json.NewDecoder(res.Body).Decode(&env); err != nil {
		return "", err
	}
	if env.Status != "ok" || env.Content.LinkToken == "" {
		return "", fmt.Errorf("linktoken: %d %s %s", res.StatusCode, env.Status, env.Message)
	}
	return env.Content.LinkToken, nil
}

// assetSize fetches url as a browser would (accepting gzip) and measures it.
func assetSize(ctx context.Context, url string) (AssetSize, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	req.Header.Set("Accept-Encoding", "gzip")
	res, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		return AssetSize{}, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return AssetSize{}, err
	}
	if res.StatusCode != http.StatusOK {
		return AssetSize{}, fmt.Errorf("GET %s: %s", url, res.Status)
	}
	a := AssetSize{Path: strings.TrimPrefix(url, "http://"), ContentEnc: res.Header.Get("Content-Encoding"), CacheHeader: res.Header.Get("Cache-Control")}
	if i := strings.IndexByte(a.Path, '/'); i >= 0 {
		a.Path = a.Path[i:]
	}
	body := raw
	if a.ContentEnc == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return AssetSize{}, err
		}
		if body, err = io.ReadAll(zr); err != nil {
			return AssetSize{}, err
		}
	}
	a.Bytes = len(body)
	var z bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
	_, _ = zw.Write(body)
	_ = zw.Close()
	a.Gzip = z.Len()
	return a, nil
}

// Markdown renders the results.
func (r *LinkResults) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "\nLink return-user flow in headless Chromium, %d visits (the first with a fresh profile: cold cache)\n\n", len(r.Visits))
	var screens, connected []time.Duration
	for i, v := range r.Visits {
		if i > 0 {
			screens = append(screens, v.Screen)
			connected = append(connected, v.Marks["integrationConnected"])
		}
	}
	fmt.Fprintf(&b, "| measure | first visit (cold) | warm: median | warm: p90 | warm: max |\n|---|---:|---:|---:|---:|\n")
	if len(r.Visits) > 0 {
		row := func(name string, first time.Duration, v []time.Duration) {
			if len(v) == 0 {
				fmt.Fprintf(&b, "| %s | %s | – | – | – |\n", name, fmtDur(first))
				return
			}
			s := slices.Clone(v)
			slices.Sort(s)
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", name, fmtDur(first), fmtDur(median(s)), fmtDur(percentile(s, 0.9)), fmtDur(s[len(s)-1]))
		}
		row("openLink → account screen with holdings visible (driver clock)", r.Visits[0].Screen, screens)
		row("openLink → onIntegrationConnected (page clock)", r.Visits[0].Marks["integrationConnected"], connected)
		var loaded []time.Duration
		for _, v := range r.Visits[1:] {
			loaded = append(loaded, v.Marks["loaded"])
		}
		row("openLink → Link page 'loaded' message (page clock)", r.Visits[0].Marks["loaded"], loaded)
	}
	fmt.Fprintf(&b, "\n| file | bytes | gzip -9 | served encoding | cache |\n|---|---:|---:|---|---|\n")
	for _, a := range append([]AssetSize{r.SDK}, r.Assets...) {
		enc := a.ContentEnc
		if enc == "" {
			enc = "identity"
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %s | %s |\n", a.Path, a.Bytes, a.Gzip, enc, a.CacheHeader)
	}
	return b.String()
}
