package payments

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"

	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/gateway"
	"github.com/tokenwall/tokenwall/store"
)

// CodePaymentCanceled is the public code of ErrPaymentFailed for a payment or setup the
// gateway reports canceled without naming a code of its own.
const CodePaymentCanceled = "payment_canceled"

// verdict is what a payment's or setup's status means for its record, its answer and the
// pending intents.
type verdict struct {
	outcome string // audit.Success for ResultSucceeded only
	result  string // DetailResult
	waiting bool   // the customer has to act: kept as a pending intent; else it is final
	err     error  // ErrPaymentFailed for a failed or canceled one, nil otherwise
}

// paymentVerdict: succeeded, processing and requires_capture succeeded; requires_action
// (and requires_confirmation, which a confirmed payment should not be in, but which waits
// for a confirmation all the same) waits for the customer; canceled and the rest
// (requires_payment_method: a decline or a failed authentication) failed.
func paymentVerdict(p gateway.Payment) verdict {
	switch p.Status {
	case gateway.StatusSucceeded, gateway.StatusProcessing, gateway.StatusRequiresCapture:
		return verdict{outcome: audit.Success, result: audit.ResultSucceeded}
	case gateway.StatusRequiresAction, gateway.StatusRequiresConfirmation:
		return verdict{outcome: audit.Failure, result: audit.ResultRequiresAction, waiting: true}
	case gateway.StatusCanceled:
		return verdict{outcome: audit.Failure, result: audit.ResultCanceled,
			err: failedErr(p.LastErrorCode, CodePaymentCanceled, p.ID)}
	}
	return verdict{outcome: audit.Failure, result: audit.ResultFailed, err: failedErr(p.LastErrorCode, gateway.CodeCardDeclined, p.ID)}
}

// setupVerdict is paymentVerdict for a setup: succeeded and processing succeeded.
func setupVerdict(si gateway.SetupIntent) verdict {
	switch si.Status {
	case gateway.SetupSucceeded, gateway.SetupProcessing:
		return verdict{outcome: audit.Success, result: audit.ResultSucceeded}
	case gateway.SetupRequiresAction, gateway.SetupRequiresConfirmation:
		return verdict{outcome: audit.Failure, result: audit.ResultRequiresAction, waiting: true}
	case gateway.SetupCanceled:
		return verdict{outcome: audit.Failure, result: audit.ResultCanceled, err: failedErr(si.LastErrorCode, CodePaymentCanceled, "")}
	}
	return verdict{outcome: audit.Failure, result: audit.ResultFailed,
		err: failedErr(si.LastErrorCode, gateway.CodeSetupAuthenticationFailed, "")}
}

// failedErr is ErrPaymentFailed with the gateway's code (fallback when it named none) and
// the payment it is about, for the HTTP layer's errors.As.
func failedErr(code, fallback, paymentID string) error {
	if code == "" {
		code = fallback
	}
	return fmt.Errorf("%w: %w", ErrPaymentFailed, &gateway.Error{Code: code, Kind: gateway.ErrDeclined, PaymentID: paymentID})
}

// stateDetails adds a status's facts to details: the raw status, DetailResult, the
// gateway's error code and the next action's type. Never the next action's URL: its query
// carries the intent's client secret.
func stateDetails(details map[string]string, status, result, code string, next *gateway.NextAction) map[string]string {
	out := maps.Clone(details)
	if out == nil {
		out = map[string]string{}
	}
	out["status"], out[audit.DetailResult] = status, result
	if code != "" {
		out["error_code"] = code
	}
	if next != nil && next.Type != "" {
		out["next_action"] = next.Type
	}
	return out
}

// paymentOutcome records typ for payment p as its status says, keeps or forgets it as a
// pending intent, and returns the verdict's error.
func (s *Service) paymentOutcome(ctx context.Context, c Caller, typ string, p gateway.Payment, details map[string]string) error {
	v := paymentVerdict(p)
	s.outcome(ctx, c, audit.Event{Type: typ, Outcome: v.outcome, Reason: s.reasonOf(v), Resource: p.ID,
		Details: stateDetails(details, string(p.Status), v.result, p.LastErrorCode, p.NextAction)})
	s.track(ctx, p.ID, store.IntentPayment, v.waiting)
	return v.err
}

// setupOutcome is paymentOutcome for a setup.
func (s *Service) setupOutcome(ctx context.Context, c Caller, typ string, si gateway.SetupIntent, details map[string]string) error {
	v := setupVerdict(si)
	s.outcome(ctx, c, audit.Event{Type: typ, Outcome: v.outcome, Reason: s.reasonOf(v), Resource: si.ID,
		Details: stateDetails(details, string(si.Status), v.result, si.LastErrorCode, si.NextAction)})
	s.track(ctx, si.ID, store.IntentSetup, v.waiting)
	return v.err
}

// reasonOf is the audit reason of a verdict: none for a success, the error table's for an
// error, requires_action for a payment waiting for the customer.
func (s *Service) reasonOf(v verdict) string {
	switch {
	case v.err != nil:
		return s.o.Reason(v.err)
	case v.waiting:
		return audit.ResultRequiresAction
	}
	return ""
}

// gatewayFailed records a failed gateway call of a payment or setup (typ, with DetailResult
// failed) and returns its error: notFound as its kind when the gateway has no such object,
// ErrAuthenticationRequired when an off-session payment needs the customer. That payment
// (the error's PaymentID) becomes the record's resource and a pending intent.
func (s *Service) gatewayFailed(ctx context.Context, c Caller, typ, resource string, err, notFound error, details map[string]string) error {
	switch {
	case errors.Is(err, gateway.ErrNotFound):
		err = fmt.Errorf("%w: %w", notFound, err)
	case errors.Is(err, gateway.ErrAuthenticationRequired):
		err = fmt.Errorf("%w: %w", ErrAuthenticationRequired, err)
		var ge *gateway.Error
		if errors.As(err, &ge) && CheckPaymentID(ge.PaymentID) == nil {
			resource = ge.PaymentID
			s.track(ctx, ge.PaymentID, store.IntentPayment, true)
		}
	}
	det := maps.Clone(details)
	if det == nil {
		det = map[string]string{}
	}
	det[audit.DetailResult] = audit.ResultFailed
	s.outcome(ctx, c, audit.Event{Type: typ, Outcome: audit.Failure, Reason: s.o.Reason(err), Resource: resource, Details: det})
	return err
}

// maxPendingRetries bounds the pending-intent writes kept in memory while the store fails.
const maxPendingRetries = 10_000

// pendingOp is a write of the pending intents: a put, or a delete of p.ID.
type pendingOp struct {
	put bool
	p   store.PendingIntent
}

// track keeps id as a pending intent when it waits for the customer (since now, or since
// it was first seen) and forgets it when it is final. The gateway has acted, so a store
// failure does not fail the call: the write is kept and retried before the next sweep.
func (s *Service) track(ctx context.Context, id, kind string, waiting bool) {
	valid := CheckPaymentID(id)
	if kind == store.IntentSetup {
		valid = CheckSetupID(id)
	}
	if valid != nil {
		return
	}
	op := pendingOp{put: waiting, p: store.PendingIntent{ID: id, Kind: kind, Since: s.o.Now()}}
	if err := s.applyPending(ctx, op); err != nil {
		s.pmu.Lock()
		if len(s.retries) < maxPendingRetries {
			s.retries = append(s.retries, op)
		}
		s.pmu.Unlock()
	}
}

// applyPending writes op to the store.
func (s *Service) applyPending(ctx context.Context, op pendingOp) error {
	if op.put {
		return s.o.Store.PutPendingIntent(ctx, op.p)
	}
	return s.o.Store.DeletePendingIntent(ctx, op.p.ID)
}

// retryPending writes the pending-intent writes that failed, oldest first, and keeps those
// that fail again.
func (s *Service) retryPending(ctx context.Context) error {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	for len(s.retries) > 0 {
		if err := s.applyPending(ctx, s.retries[0]); err != nil {
			return fmt.Errorf("%w: pending intents: %w", ErrUnavailable, err)
		}
		s.retries = s.retries[1:]
	}
	return nil
}

// gatewayKey derives the gateway idempotency key of a call tokenwall makes on its own (the
// sweeper's cancel), so that replicas and retries cancel once.
func gatewayKey(op, id string) string {
	sum := sha256.Sum256([]byte(op + ":" + id))
	return "tw_" + op + "_" + hex.EncodeToString(sum[:16])
}
