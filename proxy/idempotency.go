package proxy

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"github.com/tokenwall/tokenwall/logging"
	"net/http"
	"sync"

	"github.com/labstack/echo/v4"

	"github.com/tokenwall/tokenwall/store"
)

// IdempotencyHeader is the header every POST to /v1 must carry.
const IdempotencyHeader = "Idempotency-Key"

var (
	problemIdemMissing = problemf(http.StatusBadRequest, "idempotency-key-missing", "Idempotency-Key required",
		"every POST needs an Idempotency-Key header of 1 to 255 printable ASCII characters")
	problemIdemReused = problemf(http.StatusConflict, "idempotency-key-reused", "Idempotency-Key reused",
		"this key was used with a different request; use a new key for a new request")
	problemIdemInFlight = problemf(http.StatusConflict, "idempotency-key-in-use", "Idempotency-Key in use",
		"a request with this key is still running; retry it later")
)

// idemContextKey holds the key passed on to the gateway for this request.
const idemContextKey = "tokenwall.gateway_idempotency_key"

// gatewayIdemKey returns the idempotency key to give the gateway: derived from the API key id
// and the client's Idempotency-Key, so two clients' keys never collide at the gateway and a
// retry of one request reuses it.
func gatewayIdemKey(c echo.Context) string {
	k, _ := c.Get(idemContextKey).(string)
	return k
}

// inFlight serialises requests with one idempotency key within this replica; across replicas
// the gateway's own idempotency (the same key is passed on) keeps one charge.
type inFlight struct {
	mu   sync.Mutex
	keys map[string]bool
}

func (f *inFlight) begin(key string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.keys[key] {
		return false
	}
	if f.keys == nil {
		f.keys = map[string]bool{}
	}
	f.keys[key] = true
	return true
}

func (f *inFlight) end(key string) {
	f.mu.Lock()
	delete(f.keys, key)
	f.mu.Unlock()
}

// validIdemKey reports whether k is 1-255 printable ASCII characters.
func validIdemKey(k string) bool {
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

// idempotent makes a POST idempotent: the same Idempotency-Key with the same method, path and
// body answers the stored response (Idempotent-Replayed: true) without acting again; with
// another request it is refused (409). Responses below 500 are kept for api.idempotency_ttl;
// a 5xx is not, so the client's retry acts (with the same gateway key).
func (s *Server) idempotent(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.Method != http.MethodPost {
			return next(c)
		}
		ik := r.Header.Get(IdempotencyHeader)
		if !validIdemKey(ik) {
			return problemIdemMissing
		}
		body, err := readBody(r, s.cfg.API.MaxBodyBytes.Int())
		if err != nil {
			return err
		}
		key := apiKeyOf(c).ID + ":" + ik
		h := sha256.New()
		h.Write([]byte(r.Method + "\n" + c.Path() + "\n" + r.URL.Path + "\n"))
		h.Write(body)
		reqHash := h.Sum(nil)
		if !s.inflight.begin(key) {
			return problemIdemInFlight
		}
		defer s.inflight.end(key)

		ctx := r.Context()
		rec, err := s.store.GetIdempotency(ctx, key, s.now())
		switch {
		case err == nil && bytes.Equal(rec.RequestHash, reqHash):
			c.Response().Header().Set("Idempotent-Replayed", "true")
			c.Response().Header().Set("Cache-Control", "no-store")
			return c.Blob(rec.Status, contentTypeOf(rec.Status), rec.Body)
		case err == nil:
			return problemIdemReused
		case !errors.Is(err, store.ErrNotFound):
			return problemUnavailable.withCause(err)
		}
		gk := sha256.Sum256([]byte(key))
		c.Set(idemContextKey, "tw_"+hex.EncodeToString(gk[:]))

		// The response is captured so it can be stored: an error is rendered here, inside
		// the capture, rather than by Echo afterwards.
		cw := &captureWriter{ResponseWriter: c.Response().Writer}
		c.Response().Writer = cw
		if err := next(c); err != nil {
			c.Error(err)
		}
		status := c.Response().Status
		if status >= 500 || status == 0 {
			return nil
		}
		now := s.now()
		if _, err := s.store.PutIdempotency(ctx, store.IdempotencyRecord{Key: key, RequestHash: reqHash, Status: status,
			Body: cw.buf.Bytes(), CreatedAt: now, ExpiresAt: now.Add(s.cfg.API.IdempotencyTTL.D())}); err != nil {
			// The client has its answer; a retry would act again through the gateway's own
			// idempotency, so this is logged, not fatal.
			s.log.Error().Err(err).Str(logging.FieldAPIKey, apiKeyOf(c).ID).Msg("storing the idempotent response failed")
		}
		return nil
	}
}

// contentTypeOf is the media type of a stored response: problem+json for errors.
func contentTypeOf(status int) string {
	if status >= 400 {
		return "application/problem+json"
	}
	return "application/json"
}

// captureWriter copies what is written to the client.
type captureWriter struct {
	http.ResponseWriter
	buf bytes.Buffer
}

func (w *captureWriter) Write(b []byte) (int, error) {
	w.buf.Write(b)
	return w.ResponseWriter.Write(b)
}
