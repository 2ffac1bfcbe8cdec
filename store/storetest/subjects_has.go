package storetest

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/store"
)

// testHasSubject checks HasSubject: it sees exactly the subjects that have a key, matched
// exactly, and never creates one.
func testHasSubject(t *testing.T, s store.Store) {
	defer s.Close()
	has := func(subject string) bool {
		t.Helper()
		ok, err := s.HasSubject(ctx, subject)
		if err != nil {
			t.Fatalf("HasSubject(%q): %v", subject, err)
		}
		return ok
	}
	for range 2 { // the first call must not make the second see a key
		if has("cus_probe") {
			t.Fatal("HasSubject of a subject never seen = true")
		}
	}
	if ok, err := s.ForgetSubject(ctx, "cus_probe"); err != nil || ok {
		t.Fatalf("HasSubject created a key: ForgetSubject = %v, %v", ok, err)
	}
	key, err := s.SubjectKey(ctx, "cus_A1")
	if err != nil {
		t.Fatal(err)
	}
	if !has("cus_A1") {
		t.Fatal("HasSubject after SubjectKey = false")
	}
	for _, other := range []string{"cus_A", "cus_A12", "CUS_A1", "cus_a1", "cus_%", "cus__1"} {
		if has(other) {
			t.Errorf("HasSubject(%q) = true; only cus_A1 has a key", other)
		}
	}
	if again, _ := s.SubjectKey(ctx, "cus_A1"); !reflect.DeepEqual(again, key) {
		t.Fatal("HasSubject changed the key")
	}
	if ok, err := s.ForgetSubject(ctx, "cus_A1"); err != nil || !ok {
		t.Fatalf("ForgetSubject = %v, %v", ok, err)
	}
	if has("cus_A1") {
		t.Fatal("HasSubject after ForgetSubject = true")
	}
	if _, err := s.HasSubject(ctx, ""); !errors.Is(err, store.ErrInvalidArgument) {
		t.Errorf("HasSubject of an empty subject: %v, want ErrInvalidArgument", err)
	}
}

// testCountOutboxMatching checks that CountOutboxMatching counts what PurgeOutboxMatching
// would change (undelivered items holding the needle literally) and changes nothing.
func testCountOutboxMatching(t *testing.T, s store.Store) {
	defer s.Close()
	now := time.Now().UTC().Truncate(time.Microsecond)
	_, before := seedPurgeOutbox(t, s, now)
	count := func(needle string) int64 {
		t.Helper()
		n, err := s.CountOutboxMatching(ctx, needle)
		if err != nil {
			t.Fatalf("CountOutboxMatching(%q): %v", needle, err)
		}
		return n
	}
	if n := count(`"cus_A1"`); n != 3 {
		t.Fatalf("CountOutboxMatching(cus_A1) = %d; want 3 (pending, leased, dead; not delivered)", n)
	}
	for _, tc := range wildcardCases {
		if n := count(tc.needle); n != 1 {
			t.Errorf("CountOutboxMatching(%q) = %d; want 1, the item holding it literally", tc.needle, n)
		}
	}
	if n := count(`"cus_A"`); n != 0 {
		t.Errorf("CountOutboxMatching of a prefix of an id in quotes = %d; want 0", n)
	}
	after, err := s.ListOutbox(ctx, "", -1)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range after {
		if !reflect.DeepEqual(it, before[it.ID]) {
			t.Fatalf("%s changed by counting: %+v, was %+v", it.ID, it, before[it.ID])
		}
	}
	if n, err := s.PurgeOutboxMatching(ctx, `"cus_A1"`, "erased"); err != nil || n != 3 {
		t.Fatalf("PurgeOutboxMatching = %d, %v; want the 3 counted", n, err)
	}
	if n := count(`"cus_A1"`); n != 0 {
		t.Errorf("CountOutboxMatching after the purge = %d; want 0", n)
	}
	if _, err := s.CountOutboxMatching(ctx, ""); !errors.Is(err, store.ErrInvalidArgument) {
		t.Errorf("CountOutboxMatching with an empty needle: %v, want ErrInvalidArgument", err)
	}
}

// testCountIdempotencyMatching checks that CountIdempotencyMatching counts what
// DeleteIdempotencyMatching would delete (expired records too) and deletes nothing.
func testCountIdempotencyMatching(t *testing.T, s store.Store) {
	defer s.Close()
	now := time.Now().UTC().Truncate(time.Microsecond)
	for key, body := range map[string]string{"k:live": `{"customer":"cus_A1"}`, "k:other": `{"customer":"cus_A12"}`,
		"k:lit": wildcardCases[0].match, "k:non": wildcardCases[0].nonMatches[0]} {
		rec := store.IdempotencyRecord{Key: key, RequestHash: []byte("h"), Status: 200, Body: []byte(body),
			CreatedAt: now.Add(-time.Hour), ExpiresAt: now.Add(time.Hour)}
		if ok, err := s.PutIdempotency(ctx, rec); err != nil || !ok {
			t.Fatalf("put %s: %v %v", key, ok, err)
		}
	}
	expired := store.IdempotencyRecord{Key: "k:expired", RequestHash: []byte("h"), Status: 200, Body: []byte(`{"customer":"cus_A1"}`),
		CreatedAt: now.Add(-2 * time.Hour), ExpiresAt: now.Add(-time.Minute)}
	if _, err := s.PutIdempotency(ctx, expired); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		needle string
		want   int64
	}{
		{needle: `"cus_A1"`, want: 2},
		{needle: `"cus_A12"`, want: 1},
		{needle: `"cus_B2"`, want: 0},
		{needle: wildcardCases[0].needle, want: 1},
	} {
		if n, err := s.CountIdempotencyMatching(ctx, tc.needle); err != nil || n != tc.want {
			t.Errorf("CountIdempotencyMatching(%q) = %d, %v; want %d", tc.needle, n, err, tc.want)
		}
	}
	if got, err := s.GetIdempotency(ctx, "k:live", now); err != nil || string(got.Body) != `{"customer":"cus_A1"}` {
		t.Fatalf("record changed by counting: %+v, %v", got, err)
	}
	if n, err := s.DeleteIdempotencyMatching(ctx, `"cus_A1"`); err != nil || n != 2 {
		t.Fatalf("DeleteIdempotencyMatching = %d, %v; want the 2 counted", n, err)
	}
	if n, err := s.CountIdempotencyMatching(ctx, `"cus_A1"`); err != nil || n != 0 {
		t.Errorf("CountIdempotencyMatching after the delete = %d, %v; want 0", n, err)
	}
	if _, err := s.CountIdempotencyMatching(ctx, ""); !errors.Is(err, store.ErrInvalidArgument) {
		t.Errorf("CountIdempotencyMatching with an empty needle: %v, want ErrInvalidArgument", err)
	}
}
