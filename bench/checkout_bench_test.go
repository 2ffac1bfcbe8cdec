package bench

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/config"
	"github.com/tokenwall/tokenwall/gateway"
	"github.com/tokenwall/tokenwall/proxy"
	"github.com/tokenwall/tokenwall/vault"
)

// standInGateway answers at once, so the benchmark measures tokenwall's own cost.
type standInGateway struct{}

func (standInGateway) Tokenize(_ context.Context, c gateway.Card, _ string) (gateway.PaymentMethod, error) {
	return gateway.PaymentMethod{ID: "pm_1BenchStandIn", Brand: string(c.Brand), Last4: c.Number[len(c.Number)-4:],
		ExpMonth: c.ExpMonth, ExpYear: c.ExpYear, Fingerprint: "fpBench"}, nil
}

// fixedSecrets is an in-memory secret source; the real Vault cache is exercised by the
// integration tests.
type fixedSecrets map[string]vault.Secret

func (f fixedSecrets) Get(name string) (vault.Secret, error) { return f[name], nil }
func (f fixedSecrets) Fresh() bool                           { return true }

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

func newTokenwall(b testing.TB, upstreamURL string) http.Handler {
	cfg := config.Default()
	cfg.Upstream.URL = upstreamURL
	cfg.Routes = []config.Route{config.Route{Path: "/checkout/submit",
		Card: config.CardFields{Number: "card_number", Exp: "card_exp", CVC: "card_cvc", Name: "card_name"}}.WithDefaults()}
	srv, err := proxy.New(proxy.Deps{
		Config: cfg, Log: zerolog.New(io.Discard).Level(zerolog.InfoLevel),
		Secrets: fixedSecrets{
			vault.SecretStripeKey:  vault.NewSecret(vault.SecretStripeKey, []byte("sk_test_bench"), 1),
			vault.SecretSigningKey: vault.NewSecret(vault.SecretSigningKey, []byte("bench-signing-key-0123456789abcdef"), 1),
		},
		Gateway: standInGateway{}, Metrics: proxy.NewMetrics(nil), TLS: &tls.Config{},
		// A real trail on SQLite: the audit append is part of tokenwall's cost per checkout.
		Audit: auditTrail(b),
		Now:   time.Now,
	})
	if err != nil {
		b.Fatal(err)
	}
	return srv.Handler()
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

func auditTrail(b testing.TB) *audit.Trail {
	_, tr, _ := openSQLiteTrail(b)
	return tr
}
