package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/store"
)

// raceN runs fn from 16 goroutines at once, alternating between a and b (one store twice, or
// two replicas), and returns how many got true; errors fail the test.
func raceN(t *testing.T, a, b store.Store, fn func(s store.Store, i int) (bool, error)) int {
	t.Helper()
	const callers = 16
	wins := make([]bool, callers)
	errs := make([]error, callers)
	gate := make(chan struct{})
	var wg sync.WaitGroup
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := a
			if i%2 == 1 {
				s = b
			}
			<-gate
			wins[i], errs[i] = fn(s, i)
		}()
	}
	close(gate)
	wg.Wait()
	n := 0
	for i := range callers {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if wins[i] {
			n++
		}
	}
	return n
}

// testConcurrentObserve observes one page's new fingerprint from many callers at once,
// round after round (the first inserts the state, the rest update it): exactly one caller
// a round writes, and it saw the previous round's state.
func testConcurrentObserve(t *testing.T, a, b store.Store) {
	defer a.Close()
	if b != a {
		defer b.Close()
	}
	var prev store.PageState
	for round := range 6 {
		st := store.PageState{Page: "/checkout", Fingerprint: fmt.Sprintf("fp%d", round), Doc: []byte(`{}`),
			Changed: round > 0, Since: pageNow.Add(time.Duration(round) * time.Minute)}
		var mu sync.Mutex
		var winnerPrev store.PageState
		n := raceN(t, a, b, func(s store.Store, _ int) (bool, error) {
			wrote, p, err := s.ObservePage(ctx, st)
			if wrote {
				mu.Lock()
				winnerPrev = p
				mu.Unlock()
			}
			return wrote, err
		})
		if n != 1 {
			t.Fatalf("round %d: %d callers recorded the new fingerprint, want 1", round, n)
		}
		if !samePage(winnerPrev, prev) {
			t.Fatalf("round %d: the writer saw %+v as before, want %+v", round, winnerPrev, prev)
		}
		wantState(t, b, st)
		prev = st
	}
}

// testConcurrentLease claims leases from many holders at once: a new lease, then the same
// lease once it has expired. Exactly one holder gets each, and holds it afterwards.
func testConcurrentLease(t *testing.T, a, b store.Store) {
	defer a.Close()
	if b != a {
		defer b.Close()
	}
	for round := range 6 {
		name := fmt.Sprintf("job-%d", round/2)
		now := pageNow.Add(time.Duration(round%2) * time.Hour) // odd rounds: the lease has expired
		var mu sync.Mutex
		var winner string
		n := raceN(t, a, b, func(s store.Store, i int) (bool, error) {
			holder := fmt.Sprintf("replica-%d", i)
			held, err := s.ClaimLease(ctx, name, holder, now, now.Add(time.Minute))
			if held {
				mu.Lock()
				winner = holder
				mu.Unlock()
			}
			return held, err
		})
		if n != 1 {
			t.Fatalf("round %d: %d holders got lease %s, want 1", round, n, name)
		}
		if held, err := a.ClaimLease(ctx, name, winner, now, now.Add(2*time.Minute)); err != nil || !held {
			t.Fatalf("round %d: the winner %s cannot renew: %v, %v", round, winner, held, err)
		}
	}
}
