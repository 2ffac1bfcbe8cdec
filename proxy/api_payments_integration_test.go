package proxy_test

import (
	"encoding/json"
	"github.com/tokenwall/tokenwall/apikey"
	"github.com/tokenwall/tokenwall/payments"
	"net/http"
	"strings"
	"testing"

	"github.com/tokenwall/tokenwall/devstack"
)

// apiHarness is a tokenwall with /v1 on, whose gateway is stripe-mock behind a fault proxy
// that records every request (and can fail them).
func apiHarness(t *testing.T) (*harness, *devstack.FaultProxy) {
	t.Helper()
	fp, err := devstack.NewFaultProxy(sharedStripe.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fp.Close() })
	return newHarness(t, options{api: true, webhooks: true, stripeURL: fp.URL(), retries: 2}), fp
}

// gatewayCalls counts the requests the gateway saw to path with method.
func gatewayCalls(fp *devstack.FaultProxy, method, path string) (n int, keys []string) {
	for _, r := range fp.Requests() {
		if r.Method == method && r.Path == path {
			n++
			keys = append(keys, r.IdempotencyKey)
		}
	}
	return n, keys
}

func decode(t *testing.T, body string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("body %q: %v", body, err)
	}
	return m
}

// TestAPIPaymentsFlow: charge, read, capture, refund, create a customer, attach a token and
// erase the customer through a running tokenwall, against stripe-mock. Every call is audited
// under the calling key; a repeated Idempotency-Key answers the stored response without a
// second gateway call; nothing of a card but brand and last4 is answered.
func TestAPIPaymentsFlow(t *testing.T) {
	h, fp := apiHarness(t)
	pay := []byte(`{"amount":2000,"currency":"usd","token":"pm_card_visa","capture":"manual","description":"Order 1042","metadata":{"order":"1042"}}`)
	id, body := createPayment(t, h, fp, pay)
	if !h.subtest(t, "a repeated Idempotency-Key answers the stored response", func(t *testing.T) {
		checkIdempotentRepeat(t, h, fp, pay, body)
	}) {
		t.FailNow()
	}
	runPaymentSteps(t, h, id)
	if !h.subtest(t, "customer: create, attach a token, erase", func(t *testing.T) {
		createAttachErase(t, h, fp)
	}) {
		t.FailNow()
	}
	h.subtest(t, "every call is audited under the calling key", func(t *testing.T) {
		for _, typ := range []string{"charge", "api_read", "capture", "refund", "customer_created", "payment_method_attached", "erasure"} {
			evs := h.events(typ)
			if len(evs) == 0 {
				t.Errorf("no %s audit record", typ)
				continue
			}
			if !strings.HasPrefix(evs[0].Actor, apikey.ActorPrefix) || evs[0].Outcome != "success" {
				t.Errorf("%s: actor %q outcome %s", typ, evs[0].Actor, evs[0].Outcome)
			}
		}
	})
	h.subtest(t, "the audit trail names customers only by pseudonym", func(t *testing.T) {
		for _, typ := range []string{"customer_created", "payment_method_attached", "erasure"} {
			for _, ev := range h.events(typ) {
				if strings.Contains(ev.Resource, "cus_") || !strings.HasPrefix(ev.Resource, "subject:") {
					t.Errorf("%s names the customer: %q", typ, ev.Resource)
				}
			}
		}
	})
	h.subtest(t, "the log holds no customer email or name", func(t *testing.T) {
		if log := h.logText(); strings.Contains(log, "ada@example.com") || strings.Contains(log, "Ada Lovelace") {
			t.Error("the log holds the customer's email or name")
		}
	})
}

// createPayment creates a payment of pay through the API and checks the answer: a payment
// object with nothing of the card, made with one gateway call under a tokenwall idempotency
// key. It returns the payment's id and the answer's body.
func createPayment(t *testing.T, h *harness, fp *devstack.FaultProxy, pay []byte) (id, body string) {
	t.Helper()
	resp, body := h.api(http.MethodPost, "/v1/payments", "billing", pay, "order-1042")
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create payment: %d %s", resp.StatusCode, body)
	}
	p := decode(t, body)
	id, _ = p["id"].(string)
	if !strings.HasPrefix(id, "pi_") || p["object"] != "payment" || p["amount"] != float64(2000) || p["currency"] != "usd" {
		t.Fatalf("payment %s", body)
	}
	for _, k := range []string{"card", "number", "cvc", "exp_month", "fingerprint"} {
		if _, ok := p[k]; ok {
			t.Errorf("the payment answer has %q", k)
		}
	}
	n, keys := gatewayCalls(fp, http.MethodPost, "/v1/payment_intents")
	if n != 1 || !strings.HasPrefix(keys[0], "tw_") {
		t.Fatalf("gateway saw %d creates, keys %v", n, keys)
	}
	return id, body
}

// checkIdempotentRepeat sends pay again with the Idempotency-Key of createPayment: the same
// API key gets the stored answer (first) without a gateway call; another API key makes
// another payment.
func checkIdempotentRepeat(t *testing.T, h *harness, fp *devstack.FaultProxy, pay []byte, first string) {
	t.Helper()
	again, body2 := h.api(http.MethodPost, "/v1/payments", "billing", pay, "order-1042")
	if again.StatusCode != http.StatusCreated || body2 != first || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("repeat: %d replayed=%q, same body %v", again.StatusCode, again.Header.Get("Idempotent-Replayed"), body2 == first)
	}
	if n, _ := gatewayCalls(fp, http.MethodPost, "/v1/payment_intents"); n != 1 {
		t.Fatalf("the repeat reached the gateway: %d creates", n)
	}
	// The same key from another API key is another request.
	if resp, _ := h.api(http.MethodPost, "/v1/payments", "payments", pay, "order-1042"); resp.StatusCode != http.StatusCreated ||
		resp.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("same Idempotency-Key, other API key: %d", resp.StatusCode)
	}
}

// runPaymentSteps reads, captures and refunds payment id, one subtest per step, in order;
// the test stops at the first step that fails, since each builds on the one before.
func runPaymentSteps(t *testing.T, h *harness, id string) {
	t.Helper()
	steps := []struct {
		name, method, path, key, idem string
		body                          string
		status                        int
	}{
		{"read", http.MethodGet, "/v1/payments/" + id, "billing", "", "", http.StatusOK},
		{"capture", http.MethodPost, "/v1/payments/" + id + "/capture", "billing", "cap-1042", `{"amount":1500}`, http.StatusOK},
		{"refund", http.MethodPost, "/v1/refunds", "billing", "ref-1042", `{"payment":"` + id + `","amount":500}`, http.StatusCreated},
	}
	for _, st := range steps {
		if !h.subtest(t, st.name, func(t *testing.T) {
			var b []byte
			if st.body != "" {
				b = []byte(st.body)
			}
			resp, body := h.api(st.method, st.path, st.key, b, st.idem)
			if resp.StatusCode != st.status {
				t.Fatalf("%s: %d %s", st.name, resp.StatusCode, body)
			}
		}) {
			t.FailNow()
		}
	}
}

// createAttachErase creates a customer, attaches a card token to it and erases it: the
// receipt names the customer and its five steps, and the gateway deleted the customer once.
func createAttachErase(t *testing.T, h *harness, fp *devstack.FaultProxy) {
	t.Helper()
	resp, body := h.api(http.MethodPost, "/v1/customers", "billing", []byte(`{"email":"ada@example.com","name":"Ada Lovelace"}`), "cus-ada")
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("customer: %d %s", resp.StatusCode, body)
	}
	cus, _ := decode(t, body)["id"].(string)
	resp, body = h.api(http.MethodPost, "/v1/customers/"+cus+"/payment-methods", "billing", []byte(`{"token":"pm_card_visa"}`), "attach-ada")
	if resp.StatusCode != http.StatusCreated || decode(t, body)["object"] != "payment_method" {
		t.Fatalf("attach: %d %s", resp.StatusCode, body)
	}
	resp, body = h.api(http.MethodDelete, "/v1/customers/"+cus, "billing", nil, "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("erase: %d %s", resp.StatusCode, body)
	}
	var rc payments.ErasureReceipt
	if err := json.Unmarshal([]byte(body), &rc); err != nil || rc.Customer != cus || len(rc.Steps) != 5 || rc.Object != "erasure_receipt" {
		t.Fatalf("receipt %s (%v)", body, err)
	}
	if n, _ := gatewayCalls(fp, http.MethodDelete, "/v1/customers/"+cus); n != 1 {
		t.Fatalf("the gateway saw %d customer deletes", n)
	}
}
