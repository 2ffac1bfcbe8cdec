package proxy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/devstack"
	"github.com/tokenwall/tokenwall/payments"
	"github.com/tokenwall/tokenwall/store"
)

// Stripe's test cards (https://docs.stripe.com/testing#regulatory-cards), as the scenario in
// front of stripe-mock plays them.
const (
	cardPlain = "4242424242424242"
	// cardAuthAlways asks for 3-D Secure on every payment and setup.
	cardAuthAlways = "4000002760003184"
	// cardAuthUnlessSetUp asks on-session, and off-session until set up for off-session use.
	cardAuthUnlessSetUp = "4000002500003155"
	// cardDeclined is declined with insufficient_funds.
	cardDeclined = "4000000000009995"
)

// The billing app's origin (api.return_url_origins) and where it wants its customers back.
const (
	shopOrigin = "https://shop.example.com"
	returnURL  = shopOrigin + "/checkout/return?order=7"
)

// threeDS is a tokenwall with /v1 on and the shop's origin allowed for return URLs, in front
// of the scenario (stripe-mock with Stripe's state machines and a 3-D Secure challenge page)
// behind a recording fault proxy.
type threeDS struct {
	*harness
	fp   *devstack.FaultProxy
	idem int
}

func newThreeDS(t *testing.T) *threeDS {
	fp := newGatewayFaultProxy(t)
	return &threeDS{harness: newHarness(t, options{api: true, stripeURL: fp.URL(), returnURLOrigins: []string{shopOrigin}}), fp: fp}
}

// call sends a /v1 request with the billing key (and a fresh Idempotency-Key on a POST) and
// decodes the answer.
func (x *threeDS) call(method, path, body string) (int, map[string]any, string) {
	x.t.Helper()
	idem := ""
	if method == http.MethodPost {
		x.idem++
		idem = fmt.Sprintf("3ds-%d", x.idem)
	}
	var b []byte
	if body != "" {
		b = []byte(body)
	}
	resp, text := x.api(method, path, "billing", b, idem)
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		x.t.Errorf("%s %s: Cache-Control %q", method, path, got)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(text), &m); err != nil {
		x.t.Fatalf("%s %s: %d %q: %v", method, path, resp.StatusCode, text, err)
	}
	return resp.StatusCode, m, text
}

// tokenize posts card through the checkout form and returns the payment method (pm_…) the
// billing app received in its place.
func (x *threeDS) tokenize(card string) string {
	x.t.Helper()
	before := len(x.up.requests())
	resp, body := x.post("/checkout/submit", formCT, formBody("card_name", "Ada Lovelace", "card_number", card, "card_exp", "12/34", "card_cvc", "123"))
	reqs := x.up.requests()
	if resp.StatusCode != http.StatusOK || len(reqs) != before+1 {
		x.t.Fatalf("checkout: %d %q", resp.StatusCode, body)
	}
	form, err := url.ParseQuery(string(reqs[len(reqs)-1].Body))
	pm := form.Get("payment_method")
	if err != nil || !strings.HasPrefix(pm, "pm_") {
		x.t.Fatalf("the app got payment_method %q (%v)", pm, err)
	}
	return pm
}

// customer creates a customer and attaches pm to it.
func (x *threeDS) customer(pm string) string {
	x.t.Helper()
	status, c, text := x.call(http.MethodPost, "/v1/customers", `{"name":"Ada Lovelace"}`)
	id, _ := c["id"].(string)
	if status != http.StatusCreated || id == "" {
		x.t.Fatalf("customer: %d %s", status, text)
	}
	if status, _, text := x.call(http.MethodPost, "/v1/customers/"+id+"/payment-methods", `{"token":"`+pm+`"}`); status != http.StatusCreated {
		x.t.Fatalf("attach: %d %s", status, text)
	}
	return id
}

// redirect returns the next action's redirect URL of an intent that requires_action, after
// checking that it is passed on whole: the scenario's challenge page with the intent's client
// secret in its query, the app's return_url, and no client_secret member anywhere else.
func (x *threeDS) redirect(obj map[string]any, text string) (page, secret string) {
	x.t.Helper()
	na, _ := obj["next_action"].(map[string]any)
	rd, _ := na["redirect_to_url"].(map[string]any)
	page, _ = rd["url"].(string)
	if obj["status"] != "requires_action" || na["type"] != "redirect_to_url" || rd["return_url"] != returnURL {
		x.t.Fatalf("next action: %s", text)
	}
	u, err := url.Parse(page)
	if err != nil || !strings.HasPrefix(page, sharedStripe.URL+"/scenario/authenticate?") {
		x.t.Fatalf("redirect url %q is not the challenge page", page)
	}
	secret = u.Query().Get("client_secret")
	if !strings.Contains(secret, "_secret_") {
		x.t.Fatalf("redirect url %q lost its client secret", page)
	}
	if strings.Contains(text, `"client_secret"`) || strings.Count(text, secret) != 1 {
		x.t.Errorf("the client secret is shown outside the redirect url: %s", text)
	}
	return page, secret
}

// decide approves or denies the challenge at page as the customer's browser would, by
// posting the page's form; the scenario sends the browser back to the return_url.
func (x *threeDS) decide(page string, approve bool) {
	x.t.Helper()
	u, err := url.Parse(page)
	if err != nil {
		x.t.Fatal(err)
	}
	form := url.Values{}
	for k, v := range u.Query() {
		form[k] = v
	}
	action := "/scenario/authenticate/deny"
	if approve {
		action = "/scenario/authenticate/approve"
	}
	browser := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := browser.PostForm(u.Scheme+"://"+u.Host+action, form)
	if err != nil {
		x.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), shopOrigin+"/checkout/return?") {
		x.t.Fatalf("challenge %s: %d to %q", action, resp.StatusCode, resp.Header.Get("Location"))
	}
}

// expectProblem checks a problem answer: status, type, and the code and payment members
// ("" for absent).
func expectProblem(t *testing.T, status int, doc map[string]any, text string, wantStatus int, wantTypes []string, code, payment string) {
	t.Helper()
	typ, _ := doc["type"].(string)
	okType := false
	for _, w := range wantTypes {
		okType = okType || typ == "https://tokenwall.dev/problems/"+w
	}
	gotCode, _ := doc["code"].(string)
	gotPayment, _ := doc["payment"].(string)
	if status != wantStatus || !okType || gotCode != code || gotPayment != payment {
		t.Fatalf("%d %s, want %d %v code %q payment %q", status, text, wantStatus, wantTypes, code, payment)
	}
}

// auditEvent is an audit record with its details decoded.
type auditEvent struct {
	store.AuditRecord
	Details map[string]string
}

// lastEvent is the latest audit record of typ about resource.
func (x *threeDS) lastEvent(typ, resource string) auditEvent {
	x.t.Helper()
	evs := x.events(typ)
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].Resource == resource {
			ev := auditEvent{AuditRecord: evs[i]}
			if evs[i].Details != "" {
				if err := json.Unmarshal([]byte(evs[i].Details), &ev.Details); err != nil {
					x.t.Fatalf("%s details %q: %v", typ, evs[i].Details, err)
				}
			}
			return ev
		}
	}
	x.t.Fatalf("no %s record of %s", typ, resource)
	return auditEvent{}
}

// secretsKept fails t when the log or any audit record holds one of secrets.
func (x *threeDS) secretsKept(t *testing.T, secrets []string) {
	t.Helper()
	log := x.logText()
	err := x.store.AuditRange(context.Background(), 0, 0, func(r store.AuditRecord) error {
		b, _ := json.Marshal(r)
		for _, s := range secrets {
			if strings.Contains(string(b), s) {
				t.Errorf("audit record %s %s holds a client secret", r.Event, r.Resource)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets {
		if strings.Contains(log, s) {
			t.Errorf("the log holds the client secret %.12s…", s)
		}
	}
	if len(secrets) == 0 {
		t.Error("no client secret was seen: the test checks nothing")
	}
}

// TestAPI3DSPayments: honest payment states through a running tokenwall against Stripe's
// state machines. 201 only for a payment the customer is done with; 202 with next_action
// passed on whole for one that waits; the customer's decision shows in GET; declines and
// off-session authentication are 402 problems naming the payment; every step is audited and
// no client secret is logged or audited.
func TestAPI3DSPayments(t *testing.T) {
	x := newThreeDS(t)
	var secrets []string
	pay := func(token, extra string) string {
		return `{"amount":2500,"currency":"eur","token":"` + token + `"` + extra + `}`
	}
	x.subtest(t, "a card that needs nothing: 201 succeeded", func(t *testing.T) {
		status, p, text := x.call(http.MethodPost, "/v1/payments", pay(x.tokenize(cardPlain), `,"return_url":"`+returnURL+`"`))
		if status != http.StatusCreated || p["status"] != "succeeded" || p["next_action"] != nil {
			t.Fatalf("%d %s", status, text)
		}
	})
	x.subtest(t, "authenticated: 202 with next_action, approved, then GET shows succeeded", func(t *testing.T) {
		status, p, text := x.call(http.MethodPost, "/v1/payments", pay(x.tokenize(cardAuthAlways), `,"return_url":"`+returnURL+`"`))
		if status != http.StatusAccepted {
			t.Fatalf("%d %s", status, text)
		}
		id, _ := p["id"].(string)
		page, secret := x.redirect(p, text)
		secrets = append(secrets, secret)
		if rec := x.lastEvent("charge", id); rec.Details["result"] != "requires_action" || rec.Details["next_action"] != "redirect_to_url" {
			t.Errorf("charge record %+v", rec)
		}
		status, p, text = x.call(http.MethodGet, "/v1/payments/"+id, "")
		if status != http.StatusOK || p["status"] != "requires_action" {
			t.Fatalf("GET while waiting: %d %s", status, text)
		}
		x.decide(page, true)
		status, p, text = x.call(http.MethodGet, "/v1/payments/"+id, "")
		if status != http.StatusOK || p["status"] != "succeeded" || p["next_action"] != nil || p["amount"] != float64(2500) {
			t.Fatalf("GET after approval: %d %s", status, text)
		}
	})
	x.subtest(t, "denied: GET shows requires_payment_method, confirm with a declined card is 402", func(t *testing.T) {
		status, p, text := x.call(http.MethodPost, "/v1/payments", pay(x.tokenize(cardAuthAlways), `,"return_url":"`+returnURL+`"`))
		id, _ := p["id"].(string)
		if status != http.StatusAccepted {
			t.Fatalf("%d %s", status, text)
		}
		page, secret := x.redirect(p, text)
		secrets = append(secrets, secret)
		x.decide(page, false)
		status, p, text = x.call(http.MethodGet, "/v1/payments/"+id, "")
		if status != http.StatusOK || p["status"] != "requires_payment_method" || p["last_error_code"] != "payment_intent_authentication_failure" {
			t.Fatalf("GET after denial: %d %s", status, text)
		}
		status, doc, text := x.call(http.MethodPost, "/v1/payments/"+id+"/confirm", `{"token":"`+x.tokenize(cardDeclined)+`"}`)
		// A decline Stripe answers with an error is card-declined; one found in the payment's
		// state is payment-failed. Either names the code and the payment to try again.
		expectProblem(t, status, doc, text, http.StatusPaymentRequired, []string{"payment-failed", "card-declined"}, "insufficient_funds", id)
		if rec := x.lastEvent("payment_confirmed", id); rec.Outcome != "failure" || rec.Reason != "insufficient_funds" || rec.Details["result"] != "failed" {
			t.Errorf("payment_confirmed record %+v", rec)
		}
		if x.lastEvent("payment_confirm_requested", id).Outcome != "success" {
			t.Error("the confirmation was not recorded before it was asked")
		}
	})
	x.subtest(t, "a return_url outside api.return_url_origins is 422 and asks the gateway nothing", func(t *testing.T) {
		token := x.tokenize(cardAuthAlways)
		before, charges := len(x.fp.Requests()), len(x.events("charge_requested"))
		for _, u := range []string{"https://shop.example.com.evil.example/back", "http://shop.example.com/back", "https://evil.example/?next=" + shopOrigin,
			"https://user@shop.example.com/back", "https://shop.example.com/back#frag", "javascript:alert(1)", "/checkout/return"} {
			status, doc, text := x.call(http.MethodPost, "/v1/payments", pay(token, `,"return_url":"`+u+`"`))
			expectProblem(t, status, doc, text, http.StatusUnprocessableEntity, []string{"return-url-not-allowed"}, "", "")
			if strings.Contains(text, "evil") || strings.Contains(text, "alert") {
				t.Errorf("the problem echoes the return_url: %s", text)
			}
		}
		if len(x.fp.Requests()) != before || len(x.events("charge_requested")) != charges {
			t.Error("a refused return_url reached the gateway or the trail's charge records")
		}
	})
	x.subtest(t, "off-session authentication_required is 402 naming the payment; confirmed on-session, approved", func(t *testing.T) {
		token := x.tokenize(cardAuthUnlessSetUp)
		cus := x.customer(token)
		status, doc, text := x.call(http.MethodPost, "/v1/payments", pay(token, `,"customer":"`+cus+`","off_session":true`))
		id, _ := doc["payment"].(string)
		expectProblem(t, status, doc, text, http.StatusPaymentRequired, []string{"authentication-required"}, "authentication_required", id)
		if !strings.HasPrefix(id, "pi_") {
			t.Fatalf("payment %q", id)
		}
		if rec := x.lastEvent("charge", id); rec.Outcome != "failure" || rec.Reason != "authentication_required" {
			t.Errorf("charge record %+v", rec)
		}
		status, p, text := x.call(http.MethodPost, "/v1/payments/"+id+"/confirm", `{"return_url":"`+returnURL+`"}`)
		if status != http.StatusAccepted || p["id"] != id {
			t.Fatalf("confirm on-session: %d %s", status, text)
		}
		page, secret := x.redirect(p, text)
		secrets = append(secrets, secret)
		x.decide(page, true)
		if status, p, text := x.call(http.MethodGet, "/v1/payments/"+id, ""); status != http.StatusOK || p["status"] != "succeeded" {
			t.Fatalf("GET after approval: %d %s", status, text)
		}
		if rec := x.lastEvent("payment_confirmed", id); rec.Details["result"] != "requires_action" {
			t.Errorf("payment_confirmed record %+v", rec)
		}
	})
	x.subtest(t, "cancel: 200 canceled, with an empty body or {}", func(t *testing.T) {
		for _, body := range []string{"", "{}"} {
			status, p, text := x.call(http.MethodPost, "/v1/payments", pay(x.tokenize(cardAuthAlways), `,"return_url":"`+returnURL+`"`))
			id, _ := p["id"].(string)
			if status != http.StatusAccepted {
				t.Fatalf("%d %s", status, text)
			}
			_, secret := x.redirect(p, text)
			secrets = append(secrets, secret)
			status, p, text = x.call(http.MethodPost, "/v1/payments/"+id+"/cancel", body)
			if status != http.StatusOK || p["status"] != "canceled" || p["next_action"] != nil {
				t.Fatalf("cancel with %q: %d %s", body, status, text)
			}
			if rec := x.lastEvent("payment_canceled", id); rec.Outcome != "success" || !strings.HasPrefix(rec.Actor, "key:") {
				t.Errorf("payment_canceled record %+v", rec)
			}
		}
	})
	x.subtest(t, "a declined card is 402 naming the code and the payment", func(t *testing.T) {
		token := x.tokenize(cardDeclined)
		status, doc, text := x.call(http.MethodPost, "/v1/payments", pay(token, ""))
		id, _ := doc["payment"].(string)
		expectProblem(t, status, doc, text, http.StatusPaymentRequired, []string{"card-declined", "payment-failed"}, "insufficient_funds", id)
		if !strings.HasPrefix(id, "pi_") {
			t.Errorf("payment %q", id)
		}
		if rec := x.lastEvent("charge", "payment_method:"+token); rec.Outcome != "failure" || rec.Reason != "insufficient_funds" {
			t.Errorf("charge record %+v", rec)
		}
	})
	x.subtest(t, "unknown fields are refused before anything is asked", func(t *testing.T) {
		for _, tc := range []struct{ path, body string }{
			{"/v1/payments", pay("pm_card_visa", `,"client_secret":"x"`)},
			{"/v1/payments", pay("pm_card_visa", `,"mandate":{"reference":"r","amount_type":"fixed","start":1}`)},
			{"/v1/payments/pi_123/confirm", `{"payment_method":"pm_card_visa"}`},
			{"/v1/payments/pi_123/cancel", `{"cancellation_reason":"abandoned"}`},
			{"/v1/setup-intents", `{"customer":"cus_1","token":"pm_card_visa","confirm":true}`},
			{"/v1/setup-intents/seti_123/confirm", `{"return_url":"` + returnURL + `","off_session":true}`},
		} {
			status, doc, text := x.call(http.MethodPost, tc.path, tc.body)
			expectProblem(t, status, doc, text, http.StatusBadRequest, []string{"unknown-field"}, "", "")
		}
	})
	x.subtest(t, "no client secret in the log or the audit trail", func(t *testing.T) {
		x.secretsKept(t, secrets)
	})
}

// TestAPI3DSSetupIntents: saving a card for off-session charges. The setup waits for the
// customer (202 with next_action), the approval shows in GET, and the card then charges
// off-session without the customer; a setup confirmed again gets its redirect; a denial
// shows in GET with its code. Setup intents need the customers scope.
func TestAPI3DSSetupIntents(t *testing.T) {
	x := newThreeDS(t)
	var secrets []string
	x.subtest(t, "create, approve, GET succeeded, then an off-session charge is 201", func(t *testing.T) {
		token := x.tokenize(cardAuthUnlessSetUp)
		cus := x.customer(token)
		status, si, text := x.call(http.MethodPost, "/v1/setup-intents",
			`{"customer":"`+cus+`","token":"`+token+`","usage":"off_session","return_url":"`+returnURL+`","metadata":{"plan":"gold"}}`)
		id, _ := si["id"].(string)
		if status != http.StatusAccepted || si["object"] != "setup_intent" || !strings.HasPrefix(id, "seti_") {
			t.Fatalf("%d %s", status, text)
		}
		page, secret := x.redirect(si, text)
		secrets = append(secrets, secret)
		if rec := x.lastEvent("setup", id); rec.Details["result"] != "requires_action" || !strings.HasPrefix(rec.Actor, "key:") {
			t.Errorf("setup record %+v", rec)
		}
		x.decide(page, true)
		status, si, text = x.call(http.MethodGet, "/v1/setup-intents/"+id, "")
		if status != http.StatusOK || si["status"] != "succeeded" || si["next_action"] != nil || si["payment_method"] != token {
			t.Fatalf("GET after approval: %d %s", status, text)
		}
		status, p, text := x.call(http.MethodPost, "/v1/payments", `{"amount":900,"currency":"eur","token":"`+token+`","customer":"`+cus+`","off_session":true}`)
		if status != http.StatusCreated || p["status"] != "succeeded" {
			t.Fatalf("off-session charge of the set-up card: %d %s", status, text)
		}
	})
	x.subtest(t, "created without a return_url, confirmed with one, denied", func(t *testing.T) {
		token := x.tokenize(cardAuthAlways)
		cus := x.customer(token)
		status, si, text := x.call(http.MethodPost, "/v1/setup-intents", `{"customer":"`+cus+`","token":"`+token+`"}`)
		id, _ := si["id"].(string)
		na, _ := si["next_action"].(map[string]any)
		if status != http.StatusAccepted || si["status"] != "requires_action" || na == nil || na["redirect_to_url"] != nil {
			t.Fatalf("without a return_url: %d %s", status, text)
		}
		status, si, text = x.call(http.MethodPost, "/v1/setup-intents/"+id+"/confirm", `{"return_url":"`+returnURL+`"}`)
		if status != http.StatusAccepted {
			t.Fatalf("confirm: %d %s", status, text)
		}
		page, secret := x.redirect(si, text)
		secrets = append(secrets, secret)
		x.decide(page, false)
		status, si, text = x.call(http.MethodGet, "/v1/setup-intents/"+id, "")
		if status != http.StatusOK || si["status"] != "requires_payment_method" || si["last_error_code"] != "setup_intent_authentication_failure" {
			t.Fatalf("GET after denial: %d %s", status, text)
		}
	})
	x.subtest(t, "refusals: return_url, unknown setup, wrong id, scope", func(t *testing.T) {
		token := x.tokenize(cardPlain)
		cus := x.customer(token)
		status, doc, text := x.call(http.MethodPost, "/v1/setup-intents", `{"customer":"`+cus+`","token":"`+token+`","return_url":"https://evil.example/back"}`)
		expectProblem(t, status, doc, text, http.StatusUnprocessableEntity, []string{"return-url-not-allowed"}, "", "")
		// stripe-mock answers any id: the gateway's 404 is injected.
		x.fp.Inject(devstack.FaultAnswer(http.StatusNotFound, `{"error":{"type":"invalid_request_error","code":"resource_missing","message":"No such setupintent"}}`), 1)
		status, doc, text = x.call(http.MethodGet, "/v1/setup-intents/seti_NoSuchIntent1", "")
		expectProblem(t, status, doc, text, http.StatusNotFound, []string{"unknown-setup-intent"}, "", "")
		if rec := x.lastEvent("api_read", "seti_NoSuchIntent1"); rec.Outcome != "failure" || rec.Reason != "not_found" {
			t.Errorf("api_read record %+v", rec)
		}
		status, doc, text = x.call(http.MethodGet, "/v1/setup-intents/pi_123", "")
		expectProblem(t, status, doc, text, http.StatusBadRequest, []string{"invalid-id"}, "", "")
		resp, body := x.api(http.MethodPost, "/v1/setup-intents", "payments", []byte(`{"customer":"`+cus+`","token":"`+token+`"}`), "scope-1")
		if typ, _ := problemOf(t, resp, body); resp.StatusCode != http.StatusForbidden || typ != "scope-missing" {
			t.Fatalf("payments key: %d %s", resp.StatusCode, body)
		}
	})
	x.subtest(t, "no client secret in the log or the audit trail", func(t *testing.T) {
		x.secretsKept(t, secrets)
	})
}

// TestAPI3DSSweeperRuns: with the API on, the sweeper of stale payments runs beside the
// server and holds its lease in the store; without the API nothing sweeps.
func TestAPI3DSSweeperRuns(t *testing.T) {
	held := func(h *harness, within time.Duration) bool {
		deadline := time.Now().Add(within)
		for time.Now().Before(deadline) {
			// Claimed as of 1970 until a second later: refused while the sweeper holds the lease;
			// when it is free, what the probe takes has long expired for the sweeper.
			ok, err := h.store.ClaimLease(context.Background(), payments.SweepLease, "test-probe", time.Unix(1, 0), time.Unix(2, 0))
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				return true
			}
			time.Sleep(50 * time.Millisecond)
		}
		return false
	}
	if !held(newHarness(t, options{api: true}), 5*time.Second) {
		t.Error("with the API on, no sweeper holds the lease")
	}
	// The sweeper claims at once when it starts: a second is plenty.
	if held(newHarness(t, options{}), time.Second) {
		t.Error("without the API, the lease is held")
	}
}
