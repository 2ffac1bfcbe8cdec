package payments

import (
	"context"
	"fmt"

	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/gateway"
)

// CreateCustomer creates a customer at the gateway; the trail names it by pseudonym only.
func (s *Service) CreateCustomer(ctx context.Context, c Caller, r gateway.CustomerRequest, idempotencyKey string) (gateway.Customer, error) {
	if len(r.Email) > 320 || len(r.Name) > 256 {
		return gateway.Customer{}, fmt.Errorf("%w: email is at most 320 bytes and name at most 256", ErrInvalidParameter)
	}
	if err := checkText(r.Description, r.Metadata); err != nil {
		return gateway.Customer{}, err
	}
	if err := s.intend(ctx, c, audit.EventCustomerCreateRequested, "customer", nil); err != nil {
		return gateway.Customer{}, err
	}
	cu, err := s.o.Gateway.CreateCustomer(ctx, r, idempotencyKey)
	if err != nil {
		return gateway.Customer{}, s.failed(ctx, c, audit.EventCustomerCreated, "customer", err, ErrUnknownCustomer)
	}
	subject, err := s.Pseudonym(ctx, cu.ID)
	if err != nil {
		// The customer exists at the gateway; without its pseudonym the record names it
		// generically.
		subject = "customer"
	}
	s.outcome(ctx, c, audit.Event{Type: audit.EventCustomerCreated, Outcome: audit.Success, Resource: subject})
	return cu, nil
}

// AttachPaymentMethod keeps a token with a customer for later charges.
func (s *Service) AttachPaymentMethod(ctx context.Context, c Caller, customer, token, idempotencyKey string) (gateway.PaymentMethod, error) {
	if err := CheckCustomerID(customer); err != nil {
		return gateway.PaymentMethod{}, err
	}
	if err := checkToken(token); err != nil {
		return gateway.PaymentMethod{}, err
	}
	subject, err := s.Pseudonym(ctx, customer)
	if err != nil {
		return gateway.PaymentMethod{}, err
	}
	if err := s.intend(ctx, c, audit.EventAttachRequested, subject, map[string]string{"payment_method": token}); err != nil {
		return gateway.PaymentMethod{}, err
	}
	pm, err := s.o.Gateway.AttachPaymentMethod(ctx, customer, token, idempotencyKey)
	if err != nil {
		return gateway.PaymentMethod{}, s.failed(ctx, c, audit.EventPaymentMethodAttached, subject, err, ErrUnknownCustomer)
	}
	s.outcome(ctx, c, audit.Event{Type: audit.EventPaymentMethodAttached, Outcome: audit.Success, Resource: subject,
		Details: map[string]string{"payment_method": pm.ID, "brand": pm.Brand, "last4": pm.Last4}})
	return pm, nil
}
