package devstack_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tokenwall/tokenwall/devstack"
	"github.com/tokenwall/tokenwall/scrub"
)

// TestScenario runs the Scenario's tests against one stripe-mock, each with a Scenario of its
// own in front of it (stripe-mock is stateless, so they cannot see each other).
func TestScenario(t *testing.T) {
	mock, _ := startStripeMock(t)
	for _, tc := range []struct {
		name string
		run  func(*testing.T, *devstack.StripeMock)
	}{
		{name: "confirm", run: testScenarioConfirm},
		{name: "challenge", run: testScenarioChallenge},
		{name: "challenge secret", run: testScenarioChallengeSecret},
		{name: "recovery", run: testScenarioRecovery},
		{name: "lifecycle", run: testScenarioLifecycle},
		{name: "stripe-mock still validates", run: testScenarioStripeMockStillValidates},
		{name: "payment methods", run: testScenarioPaymentMethods},
		{name: "keeps no card number", run: testScenarioKeepsNoCardNumber},
		{name: "bounds", run: testScenarioBounds},
		{name: "setup intents", run: testScenarioSetupIntents},
		{name: "set up off-session", run: testScenarioSetUpOffSession},
		{name: "webhooks", run: testScenarioWebhooks},
		{name: "webhook retries", run: testScenarioWebhookRetries},
		{name: "stripe-go", run: testScenarioStripeGo},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, mock) })
	}
}

// testScenarioConfirm runs one confirmation per card behaviour and checks the status, the
// HTTP answer and the error Stripe documents for each.
func testScenarioConfirm(t *testing.T, mock *devstack.StripeMock) {
	_, api := freshScenario(t, mock, devstack.ScenarioOptions{})
	cases := []struct {
		name       string
		card       string
		extra      []string
		wantCode   int
		wantStatus string
		wantErr    string // error.code of a 402
		wantDecl   string // error.decline_code
		wantAction string // next_action.type
	}{
		{name: "plain card on-session", card: cardPlain, wantCode: 200, wantStatus: "succeeded"},
		{name: "plain card off-session", card: cardPlain, extra: []string{"off_session", "true"}, wantCode: 200, wantStatus: "succeeded"},
		{name: "manual capture", card: cardPlain, extra: []string{"capture_method", "manual"}, wantCode: 200, wantStatus: "requires_capture"},
		{name: "insufficient funds", card: cardInsufficient, wantCode: 402, wantStatus: "requires_payment_method", wantErr: "card_declined", wantDecl: "insufficient_funds"},
		{name: "generic decline", card: cardDeclined, wantCode: 402, wantStatus: "requires_payment_method", wantErr: "card_declined", wantDecl: "generic_decline"},
		{name: "3184 on-session with return_url", card: cardAuthAlways, extra: []string{"return_url", "https://shop.test/back"}, wantCode: 200, wantStatus: "requires_action", wantAction: "redirect_to_url"},
		{name: "3184 on-session without return_url", card: cardAuthAlways, wantCode: 200, wantStatus: "requires_action", wantAction: "use_stripe_sdk"},
		{name: "3184 off-session", card: cardAuthAlways, extra: []string{"off_session", "true"}, wantCode: 402, wantStatus: "requires_payment_method", wantErr: "authentication_required", wantDecl: "authentication_required"},
		{name: "3155 on-session", card: cardAuthOnSetup, extra: []string{"return_url", "https://shop.test/back"}, wantCode: 200, wantStatus: "requires_action", wantAction: "redirect_to_url"},
		{name: "3155 off-session not set up", card: cardAuthOnSetup, extra: []string{"off_session", "true"}, wantCode: 402, wantStatus: "requires_payment_method", wantErr: "authentication_required"},
		{name: "test id pm_card_authenticationRequired off-session", extra: []string{"off_session", "true"}, wantCode: 402, wantStatus: "requires_payment_method", wantErr: "authentication_required"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pm := "pm_card_authenticationRequired"
			if tc.card != "" {
				pm = api.card(tc.card)
			}
			code, out := api.pay(pm, tc.extra...)
			if code != tc.wantCode {
				t.Fatalf("status %d, want %d: %v", code, tc.wantCode, out)
			}
			pi := out
			if code == http.StatusPaymentRequired {
				if str(out, "error", "type") != "card_error" || str(out, "error", "code") != tc.wantErr {
					t.Errorf("error %v; want card_error %s", out["error"], tc.wantErr)
				}
				if tc.wantDecl != "" && str(out, "error", "decline_code") != tc.wantDecl {
					t.Errorf("decline_code %q, want %q", str(out, "error", "decline_code"), tc.wantDecl)
				}
				pi, _ = at(out, "error", "payment_intent").(map[string]any)
				if str(pi, "last_payment_error", "code") != tc.wantErr || !strings.HasPrefix(str(out, "error", "charge"), "ch_") {
					t.Errorf("intent in the error: last_payment_error %v, charge %q", pi["last_payment_error"], str(out, "error", "charge"))
				}
			}
			id := str(pi, "id")
			if !strings.HasPrefix(id, "pi_") || str(pi, "status") != tc.wantStatus || str(pi, "payment_method") != pm {
				t.Fatalf("intent id %q status %q payment_method %q; want pi_…, %s, %s", id, str(pi, "status"), str(pi, "payment_method"), tc.wantStatus, pm)
			}
			if !strings.HasPrefix(str(pi, "client_secret"), id+"_secret_") || num(pi, "amount") != 2000 || str(pi, "currency") != "eur" {
				t.Errorf("client_secret %q amount %v currency %q", str(pi, "client_secret"), pi["amount"], pi["currency"])
			}
			if got := str(pi, "next_action", "type"); got != tc.wantAction {
				t.Errorf("next_action.type %q, want %q", got, tc.wantAction)
			}
			// GET shows the same state.
			_, again := api.get("/v1/payment_intents/" + id)
			if str(again, "status") != tc.wantStatus || str(again, "client_secret") != str(pi, "client_secret") {
				t.Errorf("GET: status %q secret equal %v", str(again, "status"), str(again, "client_secret") == str(pi, "client_secret"))
			}
		})
	}
}

// testScenarioChallenge approves and denies the 3-D Secure challenge and checks the redirect
// Stripe makes to the return_url.
func testScenarioChallenge(t *testing.T, mock *devstack.StripeMock) {
	sc, api := freshScenario(t, mock, devstack.ScenarioOptions{})
	for _, tc := range []struct {
		name, decision, capture, wantStatus, wantRedirect, wantErr string
	}{
		{name: "approve", decision: "approve", capture: "automatic", wantStatus: "succeeded", wantRedirect: "succeeded"},
		{name: "approve manual capture", decision: "approve", capture: "manual", wantStatus: "requires_capture", wantRedirect: "succeeded"},
		{name: "deny", decision: "deny", capture: "automatic", wantStatus: "requires_payment_method", wantRedirect: "failed", wantErr: "payment_intent_authentication_failure"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, pi := api.pay(api.card(cardAuthAlways), "return_url", "https://shop.test/back?order=7", "capture_method", tc.capture)
			id, secret := str(pi, "id"), str(pi, "client_secret")
			page := str(pi, "next_action", "redirect_to_url", "url")
			if !strings.HasPrefix(page, sc.URL()+"/scenario/authenticate?") || str(pi, "next_action", "redirect_to_url", "return_url") != "https://shop.test/back?order=7" {
				t.Fatalf("next_action %v", pi["next_action"])
			}
			resp := api.challenge(page, tc.decision)
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("%s: %d, want 303", tc.decision, resp.StatusCode)
			}
			loc, err := url.Parse(resp.Header.Get("Location"))
			if err != nil {
				t.Fatal(err)
			}
			q := loc.Query()
			if loc.Host != "shop.test" || q.Get("order") != "7" || q.Get("payment_intent") != id ||
				q.Get("payment_intent_client_secret") != secret || q.Get("redirect_status") != tc.wantRedirect {
				t.Errorf("redirect to %s", loc.Redacted())
			}
			_, got := api.get("/v1/payment_intents/" + id)
			if str(got, "status") != tc.wantStatus || str(got, "last_payment_error", "code") != tc.wantErr || got["next_action"] != nil {
				t.Errorf("after %s: status %q last_payment_error %v next_action %v", tc.decision, str(got, "status"), got["last_payment_error"], got["next_action"])
			}
			// The decision is taken once, and the page no longer offers it.
			u, _ := url.Parse(page)
			if again := api.raw(http.MethodPost, api.base+"/scenario/authenticate/approve", u.Query()); again.StatusCode != http.StatusConflict {
				t.Errorf("second decision: %d, want 409", again.StatusCode)
			}
			if p := api.raw(http.MethodGet, page, nil); p.StatusCode != 200 || strings.Contains(p.body, `id="approve"`) {
				t.Errorf("page of a decided intent: %d, buttons shown %v", p.StatusCode, strings.Contains(p.body, `id="approve"`))
			}
		})
	}
}

// testScenarioChallengeSecret refuses a wrong client secret and an unknown intent.
func testScenarioChallengeSecret(t *testing.T, mock *devstack.StripeMock) {
	_, api := freshScenario(t, mock, devstack.ScenarioOptions{})
	_, pi := api.pay(api.card(cardAuthAlways), "return_url", "https://shop.test/back")
	id := str(pi, "id")
	for _, tc := range []struct {
		name string
		form url.Values
		want int
	}{
		{name: "wrong secret", form: url.Values{"intent": {id}, "client_secret": {id + "_secret_wrong"}}, want: http.StatusForbidden},
		{name: "no secret", form: url.Values{"intent": {id}}, want: http.StatusForbidden},
		{name: "unknown intent", form: url.Values{"intent": {"pi_unknown"}, "client_secret": {"x"}}, want: http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if r := api.raw(http.MethodPost, api.base+"/scenario/authenticate/approve", tc.form); r.StatusCode != tc.want {
				t.Errorf("approve: %d, want %d", r.StatusCode, tc.want)
			}
			if r := api.raw(http.MethodGet, api.base+"/scenario/authenticate?"+tc.form.Encode(), nil); r.StatusCode != tc.want {
				t.Errorf("page: %d, want %d", r.StatusCode, tc.want)
			}
		})
	}
	if _, got := api.get("/v1/payment_intents/" + id); str(got, "status") != "requires_action" {
		t.Errorf("status after refused approvals %q, want requires_action", str(got, "status"))
	}
}

// testScenarioRecovery: an off-session payment that needs authentication is brought back
// on-session, as https://docs.stripe.com/payments/save-and-reuse recommends, and a declined
// intent is confirmed again with another card.
func testScenarioRecovery(t *testing.T, mock *devstack.StripeMock) {
	_, api := freshScenario(t, mock, devstack.ScenarioOptions{})
	code, out := api.pay(api.card(cardAuthAlways), "off_session", "true", "customer", "cus_123")
	id := str(out, "error", "payment_intent", "id")
	if code != http.StatusPaymentRequired || id == "" || str(out, "error", "payment_intent", "customer") != "cus_123" {
		t.Fatalf("off-session: %d %v", code, out)
	}
	code, pi := api.post("/v1/payment_intents/"+id+"/confirm", url.Values{"return_url": {"https://shop.test/back"}})
	if code != 200 || str(pi, "status") != "requires_action" || str(pi, "last_payment_error", "code") != "" {
		t.Fatalf("confirm on-session: %d status %q last_payment_error %v", code, str(pi, "status"), pi["last_payment_error"])
	}
	if r := api.challenge(str(pi, "next_action", "redirect_to_url", "url"), "approve"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("approve: %d", r.StatusCode)
	}
	if _, got := api.get("/v1/payment_intents/" + id); str(got, "status") != "succeeded" || num(got, "amount_received") != 2000 {
		t.Errorf("after approval: %q received %v", str(got, "status"), got["amount_received"])
	}

	_, out = api.pay(api.card(cardInsufficient))
	id = str(out, "error", "payment_intent", "id")
	code, pi = api.post("/v1/payment_intents/"+id+"/confirm", url.Values{"payment_method": {api.card(cardPlain)}})
	if code != 200 || str(pi, "status") != "succeeded" || pi["last_payment_error"] != nil {
		t.Errorf("confirm with a new card: %d %q %v", code, str(pi, "status"), pi["last_payment_error"])
	}
}

// testScenarioLifecycle walks capture, cancel and the transitions Stripe refuses.
func testScenarioLifecycle(t *testing.T, mock *devstack.StripeMock) {
	_, api := freshScenario(t, mock, devstack.ScenarioOptions{})
	pm := api.card(cardPlain)

	t.Run("create then confirm", func(t *testing.T) {
		_, pi := api.post("/v1/payment_intents", url.Values{"amount": {"500"}, "currency": {"usd"}, "payment_method": {pm}})
		if str(pi, "status") != "requires_confirmation" {
			t.Fatalf("status %q, want requires_confirmation", str(pi, "status"))
		}
		_, pi = api.post("/v1/payment_intents/"+str(pi, "id")+"/confirm", url.Values{})
		if str(pi, "status") != "succeeded" || !strings.HasPrefix(str(pi, "latest_charge"), "ch_") {
			t.Errorf("confirm: %q charge %v", str(pi, "status"), pi["latest_charge"])
		}
		code, out := api.post("/v1/payment_intents/"+str(pi, "id")+"/confirm", url.Values{})
		if code != 400 || str(out, "error", "code") != "payment_intent_unexpected_state" {
			t.Errorf("confirm a succeeded intent: %d %v", code, out)
		}
	})
	t.Run("manual capture", func(t *testing.T) {
		_, pi := api.pay(pm, "capture_method", "manual")
		id := str(pi, "id")
		if num(pi, "amount_capturable") != 2000 || num(pi, "amount_received") != 0 {
			t.Fatalf("authorized: capturable %v received %v", pi["amount_capturable"], pi["amount_received"])
		}
		if code, out := api.post("/v1/payment_intents/"+id+"/capture", url.Values{"amount_to_capture": {"5000"}}); code != 400 {
			t.Errorf("capture over the amount: %d %v", code, out)
		}
		_, pi = api.post("/v1/payment_intents/"+id+"/capture", url.Values{"amount_to_capture": {"1500"}})
		if str(pi, "status") != "succeeded" || num(pi, "amount_received") != 1500 || num(pi, "amount_capturable") != 0 {
			t.Errorf("captured: %q received %v", str(pi, "status"), pi["amount_received"])
		}
		if code, out := api.post("/v1/payment_intents/"+id+"/capture", url.Values{}); code != 400 || str(out, "error", "code") != "payment_intent_unexpected_state" {
			t.Errorf("capture twice: %d %v", code, out)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		_, pi := api.post("/v1/payment_intents", url.Values{"amount": {"700"}, "currency": {"usd"}})
		id := str(pi, "id")
		if str(pi, "status") != "requires_payment_method" {
			t.Fatalf("status %q", str(pi, "status"))
		}
		_, pi = api.post("/v1/payment_intents/"+id+"/cancel", url.Values{"cancellation_reason": {"abandoned"}})
		if str(pi, "status") != "canceled" || str(pi, "cancellation_reason") != "abandoned" || num(pi, "canceled_at") <= 0 {
			t.Errorf("canceled: %q %v %v", str(pi, "status"), pi["cancellation_reason"], pi["canceled_at"])
		}
		for _, target := range []string{id, str(mustPay(t, api, pm), "id")} {
			code, out := api.post("/v1/payment_intents/"+target+"/cancel", url.Values{})
			if code != 400 || str(out, "error", "code") != "payment_intent_unexpected_state" || str(out, "error", "payment_intent", "id") != target {
				t.Errorf("cancel %s again: %d %v", target, code, out)
			}
		}
	})
	t.Run("cancel after authorization", func(t *testing.T) {
		_, pi := api.pay(pm, "capture_method", "manual")
		_, pi = api.post("/v1/payment_intents/"+str(pi, "id")+"/cancel", url.Values{})
		if str(pi, "status") != "canceled" || num(pi, "amount_capturable") != 0 {
			t.Errorf("cancel a hold: %q capturable %v", str(pi, "status"), pi["amount_capturable"])
		}
	})
}

func mustPay(t *testing.T, api *scenarioAPI, pm string) map[string]any {
	t.Helper()
	code, pi := api.pay(pm)
	if code != 200 || str(pi, "status") != "succeeded" {
		t.Fatalf("pay: %d %v", code, pi)
	}
	return pi
}

// testScenarioStripeMockStillValidates: stripe-mock's 400s pass unchanged and change nothing.
func testScenarioStripeMockStillValidates(t *testing.T, mock *devstack.StripeMock) {
	_, api := freshScenario(t, mock, devstack.ScenarioOptions{})
	code, out := api.post("/v1/payment_intents", url.Values{"currency": {"usd"}})
	if code != 400 || str(out, "error", "type") != "invalid_request_error" || !strings.Contains(str(out, "error", "message"), "amount") {
		t.Errorf("missing amount: %d %v", code, out)
	}
	_, pi := api.pay(api.card(cardAuthAlways), "return_url", "https://shop.test/back")
	code, out = api.post("/v1/payment_intents/"+str(pi, "id")+"/confirm", url.Values{"bogus": {"1"}})
	if code != 400 || !strings.Contains(str(out, "error", "message"), "additional properties") {
		t.Errorf("unknown parameter: %d %v", code, out)
	}
	if _, got := api.get("/v1/payment_intents/" + str(pi, "id")); str(got, "status") != "requires_action" {
		t.Errorf("status after a refused confirm %q", str(got, "status"))
	}
	// Ids the scenario did not create get stripe-mock's fixture.
	if code, got := api.get("/v1/payment_intents/pi_123"); code != 200 || str(got, "id") != "pi_123" || str(got, "status") != "requires_payment_method" {
		t.Errorf("unknown id: %d %q %q", code, str(got, "id"), str(got, "status"))
	}
}

// testScenarioPaymentMethods: every PaymentMethod gets its own id and its real last four,
// expansions keep stripe-mock's shape, and repeated Idempotency-Keys replay.
func testScenarioPaymentMethods(t *testing.T, mock *devstack.StripeMock) {
	_, api := freshScenario(t, mock, devstack.ScenarioOptions{})
	code, a := api.post("/v1/payment_methods", cardValues(cardAuthAlways))
	_, b := api.post("/v1/payment_methods", cardValues("5555555555554444"))
	if code != 200 || str(a, "id") == str(b, "id") || !strings.HasPrefix(str(a, "id"), "pm_") {
		t.Fatalf("ids %q %q", str(a, "id"), str(b, "id"))
	}
	if str(a, "card", "last4") != "3184" || str(a, "card", "brand") != "visa" || str(b, "card", "last4") != "4444" || str(b, "card", "brand") != "mastercard" {
		t.Errorf("cards %v / %v", a["card"], b["card"])
	}
	if _, got := api.get("/v1/payment_methods/" + str(b, "id")); str(got, "card", "last4") != "4444" {
		t.Errorf("GET last4 %q", str(got, "card", "last4"))
	}
	_, pi := api.pay(str(a, "id"), "expand[]", "payment_method", "return_url", "https://shop.test/back")
	if str(pi, "payment_method", "id") != str(a, "id") || str(pi, "payment_method", "card", "last4") != "3184" || str(pi, "payment_method", "object") != "payment_method" {
		t.Errorf("expanded payment_method %v", pi["payment_method"])
	}
	_, pi = api.pay(str(b, "id"), "expand[0]", "latest_charge", "expand[1]", "payment_method")
	if str(pi, "latest_charge", "status") != "succeeded" || str(pi, "latest_charge", "payment_intent") != str(pi, "id") ||
		str(pi, "latest_charge", "payment_method_details", "card", "last4") != "4444" || str(pi, "payment_method", "card", "brand") != "mastercard" {
		t.Errorf("expanded charge %v", pi["latest_charge"])
	}

	form := url.Values{"amount": {"900"}, "currency": {"usd"}, "payment_method": {str(b, "id")}, "confirm": {"true"}}
	_, first, _ := api.do(http.MethodPost, "/v1/payment_intents", form, "Idempotency-Key", "k-1")
	_, second, h := api.do(http.MethodPost, "/v1/payment_intents", form, "Idempotency-Key", "k-1")
	if str(first, "id") == "" || str(first, "id") != str(second, "id") || h.Get("Idempotent-Replayed") != "true" {
		t.Errorf("replay: %q %q replayed=%q", str(first, "id"), str(second, "id"), h.Get("Idempotent-Replayed"))
	}
	form.Set("amount", "901")
	if code, out, _ := api.do(http.MethodPost, "/v1/payment_intents", form, "Idempotency-Key", "k-1"); code != 400 || str(out, "error", "type") != "idempotency_error" {
		t.Errorf("same key, other parameters: %d %v", code, out)
	}
}

// testScenarioKeepsNoCardNumber: the card numbers pass through to stripe-mock but nothing the
// scenario keeps or logs holds one.
func testScenarioKeepsNoCardNumber(t *testing.T, mock *devstack.StripeMock) {
	log := &syncBuffer{}
	sc, api := freshScenario(t, mock, devstack.ScenarioOptions{Log: log})
	numbers := []string{cardPlain, cardAuthAlways, cardAuthOnSetup, cardInsufficient, cardDeclined}
	for _, n := range numbers {
		_, _ = api.pay(api.card(n), "return_url", "https://shop.test/back")
	}
	dump, err := sc.Dump()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(dump), `"last4":"3184"`) || !strings.Contains(string(dump), "authenticate_always") {
		t.Errorf("dump lacks the card facts: %s", dump)
	}
	logged := log.String()
	if !strings.Contains(logged, "POST /v1/payment_methods 200 payment_method pm_") {
		t.Errorf("log lacks the request lines:\n%s", logged)
	}
	for _, n := range numbers {
		if strings.Contains(string(dump), n) || strings.Contains(logged, n) {
			t.Errorf("card …%s is in the dump or the log", n[12:])
		}
	}
	if scrub.ContainsPAN(dump) || scrub.ContainsPAN([]byte(logged)) {
		t.Error("the dump or the log holds a card number")
	}
}

// testScenarioBounds drops the oldest objects past MaxObjects and refuses bodies over 1 MiB.
func testScenarioBounds(t *testing.T, mock *devstack.StripeMock) {
	sc, api := freshScenario(t, mock, devstack.ScenarioOptions{MaxObjects: 2})
	var ids []string
	for range 3 {
		_, pi := api.post("/v1/payment_intents", url.Values{"amount": {"100"}, "currency": {"usd"}})
		ids = append(ids, str(pi, "id"))
	}
	if _, ok := sc.Intent(ids[0]); ok {
		t.Error("the oldest intent is still kept")
	}
	if st, ok := sc.Intent(ids[2]); !ok || st.Status != "requires_payment_method" || st.Amount != 100 {
		t.Errorf("newest intent %+v %v", st, ok)
	}
	big := url.Values{"amount": {"100"}, "currency": {"usd"}, "description": {strings.Repeat("x", 1<<20)}}
	if r := api.raw(http.MethodPost, sc.URL()+"/v1/payment_intents", big); r.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("1 MiB body: %d", r.StatusCode)
	}
}
