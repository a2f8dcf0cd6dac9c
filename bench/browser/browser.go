// Package browser is the headless-Chromium driver of the link benchmark scenario
// (bench.Browser), on chromedp. It is kept out of package bench so that the linkvault
// server binary, which embeds the harness as `linkvault bench`, carries no browser
// driver; bench/cmd/lvbench plugs it in.
package browser

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/linkvault/linkvault/bench"
	"github.com/linkvault/linkvault/internal/chromium"
	"github.com/linkvault/linkvault/internal/link/linktest"
)

// New starts headless Chromium with a fresh profile.
func New(ctx context.Context, chromiumPath string) (bench.Browser, error) {
	dir, err := os.MkdirTemp("", "lvbench-chromium-")
	if err != nil {
		return nil, err
	}
	opts := chromium.Options(chromiumPath, dir)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.WithoutCancel(ctx), opts...)
	bctx, cancelCtx := chromedp.NewContext(allocCtx)
	b := &driver{ctx: bctx, close: func() { cancelCtx(); cancelAlloc(); _ = os.RemoveAll(dir) }}
	// The first action starts the browser, which then lives as long as bctx: it must
	// not run under a shorter context.
	if err := chromedp.Do(bctx); err != nil {
		b.Close()
		return nil, fmt.Errorf("start chromium: %w", err)
	}
	return b, nil
}

type driver struct {
	ctx    context.Context
	close  func()
	loaded bool
}

func (d *driver) Close() { d.close() }

const overlayFrame = "[data-linkvault=overlay] iframe"

// Connect implements bench.Browser: the Link flow over Link's HTTP endpoints, as the
// page script drives them (internal/link/linktest), with the consent page of the
// simulated exchange.
func (d *driver) Connect(ctx context.Context, linkToken, brokerType, username, password string) (string, error) {
	p, err := linktest.Connect(ctx, nil, linkToken, brokerType, username, password)
	if err != nil {
		return "", err
	}
	if len(p.AccountTokens) == 0 {
		return "", errors.New("the connection returned no account")
	}
	return p.AccountTokens[0].TokenID, nil
}

// ReturnVisit implements bench.Browser. The app page is loaded once; every visit
// opens Link on it and closes it afterwards.
func (d *driver) ReturnVisit(ctx context.Context, pageURL, linkToken string) (bench.LinkTiming, error) {
	// The visit runs in the browser's context (chromedp's), bounded in time and ended
	// early when the caller's ctx is.
	bctx, cancel := context.WithTimeout(d.ctx, 60*time.Second)
	defer cancel()
	defer context.AfterFunc(ctx, cancel)()
	ctx = bctx
	if !d.loaded {
		if err := chromedp.Do(ctx, chromedp.Navigate(pageURL), chromedp.WaitVisible(chromedp.CSS("#ready[data-ready='1']"))); err != nil {
			return bench.LinkTiming{}, fmt.Errorf("load the app page: %w", err)
		}
		d.loaded = true
	}
	start := time.Now()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](fmt.Sprintf("window.lvOpen(%q)", linkToken))); err != nil {
		return bench.LinkTiming{}, fmt.Errorf("openLink: %w", err)
	}
	// Wait for the page's own signal first (onIntegrationConnected, sent in the same
	// task that puts the holdings table in), then for the table to be visible in the
	// iframe. Querying the iframe earlier can catch its initial about:blank document.
	marks, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]float64]("window.lvDone", chromedp.EvalAwaitPromise))
	if err != nil {
		return bench.LinkTiming{}, fmt.Errorf("page marks: %w", err)
	}
	nodes, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSS(overlayFrame)))
	if err != nil || len(nodes) == 0 {
		return bench.LinkTiming{}, fmt.Errorf("no Link iframe: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#lv-positions"), chromedp.FromNode(nodes[0]))); err != nil {
		return bench.LinkTiming{}, fmt.Errorf("account screen: %w", err)
	}
	t := bench.LinkTiming{Screen: time.Since(start), Marks: map[string]time.Duration{}}
	for k, ms := range marks {
		t.Marks[k] = time.Duration(ms * float64(time.Millisecond))
	}
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void]("window.lvClose()"), chromedp.WaitNotPresent(chromedp.CSS("[data-linkvault=overlay]"))); err != nil {
		return t, fmt.Errorf("closeLink: %w", err)
	}
	return t, nil
}
