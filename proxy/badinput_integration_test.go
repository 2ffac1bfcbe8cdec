package proxy_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/scrub"
)

// TestBadInput names each malformed or invalid input and what it must get: a clear status
// from tokenwall with nothing forwarded, or a forwarded body carrying only an error code.
// No reply, forwarded body or log line may hold card data.
func TestBadInput(t *testing.T) {
	h := newHarness(t, options{})
	deep := strings.Repeat(`{"a":`, 40) + `1` + strings.Repeat(`}`, 40)
	cases := []struct {
		name     string
		path, ct string
		body     string
		status   int    // tokenwall's own answer; 200 means forwarded
		code     string // error code the app must receive when forwarded
	}{
		{name: "malformed form escape", path: "/checkout/submit", ct: formCT, body: "card_number=%zz&card_exp=12/34", status: 400},
		{name: "invalid utf-8 form", path: "/checkout/submit", ct: formCT, body: "card_name=\xff\xfe&card_number=" + visa, status: 400},
		{name: "invalid utf-8 after unescape", path: "/checkout/submit", ct: formCT, body: "card_name=%ff&card_number=" + visa, status: 400},
		{name: "malformed json", path: "/api/checkout", ct: "application/json", body: `{"payment":{"card":{"number":"` + visa + `"`, status: 400},
		{name: "json nested past the limit", path: "/api/checkout", ct: "application/json", body: deep, status: 400},
		{name: "json not an object", path: "/api/checkout", ct: "application/json", body: `["` + visa + `"]`, status: 400},
		{name: "wrong content type", path: "/checkout/submit", ct: "text/plain", body: "card_number=" + visa, status: 415},
		{name: "json to a form route", path: "/checkout/submit", ct: "application/json", body: `{"card_number":"` + visa + `"}`, status: 415},
		{name: "card in a non-card field", path: "/checkout/submit", ct: formCT, body: "notes=" + visa + "&card_number=" + amex + "&card_exp=12/34&card_cvc=1234", status: 400},
		{name: "missing card number", path: "/checkout/submit", ct: formCT, body: "card_exp=12/34&card_cvc=123", status: 200, code: "incomplete_number"},
		{name: "number with letters", path: "/checkout/submit", ct: formCT, body: "card_number=4242abcd42424242&card_exp=12/34&card_cvc=123", status: 200, code: "invalid_number"},
		{name: "number too short", path: "/checkout/submit", ct: formCT, body: "card_number=42424242&card_exp=12/34&card_cvc=123", status: 200, code: "incomplete_number"},
		{name: "number 25 digits", path: "/checkout/submit", ct: formCT, body: "card_number=4242424242424242424242424&card_exp=12/34&card_cvc=123", status: 200, code: "invalid_number"},
		{name: "luhn invalid", path: "/checkout/submit", ct: formCT, body: "card_number=4242424242424241&card_exp=12/34&card_cvc=123", status: 200, code: "invalid_number"},
		{name: "unknown issuer", path: "/checkout/submit", ct: formCT, body: "card_number=9999999999999995&card_exp=12/34&card_cvc=123", status: 200, code: "invalid_number"},
		{name: "expiry month 13", path: "/checkout/submit", ct: formCT, body: "card_number=" + visa + "&card_exp=13/30&card_cvc=123", status: 200, code: "invalid_expiry"},
		{name: "expiry month 00", path: "/checkout/submit", ct: formCT, body: "card_number=" + visa + "&card_exp=00/30&card_cvc=123", status: 200, code: "invalid_expiry"},
		{name: "expiry in the past", path: "/checkout/submit", ct: formCT, body: "card_number=" + visa + "&card_exp=01/20&card_cvc=123", status: 200, code: "expired_card"},
		{name: "missing expiry", path: "/checkout/submit", ct: formCT, body: "card_number=" + visa + "&card_cvc=123", status: 200, code: "incomplete_expiry"},
		{name: "cvc too short", path: "/checkout/submit", ct: formCT, body: "card_number=" + visa + "&card_exp=12/34&card_cvc=12", status: 200, code: "invalid_cvc"},
		{name: "amex cvc of three", path: "/checkout/submit", ct: formCT, body: "card_number=" + amex + "&card_exp=12/34&card_cvc=123", status: 200, code: "invalid_cvc"},
		{name: "json number as a json number", path: "/api/checkout", ct: "application/json", body: `{"payment":{"card":{"number":4242424242424241,"exp_month":1,"exp_year":2030,"cvc":"123"}}}`, status: 200, code: "invalid_number"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := len(h.up.requests())
			resp, body := h.post(tc.path, tc.ct, []byte(tc.body))
			assertNoCard(t, "reply", []byte(body))
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d (%q), want %d", resp.StatusCode, body, tc.status)
			}
			reqs := h.up.requests()
			if tc.status != 200 {
				if len(reqs) != before {
					t.Fatalf("a refused request was forwarded")
				}
				return
			}
			if len(reqs) != before+1 {
				t.Fatalf("forwarded %d requests, want 1", len(reqs)-before)
			}
			got := reqs[len(reqs)-1]
			assertNoCard(t, "forwarded body", got.Body)
			var code string
			if tc.ct == formCT {
				v, err := url.ParseQuery(string(got.Body))
				if err != nil {
					t.Fatal(err)
				}
				code = v.Get("card_error")
				if v.Has("card_number") || v.Has("card_cvc") || v.Has("payment_method") {
					t.Errorf("forwarded body keeps card fields or a token: %s", got.Body)
				}
			} else {
				code = jsonField(t, got.Body, "payment", "error")
			}
			if code != tc.code {
				t.Errorf("error code %q, want %q", code, tc.code)
			}
		})
	}
	assertNoCard(t, "tokenwall log", []byte(h.logText()))
	failed := h.events(audit.EventTokenizeFailed)
	blocked := h.events(audit.EventCardEscapeBlocked)
	if len(failed)+len(blocked) != len(cases) || len(blocked) != 1 {
		t.Errorf("%d tokenize_failed and %d card_escape_blocked events for %d refused or failed requests", len(failed), len(blocked), len(cases))
	}
	reasons := map[string]bool{}
	for _, e := range failed {
		reasons[e.Reason] = true
	}
	for _, want := range []string{"malformed_body", "unsupported_media_type", "invalid_number", "expired_card", "invalid_cvc"} {
		if !reasons[want] {
			t.Errorf("no tokenize_failed event with reason %s", want)
		}
	}
}

func TestBodyOverRouteLimitIsRefused(t *testing.T) {
	h := newHarness(t, options{})
	big := "card_number=" + visa + "&card_exp=12/34&card_cvc=123&pad=" + strings.Repeat("x", 70<<10)
	resp, _ := h.post("/checkout/submit", formCT, []byte(big))
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", resp.StatusCode)
	}
	if n := len(h.up.requests()); n != 0 {
		t.Fatalf("upstream got %d requests, want none", n)
	}
	if evs := h.events(audit.EventTokenizeFailed); len(evs) != 1 || evs[0].Reason != "body_too_large" {
		t.Errorf("audit events %+v, want one tokenize_failed body_too_large", evs)
	}
}

func TestCardOverPlainHTTPIsRefused(t *testing.T) {
	h := newHarness(t, options{})
	plain := "http://" + strings.TrimPrefix(h.url, "https://")
	resp, err := http.Post(plain+"/checkout/submit", formCT, strings.NewReader("card_number="+visa+"&card_exp=12/34&card_cvc=123"))
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("plain http answered %d, want 400 or a refused connection", resp.StatusCode)
		}
	}
	if n := len(h.up.requests()); n != 0 {
		t.Fatalf("upstream got %d requests, want none", n)
	}
	assertNoCard(t, "tokenwall log", []byte(h.logText()))
}

func TestCardEscapeGuardOnPassthrough(t *testing.T) {
	h := newHarness(t, options{})
	cases := []struct {
		name   string
		method string
		target string
		ct     string
		body   string
		header string
	}{
		{name: "card in a form body on another path", method: "POST", target: "/notes", ct: formCT, body: "text=" + url.QueryEscape(visaSpcd)},
		{name: "card in a json body", method: "POST", target: "/api/other", ct: "application/json", body: `{"pan":"` + amex + `"}`},
		{name: "card in the query", method: "GET", target: "/search?q=" + visa},
		{name: "card in the path", method: "GET", target: "/cards/4242%204242%204242%204242/details"},
		{name: "card in the query with + separators", method: "GET", target: "/search?q=4242+4242+4242+4242"},
		{name: "card in a header", method: "GET", target: "/profile", header: visa},
		{name: "trailing slash variant of the route", method: "POST", target: "/checkout/submit/", ct: formCT, body: "card_number=" + visa},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := len(h.up.requests())
			req, err := http.NewRequest(tc.method, h.url+tc.target, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.ct != "" {
				req.Header.Set("Content-Type", tc.ct)
			}
			if tc.header != "" {
				req.Header.Set("X-Note", tc.header)
			}
			resp, body := h.do(req)
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "card data is not accepted") {
				t.Fatalf("status %d body %q, want 400 card refusal", resp.StatusCode, body)
			}
			if len(h.up.requests()) != before {
				t.Fatal("the request was forwarded")
			}
		})
	}
	// Repeats of one (client, reason, where, method) are one record with their count.
	blocked := h.events(audit.EventCardEscapeBlocked)
	if n := countOf(t, blocked, audit.EventCardEscapeBlocked); n != int64(len(cases)) {
		t.Errorf("card_escape_blocked records stand for %d refusals, want %d", n, len(cases))
	}
	for _, e := range blocked {
		if scrub.ContainsPAN([]byte(e.Resource + e.Details + e.Reason)) {
			t.Errorf("audit event %d holds a card number", e.Seq)
		}
	}
	// A clean request passes through unchanged.
	req, _ := http.NewRequest(http.MethodPost, h.url+"/notes?page=2", strings.NewReader("text=hello"))
	req.Header.Set("Content-Type", formCT)
	req.Header.Set(h.cfg.Upstream.SignatureHeader, "t=1,v1=forged")
	resp, _ := h.do(req)
	reqs := h.up.requests()
	if resp.StatusCode != 200 || len(reqs) == 0 || string(reqs[len(reqs)-1].Body) != "text=hello" {
		t.Fatalf("clean passthrough: status %d", resp.StatusCode)
	}
	if sig := reqs[len(reqs)-1].Header.Get(h.cfg.Upstream.SignatureHeader); sig != "" {
		t.Errorf("a client-sent signature header reached the app: %q", sig)
	}
	if log := h.logText(); strings.Contains(log, "page=2") || !strings.Contains(log, `"query_keys":["page"]`) {
		t.Errorf("summary must name query keys, never values")
	}
	assertNoCard(t, "tokenwall log", []byte(h.logText()))
}
