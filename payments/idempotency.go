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

// ClaimLease is how long a request's claim on its key holds in the store before another
// request may take the key over: longer than a request may run (listen.request_timeout, 25 s
// by default), and what a client retrying the key of a request that died with its replica
// waits (409 in use meanwhile).
const ClaimLease = 30 * time.Second

// Claim is one request holding its idempotency key. Exactly one of Replay (the stored
// response) and GatewayKey (act, passing this key to the gateway) is set. Release it.
type Claim struct {
	// Replay is the stored response of the same request, to answer again.
	Replay *store.IdempotencyRecord
	// GatewayKey is derived from the API key id and the client's key, so two clients' keys
	// never collide at the gateway and a retry of one request reuses it.
	GatewayKey string

	key     string
	hash    []byte
	claimed bool // a pending record in the store is this request's
	done    func()
}

// Release lets the next request with the key in; a claim that Save did not complete is
// released in the store too.
func (c *Claim) Release() { c.done() }

// Begin claims clientKey for the API key keyID and the request (its method, route, path and
// body, as the caller serialises them): in this replica, then in the store, which replicas
// share, with a pending record holding the request's hash, so that the key reaches the
// gateway with one request only.
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
	c := &Claim{key: key, hash: sum[:]}
	c.done = func() {
		if c.claimed {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			_ = i.store.ReleaseIdempotency(rctx, c.key, c.hash)
			cancel()
		}
		i.mu.Lock()
		delete(i.inflight, key)
		i.mu.Unlock()
	}
	for attempt := 0; attempt < 2; attempt++ {
		rec, err := i.store.GetIdempotency(ctx, key, i.now())
		if err == nil {
			if err := c.decide(rec); err != nil {
				c.done()
				return nil, err
			}
			return c, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			c.done()
			return nil, fmt.Errorf("%w: idempotency record: %w", ErrUnavailable, err)
		}
		now := i.now()
		ok, err := i.store.PutIdempotency(ctx, store.IdempotencyRecord{Key: key, RequestHash: c.hash, Status: 0, Body: []byte{},
			CreatedAt: now, ExpiresAt: now.Add(ClaimLease)})
		if err != nil {
			c.done()
			return nil, fmt.Errorf("%w: idempotency claim: %w", ErrUnavailable, err)
		}
		if ok {
			c.claimed = true
			gk := sha256.Sum256([]byte(key))
			c.GatewayKey = "tw_" + hex.EncodeToString(gk[:])
			return c, nil
		}
		// Another replica claimed the key between the read and the insert: read what it holds.
	}
	c.done()
	return nil, ErrIdempotencyKeyInUse
}

// decide answers a request whose key has a live record: the stored response of the same
// request, or a refusal.
func (c *Claim) decide(rec store.IdempotencyRecord) error {
	switch {
	case !bytes.Equal(rec.RequestHash, c.hash):
		return ErrIdempotencyKeyReused
	case rec.Status == 0:
		return ErrIdempotencyKeyInUse
	}
	c.Replay = &rec
	return nil
}

// Save keeps the response of a claimed request for the ttl in place of its claim. Responses
// of 500 and above are not kept (the claim is released), so the client's retry acts (with the
// same gateway key).
func (i *Idempotency) Save(ctx context.Context, c *Claim, status int, body []byte) error {
	if !c.claimed {
		return nil
	}
	if status >= 500 || status == 0 {
		err := i.store.ReleaseIdempotency(ctx, c.key, c.hash)
		c.claimed = err != nil
		return err
	}
	now := i.now()
	ok, err := i.store.CompleteIdempotency(ctx, store.IdempotencyRecord{Key: c.key, RequestHash: c.hash, Status: status,
		Body: body, CreatedAt: now, ExpiresAt: now.Add(i.ttl)})
	if err != nil {
		return err
	}
	c.claimed = false
	if !ok {
		return fmt.Errorf("%w: the claim on the key ran out (%s) before the response was stored", ErrUnavailable, ClaimLease)
	}
	return nil
}
