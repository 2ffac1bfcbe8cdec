package proxy_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/tokenwall/tokenwall/store"
	"github.com/tokenwall/tokenwall/webhooks"
)

// gatewayEvent is a Stripe event (API version 2023-10-16) whose charge carries note in its
// metadata.
func gatewayEvent(id, typ, note string) []byte {
	return []byte(`{"id":"` + id + `","object":"event","api_version":"2023-10-16","created":1795000000,"livemode":false,` +
		`"pending_webhooks":1,"type":"` + typ + `","data":{"object":{"id":"ch_3Q0PsIJvEtkwdCNY0abcdEFG","object":"charge",` +
		`"amount":2000,"currency":"usd","payment_method":"pm_1Q0PsIJvEtkwdCNYMSaVuRz6","status":"succeeded",` +
		`"metadata":{"order":"1042","note":"` + note + `"}}}}`)
}

// sendEvent posts body to tokenwall's webhook endpoint signed with secret at ts (the
// harness's endpoint secret when secret is empty).
func (h *harness) sendEvent(body []byte, secret string, ts time.Time) (*http.Response, string) {
	h.t.Helper()
	if secret == "" {
		secret = h.whsec
	}
	req, err := http.NewRequest(http.MethodPost, h.url+h.cfg.Webhooks.Path, bytes.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(webhooks.StripeSignatureHeader,
		webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: secret, Timestamp: ts}).Header)
	return h.do(req)
}

// deliveries returns what the upstream received on the webhook path, by event id.
func (h *harness) deliveries() map[string][]received {
	out := map[string][]received{}
	for _, r := range h.up.requests() {
		if r.Path == h.cfg.Webhooks.DeliverPath {
			id := r.Header.Get(webhooks.EventIDHeader)
			out[id] = append(out[id], r)
		}
	}
	return out
}

// waitDelivered waits until every id is marked delivered in the outbox.
func (h *harness) waitDelivered(ids ...string) {
	h.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for _, id := range ids {
		for {
			it, err := h.store.GetOutbox(context.Background(), id)
			if err == nil && it.Status == store.StatusDelivered {
				break
			}
			if time.Now().After(deadline) {
				h.t.Fatalf("event %s not delivered: %+v %v", id, it.Status, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// TestWebhooksThroughTokenwall drives the webhook endpoint of a running tokenwall (TLS,
// Echo, the middleware chain) against the real Vault, with the outbox in SQLite: every
// acceptance and rejection the issue names, the scrubbed signed delivery to the app, the
// purge, the audit records and the metrics.
func TestWebhooksThroughTokenwall(t *testing.T) {
	h := newHarness(t, options{webhooks: true})
	now := time.Now()
	card := testCards[0].number
	const id = "evt_1Q0PsIJvEtkwdCNYa0000001"
	// The checks after these two count on the event and its duplicate having been received.
	if !h.subtest(t, "accepted event is scrubbed and delivered signed", func(t *testing.T) {
		checkWebhookDelivered(t, h, id, card, now)
	}) {
		t.FailNow()
	}
	if !h.subtest(t, "duplicate is acknowledged", func(t *testing.T) {
		resp, _ := h.sendEvent(gatewayEvent(id, "charge.succeeded", "again"), "", now)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("duplicate: %d", resp.StatusCode)
		}
	}) {
		t.FailNow()
	}
	checkWebhookRejections(t, h, now)
	h.subtest(t, "GET is not allowed", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, h.url+h.cfg.Webhooks.Path, nil)
		if resp, _ := h.do(req); resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("GET: %d, want 405", resp.StatusCode)
		}
	})
	h.subtest(t, "audit records and log", func(t *testing.T) {
		// The card-escape guard does not apply to the endpoint: the receiver scrubs instead.
		if n := len(h.events("card_escape_blocked")); n != 0 {
			t.Errorf("%d card_escape_blocked events, want 0", n)
		}
		if n := len(h.deliveries()[id]); n != 1 {
			t.Errorf("after the duplicate: delivered %d times, want 1", n)
		}
		if n := len(h.events("webhook_received")); n != 2 {
			t.Errorf("%d webhook_received events, want 2 (the event and its duplicate)", n)
		}
		if n := len(h.events("webhook_delivered")); n != 1 {
			t.Errorf("%d webhook_delivered events, want 1", n)
		}
		if log := h.logText(); strings.Contains(log, card) || strings.Contains(log, "078-05-1120") || strings.Contains(log, h.whsec) {
			t.Error("the log holds a card number, the SSN or the endpoint secret")
		}
	})
	h.subtest(t, "metrics", func(t *testing.T) { checkWebhookMetrics(t, h) })
}

// checkWebhookDelivered sends event id with a card number and an SSN in its metadata: it is
// accepted, and both are scrubbed before storage and before the one signed delivery to the
// app, after which the outbox keeps only the payload's digest.
func checkWebhookDelivered(t *testing.T, h *harness, id, card string, now time.Time) {
	t.Helper()
	resp, body := h.sendEvent(gatewayEvent(id, "charge.succeeded", "card "+card+" ssn 078-05-1120"), "", now)
	if resp.StatusCode != http.StatusOK || body != `{"received":true}` {
		t.Fatalf("valid event: %d %q", resp.StatusCode, body)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
	h.waitDelivered(id)
	got := h.deliveries()[id]
	if len(got) != 1 {
		t.Fatalf("delivered %d times, want 1", len(got))
	}
	d := got[0]
	if d.SignatureErr != nil || d.Method != http.MethodPost || d.Header.Get(webhooks.EventTypeHeader) != "charge.succeeded" {
		t.Fatalf("delivery: method %s, signature %v, type %q", d.Method, d.SignatureErr, d.Header.Get(webhooks.EventTypeHeader))
	}
	if bytes.Contains(d.Body, []byte(card)) || bytes.Contains(d.Body, []byte("078-05-1120")) ||
		!bytes.Contains(d.Body, []byte("[card:visa:4242]")) || !bytes.Contains(d.Body, []byte(`"order":"1042"`)) {
		t.Fatalf("the delivered body is not scrubbed as expected (%d bytes)", len(d.Body))
	}
	it, err := h.store.GetOutbox(context.Background(), id)
	if err != nil || it.Payload != nil || it.Attempts != 1 || len(it.Digest) != 32 {
		t.Fatalf("after delivery: payload kept %v, attempts %d, digest %d bytes, %v", it.Payload != nil, it.Attempts, len(it.Digest), err)
	}
}

// checkWebhookRejections sends each kind of event the endpoint refuses, one subtest each:
// each answers with a fixed message and is audited with its reason.
func checkWebhookRejections(t *testing.T, h *harness, now time.Time) {
	t.Helper()
	big := gatewayEvent("evt_big", "charge.succeeded", strings.Repeat("x", 300<<10))
	huge := gatewayEvent("evt_huge", "charge.succeeded", strings.Repeat("x", 2<<20))
	rejections := []struct {
		name   string
		send   func() (*http.Response, string)
		status int
		reason string
	}{
		{"wrong secret", func() (*http.Response, string) {
			return h.sendEvent(gatewayEvent("evt_w", "charge.succeeded", ""), "whsec_wrong", now)
		}, http.StatusBadRequest, webhooks.ReasonBadSignature},
		{"timestamp 301 s old", func() (*http.Response, string) {
			return h.sendEvent(gatewayEvent("evt_o", "charge.succeeded", ""), "", now.Add(-301*time.Second))
		}, http.StatusBadRequest, webhooks.ReasonTooOld},
		{"no header", func() (*http.Response, string) {
			return h.post(h.cfg.Webhooks.Path, "application/json", gatewayEvent("evt_n", "charge.succeeded", ""))
		}, http.StatusBadRequest, webhooks.ReasonNoSignature},
		{"over the webhook limit", func() (*http.Response, string) { return h.sendEvent(big, "", now) },
			http.StatusRequestEntityTooLarge, webhooks.ReasonTooLarge},
		{"over every limit", func() (*http.Response, string) { return h.sendEvent(huge, "", now) },
			http.StatusRequestEntityTooLarge, webhooks.ReasonTooLarge},
	}
	for _, rj := range rejections {
		h.subtest(t, rj.name, func(t *testing.T) {
			before := len(h.events("webhook_rejected"))
			resp, body := rj.send()
			if resp.StatusCode != rj.status || strings.Contains(body, "evt_") {
				t.Fatalf("%d %q, want %d and a fixed message", resp.StatusCode, body, rj.status)
			}
			evs := h.events("webhook_rejected")
			if len(evs) != before+1 || evs[len(evs)-1].Reason != rj.reason {
				t.Errorf("audit has %d rejections (last %+v), want one more with reason %s", len(evs), evs[len(evs)-1], rj.reason)
			}
		})
	}
}

// checkWebhookMetrics reads the admin listener's metrics: one accepted event, one duplicate,
// two refused as too large, one delivery, two 200 answers on the webhook route.
func checkWebhookMetrics(t *testing.T, h *harness) {
	t.Helper()
	resp, err := h.client.Get(h.adminURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`tokenwall_webhooks_received_total{outcome="accepted"} 1`,
		`tokenwall_webhooks_received_total{outcome="duplicate"} 1`,
		fmt.Sprintf(`tokenwall_webhooks_received_total{outcome="%s"} 2`, webhooks.ReasonTooLarge),
		`tokenwall_webhook_delivery_duration_seconds_count{outcome="delivered"} 1`,
		"\ntokenwall_webhook_outbox_pending ", "\ntokenwall_webhook_outbox_dead ", "\ntokenwall_webhook_outbox_oldest_pending_age_seconds ",
		`tokenwall_build_info{commit="`,
		`tokenwall_requests_total{route="webhook",status="200"} 2`,
	} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
