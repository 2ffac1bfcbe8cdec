package pages

import (
	"fmt"
	"io"
	"net/url"
	"strings"
	"testing"
	"time"
)

// checkoutPage is a realistic checkout page of about 30 KiB with three scripts: Stripe.js
// and the shop's bundle (external, listed) and a boot script (inline, listed).
func checkoutPage() string {
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n" +
		"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>Checkout – Example Shop</title>\n" +
		"<link rel=\"stylesheet\" href=\"/static/shop.css\">\n<style>\n")
	for i := range 40 {
		fmt.Fprintf(&b, ".c%d{margin:%dpx;padding:0 %dpx;color:#%06x}\n", i, i%8, i%5, i*2654435%0xffffff)
	}
	b.WriteString("</style>\n<script src=\"https://js.stripe.com/v3/\"></script>\n</head>\n<body class=\"checkout\">\n" +
		"<header><a href=\"/\"><svg width=\"24\" height=\"24\" viewBox=\"0 0 24 24\"><path d=\"M12 2L2 7l10 5 10-5-10-5z\"/></svg>Example Shop</a></header>\n" +
		"<main>\n<h1>Your order</h1>\n<table class=\"cart\">\n")
	for i := range 60 {
		fmt.Fprintf(&b, "<tr class=\"item\" data-sku=\"SKU-%05d\"><td class=\"name\">Item number %d &mdash; blue, size %d</td>"+
			"<td class=\"qty\">%d</td><td class=\"price\">&euro;%d.%02d</td></tr>\n", i, i, 36+i%8, 1+i%3, 10+i, i%100)
	}
	b.WriteString("</table>\n<form id=\"payment-form\" action=\"/pay\" method=\"post\">\n")
	for i, f := range []string{"name", "email", "address", "city", "postcode", "country", "phone"} {
		fmt.Fprintf(&b, "<div class=\"field c%d\"><label for=\"%s\">%s</label><input id=\"%s\" name=\"%s\" autocomplete=\"%s\" required></div>\n",
			i, f, f, f, f, f)
	}
	b.WriteString("<div id=\"card-element\"><!-- Stripe Elements mounts here --></div>\n" +
		"<button type=\"submit\" class=\"pay\">Pay now</button>\n</form>\n</main>\n<footer>\n")
	for b.Len() < 29<<10 {
		fmt.Fprintf(&b, "<p class=\"legal\">Terms apply. Prices include VAT where applicable. Order reference %d. "+
			"<a href=\"/help?topic=%d\">Help</a></p>\n", b.Len(), b.Len()%97)
	}
	b.WriteString("</footer>\n<script src=\"/static/app.js\" defer></script>\n<script>" + inlineText + "</script>\n</body>\n</html>\n")
	return b.String()
}

// plainReader hides strings.Reader's WriteTo, so io.Copy goes through a buffer as it does
// for a response body.
type plainReader struct{ io.Reader }

func benchRewrite(page string, inv *Inventory, base *url.URL) {
	if _, err := Rewrite(io.Discard, plainReader{strings.NewReader(page)}, inv, base, testNonce, 4<<20); err != nil {
		panic(err)
	}
}

func benchCopy(page string) {
	if _, err := io.Copy(io.Discard, plainReader{strings.NewReader(page)}); err != nil {
		panic(err)
	}
}

func BenchmarkRewrite(b *testing.B) {
	page, inv, base := checkoutPage(), NewInventory(testPage()), mustURL(testPageURL)
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	for b.Loop() {
		benchRewrite(page, inv, base)
	}
}

func BenchmarkCopy(b *testing.B) {
	page := checkoutPage()
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	for b.Loop() {
		benchCopy(page)
	}
}

// BenchmarkRewriteVsCopy runs both, interleaved, and reports how many times longer a
// rewrite takes than a plain copy of the same page.
func BenchmarkRewriteVsCopy(b *testing.B) {
	page, inv, base := checkoutPage(), NewInventory(testPage()), mustURL(testPageURL)
	var rewriting, copying time.Duration
	for b.Loop() {
		t0 := time.Now()
		benchRewrite(page, inv, base)
		t1 := time.Now()
		benchCopy(page)
		rewriting += t1.Sub(t0)
		copying += time.Since(t1)
	}
	b.ReportMetric(float64(rewriting)/float64(max(copying, 1)), "rewrite_vs_copy")
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func TestCheckoutPage(t *testing.T) {
	page := checkoutPage()
	if len(page) < 28<<10 || len(page) > 32<<10 {
		t.Errorf("page is %d bytes, want about 30 KiB", len(page))
	}
	out, res, err := rewrite(t, page, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Scripts) != 3 || res.Nonces != 3 {
		t.Fatalf("scripts %+v, nonces %d", res.Scripts, res.Nonces)
	}
	if scriptless(out) != scriptless(page) {
		t.Error("bytes outside the script elements changed")
	}
}
