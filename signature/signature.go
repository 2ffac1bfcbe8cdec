// Package signature is the Tokenwall-Signature scheme: how tokenwall signs what it sends to the
// billing app (checkout forwards and webhook deliveries) and how the app verifies it.
package signature

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Header carries tokenwall's signature of a body it sends to the billing app.
//
// The scheme: the header value is "t=<unix seconds>,v1=<hex>" where hex is
// HMAC-SHA256(key, "<unix seconds>." + body) over the exact bytes of the body. During a key
// roll the header carries one v1 per active key. A receiver recomputes the HMAC with its key,
// compares it in constant time, and refuses a timestamp older than its tolerance.
const Header = "Tokenwall-Signature"

// DefaultTolerance is how old a signature timestamp may be before Verify refuses it.
const DefaultTolerance = 5 * time.Minute

// Errors returned by Verify. Each is a distinct reason to refuse a request.
var (
	ErrNoSignature        = errors.New("signature: header missing")
	ErrBadSignatureHeader = errors.New("signature: header malformed")
	ErrSignatureMismatch  = errors.New("signature: no signature matches")
	ErrSignatureTooOld    = errors.New("signature: timestamp outside tolerance")
	ErrBodyTooLarge       = errors.New("signature: body too large")
)

// Sign returns the header value that signs body at time t with each of keys.
func Sign(t time.Time, body []byte, keys ...[]byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	var b strings.Builder
	b.WriteString("t=")
	b.WriteString(ts)
	for _, k := range keys {
		b.WriteString(",v1=")
		b.WriteString(hex.EncodeToString(mac(k, ts, body)))
	}
	return b.String()
}

func mac(key []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks header against body with any of keys, refusing timestamps further than
// tolerance from now (in either direction). It returns nil only when a v1 signature matches.
func Verify(header string, body []byte, keys [][]byte, tolerance time.Duration, now time.Time) error {
	if header == "" {
		return ErrNoSignature
	}
	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return ErrBadSignatureHeader
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			s, err := hex.DecodeString(v)
			if err != nil || len(s) != sha256.Size {
				return ErrBadSignatureHeader
			}
			sigs = append(sigs, s)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrBadSignatureHeader
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return ErrSignatureTooOld
	}
	for _, k := range keys {
		want := mac(k, ts, body)
		for _, s := range sigs {
			if hmac.Equal(want, s) {
				return nil
			}
		}
	}
	return ErrSignatureMismatch
}

// VerifyRequest reads r's body (at most maxBytes), verifies its Header with any of
// keys and DefaultTolerance, and puts the body back so the handler can read it again. It
// returns the body.
func VerifyRequest(r *http.Request, keys [][]byte, maxBytes int64) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("signature: read body: %w", err)
	}
	if int64(len(body)) > maxBytes {
		return nil, ErrBodyTooLarge
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err := Verify(r.Header.Get(Header), body, keys, DefaultTolerance, time.Now()); err != nil {
		return nil, err
	}
	return body, nil
}
