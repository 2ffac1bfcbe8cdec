package webhooks

import (
	"bytes"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/signature"
)

// TestDeprecatedVerifyRequestCallsSignature: apps that import webhooks.VerifyRequest keep
// working, with the same errors as package signature.
func TestDeprecatedVerifyRequestCallsSignature(t *testing.T) {
	key := []byte("whsec_alias_0123456789")
	body := []byte(`{"id":"evt_1"}`)
	r := httptest.NewRequest("POST", "/", bytes.NewReader(body))
	r.Header.Set(SignatureHeader, signature.Sign(time.Now(), body, key))
	got, err := VerifyRequest(r, [][]byte{key}, 1024)
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("VerifyRequest = %q, %v", got, err)
	}
	r = httptest.NewRequest("POST", "/", bytes.NewReader(body))
	r.Header.Set(SignatureHeader, Sign(time.Now(), body, []byte("other")))
	if _, err := VerifyRequest(r, [][]byte{key}, 1024); !errors.Is(err, signature.ErrSignatureMismatch) {
		t.Fatalf("wrong key: %v, want signature.ErrSignatureMismatch", err)
	}
}
