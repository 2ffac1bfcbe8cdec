package billing

import (
	"encoding/json"
	"net/http"
	"sync"
	"time"
)

// MaxReceived is how many request bodies an App keeps; older ones are dropped first.
const MaxReceived = 1000

// Received is one request body the App received, as GET /received lists it.
type Received struct {
	// Path is the request's URL path, without the query.
	Path string `json:"path"`
	// ContentType is the request's Content-Type header as sent.
	ContentType string `json:"content_type"`
	// Body is the body as received, cut at the App's body limit.
	Body string `json:"body"`
	// SignatureValid says whether tokenwall's signature on the body verified.
	SignatureValid bool `json:"signature_valid"`
	// ReceivedAt is when the App read the body, in UTC.
	ReceivedAt time.Time `json:"received_at"`
}

// receivedLog is a ring of the last max Received entries, safe for concurrent use.
type receivedLog struct {
	mu    sync.Mutex
	max   int
	buf   []Received
	start int // index of the oldest entry once buf is full
}

func newReceivedLog(max int) *receivedLog {
	return &receivedLog{max: max}
}

func (l *receivedLog) add(e Received) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) < l.max {
		l.buf = append(l.buf, e)
		return
	}
	l.buf[l.start] = e
	l.start = (l.start + 1) % l.max
}

// list returns the entries oldest first, as a new slice.
func (l *receivedLog) list() []Received {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Received, 0, len(l.buf))
	out = append(out, l.buf[l.start:]...)
	return append(out, l.buf[:l.start]...)
}

func (a *App) handleReceived(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	// Encoding a slice of plain strings, bools and times cannot fail; a write error means
	// the client has gone.
	_ = json.NewEncoder(w).Encode(a.received.list())
}
