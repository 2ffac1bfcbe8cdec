package proxy_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/signature"
)

// TestForwardsAreSignedV2 (issue 12, the forwarded-body signature): a checkout forward and a
// webhook delivery carry a v2 signature over their purpose, method, path, query and body,
// which the app verifies with v1 refused; the forward does not verify as a webhook, and the
// same signed request is taken once (its nonce).
func TestForwardsAreSignedV2(t *testing.T) {
	h := newHarness(t, options{webhooks: true})
	if resp, body := h.post("/checkout/submit?order=1042", formCT, checkoutBody()); resp.StatusCode != http.StatusOK {
		t.Fatalf("checkout: %d %s", resp.StatusCode, body)
	}
	reqs := h.up.requests()
	fwd := reqs[len(reqs)-1]
	if fwd.SignatureV2Err != nil || fwd.SignatureErr != nil {
		t.Fatalf("the forward: v2 %v, v1 %v; want both to verify during the transition", fwd.SignatureV2Err, fwd.SignatureErr)
	}
	v := &signature.Verifier{Keys: func() [][]byte { return [][]byte{h.signingKey} }}
	req := signature.Request{Purpose: signature.PurposeWebhook, Method: http.MethodPost, Path: "/checkout/submit", RawQuery: "order=1042"}
	if err := v.Verify(fwd.Header.Get(signature.Header), req, fwd.Body); !errors.Is(err, signature.ErrSignatureMismatch) {
		t.Errorf("the checkout forward verified as a webhook: %v", err)
	}
	req.Purpose = signature.PurposeCheckout
	if err := v.Verify(fwd.Header.Get(signature.Header), req, fwd.Body); err != nil {
		t.Fatalf("the forward as the app got it: %v", err)
	}
	if err := v.Verify(fwd.Header.Get(signature.Header), req, fwd.Body); !errors.Is(err, signature.ErrReplayed) {
		t.Errorf("the same forward again: %v, want ErrReplayed", err)
	}

	const id = "evt_1Q0PsIJvEtkwdCNYsignv2"
	if resp, body := h.sendEvent(gatewayEvent(id, "charge.succeeded", "v2"), "", time.Now()); resp.StatusCode != http.StatusOK {
		t.Fatalf("webhook: %d %s", resp.StatusCode, body)
	}
	h.waitDelivered(id)
	for _, r := range h.deliveries()[id] {
		if r.SignatureV2Err != nil {
			t.Errorf("the webhook delivery: v2 %v", r.SignatureV2Err)
		}
	}
}
