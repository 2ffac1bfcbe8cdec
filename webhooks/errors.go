package webhooks

import (
	"errors"
	"net/http"
)

// Errors of Receive (and of the Handler). Each rejection is one kind, wrapped with detail;
// statusOf turns a kind into a status and a fixed message. The receive-side names share
// their values with Verify's errors, so one errors.Is covers both schemes.
var (
	// ErrBadSignature means no v1 signature in the header matches any secret.
	ErrBadSignature = ErrSignatureMismatch
	// ErrTooOld means the signature's timestamp is older than the tolerance.
	ErrTooOld = ErrSignatureTooOld
	// ErrTooLarge means the body is larger than MaxBody.
	ErrTooLarge = ErrBodyTooLarge
	// ErrNotJSON means a correctly signed body is not a JSON event with an id and a type.
	ErrNotJSON = errors.New("webhook: body is not a JSON event")
	// ErrUnavailable means tokenwall could not verify or keep the event (secrets, store or
	// audit failed); the sender should retry.
	ErrUnavailable = errors.New("webhook: temporarily unavailable")
	// ErrMethod means the request was not a POST.
	ErrMethod = errors.New("webhook: method not allowed")
	// ErrReadBody means the request body could not be read (the client went away).
	ErrReadBody = errors.New("webhook: reading the body failed")
)

// Rejection reasons written to the audit trail (webhook_rejected's Reason).
const (
	ReasonNoSignature  = "no_signature"
	ReasonBadHeader    = "malformed_signature_header"
	ReasonBadSignature = "bad_signature"
	ReasonTooOld       = "timestamp_too_old"
	ReasonTooLarge     = "body_too_large"
	ReasonNotJSON      = "not_json"
)

// reasonOf names a rejection for the audit trail; "" means err is not a rejection.
func reasonOf(err error) string {
	switch {
	case errors.Is(err, ErrNoSignature):
		return ReasonNoSignature
	case errors.Is(err, ErrBadSignatureHeader):
		return ReasonBadHeader
	case errors.Is(err, ErrBadSignature):
		return ReasonBadSignature
	case errors.Is(err, ErrTooOld):
		return ReasonTooOld
	case errors.Is(err, ErrTooLarge):
		return ReasonTooLarge
	case errors.Is(err, ErrNotJSON):
		return ReasonNotJSON
	}
	return ""
}

// statusOf is the one place an error becomes a status and a fixed public message. It is
// checked in order: an unavailable store outranks the rejection it failed to record, so the
// sender retries.
func statusOf(err error) (int, string) {
	switch {
	case err == nil:
		return http.StatusOK, ""
	case errors.Is(err, ErrUnavailable):
		return http.StatusServiceUnavailable, "temporarily unavailable, retry later"
	case errors.Is(err, ErrMethod):
		return http.StatusMethodNotAllowed, "method not allowed"
	case errors.Is(err, ErrTooLarge):
		return http.StatusRequestEntityTooLarge, "body too large"
	case errors.Is(err, ErrNoSignature):
		return http.StatusBadRequest, "signature header missing"
	case errors.Is(err, ErrBadSignatureHeader):
		return http.StatusBadRequest, "signature header malformed"
	case errors.Is(err, ErrBadSignature):
		return http.StatusBadRequest, "no signature matches"
	case errors.Is(err, ErrTooOld):
		return http.StatusBadRequest, "signature timestamp outside tolerance"
	case errors.Is(err, ErrNotJSON):
		return http.StatusBadRequest, "body is not a JSON event"
	case errors.Is(err, ErrReadBody):
		return http.StatusBadRequest, "could not read body"
	}
	return http.StatusInternalServerError, "internal error"
}
