package report

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestHTMLShowsPaymentPages(t *testing.T) {
	pages := visibleText(pageSection(t, renderPage(t, fixtureReport()), "pages"))
	for _, want := range []string{
		"Page /checkout Mode enforce: the browser runs only the scripts below On change block",
		"Approved baseline " + fixtureChanged + " approved by admin:cli:jane at 2026-11-12 09:30:00 UTC: Stripe.js upgrade",
		"Checks in the period 719 (3 failed) Last check 2026-11-30 23:00:00 UTC Script inventory",
		"https://js.stripe.com/v3/ " + fixtureSRI + " Stripe.js collects the card Jane Roe (CISO)",
		"inline " + fixtureInlineSRI + " starts the checkout form Jane Roe (CISO)",
		"2026-11-12 08:00:00 UTC " + fixtureChanged + " script changed: https://js.stripe.com/v3/ header changed: content-security-policy block approved by admin:cli:jane: Stripe.js upgrade 2026-11-12 09:30:00 UTC",
		"https://evil.example script-src-elem enforce 41 inline script-src-elem enforce 6 Total (scripts refused by the browser: 47) 47",
		"Page /old-checkout not configured Approved baseline none Checks in the period 2 (0 failed) Last check never Changes",
	} {
		if !strings.Contains(pages, want) {
			t.Errorf("payment pages do not show %q", want)
		}
	}
	if strings.Contains(pages, "/old-checkout not configured Approved baseline none: the page's integrity") {
		t.Error("a page that is not configured is marked as failing")
	}
}

func TestHTMLPaymentPageProblems(t *testing.T) {
	r := fixtureReport()
	p := &r.Evidence.Pages[0]
	p.Mode = "report-only"
	p.Scripts[1].Justification, p.Scripts[1].AuthorisedBy = "", " "
	p.Baseline = nil
	old := r.To.Add(-8 * 24 * time.Hour)
	p.Checks.Last = &old
	p.Changes = append(p.Changes, PageChange{At: r.From.Add(-time.Hour), Fingerprint: "beef", OnChange: "alert", BeforePeriod: true})
	p.ChangesNotListed, p.Unresolved = 4, 5
	p.ViolationGroupsNotListed, p.ViolationsNotListed, p.ViolationGroupsCapped = 207, 252, true
	r.Evidence.Pages = r.Evidence.Pages[:1]
	pages := visibleText(pageSection(t, renderPage(t, r), "pages"))
	for _, want := range []string{
		"Mode report-only: scripts outside the inventory run and are only reported",
		"Approved baseline none: the page's integrity cannot be checked",
		"Last check 2026-11-23 00:00:00 UTC more than 7 days before the end of the period",
		"Stripe.js collects the card Jane Roe (CISO)", // the first script is whole
		"inline " + fixtureInlineSRI + " missing missing",
		"2026-10-31 23:00:00 UTC before the period, open at its start beef not described alert UNRESOLVED",
		"4 more change(s) not listed 5 change(s) unresolved at the end of the period.",
		"at least 207 more group(s) not listed 252",
	} {
		if !strings.Contains(pages, want) {
			t.Errorf("payment pages do not show %q", want)
		}
	}
}

func TestHTMLWithoutPaymentPages(t *testing.T) {
	r := fixtureReport()
	r.Evidence.Pages = nil
	if pages := visibleText(pageSection(t, renderPage(t, r), "pages")); !strings.Contains(pages, "No payment page is configured.") {
		t.Errorf("payment pages section without pages: %q", pages)
	}
}

// TestHTMLEscapesPaymentPages: a justification, a change and a blocked source are shown as
// text wherever they appear, in the section and in the requirements' evidence.
func TestHTMLEscapesPaymentPages(t *testing.T) {
	r := fixtureReport()
	p := &r.Evidence.Pages[0]
	p.Scripts[0].Justification = hostileKey
	p.Changes[0].Changes = "script added\n" + `<img src=x onerror=alert(1)>`
	p.Violations[0].Blocked = `"><svg onload=alert(2)>`
	r.Requirements = Evaluate(r, 365)
	page := renderPage(t, r)
	for _, raw := range []string{"<script", "<img", "<svg onload", "onerror=alert(1)>"} {
		if strings.Contains(strings.ToLower(page), strings.ToLower(raw)) {
			t.Errorf("page contains %q unescaped", raw)
		}
	}
	escaped := "&lt;script&gt;alert(&#34;code&#34;)&lt;/script&gt;"
	for _, id := range []string{"pages", "requirements"} {
		if sec := pageSection(t, page, id); !strings.Contains(sec, escaped) {
			t.Errorf("section %s does not show the hostile justification escaped", id)
		}
	}
	pages := pageSection(t, page, "pages")
	for _, want := range []string{"<li>&lt;img src=x onerror=alert(1)&gt;</li>", "&#34;&gt;&lt;svg onload=alert(2)&gt;"} {
		if !strings.Contains(pages, want) {
			t.Errorf("payment pages do not show %q", want)
		}
	}
}

func TestClip(t *testing.T) {
	for _, s := range []string{strings.Repeat("a", 2000), strings.Repeat("é", 1000), "a" + strings.Repeat("€", 400)} {
		c := clip(s)
		if len(c) > maxPageText || !utf8.ValidString(c) || !strings.HasSuffix(c, "…") {
			t.Errorf("clip of %d bytes: %d bytes, valid UTF-8 %v, %q at the end", len(s), len(c), utf8.ValidString(c), c[len(c)-3:])
		}
	}
	if s := strings.Repeat("x", maxPageText); clip(s) != s {
		t.Error("a string of the limit is cut")
	}
}
