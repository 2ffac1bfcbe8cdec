package pages

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	xhtml "golang.org/x/net/html"

	"github.com/tokenwall/tokenwall/config"
)

// FuzzRewrite: Rewrite never panics; the nonce lands only on script elements of the
// inventory, and never anywhere when the inventory is empty; a page without a script
// element comes out unchanged.
func FuzzRewrite(f *testing.F) {
	for _, seed := range []string{
		`<script src="https://js.stripe.com/v3/"></script><script>` + inlineText + `</script>`,
		`<svg><script xlink:href="https://js.stripe.com/v3/"/><script>` + inlineText + `</script></svg>`,
		`<SCRIPT SRC=/static/app.js nonce=x integrity=y>` + inlineText + `</SCRIPT>`,
		`<script>a<!--<script>b</script>c</script><script src="//js.stripe.com/v3/">`,
		`<!-- <script> --><textarea><script src=https://js.stripe.com/v3/></textarea><script>` + markupText,
		`<meta http-equiv=content-security-policy content="script-src *"><p a='"'>x</p>`,
		"<script>boot();\r\n</script><script src=\"https://js.stripe.com/v3/\">\n</script>",
	} {
		f.Add(seed)
	}
	inv, base := NewInventory(testPage()), mustURL(testPageURL)
	empty := NewInventory(config.Page{})
	f.Fuzz(func(t *testing.T, page string) {
		nonce := NewNonce()
		var out bytes.Buffer
		res, err := Rewrite(&out, strings.NewReader(page), inv, base, nonce, 1<<20)
		if err != nil && !errors.Is(err, ErrPageTooLarge) {
			t.Fatal(err)
		}
		if n := strings.Count(out.String(), nonce); n != res.Nonces {
			t.Fatalf("%d nonces in the output, Nonces %d", n, res.Nonces)
		}
		if got := nonced(t, out.Bytes(), nonce, inv); got != res.Nonces {
			t.Fatalf("%d listed script elements carry the nonce, Nonces %d:\n%q", got, res.Nonces, out.String())
		}
		out.Reset()
		res, _ = Rewrite(&out, strings.NewReader(page), empty, base, nonce, 1<<20)
		if res.Nonces != 0 || bytes.Contains(out.Bytes(), []byte(nonce)) {
			t.Fatalf("nonce written with an empty inventory: %q", out.String())
		}
		if !strings.Contains(strings.ToLower(page), "nonce") && bytes.Contains(bytes.ToLower(out.Bytes()), []byte("nonce=")) {
			t.Fatalf("nonce= written with an empty inventory: %q", out.String())
		}
		if !strings.Contains(strings.ToLower(page), "<script") && out.String() != page {
			t.Fatalf("a page without scripts changed:\n%q\n%q", page, out.String())
		}
	})
}

// nonced counts the script elements of out that carry nonce, failing if one of them is not
// in inv or is one Rewrite must not trust.
func nonced(t *testing.T, out []byte, nonce string, inv *Inventory) int {
	z := xhtml.NewTokenizer(bytes.NewReader(out))
	z.SetMaxBuf(maxTokenBytes)
	count := 0
	for {
		tt := z.Next()
		if tt == xhtml.ErrorToken {
			return count
		}
		if tt != xhtml.StartTagToken && tt != xhtml.SelfClosingTagToken || !isTag(z.Raw(), "script") {
			continue
		}
		tok := z.Token()
		attrs := map[string]string{}
		for _, a := range tok.Attr {
			attrs[a.Key] = a.Val
		}
		if attrs["nonce"] != nonce {
			continue
		}
		count++
		var text []byte
		if z.Next() == xhtml.TextToken {
			text = z.Raw()
		}
		if _, ok := attrs["href"]; ok || attrs["xlink:href"] != "" {
			t.Fatalf("nonce on a script with an href: %v", attrs)
		}
		src, external := attrs["src"]
		switch {
		case external:
			want, ok := inv.External((&rewriter{base: mustURL(testPageURL)}).absolute([]byte(src)))
			if !ok || attrs["integrity"] != want || attrs["crossorigin"] != "anonymous" || !blank(text) {
				t.Fatalf("nonce on an external script not listed or not pinned: %v %q", attrs, text)
			}
		case len(text) > MaxInlineScript || !inv.Inline(textSRI(text)) || !endsCleanly(text):
			t.Fatalf("nonce on an inline script not listed: %q", text)
		}
	}
}

// The fuzz target's checks hold on the unit test's pages too.
func TestFuzzChecksOnPages(t *testing.T) {
	out, res, err := rewrite(t, checkoutPage(), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if got := nonced(t, []byte(out), testNonce, NewInventory(testPage())); got != res.Nonces || got != 3 {
		t.Errorf("%d nonced scripts, Nonces %d", got, res.Nonces)
	}
}
