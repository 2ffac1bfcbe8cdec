package storetest

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/store"
)

// wildcardCases hold, besides one payload with the needle in it, text that LIKE with the needle
// as pattern (or with an escape done halfway) would match but a substring search does not.
var wildcardCases = []struct {
	name, needle string
	match        string // holds the needle literally
	nonMatches   []string
}{
	{name: "percent and underscore", needle: "cus_%", match: `{"customer":"cus_%"}`,
		nonMatches: []string{`{"customer":"cus_9"}`, `{"customer":"cusX%"}`, `{"customer":"cus_"}`}},
	{name: "backslash", needle: `a\_b`, match: `{"note":"a\_b"}`,
		nonMatches: []string{`{"note":"a_b"}`, `{"note":"a\b"}`, `{"note":"a\xb"}`}},
}

func testPurgeOutboxMatching(t *testing.T, s store.Store) {
	defer s.Close()
	now := time.Now().UTC().Truncate(time.Microsecond)
	ids, before := seedPurgeOutbox(t, s, now)

	const reason = "erased: data subject request"
	n, err := s.PurgeOutboxMatching(ctx, "cus_A1", reason)
	if err != nil || n != 3 {
		t.Fatalf("PurgeOutboxMatching(cus_A1) = %d, %v; want 3 (pending, leased, dead)", n, err)
	}
	for _, id := range []string{"evt_pending", "evt_leased", "evt_dead"} {
		it, err := s.GetOutbox(ctx, id)
		b := before[id]
		if err != nil || it.Payload != nil || it.Status != store.StatusDead || it.LastError != reason ||
			it.LeaseOwner != "" || !it.LeaseUntil.IsZero() {
			t.Fatalf("%s after purge: %+v, %v; want no payload, dead, the reason, no lease", id, it, err)
		}
		if !bytes.Equal(it.Digest, b.Digest) || it.Attempts != b.Attempts || it.Type != b.Type {
			t.Fatalf("%s: purge changed more than it should: %+v, was %+v", id, it, b)
		}
	}
	if got, _ := s.GetOutbox(ctx, "evt_delivered"); got.Status != store.StatusDelivered || got.LastError != "" || got.DeliveredAt.IsZero() {
		t.Fatalf("delivered item changed by the purge: %+v", got)
	}
	if got, _ := s.GetOutbox(ctx, "evt_other"); got.Status != store.StatusPending || string(got.Payload) != `{"customer":"cus_B2"}` {
		t.Fatalf("item of another customer changed by the purge: %+v", got)
	}
	// The worker that held the lease cannot bring the purged item back.
	if err := s.CompleteOutbox(ctx, "evt_leased", "w2", now); !errors.Is(err, store.ErrNotOwner) {
		t.Fatalf("complete of a purged item: %v, want ErrNotOwner", err)
	}
	if got, _ := s.ClaimOutbox(ctx, "w3", 100, time.Minute, now.Add(2*time.Hour)); len(got) != 1+len(ids)+len(wildcardCases) {
		t.Fatalf("claim after purge got %d items, want the %d unpurged pending ones", len(got), 1+len(ids)+len(wildcardCases))
	}
	if n, err := s.PurgeOutboxMatching(ctx, "cus_A1", reason); err != nil || n != 0 {
		t.Fatalf("second purge = %d, %v; want 0", n, err)
	}

	testPurgeOutboxWildcards(t, s, reason)
}

// seedPurgeOutbox enqueues the items testPurgeOutboxMatching purges or must leave alone:
// for cus_A1 one each delivered, dead, pending and leased (to w2), one of cus_B2, and the
// wildcardCases. It returns the non-matching wildcard payloads by id and every item as it
// was before the purge.
func seedPurgeOutbox(t *testing.T, s store.Store, now time.Time) (ids map[string]string, before map[string]store.OutboxItem) {
	created := now.Add(-time.Hour)
	put := func(id, payload string, next time.Time) {
		t.Helper()
		it := item(id)
		it.Payload, it.CreatedAt, it.NextAttempt = []byte(payload), created, next
		created = created.Add(time.Second)
		if ok, err := s.EnqueueOutbox(ctx, it); err != nil || !ok {
			t.Fatalf("enqueue %s: %v %v", id, ok, err)
		}
	}
	due, notDue := now.Add(-time.Minute), now.Add(time.Hour)

	// One delivered and one dead item naming the customer, both through a lease.
	put("evt_delivered", `{"customer":"cus_A1"}`, due)
	put("evt_dead", `{"customer":"cus_A1"}`, due)
	if got, err := s.ClaimOutbox(ctx, "w1", 2, time.Minute, now); err != nil || len(got) != 2 {
		t.Fatalf("claim: %d items, %v", len(got), err)
	}
	if err := s.CompleteOutbox(ctx, "evt_delivered", "w1", now); err != nil {
		t.Fatal(err)
	}
	if err := s.DeadOutbox(ctx, "evt_dead", "w1", "upstream 410"); err != nil {
		t.Fatal(err)
	}
	// A pending item not yet due, and one leased to a worker that is delivering it.
	put("evt_pending", `{"customer":"cus_A1","amount":100}`, notDue)
	put("evt_leased", `{"data":{"object":{"customer":"cus_A1"}}}`, due)
	if got, err := s.ClaimOutbox(ctx, "w2", 10, time.Minute, now); err != nil || len(got) != 1 || got[0].ID != "evt_leased" {
		t.Fatalf("claim of evt_leased: %+v, %v", got, err)
	}
	put("evt_other", `{"customer":"cus_B2"}`, notDue)
	ids = map[string]string{}
	for _, tc := range wildcardCases {
		put("evt_lit_"+tc.name, tc.match, notDue)
		for i, p := range tc.nonMatches {
			id := "evt_non_" + tc.name + string(rune('a'+i))
			put(id, p, notDue)
			ids[id] = p
		}
	}
	before = map[string]store.OutboxItem{}
	all, err := s.ListOutbox(ctx, "", -1)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range all {
		before[it.ID] = it
	}
	return ids, before
}

// testPurgeOutboxWildcards checks that a needle is matched literally: LIKE's wildcards and
// escape character in it match only themselves.
func testPurgeOutboxWildcards(t *testing.T, s store.Store, reason string) {
	for _, tc := range wildcardCases {
		t.Run(tc.name, func(t *testing.T) {
			n, err := s.PurgeOutboxMatching(ctx, tc.needle, reason)
			if err != nil || n != 1 {
				t.Fatalf("PurgeOutboxMatching(%q) = %d, %v; want 1", tc.needle, n, err)
			}
			if got, _ := s.GetOutbox(ctx, "evt_lit_"+tc.name); got.Payload != nil || got.Status != store.StatusDead {
				t.Fatalf("item holding %q literally not purged: %+v", tc.needle, got)
			}
			for i, p := range tc.nonMatches {
				id := "evt_non_" + tc.name + string(rune('a'+i))
				if got, _ := s.GetOutbox(ctx, id); string(got.Payload) != p || got.Status != store.StatusPending {
					t.Fatalf("%s (%s) purged by needle %q, which it does not hold", id, p, tc.needle)
				}
			}
		})
	}
}

func testDeleteIdempotencyMatching(t *testing.T, s store.Store) {
	defer s.Close()
	now := time.Now().UTC().Truncate(time.Microsecond)
	put := func(key, body string, expires time.Time) {
		t.Helper()
		rec := store.IdempotencyRecord{Key: key, RequestHash: []byte("h"), Status: 200, Body: []byte(body),
			CreatedAt: now.Add(-time.Hour), ExpiresAt: expires}
		if ok, err := s.PutIdempotency(ctx, rec); err != nil || !ok {
			t.Fatalf("put %s: %v %v", key, ok, err)
		}
	}
	live, expired := now.Add(time.Hour), now.Add(-time.Minute)
	put("k:live", `{"customer":"cus_A1","id":"pi_1"}`, live)
	put("k:expired", `{"customer":"cus_A1","id":"pi_2"}`, expired)
	put("k:other", `{"customer":"cus_B2"}`, live)
	others := 1
	for _, tc := range wildcardCases {
		put("k:lit:"+tc.name, tc.match, live)
		for i, b := range tc.nonMatches {
			put("k:non:"+tc.name+string(rune('a'+i)), b, live)
			others++
		}
	}

	n, err := s.DeleteIdempotencyMatching(ctx, "cus_A1")
	if err != nil || n != 2 {
		t.Fatalf("DeleteIdempotencyMatching(cus_A1) = %d, %v; want 2 (live and expired)", n, err)
	}
	if _, err := s.GetIdempotency(ctx, "k:live", now); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("matching record still there: %v", err)
	}
	if got, err := s.GetIdempotency(ctx, "k:other", now); err != nil || string(got.Body) != `{"customer":"cus_B2"}` {
		t.Fatalf("record of another customer: %+v, %v", got, err)
	}
	if n, err := s.DeleteIdempotencyMatching(ctx, "cus_A1"); err != nil || n != 0 {
		t.Fatalf("second delete = %d, %v; want 0", n, err)
	}
	for _, tc := range wildcardCases {
		t.Run(tc.name, func(t *testing.T) {
			n, err := s.DeleteIdempotencyMatching(ctx, tc.needle)
			if err != nil || n != 1 {
				t.Fatalf("DeleteIdempotencyMatching(%q) = %d, %v; want 1", tc.needle, n, err)
			}
			if _, err := s.GetIdempotency(ctx, "k:lit:"+tc.name, now); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("record holding %q literally not deleted: %v", tc.needle, err)
			}
			for i, b := range tc.nonMatches {
				key := "k:non:" + tc.name + string(rune('a'+i))
				if got, err := s.GetIdempotency(ctx, key, now); err != nil || string(got.Body) != b {
					t.Fatalf("%s (%s) deleted by needle %q, which it does not hold: %v", key, b, tc.needle, err)
				}
			}
		})
	}
	// Everything left is what matched nothing: k:other and the non-matches.
	if n, err := s.PruneIdempotency(ctx, now.Add(24*time.Hour)); err != nil || n != int64(others) {
		t.Fatalf("records left: %d, %v; want %d", n, err, others)
	}
}

func testEmptyRefused(t *testing.T, s store.Store) {
	defer s.Close()
	now := time.Now().UTC()
	if _, err := s.EnqueueOutbox(ctx, item("evt_1")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutIdempotency(ctx, store.IdempotencyRecord{Key: "k", RequestHash: []byte("h"), Status: 200,
		Body: []byte(`{}`), CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.PurgeOutboxMatching(ctx, "", "x"); !errors.Is(err, store.ErrInvalidArgument) || n != 0 {
		t.Errorf("PurgeOutboxMatching with an empty needle = %d, %v; want ErrInvalidArgument", n, err)
	}
	if n, err := s.DeleteIdempotencyMatching(ctx, ""); !errors.Is(err, store.ErrInvalidArgument) || n != 0 {
		t.Errorf("DeleteIdempotencyMatching with an empty needle = %d, %v; want ErrInvalidArgument", n, err)
	}
	if _, err := s.SubjectKey(ctx, ""); !errors.Is(err, store.ErrInvalidArgument) {
		t.Errorf("SubjectKey of an empty subject: %v, want ErrInvalidArgument", err)
	}
	if _, err := s.ForgetSubject(ctx, ""); !errors.Is(err, store.ErrInvalidArgument) {
		t.Errorf("ForgetSubject of an empty subject: %v, want ErrInvalidArgument", err)
	}
	if it, _ := s.GetOutbox(ctx, "evt_1"); it.Status != store.StatusPending || it.Payload == nil {
		t.Errorf("outbox item changed: %+v", it)
	}
	if _, err := s.GetIdempotency(ctx, "k", now); err != nil {
		t.Errorf("idempotency record gone: %v", err)
	}
}
