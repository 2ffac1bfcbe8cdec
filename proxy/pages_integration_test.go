package proxy_test

import (
	"context"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/config"
	"github.com/tokenwall/tokenwall/store"
)

// libJS is the payment page's one listed third-party script.
const libJS = "document.documentElement.dataset.lib = 'ran';\n"

// scriptServer serves /lib.js from a second origin with CORS, as a script CDN does; its
// bytes can be changed.
type scriptServer struct {
	srv *httptest.Server
	mu  sync.Mutex
	js  string
}

func newScriptServer(t *testing.T) *scriptServer {
	s := &scriptServer{js: libJS}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		js := s.js
		s.mu.Unlock()
		w.Header().Set("Content-Type", "text/javascript")
		w.Header().Set("Access-Control-Allow-Origin", "*")
		_, _ = io.WriteString(w, js)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *scriptServer) set(js string) {
	s.mu.Lock()
	s.js = js
	s.mu.Unlock()
}

func sri(b string) string {
	sum := sha512.Sum384([]byte(b))
	return "sha384-" + base64.StdEncoding.EncodeToString(sum[:])
}

// payPage is the payment page the upstream serves: the listed script, an inline script
// that is listed by hash, and (with extra) more.
func payPage(lib, extra string) string {
	return `<!doctype html><html><head><title>Pay</title>
<script src="` + lib + `"></script>
<script>window.ready = true;</script>` + extra + `
</head><body><form action="/checkout/submit" method="post"><input name="card_number"></form></body></html>`
}

// pageHeaders are the upstream's own headers of the page: a policy of its own (replaced), a
// validator and a Permissions-Policy (kept, and part of the fingerprint).
func pageHeaders() http.Header {
	h := http.Header{}
	h.Set("Content-Security-Policy", "default-src *")
	h.Set("Etag", `"v1"`)
	h.Set("Permissions-Policy", "payment=(self)")
	return h
}

// pageHarness starts tokenwall with /pay-page as a payment page.
func pageHarness(t *testing.T, onChange string) (*harness, *scriptServer) {
	scripts := newScriptServer(t)
	lib := scripts.srv.URL + "/lib.js"
	h := newHarness(t, options{pages: []config.Page{{Path: "/pay-page", OnChange: onChange, Scripts: []config.PageScript{
		{Src: lib, SHA384: sri(libJS), Justification: "card brand icons", AuthorisedBy: "ciso@example.com"},
		{SHA384: sri("window.ready = true;"), Justification: "marks the page ready", AuthorisedBy: "ciso@example.com"},
	}}}})
	t.Cleanup(func() { _ = h.stop() })
	h.up.setPage(payPage(lib, ""), pageHeaders())
	return h, scripts
}

var nonceAttr = regexp.MustCompile(`nonce="([^"]+)"`)

func TestPaymentPageIsRewritten(t *testing.T) {
	h, scripts := pageHarness(t, config.PageAlert)
	lib := scripts.srv.URL + "/lib.js"
	h.up.setPage(payPage(lib, `<script src="https://evil.example/skim.js"></script><script>steal()</script>`), pageHeaders())
	resp, body := h.do(mustRequest(t, http.MethodGet, h.url+"/pay-page"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /pay-page: %d %s", resp.StatusCode, body)
	}
	csp := resp.Header.Values("Content-Security-Policy")
	if len(csp) != 1 {
		t.Fatalf("%d Content-Security-Policy headers %q; want exactly one (the upstream's replaced)", len(csp), csp)
	}
	if strings.Contains(csp[0], "default-src *") || strings.Contains(csp[0], "unsafe-inline") || strings.Contains(csp[0], "strict-dynamic") {
		t.Errorf("policy %q", csp[0])
	}
	m := regexp.MustCompile(`'nonce-([^']+)'`).FindStringSubmatch(csp[0])
	if m == nil {
		t.Fatalf("policy %q has no nonce", csp[0])
	}
	for name, want := range map[string]string{"Cache-Control": "no-store", "Etag": "", "Content-Length": "", "Permissions-Policy": "payment=(self)",
		"X-Frame-Options": "DENY", "Reporting-Endpoints": `tokenwall-csp="/_tokenwall/csp-report"`} {
		if got := resp.Header.Values(name); (want == "" && len(got) != 0) || (want != "" && (len(got) != 1 || got[0] != want)) {
			t.Errorf("%s = %q; want %q once", name, got, want)
		}
	}
	nonces := nonceAttr.FindAllStringSubmatch(body, -1)
	if len(nonces) != 2 {
		t.Fatalf("%d scripts carry a nonce; want 2 (the listed ones):\n%s", len(nonces), body)
	}
	for _, n := range nonces {
		if n[1] != m[1] {
			t.Errorf("script nonce %q is not the policy's %q", n[1], m[1])
		}
	}
	if !strings.Contains(body, `integrity="`+sri(libJS)+`"`) || !strings.Contains(body, `crossorigin="anonymous"`) {
		t.Errorf("the listed script lacks integrity or crossorigin:\n%s", body)
	}
	for _, unlisted := range []string{`<script src="https://evil.example/skim.js">`, `<script>steal()</script>`} {
		if !strings.Contains(body, unlisted) {
			t.Errorf("the unlisted script is not served as it came (without a nonce): %s\n%s", unlisted, body)
		}
	}
	reqs := h.up.requests()
	if got := reqs[len(reqs)-1].Header.Get("Accept-Encoding"); got != "identity" {
		t.Errorf("tokenwall asked the upstream for Accept-Encoding %q; want identity", got)
	}
	resp2, _ := h.do(mustRequest(t, http.MethodGet, h.url+"/pay-page"))
	if resp2.Header.Get("Content-Security-Policy") == csp[0] {
		t.Error("two responses share one nonce")
	}
	head, _ := h.do(mustRequest(t, http.MethodHead, h.url+"/pay-page"))
	if head.StatusCode != http.StatusOK || len(head.Header.Values("Content-Security-Policy")) != 1 {
		t.Errorf("HEAD /pay-page: %d, policies %q", head.StatusCode, head.Header.Values("Content-Security-Policy"))
	}
}

// waitEvent waits for a record of typ whose details satisfy match.
func (h *harness) waitEvent(typ string, match func(map[string]string) bool) store.AuditRecord {
	h.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		for _, r := range h.events(typ) {
			var d map[string]string
			_ = json.Unmarshal([]byte(r.Details), &d)
			if match(d) {
				return r
			}
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("no %s record came", typ)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// baseline records the page as served now as its baseline.
func (h *harness) baseline(page string) {
	h.t.Helper()
	if _, _, err := h.app.Pages().Baseline(context.Background(), page, "admin:test:ops", "initial", false); err != nil {
		h.t.Fatal(err)
	}
}

func TestPaymentPageChangeIsDetectedAndReverted(t *testing.T) {
	h, scripts := pageHarness(t, config.PageAlert)
	lib := scripts.srv.URL + "/lib.js"
	h.baseline("/pay-page")
	h.up.setPage(payPage(lib, `<script src="https://evil.example/skim.js"></script>`), pageHeaders())
	if resp, _ := h.do(mustRequest(t, http.MethodGet, h.url+"/pay-page")); resp.StatusCode != http.StatusOK {
		t.Fatalf("on_change alert: a changed page answered %d; want 200", resp.StatusCode)
	}
	rec := h.waitEvent(audit.EventPageChanged, func(d map[string]string) bool {
		return strings.Contains(d[audit.DetailChanges], "script added: https://evil.example/skim.js")
	})
	if rec.Outcome != audit.Failure || rec.Reason != audit.ReasonPageChanged {
		t.Errorf("page_changed %+v", rec)
	}
	// The same change again writes nothing more.
	h.do(mustRequest(t, http.MethodGet, h.url+"/pay-page"))
	h.up.setPage(payPage(lib, ""), pageHeaders())
	h.do(mustRequest(t, http.MethodGet, h.url+"/pay-page"))
	h.waitEvent(audit.EventPageReverted, func(map[string]string) bool { return true })
	// The scheduled check at start found no baseline yet: that record, then the one above.
	if n := countReason(h.events(audit.EventPageChanged), audit.ReasonPageChanged); n != 1 {
		t.Errorf("%d page_changed records of the change; want 1 (one per new fingerprint)", n)
	}
	// A listed script whose bytes change is a change (the check fetches it afresh).
	scripts.set(libJS + "steal();\n")
	outs, err := h.app.Pages().Check(context.Background(), "operator", "admin:test:ops")
	if err != nil || len(outs) != 1 || outs[0].Result != "changed" || !strings.Contains(strings.Join(outs[0].Changes, "\n"), "script changed") {
		t.Fatalf("check after the script changed: %+v %v", outs, err)
	}
	var byOperator int
	for _, r := range h.events(audit.EventPageChecked) {
		if strings.Contains(r.Details, `"trigger":"operator"`) && r.Actor == "admin:test:ops" && r.Outcome == audit.Failure {
			byOperator++
		}
	}
	if byOperator != 1 {
		t.Errorf("%d page_checked records of the operator's check; want 1", byOperator)
	}
}

func countReason(recs []store.AuditRecord, reason string) int {
	n := 0
	for _, r := range recs {
		if r.Reason == reason {
			n++
		}
	}
	return n
}

func TestPaymentPageBlockedWhenItsHeadersChange(t *testing.T) {
	h, scripts := pageHarness(t, config.PageBlock)
	lib := scripts.srv.URL + "/lib.js"
	if resp, body := h.do(mustRequest(t, http.MethodGet, h.url+"/pay-page")); resp.StatusCode != http.StatusServiceUnavailable ||
		!strings.Contains(body, "Payment page unavailable") {
		t.Fatalf("without a baseline, on_change block: %d; want 503 with the fixed page", resp.StatusCode)
	}
	h.baseline("/pay-page")
	if resp, _ := h.do(mustRequest(t, http.MethodGet, h.url+"/pay-page")); resp.StatusCode != http.StatusOK {
		t.Fatalf("after the baseline: %d; want 200", resp.StatusCode)
	}
	hdr := pageHeaders()
	hdr.Del("Permissions-Policy")
	h.up.setPage(payPage(lib, ""), hdr)
	resp, body := h.do(mustRequest(t, http.MethodGet, h.url+"/pay-page"))
	if resp.StatusCode != http.StatusServiceUnavailable || strings.Contains(body, "card_number") {
		t.Fatalf("a dropped security header: %d; want 503 before any of the page is sent", resp.StatusCode)
	}
	h.waitEvent(audit.EventPageChanged, func(d map[string]string) bool {
		return strings.Contains(d[audit.DetailChanges], "header dropped: permissions-policy") && d[audit.DetailOnChange] == "block"
	})
	// The operator approves the change: the page is served again.
	if _, _, err := h.app.Pages().Baseline(context.Background(), "/pay-page", "admin:test:ops", "policy moved to the CDN", true); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second) // a replica trusts its copy of the state a few seconds
	for {
		resp, _ := h.do(mustRequest(t, http.MethodGet, h.url+"/pay-page"))
		if resp.StatusCode == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the approval the page still answers %d", resp.StatusCode)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if _, _, err := h.app.Pages().Baseline(context.Background(), "/pay-page", "admin:test:ops", "again", true); err == nil {
		t.Error("approving a page that matches its baseline succeeded; want ErrNothingToApprove")
	}
}

func TestCSPReportEndpoint(t *testing.T) {
	h, _ := pageHarness(t, config.PageAlert)
	legacy := func(doc, blocked, dir string) []byte {
		return []byte(fmt.Sprintf(`{"csp-report":{"document-uri":%q,"blocked-uri":%q,"effective-directive":%q,"disposition":"enforce"}}`, doc, blocked, dir))
	}
	page := h.url + "/pay-page"
	for i := 0; i < 30; i++ {
		if resp, body := h.post("/_tokenwall/csp-report", "application/csp-report", legacy(page, "inline", "script-src-elem")); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("report %d: %d %s", i, resp.StatusCode, body)
		}
	}
	// A beacon's URL carries the card in its query: only its origin is kept.
	batch := `[{"type":"csp-violation","url":"` + page + `","body":{"documentURL":"` + page +
		`","blockedURL":"https://evil.example/c?n=4242424242424242","effectiveDirective":"connect-src","disposition":"enforce"}},
	{"type":"deprecation","url":"` + page + `","body":{}}]`
	if resp, body := h.post("/_tokenwall/csp-report", "application/reports+json", []byte(batch)); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("Reporting API batch: %d %s", resp.StatusCode, body)
	}
	for name, c := range map[string]struct {
		ct, body string
		status   int
	}{
		"not JSON":                  {"application/csp-report", "{", 400},
		"no document":               {"application/csp-report", `{"csp-report":{}}`, 400},
		"other media type":          {"text/plain", string(legacy(page, "inline", "script-src")), 400},
		"empty batch":               {"application/reports+json", "[]", 400},
		"batch without a violation": {"application/reports+json", `[{"type":"deprecation","body":{}}]`, 400},
		"too large":                 {"application/csp-report", `{"csp-report":{"document-uri":"` + strings.Repeat("a", 70<<10) + `"}}`, 413},
	} {
		if resp, _ := h.post("/_tokenwall/csp-report", c.ct, []byte(c.body)); resp.StatusCode != c.status {
			t.Errorf("%s: %d; want %d", name, resp.StatusCode, c.status)
		}
	}
	if err := h.app.PageReports().Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	recs := h.events(audit.EventPageScriptBlocked)
	var inline, beacon int64
	for _, r := range recs {
		var d map[string]string
		_ = json.Unmarshal([]byte(r.Details), &d)
		switch {
		case d[audit.DetailBlocked] == "inline" && d[audit.DetailPage] == "/pay-page" && d[audit.DetailDirective] == "script-src-elem":
			inline += audit.Repeats(d)
		case d[audit.DetailBlocked] == "https://evil.example" && d[audit.DetailDirective] == "connect-src":
			beacon += audit.Repeats(d)
		default:
			t.Errorf("unexpected record %+v", d)
		}
		if strings.Contains(r.Details, "4242") {
			t.Errorf("a record holds the beacon's query: %s", r.Details)
		}
	}
	if inline != 30 || beacon != 1 || len(recs) > 3 {
		t.Errorf("%d records for %d inline and %d beacon reports; want at most 3 for 30 and 1", len(recs), inline, beacon)
	}
}

// TestBlockedPageStillAuditsACardInTheQuery: a card in the query of a withheld page is the
// guard's: refused 400 and recorded, as on any other path.
func TestBlockedPageStillAuditsACardInTheQuery(t *testing.T) {
	h, _ := pageHarness(t, config.PageBlock) // no baseline: withheld
	if resp, _ := h.do(mustRequest(t, http.MethodGet, h.url+"/pay-page")); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a page without a baseline under on_change block: %d; want 503", resp.StatusCode)
	}
	if resp, _ := h.do(mustRequest(t, http.MethodGet, h.url+"/pay-page?n=4242424242424242")); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("a card in the query of a withheld page: %d; want 400", resp.StatusCode)
	}
	if n := len(h.events(audit.EventCardEscapeBlocked)); n != 1 {
		t.Errorf("%d card_escape_blocked records; want 1", n)
	}
}
