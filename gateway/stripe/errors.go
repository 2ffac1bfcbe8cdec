package stripe

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	stripego "github.com/stripe/stripe-go/v76"

	"github.com/tokenwall/tokenwall/gateway"
)

// call runs one Stripe call through callAPI (one key refresh on a 401) and maps its error
// with mapPaymentsError.
func call[T any](ctx context.Context, g *Gateway, do func(api *services) (T, error)) (T, error) {
	return callAPI(ctx, g, func(api *services) (T, error) {
		v, err := do(api)
		if err != nil {
			var zero T
			return zero, mapPaymentsError(err)
		}
		return v, nil
	})
}

// mapPaymentsError maps a stripe-go error as mapError does, then refines it for the payments
// API: a missing object is gateway.ErrNotFound, a decline shows Stripe's reason only when it
// is in publicDeclineCodes, an off-session payment the issuer wants authenticated is
// gateway.ErrAuthenticationRequired, a failed challenge is a decline with Stripe's code, a
// reused idempotency key and any other refused request are ErrRejected, a 403 (a restricted
// key without the permission) is ErrAuth and a 409 (the same key still in flight, after
// stripe-go's own retries) is ErrUnavailable. Whatever the kind, PaymentID is the
// PaymentIntent Stripe names in the error, so that the app can bring the customer back to it.
func mapPaymentsError(err error) error {
	mapped := mapError(err)
	var se *stripego.Error
	var ge *gateway.Error
	if !errors.As(err, &se) || !errors.As(mapped, &ge) {
		return mapped
	}
	ge.Err = paymentsCause(se)
	// Only the id: the PaymentIntent in the error also carries its client secret.
	if pi := se.PaymentIntent; pi != nil && validID(pi.ID) {
		ge.PaymentID = pi.ID
	}
	switch {
	case se.Type == stripego.ErrorTypeCard && authenticationRequired(se):
		ge.Kind, ge.Code = gateway.ErrAuthenticationRequired, gateway.CodeAuthenticationRequired
	case se.Type == stripego.ErrorTypeCard:
		ge.Code = publicDeclineCode(se)
	case authenticationFailed[string(se.Code)]:
		// Stripe types a failed challenge as invalid_request_error; to the app it is a
		// decline that needs another card or another try.
		ge.Kind, ge.Code = gateway.ErrDeclined, string(se.Code)
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

// authenticationRequired reports whether a card error asks for the customer: Stripe's code
// for an off-session payment that needs 3-D Secure, or a decline whose reason is that. Either
// way the payment can go on only on-session, so both are ErrAuthenticationRequired.
func authenticationRequired(se *stripego.Error) bool {
	return string(se.Code) == gateway.CodeAuthenticationRequired ||
		string(se.DeclineCode) == gateway.CodeAuthenticationRequired
}

// authenticationFailed are Stripe's codes of a challenge the customer failed or abandoned.
var authenticationFailed = map[string]bool{
	gateway.CodeAuthenticationFailed:      true,
	gateway.CodeSetupAuthenticationFailed: true,
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
	// The customer failed or abandoned 3-D Secure (gateway.CodeAuthenticationFailed).
	"payment_intent_authentication_failure": true,
	"setup_intent_authentication_failure":   true,
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
