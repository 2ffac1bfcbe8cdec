package stripe_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/tokenwall/tokenwall/gateway"
	gwstripe "github.com/tokenwall/tokenwall/gateway/stripe"
)

// intentSecret is the client secret in the canned intents: it may leave the gateway only
// inside a next action's redirect URL.
const intentSecret = "pi_3Auth0001_secret_CannedDoNotLeak"

// intentError is a Stripe error naming the PaymentIntent pi_3Auth0001, which Stripe sends
// whole, client secret included.
func intentError(typ, code, declineCode string) string {
	return fmt.Sprintf(`{"error":{"type":%q,"code":%q,"decline_code":%q,"message":%q,"payment_intent":`+
		`{"id":"pi_3Auth0001","object":"payment_intent","status":"requires_payment_method","amount":1000,"currency":"eur",`+
		`"client_secret":%q,"last_payment_error":{"type":%q,"code":%q}}}}`,
		typ, code, declineCode, leakyMessage, intentSecret, typ, code)
}

// TestStripeIntentsErrors checks canned Stripe refusals of the calls that may need the
// customer: the error names the payment and never carries its client secret.
func TestStripeIntentsErrors(t *testing.T) {
	f := newFront(t)
	g := f.gatewayAt(t, nil)
	offSession := createPayment(gateway.PaymentRequest{Amount: 1000, Currency: "eur", Token: "pm_card_visa", CustomerID: "cus_123", OffSession: true})
	confirm := func(ctx context.Context, g *gwstripe.Gateway, key string) error {
		_, err := g.ConfirmPayment(ctx, "pi_3Auth0001", gateway.ConfirmRequest{OffSession: true}, key)
		return err
	}
	cancel := func(ctx context.Context, g *gwstripe.Gateway, key string) error {
		_, err := g.CancelPayment(ctx, "pi_3Auth0001", key)
		return err
	}
	setup := func(ctx context.Context, g *gwstripe.Gateway, key string) error {
		_, err := g.CreateSetupIntent(ctx, gateway.SetupRequest{CustomerID: "cus_123", Token: "pm_card_visa"}, key)
		return err
	}
	getSetup := func(ctx context.Context, g *gwstripe.Gateway, _ string) error {
		_, err := g.GetSetupIntent(ctx, "seti_123")
		return err
	}
	cases := []struct {
		name     string
		answer   canned
		call     call
		wantKind error
		wantCode string
		wantID   string
	}{
		{name: "off-session payment needs authentication", answer: canned{402, intentError("card_error", "authentication_required", "authentication_required")},
			call: offSession, wantKind: gateway.ErrAuthenticationRequired, wantCode: gateway.CodeAuthenticationRequired, wantID: "pi_3Auth0001"},
		{name: "off-session confirmation needs authentication", answer: canned{402, intentError("card_error", "authentication_required", "")},
			call: confirm, wantKind: gateway.ErrAuthenticationRequired, wantCode: gateway.CodeAuthenticationRequired, wantID: "pi_3Auth0001"},
		{name: "decline names the payment", answer: canned{402, intentError("card_error", "card_declined", "insufficient_funds")},
			call: offSession, wantKind: gateway.ErrDeclined, wantCode: "insufficient_funds", wantID: "pi_3Auth0001"},
		{name: "hidden decline reason names the payment", answer: canned{402, intentError("card_error", "card_declined", "lost_card")},
			call: confirm, wantKind: gateway.ErrDeclined, wantCode: gateway.CodeCardDeclined, wantID: "pi_3Auth0001"},
		{name: "cancel of a succeeded payment", answer: canned{400, intentError("invalid_request_error", "payment_intent_unexpected_state", "")},
			call: cancel, wantKind: gateway.ErrRejected, wantCode: gateway.CodeInvalidRequest, wantID: "pi_3Auth0001"},
		{name: "setup declined", answer: canned{402, stripeError("card_error", "card_declined", "generic_decline")},
			call: setup, wantKind: gateway.ErrDeclined, wantCode: gateway.CodeCardDeclined},
		{name: "unknown setup", answer: canned{404, stripeError("invalid_request_error", "resource_missing", "")},
			call: getSetup, wantKind: gateway.ErrNotFound, wantCode: gateway.CodeNotFound},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := f.count()
			f.answer(tc.answer)
			err := tc.call(t.Context(), g, fmt.Sprintf("idem-intent-err-%d", i))
			if n := len(f.requests(before)); n != 1 {
				t.Errorf("%d requests, want 1", n)
			}
			checkErr(t, err, tc.wantKind, tc.wantCode, allKinds)
			var ge *gateway.Error
			if errors.As(err, &ge) && ge.PaymentID != tc.wantID {
				t.Errorf("PaymentID = %q, want %q", ge.PaymentID, tc.wantID)
			}
			for _, s := range []string{intentSecret, leakedKey, "No such thing"} {
				if err != nil && strings.Contains(err.Error(), s) {
					t.Errorf("error %q holds %q", err, s)
				}
			}
		})
	}
}

// TestStripeIntentsRequireAction decodes canned intents waiting for 3-D Secure, as Stripe
// sends them: the redirect is passed on whole, the client secret nowhere else.
func TestStripeIntentsRequireAction(t *testing.T) {
	f := newFront(t)
	g := f.gatewayAt(t, nil)
	redirect := "https://hooks.stripe.com/3d_secure_2/hosted?merchant=acct_1&payment_intent=pi_3Auth0001&payment_intent_client_secret=" + intentSecret
	const back = "https://billing.example.com/return?order=1001"
	next := fmt.Sprintf(`"next_action":{"type":"redirect_to_url","redirect_to_url":{"url":%q,"return_url":%q}}`, redirect, back)
	want := gateway.NextAction{Type: gateway.NextActionRedirect, RedirectURL: redirect, ReturnURL: back}

	f.answer(canned{200, `{"id":"pi_3Auth0001","object":"payment_intent","status":"requires_action","amount":1000,"currency":"eur",` +
		`"created":1900000000,"client_secret":"` + intentSecret + `","payment_method":"pm_card_visa",` + next + `}`})
	p, err := g.ConfirmPayment(t.Context(), "pi_3Auth0001", gateway.ConfirmRequest{ReturnURL: back}, "idem-action-pi")
	if err != nil {
		t.Fatalf("ConfirmPayment: %v", err)
	}
	if p.Status != gateway.StatusRequiresAction || p.NextAction == nil || *p.NextAction != want || p.PaymentMethodID != "pm_card_visa" {
		t.Errorf("payment %+v, next action %+v: want requires_action with %+v", p, p.NextAction, want)
	}
	p.NextAction = nil
	if s := fmt.Sprintf("%+v", p); strings.Contains(s, intentSecret) {
		t.Errorf("payment holds the client secret outside the redirect: %s", s)
	}

	f.answer(canned{200, `{"id":"seti_3Auth0001","object":"setup_intent","status":"requires_action","usage":"off_session",` +
		`"created":1900000000,"customer":"cus_123","payment_method":"pm_card_visa","mandate":null,"client_secret":"seti_3Auth0001_secret_x",` + next + `}`})
	s, err := g.CreateSetupIntent(t.Context(), gateway.SetupRequest{CustomerID: "cus_123", Token: "pm_card_visa", ReturnURL: back}, "idem-action-seti")
	if err != nil {
		t.Fatalf("CreateSetupIntent: %v", err)
	}
	if s.Status != gateway.SetupRequiresAction || s.NextAction == nil || *s.NextAction != want ||
		s.CustomerID != "cus_123" || s.PaymentMethodID != "pm_card_visa" || s.Usage != "off_session" || s.Created.IsZero() {
		t.Errorf("setup %+v, next action %+v: want requires_action with %+v", s, s.NextAction, want)
	}
}
