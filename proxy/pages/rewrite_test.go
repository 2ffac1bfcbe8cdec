package pages

import (
	"bytes"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/tokenwall/tokenwall/config"
)

const (
	testNonce   = "bm9uY2Utbm9uY2Utbm9uYw=="
	stripeJS    = "https://js.stripe.com/v3/"
	appJS       = "https://shop.example/static/app.js"
	inlineText  = "initCheckout();"
	markupText  = "if(a<b){go()}"
	testPageURL = "https://shop.example/checkout"
)

var (
	stripeSRI = sri([]byte("stripe.js bytes"))
	appSRI    = sri([]byte("app.js bytes"))
	bigText   = strings.Repeat("a;", MaxInlineScript/2+1)
)

// testPage is a page whose inventory lists two external scripts and three inline ones (one
// of them over the inline bound, one whose text is not inert markup).
func testPage() config.Page {
	return config.Page{Path: "/checkout", Scripts: []config.PageScript{
		{Src: stripeJS, SHA384: stripeSRI, Justification: "card fields", AuthorisedBy: "sec"},
		{Src: appJS, SHA384: appSRI, Justification: "checkout", AuthorisedBy: "sec"},
		{SHA384: sri([]byte(inlineText)), Justification: "boot", AuthorisedBy: "sec"},
		{SHA384: sri([]byte(bigText)), Justification: "bundle", AuthorisedBy: "sec"},
		{SHA384: sri([]byte(markupText)), Justification: "compare", AuthorisedBy: "sec"},
		{SHA384: sri([]byte("boot();\n")), Justification: "boot", AuthorisedBy: "sec"},
	}}
}

func rewrite(t testing.TB, in string, maxBytes int64) (string, Result, error) {
	t.Helper()
	base, err := url.Parse(testPageURL)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	res, err := Rewrite(&out, strings.NewReader(in), NewInventory(testPage()), base, testNonce, maxBytes)
	return out.String(), res, err
}

// pinned is what Rewrite adds to a listed external script.
func pinned(sri string) string {
	return ` integrity="` + sri + `" crossorigin="anonymous" nonce="` + testNonce + `"`
}

func TestRewrite(t *testing.T) {
	inlineSRI := sri([]byte(inlineText))
	cases := []struct {
		name    string
		in      string
		want    string
		scripts []Script
	}{{
		name:    "listed external",
		in:      `<p>pay</p><script src="https://js.stripe.com/v3/"></script>`,
		want:    `<p>pay</p><script src="https://js.stripe.com/v3/"` + pinned(stripeSRI) + `></script>`,
		scripts: []Script{{Src: stripeJS, Listed: true, Nonce: true}},
	}, {
		name:    "unlisted external loses the upstream's nonce and integrity",
		in:      `<script nonce="abc" src="https://evil.example/x.js" integrity="sha384-x" crossorigin></script>`,
		want:    `<script src="https://evil.example/x.js" crossorigin=""></script>`,
		scripts: []Script{{Src: "https://evil.example/x.js"}},
	}, {
		name:    "relative src resolved against the page",
		in:      `<script defer src="static/app.js"></script>`,
		want:    `<script defer="" src="static/app.js"` + pinned(appSRI) + `></script>`,
		scripts: []Script{{Src: appJS, Listed: true, Nonce: true}},
	}, {
		name:    "protocol-relative, upper-case host, default port",
		in:      `<script src="//JS.Stripe.com:443/v3/"></script>`,
		want:    `<script src="//JS.Stripe.com:443/v3/"` + pinned(stripeSRI) + `></script>`,
		scripts: []Script{{Src: stripeJS, Listed: true, Nonce: true}},
	}, {
		name:    "a base element is ignored",
		in:      `<base href="https://evil.example/"><script src="/static/app.js"></script>`,
		want:    `<base href="https://evil.example/"><script src="/static/app.js"` + pinned(appSRI) + `></script>`,
		scripts: []Script{{Src: appJS, Listed: true, Nonce: true}},
	}, {
		name: "listed external: upstream nonce, integrity and crossorigin replaced",
		in: `<script crossorigin="use-credentials" nonce="old" src="https://js.stripe.com/v3/" ` +
			`integrity="sha384-old" async data-x='a"b&lt;c'></script>`,
		want:    `<script src="https://js.stripe.com/v3/" async="" data-x="a&#34;b&lt;c"` + pinned(stripeSRI) + `></script>`,
		scripts: []Script{{Src: stripeJS, Listed: true, Nonce: true}},
	}, {
		name:    "listed inline",
		in:      `<script>` + inlineText + `</script>`,
		want:    `<script nonce="` + testNonce + `">` + inlineText + `</script>`,
		scripts: []Script{{SHA384: inlineSRI, Listed: true, Nonce: true}},
	}, {
		name:    "listed inline hashed as the browser reads it (CR LF, NUL)",
		in:      "<script>boot();\r\n</script><script>a\x00</script>",
		want:    "<script nonce=\"" + testNonce + "\">boot();\r\n</script><script>a\x00</script>",
		scripts: []Script{{SHA384: sri([]byte("boot();\n")), Listed: true, Nonce: true}, {SHA384: sri([]byte("a\uFFFD"))}},
	}, {
		name:    "unlisted inline",
		in:      `<script type="module">alert(1)</script>`,
		want:    `<script type="module">alert(1)</script>`,
		scripts: []Script{{SHA384: sri([]byte("alert(1)"))}},
	}, {
		name:    "attribute-less empty script",
		in:      `<script></script>`,
		want:    `<script></script>`,
		scripts: []Script{{SHA384: sri(nil)}},
	}, {
		name:    "upper-case tags",
		in:      `<SCRIPT SRC="https://js.stripe.com/v3/" NONCE=x></SCRIPT>`,
		want:    `<script src="https://js.stripe.com/v3/"` + pinned(stripeSRI) + `></SCRIPT>`,
		scripts: []Script{{Src: stripeJS, Listed: true, Nonce: true}},
	}, {
		name:    "self-closing kept",
		in:      `<script src="https://js.stripe.com/v3/"/></script>`,
		want:    `<script src="https://js.stripe.com/v3/"` + pinned(stripeSRI) + `/></script>`,
		scripts: []Script{{Src: stripeJS, Listed: true, Nonce: true}},
	}, {
		// The tokenizer, like an HTML parser, reads on after <script/> as the script's text,
		// where an SVG parser ends the element: the nonce is withheld either way.
		name:    "self-closing in svg",
		in:      `<svg><script src="https://js.stripe.com/v3/"/></svg>`,
		want:    `<svg><script src="https://js.stripe.com/v3/" integrity="` + stripeSRI + `" crossorigin="anonymous"/></svg>`,
		scripts: []Script{{Src: stripeJS, Listed: true, Note: NoteExternalText + sri([]byte("</svg>"))}},
	}, {
		name:    "svg inline script",
		in:      `<svg><script>` + inlineText + `</script></svg>`,
		want:    `<svg><script nonce="` + testNonce + `">` + inlineText + `</script></svg>`,
		scripts: []Script{{SHA384: inlineSRI, Listed: true, Nonce: true}},
	}, {
		name:    "svg href script never gets the nonce",
		in:      `<svg><script xlink:href="https://js.stripe.com/v3/"></script></svg>`,
		want:    `<svg><script xlink:href="https://js.stripe.com/v3/"></script></svg>`,
		scripts: []Script{{Src: stripeJS, Note: NoteHref}},
	}, {
		name:    "listed src with an href: pinned, no nonce",
		in:      `<script src="https://js.stripe.com/v3/" href="https://evil.example/x.js"></script>`,
		want:    `<script src="https://js.stripe.com/v3/" href="https://evil.example/x.js" integrity="` + stripeSRI + `" crossorigin="anonymous"></script>`,
		scripts: []Script{{Src: stripeJS, Listed: true, Note: NoteHref}},
	}, {
		name:    "listed src with text in the element: no nonce (an SVG script would run the text)",
		in:      `<svg><script src="https://js.stripe.com/v3/">evil()</script></svg>`,
		want:    `<svg><script src="https://js.stripe.com/v3/" integrity="` + stripeSRI + `" crossorigin="anonymous">evil()</script></svg>`,
		scripts: []Script{{Src: stripeJS, Listed: true, Note: NoteExternalText + sri([]byte("evil()"))}},
	}, {
		name:    "listed inline whose text is not inert markup: hash only",
		in:      `<script>` + markupText + `</script>`,
		want:    `<script>` + markupText + `</script>`,
		scripts: []Script{{SHA384: sri([]byte(markupText)), Listed: true, Note: NoteMarkup}},
	}, {
		name:    "comments hide scripts",
		in:      `<!-- <script src="https://js.stripe.com/v3/"></script> --><p>x</p>`,
		want:    `<!-- <script src="https://js.stripe.com/v3/"></script> --><p>x</p>`,
		scripts: nil,
	}, {
		name:    "end-tag fragments and comment openers inside script text",
		in:      `<script>var s="</scr"+"ipt>"; /* <!--<script> </script> --> */</script><script src="https://js.stripe.com/v3/"></script>`,
		want:    `<script>var s="</scr"+"ipt>"; /* <!--<script> </script> --> */</script><script src="https://js.stripe.com/v3/"` + pinned(stripeSRI) + `></script>`,
		scripts: []Script{{SHA384: sri([]byte(`var s="</scr"+"ipt>"; /* <!--<script> </script> --> */`))}, {Src: stripeJS, Listed: true, Nonce: true}},
	}, {
		name:    "unterminated script at the end",
		in:      `<p>x</p><script>alert(1)`,
		want:    `<p>x</p><script>alert(1)`,
		scripts: []Script{{SHA384: sri([]byte("alert(1)"))}},
	}, {
		name:    "tag cut off at the end",
		in:      `<p>x</p><script nonce=abc src="https://js.stripe.com/v3/"`,
		want:    `<p>x</p><script nonce=abc src="https://js.stripe.com/v3/"`,
		scripts: nil,
	}, {
		name:    "inline over the bound is not listed",
		in:      `<script>` + bigText + `</script>`,
		want:    `<script>` + bigText + `</script>`,
		scripts: []Script{{SHA384: sri([]byte(bigText)), Truncated: true}},
	}, {
		name:    "empty src",
		in:      `<script src=" ">alert(1)</script>`,
		want:    `<script src=" ">alert(1)</script>`,
		scripts: []Script{{Src: "(empty src)", Note: NoteExternalText + sri([]byte("alert(1)"))}},
	}, {
		name:    "empty body (HEAD)",
		in:      "",
		want:    "",
		scripts: nil,
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, res, err := rewrite(t, tc.in, 4<<20)
			if err != nil {
				t.Fatal(err)
			}
			if out != tc.want {
				t.Errorf("output\n got %.300q\nwant %.300q", out, tc.want)
			}
			if !equalScripts(res.Scripts, tc.scripts) {
				t.Errorf("scripts\n got %+v\nwant %+v", res.Scripts, tc.scripts)
			}
			if res.Bytes != int64(len(tc.in)) {
				t.Errorf("Bytes = %d, want %d", res.Bytes, len(tc.in))
			}
			if nonced := strings.Count(out, testNonce); nonced != res.Nonces {
				t.Errorf("%d nonces in the output, Result.Nonces = %d", nonced, res.Nonces)
			}
		})
	}
}

func equalScripts(a, b []Script) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestRewriteMetaCSP(t *testing.T) {
	out, res, err := rewrite(t, `<head><META HTTP-EQUIV=" Content-Security-Policy " content="script-src *"><meta http-equiv=refresh content=1></head>`, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.MetaCSP) != 1 || res.MetaCSP[0] != "script-src *" {
		t.Errorf("MetaCSP = %q", res.MetaCSP)
	}
	if !strings.HasPrefix(out, `<head><META HTTP-EQUIV=`) {
		t.Errorf("meta element rewritten: %q", out)
	}
}

// A page without script elements comes out byte for byte.
func TestRewriteUnchangedWithoutScripts(t *testing.T) {
	pages := []string{
		"<!DOCTYPE html>\r\n<html lang=en><head><meta charset=utf-8><title>Pay &amp; go</title>" +
			"<style>p{color:red}</style></head><body class=\"x\" data-a='1' data-b=2>\x00" +
			"<svg viewBox=\"0 0 1 1\"><path d=\"M0 0\"/></svg><!-- note --><!--> <!---> <? pi ?>" +
			"<form action=/pay method=post><input name=card autocomplete=cc-number></form>" +
			"<textarea><script>not a script</script></textarea>a < b && c > d</>&nbsp;<br/>" +
			"<noscript><p>enable js</p></noscript>\xff\xfe<p unterminated=\"",
		"plain text, no markup at all",
		"<div",
		"</",
		"<!--",
		"<!DOCTYPE",
		checkoutPage(),
	}
	for i, in := range pages {
		if i == len(pages)-1 {
			in = scriptless(in)
		}
		out, res, err := rewrite(t, in, 4<<20)
		if err != nil {
			t.Fatalf("page %d: %v", i, err)
		}
		if out != in {
			t.Errorf("page %d changed:\n got %.200q\nwant %.200q", i, out, in)
		}
		if len(res.Scripts) != 0 || res.Nonces != 0 {
			t.Errorf("page %d: scripts %+v", i, res.Scripts)
		}
	}
}

// scriptless is page without its script elements.
func scriptless(page string) string {
	for {
		i := strings.Index(page, "<script")
		if i < 0 {
			return page
		}
		j := strings.Index(page[i:], "</script>")
		page = page[:i] + page[i+j+len("</script>"):]
	}
}

func TestRewriteTooLarge(t *testing.T) {
	in := checkoutPage()
	out, res, err := rewrite(t, in, 1000)
	if !errors.Is(err, ErrPageTooLarge) {
		t.Fatalf("err = %v, want ErrPageTooLarge", err)
	}
	if len(out) == 0 || len(out) > 1000 || !strings.HasPrefix(in, out) {
		t.Errorf("wrote %d bytes, not a prefix of at most 1000 of the page", len(out))
	}
	if res.Bytes != 1000 {
		t.Errorf("Bytes = %d, want 1000", res.Bytes)
	}
	// A page of exactly the limit is fine.
	if _, _, err := rewrite(t, in, int64(len(in))); err != nil {
		t.Errorf("page of exactly the limit: %v", err)
	}
	if _, _, err := rewrite(t, in, 0); err == nil || errors.Is(err, ErrPageTooLarge) {
		t.Errorf("limit 0: err = %v, want a plain error", err)
	}
}

// A token over the tokenizer's bound stops the parse: the rest goes through as it is,
// hashed, and none of its scripts gets the nonce.
func TestRewriteUnparsed(t *testing.T) {
	huge := strings.Repeat("x", maxTokenBytes+10)
	rest := `</script><script src="https://js.stripe.com/v3/"></script><script>` + inlineText + `</script>`
	for _, tc := range []struct {
		name, in string
	}{
		{name: "inline script over the buffer", in: `<p>a</p><script>` + huge + rest},
		{name: "start tag over the buffer", in: `<p>a</p><div title="` + huge + `">` + rest},
		{name: "text over the buffer", in: `<p>` + huge + rest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, res, err := rewrite(t, tc.in, 4<<20)
			if err != nil {
				t.Fatal(err)
			}
			if out != tc.in {
				t.Errorf("output differs from the page (%d vs %d bytes)", len(out), len(tc.in))
			}
			if !res.Unparsed || !strings.HasPrefix(res.UnparsedSHA384, "sha384-") || res.Nonces != 0 {
				t.Errorf("Unparsed %v %q, Nonces %d", res.Unparsed, res.UnparsedSHA384, res.Nonces)
			}
		})
	}
}

func TestRewriteMoreScripts(t *testing.T) {
	page := strings.Repeat(`<script src="https://js.stripe.com/v3/"></script>`, MaxScripts+5)
	out, res, err := rewrite(t, page, 4<<20)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Scripts) != MaxScripts || res.MoreScripts != 5 || res.MoreSHA384 == "" {
		t.Errorf("%d scripts, %d more (%q)", len(res.Scripts), res.MoreScripts, res.MoreSHA384)
	}
	if n := strings.Count(out, testNonce); n != MaxScripts+5 || res.Nonces != n {
		t.Errorf("%d nonces written, Nonces %d", n, res.Nonces)
	}
}

type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.n += len(p); w.n > 100 {
		return 0, errors.New("client gone")
	}
	return len(p), nil
}

func TestRewriteWriteError(t *testing.T) {
	base, _ := url.Parse(testPageURL)
	_, err := Rewrite(&failWriter{}, strings.NewReader(checkoutPage()), NewInventory(testPage()), base, testNonce, 1<<20)
	if err == nil || err.Error() != "client gone" {
		t.Errorf("err = %v, want the writer's", err)
	}
}
