package stripe

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	stripego "github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"

	"github.com/tokenwall/tokenwall/gateway"
)

var _ gateway.Payments = (*Gateway)(nil)

// maxListed bounds the cards ListPaymentMethods returns, so that a runaway customer cannot
// make one call page through Stripe for ever.
const maxListed = 1000

// maxIdempotencyKey is Stripe's limit on the length of an idempotency key.
const maxIdempotencyKey = 255

// CreatePayment creates a PaymentIntent for the card p.Token and confirms it in the same call.
// Only cards are allowed (payment_method_types=card), so no redirect-based method can make
// the confirmation wait for a return URL.
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
	if p.Description != "" {
		params.Description = stripego.String(p.Description)
	}
	if len(p.Metadata) > 0 {
		params.Metadata = p.Metadata
	}
	params.Context = ctx
	params.IdempotencyKey = stripego.String(idempotencyKey)
	pi, err := call(ctx, g, func(api *client.API) (*stripego.PaymentIntent, error) {
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
	pi, err := call(ctx, g, func(api *client.API) (*stripego.PaymentIntent, error) {
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
	pi, err := call(ctx, g, func(api *client.API) (*stripego.PaymentIntent, error) {
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
	re, err := call(ctx, g, func(api *client.API) (*stripego.Refund, error) {
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
	cus, err := call(ctx, g, func(api *client.API) (*stripego.Customer, error) {
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
	pm, err := call(ctx, g, func(api *client.API) (*stripego.PaymentMethod, error) {
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
	return call(ctx, g, func(api *client.API) ([]gateway.PaymentMethod, error) {
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
	_, err := call(ctx, g, func(api *client.API) (*stripego.PaymentMethod, error) {
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
	_, err := call(ctx, g, func(api *client.API) (*stripego.Customer, error) {
		return api.Customers.Del(customerID, params)
	})
	return err
}

// call runs one Stripe call through callAPI (one key refresh on a 401) and maps its error
// with mapPaymentsError.
func call[T any](ctx context.Context, g *Gateway, do func(api *client.API) (T, error)) (T, error) {
	return callAPI(ctx, g, func(api *client.API) (T, error) {
		v, err := do(api)
		if err != nil {
			var zero T
			return zero, mapPaymentsError(err)
		}
		return v, nil
	})
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
	return out
}

// unixTime converts Stripe's Unix seconds; 0 (not given) stays the zero time.
func unixTime(sec int64) time.Time {
	if sec == 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0).UTC()
}

// validID accepts what Stripe ids are made of: 1 to 255 ASCII letters, digits and
// underscores. Anything else (a slash, a query, an empty id that would turn a read into a
// list) is refused before Stripe is asked; the id itself is never quoted in the error, in case
// a card number was pasted where an id belongs.
func validID(id string) bool {
	if id == "" || len(id) > 255 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// check returns the invalid_request error for bad, when set, or for an idempotency key that
// is missing or longer than Stripe takes (stripe-go would fail it as a local error).
func check(bad, idempotencyKey string) error {
	switch k := strings.TrimSpace(idempotencyKey); {
	case bad != "":
		return rejected(bad)
	case k == "":
		return rejected("idempotency key missing")
	case len(k) > maxIdempotencyKey:
		return rejected(fmt.Sprintf("idempotency key longer than %d bytes", maxIdempotencyKey))
	}
	return nil
}

// rejected is a request tokenwall refuses before asking Stripe.
func rejected(reason string) error {
	return &gateway.Error{Code: gateway.CodeInvalidRequest, Kind: gateway.ErrRejected, Err: errors.New("stripe not asked: " + reason)}
}

// mapPaymentsError maps a stripe-go error as mapError does, then refines it for the payments
// API: a missing object is gateway.ErrNotFound, a decline shows Stripe's reason only when it
// is in publicDeclineCodes, a reused idempotency key and any other refused request are
// ErrRejected, a 403 (a restricted key without the permission) is ErrAuth and a 409 (the same
// key still in flight, after stripe-go's own retries) is ErrUnavailable.
func mapPaymentsError(err error) error {
	mapped := mapError(err)
	var se *stripego.Error
	var ge *gateway.Error
	if !errors.As(err, &se) || !errors.As(mapped, &ge) {
		return mapped
	}
	ge.Err = paymentsCause(se)
	switch {
	case se.Type == stripego.ErrorTypeCard:
		ge.Code = publicDeclineCode(se)
	case se.HTTPStatusCode == http.StatusNotFound || se.Code == stripego.ErrorCodeResourceMissing:
		ge.Kind, ge.Code = gateway.ErrNotFound, gateway.CodeNotFound
	case se.HTTPStatusCode == http.StatusForbidden:
		ge.Kind, ge.Code = gateway.ErrAuth, gateway.CodeUnavailable
	case se.HTTPStatusCode == http.StatusConflict:
		ge.Kind, ge.Code = gateway.ErrUnavailable, gateway.CodeUnavailable
	case ge.Kind == gateway.ErrRejected && se.Type == stripego.ErrorTypeIdempotency:
		ge.Code = gateway.CodeIdempotencyError
	case ge.Kind == gateway.ErrRejected:
		ge.Code = gateway.CodeInvalidRequest
	}
	return ge
}

// paymentsCause is stripeCause with the parameter Stripe named and the decline code: names
// and codes, never Stripe's message, which may quote what was sent.
func paymentsCause(se *stripego.Error) error {
	if se.Param == "" && se.DeclineCode == "" {
		return stripeCause(se)
	}
	return fmt.Errorf("%w param=%q decline=%q", stripeCause(se), se.Param, se.DeclineCode)
}

// publicDeclineCodes are the decline reasons the billing app may show its customer. Those
// Stripe asks merchants to hide (fraudulent, lost_card, stolen_card, pickup_card,
// restricted_card, merchant_blacklist, security_violation) and anything new become
// card_declined, so that a fraudster learns nothing from a refusal.
var publicDeclineCodes = map[string]bool{
	"card_declined":                    true,
	"insufficient_funds":               true,
	"expired_card":                     true,
	"incorrect_cvc":                    true,
	"invalid_cvc":                      true,
	"incorrect_number":                 true,
	"invalid_number":                   true,
	"invalid_expiry_month":             true,
	"invalid_expiry_year":              true,
	"incorrect_zip":                    true,
	"processing_error":                 true,
	"try_again_later":                  true,
	"authentication_required":          true,
	"card_not_supported":               true,
	"currency_not_supported":           true,
	"card_velocity_exceeded":           true,
	"withdrawal_count_limit_exceeded":  true,
	"card_decline_rate_limit_exceeded": true,
	"invalid_amount":                   true,
	"duplicate_transaction":            true,
	"approve_with_id":                  true,
}

// publicDeclineCode is Stripe's decline code when it is public, else its error code when
// that is public and no decline code was given, else card_declined.
func publicDeclineCode(se *stripego.Error) string {
	code := string(se.Code)
	if se.DeclineCode != "" {
		code = string(se.DeclineCode)
	}
	if publicDeclineCodes[code] {
		return code
	}
	return gateway.CodeCardDeclined
}
