package stripe

import (
	"context"
	"strings"
	"time"

	stripego "github.com/stripe/stripe-go/v76"

	"github.com/tokenwall/tokenwall/gateway"
)

var _ gateway.Payments = (*Gateway)(nil)

// CreatePayment creates a PaymentIntent for the card p.Token and confirms it in the same call.
// Only cards are allowed (payment_method_types=card), so no redirect-based method can make
// the confirmation wait for a return URL; p.ReturnURL is where a card that needs 3-D Secure
// sends the customer back (Payment.NextAction). setup_future_usage is never set: cards are
// saved for later with CreateSetupIntent.
func (g *Gateway) CreatePayment(ctx context.Context, p gateway.PaymentRequest, idempotencyKey string) (gateway.Payment, error) {
	var bad string
	switch {
	case p.Amount <= 0:
		bad = "amount not positive"
	case !validID(p.Token):
		bad = "payment method id malformed"
	case p.CustomerID != "" && !validID(p.CustomerID):
		bad = "customer id malformed"
	case !p.Capture.Valid():
		bad = "capture method neither automatic nor manual"
	case p.ReturnURL != "" && !validReturnURL(p.ReturnURL):
		bad = "return url not an absolute http(s) url"
	case p.Mandate != nil && p.Mandate.Currency != "" && !strings.EqualFold(p.Mandate.Currency, p.Currency):
		bad = "mandate currency differs from the payment's"
	default:
		bad = checkMandate(p.Mandate)
	}
	if err := check(bad, idempotencyKey); err != nil {
		return gateway.Payment{}, err
	}
	capture := gateway.CaptureAutomatic
	if p.Capture != "" {
		capture = p.Capture
	}
	params := &stripego.PaymentIntentParams{
		Amount:             stripego.Int64(p.Amount),
		PaymentMethod:      stripego.String(p.Token),
		PaymentMethodTypes: []*string{stripego.String(string(stripego.PaymentMethodTypeCard))},
		Confirm:            stripego.Bool(true),
		CaptureMethod:      stripego.String(string(capture)),
		Expand:             paymentExpand(),
	}
	// Empty optional fields are left out; a missing currency is Stripe's to refuse.
	if p.Currency != "" {
		params.Currency = stripego.String(strings.ToLower(p.Currency))
	}
	if p.CustomerID != "" {
		params.Customer = stripego.String(p.CustomerID)
	}
	if p.OffSession {
		params.OffSession = stripego.Bool(true)
	}
	if p.ReturnURL != "" {
		params.ReturnURL = stripego.String(p.ReturnURL)
	}
	if p.Mandate != nil {
		params.PaymentMethodOptions = paymentMandateOptions(p.Mandate)
	}
	if p.Description != "" {
		params.Description = stripego.String(p.Description)
	}
	if len(p.Metadata) > 0 {
		params.Metadata = p.Metadata
	}
	params.Context = ctx
	params.IdempotencyKey = stripego.String(idempotencyKey)
	pi, err := call(ctx, g, func(api *services) (*stripego.PaymentIntent, error) {
		return api.PaymentIntents.New(params)
	})
	if err != nil {
		return gateway.Payment{}, err
	}
	return paymentOf(pi), nil
}

// CapturePayment captures amount of an authorized PaymentIntent, or all of it when amount is 0.
func (g *Gateway) CapturePayment(ctx context.Context, id string, amount int64, idempotencyKey string) (gateway.Payment, error) {
	var bad string
	switch {
	case !validID(id):
		bad = "payment id malformed"
	case amount < 0:
		bad = "amount negative"
	}
	if err := check(bad, idempotencyKey); err != nil {
		return gateway.Payment{}, err
	}
	params := &stripego.PaymentIntentCaptureParams{Expand: paymentExpand()}
	if amount > 0 {
		params.AmountToCapture = stripego.Int64(amount)
	}
	params.Context = ctx
	params.IdempotencyKey = stripego.String(idempotencyKey)
	pi, err := call(ctx, g, func(api *services) (*stripego.PaymentIntent, error) {
		return api.PaymentIntents.Capture(id, params)
	})
	if err != nil {
		return gateway.Payment{}, err
	}
	return paymentOf(pi), nil
}

// GetPayment reads a PaymentIntent.
func (g *Gateway) GetPayment(ctx context.Context, id string) (gateway.Payment, error) {
	if !validID(id) {
		return gateway.Payment{}, rejected("payment id malformed")
	}
	params := &stripego.PaymentIntentParams{Expand: paymentExpand()}
	params.Context = ctx
	pi, err := call(ctx, g, func(api *services) (*stripego.PaymentIntent, error) {
		return api.PaymentIntents.Get(id, params)
	})
	if err != nil {
		return gateway.Payment{}, err
	}
	return paymentOf(pi), nil
}

// CreateRefund refunds r.Amount of a PaymentIntent, or what remains of it when r.Amount is 0.
func (g *Gateway) CreateRefund(ctx context.Context, r gateway.RefundRequest, idempotencyKey string) (gateway.Refund, error) {
	var bad string
	switch {
	case !validID(r.PaymentID):
		bad = "payment id malformed"
	case r.Amount < 0:
		bad = "amount negative"
	}
	if err := check(bad, idempotencyKey); err != nil {
		return gateway.Refund{}, err
	}
	params := &stripego.RefundParams{PaymentIntent: stripego.String(r.PaymentID)}
	if r.Amount > 0 {
		params.Amount = stripego.Int64(r.Amount)
	}
	params.Context = ctx
	params.IdempotencyKey = stripego.String(idempotencyKey)
	re, err := call(ctx, g, func(api *services) (*stripego.Refund, error) {
		return api.Refunds.New(params)
	})
	if err != nil {
		return gateway.Refund{}, err
	}
	out := gateway.Refund{
		ID:        re.ID,
		PaymentID: r.PaymentID,
		Amount:    re.Amount,
		Currency:  string(re.Currency),
		Status:    gateway.RefundStatus(re.Status),
	}
	if re.PaymentIntent != nil && re.PaymentIntent.ID != "" {
		out.PaymentID = re.PaymentIntent.ID
	}
	return out, nil
}

// paymentExpand asks Stripe to inline the PaymentIntent's PaymentMethod and latest charge,
// which carry the card's brand and last four and the amount refunded, in the same call.
func paymentExpand() []*string {
	return []*string{stripego.String("latest_charge"), stripego.String("payment_method")}
}

// paymentOf keeps what the billing app may see of a PaymentIntent.
func paymentOf(pi *stripego.PaymentIntent) gateway.Payment {
	out := gateway.Payment{
		ID:             pi.ID,
		Status:         gateway.PaymentStatus(pi.Status),
		Amount:         pi.Amount,
		AmountCaptured: pi.AmountReceived,
		Currency:       string(pi.Currency),
		Created:        unixTime(pi.Created),
		Description:    pi.Description,
		Metadata:       pi.Metadata,
	}
	if pi.Customer != nil {
		out.CustomerID = pi.Customer.ID
	}
	if pm := pi.PaymentMethod; pm != nil {
		out.PaymentMethodID = pm.ID
		if pm.Card != nil {
			out.Brand, out.Last4 = string(pm.Card.Brand), pm.Card.Last4
		}
	}
	if ch := pi.LatestCharge; ch != nil {
		out.AmountRefunded = ch.AmountRefunded
		if d := ch.PaymentMethodDetails; out.Last4 == "" && d != nil && d.Card != nil {
			out.Brand, out.Last4 = string(d.Card.Brand), d.Card.Last4
		}
	}
	if na := pi.NextAction; na != nil {
		out.NextAction = &gateway.NextAction{Type: string(na.Type)}
		if r := na.RedirectToURL; r != nil {
			out.NextAction.RedirectURL, out.NextAction.ReturnURL = r.URL, r.ReturnURL
		}
	}
	if e := pi.LastPaymentError; e != nil {
		out.LastErrorCode = lastErrorCode(e)
	}
	return out
}

// lastErrorCode is the code of an intent's last failed attempt: Stripe's error code, which
// names what went wrong (card_declined, payment_intent_authentication_failure) without the
// decline reason; that may be one to hide (publicDeclineCodes) and is not passed on here.
func lastErrorCode(e *stripego.Error) string {
	if e.Code != "" {
		return string(e.Code)
	}
	if e.Type == stripego.ErrorTypeCard {
		return gateway.CodeCardDeclined
	}
	return ""
}

// unixTime converts Stripe's Unix seconds; 0 (not given) stays the zero time.
func unixTime(sec int64) time.Time {
	if sec == 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0).UTC()
}
