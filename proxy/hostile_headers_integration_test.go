package proxy_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestHostNotPublicIsMisdirected (issue 12): a request whose Host is not one of
// listen.public_hosts is answered 421 and reaches neither the app nor the API, so the app
// never builds a link from a Host an attacker chose; /healthz and /readyz answer whatever the
// Host; a listed host is served with its port, in any case, and as a bracketed IPv6 literal.
func TestHostNotPublicIsMisdirected(t *testing.T) {
	h := newHarness(t, options{api: true, publicHosts: []string{"pay.example.test", "::1"}})
	own, err := url.Parse(h.url)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, method, path, host string
		status                   int
		reachesApp               bool
	}{
		{name: "unknown host", method: http.MethodGet, path: "/orders", host: "evil.example", status: http.StatusMisdirectedRequest},
		{name: "unknown host with a port", method: http.MethodGet, path: "/orders", host: "evil.example:443", status: http.StatusMisdirectedRequest},
		{name: "listed name as a suffix", method: http.MethodGet, path: "/orders", host: "evil.pay.example.test", status: http.StatusMisdirectedRequest},
		{name: "unknown host on a tokenization route", method: http.MethodPost, path: "/checkout/submit", host: "evil.example", status: http.StatusMisdirectedRequest},
		{name: "unknown host posting to the health path", method: http.MethodPost, path: "/healthz", host: "evil.example", status: http.StatusMisdirectedRequest},
		{name: "health with an unknown host", method: http.MethodGet, path: "/healthz", host: "evil.example", status: http.StatusOK},
		{name: "readiness with an unknown host", method: http.MethodGet, path: "/readyz", host: "evil.example", status: http.StatusOK},
		{name: "the harness's own host and port", method: http.MethodGet, path: "/orders", host: own.Host, status: http.StatusOK, reachesApp: true},
		{name: "listed name with a port", method: http.MethodGet, path: "/orders", host: "pay.example.test:8443", status: http.StatusOK, reachesApp: true},
		{name: "listed name in upper case", method: http.MethodGet, path: "/orders", host: "PAY.Example.TEST", status: http.StatusOK, reachesApp: true},
		{name: "listed name with a trailing dot", method: http.MethodGet, path: "/orders", host: "pay.example.test.", status: http.StatusOK, reachesApp: true},
		{name: "listed IPv6 literal", method: http.MethodGet, path: "/orders", host: "[::1]:8443", status: http.StatusOK, reachesApp: true},
	}
	for _, tc := range tests {
		h.subtest(t, tc.name, func(t *testing.T) {
			before := len(h.up.requests())
			resp, body := h.sendWithHost(tc.method, tc.path, tc.host)
			if resp.StatusCode != tc.status {
				t.Fatalf("%s %s with Host %q: %d %q, want %d", tc.method, tc.path, tc.host, resp.StatusCode, body, tc.status)
			}
			if tc.status == http.StatusMisdirectedRequest && body != "misdirected request\n" {
				t.Errorf("body %q, want the fixed text", body)
			}
			if reached := len(h.up.requests()) > before; reached != tc.reachesApp {
				t.Errorf("reached the app: %v, want %v", reached, tc.reachesApp)
			}
		})
	}
	h.subtest(t, "the API answers a problem and does nothing", func(t *testing.T) {
		req, err := http.NewRequest(http.MethodDelete, h.url+"/v1/customers/cus_Misdirected", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = "evil.example"
		req.Header.Set("Authorization", "Bearer "+h.keys["billing"])
		resp, body := h.do(req)
		if typ, _ := problemOf(t, resp, body); resp.StatusCode != http.StatusMisdirectedRequest || typ != "misdirected-request" {
			t.Fatalf("%d %s, want 421 misdirected-request", resp.StatusCode, body)
		}
		if n := len(h.events("erasure_requested")); n != 0 {
			t.Errorf("%d erasure_requested records for a misdirected request", n)
		}
	})
	h.subtest(t, "logged without the host", func(t *testing.T) {
		log := h.logText()
		if !strings.Contains(log, "misdirected request") {
			t.Error("no log line for the misdirected requests")
		}
		if strings.Contains(log, "evil.example") {
			t.Error("the log holds the client's Host")
		}
	})
}

// sendWithHost sends a request to the harness with Host header host; the connection still
// goes to the harness's address.
func (h *harness) sendWithHost(method, path, host string) (*http.Response, string) {
	h.t.Helper()
	req, err := http.NewRequest(method, h.url+path, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	req.Host = host
	return h.do(req)
}
