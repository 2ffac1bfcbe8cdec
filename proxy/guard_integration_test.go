package proxy_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestCardEscapeAlertPathsForwardAndAlert: under card_escape.alert_paths a card outside a
// tokenization route is forwarded, counted and logged (masked) instead of refused.
func TestCardEscapeAlertPathsForwardAndAlert(t *testing.T) {
	h := newHarness(t, options{alertPaths: []string{"/legacy/"}})
	resp, body := h.post("/legacy/notes", formCT, []byte("note=card+"+visa))
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "upstream got POST /legacy/notes") {
		t.Fatalf("alert path: status %d %q, want forwarded", resp.StatusCode, body)
	}
	if resp, _ := h.post("/other/notes", formCT, []byte("note=card+"+visa)); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("outside the alert paths: %d, want 400", resp.StatusCode)
	}
	m := get(t, h.adminURL+"/metrics")
	for _, want := range []string{
		`tokenwall_card_escapes_total{action="alerted",where="body"} 1`,
		`tokenwall_card_escapes_total{action="refused",where="body"} 1`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	log := h.logText()
	if !strings.Contains(log, "card_escape.alert_paths") || !strings.Contains(log, `"card_where":"body"`) {
		t.Error("no alert line in the log")
	}
	assertNoCard(t, "tokenwall log", []byte(log))
}

// TestUpstreamResponseCarryingACardIsAlerted: the response is passed on unchanged (the app
// shows the customer their own page) but counted and logged.
func TestUpstreamResponseCarryingACardIsAlerted(t *testing.T) {
	h := newHarness(t, options{})
	resp, body := h.do(mustRequest(t, http.MethodGet, h.url+"/leaky"))
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, leakyCard) {
		t.Fatalf("status %d: the response must pass through unchanged", resp.StatusCode)
	}
	if _, body := h.do(mustRequest(t, http.MethodGet, h.url+"/clean")); strings.Contains(body, "card") {
		t.Fatal("clean page changed")
	}
	if m := get(t, h.adminURL+"/metrics"); !strings.Contains(m, "tokenwall_upstream_card_responses_total 1") {
		t.Error("metric tokenwall_upstream_card_responses_total is not 1")
	}
	log := h.logText()
	if !strings.Contains(log, "upstream response carried a card number") {
		t.Error("no alert line in the log")
	}
	assertNoCard(t, "tokenwall log", []byte(log))
}
