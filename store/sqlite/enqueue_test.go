package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/store"
)

// TestEnqueueGroupCommitUnderConcurrency: 64 callers enqueue 1,600 rows, every id twice from
// different callers at once. Each id is inserted exactly once, every caller learns which of
// the two it was, and every row is in the database afterwards with its own payload.
func TestEnqueueGroupCommitUnderConcurrency(t *testing.T) {
	s := open(t, dbPath(t))
	defer s.Close()
	ctx := context.Background()
	const ids, callers = 800, 64
	now := time.Now()
	var inserted [ids]atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for c := range callers {
		wg.Go(func() {
			// Callers c and c+32 cover the same ids, in opposite orders.
			for k := range 2 * ids / callers {
				i := (c%(callers/2))*(2*ids/callers) + k
				if c >= callers/2 {
					i = (c%(callers/2))*(2*ids/callers) + (2*ids/callers - 1 - k)
				}
				ok, err := s.EnqueueOutbox(ctx, store.OutboxItem{ID: fmt.Sprintf("evt_%04d", i), Type: "charge.succeeded",
					Payload: fmt.Appendf(nil, `{"n":%d}`, i), Digest: []byte{1}, CreatedAt: now, NextAttempt: now})
				if err != nil {
					errs <- err
					return
				}
				if ok {
					inserted[i].Add(1)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for i := range ids {
		if n := inserted[i].Load(); n != 1 {
			t.Fatalf("evt_%04d reported inserted %d times, want 1", i, n)
		}
		it, err := s.GetOutbox(ctx, fmt.Sprintf("evt_%04d", i))
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf(`{"n":%d}`, i); string(it.Payload) != want || it.Status != store.StatusPending {
			t.Fatalf("evt_%04d: payload %q status %s", i, it.Payload, it.Status)
		}
	}
	if all, err := s.ListOutbox(ctx, "", 10*ids); err != nil || len(all) != ids {
		t.Fatalf("listed %d rows, %v; want %d", len(all), err, ids)
	}
}

// TestEnqueueCancelledContext: a caller whose context has ended is answered with its error
// and its row is not written; others in the same moment are unaffected.
func TestEnqueueCancelledContext(t *testing.T) {
	s := open(t, dbPath(t))
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	now := time.Now()
	_, err := s.EnqueueOutbox(ctx, store.OutboxItem{ID: "evt_cancelled", Type: "t", Payload: []byte(`{}`), Digest: []byte{1}, CreatedAt: now, NextAttempt: now})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if _, err := s.GetOutbox(context.Background(), "evt_cancelled"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("cancelled row: %v, want ErrNotFound", err)
	}
	ok, err := s.EnqueueOutbox(context.Background(), store.OutboxItem{ID: "evt_live", Type: "t", Payload: []byte(`{}`), Digest: []byte{1}, CreatedAt: now, NextAttempt: now})
	if err != nil || !ok {
		t.Fatalf("live enqueue after a cancelled one: %v, %v", ok, err)
	}
}

// TestEnqueueBadRowFailsOnlyItsCaller: rows without a digest (NOT NULL) arrive in the same
// moment as good ones; the bad ones get the constraint error, the good ones are written.
func TestEnqueueBadRowFailsOnlyItsCaller(t *testing.T) {
	s := open(t, dbPath(t))
	defer s.Close()
	ctx := context.Background()
	now := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, 64)
	for i := range errs {
		wg.Go(func() {
			it := store.OutboxItem{ID: fmt.Sprintf("evt_%02d", i), Type: "t", Payload: []byte(`{}`), Digest: []byte{1}, CreatedAt: now, NextAttempt: now}
			if i%8 == 0 {
				it.Digest = nil
			}
			_, errs[i] = s.EnqueueOutbox(ctx, it)
		})
	}
	wg.Wait()
	for i, err := range errs {
		_, gerr := s.GetOutbox(ctx, fmt.Sprintf("evt_%02d", i))
		if i%8 == 0 {
			if err == nil || !errors.Is(gerr, store.ErrNotFound) {
				t.Fatalf("evt_%02d without digest: enqueue %v, stored %v", i, err, gerr)
			}
			continue
		}
		if err != nil || gerr != nil {
			t.Fatalf("evt_%02d: enqueue %v, get %v", i, err, gerr)
		}
	}
}
