package devstack_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tokenwall/tokenwall/devstack"
)

// setupForm is a confirmed SetupIntent for pm with the extra parameters (name, value pairs).
func setupForm(pm string, extra ...string) url.Values {
	f := url.Values{"payment_method": {pm}, "confirm": {"true"}, "customer": {"cus_123"}, "payment_method_types[]": {"card"}}
	for i := 0; i+1 < len(extra); i += 2 {
		f.Set(extra[i], extra[i+1])
	}
	return f
}

// onlineMandate is mandate_data for a customer who accepted online.
var onlineMandate = []string{
	"mandate_data[customer_acceptance][type]", "online",
	"mandate_data[customer_acceptance][online][ip_address]", "192.0.2.1",
	"mandate_data[customer_acceptance][online][user_agent]", "test",
}

// testScenarioSetupIntents walks the SetupIntent state machine
// (https://docs.stripe.com/api/setup_intents).
func testScenarioSetupIntents(t *testing.T, mock *devstack.StripeMock) {
	_, api := freshScenario(t, mock, devstack.ScenarioOptions{})
	for _, tc := range []struct {
		name        string
		card        string
		extra       []string
		wantCode    int
		wantStatus  string
		wantErr     string
		wantMandate bool
	}{
		{name: "plain card with mandate data", card: cardPlain, extra: onlineMandate, wantCode: 200, wantStatus: "succeeded", wantMandate: true},
		{name: "plain card without mandate", card: cardPlain, wantCode: 200, wantStatus: "succeeded"},
		{name: "insufficient funds sets up", card: cardInsufficient, wantCode: 200, wantStatus: "succeeded"},
		{name: "3184 needs authentication", card: cardAuthAlways, extra: []string{"return_url", "https://shop.test/saved"}, wantCode: 200, wantStatus: "requires_action"},
		{name: "declined card", card: cardDeclined, wantCode: 402, wantStatus: "requires_payment_method", wantErr: "card_declined"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out := api.post("/v1/setup_intents", setupForm(api.card(tc.card), tc.extra...))
			if code != tc.wantCode {
				t.Fatalf("status %d, want %d: %v", code, tc.wantCode, out)
			}
			si := out
			if code == http.StatusPaymentRequired {
				si, _ = at(out, "error", "setup_intent").(map[string]any)
				if str(out, "error", "code") != tc.wantErr || str(si, "last_setup_error", "code") != tc.wantErr {
					t.Errorf("error %v", out["error"])
				}
			}
			id := str(si, "id")
			if !strings.HasPrefix(id, "seti_") || str(si, "status") != tc.wantStatus || str(si, "usage") != "off_session" ||
				!strings.HasPrefix(str(si, "client_secret"), id+"_secret_") || str(si, "customer") != "cus_123" {
				t.Fatalf("setup intent %q status %q usage %q customer %q", id, str(si, "status"), str(si, "usage"), str(si, "customer"))
			}
			if got := str(si, "mandate"); strings.HasPrefix(got, "mandate_") != tc.wantMandate {
				t.Errorf("mandate %q, want one: %v", got, tc.wantMandate)
			}
			if _, again := api.get("/v1/setup_intents/" + id); str(again, "status") != tc.wantStatus || str(again, "mandate") != str(si, "mandate") {
				t.Errorf("GET: %q mandate %q", str(again, "status"), str(again, "mandate"))
			}
		})
	}

	t.Run("card mandate options", func(t *testing.T) {
		code, si := api.post("/v1/setup_intents", setupForm(api.card(cardPlain),
			"payment_method_options[card][mandate_options][reference]", "ref-1",
			"payment_method_options[card][mandate_options][amount]", "5000",
			"payment_method_options[card][mandate_options][amount_type]", "maximum",
			"payment_method_options[card][mandate_options][currency]", "inr",
			"payment_method_options[card][mandate_options][interval]", "month",
			"payment_method_options[card][mandate_options][start_date]", "1900000000",
			"payment_method_options[card][mandate_options][supported_types][]", "india"))
		if code != 200 || str(si, "status") != "succeeded" || !strings.HasPrefix(str(si, "mandate"), "mandate_") {
			t.Errorf("%d status %q mandate %q %v", code, str(si, "status"), str(si, "mandate"), si["error"])
		}
	})
	for _, tc := range []struct{ decision, wantStatus, wantRedirect, wantErr string }{
		{decision: "approve", wantStatus: "succeeded", wantRedirect: "succeeded"},
		{decision: "deny", wantStatus: "requires_payment_method", wantRedirect: "failed", wantErr: "setup_intent_authentication_failure"},
	} {
		t.Run("challenge "+tc.decision, func(t *testing.T) {
			_, si := api.post("/v1/setup_intents", setupForm(api.card(cardAuthAlways), append([]string{"return_url", "https://shop.test/saved"}, onlineMandate...)...))
			id := str(si, "id")
			page := str(si, "next_action", "redirect_to_url", "url")
			if !strings.Contains(page, "/scenario/authenticate?") || !strings.Contains(page, "setup_intent="+id) {
				t.Fatalf("next_action %v", si["next_action"])
			}
			resp := api.challenge(page, tc.decision)
			loc, _ := url.Parse(resp.Header.Get("Location"))
			if resp.StatusCode != http.StatusSeeOther || loc == nil || loc.Query().Get("setup_intent") != id ||
				loc.Query().Get("setup_intent_client_secret") != str(si, "client_secret") || loc.Query().Get("redirect_status") != tc.wantRedirect {
				t.Fatalf("%s: %d to %v", tc.decision, resp.StatusCode, loc.Redacted())
			}
			_, got := api.get("/v1/setup_intents/" + id)
			if str(got, "status") != tc.wantStatus || str(got, "last_setup_error", "code") != tc.wantErr {
				t.Errorf("after %s: %q %v", tc.decision, str(got, "status"), got["last_setup_error"])
			}
			if (tc.decision == "approve") != strings.HasPrefix(str(got, "mandate"), "mandate_") {
				t.Errorf("mandate %q after %s", str(got, "mandate"), tc.decision)
			}
		})
	}
	t.Run("confirm and cancel", func(t *testing.T) {
		_, si := api.post("/v1/setup_intents", url.Values{"payment_method": {api.card(cardPlain)}})
		if str(si, "status") != "requires_confirmation" {
			t.Fatalf("status %q", str(si, "status"))
		}
		if _, si = api.post("/v1/setup_intents/"+str(si, "id")+"/confirm", url.Values{}); str(si, "status") != "succeeded" {
			t.Errorf("confirmed: %q", str(si, "status"))
		}
		if code, out := api.post("/v1/setup_intents/"+str(si, "id")+"/cancel", url.Values{}); code != 400 || str(out, "error", "code") != "setup_intent_unexpected_state" {
			t.Errorf("cancel a succeeded setup: %d %v", code, out)
		}
		_, si = api.post("/v1/setup_intents", url.Values{"customer": {"cus_123"}})
		id := str(si, "id")
		if _, si = api.post("/v1/setup_intents/"+id+"/cancel", url.Values{"cancellation_reason": {"abandoned"}}); str(si, "status") != "canceled" {
			t.Errorf("canceled: %q", str(si, "status"))
		}
		if code, out := api.post("/v1/setup_intents/"+id+"/confirm", url.Values{"payment_method": {"pm_card_visa"}}); code != 400 || str(out, "error", "code") != "setup_intent_unexpected_state" {
			t.Errorf("confirm a canceled setup: %d %v", code, out)
		}
	})
}

// testScenarioSetUpOffSession: 4000002500003155 charges off-session without authentication
// only once a SetupIntent with usage off_session (or a payment with setup_future_usage) has
// set it up; 4000002760003184 never does (https://docs.stripe.com/testing#regulatory-cards).
func testScenarioSetUpOffSession(t *testing.T, mock *devstack.StripeMock) {
	sc, api := freshScenario(t, mock, devstack.ScenarioOptions{})
	setUp := func(t *testing.T, pm, usage string) {
		t.Helper()
		_, si := api.post("/v1/setup_intents", setupForm(pm, "usage", usage, "return_url", "https://shop.test/saved"))
		if str(si, "status") != "requires_action" {
			t.Fatalf("setup of %s: %q", pm, str(si, "status"))
		}
		if r := api.challenge(str(si, "next_action", "redirect_to_url", "url"), "approve"); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("approve: %d", r.StatusCode)
		}
		if st, _ := sc.SetupIntent(str(si, "id")); st.Status != "succeeded" || st.Usage != usage {
			t.Fatalf("setup %+v", st)
		}
	}
	offSession := func(pm string) (int, string) {
		code, out := api.pay(pm, "off_session", "true", "customer", "cus_123")
		return code, str(out, "error", "code")
	}

	t.Run("3155 after an off_session setup", func(t *testing.T) {
		pm := api.card(cardAuthOnSetup)
		if code, e := offSession(pm); code != 402 || e != "authentication_required" {
			t.Fatalf("before setup: %d %s", code, e)
		}
		setUp(t, pm, "off_session")
		if code, out := api.pay(pm, "off_session", "true", "customer", "cus_123"); code != 200 || str(out, "status") != "succeeded" {
			t.Errorf("off-session after setup: %d %v", code, out)
		}
		if _, out := api.pay(pm, "return_url", "https://shop.test/back"); str(out, "status") != "requires_action" {
			t.Errorf("on-session after setup: %q, want requires_action", str(out, "status"))
		}
		dump, _ := sc.Dump()
		if !strings.Contains(string(dump), `"id":"`+pm+`","behaviour":"authenticate_unless_set_up","last4":"3155","brand":"visa","set_up":true`) {
			t.Errorf("dump: %s", dump)
		}
	})
	t.Run("3155 after an on_session setup", func(t *testing.T) {
		pm := api.card(cardAuthOnSetup)
		setUp(t, pm, "on_session")
		if code, e := offSession(pm); code != 402 || e != "authentication_required" {
			t.Errorf("off-session: %d %s", code, e)
		}
	})
	t.Run("3155 saved during a payment", func(t *testing.T) {
		pm := api.card(cardAuthOnSetup)
		_, pi := api.pay(pm, "setup_future_usage", "off_session", "return_url", "https://shop.test/back")
		if r := api.challenge(str(pi, "next_action", "redirect_to_url", "url"), "approve"); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("approve: %d", r.StatusCode)
		}
		if code, e := offSession(pm); code != 200 {
			t.Errorf("off-session: %d %s", code, e)
		}
	})
	t.Run("3184 even after setup", func(t *testing.T) {
		pm := api.card(cardAuthAlways)
		setUp(t, pm, "off_session")
		if code, e := offSession(pm); code != 402 || e != "authentication_required" {
			t.Errorf("off-session: %d %s", code, e)
		}
	})
}
