package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"

	"github.com/tokenwall/tokenwall/config"
	"github.com/tokenwall/tokenwall/gateway"
)

// standInGateway answers at once, so the benchmark measures tokenwall's own cost.
type standInGateway struct{}

func (standInGateway) Tokenize(_ context.Context, c gateway.Card, _ string) (gateway.PaymentMethod, error) {
	return gateway.PaymentMethod{ID: "pm_1BenchStandIn", Brand: string(c.Brand), Last4: c.Number[len(c.Number)-4:],
		ExpMonth: c.ExpMonth, ExpYear: c.ExpYear, Fingerprint: "fpBench"}, nil
}

// checkoutForm is a typical checkout post (the card is Stripe's test Visa).
const checkoutForm = "order_id=1001&amount=19.99&currency=EUR&card_name=Ada+Lovelace&card_number=4242+4242+4242+4242&card_exp=12%2F34&card_cvc=123"

// cleanForm is the same post without card fields, for the pass-through baseline.
const cleanForm = "order_id=1001&amount=19.99&currency=EUR&card_name=Ada+Lovelace&payment_method=pm_1BenchStandIn&card_brand=visa"

func newUpstream(b *testing.B) *httptest.Server { return newUpstreamT(b) }

func newUpstreamT(b testing.TB) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusOK)
	}))
	b.Cleanup(srv.Close)
	return srv
}

// newTokenwall is tokenwall with the demo checkout route in front of upstreamURL, built by
// app.Build (newStack).
func newTokenwall(b testing.TB, upstreamURL string) http.Handler {
	h, _ := newStack(b, tokenwallOptions{upstream: upstreamURL, gateway: standInGateway{},
		routes: []config.Route{config.Route{Path: "/checkout/submit",
			Card: config.CardFields{Number: "card_number", Exp: "card_exp", CVC: "card_cvc", Name: "card_name"}}.WithDefaults()}})
	return h
}

// serve runs one request through h and checks it reached the upstream.
func serve(b *testing.B, h http.Handler, body string) {
	req := httptest.NewRequest(http.MethodPost, "https://tokenwall.test/checkout/submit", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.RemoteAddr = "127.0.0.1:50000"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b.Fatalf("status %d: %s", rec.Code, rec.Body.String())
	}
}

// BenchmarkCheckout measures tokenwall's cost per checkout post (parse, validate, tokenize
// against a stand-in gateway, rewrite, sign, log, forward) next to a bare ReverseProxy
// forwarding a post of the same size to the same upstream, and prints the ratio.
func BenchmarkCheckout(b *testing.B) {
	up := newUpstream(b)
	target, _ := url.Parse(up.URL)
	bare := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(target); pr.SetXForwarded() }}
	tw := newTokenwall(b, up.URL)

	perOp := map[string]float64{}
	run := func(name string, h http.Handler, body string) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				serve(b, h, body)
			}
			perOp[name] = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
		})
	}
	run("bare-reverse-proxy", bare, cleanForm)
	run("tokenwall-tokenize", tw, checkoutForm)
	if perOp["bare-reverse-proxy"] > 0 {
		fmt.Printf("BenchmarkCheckout: tokenwall %.0f ns/op, bare ReverseProxy %.0f ns/op, ratio %.2fx\n",
			perOp["tokenwall-tokenize"], perOp["bare-reverse-proxy"], perOp["tokenwall-tokenize"]/perOp["bare-reverse-proxy"])
	}
}
