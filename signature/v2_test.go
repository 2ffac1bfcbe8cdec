package signature

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestV2CoversPurposeRequestAndBody: a v2 signature verifies for exactly what it signed;
// another purpose, method, path, query or body, an old timestamp, or a replayed nonce fails.
func TestV2CoversPurposeRequestAndBody(t *testing.T) {
	now := time.Unix(1_796_000_000, 0)
	req := Request{Purpose: PurposeCheckout, Method: "POST", Path: "/checkout/submit", RawQuery: "order=1042"}
	body := []byte("payment_method=pm_1Q0P&card_last4=4242")
	newVerifier := func(allowV1 bool) *Verifier {
		return &Verifier{Keys: func() [][]byte { return [][]byte{keyNew} }, AllowV1: allowV1, Now: func() time.Time { return now }}
	}
	sign := func(r Request, b []byte) string { return SignV2(now, NewNonce(), r, b, false, keyNew) }
	edit := func(f func(*Request)) Request { r := req; f(&r); return r }
	for _, tc := range []struct {
		name   string
		header string
		req    Request
		body   []byte
		want   error
	}{
		{name: "as signed", header: sign(req, body), req: req, body: body},
		{name: "signed for a webhook", header: sign(edit(func(r *Request) { r.Purpose = PurposeWebhook }), body), req: req, body: body, want: ErrSignatureMismatch},
		{name: "another method", header: sign(req, body), req: edit(func(r *Request) { r.Method = "PUT" }), body: body, want: ErrSignatureMismatch},
		{name: "another path", header: sign(req, body), req: edit(func(r *Request) { r.Path = "/admin" }), body: body, want: ErrSignatureMismatch},
		{name: "another query", header: sign(req, body), req: edit(func(r *Request) { r.RawQuery = "order=1" }), body: body, want: ErrSignatureMismatch},
		{name: "another body", header: sign(req, body), req: req, body: []byte("payment_method=pm_other"), want: ErrSignatureMismatch},
		{name: "wrong key", header: SignV2(now, NewNonce(), req, body, false, keyBad), req: req, body: body, want: ErrSignatureMismatch},
		{name: "too old", header: SignV2(now.Add(-6*time.Minute), NewNonce(), req, body, false, keyNew), req: req, body: body, want: ErrSignatureTooOld},
		{name: "no nonce", header: strings.Replace(sign(req, body), ",n=", ",x=", 1), req: req, body: body, want: ErrBadSignatureHeader},
		{name: "v1 only, transition over", header: Sign(now, body, keyNew), req: req, body: body, want: ErrV1Refused},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := newVerifier(false).Verify(tc.header, tc.req, tc.body); !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
	t.Run("replayed nonce", func(t *testing.T) {
		v, h := newVerifier(false), sign(req, body)
		if err := v.Verify(h, req, body); err != nil {
			t.Fatal(err)
		}
		if err := v.Verify(h, req, body); !errors.Is(err, ErrReplayed) {
			t.Fatalf("second use: %v, want ErrReplayed", err)
		}
	})
	t.Run("v1 during the transition", func(t *testing.T) {
		if err := newVerifier(true).Verify(Sign(now, body, keyNew), req, body); err != nil {
			t.Fatalf("v1 with AllowV1: %v", err)
		}
	})
	t.Run("a transition header verifies as v1 and as v2", func(t *testing.T) {
		h := SignV2(now, NewNonce(), req, body, true, keyNew)
		if err := Verify(h, body, [][]byte{keyNew}, DefaultTolerance, now); err != nil {
			t.Fatalf("v1 verifier: %v", err)
		}
		if err := newVerifier(false).Verify(h, req, body); err != nil {
			t.Fatalf("v2 verifier: %v", err)
		}
	})
	t.Run("nonce table full", func(t *testing.T) {
		v := newVerifier(false)
		v.MaxNonces = 2
		for i := range 3 {
			err := v.Verify(sign(req, body), req, body)
			if i < 2 && err != nil || i == 2 && !errors.Is(err, ErrNonceTableFull) {
				t.Fatalf("request %d: %v", i, err)
			}
		}
	})
}

// TestVerifierVerifyRequest reads the request as the app received it.
func TestVerifierVerifyRequest(t *testing.T) {
	now := time.Now()
	body := "payment_method=pm_1"
	r := httptest.NewRequest("POST", "/checkout/submit?order=7", strings.NewReader(body))
	r.Header.Set(Header, SignV2(now, NewNonce(), Request{Purpose: PurposeCheckout, Method: "POST", Path: "/checkout/submit", RawQuery: "order=7"}, []byte(body), false, keyNew))
	v := &Verifier{Keys: func() [][]byte { return [][]byte{keyNew} }}
	got, err := v.VerifyRequest(r, PurposeCheckout, 1024)
	if err != nil || string(got) != body {
		t.Fatalf("VerifyRequest = %q, %v", got, err)
	}
}
