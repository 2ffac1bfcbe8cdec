package billing

import (
	"encoding/json"
	"github.com/tokenwall/tokenwall/signature"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/tokenwall/tokenwall/webhooks"
)

// WebhookEvent is what the app keeps of a gateway event tokenwall delivered: the id it
// deduplicates by, how often it arrived and when it was first processed.
type WebhookEvent struct {
	ID          string    `json:"id"`
	Type        string    `json:"type"`
	Deliveries  int       `json:"deliveries"`
	ProcessedAt time.Time `json:"processed_at"`
}

// webhookLog deduplicates delivered events by id.
type webhookLog struct {
	mu     sync.Mutex
	order  []string
	events map[string]*WebhookEvent
}

// seen records one delivery of id and reports whether it was processed before.
func (l *webhookLog) seen(id, typ string) (duplicate bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := l.events[id]; ok {
		e.Deliveries++
		return true
	}
	if l.events == nil {
		l.events = map[string]*WebhookEvent{}
	}
	l.events[id] = &WebhookEvent{ID: id, Type: typ, Deliveries: 1, ProcessedAt: time.Now().UTC()}
	l.order = append(l.order, id)
	return false
}

func (l *webhookLog) list() []WebhookEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]WebhookEvent, 0, len(l.order))
	for _, id := range l.order {
		out = append(out, *l.events[id])
	}
	return out
}

// WebhookEvents returns the delivered events in the order they were first processed.
func (a *App) WebhookEvents() []WebhookEvent { return a.webhooks.list() }

// handleWebhook receives the gateway events tokenwall delivers. It verifies tokenwall's
// signature, then deduplicates by the event id in the signed body (the Tokenwall-Event-Id
// header, which the signature does not cover, must agree with it): delivery is at least
// once, so a repeat is answered 200 (tokenwall stops retrying) but not processed again.
// Acting on an event is left to the feature that needs it.
func (a *App) handleWebhook(w http.ResponseWriter, r *http.Request) {
	body, ok := a.readSigned(w, r, signature.PurposeWebhook)
	if !ok {
		return
	}
	var ev struct {
		ID   string `json:"id"`
		Type string `json:"type"`
	}
	if err := json.Unmarshal(body, &ev); err != nil || ev.ID == "" {
		http.Error(w, "body is not an event with an id", http.StatusBadRequest)
		return
	}
	if h := r.Header.Get(webhooks.EventIDHeader); h != "" && h != ev.ID {
		http.Error(w, webhooks.EventIDHeader+" does not match the event", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if a.webhooks.seen(ev.ID, ev.Type) {
		io.WriteString(w, "duplicate")
		return
	}
	io.WriteString(w, "received")
}
