package signature

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

var (
	keyOld = []byte("whsec_old_0123456789abcdef")
	keyNew = []byte("whsec_new_fedcba9876543210")
	keyBad = []byte("whsec_attacker")
	sigNow = time.Unix(1_795_000_000, 0) // a fixed instant in 2026
	body   = []byte(`{"payment_method":"pm_1Q0PsIJvEtkwdCNYMSaVuRz6","card_last4":"4242"}`)
)

// refSign computes the scheme from its description in Header's comment.
func refSign(key []byte, ts int64, b []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(strconv.FormatInt(ts, 10) + "."))
	m.Write(b)
	return hex.EncodeToString(m.Sum(nil))
}

func TestSignFormat(t *testing.T) {
	for _, tc := range []struct {
		name string
		keys [][]byte
		want string
	}{
		{name: "one key", keys: [][]byte{keyNew}, want: "t=1795000000,v1=" + refSign(keyNew, sigNow.Unix(), body)},
		{name: "two keys in order", keys: [][]byte{keyOld, keyNew}, want: "t=1795000000,v1=" + refSign(keyOld, sigNow.Unix(), body) + ",v1=" + refSign(keyNew, sigNow.Unix(), body)},
		{name: "no key", keys: nil, want: "t=1795000000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Sign(sigNow, body, tc.keys...); got != tc.want {
				t.Errorf("Sign = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	tol := 300 * time.Second
	signed := Sign(sigNow, body, keyNew)
	for _, tc := range []struct {
		name   string
		header string
		body   []byte
		keys   [][]byte
		now    time.Time
		want   error
	}{
		{name: "round trip", header: signed, body: body, keys: [][]byte{keyNew}, now: sigNow},
		{name: "empty body", header: Sign(sigNow, nil, keyNew), body: []byte{}, keys: [][]byte{keyNew}, now: sigNow},
		{name: "tampered body", header: signed, body: bytes.Replace(body, []byte("4242"), []byte("4243"), 1), keys: [][]byte{keyNew}, now: sigNow, want: ErrSignatureMismatch},
		{name: "appended body", header: signed, body: append(append([]byte(nil), body...), ' '), keys: [][]byte{keyNew}, now: sigNow, want: ErrSignatureMismatch},
		{name: "wrong key", header: signed, body: body, keys: [][]byte{keyBad}, now: sigNow, want: ErrSignatureMismatch},
		{name: "no verifier keys", header: signed, body: body, keys: nil, now: sigNow, want: ErrSignatureMismatch},
		{name: "roll: header has both, verifier old", header: Sign(sigNow, body, keyOld, keyNew), body: body, keys: [][]byte{keyOld}, now: sigNow},
		{name: "roll: header has both, verifier new", header: Sign(sigNow, body, keyOld, keyNew), body: body, keys: [][]byte{keyNew}, now: sigNow},
		{name: "roll: verifier has both, header old", header: Sign(sigNow, body, keyOld), body: body, keys: [][]byte{keyNew, keyOld}, now: sigNow},
		{name: "roll: verifier has both, header new", header: Sign(sigNow, body, keyNew), body: body, keys: [][]byte{keyOld, keyNew}, now: sigNow},
		{name: "roll: neither key matches", header: Sign(sigNow, body, keyOld, keyNew), body: body, keys: [][]byte{keyBad}, now: sigNow, want: ErrSignatureMismatch},
		{name: "299 s old accepted", header: signed, body: body, keys: [][]byte{keyNew}, now: sigNow.Add(299 * time.Second)},
		{name: "300 s old accepted", header: signed, body: body, keys: [][]byte{keyNew}, now: sigNow.Add(300 * time.Second)},
		{name: "301 s old refused", header: signed, body: body, keys: [][]byte{keyNew}, now: sigNow.Add(301 * time.Second), want: ErrSignatureTooOld},
		{name: "a day old refused", header: signed, body: body, keys: [][]byte{keyNew}, now: sigNow.Add(24 * time.Hour), want: ErrSignatureTooOld},
		{name: "299 s in the future accepted", header: signed, body: body, keys: [][]byte{keyNew}, now: sigNow.Add(-299 * time.Second)},
		{name: "301 s in the future refused", header: signed, body: body, keys: [][]byte{keyNew}, now: sigNow.Add(-301 * time.Second), want: ErrSignatureTooOld},
		{name: "old timestamp refused even with a wrong key", header: signed, body: body, keys: [][]byte{keyBad}, now: sigNow.Add(time.Hour), want: ErrSignatureTooOld},
		{name: "timestamp swapped into a valid signature", header: strings.Replace(signed, "t=1795000000", "t=1795000100", 1), body: body, keys: [][]byte{keyNew}, now: sigNow.Add(100 * time.Second), want: ErrSignatureMismatch},
		{name: "spaces after commas", header: strings.ReplaceAll(Sign(sigNow, body, keyOld, keyNew), ",", ", "), body: body, keys: [][]byte{keyNew}, now: sigNow},
		{name: "unknown scheme ignored", header: signed + ",v0=abc", body: body, keys: [][]byte{keyNew}, now: sigNow},
		{name: "v1 first then t", header: "v1=" + refSign(keyNew, sigNow.Unix(), body) + ",t=1795000000", body: body, keys: [][]byte{keyNew}, now: sigNow},

		{name: "missing header", header: "", body: body, keys: [][]byte{keyNew}, now: sigNow, want: ErrNoSignature},
		{name: "no t", header: "v1=" + refSign(keyNew, sigNow.Unix(), body), body: body, keys: [][]byte{keyNew}, now: sigNow, want: ErrBadSignatureHeader},
		{name: "t not a number", header: "t=soon,v1=" + refSign(keyNew, sigNow.Unix(), body), body: body, keys: [][]byte{keyNew}, now: sigNow, want: ErrBadSignatureHeader},
		{name: "bad hex", header: "t=1795000000,v1=" + strings.Repeat("zz", sha256.Size), body: body, keys: [][]byte{keyNew}, now: sigNow, want: ErrBadSignatureHeader},
		{name: "short hex", header: "t=1795000000,v1=" + refSign(keyNew, sigNow.Unix(), body)[:62], body: body, keys: [][]byte{keyNew}, now: sigNow, want: ErrBadSignatureHeader},
		{name: "odd hex", header: "t=1795000000,v1=" + refSign(keyNew, sigNow.Unix(), body)[:63], body: body, keys: [][]byte{keyNew}, now: sigNow, want: ErrBadSignatureHeader},
		{name: "long hex", header: "t=1795000000,v1=" + refSign(keyNew, sigNow.Unix(), body) + "00", body: body, keys: [][]byte{keyNew}, now: sigNow, want: ErrBadSignatureHeader},
		{name: "no v1", header: "t=1795000000", body: body, keys: [][]byte{keyNew}, now: sigNow, want: ErrBadSignatureHeader},
		{name: "only unknown scheme", header: "t=1795000000,v0=" + refSign(keyNew, sigNow.Unix(), body), body: body, keys: [][]byte{keyNew}, now: sigNow, want: ErrBadSignatureHeader},
		{name: "garbage", header: "garbage", body: body, keys: [][]byte{keyNew}, now: sigNow, want: ErrBadSignatureHeader},
		{name: "bare hex", header: refSign(keyNew, sigNow.Unix(), body), body: body, keys: [][]byte{keyNew}, now: sigNow, want: ErrBadSignatureHeader},
		{name: "empty part", header: signed + ",", body: body, keys: [][]byte{keyNew}, now: sigNow, want: ErrBadSignatureHeader},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Verify(tc.header, tc.body, tc.keys, tol, tc.now)
			if tc.want == nil && err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("Verify error = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestVerifyRequest(t *testing.T) {
	const limit = 1024
	for _, tc := range []struct {
		name    string
		body    []byte
		header  func(b []byte) string
		want    error
		restore bool // the handler can read the body afterwards
	}{
		{name: "signed now", body: body, header: func(b []byte) string { return Sign(time.Now(), b, keyNew) }, restore: true},
		{name: "exactly the limit", body: bytes.Repeat([]byte("a"), limit), header: func(b []byte) string { return Sign(time.Now(), b, keyNew) }, restore: true},
		{name: "signed with the old key of a roll", body: body, header: func(b []byte) string { return Sign(time.Now(), b, keyOld) }, restore: true},
		{name: "missing header", body: body, header: func([]byte) string { return "" }, want: ErrNoSignature, restore: true},
		{name: "wrong key", body: body, header: func(b []byte) string { return Sign(time.Now(), b, keyBad) }, want: ErrSignatureMismatch, restore: true},
		{name: "ten minutes old", body: body, header: func(b []byte) string { return Sign(time.Now().Add(-10*time.Minute), b, keyNew) }, want: ErrSignatureTooOld, restore: true},
		{name: "one byte over the limit", body: bytes.Repeat([]byte("a"), limit+1), header: func(b []byte) string { return Sign(time.Now(), b, keyNew) }, want: ErrBodyTooLarge},
		{name: "far over the limit", body: bytes.Repeat([]byte("a"), 10*limit), header: func(b []byte) string { return Sign(time.Now(), b, keyNew) }, want: ErrBodyTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/webhooks/tokenwall", bytes.NewReader(tc.body))
			if h := tc.header(tc.body); h != "" {
				r.Header.Set(Header, h)
			}
			got, err := VerifyRequest(r, [][]byte{keyNew, keyOld}, limit)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("VerifyRequest: %v", err)
				}
				if !bytes.Equal(got, tc.body) {
					t.Errorf("returned %d bytes, want the %d-byte body", len(got), len(tc.body))
				}
			} else {
				if !errors.Is(err, tc.want) {
					t.Fatalf("VerifyRequest error = %v, want %v", err, tc.want)
				}
				if got != nil {
					t.Errorf("returned a body with an error")
				}
			}
			if tc.restore {
				again, err := io.ReadAll(r.Body)
				if err != nil {
					t.Fatalf("read body again: %v", err)
				}
				if !bytes.Equal(again, tc.body) {
					t.Errorf("body read again is %d bytes, want the original %d", len(again), len(tc.body))
				}
			}
		})
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestVerifyRequestReadError(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/", errReader{})
	r.Header.Set(Header, Sign(time.Now(), nil, keyNew))
	_, err := VerifyRequest(r, [][]byte{keyNew}, 1024)
	if err == nil || !strings.Contains(err.Error(), "connection reset") {
		t.Errorf("VerifyRequest error = %v, want the read error", err)
	}
	for _, sentinel := range []error{ErrNoSignature, ErrBadSignatureHeader, ErrSignatureMismatch, ErrSignatureTooOld, ErrBodyTooLarge} {
		if errors.Is(err, sentinel) {
			t.Errorf("read error matches %v", sentinel)
		}
	}
}
