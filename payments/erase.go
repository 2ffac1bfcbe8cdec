package payments

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/gateway"
	"github.com/tokenwall/tokenwall/scrub"
)

// ErasureStep is one thing an erasure removed: where, what, how many and when.
type ErasureStep struct {
	System string    `json:"system"`
	Action string    `json:"action"`
	Count  int64     `json:"count"`
	At     time.Time `json:"at"`
	Note   string    `json:"note,omitempty"`
}

// ErasureReceipt is what an erasure removed, where and when. It names the customer; the
// audit trail keeps only the erasure's pseudonym and its counts.
type ErasureReceipt struct {
	ID          string        `json:"id"`
	Object      string        `json:"object"`
	Customer    string        `json:"customer"`
	Pseudonym   string        `json:"audit_pseudonym"`
	RequestedAt time.Time     `json:"requested_at"`
	CompletedAt time.Time     `json:"completed_at"`
	DurationMS  int64         `json:"duration_ms"`
	Steps       []ErasureStep `json:"steps"`
}

// ErasedReason is the last_error of an outbox item whose payload an erasure removed.
const ErasedReason = "payload erased on the customer's request"

// Erase erases a customer: their payment methods are detached and the customer deleted at
// the gateway; the webhook payloads and stored API responses that mention them are deleted;
// their audit pseudonym key is destroyed, so the records about them can no longer be linked
// to them while the hash chain still verifies. A customer the gateway does not know is erased
// here all the same when tokenwall still holds something about them (they were deleted at the
// gateway directly); when tokenwall holds nothing either, Erase returns ErrUnknownCustomer,
// having changed nothing and recorded only the request. Repeating a complete erasure is
// therefore ErrUnknownCustomer. idempotencyKey ("" for a fresh one) prefixes the gateway's
// keys.
func (s *Service) Erase(ctx context.Context, c Caller, customer, idempotencyKey string) (ErasureReceipt, error) {
	if err := CheckCustomerID(customer); err != nil {
		return ErasureReceipt{}, err
	}
	rc := ErasureReceipt{Object: "erasure_receipt", Customer: customer, RequestedAt: s.o.Now().UTC(), ID: "er_" + scrub.NewLetterID(8)}
	step := func(system, action string, n int64, note string) {
		rc.Steps = append(rc.Steps, ErasureStep{System: system, Action: action, Count: n, At: s.o.Now().UTC(), Note: note})
	}
	pseudonym, err := s.erasurePseudonym(ctx, customer)
	if err != nil {
		return ErasureReceipt{}, err
	}
	rc.Pseudonym = pseudonym
	if idempotencyKey == "" {
		idempotencyKey = "tw_erase_" + rc.ID
	}
	if err := s.intend(ctx, c, audit.EventErasureRequested, pseudonym, map[string]string{"receipt": rc.ID}); err != nil {
		return ErasureReceipt{}, err
	}
	known, err := s.eraseAtGateway(ctx, customer, idempotencyKey, step)
	if err != nil {
		return ErasureReceipt{}, s.failed(ctx, c, audit.EventErasure, pseudonym, err, ErrUnknownCustomer)
	}
	if !known {
		held, err := s.holdsAnything(ctx, customer)
		if err != nil {
			return ErasureReceipt{}, s.erasureFailed(ctx, c, rc, err)
		}
		if !held {
			return ErasureReceipt{}, fmt.Errorf("%w: neither the gateway nor tokenwall holds anything about it", ErrUnknownCustomer)
		}
	}
	if err := s.eraseHere(ctx, customer, step); err != nil {
		return ErasureReceipt{}, s.erasureFailed(ctx, c, rc, err)
	}
	rc.CompletedAt = s.o.Now().UTC()
	rc.DurationMS = rc.CompletedAt.Sub(rc.RequestedAt).Milliseconds()
	details := map[string]string{"receipt": rc.ID, "duration_ms": strconv.FormatInt(rc.DurationMS, 10),
		"requested_at": rc.RequestedAt.Format(time.RFC3339Nano)}
	for _, st := range rc.Steps {
		details[st.Action] = strconv.FormatInt(st.Count, 10)
	}
	s.outcome(ctx, c, audit.Event{Type: audit.EventErasure, Outcome: audit.Success, Resource: pseudonym, Details: details})
	return rc, nil
}

// erasurePseudonym names the customer in the erasure's records. A customer with a pseudonym
// key is named with it, so the erasure links to the records before it until the key is
// destroyed. A customer without one gets a random pseudonym, as if from a key never stored:
// an erasure creates no key, so one that finds the customer unknown leaves nothing behind,
// and its records link to no one, as they would once a stored key were destroyed.
func (s *Service) erasurePseudonym(ctx context.Context, customer string) (string, error) {
	has, err := s.o.Store.HasSubject(ctx, customer)
	if err != nil {
		return "", fmt.Errorf("%w: subject key: %w", ErrUnavailable, err)
	}
	if has {
		return s.Pseudonym(ctx, customer)
	}
	// Pseudonym's shape: "subject:" and 12 bytes as letters.
	return "subject:" + scrub.NewLetterID(12), nil
}

// erasureFailed records an erasure that failed after the gateway's part (done, or nothing to
// do) and returns err: that much is recorded, and the caller's retry finishes.
func (s *Service) erasureFailed(ctx context.Context, c Caller, rc ErasureReceipt, err error) error {
	s.outcome(ctx, c, audit.Event{Type: audit.EventErasure, Outcome: audit.Failure, Reason: s.o.Reason(err), Resource: rc.Pseudonym,
		Details: map[string]string{"receipt": rc.ID}})
	return err
}

// holdsAnything reports whether tokenwall holds something about customer: a pseudonym key,
// an undelivered webhook payload or a stored API response naming the exact id. It changes
// nothing; each check is one query.
func (s *Service) holdsAnything(ctx context.Context, customer string) (bool, error) {
	has, err := s.o.Store.HasSubject(ctx, customer)
	if err != nil || has {
		return has, wrapUnavailable(err)
	}
	needle := customerNeedle(customer)
	n, err := s.o.Store.CountOutboxMatching(ctx, needle)
	if err != nil || n > 0 {
		return n > 0, wrapUnavailable(err)
	}
	n, err = s.o.Store.CountIdempotencyMatching(ctx, needle)
	return n > 0, wrapUnavailable(err)
}

// wrapUnavailable makes a store failure ErrUnavailable; nil stays nil.
func wrapUnavailable(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// customerNeedle is how payloads and stored responses name the customer: JSON, so the exact
// string value "cus_…", quotes included, and erasing cus_Qx never touches cus_Qx1's data.
func customerNeedle(customer string) string { return `"` + customer + `"` }

// eraseAtGateway detaches the customer's payment methods and deletes the customer, and
// reports whether the gateway knew the customer; one it does not know is not an error here.
func (s *Service) eraseAtGateway(ctx context.Context, customer, idem string, step func(system, action string, n int64, note string)) (bool, error) {
	const gone = "the gateway has no such customer (deleted there before)"
	pms, err := s.o.Gateway.ListPaymentMethods(ctx, customer)
	switch {
	case errors.Is(err, gateway.ErrNotFound):
		step("gateway", "payment_methods_detached", 0, gone)
		step("gateway", "customer_deleted", 0, gone)
		return false, nil
	case err != nil:
		return false, err
	}
	var n int64
	for _, pm := range pms {
		if err := s.o.Gateway.DetachPaymentMethod(ctx, pm.ID, idem+"_"+pm.ID); err != nil && !errors.Is(err, gateway.ErrNotFound) {
			return true, err
		}
		n++
	}
	step("gateway", "payment_methods_detached", n, "")
	err = s.o.Gateway.DeleteCustomer(ctx, customer, idem+"_customer")
	switch {
	case errors.Is(err, gateway.ErrNotFound):
		// Deleted between the list and now: the gateway knew it a moment ago.
		step("gateway", "customer_deleted", 0, gone)
	case err != nil:
		return true, err
	default:
		step("gateway", "customer_deleted", 1, "")
	}
	return true, nil
}

// eraseHere deletes what tokenwall holds about the customer, matching payloads and stored
// responses on customerNeedle.
func (s *Service) eraseHere(ctx context.Context, customer string, step func(system, action string, n int64, note string)) error {
	needle := customerNeedle(customer)
	n, err := s.o.Store.PurgeOutboxMatching(ctx, needle, ErasedReason)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	step("tokenwall", "webhook_payloads_deleted", n, "undelivered events that named the customer; delivered ones kept no payload")
	if n, err = s.o.Store.DeleteIdempotencyMatching(ctx, needle); err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	step("tokenwall", "stored_api_responses_deleted", n, "")
	had, err := s.o.Store.ForgetSubject(ctx, customer)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	var count int64
	if had {
		count = 1
	}
	step("tokenwall", "audit_pseudonym_key_destroyed", count,
		"audit records name the customer only by this pseudonym; without the key it links to no one, and the hash chain is unchanged")
	return nil
}
