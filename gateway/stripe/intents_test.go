package stripe_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/gateway"
	gwstripe "github.com/tokenwall/tokenwall/gateway/stripe"
)

// mandate is a full set of e-mandate options; mandateParams is what it must become under
// payment_method_options[card][mandate_options].
var (
	mandateStart = time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	mandateEnd   = time.Date(2032, 1, 1, 0, 0, 0, 0, time.UTC)
	mandate      = gateway.MandateOptions{
		Reference: "sub-42", Description: "Plan 42", AmountType: "maximum", Amount: 150000, Currency: "INR",
		Interval: "month", IntervalCount: 1, StartDate: mandateStart, EndDate: mandateEnd, SupportedTypes: []string{"india"},
	}
	mandateParams = map[string]string{
		"[reference]": "sub-42", "[description]": "Plan 42", "[amount_type]": "maximum", "[amount]": "150000",
		"[interval]": "month", "[interval_count]": "1", "[supported_types][0]": "india",
		"[start_date]": strconv.FormatInt(mandateStart.Unix(), 10), "[end_date]": strconv.FormatInt(mandateEnd.Unix(), 10),
	}
)

const (
	returnURL    = "https://billing.example.com/return?order=1001"
	mandateParam = "payment_method_options[card][mandate_options]"
)

// withMandate adds mandateParams (and the currency, when given) to params.
func withMandate(params map[string]string, currency string) map[string]string {
	for k, v := range mandateParams {
		params[mandateParam+k] = v
	}
	if currency != "" {
		params[mandateParam+"[currency]"] = currency
	}
	return params
}

// TestStripeIntents calls the methods of payments that need the customer and of setups
// through the recording server against stripe-mock, and checks what was sent and that the
// answer is converted. Statuses are not asserted: they are stripe-mock's fixtures.
func TestStripeIntents(t *testing.T) {
	f := newFront(t)
	g := f.gatewayAt(t, nil)
	expand := map[string]string{"expand[0]": "latest_charge", "expand[1]": "payment_method"}
	runShapes(t, f, "idem-intent", []shapeCase{
		{
			name: "create payment with return url and mandate",
			call: func(t *testing.T, ctx context.Context, key string) {
				p, err := g.CreatePayment(ctx, gateway.PaymentRequest{
					Amount: 150000, Currency: "inr", Token: "pm_card_visa", CustomerID: "cus_123",
					ReturnURL: returnURL, Mandate: &mandate,
				}, key)
				if err != nil {
					t.Fatalf("CreatePayment: %v", err)
				}
				checkPayment(t, p, gateway.Payment{Amount: 150000, Currency: "inr", CustomerID: "cus_123"})
			},
			method: http.MethodPost, path: "/v1/payment_intents", keyed: true,
			params: withMandate(map[string]string{
				"amount": "150000", "currency": "inr", "payment_method": "pm_card_visa", "confirm": "true",
				"payment_method_types[0]": "card", "return_url": returnURL,
			}, ""),
			// A PaymentIntent's mandate takes the payment's currency; Stripe has no parameter for it.
			absent: []string{"off_session", "setup_future_usage", mandateParam + "[currency]",
				"payment_method_options[card][setup_future_usage]", "mandate_data[customer_acceptance][type]"},
		},
		{
			name: "create off-session payment under a mandate",
			call: func(t *testing.T, ctx context.Context, key string) {
				// Stripe requires reference, amount type, amount, interval and start date.
				m := gateway.MandateOptions{Reference: "sub-42", AmountType: "fixed", Amount: 999, Interval: "sporadic", StartDate: mandateStart}
				if _, err := g.CreatePayment(ctx, gateway.PaymentRequest{
					Amount: 999, Currency: "inr", Token: "pm_card_visa", CustomerID: "cus_123", OffSession: true, Mandate: &m,
				}, key); err != nil {
					t.Fatalf("CreatePayment: %v", err)
				}
			},
			method: http.MethodPost, path: "/v1/payment_intents", keyed: true,
			params: map[string]string{
				"off_session": "true", "confirm": "true", mandateParam + "[reference]": "sub-42",
				mandateParam + "[amount_type]": "fixed", mandateParam + "[amount]": "999", mandateParam + "[interval]": "sporadic",
				mandateParam + "[start_date]": strconv.FormatInt(mandateStart.Unix(), 10),
			},
			absent: []string{"return_url", "setup_future_usage", mandateParam + "[interval_count]",
				mandateParam + "[end_date]", mandateParam + "[description]", mandateParam + "[supported_types][0]"},
		},
		{
			name: "confirm payment on-session with return url and another card",
			call: func(t *testing.T, ctx context.Context, key string) {
				p, err := g.ConfirmPayment(ctx, "pi_123", gateway.ConfirmRequest{ReturnURL: returnURL, Token: "pm_card_mastercard"}, key)
				if err != nil {
					t.Fatalf("ConfirmPayment: %v", err)
				}
				checkIntentPayment(t, p, "pi_123")
			},
			method: http.MethodPost, path: "/v1/payment_intents/pi_123/confirm", keyed: true,
			params: merge(expand, map[string]string{"return_url": returnURL, "payment_method": "pm_card_mastercard"}),
			absent: []string{"off_session"},
		},
		{
			name: "confirm payment off-session",
			call: func(t *testing.T, ctx context.Context, key string) {
				p, err := g.ConfirmPayment(ctx, "pi_123", gateway.ConfirmRequest{OffSession: true}, key)
				if err != nil {
					t.Fatalf("ConfirmPayment: %v", err)
				}
				checkIntentPayment(t, p, "pi_123")
			},
			method: http.MethodPost, path: "/v1/payment_intents/pi_123/confirm", keyed: true,
			params: merge(expand, map[string]string{"off_session": "true"}),
			absent: []string{"return_url", "payment_method"},
		},
		{
			name: "cancel payment",
			call: func(t *testing.T, ctx context.Context, key string) {
				p, err := g.CancelPayment(ctx, "pi_123", key)
				if err != nil {
					t.Fatalf("CancelPayment: %v", err)
				}
				checkIntentPayment(t, p, "pi_123")
			},
			method: http.MethodPost, path: "/v1/payment_intents/pi_123/cancel", keyed: true,
			params: expand, absent: []string{"cancellation_reason"},
		},
		{
			name: "create setup with return url, mandate and metadata",
			call: func(t *testing.T, ctx context.Context, key string) {
				s, err := g.CreateSetupIntent(ctx, gateway.SetupRequest{
					CustomerID: "cus_123", Token: "pm_card_visa", ReturnURL: returnURL, Mandate: &mandate,
					Metadata: map[string]string{"account": "42"},
				}, key)
				if err != nil {
					t.Fatalf("CreateSetupIntent: %v", err)
				}
				checkSetup(t, s, "")
			},
			method: http.MethodPost, path: "/v1/setup_intents", keyed: true,
			params: withMandate(map[string]string{
				"confirm": "true", "customer": "cus_123", "payment_method": "pm_card_visa", "usage": "off_session",
				"payment_method_types[0]": "card", "return_url": returnURL, "metadata[account]": "42",
			}, "inr"),
			absent: []string{"mandate_data[customer_acceptance][type]", "single_use[amount]"},
		},
		{
			name: "create on-session setup",
			call: func(t *testing.T, ctx context.Context, key string) {
				s, err := g.CreateSetupIntent(ctx, gateway.SetupRequest{CustomerID: "cus_123", Token: "pm_card_visa", Usage: "on_session"}, key)
				if err != nil {
					t.Fatalf("CreateSetupIntent: %v", err)
				}
				checkSetup(t, s, "")
			},
			method: http.MethodPost, path: "/v1/setup_intents", keyed: true,
			params: map[string]string{"confirm": "true", "usage": "on_session", "payment_method_types[0]": "card"},
			absent: []string{"return_url", mandateParam + "[reference]", "metadata[account]"},
		},
		{
			name: "confirm setup with return url",
			call: func(t *testing.T, ctx context.Context, key string) {
				s, err := g.ConfirmSetupIntent(ctx, "seti_123", returnURL, key)
				if err != nil {
					t.Fatalf("ConfirmSetupIntent: %v", err)
				}
				checkSetup(t, s, "seti_123")
			},
			method: http.MethodPost, path: "/v1/setup_intents/seti_123/confirm", keyed: true,
			params: map[string]string{"return_url": returnURL},
		},
		{
			name: "confirm setup without return url",
			call: func(t *testing.T, ctx context.Context, key string) {
				if _, err := g.ConfirmSetupIntent(ctx, "seti_123", "", key); err != nil {
					t.Fatalf("ConfirmSetupIntent: %v", err)
				}
			},
			method: http.MethodPost, path: "/v1/setup_intents/seti_123/confirm", keyed: true,
			absent: []string{"return_url"},
		},
		{
			name: "get setup",
			call: func(t *testing.T, ctx context.Context, _ string) {
				s, err := g.GetSetupIntent(ctx, "seti_123")
				if err != nil {
					t.Fatalf("GetSetupIntent: %v", err)
				}
				checkSetup(t, s, "seti_123")
			},
			method: http.MethodGet, path: "/v1/setup_intents/seti_123",
		},
		{
			name: "cancel setup",
			call: func(t *testing.T, ctx context.Context, key string) {
				s, err := g.CancelSetupIntent(ctx, "seti_123", key)
				if err != nil {
					t.Fatalf("CancelSetupIntent: %v", err)
				}
				checkSetup(t, s, "seti_123")
			},
			method: http.MethodPost, path: "/v1/setup_intents/seti_123/cancel", keyed: true,
			absent: []string{"cancellation_reason"},
		},
	})
}

// merge returns a new map with the entries of a and b.
func merge(a, b map[string]string) map[string]string {
	out := make(map[string]string, len(a)+len(b))
	for _, m := range []map[string]string{a, b} {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// checkIntentPayment checks the fields of a payment that every state has.
func checkIntentPayment(t *testing.T, p gateway.Payment, id string) {
	t.Helper()
	if p.ID != id || p.Status == "" || p.Amount <= 0 || p.Currency == "" || p.Created.IsZero() {
		t.Errorf("payment %+v: want id %s, a status, an amount, a currency and a creation time", p, id)
	}
}

// checkSetup checks the fields every setup answer fills, and the id when id is set.
func checkSetup(t *testing.T, s gateway.SetupIntent, id string) {
	t.Helper()
	if !strings.HasPrefix(s.ID, "seti_") || s.Status == "" || s.Created.IsZero() {
		t.Errorf("setup %+v: want a seti_… id, a status and a creation time", s)
	}
	if id != "" && s.ID != id {
		t.Errorf("ID = %q, want %q", s.ID, id)
	}
}

// TestStripeIntentsRefusedLocally checks what the new calls refuse without asking Stripe.
func TestStripeIntentsRefusedLocally(t *testing.T) {
	f := newFront(t)
	g := f.gatewayAt(t, nil)
	payment := func(mod func(*gateway.PaymentRequest)) call {
		p := gateway.PaymentRequest{Amount: 5, Currency: "inr", Token: "pm_card_visa"}
		mod(&p)
		return createPayment(p)
	}
	confirm := func(id string, c gateway.ConfirmRequest) call {
		return func(ctx context.Context, g *gwstripe.Gateway, key string) error {
			_, err := g.ConfirmPayment(ctx, id, c, key)
			return err
		}
	}
	setup := func(mod func(*gateway.SetupRequest)) call {
		r := gateway.SetupRequest{CustomerID: "cus_123", Token: "pm_card_visa"}
		mod(&r)
		return func(ctx context.Context, g *gwstripe.Gateway, key string) error {
			_, err := g.CreateSetupIntent(ctx, r, key)
			return err
		}
	}
	confirmSetup := func(id, returnURL string) call {
		return func(ctx context.Context, g *gwstripe.Gateway, key string) error {
			_, err := g.ConfirmSetupIntent(ctx, id, returnURL, key)
			return err
		}
	}
	negative := mandate
	negative.Amount = -1
	backwards := mandate
	backwards.StartDate, backwards.EndDate = mandateEnd, mandateStart
	runRefused(t, f, g, []refusedCase{
		{name: "payment with a relative return url", call: payment(func(p *gateway.PaymentRequest) { p.ReturnURL = "/return" })},
		{name: "payment with a javascript return url", call: payment(func(p *gateway.PaymentRequest) { p.ReturnURL = "javascript:alert(1)" })},
		{name: "payment with a mandate in another currency", call: payment(func(p *gateway.PaymentRequest) {
			m := mandate
			m.Currency = "usd"
			p.Mandate = &m
		})},
		{name: "payment with a negative mandate amount", call: payment(func(p *gateway.PaymentRequest) { p.Mandate = &negative })},
		{name: "confirm with a path as id", call: confirm(badID, gateway.ConfirmRequest{})},
		{name: "confirm without id", call: confirm("", gateway.ConfirmRequest{})},
		{name: "confirm with a path as token", call: confirm("pi_123", gateway.ConfirmRequest{Token: badID})},
		{name: "confirm with a return url without host", call: confirm("pi_123", gateway.ConfirmRequest{ReturnURL: "https:///x"})},
		{name: "cancel with a path as id", call: func(ctx context.Context, g *gwstripe.Gateway, key string) error {
			_, err := g.CancelPayment(ctx, badID, key)
			return err
		}},
		{name: "setup without customer", call: setup(func(r *gateway.SetupRequest) { r.CustomerID = "" })},
		{name: "setup with a path as customer", call: setup(func(r *gateway.SetupRequest) { r.CustomerID = badID })},
		{name: "setup without token", call: setup(func(r *gateway.SetupRequest) { r.Token = "" })},
		{name: "setup with unknown usage", call: setup(func(r *gateway.SetupRequest) { r.Usage = "sometimes" })},
		{name: "setup with a return url with credentials", call: setup(func(r *gateway.SetupRequest) { r.ReturnURL = "https://u:p@billing.example.com/" })},
		{name: "setup with a mandate ending before it starts", call: setup(func(r *gateway.SetupRequest) { r.Mandate = &backwards })},
		{name: "confirm setup with a path as id", call: confirmSetup(badID, "")},
		{name: "confirm setup with a bad return url", call: confirmSetup("seti_123", "ftp://billing.example.com/")},
		{name: "get setup without id", call: func(ctx context.Context, g *gwstripe.Gateway, _ string) error {
			_, err := g.GetSetupIntent(ctx, "")
			return err
		}},
		{name: "get setup with a path as id", call: func(ctx context.Context, g *gwstripe.Gateway, _ string) error {
			_, err := g.GetSetupIntent(ctx, badID)
			return err
		}},
		{name: "cancel setup with a path as id", call: func(ctx context.Context, g *gwstripe.Gateway, key string) error {
			_, err := g.CancelSetupIntent(ctx, badID, key)
			return err
		}},
		{name: "confirm without idempotency key", call: confirm("pi_123", gateway.ConfirmRequest{}), key: " "},
		{name: "cancel without idempotency key", call: func(ctx context.Context, g *gwstripe.Gateway, key string) error {
			_, err := g.CancelPayment(ctx, "pi_123", key)
			return err
		}, key: " "},
		{name: "setup without idempotency key", call: setup(func(*gateway.SetupRequest) {}), key: " "},
		{name: "confirm setup without idempotency key", call: confirmSetup("seti_123", ""), key: " "},
		{name: "cancel setup with an overlong idempotency key", call: func(ctx context.Context, g *gwstripe.Gateway, key string) error {
			_, err := g.CancelSetupIntent(ctx, "seti_123", key)
			return err
		}, key: strings.Repeat("k", 256)},
	})
}
