package proxy_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/tokenwall/tokenwall/devstack"
)

// TestAPIProblems: each way a /v1 request can go wrong answers its own problem type, with no
// card data and no internal error text, and loses nothing (no gateway call is made for a
// request refused before it).
func TestAPIProblems(t *testing.T) {
	h, fp := apiHarness(t)
	const declined = `{"error":{"type":"card_error","code":"card_declined","decline_code":"insufficient_funds","message":"Your card has insufficient funds."}}`
	const missing = `{"error":{"type":"invalid_request_error","code":"resource_missing","message":"No such payment_intent"}}`
	card := testCards[0].number
	if resp, body := h.api(http.MethodPost, "/v1/payments", "billing", []byte(`{"amount":100,"currency":"usd","token":"pm_card_visa"}`), "used-once"); resp.StatusCode != http.StatusCreated {
		t.Fatalf("first use of the key: %d %s", resp.StatusCode, body)
	}
	tests := []struct {
		name, method, path, key, idem, body string
		fault                               *devstack.Fault
		faults                              int // how many gateway attempts the fault answers
		status                              int
		problem, code                       string
		reachesGateway                      bool
	}{
		{name: "unknown field", body: `{"amount":100,"currency":"usd","token":"pm_card_visa","cvc":"123"}`, status: 400, problem: "unknown-field"},
		{name: "not JSON", body: `amount=100`, status: 400, problem: "malformed-request"},
		{name: "two objects", body: `{"amount":100,"currency":"usd","token":"pm_card_visa"}{}`, status: 400, problem: "malformed-request"},
		{name: "amount as text", body: `{"amount":"100","currency":"usd","token":"pm_card_visa"}`, status: 400, problem: "malformed-request"},
		{name: "amount zero", body: `{"amount":0,"currency":"usd","token":"pm_card_visa"}`, status: 422, problem: "invalid-amount"},
		{name: "amount negative", body: `{"amount":-5,"currency":"usd","token":"pm_card_visa"}`, status: 422, problem: "invalid-amount"},
		{name: "amount above the maximum", body: `{"amount":1000001,"currency":"usd","token":"pm_card_visa"}`, status: 422, problem: "invalid-amount"},
		{name: "currency upper case", body: `{"amount":100,"currency":"USD","token":"pm_card_visa"}`, status: 422, problem: "invalid-currency"},
		{name: "currency not ISO 4217", body: `{"amount":100,"currency":"xyz","token":"pm_card_visa"}`, status: 422, problem: "invalid-currency"},
		{name: "currency not allowed", body: `{"amount":100,"currency":"jpy","token":"pm_card_visa"}`, status: 422, problem: "currency-not-allowed"},
		{name: "token of the wrong shape", body: `{"amount":100,"currency":"usd","token":"tok_visa"}`, status: 422, problem: "invalid-token"},
		{name: "card number as token", body: `{"amount":100,"currency":"usd","token":"` + card + `"}`, status: 400, problem: "card-data-refused"},
		{name: "card number in metadata", body: `{"amount":100,"currency":"usd","token":"pm_card_visa","metadata":{"note":"` + card + `"}}`, status: 400, problem: "card-data-refused"},
		{name: "SSN in the description", body: `{"amount":100,"currency":"usd","token":"pm_card_visa","description":"ssn 078-05-1120"}`, status: 422, problem: "sensitive-data-refused"},
		{name: "capture method unknown", body: `{"amount":100,"currency":"usd","token":"pm_card_visa","capture":"later"}`, status: 422, problem: "invalid-parameter"},
		{name: "no idempotency key", idem: "-", body: `{"amount":100,"currency":"usd","token":"pm_card_visa"}`, status: 400, problem: "idempotency-key-missing"},
		{name: "idempotency key with a space", idem: "a b", body: `{"amount":100,"currency":"usd","token":"pm_card_visa"}`, status: 400, problem: "idempotency-key-missing"},
		{name: "idempotency key reused for another request", idem: "used-once", body: `{"amount":200,"currency":"usd","token":"pm_card_visa"}`, status: 409, problem: "idempotency-key-reused"},
		{name: "no api key", key: "-", body: `{"amount":100,"currency":"usd","token":"pm_card_visa"}`, status: 401, problem: "unauthenticated"},
		{name: "revoked key", key: "revoked", body: `{"amount":100,"currency":"usd","token":"pm_card_visa"}`, status: 401, problem: "revoked-api-key"},
		{name: "scope missing", key: "payments", path: "/v1/refunds", body: `{"payment":"pi_123"}`, status: 403, problem: "scope-missing"},
		{name: "payment id of the wrong shape", method: http.MethodGet, path: "/v1/payments/ch_123", status: 400, problem: "invalid-id"},
		{name: "unknown payment", method: http.MethodGet, path: "/v1/payments/pi_missing", fault: ptr(devstack.FaultAnswer(404, missing)), faults: 1, status: 404, problem: "unknown-payment", reachesGateway: true},
		{name: "card declined", body: `{"amount":100,"currency":"usd","token":"pm_card_visa"}`, fault: ptr(devstack.FaultAnswer(402, declined)), faults: 1, status: 402, problem: "card-declined", code: "insufficient_funds", reachesGateway: true},
		{name: "gateway unavailable", body: `{"amount":100,"currency":"usd","token":"pm_card_visa"}`, fault: ptr(devstack.FaultStatus(503)), faults: 3, status: 503, problem: "gateway-unavailable", reachesGateway: true},
		{name: "body too large", body: `{"amount":100,"currency":"usd","token":"pm_card_visa","description":"` + strings.Repeat("x", 70<<10) + `"}`, status: 413, problem: "body-too-large"},
		{name: "unknown endpoint", method: http.MethodGet, path: "/v1/charges", status: 404, problem: "not-found"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			method, path, key, idem := tc.method, tc.path, tc.key, tc.idem
			if method == "" {
				method = http.MethodPost
			}
			if path == "" {
				path = "/v1/payments"
			}
			switch key {
			case "":
				key = "billing"
			case "-":
				key = ""
			}
			switch {
			case idem == "-":
				idem = ""
			case idem == "" && method == http.MethodPost:
				idem = "problem-" + strings.Repeat("x", i%3) + tc.name[:3] + string(rune('a'+i))
			}
			if tc.fault != nil {
				// stripe-go retries a 503 (twice here), so that fault answers every attempt.
				fp.Inject(*tc.fault, tc.faults)
			}
			before := len(fp.Requests())
			var body []byte
			if tc.body != "" {
				body = []byte(tc.body)
			}
			resp, text := h.api(method, path, key, body, idem)
			typ, doc := problemOf(t, resp, text)
			if resp.StatusCode != tc.status || typ != tc.problem {
				t.Fatalf("%d %s, want %d %s: %s", resp.StatusCode, typ, tc.status, tc.problem, text)
			}
			if doc["status"] != float64(tc.status) || doc["title"] == "" || doc["instance"] == "" {
				t.Errorf("problem document %s", text)
			}
			if tc.code != "" && doc["code"] != tc.code {
				t.Errorf("code %v, want %s", doc["code"], tc.code)
			}
			if strings.Contains(text, card) || strings.Contains(text, "Your card has") || strings.Contains(text, "injected") ||
				strings.Contains(text, "sqlite") || strings.Contains(text, "078-05-1120") {
				t.Errorf("the problem leaks input or internal text: %s", text)
			}
			if reached := len(fp.Requests()) > before; reached != tc.reachesGateway {
				t.Errorf("reached the gateway: %v, want %v", reached, tc.reachesGateway)
			}
		})
	}
	if log := h.logText(); strings.Contains(log, card) {
		t.Error("the log holds the card number")
	}
	if n := len(h.events("card_escape_blocked")); n != 2 {
		t.Errorf("%d card_escape_blocked records, want 2", n)
	}
}

func ptr[T any](v T) *T { return &v }
