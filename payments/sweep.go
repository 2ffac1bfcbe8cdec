package payments

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/gateway"
	"github.com/tokenwall/tokenwall/store"
)

// SweepLease is the lease RunSweeper's replicas claim, so that one of them sweeps a period.
const SweepLease = "intent-sweep"

// ReasonStale is the audit reason of a payment or setup tokenwall canceled because the
// customer never came back from authentication.
const ReasonStale = "stale_requires_action"

// StaleBatch is how many pending intents one CancelStale call looks at, at most; the rest
// wait for the next sweep.
const StaleBatch = 100

// CancelStale cancels the payments and setups left waiting for the customer
// (requires_action) longer than olderThan, each audited (payment_cancel_requested, then
// payment_canceled or setup_canceled, Actor system, Reason stale_requires_action), and
// forgets those the gateway reports final without acting on them. It looks at StaleBatch
// intents at most, the oldest first, and returns how many it canceled. An intent whose read
// or cancel fails stays for the next sweep; when the trail cannot be written the sweep stops.
func (s *Service) CancelStale(ctx context.Context, olderThan time.Duration) (int, error) {
	if err := s.retryPending(ctx); err != nil {
		return 0, err
	}
	stale, err := s.o.Store.PendingIntentsBefore(ctx, s.o.Now().Add(-olderThan), StaleBatch)
	if err != nil {
		return 0, fmt.Errorf("%w: pending intents: %w", ErrUnavailable, err)
	}
	c := Caller{Actor: audit.ActorSystem}
	var errs []error
	canceled := 0
	for _, pi := range stale {
		did, err := s.sweepOne(ctx, c, pi)
		if did {
			canceled++
		}
		if err != nil {
			if errors.Is(err, ErrUnavailable) {
				return canceled, errors.Join(append(errs, err)...)
			}
			errs = append(errs, err)
		}
	}
	return canceled, errors.Join(errs...)
}

// sweepOne reads one pending intent at the gateway and cancels it when it still waits for
// the customer; it reports whether it canceled. A forgotten intent (the gateway has no such
// object, or it is final) is deleted.
func (s *Service) sweepOne(ctx context.Context, c Caller, pi store.PendingIntent) (bool, error) {
	var waiting, gone, canceled bool
	var err error
	key := gatewayKey("stale", pi.ID)
	switch pi.Kind {
	case store.IntentPayment:
		var p gateway.Payment
		if p, err = s.o.Gateway.GetPayment(ctx, pi.ID); err == nil && paymentVerdict(p).waiting {
			waiting = true
			p, err = s.cancelPayment(ctx, c, pi.ID, ReasonStale, key)
			canceled = err == nil && p.Status == gateway.StatusCanceled
		}
		gone = errors.Is(err, gateway.ErrNotFound)
	case store.IntentSetup:
		var si gateway.SetupIntent
		if si, err = s.o.Gateway.GetSetupIntent(ctx, pi.ID); err == nil && setupVerdict(si).waiting {
			waiting = true
			si, err = s.cancelSetup(ctx, c, pi.ID, ReasonStale, key)
			canceled = err == nil && si.Status == gateway.SetupCanceled
		}
		gone = errors.Is(err, gateway.ErrNotFound)
	default:
		gone = true
	}
	switch {
	case gone || (err == nil && !waiting):
		// cancelPayment and cancelSetup forgot a canceled one already.
		if derr := s.o.Store.DeletePendingIntent(ctx, pi.ID); derr != nil {
			return canceled, fmt.Errorf("%w: pending intent %s: %w", ErrUnavailable, pi.ID, derr)
		}
		return canceled, nil
	case err != nil:
		return canceled, fmt.Errorf("stale %s %s: %w", pi.Kind, pi.ID, err)
	}
	return canceled, nil
}

// RunSweeper sweeps the stale pending intents until ctx ends: every period one replica, the
// holder of SweepLease, runs CancelStale(olderThan) and tells Options.OnSweep what it did.
// The first sweep runs at start unless another replica's lease is still running. It returns
// nil when ctx ends, an error at once for arguments it cannot run with.
func (s *Service) RunSweeper(ctx context.Context, holder string, every, olderThan time.Duration) error {
	if holder == "" || every <= 0 || olderThan <= 0 {
		return errors.New("payments: sweeper: holder, a positive period and a positive age are required")
	}
	for {
		now := s.o.Now()
		ok, err := s.o.Store.ClaimLease(ctx, SweepLease, holder, now, now.Add(every))
		if err != nil && ctx.Err() == nil && s.o.OnSweep != nil {
			s.o.OnSweep(0, fmt.Errorf("%w: claiming the sweep's lease: %w", ErrUnavailable, err))
		}
		// Another replica's lease ends within a period: look again a few times meanwhile.
		tick := min(max(every/4, 15*time.Second), every)
		if ok {
			n, err := s.CancelStale(ctx, olderThan)
			if s.o.OnSweep != nil && ctx.Err() == nil {
				s.o.OnSweep(n, err)
			}
			// Sleep the whole period: the lease ends then, and this replica claims it again.
			tick = every
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(tick):
		}
	}
}
