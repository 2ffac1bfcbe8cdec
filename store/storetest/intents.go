package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/store"
)

// intentNow is the pending intents' clock: microsecond precision, as stored.
var intentNow = time.Date(2026, time.November, 28, 9, 30, 0, 123456000, time.UTC)

// testPendingIntents: puts keep the earliest since, reads are oldest first, strictly before,
// bounded by limit, and deletes are idempotent.
func testPendingIntents(t *testing.T, s store.Store) {
	defer s.Close()
	at := func(d time.Duration) time.Time { return intentNow.Add(d) }
	put := func(id, kind string, since time.Time) {
		t.Helper()
		if err := s.PutPendingIntent(ctx, store.PendingIntent{ID: id, Kind: kind, Since: since}); err != nil {
			t.Fatalf("PutPendingIntent(%s): %v", id, err)
		}
	}
	before := func(b time.Time, limit int) []store.PendingIntent {
		t.Helper()
		got, err := s.PendingIntentsBefore(ctx, b, limit)
		if err != nil {
			t.Fatalf("PendingIntentsBefore: %v", err)
		}
		return got
	}
	if got := before(at(time.Hour), 10); len(got) != 0 {
		t.Fatalf("empty store: %v", got)
	}
	put("pi_B", store.IntentPayment, at(2*time.Minute))
	put("seti_A", store.IntentSetup, at(time.Minute))
	put("pi_C", store.IntentPayment, at(2*time.Minute))
	put("pi_B", store.IntentPayment, at(5*time.Minute)) // later: the first since stays
	put("pi_D", store.IntentPayment, at(9*time.Minute))
	put("pi_D", store.IntentPayment, at(-time.Minute)) // earlier: it moves back

	want := []store.PendingIntent{
		{ID: "pi_D", Kind: store.IntentPayment, Since: at(-time.Minute)},
		{ID: "seti_A", Kind: store.IntentSetup, Since: at(time.Minute)},
		{ID: "pi_B", Kind: store.IntentPayment, Since: at(2 * time.Minute)},
		{ID: "pi_C", Kind: store.IntentPayment, Since: at(2 * time.Minute)},
	}
	if got := before(at(time.Hour), 10); !samePending(got, want) {
		t.Errorf("all: got %v, want %v", got, want)
	}
	if got := before(at(time.Hour), 2); !samePending(got, want[:2]) {
		t.Errorf("limit 2: got %v, want %v", got, want[:2])
	}
	if got := before(at(2*time.Minute), 10); !samePending(got, want[:2]) {
		t.Errorf("strictly before +2m: got %v, want %v", got, want[:2])
	}
	for _, id := range []string{"pi_D", "pi_D", "pi_never"} {
		if err := s.DeletePendingIntent(ctx, id); err != nil {
			t.Fatalf("DeletePendingIntent(%s): %v", id, err)
		}
	}
	if got := before(at(time.Hour), 10); !samePending(got, want[1:]) {
		t.Errorf("after deleting pi_D: got %v, want %v", got, want[1:])
	}
}

// testPendingIntentsInvalid: each refused argument is ErrInvalidArgument and stores nothing.
func testPendingIntentsInvalid(t *testing.T, s store.Store) {
	defer s.Close()
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{name: "no id", call: func() error {
			return s.PutPendingIntent(ctx, store.PendingIntent{Kind: store.IntentPayment, Since: intentNow})
		}},
		{name: "unknown kind", call: func() error {
			return s.PutPendingIntent(ctx, store.PendingIntent{ID: "pi_1", Kind: "refund", Since: intentNow})
		}},
		{name: "no since", call: func() error {
			return s.PutPendingIntent(ctx, store.PendingIntent{ID: "pi_1", Kind: store.IntentPayment})
		}},
		{name: "delete without an id", call: func() error { return s.DeletePendingIntent(ctx, "") }},
		{name: "limit 0", call: func() error {
			_, err := s.PendingIntentsBefore(ctx, intentNow, 0)
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); !errors.Is(err, store.ErrInvalidArgument) {
				t.Errorf("err = %v, want ErrInvalidArgument", err)
			}
		})
	}
	if got, err := s.PendingIntentsBefore(ctx, intentNow.Add(time.Hour), 10); err != nil || len(got) != 0 {
		t.Errorf("refused puts stored %v (%v)", got, err)
	}
}

// testConcurrentPendingIntent puts one intent from many callers at once, each with its own
// since: one row is left, with the earliest.
func testConcurrentPendingIntent(t *testing.T, a, b store.Store) {
	defer a.Close()
	if b != a {
		defer b.Close()
	}
	raceN(t, a, b, func(s store.Store, i int) (bool, error) {
		return true, s.PutPendingIntent(ctx, store.PendingIntent{ID: "pi_race", Kind: store.IntentPayment,
			Since: intentNow.Add(time.Duration(16-i) * time.Second)})
	})
	want := []store.PendingIntent{{ID: "pi_race", Kind: store.IntentPayment, Since: intentNow.Add(time.Second)}}
	if got, err := a.PendingIntentsBefore(ctx, intentNow.Add(time.Hour), 10); err != nil || !samePending(got, want) {
		t.Errorf("got %v (%v), want %v", got, err, want)
	}
}

// samePending compares intents with time.Time.Equal.
func samePending(got, want []store.PendingIntent) bool {
	return slices.EqualFunc(got, want, func(g, w store.PendingIntent) bool {
		return g.ID == w.ID && g.Kind == w.Kind && g.Since.Equal(w.Since)
	})
}
