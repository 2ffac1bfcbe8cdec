package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/tokenwall/tokenwall/config"
	"github.com/tokenwall/tokenwall/gateway"
)

// standInPayments answers every payments call at once, so the benchmark measures
// tokenwall's own cost per API request.
type standInPayments struct{ standInGateway }

var benchPayment = gateway.Payment{ID: "pi_3BenchStandIn0001", Status: gateway.StatusSucceeded, Amount: 2000, AmountCaptured: 2000,
	Currency: "usd", PaymentMethodID: "pm_1BenchStandIn", Brand: "visa", Last4: "4242", Created: time.Unix(1795000000, 0)}

func (standInPayments) CreatePayment(context.Context, gateway.PaymentRequest, string) (gateway.Payment, error) {
	return benchPayment, nil
}
func (standInPayments) CapturePayment(context.Context, string, int64, string) (gateway.Payment, error) {
	return benchPayment, nil
}
func (standInPayments) GetPayment(context.Context, string) (gateway.Payment, error) {
	return benchPayment, nil
}
func (standInPayments) CreateRefund(context.Context, gateway.RefundRequest, string) (gateway.Refund, error) {
	return gateway.Refund{ID: "re_1Bench", PaymentID: benchPayment.ID, Amount: 500, Currency: "usd", Status: gateway.RefundSucceeded}, nil
}
func (standInPayments) CreateCustomer(context.Context, gateway.CustomerRequest, string) (gateway.Customer, error) {
	return gateway.Customer{ID: "cus_Bench0001", Created: time.Unix(1795000000, 0)}, nil
}
func (standInPayments) AttachPaymentMethod(context.Context, string, string, string) (gateway.PaymentMethod, error) {
	return gateway.PaymentMethod{ID: "pm_1BenchStandIn", Brand: "visa", Last4: "4242"}, nil
}
func (standInPayments) ListPaymentMethods(context.Context, string) ([]gateway.PaymentMethod, error) {
	return nil, nil
}
func (standInPayments) DetachPaymentMethod(context.Context, string, string) error { return nil }
func (standInPayments) DeleteCustomer(context.Context, string, string) error      { return nil }
func (standInPayments) ConfirmPayment(context.Context, string, gateway.ConfirmRequest, string) (gateway.Payment, error) {
	return benchPayment, nil
}
func (standInPayments) CancelPayment(context.Context, string, string) (gateway.Payment, error) {
	p := benchPayment
	p.Status, p.AmountCaptured = gateway.StatusCanceled, 0
	return p, nil
}

var benchSetup = gateway.SetupIntent{ID: "seti_1BenchStandIn0001", Status: gateway.SetupSucceeded, CustomerID: "cus_Bench0001",
	PaymentMethodID: "pm_1BenchStandIn", Usage: "off_session", Created: time.Unix(1795000000, 0)}

func (standInPayments) CreateSetupIntent(context.Context, gateway.SetupRequest, string) (gateway.SetupIntent, error) {
	return benchSetup, nil
}
func (standInPayments) ConfirmSetupIntent(context.Context, string, string, string) (gateway.SetupIntent, error) {
	return benchSetup, nil
}
func (standInPayments) GetSetupIntent(context.Context, string) (gateway.SetupIntent, error) {
	return benchSetup, nil
}
func (standInPayments) CancelSetupIntent(context.Context, string, string) (gateway.SetupIntent, error) {
	s := benchSetup
	s.Status = gateway.SetupCanceled
	return s, nil
}

// newAPI is a tokenwall with /v1 (built by app.Build, newStack) on a fresh SQLite store and a
// real trail, and the whole API key it accepts (every scope).
func newAPI(b *testing.B) (http.Handler, string) {
	return newStack(b, tokenwallOptions{upstream: "http://127.0.0.1:9", gateway: standInPayments{},
		routes: []config.Route{config.Route{Path: "/checkout/submit", Card: config.CardFields{Number: "card_number", Exp: "card_exp", CVC: "card_cvc"}}.WithDefaults()}, api: true})
}

// do runs one request through h and checks the status.
func do(b *testing.B, h http.Handler, method, path, key, idem, body string, want int) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, "https://tokenwall.test"+path, rd)
	req.RemoteAddr = "127.0.0.1:50000"
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if idem != "" {
		req.Header.Set("Idempotency-Key", idem)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != want {
		b.Fatalf("%s %s: status %d: %s", method, path, rec.Code, rec.Body.String())
	}
}

// BenchmarkAPI measures authenticated /v1 requests against an in-process gateway stand-in:
// a read (authenticate, rate-limit, audit, answer) and a create (the same plus the
// idempotency check and the stored response), next to a bare Echo handler answering the same
// JSON in the same run, and prints requests per second and the ratios.
func BenchmarkAPI(b *testing.B) {
	ns := map[string]float64{}
	b.Run("bare-echo", func(b *testing.B) {
		e := echo.New()
		e.GET("/v1/payments/:id", func(c echo.Context) error { return c.JSON(http.StatusOK, benchPayment) })
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			do(b, e, http.MethodGet, "/v1/payments/pi_3BenchStandIn0001", "", "", "", http.StatusOK)
		}
		ns["bare"] = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	b.Run("get-payment", func(b *testing.B) {
		h, key := newAPI(b)
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			do(b, h, http.MethodGet, "/v1/payments/pi_3BenchStandIn0001", key, "", "", http.StatusOK)
		}
		ns["get"] = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	b.Run("create-payment", func(b *testing.B) {
		h, key := newAPI(b)
		body := `{"amount":2000,"currency":"usd","token":"pm_1BenchStandIn","description":"Order 1042"}`
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			do(b, h, http.MethodPost, "/v1/payments", key, "bench-"+strconv.Itoa(i), body, http.StatusCreated)
		}
		ns["create"] = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	// 16 clients at once: the audit records (and stored responses) of concurrent requests
	// share their commits.
	b.Run("create-payment-parallel-16", func(b *testing.B) {
		h, key := newAPI(b)
		body := `{"amount":2000,"currency":"usd","token":"pm_1BenchStandIn","description":"Order 1042"}`
		var n atomic.Int64
		b.SetParallelism(8) // 8 × GOMAXPROCS(2) goroutines
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				do(b, h, http.MethodPost, "/v1/payments", key, "bench-p-"+strconv.FormatInt(n.Add(1), 10), body, http.StatusCreated)
			}
		})
		ns["create-par"] = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	if ns["bare"] > 0 && ns["get"] > 0 && ns["create"] > 0 && ns["create-par"] > 0 {
		fmt.Printf("BenchmarkAPI: bare Echo %.0f req/s; GET /v1/payments/{id} %.0f req/s (%.1fx the bare cost); POST /v1/payments %.0f req/s (%.1fx), with 16 clients %.0f req/s\n",
			1e9/ns["bare"], 1e9/ns["get"], ns["get"]/ns["bare"], 1e9/ns["create"], ns["create"]/ns["bare"], 1e9/ns["create-par"])
	}
}
