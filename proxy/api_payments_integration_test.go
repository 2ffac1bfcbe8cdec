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
	resp, body := h.api(http.MethodPost, "/v1/payments", "billing", pay, "order-1042")
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create payment: %d %s", resp.StatusCode, body)
	}
	p := decode(t, body)
	id, _ := p["id"].(string)
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

	again, body2 := h.api(http.MethodPost, "/v1/payments", "billing", pay, "order-1042")
	if again.StatusCode != http.StatusCreated || body2 != body || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("repeat: %d replayed=%q, same body %v", again.StatusCode, again.Header.Get("Idempotent-Replayed"), body2 == body)
	}
	if n, _ := gatewayCalls(fp, http.MethodPost, "/v1/payment_intents"); n != 1 {
		t.Fatalf("the repeat reached the gateway: %d creates", n)
	}
	// The same key from another API key is another request.
	if resp, _ := h.api(http.MethodPost, "/v1/payments", "payments", pay, "order-1042"); resp.StatusCode != http.StatusCreated ||
		resp.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("same Idempotency-Key, other API key: %d", resp.StatusCode)
	}

	steps := []struct {
		name, method, path, key, idem string
		body                          string
		status                        int
	}{
		{"read", http.MethodGet, "/v1/payments/" + id, "billing", "", "", http.StatusOK},
		{"capture", http.MethodPost, "/v1/payments/" + id + "/capture", "billing", "cap-1042", `{"amount":1500}`, http.StatusOK},
		{"refund", http.MethodPost, "/v1/refunds", "billing", "ref-1042", `{"payment":"` + id + `","amount":500}`, http.StatusCreated},
		{"customer", http.MethodPost, "/v1/customers", "billing", "cus-ada", `{"email":"ada@example.com","name":"Ada Lovelace"}`, http.StatusCreated},
	}
	for _, st := range steps {
		var b []byte
		if st.body != "" {
			b = []byte(st.body)
		}
		resp, body := h.api(st.method, st.path, st.key, b, st.idem)
		if resp.StatusCode != st.status {
			t.Fatalf("%s: %d %s", st.name, resp.StatusCode, body)
		}
		if st.name == "customer" {
			cus, _ := decode(t, body)["id"].(string)
			resp, body := h.api(http.MethodPost, "/v1/customers/"+cus+"/payment-methods", "billing", []byte(`{"token":"pm_card_visa"}`), "attach-ada")
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
	}
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
	// The audit trail names customers only by pseudonym.
	for _, typ := range []string{"customer_created", "payment_method_attached", "erasure"} {
		for _, ev := range h.events(typ) {
			if strings.Contains(ev.Resource, "cus_") || !strings.HasPrefix(ev.Resource, "subject:") {
				t.Errorf("%s names the customer: %q", typ, ev.Resource)
			}
		}
	}
	if log := h.logText(); strings.Contains(log, "ada@example.com") || strings.Contains(log, "Ada Lovelace") {
		t.Error("the log holds the customer's email or name")
	}
}
