package apikey

import (
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/vault"
)

// ringSecrets serves the key set from memory, or err.
type ringSecrets struct {
	set []byte
	err error
}

func (r *ringSecrets) Get(string) (vault.Secret, error) {
	if r.err != nil {
		return vault.Secret{}, r.err
	}
	return vault.NewSecret(vault.SecretAPIKeys, r.set, 1), nil
}

func TestRingAuthenticate(t *testing.T) {
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	good, goodFull, _ := New("billing", []string{ScopePayments}, now)
	revoked, revokedFull, _ := New("old", []string{ScopePayments}, now)
	revoked.RevokedAt = &now
	mtls, mtlsFull, _ := New("mtls", []string{ScopeAdmin}, now)
	subject := pkix.Name{CommonName: "billing-mtls", Organization: []string{"Merchant"}}.String()
	mtls.ClientCertSubject = subject
	_, unknownFull, _ := New("never stored", []string{ScopeAdmin}, now)
	set, err := KeySet{Keys: []Key{good, revoked, mtls}}.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	ring := NewRing(&ringSecrets{set: set})
	tests := []struct {
		name    string
		header  string
		subject string
		wantID  string
		want    error
	}{
		{name: "good key", header: "Bearer " + goodFull, wantID: good.ID},
		{name: "no header", header: "", want: ErrNoKey},
		{name: "basic auth", header: "Basic dXNlcjpwYXNz", want: ErrNoKey},
		{name: "not a tokenwall key", header: "Bearer sk_live_abc", want: ErrBadKey},
		{name: "unknown id", header: "Bearer " + unknownFull, want: ErrBadKey},
		{name: "wrong secret", header: "Bearer " + goodFull[:len(goodFull)-4] + "0000", want: ErrBadKey},
		{name: "revoked", header: "Bearer " + revokedFull, wantID: revoked.ID, want: ErrRevoked},
		{name: "certificate alone", subject: subject, wantID: mtls.ID},
		{name: "certificate and its own key", header: "Bearer " + mtlsFull, subject: subject, wantID: mtls.ID},
		{name: "certificate and another key", header: "Bearer " + goodFull, subject: subject, wantID: good.ID, want: ErrBadCert},
		{name: "unmapped certificate alone", subject: "CN=stranger", want: ErrBadCert},
		{name: "unmapped certificate and a key", header: "Bearer " + goodFull, subject: "CN=stranger", wantID: good.ID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := ring.Authenticate(tc.header, tc.subject)
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if k.ID != tc.wantID {
				t.Errorf("key %q, want %q", k.ID, tc.wantID)
			}
		})
	}
}

// TestRingFailsClosed: a key set that cannot be read or parsed refuses every key with
// ErrUnavailable, never lets one through.
func TestRingFailsClosed(t *testing.T) {
	_, full, _ := New("billing", []string{ScopePayments}, time.Now())
	for _, tc := range []struct {
		name    string
		secrets *ringSecrets
	}{
		{name: "stale", secrets: &ringSecrets{err: fmt.Errorf("secret api_keys: %w", vault.ErrStale)}},
		{name: "malformed", secrets: &ringSecrets{set: []byte(`{"keys":[{"id":"x"}]}`)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewRing(tc.secrets).Authenticate("Bearer "+full, ""); !errors.Is(err, ErrUnavailable) {
				t.Fatalf("err = %v, want ErrUnavailable", err)
			}
		})
	}
}

func TestAuthorize(t *testing.T) {
	k, _, _ := New("billing", []string{ScopePayments}, time.Now())
	l := NewLimiter(1, 1)
	t0 := time.Now()
	if err := Authorize(l, k, ScopeRefunds, t0); !errors.Is(err, ErrScope) || err.Error() == ErrScope.Error() {
		t.Fatalf("missing scope: %v, want ErrScope naming the scope", err)
	}
	err := Authorize(l, k, ScopePayments, t0)
	var rl *RateLimitError
	if !errors.As(err, &rl) || !errors.Is(err, ErrRateLimited) || rl.RetryAfter() <= 0 {
		t.Fatalf("empty bucket: %v, want a RateLimitError with a wait", err)
	}
	if err := Authorize(l, k, ScopePayments, t0.Add(2*time.Second)); err != nil {
		t.Fatalf("after the wait: %v", err)
	}
	if Actor(k) != "key:"+k.ID {
		t.Errorf("Actor = %q", Actor(k))
	}
}
