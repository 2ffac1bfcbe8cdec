package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/audits"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/tokenwall/tokenwall/examples/billing"
	"github.com/tokenwall/tokenwall/scrub"
	"github.com/tokenwall/tokenwall/testkit"
)

// widgetLoaded is what the checkout's third-party widget writes into #widget-status once it
// ran.
const widgetLoaded = "Secure payment widget loaded"

// skimmedCard is what the customer types while the skimmer is on the page.
const skimmedCard = "4242 4242 4242 4242"

// pollTimeout bounds a wait for something tokenwall does in the background (a comparison
// with the baseline, an audit record, a replica's cached state).
const pollTimeout = 30 * time.Second

// tabEvents collects what the tab reports through the DevTools protocol: the CSP issues,
// the Reporting API's reports, the requests the page made and the console's messages.
type tabEvents struct {
	mu       sync.Mutex
	issues   []audits.ContentSecurityPolicyIssueDetails
	reports  []network.ReportingAPIReport
	requests []string
	console  []string
	// urls are the requests' URLs by id; cspBlocked the ids the browser refused for the
	// page's policy before they left.
	urls       map[network.RequestID]string
	cspBlocked map[network.RequestID]bool
}

// watchTab starts collecting the tab's events.
func watchTab(t *testing.T, ctx context.Context) *tabEvents {
	t.Helper()
	ev := &tabEvents{urls: map[network.RequestID]string{}, cspBlocked: map[network.RequestID]bool{}}
	if err := chromedp.Listen(ctx, func(e any) {
		ev.mu.Lock()
		defer ev.mu.Unlock()
		switch e := e.(type) {
		case *audits.EventIssueAdded:
			if d := e.Issue.Details.ContentSecurityPolicyIssueDetails; d != nil {
				ev.issues = append(ev.issues, *d)
			}
		case *network.EventReportingAPIReportAdded:
			ev.reports = append(ev.reports, *e.Report)
		case *network.EventRequestWillBeSent:
			ev.requests = append(ev.requests, e.Request.URL)
			ev.urls[e.RequestID] = e.Request.URL
		case *network.EventLoadingFailed:
			if e.BlockedReason == network.BlockedReasonCsp {
				ev.cspBlocked[e.RequestID] = true
			}
		case *cdplog.EventEntryAdded:
			ev.console = append(ev.console, e.Entry.Text)
		}
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatalf("Network.enable: %v", err)
	}
	if _, err := chromedp.Call(ctx, network.EnableReportingAPI, network.EnableReportingAPIParams{Enable: true}); err != nil {
		t.Fatalf("Network.enableReportingApi: %v", err)
	}
	for name, cmd := range map[string]func() error{
		"Audits.enable": func() error { _, err := chromedp.Call(ctx, audits.Enable, struct{}{}); return err },
		"Log.enable":    func() error { _, err := chromedp.Call(ctx, cdplog.Enable, struct{}{}); return err },
	} {
		if err := cmd(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	return ev
}

// snapshot returns copies of what was collected.
func (ev *tabEvents) snapshot() ([]audits.ContentSecurityPolicyIssueDetails, []network.ReportingAPIReport, []string, []string) {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	return append([]audits.ContentSecurityPolicyIssueDetails(nil), ev.issues...), append([]network.ReportingAPIReport(nil), ev.reports...),
		append([]string(nil), ev.requests...), append([]string(nil), ev.console...)
}

// TestPaymentPageIntegrity runs the demo checkout, a payment page in enforce mode with
// on_change block, in headless Chromium through tokenwall-dev with the demo app's test
// modes: the listed third-party widget runs with SRI; an injected skimmer is not run, no
// request carries the card, its violation reaches the audit trail and the report; a
// dropped security header and a tampered widget are detected and block the page until the
// page is back to its baseline; and the report's 6.4.3 and 11.6.1 rows pass.
func TestPaymentPageIntegrity(t *testing.T) {
	requireChromium(t)
	artifacts := testkit.ArtifactsDir(t)
	stack := startDevStack(t, "--test-modes", "--page-on-change", "block")
	br := startBrowser(t)
	client := stack.Client(t)
	tw := buildTokenwall(t)
	cfgFile := filepath.Join(stack.Data, "tokenwall.yaml")
	ctx, cancel := context.WithTimeout(br.Ctx, 3*stepTimeout)
	defer cancel()
	tab := watchTab(t, ctx)
	pg := &pageHarness{t: t, stack: stack, client: client, tw: tw, cfg: cfgFile}

	t.Run("the listed widget runs with integrity, under the page's policy", func(t *testing.T) {
		pg.t = t
		resp := openPage(t, ctx, stack)
		var csp any
		for k, v := range resp.Headers {
			if strings.EqualFold(k, "Content-Security-Policy") {
				csp = v
			}
		}
		for _, want := range []string{"'nonce-", "report-uri /_tokenwall/csp-report", "report-to tokenwall-csp"} {
			if !strings.Contains(fmt.Sprint(csp), want) {
				t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
			}
		}
		for _, banned := range []string{"unsafe-inline", "strict-dynamic"} {
			if strings.Contains(fmt.Sprint(csp), banned) {
				t.Errorf("Content-Security-Policy %q allows %s", csp, banned)
			}
		}
		waitWidget(t, ctx, true)
		sel := fmt.Sprintf(`script[src="http://127.0.0.1:%d/widget.js"]`, stack.WidgetPort)
		for attr, want := range map[string]string{"integrity": billing.WidgetSRI(), "crossorigin": "anonymous"} {
			got, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(sel), attr))
			if err != nil || got.Value != want {
				t.Errorf("widget script %s = %q (%v); want %q", attr, got.Value, err, want)
			}
		}
		if issues, _, _, _ := tab.snapshot(); len(issues) != 0 {
			t.Errorf("the clean page had %d CSP issues: %+v", len(issues), issues)
		}
	})

	t.Run("an injected skimmer is not run and no card leaves the page", func(t *testing.T) {
		pg.t = t
		pg.mode(url.Values{"skimmer": {"on"}})
		openPage(t, ctx, stack)
		waitFor(t, pollTimeout, "the browser's CSP issues for the inline skimmer and skim.js", func() bool {
			issues, _, _, _ := tab.snapshot()
			return hasIssue(issues, "inline") && hasIssue(issues, "/skim.js")
		})
		// The listed widget still ran: enforcement refuses only what is not in the inventory.
		waitWidget(t, ctx, true)
		// The skimmer listens for input and for the submit: type and pay.
		if status := submitCard(t, ctx, card{name: "Ada Lovelace", number: skimmedCard, exp: "12/34", cvc: "123"}); status != http.StatusOK {
			t.Errorf("POST /checkout/submit answered %d; want 200", status)
		}
		tab.mu.Lock()
		for id, u := range tab.urls {
			switch {
			case strings.Contains(u, "/skim.js") && !tab.cspBlocked[id]:
				t.Errorf("skim.js was fetched: the browser did not refuse it for the page's policy")
			case strings.Contains(u, "/collect"), strings.Contains(u, "4242"):
				t.Errorf("the page made a request it must not: %s", scrub.Text([]byte(u)))
			}
		}
		tab.mu.Unlock()
		if hits := pg.collected(); hits != 0 {
			t.Errorf("the skimmer's collector got %d requests; want 0", hits)
		}
		pg.postReports(tab)
		rec := pg.waitRecord("page_script_blocked", func(r exported) bool {
			return r.Details["page"] == "/checkout" && r.Details["blocked"] == "inline"
		})
		if rec.Details["disposition"] != "enforce" {
			t.Errorf("page_script_blocked %+v; want disposition enforce", rec.Details)
		}
		pg.waitRecord("page_changed", func(r exported) bool { return strings.Contains(r.Details["changes"], "inline script added") })
		pg.waitStatus(http.StatusServiceUnavailable)
		pg.mode(url.Values{"reset": {"1"}})
		pg.check(0)
		pg.waitRecord("page_reverted", func(exported) bool { return true })
		pg.waitStatus(http.StatusOK)
	})

	t.Run("a dropped security header is detected and the page is not served", func(t *testing.T) {
		pg.t = t
		pg.mode(url.Values{"drop_header": {"permissions-policy"}})
		pg.waitStatus(http.StatusServiceUnavailable)
		pg.waitRecord("page_changed", func(r exported) bool {
			return strings.Contains(r.Details["changes"], "header dropped: permissions-policy")
		})
		pg.mode(url.Values{"reset": {"1"}})
		pg.check(0)
		pg.waitStatus(http.StatusOK)
	})

	t.Run("a listed script whose bytes change is refused by the browser and detected", func(t *testing.T) {
		pg.t = t
		pg.mode(url.Values{"widget": {"tampered"}})
		openPage(t, ctx, stack)
		waitFor(t, pollTimeout, "the browser's integrity refusal of widget.js", func() bool {
			_, _, _, console := tab.snapshot()
			for _, m := range console {
				if strings.Contains(m, "integrity") && strings.Contains(m, "widget.js") {
					return true
				}
			}
			return false
		})
		waitWidget(t, ctx, false)
		out := pg.check(1)
		if !strings.Contains(out, "script changed") {
			t.Errorf("pages check after the widget changed:\n%s", out)
		}
		pg.waitRecord("page_changed", func(r exported) bool { return strings.Contains(r.Details["changes"], "script changed") })
		pg.waitStatus(http.StatusServiceUnavailable)
		pg.mode(url.Values{"reset": {"1"}})
		pg.check(0)
		pg.waitStatus(http.StatusOK)
	})

	t.Run("the report's 6.4.3 and 11.6.1 rows pass, with the violation", func(t *testing.T) {
		pg.t = t
		out := filepath.Join(artifacts, "report.json")
		runTW(t, tw, "report", "--config", cfgFile, "--format", "json", "-o", out)
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		var signed struct {
			Report struct {
				Requirements []struct {
					ID       string   `json:"id"`
					Status   string   `json:"status"`
					Evidence []string `json:"evidence"`
				} `json:"requirements"`
			} `json:"report"`
		}
		if err := json.Unmarshal(b, &signed); err != nil {
			t.Fatal(err)
		}
		seen := 0
		for _, r := range signed.Report.Requirements {
			if r.ID != "6.4.3" && r.ID != "11.6.1" {
				continue
			}
			seen++
			if r.Status != "PASS" {
				t.Errorf("%s is %s; want PASS: %s", r.ID, r.Status, strings.Join(r.Evidence, "; "))
			}
			ev := strings.Join(r.Evidence, "\n")
			if r.ID == "6.4.3" && !strings.Contains(ev, "inline") {
				t.Errorf("6.4.3's evidence does not show the blocked inline skimmer:\n%s", ev)
			}
			if r.ID == "11.6.1" && !strings.Contains(ev, "reverted") {
				t.Errorf("11.6.1's evidence does not show the changes resolved:\n%s", ev)
			}
		}
		if seen != 2 {
			t.Errorf("the report has %d of the rows 6.4.3 and 11.6.1", seen)
		}
	})

	t.Run("no card in any file", func(t *testing.T) {
		checkNoCardInAnyFile(t, stack, artifacts)
	})
}

// openPage opens the checkout and waits for its form.
func openPage(t *testing.T, ctx context.Context, stack *devStack) *network.Response {
	t.Helper()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(stack.BaseURL+"/checkout"))
	if err != nil {
		t.Fatalf("open /checkout: %v", err)
	}
	if resp.Status != http.StatusOK {
		t.Fatalf("GET /checkout answered %d; want 200", resp.Status)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("pay"))); err != nil {
		t.Fatalf("wait for #pay: %v", err)
	}
	return resp
}

// waitWidget waits until the widget's status says it ran (loaded) or, once the page has
// loaded, checks that it did not.
func waitWidget(t *testing.T, ctx context.Context, loaded bool) {
	t.Helper()
	text := func() string {
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("widget-status")))
		if err != nil {
			t.Fatalf("#widget-status: %v", err)
		}
		return strings.TrimSpace(s)
	}
	if loaded {
		waitFor(t, pollTimeout, "the widget to run", func() bool { return text() == widgetLoaded })
		return
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`new Promise(r => document.readyState === "complete" ? r(true) : addEventListener("load", () => r(true)))`,
		chromedp.EvalAwaitPromise)); err != nil {
		t.Fatalf("wait for the page's load: %v", err)
	}
	if got := text(); got == widgetLoaded {
		t.Errorf("the widget ran although its bytes no longer match its integrity")
	}
}

// hasIssue reports whether a CSP issue blocked a URL containing what ("inline": an inline
// script).
func hasIssue(issues []audits.ContentSecurityPolicyIssueDetails, what string) bool {
	for _, is := range issues {
		if what == "inline" && is.ContentSecurityPolicyViolationType == audits.ContentSecurityPolicyViolationTypeKInlineViolation {
			return true
		}
		if what != "inline" && strings.Contains(is.BlockedURL, what) {
			return true
		}
	}
	return false
}

// pageHarness drives the demo app's test modes and tokenwall's CLI against one dev stack.
type pageHarness struct {
	t      *testing.T
	stack  *devStack
	client *http.Client
	tw     string
	cfg    string
}

// mode sets the demo app's test modes (on the app itself, not through tokenwall).
func (p *pageHarness) mode(v url.Values) {
	p.t.Helper()
	resp, err := http.PostForm("http://127.0.0.1:"+strconv.Itoa(p.stack.AppPort)+"/_demo/mode", v)
	if err != nil {
		p.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		p.t.Fatalf("POST /_demo/mode %v answered %d", v, resp.StatusCode)
	}
}

// collected is how many requests the skimmer's collector received.
func (p *pageHarness) collected() int {
	p.t.Helper()
	resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(p.stack.WidgetPort) + "/_demo/collected")
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	var c struct {
		Hits int `json:"hits"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
		p.t.Fatal(err)
	}
	return c.Hits
}

// postReports posts the violations the browser generated to tokenwall's report endpoint as
// the browser does: its Reporting API reports when the DevTools protocol showed them, else
// (Chromium may hold them back) one report-uri report per CSP issue it showed.
func (p *pageHarness) postReports(tab *tabEvents) {
	p.t.Helper()
	issues, reports, _, _ := tab.snapshot()
	var posts []struct{ ct, body string }
	var batch []map[string]any
	for _, r := range reports {
		if r.Type != "csp-violation" {
			continue
		}
		var body map[string]any
		if err := json.Unmarshal(r.Body, &body); err != nil {
			p.t.Fatalf("a Reporting API report's body: %v", err)
		}
		batch = append(batch, map[string]any{"type": r.Type, "url": r.InitiatorURL, "body": body})
	}
	if len(batch) > 0 {
		b, _ := json.Marshal(batch)
		posts = append(posts, struct{ ct, body string }{"application/reports+json", string(b)})
	}
	p.t.Logf("posting %d Reporting API reports and, for lack of them, %d CSP issues", len(batch), len(issues)*btoi(len(batch) == 0))
	if len(batch) == 0 {
		for _, is := range issues {
			blocked := is.BlockedURL
			if is.ContentSecurityPolicyViolationType == audits.ContentSecurityPolicyViolationTypeKInlineViolation {
				blocked = "inline"
			}
			b, _ := json.Marshal(map[string]any{"csp-report": map[string]string{"document-uri": p.stack.BaseURL + "/checkout",
				"blocked-uri": blocked, "effective-directive": is.ViolatedDirective, "disposition": "enforce"}})
			posts = append(posts, struct{ ct, body string }{"application/csp-report", string(b)})
		}
	}
	for _, post := range posts {
		resp, err := p.client.Post(p.stack.BaseURL+"/_tokenwall/csp-report", post.ct, bytes.NewReader([]byte(post.body)))
		if err != nil {
			p.t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			p.t.Fatalf("POST /_tokenwall/csp-report (%s) answered %d; want 204", post.ct, resp.StatusCode)
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// exported is one record of tokenwall audit export.
type exported struct {
	Seq     int64             `json:"seq"`
	Event   string            `json:"event"`
	Details map[string]string `json:"details"`
}

// waitRecord waits for a record of event that match accepts, among those written since the
// harness last found one.
func (p *pageHarness) waitRecord(event string, match func(exported) bool) exported {
	p.t.Helper()
	var found exported
	waitFor(p.t, pollTimeout, "an audit record "+event, func() bool {
		out := runTW(p.t, p.tw, "audit", "export", "--config", p.cfg)
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			var r exported
			if json.Unmarshal([]byte(line), &r) == nil && r.Event == event && match(r) {
				found = r
				return true
			}
		}
		return false
	})
	return found
}

// waitStatus waits until GET /checkout through tokenwall answers status (a replica trusts its
// copy of the page's state for a few seconds).
func (p *pageHarness) waitStatus(status int) {
	p.t.Helper()
	waitFor(p.t, pollTimeout, "GET /checkout to answer "+strconv.Itoa(status), func() bool {
		resp, err := p.client.Get(p.stack.BaseURL + "/checkout")
		if err != nil {
			p.t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode == status
	})
}

// check runs tokenwall pages check and wants exit code want; it returns the output.
func (p *pageHarness) check(want int) string {
	p.t.Helper()
	cmd := exec.Command(p.tw, "pages", "check", "--config", p.cfg)
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		p.t.Fatal(err)
	}
	if code != want {
		p.t.Fatalf("tokenwall pages check exited %d; want %d:\n%s", code, want, scrub.Text(out))
	}
	return string(out)
}
