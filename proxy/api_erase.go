package proxy

import (
	"crypto/rand"
	"errors"
	"github.com/tokenwall/tokenwall/scrub"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/gateway"
)

// ErasureStep is one thing an erasure removed: where, what, how many and when.
type ErasureStep struct {
	System string    `json:"system"`
	Action string    `json:"action"`
	Count  int64     `json:"count"`
	At     time.Time `json:"at"`
	Note   string    `json:"note,omitempty"`
}

// ErasureReceipt is the answer to DELETE /v1/customers/{id}: what was removed, where and when.
// It names the customer; the audit trail keeps only the erasure's pseudonym and its counts.
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

// erasedReason is the last_error of an outbox item whose payload an erasure removed.
const erasedReason = "payload erased on the customer's request"

// eraseCustomer is DELETE /v1/customers/{id}: the customer's payment methods are detached and
// the customer deleted at the gateway; the webhook payloads and stored API responses that
// mention them are deleted; their audit pseudonym key is destroyed, so the records about them
// can no longer be linked to them while the hash chain still verifies. Repeating it is safe:
// what is gone already is counted as zero.
func (s *Server) eraseCustomer(c echo.Context) error {
	id := c.Param("id")
	if err := checkID(customerIDRe, id, "customer"); err != nil {
		return err
	}
	ctx := c.Request().Context()
	rc := ErasureReceipt{Object: "erasure_receipt", Customer: id, RequestedAt: s.now().UTC()}
	var rid [8]byte
	_, _ = rand.Read(rid[:])
	rc.ID = "er_" + scrub.LetterID(rid[:])
	step := func(system, action string, n int64, note string) {
		rc.Steps = append(rc.Steps, ErasureStep{System: system, Action: action, Count: n, At: s.now().UTC(), Note: note})
	}
	pseudonym, err := s.pseudonym(ctx, id)
	if err != nil {
		return err
	}
	rc.Pseudonym = pseudonym
	idem := gatewayIdemKey(c)
	if idem == "" {
		idem = "tw_erase_" + rc.ID
	}

	pms, err := s.payments.ListPaymentMethods(ctx, id)
	switch {
	case errors.Is(err, gateway.ErrNotFound):
		step("gateway", "payment_methods_detached", 0, "the gateway has no such customer (deleted before)")
	case err != nil:
		return s.gatewayFailed(c, audit.EventErasure, pseudonym, err, problemUnknownCustomer)
	default:
		var n int64
		for _, pm := range pms {
			if err := s.payments.DetachPaymentMethod(ctx, pm.ID, idem+"_"+pm.ID); err != nil && !errors.Is(err, gateway.ErrNotFound) {
				return s.gatewayFailed(c, audit.EventErasure, pseudonym, err, problemUnknownCustomer)
			}
			n++
		}
		step("gateway", "payment_methods_detached", n, "")
		err := s.payments.DeleteCustomer(ctx, id, idem+"_customer")
		switch {
		case errors.Is(err, gateway.ErrNotFound):
			step("gateway", "customer_deleted", 0, "the gateway has no such customer (deleted before)")
		case err != nil:
			return s.gatewayFailed(c, audit.EventErasure, pseudonym, err, problemUnknownCustomer)
		default:
			step("gateway", "customer_deleted", 1, "")
		}
	}

	n, err := s.store.PurgeOutboxMatching(ctx, id, erasedReason)
	if err != nil {
		return problemUnavailable.withCause(err)
	}
	step("tokenwall", "webhook_payloads_deleted", n, "undelivered events that named the customer; delivered ones kept no payload")
	n, err = s.store.DeleteIdempotencyMatching(ctx, id)
	if err != nil {
		return problemUnavailable.withCause(err)
	}
	step("tokenwall", "stored_api_responses_deleted", n, "")
	had, err := s.store.ForgetSubject(ctx, id)
	if err != nil {
		return problemUnavailable.withCause(err)
	}
	step("tokenwall", "audit_pseudonym_key_destroyed", boolCount(had),
		"audit records name the customer only by this pseudonym; without the key it links to no one, and the hash chain is unchanged")

	rc.CompletedAt = s.now().UTC()
	rc.DurationMS = rc.CompletedAt.Sub(rc.RequestedAt).Milliseconds()
	details := map[string]string{"receipt": rc.ID, "duration_ms": strconv.FormatInt(rc.DurationMS, 10),
		"requested_at": rc.RequestedAt.Format(time.RFC3339Nano)}
	for _, st := range rc.Steps {
		details[st.Action] = strconv.FormatInt(st.Count, 10)
	}
	if err := s.recordAPI(c, audit.Event{Type: audit.EventErasure, Outcome: audit.Success, Resource: pseudonym, Details: details}); err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, rc)
}

func boolCount(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
