package pages

import (
	"encoding/base64"
	"html"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/tokenwall/tokenwall/config"
)

func TestCSP(t *testing.T) {
	pg := testPage()
	pg.ConnectSrc = []string{"https://api.stripe.com", "'self'", "https://api.stripe.com"}
	pg.FrameSrc = []string{"https://js.stripe.com", "'none'"}
	pg.ImgSrc = []string{"data:"}
	got := CSP(pg, "abc+/=", "/_tokenwall/csp-report")
	hashes := []string{sri([]byte(inlineText)), sri([]byte(bigText)), sri([]byte(markupText)), sri([]byte("boot();\n"))}
	slices.Sort(hashes)
	want := "default-src 'self'; script-src 'nonce-abc+/=' '" + strings.Join(hashes, "' '") + "'; style-src 'self'; " +
		"img-src 'self' data:; connect-src 'self' https://api.stripe.com; form-action 'self'; " +
		"frame-src https://js.stripe.com; frame-ancestors 'none'; base-uri 'none'; object-src 'none'; " +
		"report-uri /_tokenwall/csp-report; report-to tokenwall-csp"
	if got != want {
		t.Errorf("CSP\n got %s\nwant %s", got, want)
	}
	if again := CSP(pg, "abc+/=", "/_tokenwall/csp-report"); again != got {
		t.Error("CSP is not deterministic")
	}
}

// Whatever the page's configuration holds (validation bypassed), the policy never lets an
// unlisted script run, and a bad nonce or report path cannot add a directive.
func TestCSPRefusesUnsafeSources(t *testing.T) {
	bad := []string{"'unsafe-inline'", "'strict-dynamic'", "'unsafe-eval'", "*", "https:", "http://evil.example",
		"https://a.example; script-src *", "'unsafe-hashes'"}
	pg := config.Page{Path: "/checkout", ConnectSrc: bad, ImgSrc: bad, StyleSrc: bad, FormAction: bad, FrameSrc: bad,
		Scripts: []config.PageScript{{SHA384: "sha384-short"}, {SHA384: "'unsafe-inline'"}, {Src: "http://evil.example/x.js", SHA384: stripeSRI}}}
	for _, nonce := range []string{"x' 'unsafe-inline", "a;b", ""} {
		got := CSP(pg, nonce, "/r; script-src *")
		for _, s := range []string{"unsafe", "strict-dynamic", "*", "https:", "evil", "nonce-", "report-uri", "sha384-short"} {
			if strings.Contains(got, s) {
				t.Errorf("nonce %q: policy holds %q: %s", nonce, s, got)
			}
		}
		if !strings.Contains(got, "script-src 'none';") || !strings.Contains(got, "frame-src 'none';") {
			t.Errorf("nonce %q: %s", nonce, got)
		}
	}
}

func TestNewNonce(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		n := NewNonce()
		raw, err := base64.StdEncoding.DecodeString(n)
		if err != nil || len(raw) != 16 {
			t.Fatalf("nonce %q: %d bytes, %v", n, len(raw), err)
		}
		if seen[n] {
			t.Fatalf("nonce %q repeated", n)
		}
		seen[n] = true
		if p := CSP(testPage(), n, "/r"); !strings.Contains(p, "'nonce-"+n+"'") {
			t.Fatalf("policy without its nonce: %s", p)
		}
	}
}

func TestCSPHeader(t *testing.T) {
	if h := CSPHeader(config.Page{Mode: config.PageReportOnly}); h != "Content-Security-Policy-Report-Only" {
		t.Errorf("report-only: %s", h)
	}
	if h := CSPHeader(config.Page{}); h != "Content-Security-Policy" {
		t.Errorf("default: %s", h)
	}
}

func TestReportingEndpoints(t *testing.T) {
	for in, want := range map[string]string{
		"https://pay.example/_tokenwall/csp-report": `tokenwall-csp="https://pay.example/_tokenwall/csp-report"`,
		`https://pay.example/a"b\c` + "\n\x00é":     `tokenwall-csp="https://pay.example/a\"b\\c"`,
	} {
		if got := ReportingEndpoints(in); got != want {
			t.Errorf("ReportingEndpoints(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestSecurityHeaders(t *testing.T) {
	hs := SecurityHeaders()
	if len(hs) != 11 {
		t.Errorf("%d headers", len(hs))
	}
	for _, h := range hs {
		if h != strings.ToLower(h) {
			t.Errorf("%q is not lower case", h)
		}
	}
	hs[0] = "changed"
	if SecurityHeaders()[0] != "content-security-policy" {
		t.Error("SecurityHeaders shares its slice")
	}
}

func TestInventory(t *testing.T) {
	inv := NewInventory(testPage())
	for raw, want := range map[string]bool{
		"https://js.stripe.com/v3/":          true,
		"https://JS.STRIPE.COM:443/v3/#x":    true,
		"https://js.stripe.com:8443/v3/":     false,
		"http://js.stripe.com/v3/":           false,
		"https://js.stripe.com/v3":           false,
		"https://js.stripe.com/v3/?v=2":      false,
		"https://user@js.stripe.com/v3/":     false,
		"https://shop.example/static/app.js": true,
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if _, got := inv.External(u); got != want {
			t.Errorf("External(%s) = %v, want %v", raw, got, want)
		}
	}
	var none *Inventory
	if _, ok := none.External(mustURL(stripeJS)); ok || none.Inline(sri(nil)) {
		t.Error("a nil inventory lists something")
	}
	// Entries validation would refuse are not trusted.
	bad := NewInventory(config.Page{Scripts: []config.PageScript{
		{Src: "http://evil.example/x.js", SHA384: stripeSRI}, {Src: "https://a.example/x.js", SHA384: "sha384-short"}}})
	if len(bad.external)+len(bad.inline) != 0 {
		t.Errorf("invalid entries listed: %v %v", bad.external, bad.inline)
	}
}

func TestEndsCleanly(t *testing.T) {
	for text, want := range map[string]bool{
		"initCheckout();":                true,
		"if (a < b) { go() }":            true,
		"x = '<b>bold</b>';":             true,
		"<!-- old style\ngo()\n//-->":    true,
		"if(a<b){go()}":                  false, // a tag that swallows the end tag
		"go() <!-- unclosed":             false,
		"go() <![CDATA[ unclosed":        false,
		`s = '<a title="';`:              false,
		"x = '<p>' + y; // </script> no": true,
	} {
		if got := endsCleanly([]byte(text)); got != want {
			t.Errorf("endsCleanly(%q) = %v, want %v", text, got, want)
		}
	}
}

// writeEscaped escapes as html.EscapeString does.
func TestWriteEscaped(t *testing.T) {
	const v = `a&b'c<d>e"f` + "\x00é&&"
	var out strings.Builder
	rw := newRewriter(&out, strings.NewReader(""), nil, nil, "", 1)
	rw.writeEscaped([]byte(v))
	if err := rw.out.Flush(); err != nil {
		t.Fatal(err)
	}
	if out.String() != html.EscapeString(v) {
		t.Errorf("got %q, want %q", out.String(), html.EscapeString(v))
	}
}
