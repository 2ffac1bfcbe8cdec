package webhooks

import "errors"

// Errors of Receive (and of the Handler). Each rejection is one kind, wrapped with detail;
// ReceiverOptions.Judge (the HTTP layer's one error table) gives each its status, message
// and audit reason. The receive-side names share
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

// Verdict is what the error table of the HTTP layer (proxy.WebhookVerdict) says of a
// failure of the webhook endpoint: its status, the fixed message the sender gets, and, for
// a rejection, the reason webhook_rejected records ("" when it is not a rejection).
type Verdict struct {
	Status  int
	Message string
	Reason  string
}
