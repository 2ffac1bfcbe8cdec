package proxy_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/tokenwall/tokenwall/audit"
)

// TestClientRequestIDCannotSwitchOffTheTrail (issue 12, defect 2): a client's X-Request-ID
// shaped like an SSN used to become the audit records' request id, which the trail refuses:
// a bad key got its 401 unaudited and a charge happened at the gateway without a record.
// tokenwall's own id is used everywhere now; the client's is only logged beside it.
func TestClientRequestIDCannotSwitchOffTheTrail(t *testing.T) {
	h := newHarness(t, options{api: true})
	const ssn = "078-05-1120"
	send := func(key string, body []byte, idem string) (*http.Response, string) {
		req, err := http.NewRequest(http.MethodPost, h.url+"/v1/payments", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Request-ID", ssn)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", idem)
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		return h.do(req)
	}
	pay := []byte(`{"amount":1500,"currency":"usd","token":"pm_card_visa"}`)

	resp, body := send("twk_"+strings.Repeat("a", 16)+"_"+strings.Repeat("b", 64), pay, "ssn-1")
	id := resp.Header.Get("X-Request-Id")
	if resp.StatusCode != http.StatusUnauthorized || id == ssn || id == "" {
		t.Fatalf("bad key: %d, request id %q: %s", resp.StatusCode, id, body)
	}
	if evs := h.events(audit.EventAPIAuthFailed); len(evs) != 1 || evs[0].RequestID != id {
		t.Fatalf("api_auth_failed records %+v, want one with tokenwall's request id %s", evs, id)
	}

	resp, body = send(h.keys["billing"], pay, "ssn-2")
	id = resp.Header.Get("X-Request-Id")
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("charge: %d %s", resp.StatusCode, body)
	}
	intents, charges := h.events(audit.EventChargeRequested), h.events(audit.EventCharge)
	if len(intents) != 1 || len(charges) != 1 || intents[0].RequestID != id || charges[0].RequestID != id || intents[0].Seq >= charges[0].Seq {
		t.Fatalf("charge_requested %+v, charge %+v: want one of each, the intent first, both with request id %s", intents, charges, id)
	}
	if log := h.logText(); !strings.Contains(log, `"client_request_id":`) {
		t.Error("the summary line does not name the client's request id")
	}
}

// TestRefusalAnswersWhenTheTrailFails (issue 12, defect 2): a refusal whose audit record
// cannot be written still answers with its own status; the failure is counted and logged.
// (An action is different: its intent must be written first; see payments.)
func TestRefusalAnswersWhenTheTrailFails(t *testing.T) {
	h := newHarness(t, options{api: true})
	ctx := t.Context()
	if err := h.store.RawExec(ctx, `CREATE TRIGGER audit_down BEFORE INSERT ON audit_records BEGIN SELECT RAISE(FAIL, 'audit store down'); END`); err != nil {
		t.Fatal(err)
	}
	resp, body := h.api(http.MethodGet, "/v1/admin/webhooks", "Bearer twk_short", nil, "")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("bad key with the trail down: %d %s, want 401", resp.StatusCode, body)
	}
	resp, body = h.api(http.MethodPost, "/v1/payments", "billing", []byte(`{"amount":1500,"currency":"usd","token":"pm_card_visa"}`), "down-1")
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("charge with the trail down: %d %s, want 503 (its intent cannot be written)", resp.StatusCode, body)
	}
	if err := h.store.RawExec(ctx, `DROP TRIGGER audit_down`); err != nil {
		t.Fatal(err)
	}
	metrics := get(t, h.adminURL+"/metrics")
	for _, want := range []string{`tokenwall_audit_write_failures_total{event="api_auth_failed"} 1`, `tokenwall_audit_write_failures_total{event="charge_requested"} 1`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if log := h.logText(); !strings.Contains(log, `"audit_event":"api_auth_failed"`) {
		t.Error("the failed audit write is not logged")
	}
	if n := len(h.events(audit.EventCharge)); n != 0 {
		t.Errorf("%d charge records: the gateway was called without its intent", n)
	}
}
