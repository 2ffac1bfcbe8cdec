// Package e2e holds the end-to-end tests of tokenwall: they build the tokenwall binary, start
// `tokenwall-dev` (a real Vault dev server, stripe-mock, the demo billing app and tokenwall on
// loopback) and drive the demo checkout in headless Chromium with chromedp.
//
// They need bin/vault and bin/stripe-mock (`make tools`) and Debian's chromium:
//
//	TOKENWALL_BIN=$PWD/bin go test -race -count=1 -v ./e2e/
package e2e
