package stripe

import (
	"context"

	stripego "github.com/stripe/stripe-go/v76"

	"github.com/tokenwall/tokenwall/gateway"
)

// ConfirmPayment confirms a PaymentIntent again: with c.ReturnURL after an off-session
// attempt needed the customer, with c.Token after the first card failed, or off-session.
// Only the fields set are sent; Stripe keeps the intent's PaymentMethod otherwise.
func (g *Gateway) ConfirmPayment(ctx context.Context, id string, c gateway.ConfirmRequest, idempotencyKey string) (gateway.Payment, error) {
	var bad string
	switch {
	case !validID(id):
		bad = "payment id malformed"
	case c.Token != "" && !validID(c.Token):
		bad = "payment method id malformed"
	case c.ReturnURL != "" && !validReturnURL(c.ReturnURL):
		bad = "return url not an absolute http(s) url"
	}
	if err := check(bad, idempotencyKey); err != nil {
		return gateway.Payment{}, err
	}
	params := &stripego.PaymentIntentConfirmParams{
		PaymentMethod: optString(c.Token),
		ReturnURL:     optString(c.ReturnURL),
		Expand:        paymentExpand(),
	}
	if c.OffSession {
		params.OffSession = stripego.Bool(true)
	}
	params.Context = ctx
	params.IdempotencyKey = stripego.String(idempotencyKey)
	pi, err := call(ctx, g, func(api *services) (*stripego.PaymentIntent, error) {
		return api.PaymentIntents.Confirm(id, params)
	})
	if err != nil {
		return gateway.Payment{}, err
	}
	return paymentOf(pi), nil
}

// CancelPayment cancels a PaymentIntent that has not succeeded; an authorized one
// (requires_capture) is released. No cancellation reason is sent: the audit trail has it.
func (g *Gateway) CancelPayment(ctx context.Context, id string, idempotencyKey string) (gateway.Payment, error) {
	var bad string
	if !validID(id) {
		bad = "payment id malformed"
	}
	if err := check(bad, idempotencyKey); err != nil {
		return gateway.Payment{}, err
	}
	params := &stripego.PaymentIntentCancelParams{Expand: paymentExpand()}
	params.Context = ctx
	params.IdempotencyKey = stripego.String(idempotencyKey)
	pi, err := call(ctx, g, func(api *services) (*stripego.PaymentIntent, error) {
		return api.PaymentIntents.Cancel(id, params)
	})
	if err != nil {
		return gateway.Payment{}, err
	}
	return paymentOf(pi), nil
}
