package proxy_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/store"
	"github.com/tokenwall/tokenwall/webhooks"
)

// The "rate limits" family of the hostile-input suite (issue 12, defect 6): every refusal
// used to cost a synced audit write with no limit per client, so a flood of them grew the
// database and slowed every audited request. A client's refusals now take tokens from its
// bucket (rate_limit), checked before authentication; repeated refusals are aggregated
// (audit.Aggregator). Each flood below is sent from one client with a bucket of 20
// refusals refilled at 1 a second.

const (
	floodRate, floodBurst = 1, 20
	// floodWorkers send a flood's requests at once, over keep-alive connections.
	floodWorkers = 8
)

// floodResult is what a flood's answers were.
type floodResult struct {
	status map[int]int
	// noRetryAfter counts 429 answers without a Retry-After of at least one second.
	noRetryAfter int
	errs         []error
	took         time.Duration
}

// flood sends n requests made by mk from floodWorkers goroutines and counts the answers.
func flood(h *harness, n int, mk func(i int) *http.Request) floodResult {
	tr := h.client.Transport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = floodWorkers
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	res := floodResult{status: map[int]int{}}
	var mu sync.Mutex
	jobs := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	for range floodWorkers {
		wg.Go(func() {
			for i := range jobs {
				resp, err := c.Do(mk(i))
				mu.Lock()
				if err != nil {
					res.errs = append(res.errs, err)
					mu.Unlock()
					continue
				}
				res.status[resp.StatusCode]++
				if ra, _ := strconv.Atoi(resp.Header.Get("Retry-After")); resp.StatusCode == http.StatusTooManyRequests && ra < 1 {
					res.noRetryAfter++
				}
				mu.Unlock()
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	res.took = time.Since(start)
	return res
}

// check fails t unless every answer was refused (status) or limited (429 with Retry-After),
// with no more refused than the bucket allows in the flood's time: its burst, its refill,
// and the requests in flight when it emptied.
func (r floodResult) check(t *testing.T, n, refused int) {
	t.Helper()
	if len(r.errs) > 0 {
		t.Fatalf("%d requests failed, the first: %v", len(r.errs), r.errs[0])
	}
	limited := r.status[http.StatusTooManyRequests]
	if r.status[refused]+limited != n {
		t.Fatalf("answers %v, want only %d and 429", r.status, refused)
	}
	if bound := floodBurst + floodRate*int(r.took/time.Second+1) + floodWorkers; r.status[refused] > bound {
		t.Errorf("%d refusals reached the handler in %s, bound %d", r.status[refused], r.took, bound)
	}
	if r.noRetryAfter > 0 {
		t.Errorf("%d answers 429 without Retry-After", r.noRetryAfter)
	}
	t.Logf("%d requests in %s: %v", n, r.took.Round(time.Millisecond), r.status)
}

// refusalRecords returns the records of each type in types (after the aggregator's flush),
// checks there are few of them (a first and a repeat record a type, and one more for each
// interval the flood spanned) and returns how many refusals they stand for.
func refusalRecords(t *testing.T, h *harness, took time.Duration, types ...string) (total int64, recs []store.AuditRecord) {
	t.Helper()
	bound := 3 + int(took/h.cfg.Audit.AggregateInterval.D())
	for _, typ := range types {
		evs := h.events(typ)
		if len(evs) > bound {
			t.Errorf("%d %s records, bound %d", len(evs), typ, bound)
		}
		for _, ev := range evs {
			total += audit.Repeats(detailsOf(t, ev))
		}
		recs = append(recs, evs...)
	}
	return total, recs
}

// detailsOf decodes a record's details.
func detailsOf(t *testing.T, r store.AuditRecord) map[string]string {
	t.Helper()
	if r.Details == "" {
		return nil
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(r.Details), &m); err != nil {
		t.Fatalf("record %d details: %v", r.Seq, err)
	}
	return m
}

func badKeyRequest(h *harness, xff string) *http.Request {
	req, _ := http.NewRequest(http.MethodGet, h.url+"/v1/admin/webhooks", nil)
	req.Header.Set("Authorization", "Bearer twk_"+strings.Repeat("a", 16)+"_"+strings.Repeat("b", 64))
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	return req
}

func limitHarness(t *testing.T, o options) *harness {
	o.clientRate, o.clientBurst = floodRate, floodBurst
	return newHarness(t, o)
}

// TestHostileRateLimitBadKeyFlood: 10,000 requests with a bad API key get 429s once the
// client's bucket is empty, leave a handful of records, and their counts sum to 10,000. The
// billing app's requests, which are not refused, cost nothing.
func TestHostileRateLimitBadKeyFlood(t *testing.T) {
	h := limitHarness(t, options{api: true})
	for i := range 3 * floodBurst {
		if resp, body := h.api(http.MethodGet, "/v1/admin/webhooks", "admin", nil, ""); resp.StatusCode != http.StatusOK {
			t.Fatalf("served request %d: %d %s; requests that are not refused must take no token", i, resp.StatusCode, body)
		}
	}
	const n = 10_000
	res := flood(h, n, func(int) *http.Request { return badKeyRequest(h, "") })
	res.check(t, n, http.StatusUnauthorized)
	total, recs := refusalRecords(t, h, res.took, audit.EventAPIAuthFailed, audit.EventClientRateLimited)
	if total != n {
		t.Errorf("the records stand for %d refusals, want %d", total, n)
	}
	if got := int64(res.status[http.StatusUnauthorized]); got != countOf(t, recs, audit.EventAPIAuthFailed) {
		t.Errorf("%d answers 401, but api_auth_failed records stand for %d", got, countOf(t, recs, audit.EventAPIAuthFailed))
	}
	for _, r := range recs {
		if r.SourceIP != "127.0.0.1" || r.Actor != audit.ActorAnonymous {
			t.Errorf("record %d: source %q actor %q", r.Seq, r.SourceIP, r.Actor)
		}
	}
	want := fmt.Sprintf(`tokenwall_client_rate_limited_total{where="api"} %d`, res.status[http.StatusTooManyRequests])
	if m := get(t, h.adminURL+"/metrics"); !strings.Contains(m, want) {
		t.Errorf("metrics lack %s", want)
	}
	// The answer is the API's problem document. The bucket refills (1 a second) while the
	// records are read, so the next requests may spend those tokens first: at most a burst.
	resp, body := h.do(badKeyRequest(h, ""))
	for i := 0; i < floodBurst && resp.StatusCode == http.StatusUnauthorized; i++ {
		resp, body = h.do(badKeyRequest(h, ""))
	}
	if typ, doc := problemOf(t, resp, body); resp.StatusCode != http.StatusTooManyRequests || typ != "rate-limited" || doc["retry_after"] == nil {
		t.Errorf("limited: %d %s", resp.StatusCode, body)
	}
}

// limitedWithin sends bad-key requests as xff until one is answered 429, at most k, and says
// whether one was: a drained bucket refills one token a second, so a client drained a moment
// ago is refused within a few requests, where a fresh one is answered 401 a whole burst long.
func limitedWithin(t *testing.T, h *harness, xff string, k int) bool {
	t.Helper()
	for range k {
		resp, _ := h.do(badKeyRequest(h, xff))
		switch resp.StatusCode {
		case http.StatusTooManyRequests:
			return true
		case http.StatusUnauthorized:
		default:
			t.Fatalf("%s: %d", xff, resp.StatusCode)
		}
	}
	return false
}

// countOf is how many refusals the records of type typ stand for.
func countOf(t *testing.T, recs []store.AuditRecord, typ string) int64 {
	t.Helper()
	var n int64
	for _, r := range recs {
		if r.Event == typ {
			n += audit.Repeats(detailsOf(t, r))
		}
	}
	return n
}

// TestHostileRateLimitBadSignatureFlood: the same against the webhook endpoint with events
// signed by the wrong secret; the gateway's own events, which are accepted, cost nothing.
func TestHostileRateLimitBadSignatureFlood(t *testing.T) {
	h := limitHarness(t, options{webhooks: true})
	now := time.Now()
	for i := range 2 * floodBurst {
		if resp, body := h.sendEvent(gatewayEvent(fmt.Sprintf("evt_ok%06d", i), "charge.succeeded", ""), "", now); resp.StatusCode != http.StatusOK {
			t.Fatalf("event %d: %d %s; accepted events must take no token", i, resp.StatusCode, body)
		}
	}
	const n = 10_000
	body := gatewayEvent("evt_forged", "charge.succeeded", "")
	sig := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: "whsec_forged", Timestamp: now}).Header
	res := flood(h, n, func(int) *http.Request {
		req, _ := http.NewRequest(http.MethodPost, h.url+h.cfg.Webhooks.Path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(webhooks.StripeSignatureHeader, sig)
		return req
	})
	res.check(t, n, http.StatusBadRequest)
	total, recs := refusalRecords(t, h, res.took, audit.EventWebhookRejected, audit.EventClientRateLimited)
	if total != n {
		t.Errorf("the records stand for %d refusals, want %d", total, n)
	}
	if got := countOf(t, recs, audit.EventWebhookRejected); got != int64(res.status[http.StatusBadRequest]) {
		t.Errorf("%d answers 400, webhook_rejected records stand for %d", res.status[http.StatusBadRequest], got)
	}
	for _, r := range recs {
		if r.Event == audit.EventClientRateLimited && r.Resource != "route:webhook" {
			t.Errorf("client_rate_limited record %+v", r)
		}
	}
}

// TestHostileRateLimitCardEscapeFlood: 10,000 pass-through requests carrying a card number
// are refused (400, then 429 once the bucket is empty); none is forwarded, and the
// card_escape_blocked records, a handful, stand for every one of them.
func TestHostileRateLimitCardEscapeFlood(t *testing.T) {
	h := limitHarness(t, options{})
	const n = 10_000
	body := formBody("note", "card "+guardCard)
	res := flood(h, n, func(int) *http.Request {
		req, _ := http.NewRequest(http.MethodPost, h.url+"/orders/notes", bytes.NewReader(body))
		req.Header.Set("Content-Type", formCT)
		return req
	})
	res.check(t, n, http.StatusBadRequest)
	if fwd := len(h.up.requests()); fwd != 0 {
		t.Errorf("%d requests forwarded", fwd)
	}
	total, recs := refusalRecords(t, h, res.took, audit.EventCardEscapeBlocked, audit.EventClientRateLimited)
	if total != n || countOf(t, recs, audit.EventClientRateLimited) != 0 {
		t.Errorf("the records stand for %d refusals (%d rate-limited records), want %d card escapes", total,
			countOf(t, recs, audit.EventClientRateLimited), n)
	}
	want := fmt.Sprintf(`tokenwall_client_rate_limited_total{where="guard"} %d`, res.status[http.StatusTooManyRequests])
	if m := get(t, h.adminURL+"/metrics"); !strings.Contains(m, want) {
		t.Errorf("metrics lack %s", want)
	}
	// A request without a card from the same client is still forwarded: the limit is on
	// refusals, not on the checkout's pages.
	if resp, _ := h.post("/orders/notes", formCT, formBody("note", "hello")); resp.StatusCode != http.StatusOK {
		t.Errorf("a clean request from the limited client: %d", resp.StatusCode)
	}
}

// TestHostileRateLimitXForwardedForRotation: without listen.trusted_proxies, an attacker
// who sends a new X-Forwarded-For with each request is still one client: the header is not
// believed, by the limiter or by the audit trail.
func TestHostileRateLimitXForwardedForRotation(t *testing.T) {
	h := limitHarness(t, options{api: true})
	const n = 200
	res := flood(h, n, func(i int) *http.Request { return badKeyRequest(h, fmt.Sprintf("198.51.%d.%d", i/250, i%250)) })
	res.check(t, n, http.StatusUnauthorized)
	_, recs := refusalRecords(t, h, res.took, audit.EventAPIAuthFailed, audit.EventClientRateLimited)
	for _, r := range recs {
		if r.SourceIP != "127.0.0.1" {
			t.Errorf("record %d names source %q, a forwarded address nobody vouched for", r.Seq, r.SourceIP)
		}
	}
	if strings.Contains(h.logText(), `"remote_ip":"198.51.`) {
		t.Error("the log names a forwarded address nobody vouched for")
	}
}

// TestHostileRateLimitBehindTrustedProxy: behind a trusted load balancer each client is
// known by the address the balancer forwards, the rightmost one it did not add itself; a
// client cannot pick another by writing its own X-Forwarded-For, nor escape by moving inside
// its IPv6 /64. The webhook rejections' source address is the forwarded one too.
func TestHostileRateLimitBehindTrustedProxy(t *testing.T) {
	h := limitHarness(t, options{api: true, webhooks: true, trustedProxies: []string{"127.0.0.0/8"}})
	drain := func(xff string) {
		t.Helper()
		for range floodBurst {
			if resp, _ := h.do(badKeyRequest(h, xff)); resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("%s within its burst: %d", xff, resp.StatusCode)
			}
		}
	}
	status := func(xff string) int {
		resp, _ := h.do(badKeyRequest(h, xff))
		return resp.StatusCode
	}
	drain("203.0.113.1")
	for _, tc := range []struct {
		name, xff string
		want      int
	}{
		{name: "the drained client", xff: "203.0.113.1", want: http.StatusTooManyRequests},
		{name: "the drained client behind a spoofed first hop", xff: "6.6.6.6, 203.0.113.1", want: http.StatusTooManyRequests},
		{name: "another client behind the balancer", xff: "203.0.113.2", want: http.StatusUnauthorized},
	} {
		if tc.want == http.StatusTooManyRequests {
			if !limitedWithin(t, h, tc.xff, floodBurst/2) {
				t.Errorf("%s (X-Forwarded-For %s): not limited within %d requests", tc.name, tc.xff, floodBurst/2)
			}
		} else if got := status(tc.xff); got != tc.want {
			t.Errorf("%s (X-Forwarded-For %s): %d, want %d", tc.name, tc.xff, got, tc.want)
		}
	}
	drain("2001:db8:1:2::1")
	if !limitedWithin(t, h, "2001:db8:1:2:ffff::9", floodBurst/2) {
		t.Errorf("another address of the drained /64: not limited within %d requests", floodBurst/2)
	}
	if got := status("2001:db8:1:3::1"); got != http.StatusUnauthorized {
		t.Errorf("the next /64: %d, want 401", got)
	}
	sources := map[string]bool{}
	for _, r := range h.events(audit.EventAPIAuthFailed) {
		sources[r.SourceIP] = true
	}
	for _, want := range []string{"203.0.113.1", "203.0.113.2", "2001:db8:1:2::1", "2001:db8:1:3::1"} {
		if !sources[want] {
			t.Errorf("no api_auth_failed record from %s (have %v)", want, sources)
		}
	}
	if sources["127.0.0.1"] || sources["6.6.6.6"] {
		t.Errorf("records name the balancer or a spoofed hop: %v", sources)
	}
	req, _ := http.NewRequest(http.MethodPost, h.url+h.cfg.Webhooks.Path, bytes.NewReader(gatewayEvent("evt_x", "charge.succeeded", "")))
	req.Header.Set(webhooks.StripeSignatureHeader, "t=1,v1=00")
	req.Header.Set("X-Forwarded-For", "203.0.113.50")
	if resp, _ := h.do(req); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("a forged webhook: %d", resp.StatusCode)
	}
	if evs := h.events(audit.EventWebhookRejected); len(evs) != 1 || evs[0].SourceIP != "203.0.113.50" {
		t.Errorf("webhook_rejected %+v, want the forwarded source", evs)
	}
	if !strings.Contains(h.logText(), `"remote_ip":"203.0.113.2"`) {
		t.Error("the summary line does not name the forwarded client")
	}
}
