package webhooks

import (
	"encoding/hex"
	"time"

	"github.com/tokenwall/tokenwall/store"
)

// Summary is what operators see of an outbox item (`tokenwall webhooks list`, the admin API):
// facts about the event, never its payload.
type Summary struct {
	ID          string     `json:"id"`
	Type        string     `json:"type"`
	Status      string     `json:"status"`
	Attempts    int        `json:"attempts"`
	ReceivedAt  time.Time  `json:"received_at"`
	NextAttempt *time.Time `json:"next_attempt,omitempty"`
	DeliveredAt *time.Time `json:"delivered_at,omitempty"`
	LastError   string     `json:"last_error,omitempty"`
	SHA256      string     `json:"sha256"`
	PayloadKept bool       `json:"payload_kept"`
}

// Summarize describes it without its payload.
func Summarize(it store.OutboxItem) Summary {
	s := Summary{ID: it.ID, Type: it.Type, Status: it.Status, Attempts: it.Attempts, ReceivedAt: it.CreatedAt.UTC(),
		LastError: it.LastError, SHA256: hex.EncodeToString(it.Digest), PayloadKept: it.Payload != nil}
	switch it.Status {
	case store.StatusPending:
		t := it.NextAttempt.UTC()
		s.NextAttempt = &t
	case store.StatusDelivered:
		t := it.DeliveredAt.UTC()
		s.DeliveredAt = &t
	}
	return s
}
