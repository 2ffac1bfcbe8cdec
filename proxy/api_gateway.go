package proxy

import (
	"errors"
	"net/http"
	"time"

	"github.com/tokenwall/tokenwall/gateway"
)

// Gateway failures of /v1 calls.
var (
	problemCardDeclined = problemf(http.StatusPaymentRequired, "card-declined", "Card declined",
		"the gateway declined the card; code says why when the gateway said")
	problemGatewayRejected = problemf(http.StatusBadRequest, "gateway-rejected", "Gateway rejected the request", "")
	problemGatewayDown     = problemf(http.StatusServiceUnavailable, "gateway-unavailable", "Gateway unavailable",
		"the payment gateway did not answer; retry with the same Idempotency-Key")
	problemUnknownPayment  = problemf(http.StatusNotFound, "unknown-payment", "Unknown payment", "the gateway has no such payment")
	problemUnknownCustomer = problemf(http.StatusNotFound, "unknown-customer", "Unknown customer", "the gateway has no such customer")
	problemUnknownToken    = problemf(http.StatusNotFound, "unknown-token", "Unknown token", "the gateway has no such payment method")
)

// gatewayProblem is the one place a gateway error becomes a /v1 problem; notFound is the
// problem of a missing object for this call.
func gatewayProblem(err error, notFound *apiError) *apiError {
	code := gateway.Code(err)
	var pe apiError
	switch {
	case errors.Is(err, gateway.ErrNotFound):
		pe = *notFound
	case errors.Is(err, gateway.ErrDeclined):
		pe = *problemCardDeclined
		pe.code = code
	case errors.Is(err, gateway.ErrRejected):
		pe = *problemGatewayRejected
		pe.code = code
	case errors.Is(err, gateway.ErrUnavailable), errors.Is(err, gateway.ErrAuth):
		pe = *problemGatewayDown
		pe.retryAfter = time.Second
	default:
		var ce *gateway.CardError
		if errors.As(err, &ce) {
			pe = *problemGatewayRejected
			pe.code = ce.Code
			break
		}
		pe = *problemf(http.StatusInternalServerError, "internal", "Internal error", "")
	}
	pe.err = err
	return &pe
}
