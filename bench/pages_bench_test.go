package bench

import (
	"context"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tokenwall/tokenwall/app"
	"github.com/tokenwall/tokenwall/config"
)

// checkoutPage is a realistic payment page of about 30 KiB: a head with a stylesheet and
// three scripts (two external, one inline), a form, and the text of a shop.
func checkoutPage(lib string) string {
	var b strings.Builder
	b.WriteString(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Checkout</title>
<link rel="stylesheet" href="/checkout.css">
<script src="` + lib + `" defer></script>
<script src="/static/app.js" defer></script>
<script>window.order = {id: "1001", amount: "19.99"};</script>
</head><body><main><h1>Checkout</h1>
<form method="post" action="/checkout/submit"><input name="card_number" autocomplete="cc-number"><button id="pay">Pay</button></form>
`)
	for b.Len() < 30<<10 {
		b.WriteString(`<section class="item"><h2>Annual plan</h2><p>Everything in the monthly plan, billed once a year, with priority support and the reporting add-on included.</p><a href="/plans/annual">Details</a></section>
`)
	}
	b.WriteString("</main></body></html>\n")
	return b.String()
}

// BenchmarkPaymentPage serves the same 30 KiB page through tokenwall as a payment page
// (policy, nonce, SRI, streamed rewrite, fingerprint queued) and as a plain passthrough, and
// a third time through a tokenwall without any payment page: the rewriter's throughput is
// printed as a ratio of the passthrough's (the target is at least 0.8), and the plain
// passthrough's as a ratio of the tokenwall without pages (non-payment pages pay nothing).
func BenchmarkPaymentPage(b *testing.B) {
	withPages, page, upURL := paymentPageStack(b)
	without, _ := newStack(b, tokenwallOptions{upstream: upURL, routes: benchRoutes()})

	perOp := map[string]float64{}
	run := func(name string, h http.Handler, path string) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(page)))
			for b.Loop() {
				req := httptest.NewRequest(http.MethodGet, "https://tokenwall.test"+path, nil)
				req.RemoteAddr = "127.0.0.1:50000"
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK || rec.Body.Len() < len(page) {
					b.Fatalf("GET %s: %d, %d bytes", path, rec.Code, rec.Body.Len())
				}
			}
			perOp[name] = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
		})
	}
	for range 2 { // interleaved, so that a noisy moment hits both
		run("no-pages-configured", without, "/pay")
		run("passthrough", withPages, "/plain")
		run("payment-page", withPages, "/pay")
	}
	if perOp["payment-page"] > 0 && perOp["passthrough"] > 0 {
		fmt.Printf("BenchmarkPaymentPage: payment page %.0f ns/op, passthrough %.0f ns/op: rewriter keeps %.2f of passthrough throughput (target >= 0.80); "+
			"passthrough beside pages vs no pages configured: %.2f\n", perOp["payment-page"], perOp["passthrough"],
			perOp["passthrough"]/perOp["payment-page"], perOp["no-pages-configured"]/perOp["passthrough"])
	}
}

// benchRoutes is the demo checkout route.
func benchRoutes() []config.Route {
	return []config.Route{config.Route{Path: "/checkout/submit",
		Card: config.CardFields{Number: "card_number", Exp: "card_exp", CVC: "card_cvc", Name: "card_name"}}.WithDefaults()}
}

// sriOf is the Subresource Integrity value of s.
func sriOf(s string) string {
	sum := sha512.Sum384([]byte(s))
	return "sha384-" + base64.StdEncoding.EncodeToString(sum[:])
}

// BenchmarkPaymentPageOverTLS is BenchmarkPaymentPage as browsers get the page: over TLS
// (HTTP/1.1 keep-alive, the server's own listener) from 8 clients at once, so the figure
// includes what serving any page costs.
func BenchmarkPaymentPageOverTLS(b *testing.B) {
	h, page, _ := paymentPageStack(b)
	srv := httptest.NewUnstartedServer(h)
	srv.EnableHTTP2 = false
	srv.StartTLS()
	b.Cleanup(srv.Close)
	client := srv.Client()
	client.Transport.(*http.Transport).MaxIdleConnsPerHost = 16
	perOp := map[string]float64{}
	run := func(name, path string) {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(page)))
			b.SetParallelism(4) // 8 clients on 2 cores
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					resp, n, err := getAsTokenwall(client, srv.URL+path)
					if err != nil {
						b.Error(err)
						return
					}
					if resp.StatusCode != http.StatusOK || n < int64(len(page)) {
						b.Errorf("GET %s: %d, %d bytes", path, resp.StatusCode, n)
						return
					}
				}
			})
			perOp[name] = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
		})
	}
	for range 2 {
		run("passthrough", "/plain")
		run("payment-page", "/pay")
	}
	if perOp["payment-page"] > 0 && perOp["passthrough"] > 0 {
		fmt.Printf("BenchmarkPaymentPageOverTLS: payment page %.0f ns/op, passthrough %.0f ns/op: rewriter keeps %.2f of passthrough throughput (target >= 0.80)\n",
			perOp["payment-page"], perOp["passthrough"], perOp["passthrough"]/perOp["payment-page"])
	}
}

// paymentPageStack is tokenwall with /pay a payment page (its baseline recorded) in front of
// an app that serves checkoutPage on every path, the page's one external script served by a
// second origin; it returns the handler, the page and the app's URL.
func paymentPageStack(b *testing.B) (http.Handler, string, string) {
	libSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		_, _ = io.WriteString(w, "console.log('lib');\n")
	}))
	b.Cleanup(libSrv.Close)
	lib := libSrv.URL + "/lib.js"
	page := checkoutPage(lib)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Permissions-Policy", "payment=(self)")
		_, _ = io.WriteString(w, page)
	}))
	b.Cleanup(up.Close)
	pg := config.Page{Path: "/pay", Scripts: []config.PageScript{
		{Src: lib, SHA384: sriOf("console.log('lib');\n"), Justification: "bench", AuthorisedBy: "bench"},
		{SHA384: sriOf(`window.order = {id: "1001", amount: "19.99"};`), Justification: "bench", AuthorisedBy: "bench"},
	}}.WithDefaults()
	var tw *app.App
	h, _ := newStack(b, tokenwallOptions{upstream: up.URL, routes: benchRoutes(), pages: []config.Page{pg}, app: &tw})
	if _, _, err := tw.Pages().Baseline(context.Background(), "/pay", "admin:bench", "bench", false); err != nil {
		b.Fatal(err)
	}
	return h, page, up.URL
}
