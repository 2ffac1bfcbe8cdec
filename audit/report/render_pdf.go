package report

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/chromedp/chromedp"
)

// ErrNoChromium means the headless browser that prints the PDF is not installed.
var ErrNoChromium = errors.New("report: chromium not found: apt-get install chromium")

const (
	// chromiumPath is Debian's chromium launcher, the one the end-to-end tests use.
	chromiumPath = "/usr/bin/chromium"
	// chromiumName is looked up on $PATH when chromiumPath is missing.
	chromiumName = "chromium"
	// pdfTimeout bounds PDF when its context has no deadline: start, load, print.
	pdfTimeout = 2 * time.Minute
	// pdfFooter numbers the pages and names the report (the page's <title>) at their foot.
	pdfFooter = `<div style="font-size:8px;width:100%;padding:0 12mm;font-family:sans-serif;display:flex;justify-content:space-between">` +
		`<span class="title"></span><span>page <span class="pageNumber"></span> of <span class="totalPages"></span></span></div>`
)

// PDF prints a page rendered by HTML to an A4 PDF with headless Chromium (Debian's
// `chromium`), backgrounds included, each page numbered. The browser runs with a fresh
// profile in a temporary folder, removed afterwards, and with the flags that stop it from
// making outside connections. It returns an error wrapping ErrNoChromium when the browser is
// not installed. Without a deadline on ctx, it gives up after two minutes.
func PDF(ctx context.Context, html []byte) ([]byte, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, pdfTimeout)
		defer cancel()
	}
	exe, err := findChromium(chromiumPath, chromiumName)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "tokenwall-report-pdf-")
	if err != nil {
		return nil, fmt.Errorf("report: pdf: %w", err)
	}
	defer os.RemoveAll(dir) // deferred before stop, so it runs once the browser has exited

	page := filepath.Join(dir, "report.html")
	if err := os.WriteFile(page, html, 0o600); err != nil {
		return nil, fmt.Errorf("report: pdf: %w", err)
	}
	profile := filepath.Join(dir, "profile")
	bctx, stop := startChromium(ctx, exe, profile, browserLogs{})
	defer stop()

	if err := chromedp.Do(bctx, chromedp.Navigate(fileURL(page))); err != nil {
		return nil, fmt.Errorf("report: pdf: load page in chromium: %w", err)
	}
	pdf, err := chromedp.Run(bctx, chromedp.PrintToPDF(
		chromedp.PDFPaper(chromedp.PaperA4),
		chromedp.PDFPreferCSSPageSize(),
		chromedp.PDFPrintBackground(),
		chromedp.PDFHeaderTemplate(`<span></span>`),
		chromedp.PDFFooterTemplate(pdfFooter),
		chromedp.PDFOutlineAndTagged(),
	))
	if err != nil {
		return nil, fmt.Errorf("report: pdf: print: %w", err)
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		return nil, fmt.Errorf("report: pdf: chromium returned %d bytes that are not a PDF", len(pdf))
	}
	return pdf, nil
}

// findChromium returns the first candidate that exists: an absolute path as is, a bare name
// looked up on $PATH.
func findChromium(candidates ...string) (string, error) {
	for _, c := range candidates {
		if filepath.IsAbs(c) {
			if fi, err := os.Stat(c); err == nil && !fi.IsDir() {
				return c, nil
			}
			continue
		}
		if p, err := exec.LookPath(c); err == nil {
			return p, nil
		}
	}
	return "", ErrNoChromium
}

// browserLogs says where the browser's own output and chromedp's log lines go. The zero value
// discards them: they may quote the page.
type browserLogs struct {
	Output io.Writer
	Logf   func(string, ...any)
	Errorf func(string, ...any)
}

// startChromium prepares headless Chromium with a fresh profile in profileDir and no outside
// connections, the way the end-to-end tests start it. The browser starts with the first
// chromedp.Run on the returned context and lives until stop, which waits for its process to
// exit, or until ctx ends.
func startChromium(ctx context.Context, exe, profileDir string, logs browserLogs) (context.Context, context.CancelFunc) {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-proxy-server", true),
		chromedp.UserDataDir(profileDir),
		chromedp.WindowSize(1280, 1024),
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // as root Chromium refuses to start with its sandbox
	}
	if logs.Output != nil {
		opts = append(opts, chromedp.CombinedOutput(logs.Output))
	}
	discard := func(string, ...any) {}
	logf, errorf := discard, discard
	if logs.Logf != nil {
		logf = logs.Logf
	}
	if logs.Errorf != nil {
		errorf = logs.Errorf
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	tabCtx, cancelTab := chromedp.NewContext(allocCtx, chromedp.WithLogf(logf), chromedp.WithErrorf(errorf))
	return tabCtx, func() {
		cancelTab()
		cancelAlloc() // waits for the browser process to exit
	}
}

// fileURL is the file:// URL of an absolute path.
func fileURL(path string) string {
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(path)}).String()
}
