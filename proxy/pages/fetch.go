package pages

import (
	"context"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// MaxScriptBytes bounds an inventory script fetched for a fingerprint.
const MaxScriptBytes = 4 << 20

// Notes of a script in a fingerprint when its bytes could not be hashed.
const (
	NoteUnlisted    = "not fetched: not in the inventory"
	NoteFetchFailed = "fetch failed"
	NoteNoCORS      = "no CORS: the browser refuses it with crossorigin=anonymous"
)

// errScriptTooLarge is a script longer than MaxScriptBytes.
var errScriptTooLarge = errors.New("pages: script longer than 4MiB")

// Hasher fetches the inventory's external scripts as a browser does for a script with
// crossorigin="anonymous" (a CORS request without credentials, decoded as served) and
// hashes them, caching each URL's hash for a while. Only the inventory's URLs are ever
// fetched: a page could name any address in a script's src, and tokenwall must not be made
// to request it.
type Hasher struct {
	client *http.Client
	ttl    time.Duration
	origin string
	now    func() time.Time

	mu    sync.Mutex
	cache map[string]hashed
}

// hashed is one URL's hash and when it was fetched.
type hashed struct {
	sri  string
	note string
	at   time.Time
}

// NewHasher returns a Hasher fetching with client (its timeout bounds a fetch), caching for
// ttl, sending origin (the payment pages' public origin) as the CORS Origin.
func NewHasher(client *http.Client, ttl time.Duration, origin string) *Hasher {
	return &Hasher{client: client, ttl: ttl, origin: origin, now: time.Now, cache: map[string]hashed{}}
}

// Hash returns the SRI value ("sha384-…") of the script at url as the browser would get it,
// from the cache unless fresh; when it cannot, the SRI is empty and note says why. Only call
// it with an inventory URL.
func (h *Hasher) Hash(ctx context.Context, url string, fresh bool) (sri, note string) {
	now := h.now()
	h.mu.Lock()
	e, ok := h.cache[url]
	h.mu.Unlock()
	if ok && !fresh && now.Sub(e.at) < h.ttl {
		return e.sri, e.note
	}
	sri, err := h.fetch(ctx, url)
	switch {
	case errors.Is(err, errNoCORS):
		e = hashed{sri: sri, note: NoteNoCORS, at: now}
	case err != nil:
		// A failure is not cached: the next response tries again.
		return "", NoteFetchFailed
	default:
		e = hashed{sri: sri, at: now}
	}
	h.mu.Lock()
	h.cache[url] = e
	h.mu.Unlock()
	return e.sri, e.note
}

// errNoCORS is a script served without an Access-Control-Allow-Origin that admits the page.
var errNoCORS = errors.New("pages: script served without CORS")

// fetch gets url and returns its SRI value.
func (h *Hasher) fetch(ctx context.Context, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Origin", h.origin)
	req.Header.Set("Sec-Fetch-Mode", "cors")
	req.Header.Set("Sec-Fetch-Dest", "script")
	resp, err := h.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("pages: script answered %d", resp.StatusCode)
	}
	sum := sha512.New384()
	n, err := io.Copy(sum, io.LimitReader(resp.Body, MaxScriptBytes+1))
	if err != nil {
		return "", err
	}
	if n > MaxScriptBytes {
		return "", errScriptTooLarge
	}
	sri := "sha384-" + base64.StdEncoding.EncodeToString(sum.Sum(nil))
	if acao := resp.Header.Get("Access-Control-Allow-Origin"); acao != "*" && acao != h.origin {
		return sri, errNoCORS
	}
	return sri, nil
}
