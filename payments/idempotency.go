package payments

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tokenwall/tokenwall/store"
)

// Idempotency makes a request idempotent: the same key with the same request answers the
// stored response without acting again; with another request it is refused. Requests with
// one key are serialised within this replica; across replicas the gateway's own idempotency
// (the same gateway key is passed on) keeps one charge.
type Idempotency struct {
	store store.Idempotency
	ttl   time.Duration
	now   func() time.Time

	mu       sync.Mutex
	inflight map[string]bool
}

// NewIdempotency keeps responses in st for ttl.
func NewIdempotency(st store.Idempotency, ttl time.Duration, now func() time.Time) *Idempotency {
	if now == nil {
		now = time.Now
	}
	return &Idempotency{store: st, ttl: ttl, now: now, inflight: map[string]bool{}}
}

// ValidKey reports whether k is 1-255 printable ASCII characters.
func ValidKey(k string) bool {
	if len(k) == 0 || len(k) > 255 {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return false
		}
	}
	return true
}

// Claim is one request holding its idempotency key. Exactly one of Replay (the stored
// response) and GatewayKey (act, passing this key to the gateway) is set. Release it.
type Claim struct {
	// Replay is the stored response of the same request, to answer again.
	Replay *store.IdempotencyRecord
	// GatewayKey is derived from the API key id and the client's key, so two clients' keys
	// never collide at the gateway and a retry of one request reuses it.
	GatewayKey string

	key  string
	hash []byte
	done func()
}

// Release lets the next request with the key in.
func (c *Claim) Release() { c.done() }

// Begin claims clientKey for the API key keyID and the request (its method, route, path and
// body, as the caller serialises them).
func (i *Idempotency) Begin(ctx context.Context, keyID, clientKey string, request []byte) (*Claim, error) {
	if !ValidKey(clientKey) {
		return nil, fmt.Errorf("%w: every POST needs an Idempotency-Key header of 1 to 255 printable ASCII characters", ErrIdempotencyKeyMissing)
	}
	key := keyID + ":" + clientKey
	sum := sha256.Sum256(request)
	i.mu.Lock()
	if i.inflight[key] {
		i.mu.Unlock()
		return nil, ErrIdempotencyKeyInUse
	}
	i.inflight[key] = true
	i.mu.Unlock()
	c := &Claim{key: key, hash: sum[:], done: func() {
		i.mu.Lock()
		delete(i.inflight, key)
		i.mu.Unlock()
	}}
	rec, err := i.store.GetIdempotency(ctx, key, i.now())
	switch {
	case err == nil && bytes.Equal(rec.RequestHash, c.hash):
		c.Replay = &rec
		return c, nil
	case err == nil:
		c.done()
		return nil, ErrIdempotencyKeyReused
	case !errors.Is(err, store.ErrNotFound):
		c.done()
		return nil, fmt.Errorf("%w: idempotency record: %w", ErrUnavailable, err)
	}
	gk := sha256.Sum256([]byte(key))
	c.GatewayKey = "tw_" + hex.EncodeToString(gk[:])
	return c, nil
}

// Save keeps the response of a claimed request for the ttl. Responses of 500 and above are
// not kept, so the client's retry acts (with the same gateway key).
func (i *Idempotency) Save(ctx context.Context, c *Claim, status int, body []byte) error {
	if status >= 500 || status == 0 {
		return nil
	}
	now := i.now()
	_, err := i.store.PutIdempotency(ctx, store.IdempotencyRecord{Key: c.key, RequestHash: c.hash, Status: status,
		Body: body, CreatedAt: now, ExpiresAt: now.Add(i.ttl)})
	return err
}
