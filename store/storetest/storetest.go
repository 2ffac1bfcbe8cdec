// Package storetest is the conformance suite every store.Store backend passes: the same
// tests against SQLite and PostgreSQL, including two stores on one database acting as two
// replicas.
package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/store"
)

// Opener opens a fresh, empty, migrated store for one test; the test closes it.
type Opener func(t *testing.T) store.Store

// ReplicaOpener opens two stores on one fresh database, as two replicas would (two pools).
type ReplicaOpener func(t *testing.T) (store.Store, store.Store)

// Run runs the conformance suite against a backend.
func Run(t *testing.T, open Opener, replicas ReplicaOpener) {
	t.Run("schema", func(t *testing.T) { testSchema(t, open(t)) })
	t.Run("audit", func(t *testing.T) { testAudit(t, open(t)) })
	t.Run("audit concurrent appends", func(t *testing.T) {
		s := open(t)
		testConcurrentAppends(t, s, s)
	})
	t.Run("audit prune and checkpoints", func(t *testing.T) { testPrune(t, open(t)) })
	t.Run("outbox", func(t *testing.T) { testOutbox(t, open(t)) })
	t.Run("idempotency", func(t *testing.T) { testIdempotency(t, open(t)) })
	t.Run("idempotency claims", func(t *testing.T) { testIdempotencyClaims(t, open(t)) })
	t.Run("subject keys", func(t *testing.T) { testSubjectKeys(t, open(t)) })
	t.Run("subject key concurrent first calls", func(t *testing.T) {
		s := open(t)
		testConcurrentSubjectKey(t, s, s)
	})
	t.Run("outbox purge matching", func(t *testing.T) { testPurgeOutboxMatching(t, open(t)) })
	t.Run("idempotency delete matching", func(t *testing.T) { testDeleteIdempotencyMatching(t, open(t)) })
	t.Run("empty needle or subject refused", func(t *testing.T) { testEmptyRefused(t, open(t)) })
	t.Run("subject key exists, without creating one", func(t *testing.T) { testHasSubject(t, open(t)) })
	t.Run("outbox count matching", func(t *testing.T) { testCountOutboxMatching(t, open(t)) })
	t.Run("outbox stats", func(t *testing.T) { testOutboxStats(t, open(t)) })
	t.Run("idempotency count matching", func(t *testing.T) { testCountIdempotencyMatching(t, open(t)) })
	t.Run("pages: not found", func(t *testing.T) { testPageNotFound(t, open(t)) })
	t.Run("pages: baseline", func(t *testing.T) { testPageBaseline(t, open(t)) })
	t.Run("pages: observe", func(t *testing.T) { testObservePage(t, open(t)) })
	t.Run("pages: list by page", func(t *testing.T) { testListPageStates(t, open(t)) })
	t.Run("pages: leases", func(t *testing.T) { testLeases(t, open(t)) })
	t.Run("pages: invalid arguments refused", func(t *testing.T) { testPagesInvalid(t, open(t)) })
	t.Run("pages: concurrent observers in one store", func(t *testing.T) {
		s := open(t)
		testConcurrentObserve(t, s, s)
	})
	t.Run("pages: concurrent lease claims in one store", func(t *testing.T) {
		s := open(t)
		testConcurrentLease(t, s, s)
	})
	t.Run("pending intents", func(t *testing.T) { testPendingIntents(t, open(t)) })
	t.Run("pending intents: invalid arguments refused", func(t *testing.T) { testPendingIntentsInvalid(t, open(t)) })
	t.Run("pending intents: concurrent puts in one store", func(t *testing.T) {
		s := open(t)
		testConcurrentPendingIntent(t, s, s)
	})
	if replicas != nil {
		t.Run("replicas: audit chain stays linear", func(t *testing.T) {
			a, b := replicas(t)
			testConcurrentAppends(t, a, b)
		})
		t.Run("replicas: each outbox item claimed once", func(t *testing.T) {
			a, b := replicas(t)
			testClaimsOnce(t, a, b)
		})
		t.Run("replicas: one key per subject", func(t *testing.T) {
			a, b := replicas(t)
			testConcurrentSubjectKey(t, a, b)
		})
		t.Run("replicas: one page change observed once", func(t *testing.T) {
			a, b := replicas(t)
			testConcurrentObserve(t, a, b)
		})
		t.Run("replicas: one lease holder", func(t *testing.T) {
			a, b := replicas(t)
			testConcurrentLease(t, a, b)
		})
		t.Run("replicas: one pending intent, earliest since", func(t *testing.T) {
			a, b := replicas(t)
			testConcurrentPendingIntent(t, a, b)
		})
	}
}

var ctx = context.Background()

// chainHash is the test's stand-in for the audit package's hash: any function of the
// previous hash and the record will do to check that the store keeps the chain.
func chainHash(prev []byte, seq int64, event string) []byte {
	h := sha256.New()
	h.Write(prev)
	_ = binary.Write(h, binary.BigEndian, seq)
	h.Write([]byte(event))
	return h.Sum(nil)
}

// appendN appends n records in one transaction.
func appendN(t *testing.T, s store.Store, n int, event string) {
	t.Helper()
	if err := tryAppendN(s, n, event); err != nil {
		t.Fatalf("AppendAudit: %v", err)
	}
}

// tryAppendN is appendN for goroutines, which must not call t.Fatal.
func tryAppendN(s store.Store, n int, event string) error {
	return s.AppendAudit(ctx, func(head store.Head) ([]store.AuditRecord, error) {
		out := make([]store.AuditRecord, n)
		prev := head.Hash
		for i := range out {
			seq := head.Seq + int64(i) + 1
			h := chainHash(prev, seq, event)
			out[i] = store.AuditRecord{Seq: seq, Time: time.Now().UTC().Truncate(time.Microsecond), Actor: "system",
				Event: event, Outcome: "success", SourceIP: "127.0.0.1", RequestID: fmt.Sprintf("r%d", seq),
				Resource: "route:/checkout/submit", Details: `{"brand":"visa","last4":"4242"}`, KeyVersion: int(seq),
				PrevHash: prev, Hash: h, MAC: h[:16]}
			prev = h
		}
		return out, nil
	})
}

// checkChain reads the whole trail and checks it is contiguous and linked.
func checkChain(t *testing.T, s store.Store, want int64) {
	t.Helper()
	var n, last int64
	var prev []byte
	err := s.AuditRange(ctx, 0, 0, func(r store.AuditRecord) error {
		if last != 0 && r.Seq != last+1 {
			return fmt.Errorf("seq %d after %d", r.Seq, last)
		}
		if last != 0 && string(r.PrevHash) != string(prev) {
			return fmt.Errorf("seq %d: prev hash does not link to %d", r.Seq, last)
		}
		if string(r.Hash) != string(chainHash(r.PrevHash, r.Seq, r.Event)) {
			return fmt.Errorf("seq %d: hash does not match its record", r.Seq)
		}
		last, prev = r.Seq, r.Hash
		n++
		return nil
	})
	if err != nil {
		t.Fatalf("chain: %v", err)
	}
	if n != want {
		t.Fatalf("chain has %d records, want %d", n, want)
	}
}

func testSchema(t *testing.T, s store.Store) {
	defer s.Close()
	v, err := s.SchemaVersion(ctx)
	if err != nil || v < 1 {
		t.Fatalf("SchemaVersion = %d, %v", v, err)
	}
}

func testAudit(t *testing.T, s store.Store) {
	defer s.Close()
	head, err := s.AuditHead(ctx)
	if err != nil || head.Seq != 0 || len(head.Hash) != 0 {
		t.Fatalf("empty head = %+v, %v", head, err)
	}
	if first, last, err := s.AuditBounds(ctx); err != nil || first != 0 || last != 0 {
		t.Fatalf("empty bounds %d..%d, %v", first, last, err)
	}
	appendN(t, s, 1, "startup")
	appendN(t, s, 5, "tokenize")
	checkChain(t, s, 6)
	head, _ = s.AuditHead(ctx)
	if head.Seq != 6 {
		t.Fatalf("head seq %d, want 6", head.Seq)
	}
	var got []store.AuditRecord
	if err := s.AuditRange(ctx, 2, 4, func(r store.AuditRecord) error { got = append(got, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Seq != 2 || got[2].Seq != 4 {
		t.Fatalf("range 2..4 gave %d records", len(got))
	}
	r := got[0]
	if r.Actor != "system" || r.Event != "tokenize" || r.Outcome != "success" || r.SourceIP != "127.0.0.1" ||
		r.RequestID != "r2" || r.Resource != "route:/checkout/submit" || r.Details != `{"brand":"visa","last4":"4242"}` ||
		r.KeyVersion != 2 || len(r.MAC) != 16 || r.Time.IsZero() || r.Time.Location() != time.UTC {
		t.Fatalf("record fields not kept: %+v", r)
	}
	// A failing build appends nothing.
	boom := errors.New("boom")
	if err := s.AppendAudit(ctx, func(store.Head) ([]store.AuditRecord, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Fatalf("build error = %v, want boom", err)
	}
	// A build that does not continue the chain is refused.
	err = s.AppendAudit(ctx, func(h store.Head) ([]store.AuditRecord, error) {
		return []store.AuditRecord{{Seq: h.Seq + 5, Time: time.Now().UTC(), Event: "x", PrevHash: h.Hash, Hash: []byte("h")}}, nil
	})
	if err == nil {
		t.Fatal("a record that skips sequence numbers was appended")
	}
	checkChain(t, s, 6)
	// Stopping a range early returns the callback's error.
	stop := errors.New("stop")
	if err := s.AuditRange(ctx, 0, 0, func(store.AuditRecord) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("range error = %v", err)
	}
}

// testConcurrentAppends appends from 8 goroutines, alternating between a and b (one store
// twice, or two replicas), and checks the chain is linear.
func testConcurrentAppends(t *testing.T, a, b store.Store) {
	defer a.Close()
	if b != a {
		defer b.Close()
	}
	const workers, each = 8, 25
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := a
			if w%2 == 1 {
				s = b
			}
			for range each {
				if err := tryAppendN(s, 1+w%3, fmt.Sprintf("w%d", w)); err != nil {
					t.Errorf("AppendAudit: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	total := int64(0)
	for w := range workers {
		total += int64(each * (1 + w%3))
	}
	checkChain(t, a, total)
}

func testPrune(t *testing.T, s store.Store) {
	defer s.Close()
	appendN(t, s, 10, "tokenize")
	var head store.Head
	head, _ = s.AuditHead(ctx)
	for _, seq := range []int64{5, 10} {
		var h []byte
		_ = s.AuditRange(ctx, seq, seq, func(r store.AuditRecord) error { h = r.Hash; return nil })
		if err := s.AddCheckpoint(ctx, store.Checkpoint{Seq: seq, Hash: h, Time: time.Now().UTC(), KeyName: "audit", Signature: "vault:v1:sig"}); err != nil {
			t.Fatal(err)
		}
	}
	// A second replica signing the same head stores nothing new and is not an error.
	if err := s.AddCheckpoint(ctx, store.Checkpoint{Seq: 10, Hash: []byte("other"), Time: time.Now().UTC(), KeyName: "audit", Signature: "vault:v1:second"}); err != nil {
		t.Fatalf("second checkpoint at one seq: %v", err)
	}
	cps, err := s.Checkpoints(ctx, 0, 0)
	if err != nil || len(cps) != 2 || cps[0].Seq != 5 || cps[1].Signature != "vault:v1:sig" || cps[1].KeyName != "audit" {
		t.Fatalf("checkpoints %+v, %v", cps, err)
	}
	n, err := s.PruneAudit(ctx, 6)
	if err != nil || n != 5 {
		t.Fatalf("pruned %d, %v; want 5", n, err)
	}
	first, last, _ := s.AuditBounds(ctx)
	if first != 6 || last != head.Seq {
		t.Fatalf("bounds after prune %d..%d", first, last)
	}
	cps, _ = s.Checkpoints(ctx, 0, 0)
	if len(cps) == 0 || cps[0].Seq != 5 {
		t.Fatalf("the checkpoint the pruned trail starts from must stay: %+v", cps)
	}
	appendN(t, s, 2, "tokenize")
	if h, _ := s.AuditHead(ctx); h.Seq != 12 {
		t.Fatalf("head after prune and append %d, want 12", h.Seq)
	}
}

func item(id string) store.OutboxItem {
	return store.OutboxItem{ID: id, Type: "payment_intent.succeeded", Payload: []byte(`{"id":"` + id + `"}`),
		Digest: []byte("digest-" + id), CreatedAt: time.Now().UTC(), NextAttempt: time.Now().UTC().Add(-time.Second)}
}

func testOutbox(t *testing.T, s store.Store) {
	defer s.Close()
	now := time.Now().UTC()
	testOutboxDelivery(t, s, now)
	testOutboxRetries(t, s, now)
}

// testOutboxDelivery is the first half of testOutbox: enqueue, claim and complete. It leaves
// evt_1 delivered, evt_2 leased to w1 and evt_3 to w2 until now+1m, and evt_later not due.
func testOutboxDelivery(t *testing.T, s store.Store, now time.Time) {
	for _, id := range []string{"evt_1", "evt_2", "evt_3"} {
		ok, err := s.EnqueueOutbox(ctx, item(id))
		if err != nil || !ok {
			t.Fatalf("enqueue %s: %v %v", id, ok, err)
		}
	}
	if ok, err := s.EnqueueOutbox(ctx, item("evt_1")); err != nil || ok {
		t.Fatalf("duplicate enqueue: %v %v, want false", ok, err)
	}
	later := item("evt_later")
	later.NextAttempt = now.Add(time.Hour)
	_, _ = s.EnqueueOutbox(ctx, later)

	got, err := s.ClaimOutbox(ctx, "w1", 2, time.Minute, now)
	if err != nil || len(got) != 2 || got[0].ID != "evt_1" || got[0].LeaseOwner != "w1" || string(got[0].Payload) != `{"id":"evt_1"}` {
		t.Fatalf("claim: %+v %v", got, err)
	}
	rest, _ := s.ClaimOutbox(ctx, "w2", 10, time.Minute, now)
	if len(rest) != 1 || rest[0].ID != "evt_3" {
		t.Fatalf("second worker claimed %+v, want only evt_3 (leased and future items hidden)", rest)
	}
	if err := s.CompleteOutbox(ctx, "evt_1", "w2", now); !errors.Is(err, store.ErrNotOwner) {
		t.Fatalf("complete by another worker: %v, want ErrNotOwner", err)
	}
	if err := s.CompleteOutbox(ctx, "evt_1", "w1", now); err != nil {
		t.Fatal(err)
	}
	done, _ := s.GetOutbox(ctx, "evt_1")
	if done.Status != store.StatusDelivered || done.Payload != nil || string(done.Digest) != "digest-evt_1" || done.Attempts != 1 || done.DeliveredAt.IsZero() {
		t.Fatalf("delivered item %+v: payload must be gone, digest and attempts kept", done)
	}
	// A finished item has no lease owner; finishing it again, with no owner, must fail.
	for name, finish := range map[string]func() error{
		"complete": func() error { return s.CompleteOutbox(ctx, "evt_1", "", now) },
		"retry":    func() error { return s.RetryOutbox(ctx, "evt_1", "", now, "x") },
		"dead":     func() error { return s.DeadOutbox(ctx, "evt_1", "", "x") },
	} {
		if err := finish(); !errors.Is(err, store.ErrNotOwner) {
			t.Fatalf("%s of a delivered item with no owner: %v, want ErrNotOwner", name, err)
		}
	}
	if again, _ := s.GetOutbox(ctx, "evt_1"); again.Status != store.StatusDelivered || again.Attempts != 1 {
		t.Fatalf("delivered item changed by a finish without owner: %+v", again)
	}
}

// testOutboxRetries is the second half of testOutbox, from the state testOutboxDelivery
// leaves: retry, expired leases, dead items and replay.
func testOutboxRetries(t *testing.T, s store.Store, now time.Time) {
	if err := s.RetryOutbox(ctx, "evt_2", "w1", now.Add(30*time.Second), "upstream 500"); err != nil {
		t.Fatal(err)
	}
	r, _ := s.GetOutbox(ctx, "evt_2")
	if r.Status != store.StatusPending || r.Attempts != 1 || r.LastError != "upstream 500" || r.LeaseOwner != "" {
		t.Fatalf("retried item %+v", r)
	}
	if again, _ := s.ClaimOutbox(ctx, "w1", 10, time.Minute, now); len(again) != 0 {
		t.Fatalf("retry not yet due, claimed %+v", again)
	}
	// At now+45s the retry is due and evt_3's lease (to now+60s) still holds.
	if again, _ := s.ClaimOutbox(ctx, "w1", 10, time.Minute, now.Add(45*time.Second)); len(again) != 1 || again[0].ID != "evt_2" {
		t.Fatalf("retry due, claimed %+v", again)
	}
	// An expired lease (a crashed worker) makes the item claimable again.
	if again, _ := s.ClaimOutbox(ctx, "w3", 10, time.Minute, now.Add(5*time.Minute)); len(again) != 2 {
		t.Fatalf("expired leases: claimed %d, want evt_2 and evt_3", len(again))
	}
	if err := s.DeadOutbox(ctx, "evt_3", "w3", "gave up"); err != nil {
		t.Fatal(err)
	}
	dead, _ := s.ListOutbox(ctx, store.StatusDead, 10)
	if len(dead) != 1 || dead[0].ID != "evt_3" {
		t.Fatalf("dead list %+v", dead)
	}
	if err := s.ReplayOutbox(ctx, "evt_3", now.Add(6*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if again, _ := s.ClaimOutbox(ctx, "w4", 10, time.Minute, now.Add(6*time.Minute)); len(again) != 2 {
		t.Fatalf("after replay claimed %d, want evt_2 (expired lease) and evt_3", len(again))
	}
	if _, err := s.GetOutbox(ctx, "evt_nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing item: %v", err)
	}
	if all, _ := s.ListOutbox(ctx, "", 10); len(all) != 4 {
		t.Fatalf("list all gave %d, want 4", len(all))
	}
}

func testClaimsOnce(t *testing.T, a, b store.Store) {
	defer a.Close()
	defer b.Close()
	const items = 200
	for i := range items {
		if _, err := a.EnqueueOutbox(ctx, item(fmt.Sprintf("evt_%03d", i))); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	seen := map[string]string{}
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, owner := a, fmt.Sprintf("a%d", w)
			if w%2 == 1 {
				s, owner = b, fmt.Sprintf("b%d", w)
			}
			for {
				got, err := s.ClaimOutbox(ctx, owner, 7, time.Minute, time.Now().UTC())
				if err != nil {
					t.Errorf("claim: %v", err)
					return
				}
				if len(got) == 0 {
					return
				}
				for _, it := range got {
					mu.Lock()
					if prev, dup := seen[it.ID]; dup {
						t.Errorf("%s claimed by %s and %s", it.ID, prev, owner)
					}
					seen[it.ID] = owner
					mu.Unlock()
					if err := s.CompleteOutbox(ctx, it.ID, owner, time.Now().UTC()); err != nil {
						t.Errorf("complete: %v", err)
					}
				}
			}
		}()
	}
	wg.Wait()
	if len(seen) != items {
		t.Fatalf("%d items claimed, want %d", len(seen), items)
	}
}

func testIdempotency(t *testing.T, s store.Store) {
	defer s.Close()
	now := time.Now().UTC().Truncate(time.Microsecond)
	rec := store.IdempotencyRecord{Key: "key_1:abc", RequestHash: []byte("h1"), Status: 201, Body: []byte(`{"id":"pi_1"}`),
		CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour)}
	if ok, err := s.PutIdempotency(ctx, rec); err != nil || !ok {
		t.Fatalf("put: %v %v", ok, err)
	}
	if ok, err := s.PutIdempotency(ctx, rec); err != nil || ok {
		t.Fatalf("second put: %v %v, want false", ok, err)
	}
	got, err := s.GetIdempotency(ctx, "key_1:abc", now)
	if err != nil || got.Status != 201 || string(got.Body) != `{"id":"pi_1"}` || string(got.RequestHash) != "h1" {
		t.Fatalf("get: %+v %v", got, err)
	}
	if _, err := s.GetIdempotency(ctx, "key_1:abc", now.Add(25*time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("expired record: %v, want ErrNotFound", err)
	}
	if n, err := s.PruneIdempotency(ctx, now.Add(25*time.Hour)); err != nil || n != 1 {
		t.Fatalf("prune: %d %v", n, err)
	}
	// An expired key can be used again.
	rec.CreatedAt, rec.ExpiresAt = now.Add(25*time.Hour), now.Add(49*time.Hour)
	if ok, err := s.PutIdempotency(ctx, rec); err != nil || !ok {
		t.Fatalf("put after expiry: %v %v", ok, err)
	}
}
