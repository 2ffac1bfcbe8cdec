package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/tokenwall/tokenwall/gateway"
	"github.com/tokenwall/tokenwall/proxy"
)

// redirect is a next action as the gateway gives it: the URL's query carries the client
// secret.
const redirect = "https://hooks.stripe.com/3d_secure_2/hosted?merchant=acct_1&payment_intent=pi_3Ds1&payment_intent_client_secret=pi_3Ds1_secret_Zx9&publishable_key=pk_test_1"

// TestPaymentAnswers: 201 (200 when confirmed again) only for a payment the customer is done
// with, 202 while it waits; next_action is passed on unchanged while it requires_action, and
// the client secret is never a field of its own.
func TestPaymentAnswers(t *testing.T) {
	next := &gateway.NextAction{Type: gateway.NextActionRedirect, RedirectURL: redirect, ReturnURL: "https://shop.example.com/back?order=7"}
	for _, tc := range []struct {
		name             string
		p                gateway.Payment
		created, again   int
		nextAction, code string
	}{
		{name: "succeeded", p: gateway.Payment{Status: gateway.StatusSucceeded}, created: 201, again: 200},
		{name: "processing", p: gateway.Payment{Status: gateway.StatusProcessing}, created: 201, again: 200},
		{name: "requires capture", p: gateway.Payment{Status: gateway.StatusRequiresCapture}, created: 201, again: 200},
		{name: "requires action", p: gateway.Payment{Status: gateway.StatusRequiresAction, NextAction: next}, created: 202, again: 202,
			nextAction: redirect},
		{name: "requires action without a redirect", p: gateway.Payment{Status: gateway.StatusRequiresAction,
			NextAction: &gateway.NextAction{Type: "use_stripe_sdk"}}, created: 202, again: 202},
		{name: "requires payment method", p: gateway.Payment{Status: gateway.StatusRequiresPaymentMethod,
			LastErrorCode: gateway.CodeAuthenticationFailed}, created: 202, again: 202, code: gateway.CodeAuthenticationFailed},
		{name: "a stale next action is not shown once final", p: gateway.Payment{Status: gateway.StatusSucceeded, NextAction: next},
			created: 201, again: 200},
		{name: "a code of another shape is not shown", p: gateway.Payment{Status: gateway.StatusRequiresPaymentMethod,
			LastErrorCode: "Your card <b>was</b> declined"}, created: 202, again: 202},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.p.ID, tc.p.Created = "pi_3Ds1", time.Unix(1700000000, 0)
			if got := paymentStatus(tc.p, http.StatusCreated); got != tc.created {
				t.Errorf("created: %d, want %d", got, tc.created)
			}
			if got := paymentStatus(tc.p, http.StatusOK); got != tc.again {
				t.Errorf("confirmed again: %d, want %d", got, tc.again)
			}
			b, err := json.Marshal(paymentView(tc.p))
			if err != nil {
				t.Fatal(err)
			}
			var out struct {
				NextAction *struct {
					Type          string `json:"type"`
					RedirectToURL *struct {
						URL       string `json:"url"`
						ReturnURL string `json:"return_url"`
					} `json:"redirect_to_url"`
				} `json:"next_action"`
				LastErrorCode string `json:"last_error_code"`
			}
			if err := json.Unmarshal(b, &out); err != nil {
				t.Fatal(err)
			}
			gotURL := ""
			if out.NextAction != nil && out.NextAction.RedirectToURL != nil {
				gotURL = out.NextAction.RedirectToURL.URL
				if out.NextAction.Type != gateway.NextActionRedirect || out.NextAction.RedirectToURL.ReturnURL != next.ReturnURL {
					t.Errorf("next_action %s", b)
				}
			}
			if gotURL != tc.nextAction {
				t.Errorf("redirect url %q, want %q", gotURL, tc.nextAction)
			}
			if tc.p.Status == gateway.StatusRequiresAction && out.NextAction == nil {
				t.Errorf("requires_action without next_action: %s", b)
			}
			if strings.Contains(string(b), "client_secret\"") {
				t.Errorf("a client_secret field: %s", b)
			}
			if out.LastErrorCode != tc.code {
				t.Errorf("last_error_code %q, want %q", out.LastErrorCode, tc.code)
			}
		})
	}
}

// TestSetupAnswers: a setup is done (201, 200 again) once succeeded or processing, 202 while
// it waits for the customer, with its next action.
func TestSetupAnswers(t *testing.T) {
	next := &gateway.NextAction{Type: gateway.NextActionRedirect, RedirectURL: redirect, ReturnURL: "https://shop.example.com/back"}
	for _, tc := range []struct {
		name           string
		s              gateway.SetupIntent
		created, again int
		next           bool
	}{
		{name: "succeeded", s: gateway.SetupIntent{Status: gateway.SetupSucceeded}, created: 201, again: 200},
		{name: "processing", s: gateway.SetupIntent{Status: gateway.SetupProcessing}, created: 201, again: 200},
		{name: "requires action", s: gateway.SetupIntent{Status: gateway.SetupRequiresAction, NextAction: next}, created: 202, again: 202, next: true},
		{name: "requires payment method", s: gateway.SetupIntent{Status: gateway.SetupRequiresPaymentMethod}, created: 202, again: 202},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := setupStatus(tc.s, http.StatusCreated); got != tc.created {
				t.Errorf("created: %d, want %d", got, tc.created)
			}
			if got := setupStatus(tc.s, http.StatusOK); got != tc.again {
				t.Errorf("confirmed again: %d, want %d", got, tc.again)
			}
			v := setupView(tc.s)
			if (v.NextAction != nil) != tc.next || v.Object != "setup_intent" {
				t.Errorf("view %+v", v)
			}
			if tc.next && v.NextAction.RedirectToURL.URL != redirect {
				t.Errorf("redirect %q changed", v.NextAction.RedirectToURL.URL)
			}
		})
	}
}

// TestMandateOptions: a mandate's Unix-second dates become times (0: not set); no mandate is
// nil.
func TestMandateOptions(t *testing.T) {
	var none *mandateIn
	if none.options() != nil {
		t.Error("no mandate gave options")
	}
	m := (&mandateIn{Reference: "ref-1", AmountType: "maximum", Amount: 5000, Currency: "inr", Interval: "month", IntervalCount: 1,
		StartDate: 1767225600, SupportedTypes: []string{"india"}}).options()
	if m.Reference != "ref-1" || m.AmountType != "maximum" || m.Amount != 5000 || m.Interval != "month" || m.IntervalCount != 1 ||
		!m.StartDate.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) || !m.EndDate.IsZero() || len(m.SupportedTypes) != 1 {
		t.Errorf("options %+v", m)
	}
}

// TestDecodeOptionalJSON: an empty body or {} is fine, an unknown field is refused.
func TestDecodeOptionalJSON(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       error
	}{
		{name: "empty", body: ""},
		{name: "blank", body: " \n"},
		{name: "empty object", body: "{}"},
		{name: "unknown field", body: `{"reason":"fraud"}`, want: proxy.ErrUnknownField},
		{name: "not an object", body: `[1]`, want: proxy.ErrMalformedJSON},
		{name: "two objects", body: `{}{}`, want: proxy.ErrMalformedJSON},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := echo.New().NewContext(httptest.NewRequest(http.MethodPost, "/v1/payments/pi_1/cancel", strings.NewReader(tc.body)), httptest.NewRecorder())
			err := decodeOptionalJSON(c, &struct{}{})
			if (tc.want == nil) != (err == nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Errorf("err %v, want %v", err, tc.want)
			}
		})
	}
}
