package report

import (
	"encoding/xml"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"
)

// The page is opened by auditors from a file: whatever a configuration or the audit trail
// put into the report must show as text, and the page must load nothing from outside.

func TestHTMLEscapesStrings(t *testing.T) {
	r := fixtureReport()
	r.Host = `host"><img src=x onerror=alert(1)>`
	r.Daily[0].Date = `<b>day</b>`
	r.Evidence.Keys[0].Scopes = []string{`<i>scope</i>`}
	r.Flow.Upstream = `http://app/?a=1&b=<x>`
	page := renderPage(t, r)

	for _, raw := range []string{"<script", "<img", "<b>day", "<i>scope", "<x>", `onerror=alert(1)>`} {
		if strings.Contains(strings.ToLower(page), strings.ToLower(raw)) {
			t.Errorf("page contains %q unescaped", raw)
		}
	}
	for _, escaped := range []string{
		"&lt;script&gt;alert(&#34;code&#34;)&lt;/script&gt;",      // map key
		"/pay/&lt;script&gt;alert(&#39;path&#39;)&lt;/script&gt;", // route path
		"&lt;b&gt;day&lt;/b&gt;",                                  // day, in the chart's bar title
		"ops &amp; support",
		"&#34;quoted&#34;",
		"a=1&amp;b=&lt;x&gt;",
	} {
		if !strings.Contains(page, escaped) {
			t.Errorf("page does not contain %q", escaped)
		}
	}
	// The hostile route path reaches the diagram too, escaped.
	flow := pageSection(t, page, "flow")
	svg := flow[strings.Index(flow, "<svg"):strings.Index(flow, "</svg>")]
	if !strings.Contains(svg, "&lt;script&gt;") {
		t.Errorf("flow diagram does not show the hostile route path escaped")
	}
}

func TestSVGIsWellFormed(t *testing.T) {
	r := fixtureReport()
	r.Flow.Routes[0].Path = `/a&b<c>"d'`
	r.Daily[0].Date = `<&>"'`
	v := newView(r)
	parts := map[string]string{"flow": string(v.Flow)}
	for _, c := range v.Charts {
		parts["chart "+c.Title] = string(c.SVG)
	}
	for name, svg := range parts {
		t.Run(name, func(t *testing.T) {
			d := xml.NewDecoder(strings.NewReader(svg))
			d.Strict = true
			for {
				_, err := d.Token()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatalf("not well-formed XML: %v", err)
				}
			}
		})
	}
}

var externalRefs = []*regexp.Regexp{
	regexp.MustCompile(`(?i)\b(src|href|xlink:href|action|poster|srcset|data)\s*=\s*["']?\s*(https?:|//|ftp:|file:)`),
	regexp.MustCompile(`(?i)url\(\s*["']?\s*(https?:|//|file:)`),
	regexp.MustCompile(`(?i)@import`),
	regexp.MustCompile(`(?i)@font-face`),
	regexp.MustCompile(`(?i)<(script|link|img|iframe|object|embed|video|audio|source|base)\b`),
	regexp.MustCompile(`(?i)\bsrc\s*=`),
}

func TestHTMLHasNoExternalReferences(t *testing.T) {
	page := renderPage(t, fixtureReport())
	// The fixture holds URLs (upstream, gateway, deliver URL): they must appear as text only.
	if !strings.Contains(page, "https://api.stripe.com") {
		t.Fatal("fixture URL missing from the page: the test would prove nothing")
	}
	for _, re := range externalRefs {
		if m := re.FindString(page); m != "" {
			t.Errorf("page has an outside reference or loader: %q (pattern %s)", m, re)
		}
	}
	// Links stay inside the page.
	for _, m := range regexp.MustCompile(`href="([^"]*)"`).FindAllStringSubmatch(page, -1) {
		if !strings.HasPrefix(m[1], "#") {
			t.Errorf("link %q leaves the page", m[1])
		}
	}
	if !strings.Contains(page, `content="default-src 'none'; style-src 'unsafe-inline'"`) {
		t.Error("page does not forbid outside loads with a Content-Security-Policy")
	}
}
