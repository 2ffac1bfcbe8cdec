package report

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tokenwall/tokenwall/scrub"
	"github.com/tokenwall/tokenwall/testkit"
)

// browserTimeout bounds the whole life of the test's browser.
const browserTimeout = 90 * time.Second

// pageFacts is what the test reads from the rendered page in the browser.
type pageFacts struct {
	Text        string `json:"text"`
	ScrollWidth int    `json:"scrollWidth"`
	InnerWidth  int    `json:"innerWidth"`
	Resources   int    `json:"resources"`
	Charts      int    `json:"charts"`
	FlowWidth   int    `json:"flowWidth"`
	FlowHeight  int    `json:"flowHeight"`
}

// TestBrowserRendersReport opens the fixture's page in headless Chromium, as a QSA's browser
// would, saves a full-page screenshot, checks what a reader sees, then prints it with PDF.
// A missing Chromium fails the test: it is part of the suite, not optional.
func TestBrowserRendersReport(t *testing.T) {
	exe, err := findChromium(chromiumPath, chromiumName)
	if err != nil {
		t.Fatalf("%v (the .ci/run script installs it)", err)
	}
	dir := testkit.ArtifactsDir(t)
	page, htmlPath := writeFixturePage(t, dir)

	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	defer cancel()
	cdpLog := &scrubbedLog{w: testkit.LogFile(t, "chromedp.log")}
	bctx, stop := startChromium(ctx, exe, t.TempDir(), browserLogs{
		Output: scrub.NewWriter(testkit.LogFile(t, "chromium.log")),
		Logf:   cdpLog.printf(""),
		Errorf: cdpLog.printf("ERROR: "),
	})
	defer stop()

	if err := chromedp.Do(bctx, chromedp.Navigate(fileURL(htmlPath))); err != nil {
		t.Fatalf("open the report in chromium: %v", err)
	}
	saveScreenshot(t, bctx, dir)
	checkPageFacts(t, bctx)

	pdf, err := PDF(ctx, page)
	if err != nil {
		t.Fatalf("PDF: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "report.pdf"), pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	checkPDF(t, pdf)

	// The artifacts outlive the test and the suite scans them for card numbers; fail here, nearer
	// the cause, if the report carried one.
	found, err := testkit.ScanForCards(dir)
	if err != nil {
		t.Fatalf("scan artifacts: %v", err)
	}
	for _, f := range found {
		t.Errorf("card number in an artifact: %s", f)
	}
}

// writeFixturePage renders the fixture report's page into dir as report.html; it returns
// the page and the file's path.
func writeFixturePage(t *testing.T, dir string) (page []byte, htmlPath string) {
	t.Helper()
	var buf bytes.Buffer
	if err := HTML(&buf, fixtureReport()); err != nil {
		t.Fatalf("HTML: %v", err)
	}
	htmlPath = filepath.Join(dir, "report.html")
	if err := os.WriteFile(htmlPath, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), htmlPath
}

// saveScreenshot saves a full-page screenshot of the browser's page into dir as
// screenshot.png and checks it is a plausible one.
func saveScreenshot(t *testing.T, bctx context.Context, dir string) {
	t.Helper()
	png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	shot := filepath.Join(dir, "screenshot.png")
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG")) || len(png) < 50_000 {
		t.Errorf("screenshot is %d bytes, not a plausible full-page PNG", len(png))
	}
	t.Logf("screenshot: %s", shot)
}

// checkPageFacts reads the rendered page in the browser and checks what a reader sees: the
// headings and key figures, hostile strings as text, no overflow, nothing loaded from
// outside, every chart, and a flow diagram large enough to read.
func checkPageFacts(t *testing.T, bctx context.Context) {
	t.Helper()
	facts, err := chromedp.Run(bctx, chromedp.Evaluate[pageFacts](`({
		text: document.body.innerText,
		scrollWidth: document.documentElement.scrollWidth,
		innerWidth: window.innerWidth,
		resources: performance.getEntriesByType('resource').length,
		charts: document.querySelectorAll('svg.chart').length,
		flowWidth: Math.round(document.querySelector('svg.flow').getBoundingClientRect().width),
		flowHeight: Math.round(document.querySelector('svg.flow').getBoundingClientRect().height),
	})`))
	if err != nil {
		t.Fatalf("read the page: %v", err)
	}
	text := strings.Join(strings.Fields(facts.Text), " ")
	for _, want := range []string{
		"tokenwall compliance report",
		"Period summary", "Daily volume", "Requirements", "Evidence", "Payment pages", "Card data flow",
		"rpt-2026-11-tw-7f3a9c",
		"Tokenizations succeeded 1,201", "Tokenizations failed 37", "Webhooks received 2,468",
		"Erasures over 48 h: 1 of 4", "49 h 30 min NO over 48 h",
		"✓ PASS", "✗ FAIL", "– N/A",
		"TLS 1.0 refused", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 accepted AEAD",
		hostileKey, // shown as text, not run
		hostilePath,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the page does not show %q", want)
		}
	}
	if facts.ScrollWidth > facts.InnerWidth {
		t.Errorf("page is %d px wide in a %d px window: something overflows", facts.ScrollWidth, facts.InnerWidth)
	}
	if facts.Resources != 0 {
		t.Errorf("page loaded %d resources, want none", facts.Resources)
	}
	if facts.Charts != 5 {
		t.Errorf("%d charts, want 5", facts.Charts)
	}
	if facts.FlowWidth < 800 || facts.FlowHeight < 250 {
		t.Errorf("flow diagram is %dx%d px, too small to read", facts.FlowWidth, facts.FlowHeight)
	}
}

var (
	pdfPageRE     = regexp.MustCompile(`/Type\s*/Page\b[^s]`)
	pdfMediaBoxRE = regexp.MustCompile(`/MediaBox\s*\[\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*\]`)
)

// checkPDF asserts pdf is a PDF of several A4 pages. Chromium writes page objects without
// compression, so their media boxes can be read as text.
func checkPDF(t *testing.T, pdf []byte) {
	t.Helper()
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("PDF starts with %.8q, want %%PDF-", pdf)
	}
	if len(pdf) < 30_000 || len(pdf) > 20<<20 {
		t.Errorf("PDF is %d bytes, not plausible for this report", len(pdf))
	}
	pages := len(pdfPageRE.FindAll(pdf, -1))
	// A cover page, then each of the six major sections starts a page.
	if pages < 7 || pages > 40 {
		t.Errorf("PDF has %d pages, want 7 to 40", pages)
	}
	boxes := pdfMediaBoxRE.FindAllSubmatch(pdf, -1)
	if len(boxes) == 0 {
		t.Fatal("PDF has no media box")
	}
	for _, m := range boxes {
		w, _ := strconv.ParseFloat(string(m[3]), 64)
		h, _ := strconv.ParseFloat(string(m[4]), 64)
		// A4 is 210 x 297 mm: 595.3 x 841.9 points.
		if w < 593 || w > 598 || h < 840 || h > 844 {
			t.Errorf("PDF page is %.1f x %.1f points, want A4 (595 x 842)", w, h)
		}
	}
}

// TestPDFRejectsCancelledContext checks PDF gives up, with an error, when its context is done.
func TestPDFRejectsCancelledContext(t *testing.T) {
	if _, err := findChromium(chromiumPath, chromiumName); err != nil {
		t.Fatalf("%v (the .ci/run script installs it)", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := PDF(ctx, []byte("<p>x</p>")); err == nil {
		t.Fatal("PDF with a cancelled context succeeded")
	}
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
