package devstack_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	stripe "github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/tokenwall/tokenwall/devstack"
)

// seenEvent is one verified event the receiver got.
type seenEvent struct {
	typ, object, status string
}

// eventReceiver is a webhook endpoint that verifies every event with stripe-go, as tokenwall
// does, and answers failStatus to the first failFirst deliveries.
type eventReceiver struct {
	srv       *httptest.Server
	secret    string
	failFirst int32

	calls    atomic.Int32
	mu       sync.Mutex
	events   []seenEvent
	rejected int
}

func newEventReceiver(t *testing.T, secret string, failFirst int32) *eventReceiver {
	r := &eventReceiver{secret: secret, failFirst: failFirst}
	r.srv = httptest.NewTLSServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *eventReceiver) serve(w http.ResponseWriter, req *http.Request) {
	if r.calls.Add(1) <= r.failFirst {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	// No IgnoreAPIVersionMismatch: the events carry stripe-go v76's API version.
	ev, err := webhook.ConstructEventWithOptions(body, req.Header.Get("Stripe-Signature"), r.secret, webhook.ConstructEventOptions{Tolerance: 5 * time.Minute})
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil || len(ev.ID) < 5 || ev.ID[:4] != "evt_" {
		r.rejected++
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	var obj struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	_ = json.Unmarshal(ev.Data.Raw, &obj)
	r.events = append(r.events, seenEvent{typ: string(ev.Type), object: obj.ID, status: obj.Status})
	w.WriteHeader(http.StatusOK)
}

func (r *eventReceiver) seen() ([]seenEvent, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]seenEvent(nil), r.events...), r.rejected
}

// testScenarioWebhooks turns webhooks on for the Scenario StartStripeMock wired in, as the dev
// stack does once it knows its endpoint, and checks every event type in order.
func testScenarioWebhooks(t *testing.T, mock *devstack.StripeMock) {
	api := newScenarioAPI(t, mock.URL)
	sc := mock.Scenario()
	before := sc.Webhooks()
	mustPay(t, api, api.card(cardPlain))
	if st := sc.Webhooks(); st.Queued != before.Queued {
		t.Fatalf("events queued without a WebhookURL: %+v", st)
	}

	rcv := newEventReceiver(t, "whsec_scenario_test", 0)
	mock.SetWebhooks(rcv.srv.URL, func() string { return rcv.secret }, rcv.srv.Client())
	t.Cleanup(func() { mock.SetWebhooks("", nil, nil) })

	var want []seenEvent
	expect := func(typ, id, status string) { want = append(want, seenEvent{typ: typ, object: id, status: status}) }

	_, pi := api.pay(api.card(cardAuthAlways), "return_url", "https://shop.test/back")
	expect("payment_intent.requires_action", str(pi, "id"), "requires_action")
	api.challenge(str(pi, "next_action", "redirect_to_url", "url"), "approve")
	expect("payment_intent.succeeded", str(pi, "id"), "succeeded")

	_, pi = api.pay(api.card(cardAuthAlways), "return_url", "https://shop.test/back")
	expect("payment_intent.requires_action", str(pi, "id"), "requires_action")
	api.challenge(str(pi, "next_action", "redirect_to_url", "url"), "deny")
	expect("payment_intent.payment_failed", str(pi, "id"), "requires_payment_method")

	_, out := api.pay(api.card(cardInsufficient))
	expect("payment_intent.payment_failed", str(out, "error", "payment_intent", "id"), "requires_payment_method")

	_, pi = api.pay(api.card(cardPlain), "capture_method", "manual")
	expect("payment_intent.amount_capturable_updated", str(pi, "id"), "requires_capture")
	api.post("/v1/payment_intents/"+str(pi, "id")+"/capture", url.Values{})
	expect("payment_intent.succeeded", str(pi, "id"), "succeeded")

	_, pi = api.post("/v1/payment_intents", url.Values{"amount": {"100"}, "currency": {"usd"}})
	api.post("/v1/payment_intents/"+str(pi, "id")+"/cancel", url.Values{})
	expect("payment_intent.canceled", str(pi, "id"), "canceled")

	_, si := api.post("/v1/setup_intents", setupForm(api.card(cardPlain)))
	expect("setup_intent.succeeded", str(si, "id"), "succeeded")
	_, si = api.post("/v1/setup_intents", setupForm(api.card(cardAuthAlways), "return_url", "https://shop.test/saved"))
	expect("setup_intent.requires_action", str(si, "id"), "requires_action")
	api.challenge(str(si, "next_action", "redirect_to_url", "url"), "deny")
	expect("setup_intent.setup_failed", str(si, "id"), "requires_payment_method")
	_, si = api.post("/v1/setup_intents", url.Values{"customer": {"cus_123"}})
	api.post("/v1/setup_intents/"+str(si, "id")+"/cancel", url.Values{})
	expect("setup_intent.canceled", str(si, "id"), "canceled")

	waitFor(t, "the webhooks", func() bool { got, rej := rcv.seen(); return len(got)+rej >= len(want) })
	got, rejected := rcv.seen()
	if rejected != 0 || len(got) != len(want) {
		t.Fatalf("%d events verified, %d rejected; want %d", len(got), rejected, len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("event %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	// The sender counts a delivery once the receiver's answer is back.
	waitFor(t, "the delivery counter", func() bool { return sc.Webhooks().Delivered-before.Delivered >= len(want) })
	st := sc.Webhooks()
	if st.Delivered-before.Delivered != len(want) || st.Failed != 0 || st.Dropped != 0 || st.Types[len(st.Types)-1] != "setup_intent.canceled" {
		t.Errorf("counters %+v", st)
	}
}

// testScenarioWebhookRetries: an endpoint that fails is tried again, and given up after a few
// attempts; an event signed with another secret is refused by stripe-go.
func testScenarioWebhookRetries(t *testing.T, mock *devstack.StripeMock) {
	for _, tc := range []struct {
		name          string
		failFirst     int32
		secret        string
		wantDelivered int
		wantFailed    int
		wantAttempts  int
	}{
		{name: "fails twice then takes it", failFirst: 2, secret: "whsec_a", wantDelivered: 1, wantAttempts: 3},
		{name: "always fails", failFirst: 100, secret: "whsec_a", wantFailed: 1, wantAttempts: 4},
		{name: "wrong secret", secret: "whsec_other", wantFailed: 1, wantAttempts: 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rcv := newEventReceiver(t, "whsec_a", tc.failFirst)
			sc, api := freshScenario(t, mock, devstack.ScenarioOptions{
				WebhookURL:    rcv.srv.URL,
				WebhookSecret: func() string { return tc.secret },
				WebhookClient: rcv.srv.Client(),
			})
			start := time.Now()
			mustPay(t, api, api.card(cardPlain))
			if time.Since(start) > 2*time.Second {
				t.Errorf("the API answer waited for the webhook")
			}
			waitFor(t, "the delivery", func() bool { st := sc.Webhooks(); return st.Delivered+st.Failed == 1 })
			st := sc.Webhooks()
			if st.Delivered != tc.wantDelivered || st.Failed != tc.wantFailed || st.Attempts != tc.wantAttempts {
				t.Errorf("counters %+v", st)
			}
			if got, _ := rcv.seen(); tc.wantDelivered == 1 && (len(got) != 1 || got[0].typ != string(stripe.EventTypePaymentIntentSucceeded)) {
				t.Errorf("events %+v", got)
			}
		})
	}
}
