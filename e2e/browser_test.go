package e2e_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tokenwall/tokenwall/scrub"
	"github.com/tokenwall/tokenwall/testkit"
)

const (
	// chromiumPath is Debian's chromium launcher.
	chromiumPath = "/usr/bin/chromium"
	// browserTimeout bounds the whole life of the browser.
	browserTimeout = 60 * time.Second
)

// requireChromium fails the test when Debian's chromium is not installed: the end-to-end
// test is part of `make test`, so a missing browser is a broken setup, not a reason to skip.
func requireChromium(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatal("chromium not found: apt-get install chromium (the .ci/run script installs it)")
	}
}

// browser is a headless Chromium with one tab.
type browser struct {
	// Ctx is the tab's chromedp context. Derive a context with a timeout from it for each
	// step; its own deadline is browserTimeout after start.
	Ctx   context.Context
	close func()
}

// Close closes the browser and waits for its process to exit. Calling it again does nothing.
func (b *browser) Close() { b.close() }

// startBrowser starts headless Chromium with a fresh profile and no outside connections,
// trusting any certificate (the dev stack's is self-signed). The browser's own output and
// chromedp's log go, scrubbed, to files in the artifacts folder; t.Cleanup closes it.
func startBrowser(t *testing.T) *browser {
	t.Helper()
	requireChromium(t)
	profile := t.TempDir()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox, // as root Chromium refuses to start with its sandbox
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-proxy-server", true),
		chromedp.IgnoreCertErrors,
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1024, 768),
		chromedp.CombinedOutput(scrub.NewWriter(testkit.LogFile(t, "chromium.log"))),
	)
	cdpLog := &scrubbedLog{w: testkit.LogFile(t, "chromedp.log")}

	timeoutCtx, cancelTimeout := context.WithTimeout(context.Background(), browserTimeout)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(timeoutCtx, opts...)
	// chromedp logs protocol errors with the message that caused them, which may quote the
	// page; by default that goes to the standard logger. Send it, scrubbed, to a file.
	ctx, cancelTab := chromedp.NewContext(allocCtx,
		chromedp.WithLogf(cdpLog.printf("")),
		chromedp.WithErrorf(cdpLog.printf("ERROR: ")),
	)
	var once sync.Once
	b := &browser{Ctx: ctx, close: func() {
		once.Do(func() {
			cancelTab()
			cancelAlloc() // waits for the browser process to exit
			cancelTimeout()
		})
	}}
	t.Cleanup(b.Close)
	if err := chromedp.Do(ctx); err != nil { // starts the browser and opens the tab
		t.Fatalf("start chromium: %v", err)
	}
	return b
}

// scrubbedLog is a printf-style logger that writes each line, scrubbed of card numbers, to w.
type scrubbedLog struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *scrubbedLog) printf(prefix string) func(string, ...any) {
	return func(format string, args ...any) {
		line := fmt.Sprintf(prefix+format+"\n", args...)
		l.mu.Lock()
		defer l.mu.Unlock()
		_, _ = l.w.Write(scrub.Text([]byte(line)))
	}
}
