package devstack_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	stripe "github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"

	"github.com/tokenwall/tokenwall/devstack"
)

// newStripeClient is a stripe-go client on base, configured as tokenwall's gateway is.
func newStripeClient(t *testing.T, base string) *client.API {
	cfg := &stripe.BackendConfig{
		URL:               stripe.String(base),
		HTTPClient:        newClient(t, 20*time.Second),
		MaxNetworkRetries: stripe.Int64(0),
		LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelNull},
		EnableTelemetry:   stripe.Bool(false),
	}
	return client.New(devstack.StripeMockKey, &stripe.Backends{
		API:     stripe.GetBackendWithConfig(stripe.APIBackend, cfg),
		Connect: stripe.GetBackendWithConfig(stripe.ConnectBackend, cfg),
		Uploads: stripe.GetBackendWithConfig(stripe.UploadsBackend, cfg),
	})
}

// testScenarioStripeGo drives the scenario with stripe-go, as tokenwall's gateway does, and
// checks that its answers and errors decode into stripe-go's types.
func testScenarioStripeGo(t *testing.T, mock *devstack.StripeMock) {
	_, api := freshScenario(t, mock, devstack.ScenarioOptions{})
	sc := newStripeClient(t, api.base)
	card := func(t *testing.T, number string) string {
		t.Helper()
		pm, err := sc.PaymentMethods.New(&stripe.PaymentMethodParams{
			Type: stripe.String("card"),
			Card: &stripe.PaymentMethodCardParams{Number: stripe.String(number), ExpMonth: stripe.Int64(12), ExpYear: stripe.Int64(2030), CVC: stripe.String("123")},
		})
		if err != nil {
			t.Fatalf("PaymentMethods.New: %v", err)
		}
		return pm.ID
	}
	pay := func(pm string, mod func(*stripe.PaymentIntentParams)) (*stripe.PaymentIntent, error) {
		p := &stripe.PaymentIntentParams{
			Amount: stripe.Int64(4200), Currency: stripe.String("eur"), PaymentMethod: stripe.String(pm),
			PaymentMethodTypes: []*string{stripe.String("card")}, Confirm: stripe.Bool(true),
			Expand: []*string{stripe.String("latest_charge"), stripe.String("payment_method")},
		}
		if mod != nil {
			mod(p)
		}
		return sc.PaymentIntents.New(p)
	}

	t.Run("succeeded with expansions", func(t *testing.T) {
		pi, err := pay(card(t, cardPlain), nil)
		if err != nil || pi.Status != stripe.PaymentIntentStatusSucceeded || pi.AmountReceived != 4200 {
			t.Fatalf("%v %+v", err, pi)
		}
		if pi.PaymentMethod == nil || pi.PaymentMethod.Card == nil || pi.PaymentMethod.Card.Last4 != "4242" ||
			pi.LatestCharge == nil || !pi.LatestCharge.Captured || pi.LatestCharge.PaymentIntent.ID != pi.ID {
			t.Errorf("expansions: %+v %+v", pi.PaymentMethod, pi.LatestCharge)
		}
	})
	t.Run("manual capture", func(t *testing.T) {
		pi, err := pay(card(t, cardPlain), func(p *stripe.PaymentIntentParams) { p.CaptureMethod = stripe.String("manual") })
		if err != nil || pi.Status != stripe.PaymentIntentStatusRequiresCapture || pi.AmountCapturable != 4200 {
			t.Fatalf("%v %+v", err, pi)
		}
		pi, err = sc.PaymentIntents.Capture(pi.ID, &stripe.PaymentIntentCaptureParams{})
		if err != nil || pi.Status != stripe.PaymentIntentStatusSucceeded {
			t.Errorf("capture: %v %+v", err, pi)
		}
	})
	t.Run("decline", func(t *testing.T) {
		_, err := pay(card(t, cardInsufficient), nil)
		var se *stripe.Error
		if !errors.As(err, &se) || se.Code != stripe.ErrorCodeCardDeclined || se.DeclineCode != stripe.DeclineCodeInsufficientFunds || se.HTTPStatusCode != 402 {
			t.Fatalf("error %v", err)
		}
		var ce *stripe.CardError
		if !errors.As(err, &ce) || se.PaymentIntent == nil || se.PaymentIntent.Status != stripe.PaymentIntentStatusRequiresPaymentMethod ||
			se.PaymentIntent.LastPaymentError == nil || se.PaymentIntent.LastPaymentError.Code != stripe.ErrorCodeCardDeclined {
			t.Errorf("card error %v, intent %+v", ce, se.PaymentIntent)
		}
	})
	t.Run("off-session authentication required", func(t *testing.T) {
		pm := card(t, cardAuthAlways)
		_, err := pay(pm, func(p *stripe.PaymentIntentParams) {
			p.OffSession = stripe.Bool(true)
			p.Customer = stripe.String("cus_123")
		})
		var se *stripe.Error
		if !errors.As(err, &se) || se.Code != stripe.ErrorCodeAuthenticationRequired || se.PaymentIntent == nil ||
			se.PaymentIntent.Status != stripe.PaymentIntentStatusRequiresPaymentMethod || se.PaymentMethod == nil || se.PaymentMethod.ID != pm {
			t.Fatalf("error %v", err)
		}
		// Back on-session, as Stripe recommends: confirm again with a return_url.
		pi, err := sc.PaymentIntents.Confirm(se.PaymentIntent.ID, &stripe.PaymentIntentConfirmParams{ReturnURL: stripe.String("https://shop.test/back")})
		if err != nil || pi.Status != stripe.PaymentIntentStatusRequiresAction || pi.NextAction == nil ||
			pi.NextAction.Type != stripe.PaymentIntentNextActionTypeRedirectToURL || !strings.Contains(pi.NextAction.RedirectToURL.URL, "/scenario/authenticate?") {
			t.Fatalf("confirm: %v %+v", err, pi)
		}
		api.challenge(pi.NextAction.RedirectToURL.URL, "approve")
		if pi, err = sc.PaymentIntents.Get(pi.ID, nil); err != nil || pi.Status != stripe.PaymentIntentStatusSucceeded {
			t.Errorf("after approval: %v %+v", err, pi)
		}
	})
	t.Run("use_stripe_sdk without return_url", func(t *testing.T) {
		pi, err := pay(card(t, cardAuthAlways), nil)
		if err != nil || pi.NextAction == nil || pi.NextAction.Type != stripe.PaymentIntentNextActionTypeUseStripeSDK {
			t.Fatalf("%v %+v", err, pi)
		}
		pi, err = sc.PaymentIntents.Cancel(pi.ID, &stripe.PaymentIntentCancelParams{})
		if err != nil || pi.Status != stripe.PaymentIntentStatusCanceled {
			t.Errorf("cancel: %v %+v", err, pi)
		}
	})
	t.Run("setup intent with mandate", func(t *testing.T) {
		si, err := sc.SetupIntents.New(&stripe.SetupIntentParams{
			Customer: stripe.String("cus_123"), PaymentMethod: stripe.String(card(t, cardPlain)), Confirm: stripe.Bool(true),
			Usage: stripe.String("off_session"), PaymentMethodTypes: []*string{stripe.String("card")},
			MandateData: &stripe.SetupIntentMandateDataParams{CustomerAcceptance: &stripe.SetupIntentMandateDataCustomerAcceptanceParams{
				Type:   stripe.MandateCustomerAcceptanceTypeOnline,
				Online: &stripe.SetupIntentMandateDataCustomerAcceptanceOnlineParams{IPAddress: stripe.String("192.0.2.1"), UserAgent: stripe.String("test")},
			}},
		})
		if err != nil || si.Status != stripe.SetupIntentStatusSucceeded || si.Mandate == nil || !strings.HasPrefix(si.Mandate.ID, "mandate_") {
			t.Errorf("%v %+v", err, si)
		}
	})
}
