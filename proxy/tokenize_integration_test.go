package proxy_test

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/scrub"
)

// Test cards: real-shaped, treated as real. They must never reach a log, a file or the app.
const (
	visa     = "4242424242424242"
	visaSpcd = "4242 4242 4242 4242"
	amex     = "378282246310005"
	mc2      = "2223003122003222"
)

// assertNoCard fails when b holds a card number in any form scrub detects, or the digits of
// one of the test cards.
func assertNoCard(t *testing.T, where string, b []byte) {
	t.Helper()
	if scrub.ContainsPAN(b) {
		t.Errorf("%s holds a card number", where)
	}
	for _, c := range []string{visa, amex, mc2} {
		if bytes.Contains(b, []byte(c)) {
			t.Errorf("%s holds the digits of test card ****%s", where, c[len(c)-4:])
		}
	}
}

func formBody(kv ...string) []byte {
	var parts []string
	for i := 0; i+1 < len(kv); i += 2 {
		parts = append(parts, url.QueryEscape(kv[i])+"="+url.QueryEscape(kv[i+1]))
	}
	return []byte(strings.Join(parts, "&"))
}

const formCT = "application/x-www-form-urlencoded"

func TestTokenizeFormForwardsTokenOnly(t *testing.T) {
	h := newHarness(t, options{})
	resp, body := h.post("/checkout/submit", formCT, formBody(
		"order_id", "1001", "card_name", "Ada Lovelace", "card_number", visaSpcd,
		"card_exp", "12/34", "card_cvc", "123", "amount", "19.99"))
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "upstream got POST /checkout/submit") {
		t.Fatalf("status %d body %q, want the upstream's 200", resp.StatusCode, body)
	}
	if got := resp.Header.Values("Cache-Control"); len(got) != 1 || got[0] != "no-store" {
		t.Errorf("Cache-Control = %q, want one no-store", got)
	}
	for _, hd := range []string{"Strict-Transport-Security", "X-Content-Type-Options", "Content-Security-Policy", "X-Request-Id"} {
		if resp.Header.Get(hd) == "" {
			t.Errorf("response lacks %s", hd)
		}
	}
	reqs := h.up.requests()
	if len(reqs) != 1 {
		t.Fatalf("upstream got %d requests, want 1", len(reqs))
	}
	got := reqs[0]
	if got.SignatureErr != nil {
		t.Errorf("forwarded body signature: %v", got.SignatureErr)
	}
	assertNoCard(t, "forwarded body", got.Body)
	form, err := url.ParseQuery(string(got.Body))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"card_number", "card_exp", "card_cvc", "card_name"} {
		if form.Has(f) {
			t.Errorf("forwarded body still has %s", f)
		}
	}
	if pm := form.Get("payment_method"); !strings.HasPrefix(pm, "pm_") {
		t.Errorf("payment_method = %q, want pm_…", pm)
	}
	for f, want := range map[string]string{"order_id": "1001", "amount": "19.99", "card_brand": "visa", "card_last4": "4242"} {
		if form.Get(f) != want {
			t.Errorf("%s = %q, want %q", f, form.Get(f), want)
		}
	}
	for _, f := range []string{"card_exp_month", "card_exp_year", "card_fingerprint"} {
		if form.Get(f) == "" {
			t.Errorf("%s missing from forwarded body", f)
		}
	}
	if got.Header.Get("X-Request-Id") != resp.Header.Get("X-Request-Id") {
		t.Errorf("the app got request id %q, the client %q", got.Header.Get("X-Request-Id"), resp.Header.Get("X-Request-Id"))
	}
	if got.Header.Get("X-Forwarded-For") != "127.0.0.1" || got.Header.Get("X-Forwarded-Proto") != "https" {
		t.Errorf("X-Forwarded-For %q Proto %q", got.Header.Get("X-Forwarded-For"), got.Header.Get("X-Forwarded-Proto"))
	}
	evs := h.events(audit.EventTokenize)
	if len(evs) != 1 {
		t.Fatalf("%d tokenize audit events, want 1", len(evs))
	}
	ev := evs[0]
	if !strings.HasPrefix(ev.Resource, "pm_") || ev.Actor != "checkout" || ev.Outcome != audit.Success || ev.SourceIP != "127.0.0.1" ||
		ev.RequestID != resp.Header.Get("X-Request-Id") || !strings.Contains(ev.Details, `"last4":"4242"`) || ev.Time.IsZero() {
		t.Errorf("tokenize audit event %+v lacks a PCI DSS 10.2.2 field", ev)
	}
	log := h.logText()
	assertNoCard(t, "tokenwall log", []byte(log))
	if !strings.Contains(log, `"route":"/checkout/submit"`) || !strings.Contains(log, `"token":"pm_`) || !strings.Contains(log, `"last4":"4242"`) ||
		!strings.Contains(log, `"gateway_latency_ms":`) || !strings.Contains(log, `"audit_latency_ms":`) {
		t.Errorf("log lacks the summary line with route, token, last4 and the gateway's and the audit write's share of the latency")
	}
}

func TestTokenizeJSONNestedPaths(t *testing.T) {
	h := newHarness(t, options{})
	in := `{"order":{"id":"A-7"},"payment":{"card":{"number":"` + amex + `","exp_month":12,"exp_year":2034,"cvc":"1234"},"amount":1999}}`
	resp, body := h.post("/api/checkout", "application/json", []byte(in))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d body %q", resp.StatusCode, body)
	}
	reqs := h.up.requests()
	if len(reqs) != 1 {
		t.Fatalf("upstream got %d requests", len(reqs))
	}
	assertNoCard(t, "forwarded json", reqs[0].Body)
	var doc struct {
		Order   map[string]any `json:"order"`
		Payment struct {
			Card   map[string]any `json:"card"`
			Token  string         `json:"token"`
			Brand  string         `json:"brand"`
			Last4  string         `json:"last4"`
			Amount json.Number    `json:"amount"`
		} `json:"payment"`
	}
	if err := json.Unmarshal(reqs[0].Body, &doc); err != nil {
		t.Fatalf("forwarded body is not json: %v", err)
	}
	if len(doc.Payment.Card) != 0 || !strings.HasPrefix(doc.Payment.Token, "pm_") || doc.Payment.Amount != "1999" || doc.Order["id"] != "A-7" {
		t.Errorf("forwarded json = %s", reqs[0].Body)
	}
	if reqs[0].ContentType != "application/json" || reqs[0].SignatureErr != nil {
		t.Errorf("content type %q signature %v", reqs[0].ContentType, reqs[0].SignatureErr)
	}
}

func TestTokenizeMultipartKeepsFiles(t *testing.T) {
	h := newHarness(t, options{})
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	_ = w.WriteField("number", mc2)
	_ = w.WriteField("exp_month", "7")
	_ = w.WriteField("exp_year", "2031")
	_ = w.WriteField("cvc", "321")
	_ = w.WriteField("note", "gift")
	fw, _ := w.CreateFormFile("invoice", "invoice.txt")
	_, _ = fw.Write([]byte("invoice bytes\x00\x01"))
	_ = w.Close()
	resp, body := h.post("/upload/checkout", w.FormDataContentType(), b.Bytes())
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d body %q", resp.StatusCode, body)
	}
	reqs := h.up.requests()
	if len(reqs) != 1 {
		t.Fatalf("upstream got %d requests", len(reqs))
	}
	assertNoCard(t, "forwarded multipart", reqs[0].Body)
	r, err := http.NewRequest(http.MethodPost, "/", bytes.NewReader(reqs[0].Body))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", reqs[0].ContentType)
	if err := r.ParseMultipartForm(1 << 20); err != nil {
		t.Fatalf("forwarded multipart does not parse: %v", err)
	}
	if r.FormValue("number") != "" || r.FormValue("cvc") != "" || !strings.HasPrefix(r.FormValue("payment_method"), "pm_") || r.FormValue("note") != "gift" {
		t.Errorf("forwarded form %v", r.MultipartForm.Value)
	}
	f, _, err := r.FormFile("invoice")
	if err != nil {
		t.Fatalf("file part lost: %v", err)
	}
	defer f.Close()
	var fb bytes.Buffer
	_, _ = fb.ReadFrom(f)
	if fb.String() != "invoice bytes\x00\x01" {
		t.Errorf("file part changed: %q", fb.String())
	}
}

// jsonField reads a string at a path of a JSON object.
func jsonField(t *testing.T, b []byte, path ...string) string {
	t.Helper()
	var cur any
	if err := json.Unmarshal(b, &cur); err != nil {
		t.Fatalf("not json: %v", err)
	}
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = m[p]
	}
	s, _ := cur.(string)
	return s
}
