// Package payments is the billing operations as a service over the gateway, the store and
// the audit trail: charge, capture, refund, customers, saved payment methods, erasure with
// its receipt, and idempotency. The /v1 API and the CLI call the same functions; there is no
// HTTP here.
package payments

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/gateway"
	"github.com/tokenwall/tokenwall/scrub"
	"github.com/tokenwall/tokenwall/store"
)

// Recorder writes audit events durably; *audit.Trail is the real one.
type Recorder interface {
	Record(ctx context.Context, ev audit.Event) error
}

// Options configure a Service. Gateway, Store, Audit and Reason are required.
type Options struct {
	Gateway gateway.Payments
	// Store holds the subjects' pseudonym keys, the outbox and stored API responses.
	Store store.Store
	Audit Recorder
	// Limits bound amounts and currencies.
	Limits Limits
	// Reason names a failure in the audit trail (the HTTP layer's error table:
	// proxy.AuditReason), so the trail and the answer agree.
	Reason func(error) string
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// OnSweep, when set, is told what each sweep of RunSweeper did: how many stale
	// payments and setups it canceled and what failed (for the log and the metrics).
	OnSweep func(canceled int, err error)
}

// Service runs the billing operations.
type Service struct {
	o Options

	mu   sync.Mutex
	gaps []audit.Event // outcome records not written yet, as audit_gap records

	pmu     sync.Mutex
	retries []pendingOp // pending-intent writes the store refused, retried before a sweep
}

// New returns a Service.
func New(o Options) (*Service, error) {
	if o.Gateway == nil || o.Store == nil || o.Audit == nil || o.Reason == nil {
		return nil, errors.New("payments: Gateway, Store, Audit and Reason are required")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Service{o: o}, nil
}

// Caller is who asks, as the audit trail names them: the actor ("key:ID" for an API key,
// "operator:NAME" for the CLI), the source address and tokenwall's request id.
type Caller struct {
	Actor     string
	SourceIP  string
	RequestID string
}

// record writes ev for the caller, after any audit_gap records still pending; an event
// that cannot be written is ErrUnavailable.
func (s *Service) record(ctx context.Context, c Caller, ev audit.Event) error {
	s.FlushGaps(ctx)
	ev.Actor, ev.SourceIP, ev.RequestID = c.Actor, c.SourceIP, c.RequestID
	if err := s.o.Audit.Record(ctx, ev); err != nil {
		return fmt.Errorf("%w: audit %s: %w", ErrUnavailable, ev.Type, err)
	}
	return nil
}

// intend records the intent of a gateway call before it is made. When it cannot be written
// the call is not made: ErrUnavailable, and the gateway never acts unaudited.
func (s *Service) intend(ctx context.Context, c Caller, typ, resource string, details map[string]string) error {
	return s.record(ctx, c, audit.Event{Type: typ, Outcome: audit.Success, Resource: resource, Details: details})
}

// outcome records what the gateway did. The gateway has acted, so the caller gets the
// result even when the record cannot be written: it is then kept as an audit_gap record,
// written as soon as the trail takes records again (FlushGaps).
func (s *Service) outcome(ctx context.Context, c Caller, ev audit.Event) {
	if err := s.record(ctx, c, ev); err != nil {
		details := map[string]string{"missed": ev.Type, "outcome": ev.Outcome, "reason": ev.Reason, "at": s.o.Now().UTC().Format(time.RFC3339Nano)}
		for k, v := range ev.Details {
			details["missed_"+k] = v
		}
		gap := audit.Event{Type: audit.EventAuditGap, Actor: c.Actor, SourceIP: c.SourceIP, RequestID: c.RequestID,
			Outcome: audit.Failure, Reason: "audit_unavailable", Resource: ev.Resource, Details: details}
		s.mu.Lock()
		if len(s.gaps) < maxGaps {
			s.gaps = append(s.gaps, gap)
		}
		s.mu.Unlock()
	}
}

// maxGaps bounds the audit_gap records kept in memory while the trail is down; past it the
// outcome is still in the error log.
const maxGaps = 10_000

// FlushGaps writes the pending audit_gap records, oldest first, and keeps those that still
// cannot be written. The service calls it before every record; app calls it at shutdown.
func (s *Service) FlushGaps(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.gaps) > 0 {
		if err := s.o.Audit.Record(ctx, s.gaps[0]); err != nil {
			return
		}
		s.gaps = s.gaps[1:]
	}
}

// PendingGaps is how many outcome records wait to be written as audit_gap records.
func (s *Service) PendingGaps() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.gaps)
}

// failed records a failed gateway call (as an outcome) and returns its error, with notFound
// as its kind when the gateway has no such object.
func (s *Service) failed(ctx context.Context, c Caller, typ, resource string, err, notFound error) error {
	if errors.Is(err, gateway.ErrNotFound) {
		err = fmt.Errorf("%w: %w", notFound, err)
	}
	s.outcome(ctx, c, audit.Event{Type: typ, Outcome: audit.Failure, Reason: s.o.Reason(err), Resource: resource})
	return err
}

// Pseudonym names a customer in the audit trail: HMAC-SHA256 with the customer's own key
// from the store, which erasure destroys. It is "" for no customer.
func (s *Service) Pseudonym(ctx context.Context, customer string) (string, error) {
	if customer == "" {
		return "", nil
	}
	key, err := s.o.Store.SubjectKey(ctx, customer)
	if err != nil {
		return "", fmt.Errorf("%w: subject key: %w", ErrUnavailable, err)
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(customer))
	return "subject:" + scrub.LetterID(m.Sum(nil)[:12]), nil
}

// ChargeRequest is a payment to create and confirm with a token.
type ChargeRequest struct {
	Amount      int64
	Currency    string
	Token       string
	Customer    string
	Capture     gateway.CaptureMethod
	OffSession  bool
	Description string
	Metadata    map[string]string
	// ReturnURL is where the customer comes back after authentication (3-D Secure); it must
	// be under api.return_url_origins. Without it a payment that needs the customer has no
	// redirect to give.
	ReturnURL string
	// Mandate, when set, are the card's mandate options (e-mandates of recurring payments).
	Mandate *gateway.MandateOptions
}

// Charge validates r, creates and confirms the payment at the gateway and records charge
// with the payment's real outcome. A payment that succeeded (also processing or
// requires_capture) or waits for the customer (requires_action: its NextAction says what to
// do) is returned with no error; one declined or failed (requires_payment_method) or
// canceled is returned with ErrPaymentFailed; an off-session payment the issuer wants
// authenticated is ErrAuthenticationRequired, wrapping a *gateway.Error with its PaymentID.
func (s *Service) Charge(ctx context.Context, c Caller, r ChargeRequest, idempotencyKey string) (gateway.Payment, error) {
	if err := s.o.Limits.checkAmount(r.Amount, false); err != nil {
		return gateway.Payment{}, err
	}
	if err := s.o.Limits.checkCurrency(r.Currency); err != nil {
		return gateway.Payment{}, err
	}
	if err := checkToken(r.Token); err != nil {
		return gateway.Payment{}, err
	}
	if r.Customer != "" {
		if err := CheckCustomerID(r.Customer); err != nil {
			return gateway.Payment{}, err
		}
	}
	if !r.Capture.Valid() {
		return gateway.Payment{}, fmt.Errorf("%w: capture must be automatic or manual", ErrInvalidParameter)
	}
	if err := checkText(r.Description, r.Metadata); err != nil {
		return gateway.Payment{}, err
	}
	if err := s.o.Limits.checkReturnURL(r.ReturnURL); err != nil {
		return gateway.Payment{}, err
	}
	if err := s.o.Limits.checkMandate(r.Mandate); err != nil {
		return gateway.Payment{}, err
	}
	subject, err := s.Pseudonym(ctx, r.Customer)
	if err != nil {
		return gateway.Payment{}, err
	}
	if err := s.intend(ctx, c, audit.EventChargeRequested, "payment_method:"+r.Token, map[string]string{"amount": strconv.FormatInt(r.Amount, 10),
		"currency": r.Currency, "capture": string(r.Capture), "subject": subject}); err != nil {
		return gateway.Payment{}, err
	}
	p, err := s.o.Gateway.CreatePayment(ctx, gateway.PaymentRequest{Amount: r.Amount, Currency: r.Currency, Token: r.Token,
		CustomerID: r.Customer, Capture: r.Capture, OffSession: r.OffSession, Description: r.Description, Metadata: r.Metadata,
		ReturnURL: r.ReturnURL, Mandate: r.Mandate}, idempotencyKey)
	offSession := strconv.FormatBool(r.OffSession)
	if err != nil {
		return gateway.Payment{}, s.gatewayFailed(ctx, c, audit.EventCharge, "payment_method:"+r.Token, err, ErrUnknownToken,
			map[string]string{"amount": strconv.FormatInt(r.Amount, 10), "currency": r.Currency, "capture": string(r.Capture),
				"subject": subject, "off_session": offSession})
	}
	return p, s.paymentOutcome(ctx, c, audit.EventCharge, p, map[string]string{"amount": strconv.FormatInt(p.Amount, 10),
		"currency": p.Currency, "capture": string(r.Capture), "subject": subject, "brand": p.Brand, "last4": p.Last4,
		"off_session": offSession})
}

// Capture takes the funds of a manual-capture payment, all of them (amount 0) or amount.
func (s *Service) Capture(ctx context.Context, c Caller, id string, amount int64, idempotencyKey string) (gateway.Payment, error) {
	if err := CheckPaymentID(id); err != nil {
		return gateway.Payment{}, err
	}
	if err := s.o.Limits.checkAmount(amount, true); err != nil {
		return gateway.Payment{}, err
	}
	if err := s.intend(ctx, c, audit.EventCaptureRequested, id, map[string]string{"amount": strconv.FormatInt(amount, 10)}); err != nil {
		return gateway.Payment{}, err
	}
	p, err := s.o.Gateway.CapturePayment(ctx, id, amount, idempotencyKey)
	if err != nil {
		return gateway.Payment{}, s.failed(ctx, c, audit.EventCapture, id, err, ErrUnknownPayment)
	}
	s.outcome(ctx, c, audit.Event{Type: audit.EventCapture, Outcome: audit.Success, Resource: p.ID,
		Details: map[string]string{"amount_captured": strconv.FormatInt(p.AmountCaptured, 10), "currency": p.Currency, "status": string(p.Status)}})
	return p, nil
}

// Payment reads a payment, its live status (recorded as api_read), and keeps it as a
// pending intent while it waits for the customer, forgets it once final.
func (s *Service) Payment(ctx context.Context, c Caller, id string) (gateway.Payment, error) {
	if err := CheckPaymentID(id); err != nil {
		return gateway.Payment{}, err
	}
	p, err := s.o.Gateway.GetPayment(ctx, id)
	if err != nil {
		return gateway.Payment{}, s.failed(ctx, c, audit.EventAPIRead, id, err, ErrUnknownPayment)
	}
	s.track(ctx, p.ID, store.IntentPayment, paymentVerdict(p).waiting)
	if err := s.record(ctx, c, audit.Event{Type: audit.EventAPIRead, Outcome: audit.Success, Resource: p.ID}); err != nil {
		return gateway.Payment{}, err
	}
	return p, nil
}

// Refund refunds a payment, all of it (amount 0) or amount.
func (s *Service) Refund(ctx context.Context, c Caller, paymentID string, amount int64, idempotencyKey string) (gateway.Refund, error) {
	if err := CheckPaymentID(paymentID); err != nil {
		return gateway.Refund{}, err
	}
	if err := s.o.Limits.checkAmount(amount, true); err != nil {
		return gateway.Refund{}, err
	}
	if err := s.intend(ctx, c, audit.EventRefundRequested, paymentID, map[string]string{"amount": strconv.FormatInt(amount, 10)}); err != nil {
		return gateway.Refund{}, err
	}
	r, err := s.o.Gateway.CreateRefund(ctx, gateway.RefundRequest{PaymentID: paymentID, Amount: amount}, idempotencyKey)
	if err != nil {
		return gateway.Refund{}, s.failed(ctx, c, audit.EventRefund, paymentID, err, ErrUnknownPayment)
	}
	s.outcome(ctx, c, audit.Event{Type: audit.EventRefund, Outcome: audit.Success, Resource: r.ID,
		Details: map[string]string{"payment": paymentID, "amount": strconv.FormatInt(r.Amount, 10), "currency": r.Currency, "status": string(r.Status)}})
	return r, nil
}
