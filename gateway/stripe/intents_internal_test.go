package stripe

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	stripego "github.com/stripe/stripe-go/v76"

	"github.com/tokenwall/tokenwall/gateway"
)

// clientSecret is the client secret of the test intents: only the redirect URL, which Stripe
// builds with it, may carry it out of the gateway.
const clientSecret = "pi_3Auth0001_secret_DoNotLeak0001"

// TestPaymentOfNextAction converts PaymentIntents in the states that need the customer.
func TestPaymentOfNextAction(t *testing.T) {
	redirect := "https://hooks.stripe.com/3d_secure_2/hosted?merchant=acct_1&payment_intent=pi_3Auth0001&payment_intent_client_secret=" + clientSecret
	cases := []struct {
		name     string
		pi       *stripego.PaymentIntent
		wantNext *gateway.NextAction
		wantCode string
	}{
		{
			name: "redirect to url",
			pi: &stripego.PaymentIntent{ID: "pi_3Auth0001", Status: stripego.PaymentIntentStatusRequiresAction, ClientSecret: clientSecret,
				NextAction: &stripego.PaymentIntentNextAction{
					Type:          stripego.PaymentIntentNextActionTypeRedirectToURL,
					RedirectToURL: &stripego.PaymentIntentNextActionRedirectToURL{URL: redirect, ReturnURL: "https://billing.example.com/return"},
				}},
			wantNext: &gateway.NextAction{Type: gateway.NextActionRedirect, RedirectURL: redirect, ReturnURL: "https://billing.example.com/return"},
		},
		{
			name: "use stripe sdk has no url to give",
			pi: &stripego.PaymentIntent{ID: "pi_3Auth0001", Status: stripego.PaymentIntentStatusRequiresAction, ClientSecret: clientSecret,
				NextAction: &stripego.PaymentIntentNextAction{
					Type:         stripego.PaymentIntentNextActionTypeUseStripeSDK,
					UseStripeSDK: &stripego.PaymentIntentNextActionUseStripeSDK{},
				}},
			wantNext: &gateway.NextAction{Type: "use_stripe_sdk"},
		},
		{
			name: "failed authentication",
			pi: &stripego.PaymentIntent{ID: "pi_3Auth0001", Status: stripego.PaymentIntentStatusRequiresPaymentMethod, ClientSecret: clientSecret,
				LastPaymentError: &stripego.Error{Type: stripego.ErrorTypeInvalidRequest, Code: gateway.CodeAuthenticationFailed}},
			wantCode: gateway.CodeAuthenticationFailed,
		},
		{
			name: "decline keeps the code, not a reason to hide",
			pi: &stripego.PaymentIntent{ID: "pi_3Auth0001", Status: stripego.PaymentIntentStatusRequiresPaymentMethod,
				LastPaymentError: &stripego.Error{Type: stripego.ErrorTypeCard, Code: stripego.ErrorCodeCardDeclined, DeclineCode: stripego.DeclineCodeStolenCard}},
			wantCode: gateway.CodeCardDeclined,
		},
		{
			name: "card error without a code",
			pi: &stripego.PaymentIntent{ID: "pi_3Auth0001", Status: stripego.PaymentIntentStatusRequiresPaymentMethod,
				LastPaymentError: &stripego.Error{Type: stripego.ErrorTypeCard}},
			wantCode: gateway.CodeCardDeclined,
		},
		{
			name: "succeeded",
			pi:   &stripego.PaymentIntent{ID: "pi_3Auth0001", Status: stripego.PaymentIntentStatusSucceeded, ClientSecret: clientSecret},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := paymentOf(tc.pi)
			if p.ID != tc.pi.ID || p.Status != gateway.PaymentStatus(tc.pi.Status) {
				t.Errorf("payment %s %s, want %s %s", p.ID, p.Status, tc.pi.ID, tc.pi.Status)
			}
			checkNextAction(t, p.NextAction, tc.wantNext)
			if p.LastErrorCode != tc.wantCode {
				t.Errorf("LastErrorCode = %q, want %q", p.LastErrorCode, tc.wantCode)
			}
			// The secret may leave only inside the redirect URL Stripe built with it.
			p.NextAction = nil
			if s := fmt.Sprintf("%+v", p); strings.Contains(s, clientSecret) {
				t.Errorf("payment holds the client secret outside the redirect url: %s", s)
			}
		})
	}
}

// TestSetupOf converts SetupIntents: every field, a redirect, a failed authentication.
func TestSetupOf(t *testing.T) {
	redirect := "https://hooks.stripe.com/3d_secure_2/hosted?setup_intent=seti_1&setup_intent_client_secret=seti_1_secret_x"
	created := time.Date(2030, 5, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		si   *stripego.SetupIntent
		want gateway.SetupIntent
	}{
		{
			name: "succeeded with a mandate",
			si: &stripego.SetupIntent{ID: "seti_1", Status: stripego.SetupIntentStatusSucceeded, Usage: stripego.SetupIntentUsageOffSession,
				Customer: &stripego.Customer{ID: "cus_1"}, PaymentMethod: &stripego.PaymentMethod{ID: "pm_1"},
				Mandate: &stripego.Mandate{ID: "mandate_1"}, Created: created.Unix(), ClientSecret: "seti_1_secret_x"},
			want: gateway.SetupIntent{ID: "seti_1", Status: gateway.SetupSucceeded, Usage: "off_session", CustomerID: "cus_1",
				PaymentMethodID: "pm_1", MandateID: "mandate_1", Created: created},
		},
		{
			name: "requires action",
			si: &stripego.SetupIntent{ID: "seti_1", Status: stripego.SetupIntentStatusRequiresAction, Usage: stripego.SetupIntentUsageOnSession,
				NextAction: &stripego.SetupIntentNextAction{Type: stripego.SetupIntentNextActionTypeRedirectToURL,
					RedirectToURL: &stripego.SetupIntentNextActionRedirectToURL{URL: redirect, ReturnURL: "https://billing.example.com/r"}}},
			want: gateway.SetupIntent{ID: "seti_1", Status: gateway.SetupRequiresAction, Usage: "on_session",
				NextAction: &gateway.NextAction{Type: gateway.NextActionRedirect, RedirectURL: redirect, ReturnURL: "https://billing.example.com/r"}},
		},
		{
			name: "failed authentication",
			si: &stripego.SetupIntent{ID: "seti_1", Status: stripego.SetupIntentStatusRequiresPaymentMethod,
				LastSetupError: &stripego.Error{Type: stripego.ErrorTypeInvalidRequest, Code: gateway.CodeSetupAuthenticationFailed}},
			want: gateway.SetupIntent{ID: "seti_1", Status: gateway.SetupRequiresPaymentMethod, LastErrorCode: gateway.CodeSetupAuthenticationFailed},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := setupOf(tc.si)
			checkNextAction(t, got.NextAction, tc.want.NextAction)
			got.NextAction, tc.want.NextAction = nil, nil
			if got != tc.want {
				t.Errorf("setup\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func checkNextAction(t *testing.T, got, want *gateway.NextAction) {
	t.Helper()
	switch {
	case got == nil && want == nil:
	case got == nil || want == nil:
		t.Errorf("NextAction = %+v, want %+v", got, want)
	case *got != *want:
		t.Errorf("NextAction = %+v, want %+v", *got, *want)
	}
}

// TestMapPaymentsErrorNamesThePayment maps Stripe errors that name a PaymentIntent: an
// off-session payment that needs the customer is ErrAuthenticationRequired with the payment's
// id, and only the id leaves; other errors keep their kind and gain the id.
func TestMapPaymentsErrorNamesThePayment(t *testing.T) {
	intent := &stripego.PaymentIntent{ID: "pi_3Auth0001", ClientSecret: clientSecret, Status: stripego.PaymentIntentStatusRequiresPaymentMethod}
	cases := []struct {
		name     string
		err      error
		wantKind error
		wantCode string
		wantID   string
	}{
		{
			name: "authentication required off-session",
			err: &stripego.Error{HTTPStatusCode: 402, Type: stripego.ErrorTypeCard, Code: stripego.ErrorCodeAuthenticationRequired,
				DeclineCode: "authentication_required", PaymentIntent: intent, Msg: "needs " + clientSecret},
			wantKind: gateway.ErrAuthenticationRequired, wantCode: gateway.CodeAuthenticationRequired, wantID: "pi_3Auth0001",
		},
		{
			name: "wrapped, and a decline whose reason is authentication",
			err: fmt.Errorf("confirm: %w", &stripego.Error{HTTPStatusCode: 402, Type: stripego.ErrorTypeCard, Code: stripego.ErrorCodeCardDeclined,
				DeclineCode: "authentication_required", PaymentIntent: intent}),
			wantKind: gateway.ErrAuthenticationRequired, wantCode: gateway.CodeAuthenticationRequired, wantID: "pi_3Auth0001",
		},
		{
			name: "decline names the payment",
			err: &stripego.Error{HTTPStatusCode: 402, Type: stripego.ErrorTypeCard, Code: stripego.ErrorCodeCardDeclined,
				DeclineCode: stripego.DeclineCodeInsufficientFunds, PaymentIntent: intent},
			wantKind: gateway.ErrDeclined, wantCode: "insufficient_funds", wantID: "pi_3Auth0001",
		},
		{
			name: "failed challenge",
			err: &stripego.Error{HTTPStatusCode: 400, Type: stripego.ErrorTypeInvalidRequest, Code: gateway.CodeAuthenticationFailed,
				PaymentIntent: intent},
			wantKind: gateway.ErrDeclined, wantCode: gateway.CodeAuthenticationFailed, wantID: "pi_3Auth0001",
		},
		{
			name: "unexpected state names the payment",
			err: &stripego.Error{HTTPStatusCode: 400, Type: stripego.ErrorTypeInvalidRequest, Code: stripego.ErrorCodePaymentIntentUnexpectedState,
				PaymentIntent: intent},
			wantKind: gateway.ErrRejected, wantCode: gateway.CodeInvalidRequest, wantID: "pi_3Auth0001",
		},
		{
			name:     "decline without an intent",
			err:      &stripego.Error{HTTPStatusCode: 402, Type: stripego.ErrorTypeCard, Code: stripego.ErrorCodeExpiredCard},
			wantKind: gateway.ErrDeclined, wantCode: "expired_card",
		},
		{
			name: "an intent id that is not one is dropped",
			err: &stripego.Error{HTTPStatusCode: 402, Type: stripego.ErrorTypeCard, Code: stripego.ErrorCodeAuthenticationRequired,
				PaymentIntent: &stripego.PaymentIntent{ID: "pi_1/../x"}},
			wantKind: gateway.ErrAuthenticationRequired, wantCode: gateway.CodeAuthenticationRequired,
		},
	}
	kinds := []error{gateway.ErrNotFound, gateway.ErrDeclined, gateway.ErrRejected, gateway.ErrUnavailable, gateway.ErrAuth, gateway.ErrAuthenticationRequired}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := mapPaymentsError(tc.err)
			var ge *gateway.Error
			if !errors.As(err, &ge) {
				t.Fatalf("error %v (%T) is not a *gateway.Error", err, err)
			}
			if ge.Code != tc.wantCode || ge.PaymentID != tc.wantID {
				t.Errorf("Code, PaymentID = %q, %q, want %q, %q", ge.Code, ge.PaymentID, tc.wantCode, tc.wantID)
			}
			for _, k := range kinds {
				if got := errors.Is(err, k); got != (k == tc.wantKind) {
					t.Errorf("errors.Is(err, %q) = %v, want %v", k, got, k == tc.wantKind)
				}
			}
			if strings.Contains(err.Error(), clientSecret) {
				t.Errorf("error %q holds the client secret", err)
			}
		})
	}
}
