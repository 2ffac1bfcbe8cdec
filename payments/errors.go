package payments

import "errors"

// The ways a billing operation fails. Validation errors are wrapped with a detail that is
// safe to show the caller (it never echoes a value); the HTTP layer's error table gives each
// kind its status, problem type and audit reason.
var (
	// ErrInvalidAmount: not a positive amount in the minor unit, or above api.max_amount.
	ErrInvalidAmount = errors.New("payments: invalid amount")
	// ErrInvalidCurrency: not a lower-case ISO 4217 code.
	ErrInvalidCurrency = errors.New("payments: invalid currency")
	// ErrCurrencyNotAllowed: a currency outside api.currencies.
	ErrCurrencyNotAllowed = errors.New("payments: currency not allowed")
	// ErrInvalidToken: not a gateway payment method id (pm_…).
	ErrInvalidToken = errors.New("payments: invalid token")
	// ErrInvalidID: a payment or customer id of the wrong shape.
	ErrInvalidID = errors.New("payments: invalid id")
	// ErrInvalidParameter: any other parameter out of its bounds.
	ErrInvalidParameter = errors.New("payments: invalid parameter")
	// ErrSensitive: free text (description, metadata) holding what the scrubber would redact.
	ErrSensitive = errors.New("payments: sensitive data refused")
	// ErrUnknownPayment, ErrUnknownCustomer and ErrUnknownToken: the gateway has no such object.
	ErrUnknownPayment  = errors.New("payments: unknown payment")
	ErrUnknownCustomer = errors.New("payments: unknown customer")
	ErrUnknownToken    = errors.New("payments: unknown token")
	// ErrUnavailable: the store or the audit trail failed; nothing was done that is not
	// recorded. The caller may retry.
	ErrUnavailable = errors.New("payments: unavailable")
	// ErrIdempotencyKeyMissing: a POST without a valid Idempotency-Key.
	ErrIdempotencyKeyMissing = errors.New("payments: idempotency key missing")
	// ErrIdempotencyKeyReused: the key was used with a different request.
	ErrIdempotencyKeyReused = errors.New("payments: idempotency key reused")
	// ErrIdempotencyKeyInUse: a request with the key is still running.
	ErrIdempotencyKeyInUse = errors.New("payments: idempotency key in use")
	// ErrAuthenticationRequired: an off-session payment the issuer wants the customer to
	// authenticate; the error wraps a *gateway.Error whose PaymentID is the payment to
	// confirm on-session with a return URL.
	ErrAuthenticationRequired = errors.New("payments: authentication required")
	// ErrPaymentFailed: the payment (or setup) needs another payment method: the customer
	// failed authentication or the card was declined; wraps the gateway's code.
	ErrPaymentFailed = errors.New("payments: payment failed")
	// ErrReturnURLNotAllowed: a return_url that is not https (or http on loopback) under one
	// of api.return_url_origins.
	ErrReturnURLNotAllowed = errors.New("payments: return url not allowed")
	// ErrUnknownSetup: the gateway has no such setup intent.
	ErrUnknownSetup = errors.New("payments: unknown setup intent")
)
