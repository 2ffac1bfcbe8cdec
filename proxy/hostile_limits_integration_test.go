package proxy_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestOversizedHeadersGet431 (issue 12, defect 1): a header block past listen.max_header_bytes
// (32 KiB) is answered 431 before any handler; one just under it with a user agent of
// chained card numbers is served, and the summary line logs the user agent cut short and
// masked.
func TestOversizedHeadersGet431(t *testing.T) {
	h := newHarness(t, options{})
	send := func(ua string) int {
		req, err := http.NewRequest(http.MethodGet, h.url+"/healthz", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("User-Agent", ua)
		resp, _ := h.do(req)
		return resp.StatusCode
	}
	if got := send(strings.Repeat("a", 40<<10)); got != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("40 KiB user agent: status %d, want 431", got)
	}
	chained := strings.Repeat("4242-4242-4242-4242-", (28<<10)/20)
	if got := send(chained); got != http.StatusOK {
		t.Fatalf("28 KiB user agent: status %d, want 200", got)
	}
	log := h.logText()
	if strings.Contains(log, "4242-4242-4242-4242") {
		t.Error("a card number in the user agent reached the log")
	}
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, `"user_agent":"[card`) && len(line) > 2048 {
			t.Errorf("the user agent was logged whole: a %d-byte line", len(line))
		}
	}
}
