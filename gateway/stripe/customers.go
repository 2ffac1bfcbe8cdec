package stripe

import (
	"context"

	stripego "github.com/stripe/stripe-go/v76"

	"github.com/tokenwall/tokenwall/gateway"
)

// maxListed bounds the cards ListPaymentMethods returns, so that a runaway customer cannot
// make one call page through Stripe for ever.
const maxListed = 1000

// CreateCustomer creates a Stripe customer.
func (g *Gateway) CreateCustomer(ctx context.Context, c gateway.CustomerRequest, idempotencyKey string) (gateway.Customer, error) {
	if err := check("", idempotencyKey); err != nil {
		return gateway.Customer{}, err
	}
	params := &stripego.CustomerParams{}
	if c.Email != "" {
		params.Email = stripego.String(c.Email)
	}
	if c.Name != "" {
		params.Name = stripego.String(c.Name)
	}
	if c.Description != "" {
		params.Description = stripego.String(c.Description)
	}
	if len(c.Metadata) > 0 {
		params.Metadata = c.Metadata
	}
	params.Context = ctx
	params.IdempotencyKey = stripego.String(idempotencyKey)
	cus, err := call(ctx, g, func(api *services) (*stripego.Customer, error) {
		return api.Customers.New(params)
	})
	if err != nil {
		return gateway.Customer{}, err
	}
	return gateway.Customer{ID: cus.ID, Created: unixTime(cus.Created)}, nil
}

// AttachPaymentMethod attaches the PaymentMethod token to a customer.
func (g *Gateway) AttachPaymentMethod(ctx context.Context, customerID, token string, idempotencyKey string) (gateway.PaymentMethod, error) {
	var bad string
	switch {
	case !validID(customerID):
		bad = "customer id malformed"
	case !validID(token):
		bad = "payment method id malformed"
	}
	if err := check(bad, idempotencyKey); err != nil {
		return gateway.PaymentMethod{}, err
	}
	params := &stripego.PaymentMethodAttachParams{Customer: stripego.String(customerID)}
	params.Context = ctx
	params.IdempotencyKey = stripego.String(idempotencyKey)
	pm, err := call(ctx, g, func(api *services) (*stripego.PaymentMethod, error) {
		return api.PaymentMethods.Attach(token, params)
	})
	if err != nil {
		return gateway.PaymentMethod{}, err
	}
	return paymentMethodOf(pm), nil
}

// ListPaymentMethods returns the cards attached to a customer, at most maxListed, never nil.
func (g *Gateway) ListPaymentMethods(ctx context.Context, customerID string) ([]gateway.PaymentMethod, error) {
	if !validID(customerID) {
		return nil, rejected("customer id malformed")
	}
	return call(ctx, g, func(api *services) ([]gateway.PaymentMethod, error) {
		// The params live inside the attempt: the iterator writes its cursor into them.
		params := &stripego.PaymentMethodListParams{
			Customer: stripego.String(customerID),
			Type:     stripego.String(string(stripego.PaymentMethodTypeCard)),
		}
		params.Context = ctx
		params.Limit = stripego.Int64(100)
		it := api.PaymentMethods.List(params)
		out := []gateway.PaymentMethod{}
		for len(out) < maxListed && it.Next() {
			out = append(out, paymentMethodOf(it.PaymentMethod()))
		}
		if err := it.Err(); err != nil {
			return nil, err
		}
		return out, nil
	})
}

// DetachPaymentMethod detaches the PaymentMethod token from its customer.
func (g *Gateway) DetachPaymentMethod(ctx context.Context, token string, idempotencyKey string) error {
	var bad string
	if !validID(token) {
		bad = "payment method id malformed"
	}
	if err := check(bad, idempotencyKey); err != nil {
		return err
	}
	params := &stripego.PaymentMethodDetachParams{}
	params.Context = ctx
	params.IdempotencyKey = stripego.String(idempotencyKey)
	_, err := call(ctx, g, func(api *services) (*stripego.PaymentMethod, error) {
		return api.PaymentMethods.Detach(token, params)
	})
	return err
}

// DeleteCustomer deletes a Stripe customer. Stripe ignores idempotency keys on DELETE (a
// second delete answers resource_missing, which comes back as gateway.ErrNotFound); the key
// is sent all the same, so every call is traceable by it.
func (g *Gateway) DeleteCustomer(ctx context.Context, customerID string, idempotencyKey string) error {
	var bad string
	if !validID(customerID) {
		bad = "customer id malformed"
	}
	if err := check(bad, idempotencyKey); err != nil {
		return err
	}
	params := &stripego.CustomerParams{}
	params.Context = ctx
	params.IdempotencyKey = stripego.String(idempotencyKey)
	_, err := call(ctx, g, func(api *services) (*stripego.Customer, error) {
		return api.Customers.Del(customerID, params)
	})
	return err
}
