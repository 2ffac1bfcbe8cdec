package storetest

import (
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/store"
)

// testOutboxStats: OutboxStats counts pending items (leased or not) and dead ones, never
// delivered ones, and names the oldest pending item's receipt time (zero when none).
func testOutboxStats(t *testing.T, s store.Store) {
	defer s.Close()
	if st, err := s.OutboxStats(ctx); err != nil || st.Pending != 0 || st.Dead != 0 || !st.OldestPending.IsZero() {
		t.Fatalf("empty outbox: %+v %v, want zeros", st, err)
	}
	t0 := time.Now().UTC().Truncate(time.Microsecond).Add(-time.Hour)
	for i, id := range []string{"evt_a", "evt_b", "evt_c", "evt_d", "evt_e"} {
		it := item(id)
		it.CreatedAt = t0.Add(time.Duration(i) * time.Minute)
		it.NextAttempt = it.CreatedAt
		if _, err := s.EnqueueOutbox(ctx, it); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now().UTC()
	claimed, err := s.ClaimOutbox(ctx, "w1", 4, time.Minute, now)
	if err != nil || len(claimed) != 4 {
		t.Fatalf("claim: %d %v", len(claimed), err)
	}
	// a delivered, b dead, c back to pending, d still leased, e never claimed.
	steps := []error{
		s.CompleteOutbox(ctx, "evt_a", "w1", now),
		s.DeadOutbox(ctx, "evt_b", "w1", "app answered 500"),
		s.RetryOutbox(ctx, "evt_c", "w1", now.Add(time.Minute), "app answered 503"),
	}
	for _, err := range steps {
		if err != nil {
			t.Fatal(err)
		}
	}
	st, err := s.OutboxStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Pending != 3 || st.Dead != 1 || !st.OldestPending.Equal(t0.Add(2*time.Minute)) {
		t.Fatalf("stats %+v, want 3 pending (c, d leased, e), 1 dead, oldest pending received at %s", st, t0.Add(2*time.Minute))
	}
}
