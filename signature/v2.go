package signature

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Purposes a v2 signature is made for: the same body signed for one is refused for the
// other, so a checkout forward can never be replayed as a webhook delivery.
const (
	PurposeCheckout = "checkout"
	PurposeWebhook  = "webhook"
)

// Errors of the v2 scheme, besides those of Verify.
var (
	// ErrReplayed means the signature's nonce was seen before within the tolerance.
	ErrReplayed = errors.New("signature: nonce replayed")
	// ErrV1Refused means only a v1 signature was sent and the verifier no longer takes them.
	ErrV1Refused = errors.New("signature: v1 signatures are no longer accepted")
)

// Request is what a v2 signature covers besides the body: the purpose, the method, and the
// path and query the app receives.
type Request struct {
	Purpose  string
	Method   string
	Path     string
	RawQuery string
}

// Of returns the Request of r, for purpose: as the app receives it, or, for an outgoing
// request, as it will be sent (an empty path goes out as "/").
func Of(r *http.Request, purpose string) Request {
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	return Request{Purpose: purpose, Method: r.Method, Path: path, RawQuery: r.URL.RawQuery}
}

// NewNonce returns a random 128-bit nonce, hex.
func NewNonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// macV2 is HMAC-SHA256(key, "tokenwall-v2\n" purpose "\n" t "\n" nonce "\n" method "\n"
// path "\n" query "\n" body): every part is newline-free but the body, which comes last.
func macV2(key []byte, ts, nonce string, req Request, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	for _, part := range []string{"tokenwall-v2", req.Purpose, ts, nonce, req.Method, req.Path, req.RawQuery} {
		m.Write([]byte(part))
		m.Write([]byte{'\n'})
	}
	m.Write(body)
	return m.Sum(nil)
}

// SignV2 returns the header value that signs body for req at time t with nonce and each of
// keys: "t=<unix>,n=<nonce>,v2=<hex>…", and, while withV1 (the transition), also the v1
// signatures of the body alone for verifiers not yet on v2.
func SignV2(t time.Time, nonce string, req Request, body []byte, withV1 bool, keys ...[]byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	var b strings.Builder
	b.WriteString("t=" + ts + ",n=" + nonce)
	for _, k := range keys {
		b.WriteString(",v2=" + hex.EncodeToString(macV2(k, ts, nonce, req, body)))
	}
	if withV1 {
		for _, k := range keys {
			b.WriteString(",v1=" + hex.EncodeToString(mac(k, ts, body)))
		}
	}
	return b.String()
}

// Verifier checks signatures on the receiving side (the billing app): v2 over the purpose,
// the request and the body, with a nonce remembered for the tolerance so a signed request is
// accepted once. During the transition (AllowV1) a request with only v1 signatures is still
// accepted, without replay protection.
type Verifier struct {
	// Keys returns the signing keys (during a key roll, the old and the new one).
	Keys func() [][]byte
	// Tolerance is how far a timestamp may be from now (DefaultTolerance when zero).
	Tolerance time.Duration
	// AllowV1 accepts v1-only signatures (the transition); off, they are refused.
	AllowV1 bool
	// MaxNonces bounds the remembered nonces (100,000 when zero); when full, requests are
	// refused until old nonces expire, rather than forgetting one early.
	MaxNonces int
	// Now is the clock (time.Now when nil).
	Now func() time.Time

	mu     sync.Mutex
	nonces map[string]time.Time
}

// ErrNonceTableFull means more signed requests arrived within the tolerance than MaxNonces.
var ErrNonceTableFull = errors.New("signature: too many signed requests within the tolerance")

// VerifyRequest reads r's body (at most maxBytes), verifies its Header for purpose, and puts
// the body back so the handler can read it again. It returns the body.
func (v *Verifier) VerifyRequest(r *http.Request, purpose string, maxBytes int64) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("signature: read body: %w", err)
	}
	if int64(len(body)) > maxBytes {
		return nil, ErrBodyTooLarge
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return body, v.Verify(r.Header.Get(Header), Of(r, purpose), body)
}

// Verify checks header against req and body.
func (v *Verifier) Verify(header string, req Request, body []byte) error {
	now, tol := time.Now(), v.Tolerance
	if v.Now != nil {
		now = v.Now()
	}
	if tol == 0 {
		tol = DefaultTolerance
	}
	p, err := parseV2(header)
	if err != nil {
		return err
	}
	if d := now.Sub(time.Unix(p.ts, 0)); d > tol || d < -tol {
		return ErrSignatureTooOld
	}
	keys := v.Keys()
	if len(p.v2) == 0 {
		if !v.AllowV1 {
			return ErrV1Refused
		}
		return Verify(header, body, keys, tol, now)
	}
	if p.nonce == "" {
		return ErrBadSignatureHeader
	}
	if !matchesAny(keys, p.v2, func(k []byte) []byte { return macV2(k, p.tsText, p.nonce, req, body) }) {
		return ErrSignatureMismatch
	}
	return v.remember(p.nonce, now, tol)
}

// remember records nonce until now+tol, refusing one seen before.
func (v *Verifier) remember(nonce string, now time.Time, tol time.Duration) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.nonces == nil {
		v.nonces = map[string]time.Time{}
	}
	if exp, ok := v.nonces[nonce]; ok && now.Before(exp) {
		return ErrReplayed
	}
	limit := v.MaxNonces
	if limit == 0 {
		limit = 100_000
	}
	if len(v.nonces) >= limit {
		for n, exp := range v.nonces {
			if !now.Before(exp) {
				delete(v.nonces, n)
			}
		}
		if len(v.nonces) >= limit {
			return ErrNonceTableFull
		}
	}
	// Remembered for twice the tolerance: a timestamp may be tol in the future.
	v.nonces[nonce] = now.Add(2 * tol)
	return nil
}

// parsedV2 is a parsed header: its timestamp, nonce and v2 signatures (v1 ones are left to
// Verify).
type parsedV2 struct {
	ts     int64
	tsText string
	nonce  string
	v2     [][]byte
}

func parseV2(header string) (parsedV2, error) {
	var p parsedV2
	if header == "" {
		return p, ErrNoSignature
	}
	for _, part := range strings.Split(header, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return p, ErrBadSignatureHeader
		}
		switch k {
		case "t":
			p.tsText = val
		case "n":
			if len(val) < 16 || len(val) > 64 {
				return p, ErrBadSignatureHeader
			}
			p.nonce = val
		case "v2":
			s, err := hex.DecodeString(val)
			if err != nil || len(s) != sha256.Size {
				return p, ErrBadSignatureHeader
			}
			p.v2 = append(p.v2, s)
		}
	}
	ts, err := strconv.ParseInt(p.tsText, 10, 64)
	if err != nil {
		return p, ErrBadSignatureHeader
	}
	p.ts = ts
	return p, nil
}

// matchesAny reports whether any signature in sigs equals want(k) for some key, comparing in
// constant time.
func matchesAny(keys, sigs [][]byte, want func([]byte) []byte) bool {
	for _, k := range keys {
		w := want(k)
		for _, s := range sigs {
			if hmac.Equal(w, s) {
				return true
			}
		}
	}
	return false
}
