package proxy_test

import (
	"net/http"
	"testing"

	"github.com/tokenwall/tokenwall/devstack"
)

// TestAPIIdempotencyAcrossLostResponses: the gateway's first response is lost (the fault
// proxy lets stripe-mock create the PaymentIntent, then drops the connection). stripe-go
// retries with the same Idempotency-Key, so the gateway creates one PaymentIntent (stripe-mock
// does not dedupe, real Stripe does: the test asserts the key is the same on every attempt),
// and tokenwall stores one response, which the client's retry gets back without another call.
// When every attempt is lost the client gets 503, nothing is stored, and its retry with the
// same key goes to the gateway with the same gateway key again.
func TestAPIIdempotencyAcrossLostResponses(t *testing.T) {
	h, fp := apiHarness(t)
	pay := []byte(`{"amount":4200,"currency":"eur","token":"pm_card_mastercard"}`)

	fp.Inject(devstack.FaultDropResponse(), 1)
	resp, body := h.api(http.MethodPost, "/v1/payments", "billing", pay, "lost-once")
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("after one lost response: %d %s", resp.StatusCode, body)
	}
	n, keys := gatewayCalls(fp, http.MethodPost, "/v1/payment_intents")
	if n != 2 || keys[0] != keys[1] || keys[0] == "" {
		t.Fatalf("gateway attempts %d with keys %v: want 2 with one key", n, keys)
	}
	again, body2 := h.api(http.MethodPost, "/v1/payments", "billing", pay, "lost-once")
	if again.StatusCode != http.StatusCreated || body2 != body || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("client retry: %d, same body %v", again.StatusCode, body2 == body)
	}
	if n, _ := gatewayCalls(fp, http.MethodPost, "/v1/payment_intents"); n != 2 {
		t.Fatalf("the client's retry reached the gateway (%d attempts)", n)
	}
	if got := len(h.events("charge")); got != 1 {
		t.Fatalf("%d charge records, want 1", got)
	}

	// Every attempt of the next request (stripe-go's retries, and the transport's own replays
	// of a request on a reused connection) is lost.
	fp.Inject(devstack.FaultDropResponse(), 50)
	resp, body = h.api(http.MethodPost, "/v1/payments", "billing", pay, "lost-always")
	fp.Reset()
	lost, _ := gatewayCalls(fp, http.MethodPost, "/v1/payment_intents")
	lost -= 2
	typ, _ := problemOf(t, resp, body)
	if resp.StatusCode != http.StatusServiceUnavailable || typ != "gateway-unavailable" || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("all attempts lost: %d %s", resp.StatusCode, body)
	}
	resp, _ = h.api(http.MethodPost, "/v1/payments", "billing", pay, "lost-always")
	if resp.StatusCode != http.StatusCreated || resp.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("retry after 503: %d replayed=%q", resp.StatusCode, resp.Header.Get("Idempotent-Replayed"))
	}
	_, keys = gatewayCalls(fp, http.MethodPost, "/v1/payment_intents")
	if lost < 3 || len(keys) != 2+lost+1 {
		t.Fatalf("%d gateway attempts, %d of them lost: want at least 3 lost (stripe-go retries twice) and one more", len(keys), lost)
	}
	for _, k := range keys[3:] {
		if k != keys[2] || k == keys[0] {
			t.Fatalf("the attempts of one client request used different gateway keys: %v", keys[2:])
		}
	}
	if evs := h.events("charge"); len(evs) != 3 || evs[1].Outcome != "failure" || evs[1].Reason != "gateway_unavailable" {
		t.Fatalf("charge records %+v", evs)
	}
}
