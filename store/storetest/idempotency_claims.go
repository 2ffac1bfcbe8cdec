package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/store"
)

// testIdempotencyClaims: a pending claim (Status 0) holds its key against other writers;
// CompleteIdempotency replaces only the live claim holding the same request hash, and
// ReleaseIdempotency deletes only such a claim, never a completed response.
func testIdempotencyClaims(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	claim := store.IdempotencyRecord{Key: "key_1:claim", RequestHash: []byte("h1"), Status: 0, Body: []byte{},
		CreatedAt: now, ExpiresAt: now.Add(30 * time.Second)}
	if ok, err := s.PutIdempotency(ctx, claim); err != nil || !ok {
		t.Fatalf("claim: %v %v", ok, err)
	}
	other := claim
	other.RequestHash = []byte("h2")
	if ok, err := s.PutIdempotency(ctx, other); err != nil || ok {
		t.Fatalf("a second claim on a live key: %v %v, want refused", ok, err)
	}
	done := store.IdempotencyRecord{Key: claim.Key, RequestHash: []byte("h2"), Status: 201, Body: []byte(`{"id":"pi_1"}`),
		CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if ok, err := s.CompleteIdempotency(ctx, done); err != nil || ok {
		t.Fatalf("complete with another request's hash: %v %v, want false", ok, err)
	}
	if err := s.ReleaseIdempotency(ctx, claim.Key, []byte("h2")); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetIdempotency(ctx, claim.Key, now); err != nil || got.Status != 0 {
		t.Fatalf("after a release by another hash: %+v %v, want the claim", got, err)
	}
	done.RequestHash = []byte("h1")
	if ok, err := s.CompleteIdempotency(ctx, done); err != nil || !ok {
		t.Fatalf("complete: %v %v", ok, err)
	}
	if err := s.ReleaseIdempotency(ctx, claim.Key, []byte("h1")); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetIdempotency(ctx, claim.Key, now)
	if err != nil || got.Status != 201 || string(got.Body) != `{"id":"pi_1"}` {
		t.Fatalf("a completed response after a release: %+v %v, want kept", got, err)
	}
	if ok, err := s.CompleteIdempotency(ctx, done); err != nil || ok {
		t.Fatalf("completing twice: %v %v, want false", ok, err)
	}
	// A released claim frees the key.
	k2 := claim
	k2.Key = "key_1:released"
	if ok, err := s.PutIdempotency(ctx, k2); err != nil || !ok {
		t.Fatal(ok, err)
	}
	if err := s.ReleaseIdempotency(ctx, k2.Key, k2.RequestHash); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetIdempotency(ctx, k2.Key, now); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after release: %v, want ErrNotFound", err)
	}
	// An expired claim (its replica died) cannot be completed and frees the key.
	k3 := claim
	k3.Key, k3.CreatedAt, k3.ExpiresAt = "key_1:expired", now.Add(-time.Minute), now.Add(-time.Second)
	if ok, err := s.PutIdempotency(ctx, k3); err != nil || !ok {
		t.Fatal(ok, err)
	}
	late := done
	late.Key = k3.Key
	if ok, err := s.CompleteIdempotency(ctx, late); err != nil || ok {
		t.Fatalf("completing an expired claim: %v %v, want false", ok, err)
	}
	k3.CreatedAt, k3.ExpiresAt = now, now.Add(30*time.Second)
	if ok, err := s.PutIdempotency(ctx, k3); err != nil || !ok {
		t.Fatalf("claiming a key whose claim expired: %v %v", ok, err)
	}
}
