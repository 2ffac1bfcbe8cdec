package proxy_test

import (
	"bufio"
	"crypto/tls"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
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

// TestSmugglingCLTEClosesTheConnection (issue 12, defect 10): a request with both
// Content-Length and Transfer-Encoding, with a second request pipelined behind it on the
// same HTTP/1.1 connection: the first is answered and the connection closed, so the second
// gets no response.
func TestSmugglingCLTEClosesTheConnection(t *testing.T) {
	h := newHarness(t, options{})
	conn, err := tls.Dial("tcp", strings.TrimPrefix(h.url, "https://"), &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}}) //nolint:gosec // the harness's self-signed certificate
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	host := strings.TrimPrefix(h.url, "https://")
	smuggled := "GET /smuggled HTTP/1.1\r\nHost: " + host + "\r\n\r\n"
	first := "POST /orders HTTP/1.1\r\nHost: " + host + "\r\nContent-Type: text/plain\r\n" +
		"Content-Length: " + strconv.Itoa(5+len(smuggled)) + "\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
	if _, err := conn.Write([]byte(first + smuggled)); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	rd := bufio.NewReader(conn)
	resp, err := http.ReadResponse(rd, nil)
	if err != nil {
		t.Fatalf("no answer to the first request: %v", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if second, err := http.ReadResponse(rd, nil); err == nil {
		t.Fatalf("the pipelined request was answered: %d", second.StatusCode)
	}
	for _, r := range h.up.requests() {
		if r.Path == "/smuggled" {
			t.Fatal("the smuggled request reached the app")
		}
	}
}
