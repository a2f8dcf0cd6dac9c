package browser_test

import (
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// What each native SDK does when the page in its WebView navigates the main frame
// (location.assign, a form post, a server redirect): load it in the WebView, hand it to
// the system browser (or another app) and cancel it, or cancel it and open nothing.
// Each function is transcribed from the SDK's source, with the allow-list flag set the
// way docs/mobile.md tells apps to (disableDomainWhiteList: true,
// isDomainWhitelistEnabled: false). The Link page never uses window.open in a WebView,
// so only main-frame navigations matter here.

type navDecision int

const (
	navWebView       navDecision = iota // the WebView loads it
	navSystemBrowser                    // cancelled; the SDK opens it outside the app
	navRefused                          // cancelled; nothing opens
)

func (d navDecision) String() string {
	return [...]string{"WebView", "system browser", "refused"}[d]
}

// iosNavigate: mesh-ios-sdk@7a67b348ad956639ef619cd2fee61a64abe55a68,
// LinkSDK/LinkWebViewController/LinkWebViewViewController.swift,
// webView(_:decidePolicyFor:decisionHandler:). For http(s): a URL starting with an
// entry of allowedUrls goes to UIApplication.shared.open (Safari) and is cancelled;
// with disableDomainWhiteList the rest loads in the WebView. Another scheme opens in
// the app that handles it when canOpenURL says so (none here), else it loads.
var iosAllowedURLs = []string{
	"https://link.trustwallet.com",
	"https://appopener.meshconnect.com",
	"https://integration-api.meshconnect.com",
	"https://sandbox-integration-api.meshconnect.com",
	"https://dev-integration-api.meshconnect.com",
	"https://dev-sandbox-integration-api.meshconnect.com",
	"https://www.coinbase.com",
	"https://api.cb-device-intelligence.com",
}

func iosNavigate(u *url.URL) navDecision {
	if u.Scheme != "http" && u.Scheme != "https" {
		return navWebView
	}
	s := u.String()
	for _, p := range iosAllowedURLs {
		if strings.HasPrefix(s, p) {
			return navSystemBrowser
		}
	}
	return navWebView
}

// androidNavigate: mesh-android-sdk@45892aafb411e146d2a882d7589b2bbafd65f5f7,
// link/src/main/java/com/meshconnect/link/ui/LinkActivity.kt, WebClient.
// shouldOverrideUrlLoading: with disableWhiteList it returns `request.url.scheme !=
// "https"`, true meaning "do not load" (and nothing else happens).
func androidNavigate(u *url.URL) navDecision {
	if u.Scheme != "https" {
		return navRefused
	}
	return navWebView
}

// rnNavigate: mesh-react-native-sdk@7ba5504d8d48f0350b2f91ca85168038d4237e98,
// src/components/LinkConnect.tsx onShouldStartLoadWithRequest: an externally opened
// origin (src/utils/externallyOpenedOrigin.ts over EXTERNALLY_OPENED_ORIGINS in
// src/constant.ts) goes to Linking.openURL and is cancelled; anything else loads if it
// starts with "http". The same code runs on iOS and Android.
var rnExternallyOpenedOrigins = []string{
	"https://link.trustwallet.com",
	"https://coinbase.com",
	"https://login.coinbase.com",
	"https://api.cb-device-intelligence.com",
	"https://sandbox.meshconnect.com/authorize/Coinbase",
	"https://app.binance.com",
	"bnc://app.binance.com",
}

type rnURLParts struct{ scheme, host, path string }

var (
	rnURLPattern = regexp.MustCompile(`(?i)^([a-z][a-z0-9+.-]*)://([^/?#]+)([^?#]*)`)
	rnPort       = regexp.MustCompile(`:\d+$`)
)

// rnParse is parseUrlParts: backslashes as slashes, userinfo (up to the last @) and
// port dropped, scheme and host lower-cased.
func rnParse(s string) (rnURLParts, bool) {
	m := rnURLPattern.FindStringSubmatch(strings.ReplaceAll(s, `\`, "/"))
	if m == nil {
		return rnURLParts{}, false
	}
	auth := m[2]
	if i := strings.LastIndex(auth, "@"); i >= 0 {
		auth = auth[i+1:]
	}
	auth = rnPort.ReplaceAllString(auth, "")
	return rnURLParts{strings.ToLower(m[1]), strings.ToLower(auth), m[3]}, true
}

func rnExternallyOpened(s string) bool {
	t, ok := rnParse(s)
	if !ok {
		return false
	}
	for _, o := range rnExternallyOpenedOrigins {
		a, ok := rnParse(o)
		if !ok || t.scheme != a.scheme || t.host != a.host {
			continue
		}
		if a.path != "" && a.path != "/" {
			dec, err := url.PathUnescape(t.path)
			if err != nil {
				continue
			}
			segs := strings.Split(dec, "/")
			if slices.Contains(segs, ".") || slices.Contains(segs, "..") {
				continue
			}
			base := a.path
			if !strings.HasSuffix(base, "/") {
				base += "/"
			}
			if t.path != a.path && !strings.HasPrefix(t.path, base) {
				continue
			}
		}
		return true
	}
	return false
}

func rnNavigate(u *url.URL) navDecision {
	s := u.String()
	switch {
	case rnExternallyOpened(s):
		return navSystemBrowser
	case strings.HasPrefix(s, "http"):
		return navWebView
	}
	return navRefused
}

// flutterNavigate: mesh-flutter-sdk@416e2310ea0123288e70072beb114645fe079cf6,
// lib/src/ui/widget/mesh_link_controller.dart NavigationDelegate.onNavigationRequest:
// an externally opened origin (lib/src/util/constants.dart isExternallyOpenedOrigin)
// goes to launchUrl(mode: LaunchMode.externalApplication) and is prevented; so is an
// app URL (lib/src/util/app_url.dart isAppUrlChange); with isDomainWhitelistEnabled
// false the rest loads.
var flutterExternallyOpenedOrigins = []string{
	"https://link.trustwallet.com",
	"https://wallet.uphold.com",
	"https://go.rabby.io/mobile",
	"https://app.binance.com",
	"https://web3.okx.com",
	"https://metamask.app.link",
	"https://phantom.app",
	"https://solflare.com",
	"https://coinbase.com",
	"https://www.coinbase.com",
	"https://login.coinbase.com",
	"https://exodus.com/m/",
	"https://sandbox.meshconnect.com/authorize/Coinbase",
	"https://appopener.meshconnect.com",
	"https://api.cb-device-intelligence.com",
}

var (
	flutterOAuthRedirect = regexp.MustCompile(`^https://[^.]+\.meshconnect\.com/.+/catalog/oauth/redirect/.*$`)
	flutterNativeSchemes = []string{"tronlinkoutside", "bitcoin", "zengo", "okx", "uniswap", "rainbow", "bitkeep",
		"ledgerlive", "dfw", "exodus", "cbwallet", "bnc", "phantom", "trust", "metamask"}
)

func flutterExternallyOpened(s string) bool {
	if s == "about:blank" {
		return false
	}
	if flutterOAuthRedirect.MatchString(s) {
		return true
	}
	for _, o := range flutterExternallyOpenedOrigins {
		if strings.HasPrefix(s, o) {
			return true
		}
	}
	return false
}

func flutterAppURL(u *url.URL, ios bool) bool {
	scheme := strings.ToLower(u.Scheme)
	if slices.Contains(flutterNativeSchemes, scheme) {
		return true
	}
	if u.Scheme == "http" || u.Scheme == "https" {
		if !ios && (u.Host == "market" || u.Host == "intent") || ios && u.Host == "apps.apple.com" ||
			strings.HasSuffix(u.Host, ".app.link") {
			return true
		}
	}
	return ios && scheme == "itms-apps"
}

func flutterNavigate(ios bool) func(u *url.URL) navDecision {
	return func(u *url.URL) navDecision {
		if flutterExternallyOpened(u.String()) || flutterAppURL(u, ios) {
			return navSystemBrowser
		}
		return navWebView
	}
}

// TestNativeNavigationPolicies pins what each SDK does with the consent pages Link
// navigates to (the matrix of docs/mobile.md) and with look-alikes of the listed hosts.
func TestNativeNavigationPolicies(t *testing.T) {
	const (
		coinbase   = "https://login.coinbase.com/oauth2/auth?client_id=x&state=s"
		coinbaseV2 = "https://www.coinbase.com/oauth/authorize?client_id=x"
		uphold     = "https://wallet.uphold.com/authorize/x?state=s"
		linkPage   = "https://linkvault.example.com/link/abc?lng=en"
		httpLink   = "http://linkvault.example.com/link/abc"
		lookalike  = "https://login.coinbase.com.example.net/oauth2/auth"
		userinfo   = "https://login.coinbase.com@example.net/oauth2/auth"
	)
	sys, wv, no := navSystemBrowser, navWebView, navRefused
	tests := []struct {
		sdk  string
		nav  func(*url.URL) navDecision
		want map[string]navDecision
	}{
		{"iOS", iosNavigate, map[string]navDecision{coinbase: wv, coinbaseV2: sys, uphold: wv, linkPage: wv, httpLink: wv, lookalike: wv}},
		{"Android", androidNavigate, map[string]navDecision{coinbase: wv, coinbaseV2: wv, uphold: wv, linkPage: wv, httpLink: no}},
		{"React Native", rnNavigate, map[string]navDecision{coinbase: sys, coinbaseV2: wv, uphold: wv, linkPage: wv, lookalike: wv, userinfo: wv,
			"https://coinbase.com/x": sys, "https://sandbox.meshconnect.com/authorize/CoinbaseEvil": wv, "https://sandbox.meshconnect.com/authorize/Coinbase/x": sys}},
		{"Flutter Android", flutterNavigate(false), map[string]navDecision{coinbase: sys, coinbaseV2: sys, uphold: sys, linkPage: wv, httpLink: wv, lookalike: sys,
			"https://market/details?id=x": sys, "https://apps.apple.com/app/x": wv}},
		{"Flutter iOS", flutterNavigate(true), map[string]navDecision{coinbase: sys, uphold: sys, linkPage: wv, "https://apps.apple.com/app/x": sys}},
	}
	for _, tt := range tests {
		for raw, want := range tt.want {
			u, err := url.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			if got := tt.nav(u); got != want {
				t.Errorf("%s: %s -> %s, want %s", tt.sdk, raw, got, want)
			}
		}
	}
}
