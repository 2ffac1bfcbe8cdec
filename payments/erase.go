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
// to them while the hash chain still verifies. Repeating it is safe: what is gone already is
// counted as zero. idempotencyKey ("" for a fresh one) prefixes the gateway's keys.
func (s *Service) Erase(ctx context.Context, c Caller, customer, idempotencyKey string) (ErasureReceipt, error) {
	if err := CheckCustomerID(customer); err != nil {
		return ErasureReceipt{}, err
	}
	rc := ErasureReceipt{Object: "erasure_receipt", Customer: customer, RequestedAt: s.o.Now().UTC(), ID: "er_" + scrub.NewLetterID(8)}
	step := func(system, action string, n int64, note string) {
		rc.Steps = append(rc.Steps, ErasureStep{System: system, Action: action, Count: n, At: s.o.Now().UTC(), Note: note})
	}
	pseudonym, err := s.Pseudonym(ctx, customer)
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
	if err := s.eraseAtGateway(ctx, customer, idempotencyKey, step); err != nil {
		return ErasureReceipt{}, s.failed(ctx, c, audit.EventErasure, pseudonym, err, ErrUnknownCustomer)
	}
	if err := s.eraseHere(ctx, customer, step); err != nil {
		// The gateway's part is done: that much is recorded, and the caller's retry finishes.
		s.outcome(ctx, c, audit.Event{Type: audit.EventErasure, Outcome: audit.Failure, Reason: s.o.Reason(err), Resource: pseudonym,
			Details: map[string]string{"receipt": rc.ID}})
		return ErasureReceipt{}, err
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

// eraseAtGateway detaches the customer's payment methods and deletes the customer; a
// customer the gateway does not know was deleted before.
func (s *Service) eraseAtGateway(ctx context.Context, customer, idem string, step func(system, action string, n int64, note string)) error {
	const gone = "the gateway has no such customer (deleted before)"
	pms, err := s.o.Gateway.ListPaymentMethods(ctx, customer)
	switch {
	case errors.Is(err, gateway.ErrNotFound):
		step("gateway", "payment_methods_detached", 0, gone)
		return nil
	case err != nil:
		return err
	}
	var n int64
	for _, pm := range pms {
		if err := s.o.Gateway.DetachPaymentMethod(ctx, pm.ID, idem+"_"+pm.ID); err != nil && !errors.Is(err, gateway.ErrNotFound) {
			return err
		}
		n++
	}
	step("gateway", "payment_methods_detached", n, "")
	err = s.o.Gateway.DeleteCustomer(ctx, customer, idem+"_customer")
	switch {
	case errors.Is(err, gateway.ErrNotFound):
		step("gateway", "customer_deleted", 0, gone)
	case err != nil:
		return err
	default:
		step("gateway", "customer_deleted", 1, "")
	}
	return nil
}

// eraseHere deletes what tokenwall holds about the customer. Payloads and stored responses
// are JSON: they name the customer as the exact string value "cus_…", quotes included, so
// erasing cus_Qx never touches cus_Qx1's data.
func (s *Service) eraseHere(ctx context.Context, customer string, step func(system, action string, n int64, note string)) error {
	needle := `"` + customer + `"`
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
