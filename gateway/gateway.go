// Package gateway defines what tokenwall needs of a payment gateway: Gateway turns a card
// into a reusable token (checkout), Payments charges, captures, refunds and keeps customers'
// cards (the /v1 API). It also holds the card checks made before the gateway is asked, the
// gateway's id formats and its errors with their public codes. gateway/stripe implements it
// with stripe-go v76, the only user of stripe-go outside webhook verification.
package gateway

import (
	"context"
	"errors"
	"fmt"
)

// PaymentMethod is the gateway's token for a card and the few card facts that may be shown
// and stored (PCI DSS allows brand, last four and expiry next to a token).
type PaymentMethod struct {
	ID          string
	Brand       string
	Last4       string
	ExpMonth    int
	ExpYear     int
	Fingerprint string
}

// Gateway turns a validated card into a PaymentMethod. idempotencyKey must be the same on
// every retry of one request so the gateway creates one object, however often it is asked.
type Gateway interface {
	Tokenize(ctx context.Context, c Card, idempotencyKey string) (PaymentMethod, error)
}

// Sentinel errors of a gateway call; Error carries the public code.
var (
	// ErrDeclined means the gateway refused the card.
	ErrDeclined = errors.New("gateway declined the card")
	// ErrUnavailable means the gateway timed out, failed or could not be reached.
	ErrUnavailable = errors.New("gateway unavailable")
	// ErrAuth means the gateway refused tokenwall's API key.
	ErrAuth = errors.New("gateway refused the api key")
	// ErrRejected means the gateway refused the request for another reason.
	ErrRejected = errors.New("gateway rejected the request")
)

// Error is a gateway failure with the code the billing app receives.
type Error struct {
	// Code is the public error code, e.g. "card_declined" or "gateway_unavailable".
	Code string
	// Kind is one of the sentinel errors above.
	Kind error
	// Err is the cause; it may hold gateway text and is for logs only (scrubbed).
	Err error
	// PaymentID is the payment the failure is about, when the gateway named one (an
	// off-session payment that needs authentication).
	PaymentID string
}

func (e *Error) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("%s: %s", e.Kind, e.Code)
	}
	return fmt.Sprintf("%s: %s: %v", e.Kind, e.Code, e.Err)
}

// Unwrap exposes both the kind and the cause to errors.Is.
func (e *Error) Unwrap() []error { return []error{e.Kind, e.Err} }

// Code returns the public code of a card or gateway error, "" for nil, and "internal_error"
// for anything else.
func Code(err error) string {
	if err == nil {
		return ""
	}
	var ce *CardError
	if errors.As(err, &ce) {
		return ce.Code
	}
	var ge *Error
	if errors.As(err, &ge) {
		return ge.Code
	}
	return "internal_error"
}
