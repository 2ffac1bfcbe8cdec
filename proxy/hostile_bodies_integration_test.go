package proxy_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestMalformedMultipartCVCNeverLogged (issue 12, defect 8): a multipart part whose header
// line is a bare CVC makes the MIME parser's error quote it ("missing colon: \"987\""); the
// request is refused and neither the answer nor the log nor the audit trail holds it.
func TestMalformedMultipartCVCNeverLogged(t *testing.T) {
	h := newHarness(t, options{})
	const cvc = "987"
	for _, tc := range []struct {
		name, body string
	}{
		{name: "part header is the cvc", body: "--XB\r\n" + cvc + "\r\n\r\nx\r\n--XB--\r\n"},
		{name: "cvc after a good header", body: "--XB\r\nContent-Disposition: form-data; name=\"card_cvc\"\r\n" + cvc + "\r\n\r\nx\r\n--XB--\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := h.post("/upload/checkout", "multipart/form-data; boundary=XB", []byte(tc.body))
			if resp.StatusCode != http.StatusBadRequest || strings.Contains(body, cvc) {
				t.Fatalf("status %d body %q, want a 400 without the cvc", resp.StatusCode, body)
			}
		})
	}
	if log := h.logText(); strings.Contains(log, cvc) || !strings.Contains(log, "multipart") {
		t.Errorf("the log holds the cvc, or lacks the fixed reason:\n%s", log)
	}
	for _, r := range h.events("tokenize_failed") {
		if strings.Contains(r.Resource+r.Details+r.Reason, cvc) {
			t.Errorf("audit record %+v holds the cvc", r)
		}
	}
}
