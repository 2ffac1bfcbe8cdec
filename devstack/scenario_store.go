package devstack

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"sync"
	"time"
)

// fifo is a map that keeps at most max entries, dropping the oldest first, so that a long dev
// session cannot grow the scenario without bound. The caller locks.
type fifo[V any] struct {
	max   int
	m     map[string]V
	order []string
}

func newFIFO[V any](max int) *fifo[V] { return &fifo[V]{max: max, m: map[string]V{}} }

func (f *fifo[V]) get(id string) (V, bool) {
	v, ok := f.m[id]
	return v, ok
}

// put adds or replaces id; a new id past the bound drops the oldest.
func (f *fifo[V]) put(id string, v V) {
	if _, ok := f.m[id]; !ok {
		for len(f.m) >= f.max && len(f.order) > 0 {
			delete(f.m, f.order[0])
			f.order = f.order[1:]
		}
		f.order = append(f.order, id)
	}
	f.m[id] = v
}

// each calls fn on every entry, oldest first.
func (f *fifo[V]) each(fn func(V)) {
	for _, id := range f.order {
		if v, ok := f.m[id]; ok {
			fn(v)
		}
	}
}

const (
	idLetters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	idChars   = idLetters + "0123456789"
)

// newID returns prefix followed by n random letters and digits. Every fourth character is a
// letter, so that no id holds a run of digits a card-number scan could take for a card.
func newID(prefix string, n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	out := make([]byte, 0, len(prefix)+n)
	out = append(out, prefix...)
	for i, c := range b {
		if i%4 == 3 {
			out = append(out, idLetters[int(c)%len(idLetters)])
		} else {
			out = append(out, idChars[int(c)%len(idChars)])
		}
	}
	return string(out)
}

// newSecret returns a client secret for id, as Stripe shapes them: <id>_secret_<random>.
func newSecret(id string) string { return newID(id+"_secret_", 25) }

// idempotencyTTL is how long Stripe keeps an idempotency key.
const idempotencyTTL = 24 * time.Hour

// idempotency replays the scenario's answer to a repeated Idempotency-Key, as Stripe does
// (https://docs.stripe.com/api/idempotent_requests): same key and same parameters, same
// answer with Idempotent-Replayed: true; same key and other parameters, a 400
// idempotency_error. Keys and bodies are kept only as HMACs under a key that lives in memory.
type idempotency struct {
	key []byte
	mu  sync.Mutex
	m   *fifo[idemEntry]
}

type idemEntry struct {
	print  [32]byte
	at     time.Time
	answer answer
}

func newIdempotency(max int) *idempotency {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	return &idempotency{key: k, m: newFIFO[idemEntry](max)}
}

func (id *idempotency) mac(parts ...[]byte) [32]byte {
	h := hmac.New(sha256.New, id.key)
	for _, p := range parts {
		h.Write(p)
		h.Write([]byte{0})
	}
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}

// slot names a call's idempotency entry: the API key, method, path and Idempotency-Key.
func (id *idempotency) slot(c *call) string {
	k := id.mac([]byte(c.auth), []byte(c.route.method), []byte(c.route.path()), []byte(c.idem))
	return string(k[:])
}

// replay returns the stored answer to a repeated POST, or a 400 when its parameters differ.
func (s *Scenario) replay(c *call) (answer, bool) {
	if c.idem == "" || c.route.method != "POST" {
		return answer{}, false
	}
	id := s.idem
	id.mu.Lock()
	defer id.mu.Unlock()
	e, ok := id.m.get(id.slot(c))
	if !ok || time.Since(e.at) > idempotencyTTL {
		return answer{}, false
	}
	if c.body != nil && e.print != id.mac(c.body) {
		return answer{status: 400, body: []byte(`{"error":{"type":"idempotency_error","message":"Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than the one used in the original request."}}`)}, true
	}
	return e.answer, true
}

// remember stores the answer to a POST with an Idempotency-Key.
func (s *Scenario) remember(c *call, a answer) {
	if c.idem == "" || c.route.method != "POST" {
		return
	}
	id := s.idem
	id.mu.Lock()
	defer id.mu.Unlock()
	e := idemEntry{at: time.Now(), answer: a}
	if c.body != nil {
		e.print = id.mac(c.body)
	}
	id.m.put(id.slot(c), e)
}

// path rebuilds the route's API path.
func (r route) path() string {
	p := "/v1/"
	switch r.kind {
	case kindPayMethod:
		p += "payment_methods"
	case kindPayIntent:
		p += "payment_intents"
	case kindSetupIntent:
		p += "setup_intents"
	}
	if r.id != "" {
		p += "/" + r.id
	}
	if r.action != "" {
		p += "/" + r.action
	}
	return p
}
