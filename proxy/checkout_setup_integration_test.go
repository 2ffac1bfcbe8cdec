package proxy_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/config"
)

// TestCheckoutRouteSavesTheCardWithASetupIntent: a tokenization route with setup_intent
// saves the card for the customer the form names: the app gets the setup's id and status,
// and when the bank wants the customer, the redirect to its challenge, in the signed body;
// after the challenge the setup reads succeeded. A form without a valid customer gets an
// error code and no token; a card that needs no authentication is saved at once.
func TestCheckoutRouteSavesTheCardWithASetupIntent(t *testing.T) {
	routes := append(testRoutes(), config.Route{Path: "/subscribe/submit", Body: "form",
		Card:  config.CardFields{Number: "card_number", Exp: "card_exp", CVC: "card_cvc", Name: "card_name"},
		Setup: config.RouteSetup{Enabled: true, CustomerField: "customer", ReturnURL: returnURL}}.WithDefaults())
	fp := newGatewayFaultProxy(t)
	x := &threeDS{harness: newHarness(t, options{api: true, stripeURL: fp.URL(), returnURLOrigins: []string{shopOrigin}, routes: routes}), fp: fp}
	t.Cleanup(func() { _ = x.stop() })
	status, c, text := x.call(http.MethodPost, "/v1/customers", `{"name":"Ada Lovelace"}`)
	cus, _ := c["id"].(string)
	if status != http.StatusCreated || cus == "" {
		t.Fatalf("customer: %d %s", status, text)
	}
	submit := func(card, customer string) url.Values {
		t.Helper()
		before := len(x.up.requests())
		resp, body := x.post("/subscribe/submit", formCT, formBody("plan", "monthly", "customer", customer,
			"card_name", "Ada Lovelace", "card_number", card, "card_exp", "12/34", "card_cvc", "123"))
		reqs := x.up.requests()
		if resp.StatusCode != http.StatusOK || len(reqs) != before+1 {
			t.Fatalf("subscribe: %d %q", resp.StatusCode, body)
		}
		r := reqs[len(reqs)-1]
		if r.SignatureV2Err != nil {
			t.Fatalf("the forwarded body is not signed: %v", r.SignatureV2Err)
		}
		form, err := url.ParseQuery(string(r.Body))
		if err != nil {
			t.Fatal(err)
		}
		if form.Get("card_number") != "" || form.Get("card_cvc") != "" || strings.Contains(string(r.Body), card) {
			t.Fatalf("the card reached the app: %v", form)
		}
		return form
	}

	form := submit(cardAuthAlways, cus)
	seti, redirect := form.Get("setup_intent"), form.Get("setup_redirect")
	if !strings.HasPrefix(seti, "seti_") || form.Get("setup_status") != "requires_action" || !strings.HasPrefix(form.Get("payment_method"), "pm_") ||
		!strings.HasPrefix(redirect, sharedStripe.URL+"/scenario/authenticate?") || form.Get("plan") != "monthly" {
		t.Fatalf("the app got %v", form)
	}
	x.decide(redirect, true)
	if status, si, text := x.call(http.MethodGet, "/v1/setup-intents/"+seti, ""); status != http.StatusOK || si["status"] != "succeeded" {
		t.Fatalf("the setup after the challenge: %d %s", status, text)
	}

	form = submit(cardPlain, cus)
	if form.Get("setup_status") != "succeeded" || form.Get("setup_redirect") != "" {
		t.Errorf("a card without authentication: %v", form)
	}
	form = submit(cardPlain, "not-a-customer")
	if form.Get("card_error") != "invalid_customer" || form.Get("payment_method") != "" || form.Get("setup_intent") != "" {
		t.Errorf("a form without a valid customer: %v", form)
	}
	var setups int
	for _, r := range x.events(audit.EventSetup) {
		if r.Actor == "checkout" {
			setups++
		}
	}
	if setups != 2 {
		t.Errorf("%d setup records by the checkout; want 2", setups)
	}
}
