package proxy_test

import (
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
)

// seriesCount counts the request metrics' series on the admin listener.
func seriesCount(t *testing.T, h *harness) int {
	t.Helper()
	n := 0
	for _, line := range strings.Split(get(t, h.adminURL+"/metrics"), "\n") {
		if strings.HasPrefix(line, "tokenwall_requests_total{") || strings.HasPrefix(line, "tokenwall_request_duration_seconds_count{") {
			n++
		}
	}
	return n
}

// TestRandomMethodsAndPathsAddNoSeries (issue 12, defect 3): methods outside the standard set
// get 501 before routing, and 1,000 requests with random methods and paths leave the
// number of metric series unchanged: labels come from a closed set, never from what a
// client sends.
func TestRandomMethodsAndPathsAddNoSeries(t *testing.T) {
	h := newHarness(t, options{api: true})
	send := func(method, path string) int {
		req, err := http.NewRequest(method, h.url+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, _ := h.do(req)
		return resp.StatusCode
	}
	// One request of each kind first, so that their series exist.
	for _, m := range []string{"PROPFIND", http.MethodGet, http.MethodPost, http.MethodDelete} {
		send(m, "/warm")
		send(m, "/v1/warm")
	}
	before := seriesCount(t, h)
	rng := rand.New(rand.NewPCG(1, 2))
	letters := "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	word := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = letters[rng.IntN(len(letters))]
		}
		return string(b)
	}
	for i := range 1000 {
		path := "/" + strings.ToLower(word(1+rng.IntN(40)))
		if i%3 == 0 {
			path = "/v1" + path
		}
		if i%2 == 0 {
			method := "X" + word(1+rng.IntN(2000))
			if got := send(method, path); got != http.StatusNotImplemented {
				t.Fatalf("method of %d bytes: status %d, want 501", len(method), got)
			}
			continue
		}
		send([]string{http.MethodGet, http.MethodPost, http.MethodDelete}[rng.IntN(3)], path)
	}
	if after := seriesCount(t, h); after != before {
		t.Fatalf("%d series before, %d after 1,000 random requests", before, after)
	}
	if log := h.logText(); strings.Contains(log, `"method":"X`) {
		t.Error("the log holds a client's method")
	}
}
