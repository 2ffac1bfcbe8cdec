package payments

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/gateway"
	"github.com/tokenwall/tokenwall/store"
)

// TestCancelStale: payments and setups waiting for the customer longer than the age are
// canceled by the system with reason stale_requires_action, each audited, and forgotten;
// those the gateway reports final are forgotten without a call; younger ones stay.
func TestCancelStale(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	now := f.clock.Now()
	f.gw.setPayment("pi_Stale1", gateway.StatusRequiresAction)
	f.gw.setSetup("seti_Stale1", gateway.SetupRequiresAction)
	f.gw.setPayment("pi_Done1", gateway.StatusSucceeded)
	f.gw.setPayment("pi_Young1", gateway.StatusRequiresAction)
	f.putPending(t, "pi_Stale1", store.IntentPayment, now.Add(-3*time.Hour))
	f.putPending(t, "seti_Stale1", store.IntentSetup, now.Add(-2*time.Hour))
	f.putPending(t, "pi_Done1", store.IntentPayment, now.Add(-2*time.Hour))
	f.putPending(t, "pi_Gone1", store.IntentPayment, now.Add(-2*time.Hour)) // the gateway has none
	f.putPending(t, "pi_Young1", store.IntentPayment, now.Add(-10*time.Minute))

	n, err := f.svc.CancelStale(ctx, time.Hour)
	if err != nil || n != 2 {
		t.Fatalf("CancelStale = %d, %v; want 2 canceled", n, err)
	}
	if got := f.pending(t); !slices.Equal(got, []string{"pi_Young1"}) {
		t.Errorf("pending %v, want only the young one", got)
	}
	if f.gw.count("CancelPayment") != 1 || f.gw.count("CancelSetupIntent") != 1 {
		t.Errorf("gateway calls %v, want one cancel of each", f.gw.calls)
	}
	want := []string{audit.EventCancelRequested, audit.EventPaymentCanceled, audit.EventCancelRequested, audit.EventSetupCanceled}
	if got := f.trail.types(); !slices.Equal(got, want) {
		t.Fatalf("records %v, want %v", got, want)
	}
	for _, rec := range f.trail.kept {
		if rec.Actor != audit.ActorSystem || rec.Reason != ReasonStale || rec.Outcome != audit.Success {
			t.Errorf("record %+v, want system, %s, success", rec, ReasonStale)
		}
	}
	if rec := f.last(t, audit.EventSetupCanceled); rec.Resource != "seti_Stale1" || rec.Details[audit.DetailResult] != audit.ResultCanceled {
		t.Errorf("setup_canceled %+v", rec)
	}
	if n, err := f.svc.CancelStale(ctx, time.Hour); n != 0 || err != nil {
		t.Errorf("second sweep = %d, %v; want nothing to do", n, err)
	}
}

// TestCancelStaleBounded: one call looks at StaleBatch intents, the oldest first; the next
// call takes the rest.
func TestCancelStaleBounded(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	const total = StaleBatch + 20
	for i := range total {
		id := fmt.Sprintf("pi_Stale%03d", i)
		f.gw.setPayment(id, gateway.StatusRequiresAction)
		f.putPending(t, id, store.IntentPayment, f.clock.Now().Add(-time.Hour-time.Duration(total-i)*time.Second))
	}
	if n, err := f.svc.CancelStale(ctx, time.Hour); n != StaleBatch || err != nil {
		t.Fatalf("first sweep = %d, %v; want %d", n, err, StaleBatch)
	}
	left := f.pending(t)
	if len(left) != 20 || left[0] != fmt.Sprintf("pi_Stale%03d", StaleBatch) {
		t.Fatalf("left %d, first %v; want the 20 youngest", len(left), left[:min(1, len(left))])
	}
	if n, err := f.svc.CancelStale(ctx, time.Hour); n != 20 || err != nil {
		t.Fatalf("second sweep = %d, %v; want 20", n, err)
	}
}

// leaseLog wraps a store and records every successful claim of the sweep's lease.
type leaseLog struct {
	store.Store
	mu     sync.Mutex
	claims []leaseClaim
	tries  map[string]int
}

type leaseClaim struct {
	holder string
	now    time.Time
}

func (l *leaseLog) ClaimLease(ctx context.Context, name, holder string, now, until time.Time) (bool, error) {
	ok, err := l.Store.ClaimLease(ctx, name, holder, now, until)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tries[holder]++
	if ok && name == SweepLease {
		l.claims = append(l.claims, leaseClaim{holder: holder, now: now})
	}
	return ok, err
}

// TestSweeperLease: two sweepers (two replicas) on one store: each period one of them holds
// the lease and sweeps, so sweeps are a period apart, never two in one period.
func TestSweeperLease(t *testing.T) {
	f := newFixture(t)
	log := &leaseLog{Store: f.st, tries: map[string]int{}}
	const every = 150 * time.Millisecond
	var mu sync.Mutex
	sweeps := 0
	newSweeper := func() *Service {
		svc, err := New(Options{Gateway: f.gw, Store: log, Audit: f.trail, Reason: reason, Limits: testLimits,
			OnSweep: func(_ int, err error) {
				if err != nil {
					t.Errorf("sweep: %v", err)
				}
				mu.Lock()
				sweeps++
				mu.Unlock()
			}})
		if err != nil {
			t.Fatal(err)
		}
		return svc
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*every)
	defer cancel()
	var wg sync.WaitGroup
	for _, holder := range []string{"replica-a", "replica-b"} {
		svc := newSweeper()
		wg.Go(func() {
			if err := svc.RunSweeper(ctx, holder, every, time.Hour); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	log.mu.Lock()
	defer log.mu.Unlock()
	if log.tries["replica-a"] == 0 || log.tries["replica-b"] == 0 {
		t.Fatalf("claims tried %v: both sweepers should have tried", log.tries)
	}
	claims := slices.Clone(log.claims)
	sort.Slice(claims, func(i, j int) bool { return claims[i].now.Before(claims[j].now) })
	// The last lease may be taken as the context ends, its sweep then not reported.
	if len(claims) < 2 || len(claims) > 9 || sweeps < len(claims)-1 || sweeps > len(claims) {
		t.Fatalf("%d leases taken, %d sweeps in 8 periods; want 2 to 9, one sweep each", len(claims), sweeps)
	}
	for i := 1; i < len(claims); i++ {
		if gap := claims[i].now.Sub(claims[i-1].now); gap < every {
			t.Errorf("sweeps %d (%s) and %d (%s) %v apart, less than a period", i-1, claims[i-1].holder, i, claims[i].holder, gap)
		}
	}
	if err := newSweeper().RunSweeper(ctx, "", every, time.Hour); err == nil {
		t.Error("a sweeper without a holder ran")
	}
}

// flakyIntents fails pending-intent writes while down is set.
type flakyIntents struct {
	store.Store
	mu   sync.Mutex
	down bool
}

func (f *flakyIntents) setDown(down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = down
}

func (f *flakyIntents) PutPendingIntent(ctx context.Context, p store.PendingIntent) error {
	f.mu.Lock()
	down := f.down
	f.mu.Unlock()
	if down {
		return fmt.Errorf("store down")
	}
	return f.Store.PutPendingIntent(ctx, p)
}

// TestPendingWriteRetried: the gateway acted, so a pending intent the store could not keep
// does not fail the charge; it is written before the next sweep, with its first-seen time.
func TestPendingWriteRetried(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	flaky := &flakyIntents{Store: f.st, down: true}
	svc, err := New(Options{Gateway: f.gw, Store: flaky, Audit: f.trail, Reason: reason, Limits: testLimits, Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	f.gw.next = gateway.StatusRequiresAction
	p, err := svc.Charge(ctx, Caller{Actor: "key:test"}, chargeOK, "k")
	if err != nil || p.Status != gateway.StatusRequiresAction {
		t.Fatalf("charge %+v, %v", p, err)
	}
	if got := f.pending(t); len(got) != 0 {
		t.Fatalf("pending %v while the store is down", got)
	}
	if _, err := svc.CancelStale(ctx, time.Hour); err == nil {
		t.Error("a sweep with the store still down reports nothing")
	}
	flaky.setDown(false)
	f.clock.Add(2 * time.Hour)
	if n, err := svc.CancelStale(ctx, time.Hour); n != 1 || err != nil {
		t.Fatalf("sweep = %d, %v; want the payment, kept since its first sight, canceled", n, err)
	}
}
