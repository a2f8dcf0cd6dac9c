// Package chromium launches headless Chromium for the browser tests and the Link
// benchmark, with the flags this project's machines need: no sandbox (tests run as
// root), and no background networking, component updates or sync (the machines have no
// network beyond loopback, and Chromium's own connections would only fail).
package chromium

import "github.com/chromedp/chromedp"

// Path is where Debian's chromium package installs the browser (.ci/run installs it).
const Path = "/usr/bin/chromium"

// Options are the allocator options for a headless Chromium at path with a fresh
// profile in userDataDir and a 1100×900 window.
func Options(path, userDataDir string) []chromedp.ExecAllocatorOption {
	return []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.UserDataDir(userDataDir),
		chromedp.WindowSize(1100, 900),
	}
}
