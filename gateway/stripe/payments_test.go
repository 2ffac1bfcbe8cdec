package stripe_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/tokenwall/tokenwall/gateway"
)

// TestStripePayments calls every Payments method through a recording server against the real
// stripe-mock and checks what was sent (path, parameters, the idempotency key as
// Idempotency-Key) and that the answer is converted with its fields filled. stripe-mock is
// stateless: it echoes ids and parameters and fills the rest from fixtures.
func TestStripePayments(t *testing.T) {
	f := newFront(t)
	g := f.gatewayAt(t, nil)
	runShapes(t, f, "idem-shape", []shapeCase{
		{
			name: "create payment with manual capture",
			call: func(t *testing.T, ctx context.Context, key string) {
				p, err := g.CreatePayment(ctx, gateway.PaymentRequest{
					Amount: 1000, Currency: "EUR", Token: "pm_card_visa", CustomerID: "cus_123",
					Capture: gateway.CaptureManual, OffSession: true, Description: "order 1001",
					Metadata: map[string]string{"order": "1001"},
				}, key)
				if err != nil {
					t.Fatalf("CreatePayment: %v", err)
				}
				checkPayment(t, p, gateway.Payment{Amount: 1000, Currency: "eur", CustomerID: "cus_123", PaymentMethodID: "pm_card_visa", Description: "order 1001"})
			},
			method: http.MethodPost, path: "/v1/payment_intents", keyed: true,
			params: map[string]string{
				"amount": "1000", "currency": "eur", "payment_method": "pm_card_visa", "confirm": "true",
				"capture_method": "manual", "payment_method_types[0]": "card", "customer": "cus_123",
				"off_session": "true", "description": "order 1001", "metadata[order]": "1001",
				"expand[0]": "latest_charge", "expand[1]": "payment_method",
			},
			absent: []string{"setup_future_usage", "return_url"},
		},
		{
			name: "create payment with automatic capture",
			call: func(t *testing.T, ctx context.Context, key string) {
				p, err := g.CreatePayment(ctx, gateway.PaymentRequest{Amount: 250, Currency: "usd", Token: "pm_card_mastercard"}, key)
				if err != nil {
					t.Fatalf("CreatePayment: %v", err)
				}
				checkPayment(t, p, gateway.Payment{Amount: 250, Currency: "usd", PaymentMethodID: "pm_card_mastercard"})
			},
			method: http.MethodPost, path: "/v1/payment_intents", keyed: true,
			params: map[string]string{"amount": "250", "capture_method": "automatic", "confirm": "true", "payment_method_types[0]": "card"},
			absent: []string{"customer", "off_session", "description", "metadata[order]", "return_url", "setup_future_usage",
				"payment_method_options[card][mandate_options][reference]"},
		},
		{
			name: "capture in full",
			call: func(t *testing.T, ctx context.Context, key string) {
				p, err := g.CapturePayment(ctx, "pi_123", 0, key)
				if err != nil {
					t.Fatalf("CapturePayment: %v", err)
				}
				checkPayment(t, p, gateway.Payment{ID: "pi_123"})
			},
			method: http.MethodPost, path: "/v1/payment_intents/pi_123/capture", keyed: true,
			params: map[string]string{"expand[0]": "latest_charge", "expand[1]": "payment_method"},
			absent: []string{"amount_to_capture"},
		},
		{
			name: "capture in part",
			call: func(t *testing.T, ctx context.Context, key string) {
				p, err := g.CapturePayment(ctx, "pi_123", 500, key)
				if err != nil {
					t.Fatalf("CapturePayment: %v", err)
				}
				checkPayment(t, p, gateway.Payment{ID: "pi_123"})
			},
			method: http.MethodPost, path: "/v1/payment_intents/pi_123/capture", keyed: true,
			params: map[string]string{"amount_to_capture": "500"},
		},
		{
			name: "get payment",
			call: func(t *testing.T, ctx context.Context, _ string) {
				p, err := g.GetPayment(ctx, "pi_123")
				if err != nil {
					t.Fatalf("GetPayment: %v", err)
				}
				checkPayment(t, p, gateway.Payment{ID: "pi_123"})
				if !strings.HasPrefix(p.PaymentMethodID, "pm_") {
					t.Errorf("PaymentMethodID = %q, want the expanded pm_…", p.PaymentMethodID)
				}
			},
			method: http.MethodGet, path: "/v1/payment_intents/pi_123",
			params: map[string]string{"expand[0]": "latest_charge", "expand[1]": "payment_method"},
		},
		{
			name: "refund in full",
			call: func(t *testing.T, ctx context.Context, key string) {
				r, err := g.CreateRefund(ctx, gateway.RefundRequest{PaymentID: "pi_123"}, key)
				if err != nil {
					t.Fatalf("CreateRefund: %v", err)
				}
				checkRefund(t, r, 0)
			},
			method: http.MethodPost, path: "/v1/refunds", keyed: true,
			params: map[string]string{"payment_intent": "pi_123"},
			absent: []string{"amount"},
		},
		{
			name: "refund in part",
			call: func(t *testing.T, ctx context.Context, key string) {
				r, err := g.CreateRefund(ctx, gateway.RefundRequest{PaymentID: "pi_123", Amount: 300}, key)
				if err != nil {
					t.Fatalf("CreateRefund: %v", err)
				}
				checkRefund(t, r, 300)
			},
			method: http.MethodPost, path: "/v1/refunds", keyed: true,
			params: map[string]string{"payment_intent": "pi_123", "amount": "300"},
		},
		{
			name: "create customer",
			call: func(t *testing.T, ctx context.Context, key string) {
				c, err := g.CreateCustomer(ctx, gateway.CustomerRequest{
					Email: "jenny@example.com", Name: "Jenny Rosen", Description: "account 42",
					Metadata: map[string]string{"account": "42"},
				}, key)
				if err != nil {
					t.Fatalf("CreateCustomer: %v", err)
				}
				if !strings.HasPrefix(c.ID, "cus_") || c.Created.IsZero() {
					t.Errorf("customer = %+v, want a cus_… id and a creation time", c)
				}
			},
			method: http.MethodPost, path: "/v1/customers", keyed: true,
			params: map[string]string{"email": "jenny@example.com", "name": "Jenny Rosen", "description": "account 42", "metadata[account]": "42"},
		},
		{
			name: "attach payment method",
			call: func(t *testing.T, ctx context.Context, key string) {
				pm, err := g.AttachPaymentMethod(ctx, "cus_123", "pm_card_visa", key)
				if err != nil {
					t.Fatalf("AttachPaymentMethod: %v", err)
				}
				if pm.ID != "pm_card_visa" {
					t.Errorf("ID = %q, want the token attached", pm.ID)
				}
				checkCard(t, pm)
			},
			method: http.MethodPost, path: "/v1/payment_methods/pm_card_visa/attach", keyed: true,
			params: map[string]string{"customer": "cus_123"},
		},
		{
			name: "list payment methods",
			call: func(t *testing.T, ctx context.Context, _ string) {
				pms, err := g.ListPaymentMethods(ctx, "cus_123")
				if err != nil {
					t.Fatalf("ListPaymentMethods: %v", err)
				}
				if len(pms) == 0 {
					t.Fatal("no payment methods listed")
				}
				for _, pm := range pms {
					if !strings.HasPrefix(pm.ID, "pm_") {
						t.Errorf("ID = %q, want pm_…", pm.ID)
					}
					checkCard(t, pm)
				}
			},
			method: http.MethodGet, path: "/v1/payment_methods",
			params: map[string]string{"customer": "cus_123", "type": "card", "limit": "100"},
		},
		{
			name: "detach payment method",
			call: func(t *testing.T, ctx context.Context, key string) {
				if err := g.DetachPaymentMethod(ctx, "pm_card_visa", key); err != nil {
					t.Fatalf("DetachPaymentMethod: %v", err)
				}
			},
			method: http.MethodPost, path: "/v1/payment_methods/pm_card_visa/detach", keyed: true,
		},
		{
			name: "delete customer",
			call: func(t *testing.T, ctx context.Context, key string) {
				if err := g.DeleteCustomer(ctx, "cus_123", key); err != nil {
					t.Fatalf("DeleteCustomer: %v", err)
				}
			},
			method: http.MethodDelete, path: "/v1/customers/cus_123", keyed: true,
		},
	})
}

// shapeCase is one call of a shape test and what must reach stripe-mock for it.
type shapeCase struct {
	name         string
	call         func(t *testing.T, ctx context.Context, key string)
	method, path string
	params       map[string]string // parameters the request must carry
	absent       []string          // parameters it must not carry
	keyed        bool              // whether the idempotency key is sent
}

// runShapes runs each case as a subtest through f, with the idempotency key prefix-i, and
// checks the one request it must make.
func runShapes(t *testing.T, f *front, prefix string, cases []shapeCase) {
	t.Helper()
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			key := fmt.Sprintf("%s-%d", prefix, i)
			before := f.count()
			tc.call(t, t.Context(), key)
			reqs := f.requests(before)
			if len(reqs) != 1 {
				t.Fatalf("%d requests reached stripe-mock, want 1", len(reqs))
			}
			r := reqs[0]
			if r.Method != tc.method || r.Path != tc.path {
				t.Errorf("request %s %s, want %s %s", r.Method, r.Path, tc.method, tc.path)
			}
			wantKey := ""
			if tc.keyed {
				wantKey = key
			}
			if r.IdempotencyKey != wantKey {
				t.Errorf("Idempotency-Key = %q, want %q", r.IdempotencyKey, wantKey)
			}
			for name, want := range tc.params {
				if got := r.Params.Get(name); got != want {
					t.Errorf("parameter %s = %q, want %q", name, got, want)
				}
			}
			for _, name := range tc.absent {
				if r.Params.Has(name) {
					t.Errorf("parameter %s sent, want it left out", name)
				}
			}
		})
	}
}

// checkPayment checks the fields every payment answer fills and the fields of want that are
// set, which stripe-mock echoes from the request.
func checkPayment(t *testing.T, p, want gateway.Payment) {
	t.Helper()
	if !strings.HasPrefix(p.ID, "pi_") || p.Status == "" || p.Amount <= 0 || p.Currency == "" || p.Created.IsZero() {
		t.Errorf("payment %+v: want a pi_… id, a status, an amount, a currency and a creation time", p)
	}
	// stripe-mock inlines the latest charge, whose card details give brand and last four.
	if p.Brand == "" || len(p.Last4) != 4 {
		t.Errorf("card of the payment = %q %q, want a brand and four digits", p.Brand, p.Last4)
	}
	for _, c := range []struct {
		field     string
		got, want any
		set       bool
	}{
		{"ID", p.ID, want.ID, want.ID != ""},
		{"Amount", p.Amount, want.Amount, want.Amount != 0},
		{"Currency", p.Currency, want.Currency, want.Currency != ""},
		{"CustomerID", p.CustomerID, want.CustomerID, want.CustomerID != ""},
		{"PaymentMethodID", p.PaymentMethodID, want.PaymentMethodID, want.PaymentMethodID != ""},
		{"Description", p.Description, want.Description, want.Description != ""},
	} {
		if c.set && c.got != c.want {
			t.Errorf("%s = %v, want %v", c.field, c.got, c.want)
		}
	}
}

func checkRefund(t *testing.T, r gateway.Refund, amount int64) {
	t.Helper()
	if !strings.HasPrefix(r.ID, "re_") || r.PaymentID != "pi_123" || r.Amount <= 0 || r.Currency == "" || r.Status == "" {
		t.Errorf("refund %+v: want a re_… id, payment pi_123, an amount, a currency and a status", r)
	}
	if amount != 0 && r.Amount != amount {
		t.Errorf("Amount = %d, want %d", r.Amount, amount)
	}
}

func checkCard(t *testing.T, pm gateway.PaymentMethod) {
	t.Helper()
	if pm.Brand == "" || len(pm.Last4) != 4 || pm.ExpMonth < 1 || pm.ExpYear < 2000 || pm.Fingerprint == "" {
		t.Errorf("payment method %+v: want brand, last four, expiry and fingerprint", pm)
	}
}
