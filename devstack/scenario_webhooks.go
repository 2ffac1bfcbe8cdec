package devstack

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"time"

	stripe "github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"
)

const (
	// webhookQueue bounds the events waiting to be sent; past it new events are dropped,
	// so that a dead endpoint never holds up an API answer.
	webhookQueue = 1024
	// webhookAttempts is how often one event is tried before it counts as failed.
	webhookAttempts = 4
	// webhookBackoff is the first wait between attempts; it doubles after each.
	webhookBackoff = 250 * time.Millisecond
	// webhookTypesKept bounds WebhookStats.Types.
	webhookTypesKept = 1000
)

// WebhookStats counts the events a Scenario has sent.
type WebhookStats struct {
	// Queued is the number of events built and queued for sending.
	Queued int
	// Delivered is the number of events the endpoint answered with a 2xx.
	Delivered int
	// Failed is the number of events given up after every attempt.
	Failed int
	// Dropped is the number of events not queued: queue full, or the scenario closed.
	Dropped int
	// Attempts is the number of POSTs made.
	Attempts int
	// Types are the types of the delivered events in delivery order, the latest 1000.
	Types []string
}

// webhooks sends Stripe events, one at a time and in order, from its own goroutine
// (https://docs.stripe.com/webhooks): signed as Stripe signs them, retried a few times.
type webhooks struct {
	mu     sync.Mutex
	url    string
	secret func() string
	client *http.Client
	closed bool
	stats  WebhookStats

	queue  chan webhookJob
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
}

// webhookJob is one event to send, with the endpoint as it was when the event happened.
type webhookJob struct {
	url     string
	secret  func() string
	client  *http.Client
	typ     string
	payload []byte
}

func newWebhooks(url string, secret func() string, client *http.Client) *webhooks {
	ctx, cancel := context.WithCancel(context.Background())
	h := &webhooks{queue: make(chan webhookJob, webhookQueue), ctx: ctx, cancel: cancel, done: make(chan struct{})}
	h.set(url, secret, client)
	go h.run()
	return h
}

// set changes the endpoint for the events that follow.
func (h *webhooks) set(url string, secret func() string, client *http.Client) {
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	if secret == nil {
		secret = func() string { return "" }
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.url, h.secret, h.client = url, secret, client
}

// close stops the sender; events not yet sent are dropped.
func (h *webhooks) close() {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	h.cancel()
	<-h.done
}

// snapshot returns a copy of the counters.
func (h *webhooks) snapshot() WebhookStats {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := h.stats
	st.Types = append([]string(nil), h.stats.Types...)
	return st
}

// enqueue builds the event now, so that it shows the object as it is at this change, and
// queues it without ever blocking.
func (h *webhooks) enqueue(typ string, obj map[string]any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.url == "" {
		return
	}
	if h.closed {
		h.stats.Dropped++
		return
	}
	ev := map[string]any{
		"id":               newID("evt_", 24),
		"object":           "event",
		"api_version":      stripe.APIVersion,
		"created":          now(),
		"data":             map[string]any{"object": obj},
		"livemode":         false,
		"pending_webhooks": 1,
		"request":          map[string]any{"id": nil, "idempotency_key": nil},
		"type":             typ,
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		h.stats.Dropped++
		return
	}
	select {
	case h.queue <- webhookJob{url: h.url, secret: h.secret, client: h.client, typ: typ, payload: payload}:
		h.stats.Queued++
	default:
		h.stats.Dropped++
	}
}

func (h *webhooks) run() {
	defer close(h.done)
	for {
		select {
		case <-h.ctx.Done():
			return
		case job := <-h.queue:
			h.deliver(job)
		}
	}
}

// deliver tries one event up to webhookAttempts times, signing each attempt afresh.
func (h *webhooks) deliver(job webhookJob) {
	wait := webhookBackoff
	for attempt := 1; ; attempt++ {
		ok := h.post(job)
		h.mu.Lock()
		h.stats.Attempts++
		if ok {
			h.stats.Delivered++
			h.stats.Types = append(h.stats.Types, job.typ)
			if len(h.stats.Types) > webhookTypesKept {
				h.stats.Types = h.stats.Types[len(h.stats.Types)-webhookTypesKept:]
			}
		} else if attempt == webhookAttempts {
			h.stats.Failed++
		}
		h.mu.Unlock()
		if ok || attempt == webhookAttempts {
			return
		}
		t := time.NewTimer(wait)
		select {
		case <-h.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		wait *= 2
	}
}

// post sends one signed attempt and reports whether the endpoint answered 2xx.
func (h *webhooks) post(job webhookJob) bool {
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: job.payload, Secret: job.secret()})
	req, err := http.NewRequestWithContext(h.ctx, http.MethodPost, job.url, bytes.NewReader(signed.Payload))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Stripe-Signature", signed.Header)
	req.Header.Set("User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)")
	resp, err := job.client.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	return resp.StatusCode >= 200 && resp.StatusCode < 300
}

// Webhooks returns the counters of the events sent so far.
func (s *Scenario) Webhooks() WebhookStats { return s.hooks.snapshot() }

// emitPay queues a payment_intent event showing p as it is now. The caller locks.
func (s *Scenario) emitPay(p *payIntent, typ string) {
	s.hooks.enqueue(typ, s.payFields(p.clone(), s.methodCopy(p.pm)))
}

// emitSetup queues a setup_intent event showing si as it is now. The caller locks.
func (s *Scenario) emitSetup(si *setupIntent, typ string) {
	s.hooks.enqueue(typ, s.setupFields(si.clone(), s.methodCopy(si.pm)))
}
