package payments

import (
	"context"
	"strconv"

	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/gateway"
	"github.com/tokenwall/tokenwall/store"
)

// ConfirmRequest confirms an existing payment: after the customer came back from
// authentication, or on-session after an off-session attempt needed them.
type ConfirmRequest struct {
	// ReturnURL is where the customer comes back after authentication; checked against
	// api.return_url_origins.
	ReturnURL string
	// Token is another PaymentMethod (pm_…) to use, after the first failed.
	Token string
	// OffSession confirms without the customer.
	OffSession bool
}

// SetupRequest saves a card for later charges (a SetupIntent, confirmed at once).
type SetupRequest struct {
	Customer  string
	Token     string
	Usage     string // "off_session" (default) or "on_session"
	ReturnURL string
	Mandate   *gateway.MandateOptions
	Metadata  map[string]string
}

// ConfirmPayment confirms payment id again (payment_confirm_requested, then
// payment_confirmed with the result); the answer follows the payment's status as Charge's
// does.
func (s *Service) ConfirmPayment(ctx context.Context, c Caller, id string, r ConfirmRequest, idempotencyKey string) (gateway.Payment, error) {
	if err := CheckPaymentID(id); err != nil {
		return gateway.Payment{}, err
	}
	if r.Token != "" {
		if err := checkToken(r.Token); err != nil {
			return gateway.Payment{}, err
		}
	}
	if err := s.o.Limits.checkReturnURL(r.ReturnURL); err != nil {
		return gateway.Payment{}, err
	}
	details := map[string]string{"off_session": strconv.FormatBool(r.OffSession)}
	if r.Token != "" {
		details["payment_method"] = r.Token
	}
	if err := s.intend(ctx, c, audit.EventConfirmRequested, id, details); err != nil {
		return gateway.Payment{}, err
	}
	p, err := s.o.Gateway.ConfirmPayment(ctx, id, gateway.ConfirmRequest{ReturnURL: r.ReturnURL, Token: r.Token, OffSession: r.OffSession},
		idempotencyKey)
	if err != nil {
		return gateway.Payment{}, s.gatewayFailed(ctx, c, audit.EventPaymentConfirmed, id, err, ErrUnknownPayment, details)
	}
	return p, s.paymentOutcome(ctx, c, audit.EventPaymentConfirmed, p, map[string]string{"amount": strconv.FormatInt(p.Amount, 10),
		"currency": p.Currency, "brand": p.Brand, "last4": p.Last4, "off_session": details["off_session"]})
}

// CancelPayment cancels payment id (payment_cancel_requested, then payment_canceled).
func (s *Service) CancelPayment(ctx context.Context, c Caller, id string, idempotencyKey string) (gateway.Payment, error) {
	if err := CheckPaymentID(id); err != nil {
		return gateway.Payment{}, err
	}
	return s.cancelPayment(ctx, c, id, "", idempotencyKey)
}

// cancelPayment records the request (with reason, "" when the app asks), cancels and
// records payment_canceled: success when the payment is canceled.
func (s *Service) cancelPayment(ctx context.Context, c Caller, id, reason, idempotencyKey string) (gateway.Payment, error) {
	if err := s.record(ctx, c, audit.Event{Type: audit.EventCancelRequested, Outcome: audit.Success, Reason: reason, Resource: id}); err != nil {
		return gateway.Payment{}, err
	}
	p, err := s.o.Gateway.CancelPayment(ctx, id, idempotencyKey)
	if err != nil {
		return gateway.Payment{}, s.failed(ctx, c, audit.EventPaymentCanceled, id, err, ErrUnknownPayment)
	}
	v := paymentVerdict(p)
	ev := audit.Event{Type: audit.EventPaymentCanceled, Outcome: audit.Failure, Reason: reason, Resource: p.ID,
		Details: stateDetails(nil, string(p.Status), v.result, p.LastErrorCode, nil)}
	if p.Status == gateway.StatusCanceled {
		ev.Outcome = audit.Success
	} else if reason == "" {
		ev.Reason = "not_canceled"
	}
	s.outcome(ctx, c, ev)
	s.track(ctx, p.ID, store.IntentPayment, v.waiting)
	return p, nil
}

// CreateSetup saves a card for later charges (setup_requested, then setup with the result):
// a setup that succeeded or waits for the customer (requires_action) is returned with no
// error, one whose authentication failed with ErrPaymentFailed and the gateway's code.
func (s *Service) CreateSetup(ctx context.Context, c Caller, r SetupRequest, idempotencyKey string) (gateway.SetupIntent, error) {
	if err := CheckCustomerID(r.Customer); err != nil {
		return gateway.SetupIntent{}, err
	}
	if err := checkToken(r.Token); err != nil {
		return gateway.SetupIntent{}, err
	}
	usage, err := checkUsage(r.Usage)
	if err != nil {
		return gateway.SetupIntent{}, err
	}
	if err := s.o.Limits.checkReturnURL(r.ReturnURL); err != nil {
		return gateway.SetupIntent{}, err
	}
	if err := s.o.Limits.checkMandate(r.Mandate); err != nil {
		return gateway.SetupIntent{}, err
	}
	if err := checkText("", r.Metadata); err != nil {
		return gateway.SetupIntent{}, err
	}
	subject, err := s.Pseudonym(ctx, r.Customer)
	if err != nil {
		return gateway.SetupIntent{}, err
	}
	details := map[string]string{"usage": usage, "subject": subject, "mandate": strconv.FormatBool(r.Mandate != nil)}
	if err := s.intend(ctx, c, audit.EventSetupRequested, "payment_method:"+r.Token, details); err != nil {
		return gateway.SetupIntent{}, err
	}
	si, err := s.o.Gateway.CreateSetupIntent(ctx, gateway.SetupRequest{CustomerID: r.Customer, Token: r.Token, Usage: usage,
		ReturnURL: r.ReturnURL, Mandate: r.Mandate, Metadata: r.Metadata}, idempotencyKey)
	if err != nil {
		return gateway.SetupIntent{}, s.gatewayFailed(ctx, c, audit.EventSetup, "payment_method:"+r.Token, err, ErrUnknownToken, details)
	}
	return si, s.setupOutcome(ctx, c, audit.EventSetup, si, setupDetails(si, subject))
}

// ConfirmSetup confirms setup id again (setup_requested, then setup with the result).
func (s *Service) ConfirmSetup(ctx context.Context, c Caller, id, returnURL, idempotencyKey string) (gateway.SetupIntent, error) {
	if err := CheckSetupID(id); err != nil {
		return gateway.SetupIntent{}, err
	}
	if err := s.o.Limits.checkReturnURL(returnURL); err != nil {
		return gateway.SetupIntent{}, err
	}
	details := map[string]string{"confirm": "true"}
	if err := s.intend(ctx, c, audit.EventSetupRequested, id, details); err != nil {
		return gateway.SetupIntent{}, err
	}
	si, err := s.o.Gateway.ConfirmSetupIntent(ctx, id, returnURL, idempotencyKey)
	if err != nil {
		return gateway.SetupIntent{}, s.gatewayFailed(ctx, c, audit.EventSetup, id, err, ErrUnknownSetup, details)
	}
	det := setupDetails(si, "")
	det["confirm"] = "true"
	return si, s.setupOutcome(ctx, c, audit.EventSetup, si, det)
}

// setupDetails are the plain facts of a setup record.
func setupDetails(si gateway.SetupIntent, subject string) map[string]string {
	det := map[string]string{"usage": si.Usage, "payment_method": si.PaymentMethodID, "mandate": si.MandateID}
	if subject != "" {
		det["subject"] = subject
	}
	return det
}

// Setup reads a setup, its live status (recorded as api_read), and keeps it as a pending
// intent while it waits for the customer, forgets it once final.
func (s *Service) Setup(ctx context.Context, c Caller, id string) (gateway.SetupIntent, error) {
	if err := CheckSetupID(id); err != nil {
		return gateway.SetupIntent{}, err
	}
	si, err := s.o.Gateway.GetSetupIntent(ctx, id)
	if err != nil {
		return gateway.SetupIntent{}, s.failed(ctx, c, audit.EventAPIRead, id, err, ErrUnknownSetup)
	}
	s.track(ctx, si.ID, store.IntentSetup, setupVerdict(si).waiting)
	if err := s.record(ctx, c, audit.Event{Type: audit.EventAPIRead, Outcome: audit.Success, Resource: si.ID}); err != nil {
		return gateway.SetupIntent{}, err
	}
	return si, nil
}

// cancelSetup is cancelPayment for a setup: payment_cancel_requested, then setup_canceled.
func (s *Service) cancelSetup(ctx context.Context, c Caller, id, reason, idempotencyKey string) (gateway.SetupIntent, error) {
	if err := s.record(ctx, c, audit.Event{Type: audit.EventCancelRequested, Outcome: audit.Success, Reason: reason, Resource: id}); err != nil {
		return gateway.SetupIntent{}, err
	}
	si, err := s.o.Gateway.CancelSetupIntent(ctx, id, idempotencyKey)
	if err != nil {
		return gateway.SetupIntent{}, s.failed(ctx, c, audit.EventSetupCanceled, id, err, ErrUnknownSetup)
	}
	v := setupVerdict(si)
	ev := audit.Event{Type: audit.EventSetupCanceled, Outcome: audit.Failure, Reason: reason, Resource: si.ID,
		Details: stateDetails(nil, string(si.Status), v.result, si.LastErrorCode, nil)}
	if si.Status == gateway.SetupCanceled {
		ev.Outcome = audit.Success
	} else if reason == "" {
		ev.Reason = "not_canceled"
	}
	s.outcome(ctx, c, ev)
	s.track(ctx, si.ID, store.IntentSetup, v.waiting)
	return si, nil
}
