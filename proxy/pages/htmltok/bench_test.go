package htmltok_test

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
)

// checkoutPage is a checkout page of about 30 KiB made of many short tags, as the
// rewriter sees them: sections, headings, paragraphs, links, a form and a few scripts.
func checkoutPage() string {
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n" +
		"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>Checkout – Example Shop</title>\n" +
		"<link rel=\"stylesheet\" href=\"/static/shop.css\">\n<style>\n")
	for i := range 30 {
		fmt.Fprintf(&b, ".c%d{margin:%dpx;padding:0 %dpx}\n", i, i%8, i%5)
	}
	b.WriteString("</style>\n<script src=\"https://js.stripe.com/v3/\" async></script>\n</head>\n<body class=\"checkout\">\n" +
		"<header><nav><a href=\"/\">Shop</a> <a href=\"/cart\">Cart</a></nav></header>\n<main>\n")
	for i := 0; b.Len() < 24<<10; i++ {
		fmt.Fprintf(&b, "<section class=\"item c%d\" data-sku=\"SKU-%05d\"><h2>Item %d</h2><p>Blue, size %d &mdash; "+
			"<span class=\"price\">&euro;%d.%02d</span> <a href=\"/items/%d?ref=cart&amp;q=1\">Details</a></p></section>\n",
			i%30, i, i, 36+i%8, 10+i, i%100, i)
	}
	b.WriteString("<form id=\"payment-form\" action=\"/pay\" method=\"post\">\n")
	for _, f := range []string{"name", "email", "address", "city", "postcode", "country"} {
		fmt.Fprintf(&b, "<div class=\"field\"><label for=\"%s\">%s</label><input id=\"%s\" name=\"%s\" required></div>\n", f, f, f, f)
	}
	b.WriteString("<div id=\"card-element\"><!-- Stripe Elements mounts here --></div>\n" +
		"<button type=\"submit\">Pay now</button>\n</form>\n</main>\n<footer>\n")
	for b.Len() < 29<<10 {
		fmt.Fprintf(&b, "<p class=\"legal\">Terms apply. <a href=\"/help?topic=%d\">Help</a></p>\n", b.Len()%97)
	}
	b.WriteString("</footer>\n<script src=\"/static/app.js\" defer></script>\n" +
		"<script>window.order = {id: \"1001\", amount: \"19.99\", items: [1, 2, 3]};\nif (window.order.amount < 20 && document.body) { console.log('ok'); }</script>\n" +
		"</body>\n</html>\n")
	return b.String()
}

// textPage is a page of about 30 KiB that is mostly text: long paragraphs, few tags.
func textPage() string {
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html><head><title>Terms</title></head><body>\n")
	for i := 0; b.Len() < 30<<10; i++ {
		fmt.Fprintf(&b, "<p>Section %d. ", i)
		for range 8 {
			b.WriteString("The customer agrees that payment is taken when the order is placed, that prices " +
				"include VAT where applicable, and that refunds follow the statutory rules. ")
		}
		b.WriteString("</p>\n")
	}
	b.WriteString("</body></html>\n")
	return b.String()
}

// plainReader hides strings.Reader's WriteTo, as a response body would.
type plainReader struct{ io.Reader }

// walk tokenizes page as the rewriter does: Raw for every token, TagAttr for scripts.
func walk(z tokenizer, page string) {
	z.SetMaxBuf(1 << 20)
	n := 0
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		raw := z.Raw()
		n += len(raw)
		if tt == html.StartTagToken && len(raw) > 7 && string(raw[:7]) == "<script" {
			for more := true; more; {
				_, _, more = z.TagAttr()
			}
		}
	}
	if z.Err() != io.EOF || n != len(page) {
		panic(fmt.Sprintf("walked %d of %d bytes: %v", n, len(page), z.Err()))
	}
}

var benchPages = []struct {
	name string
	page func() string
}{
	{name: "checkout", page: checkoutPage},
	{name: "text", page: textPage},
}

var benchTokenizers = []struct {
	name string
	new  func(io.Reader, string) tokenizer
}{
	{name: "xnet", new: newXNet},
	{name: "htmltok", new: newFork},
}

// BenchmarkTokenize reports each tokenizer's throughput and allocations per page.
func BenchmarkTokenize(b *testing.B) {
	for _, p := range benchPages {
		page := p.page()
		for _, tk := range benchTokenizers {
			b.Run(p.name+"/"+tk.name, func(b *testing.B) {
				b.SetBytes(int64(len(page)))
				b.ReportAllocs()
				for b.Loop() {
					walk(tk.new(plainReader{strings.NewReader(page)}, ""), page)
				}
			})
		}
	}
}

// BenchmarkSpeedup runs both tokenizers, interleaved, and reports how many times faster
// htmltok is than x/net on the same page.
func BenchmarkSpeedup(b *testing.B) {
	for _, p := range benchPages {
		page := p.page()
		b.Run(p.name, func(b *testing.B) {
			var xnet, fork time.Duration
			for b.Loop() {
				t0 := time.Now()
				walk(newXNet(plainReader{strings.NewReader(page)}, ""), page)
				t1 := time.Now()
				walk(newFork(plainReader{strings.NewReader(page)}, ""), page)
				xnet += t1.Sub(t0)
				fork += time.Since(t1)
			}
			b.ReportMetric(float64(xnet)/float64(max(fork, 1)), "speedup")
		})
	}
}

func TestBenchPages(t *testing.T) {
	for _, p := range benchPages {
		page := p.page()
		if len(page) < 28<<10 || len(page) > 32<<10 {
			t.Errorf("%s page is %d bytes, want about 30 KiB", p.name, len(page))
		}
		for _, tk := range benchTokenizers {
			walk(tk.new(plainReader{strings.NewReader(page)}, ""), page)
		}
		if diff := same([]byte(page), options{maxBuf: 1 << 20}); diff != "" {
			t.Errorf("%s page: %s", p.name, diff)
		}
	}
}

// BenchmarkManyAttrs reports the cost per attribute of one start tag with k of them, the
// names all of one length so that every comparison of two names runs to their end: it
// stays flat as k grows if finding repeated names is linear.
func BenchmarkManyAttrs(b *testing.B) {
	for _, k := range []int{8, 64, 4096} {
		var sb strings.Builder
		sb.WriteString("<div")
		for i := range k {
			fmt.Fprintf(&sb, " data-n%06d=%d", i, i)
		}
		sb.WriteString(">")
		page := sb.String()
		for _, tk := range benchTokenizers {
			b.Run(fmt.Sprintf("%d/%s", k, tk.name), func(b *testing.B) {
				b.SetBytes(int64(len(page)))
				b.ReportAllocs()
				for b.Loop() {
					walk(tk.new(plainReader{strings.NewReader(page)}, ""), page)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*k), "ns/attr")
			})
		}
	}
}
