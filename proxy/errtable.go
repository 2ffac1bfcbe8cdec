package proxy

import (
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/tokenwall/tokenwall/apikey"
	"github.com/tokenwall/tokenwall/gateway"
	"github.com/tokenwall/tokenwall/payments"
	"github.com/tokenwall/tokenwall/webhooks"
)

// ProblemBase starts the type URI of every /v1 error (RFC 9457): ProblemBase + a stable slug
// such as "invalid-amount". The slugs are part of the API: the OpenAPI document lists them.
const ProblemBase = "https://tokenwall.dev/problems/"

// errorKind is what one kind of failure becomes: the status, the fixed text answer of
// tokenwall's own routes, the problem (slug, title, detail) of /v1, and the reason the
// audit trail records. No field ever holds an error's own text.
type errorKind struct {
	err     error
	status  int
	message string
	slug    string
	title   string
	detail  string
	// showDetail: the detail wrapped around the sentinel ("%w: amount is above …") is
	// written by tokenwall for the client and replaces detail.
	showDetail bool
	reason     string
	// retryAfter is sent as Retry-After (a *apikey.RateLimitError sets its own).
	retryAfter time.Duration
	// refusal: tokenwall refused a client it does not trust yet (no or a bad credential, a
	// card where none belongs) and wrote a record of it; each costs the client a token of the
	// per-client limiter (limitClients).
	refusal bool
}

// errorTable is the one place an error becomes a status, a message, a problem type and an
// audit reason. The first kind errors.Is matches wins, so specific kinds come first.
var errorTable = []errorKind{
	// The per-client limiter: first, so that a refusal it turns into a 429 is answered 429.
	{err: ErrClientRateLimited, status: 429, message: "too many requests", slug: "rate-limited", title: "Too many requests",
		detail: "slow down; see Retry-After", reason: ReasonClientRateLimited},

	// tokenwall's own routes and the guard.
	{err: ErrMisdirected, status: 421, message: "misdirected request", slug: "misdirected-request", title: "Misdirected request", reason: "misdirected_host"},
	{err: ErrCardEscape, status: 400, message: "card data is not accepted on this path", slug: "card-data-refused", title: "Card data refused",
		detail: "the API takes gateway tokens (pm_…), never card numbers; tokenize through the checkout", reason: "card_escape", refusal: true},
	{err: ErrBadCSPReport, status: 400, message: "not a CSP violation report", slug: "bad-csp-report", title: "Not a CSP violation report", reason: "bad_csp_report"},
	{err: ErrTooLarge, status: 413, message: "request body too large", slug: "body-too-large", title: "Request body too large", reason: "body_too_large"},
	{err: ErrUnsupportedMedia, status: 415, message: "unsupported content type for this route", slug: "unsupported-media-type", title: "Unsupported media type",
		detail: "send application/json", reason: "unsupported_media_type"},
	{err: ErrUnknownField, status: 400, message: "malformed request", slug: "unknown-field", title: "Unknown field", showDetail: true, reason: "unknown_field"},
	{err: ErrMalformedJSON, status: 400, message: "malformed request", slug: "malformed-request", title: "Malformed request",
		detail: "the body must be one JSON object with the documented fields and types", reason: "malformed_body"},
	{err: ErrBadRequest, status: 400, message: "malformed request", slug: "malformed-request", title: "Malformed request",
		detail: "the body is not valid JSON of the expected shape", reason: "malformed_body"},
	{err: ErrInvalidValue, status: 422, message: "invalid parameter", slug: "invalid-parameter", title: "Invalid parameter", showDetail: true, reason: "invalid_parameter"},
	{err: ErrInvalidQuery, status: 400, message: "malformed request", slug: "invalid-parameter", title: "Invalid parameter", showDetail: true, reason: "invalid_parameter"},
	{err: ErrUpgradeRefused, status: 400, message: "protocol upgrade not allowed on this path", slug: "upgrade-refused", title: "Protocol upgrade refused", reason: "upgrade_refused"},
	{err: ErrMethodNotImplemented, status: 501, message: "method not implemented", slug: "method-not-implemented", title: "Method not implemented", reason: "method_not_implemented"},
	{err: ErrUpstream, status: 502, message: "upstream unavailable", slug: "upstream-unavailable", title: "Upstream unavailable", reason: "upstream_unavailable"},

	// API keys.
	{err: apikey.ErrNoKey, status: 401, message: "authentication required", slug: "unauthenticated", title: "Authentication required",
		detail: "send Authorization: Bearer twk_…", reason: "no_api_key", refusal: true},
	{err: apikey.ErrBadKey, status: 401, message: "invalid api key", slug: "invalid-api-key", title: "Invalid API key",
		detail: "the key is unknown or its secret does not match", reason: "bad_api_key", refusal: true},
	{err: apikey.ErrRevoked, status: 401, message: "revoked api key", slug: "revoked-api-key", title: "Revoked API key", detail: "this key was revoked", reason: "revoked_api_key", refusal: true},
	{err: apikey.ErrBadCert, status: 401, message: "invalid client certificate", slug: "invalid-client-certificate", title: "Invalid client certificate",
		detail: "the client certificate is mapped to no key, or to another key than the Authorization header", reason: "bad_client_certificate", refusal: true},
	{err: apikey.ErrScope, status: 403, message: "scope missing", slug: "scope-missing", title: "Scope missing", showDetail: true, reason: "scope_missing"},
	{err: apikey.ErrRateLimited, status: 429, message: "too many requests", slug: "rate-limited", title: "Too many requests", detail: "slow down; see Retry-After", reason: "rate_limited"},
	{err: apikey.ErrUnavailable, status: 503, message: "service temporarily unavailable", slug: "unavailable", title: "Service temporarily unavailable",
		detail: "the API key set cannot be read from Vault", reason: "unavailable"},

	// Billing operations.
	{err: payments.ErrIdempotencyKeyMissing, status: 400, message: "malformed request", slug: "idempotency-key-missing", title: "Idempotency-Key required",
		showDetail: true, reason: "idempotency_key_missing"},
	{err: payments.ErrIdempotencyKeyReused, status: 409, message: "conflict", slug: "idempotency-key-reused", title: "Idempotency-Key reused",
		detail: "this key was used with a different request; use a new key for a new request", reason: "idempotency_key_reused"},
	{err: payments.ErrIdempotencyKeyInUse, status: 409, message: "conflict", slug: "idempotency-key-in-use", title: "Idempotency-Key in use",
		detail: "a request with this key is still running; retry it later", reason: "idempotency_key_in_use"},
	{err: payments.ErrInvalidAmount, status: 422, message: "invalid amount", slug: "invalid-amount", title: "Invalid amount", showDetail: true, reason: "invalid_amount"},
	{err: payments.ErrInvalidCurrency, status: 422, message: "invalid currency", slug: "invalid-currency", title: "Invalid currency", showDetail: true, reason: "invalid_currency"},
	{err: payments.ErrCurrencyNotAllowed, status: 422, message: "currency not allowed", slug: "currency-not-allowed", title: "Currency not allowed", showDetail: true, reason: "currency_not_allowed"},
	{err: payments.ErrInvalidToken, status: 422, message: "invalid token", slug: "invalid-token", title: "Invalid token", showDetail: true, reason: "invalid_token"},
	{err: payments.ErrInvalidID, status: 400, message: "invalid id", slug: "invalid-id", title: "Invalid id", showDetail: true, reason: "invalid_id"},
	{err: payments.ErrInvalidParameter, status: 422, message: "invalid parameter", slug: "invalid-parameter", title: "Invalid parameter", showDetail: true, reason: "invalid_parameter"},
	{err: payments.ErrSensitive, status: 422, message: "sensitive data refused", slug: "sensitive-data-refused", title: "Sensitive data refused", showDetail: true, reason: "sensitive_data"},
	{err: payments.ErrUnknownPayment, status: 404, message: "not found", slug: "unknown-payment", title: "Unknown payment", detail: "the gateway has no such payment", reason: gateway.CodeNotFound},
	{err: payments.ErrUnknownCustomer, status: 404, message: "not found", slug: "unknown-customer", title: "Unknown customer", detail: "the gateway has no such customer", reason: gateway.CodeNotFound},
	{err: payments.ErrUnknownToken, status: 404, message: "not found", slug: "unknown-token", title: "Unknown token", detail: "the gateway has no such payment method", reason: gateway.CodeNotFound},
	{err: payments.ErrUnknownSetup, status: 404, message: "not found", slug: "unknown-setup-intent", title: "Unknown setup intent", detail: "the gateway has no such setup intent", reason: gateway.CodeNotFound},
	{err: payments.ErrReturnURLNotAllowed, status: 422, message: "return url not allowed", slug: "return-url-not-allowed", title: "return_url not allowed",
		detail: "return_url must be https (http only on a loopback address) under one of api.return_url_origins", showDetail: true,
		reason: "return_url_not_allowed"},

	// 3-D Secure: before the gateway's own kinds, since their *gateway.Error may carry
	// ErrDeclined. The problem shows the gateway's code and the payment (problemOf).
	{err: payments.ErrAuthenticationRequired, status: 402, message: "customer authentication required", slug: "authentication-required",
		title: "Customer authentication required", detail: "the issuer wants the customer: confirm the payment on-session with a return_url",
		reason: gateway.CodeAuthenticationRequired},
	{err: gateway.ErrAuthenticationRequired, status: 402, message: "customer authentication required", slug: "authentication-required",
		title: "Customer authentication required", detail: "the issuer wants the customer: confirm the payment on-session with a return_url",
		reason: gateway.CodeAuthenticationRequired},
	{err: payments.ErrPaymentFailed, status: 402, message: "payment failed", slug: "payment-failed", title: "Payment failed",
		detail: "the customer failed authentication or the card was declined; confirm again with another payment method (code says why)",
		reason: "payment_failed"},

	// The gateway (the reason is the gateway's own code when the error carries one).
	{err: gateway.ErrDeclined, status: 402, message: "card declined", slug: "card-declined", title: "Card declined",
		detail: "the gateway declined the card; code says why when the gateway said", reason: gateway.CodeCardDeclined},
	{err: gateway.ErrRejected, status: 400, message: "gateway rejected the request", slug: "gateway-rejected", title: "Gateway rejected the request", reason: gateway.CodeInvalidRequest},
	{err: gateway.ErrUnavailable, status: 503, message: "service temporarily unavailable", slug: "gateway-unavailable", title: "Gateway unavailable",
		detail: "the payment gateway did not answer; retry with the same Idempotency-Key", reason: gateway.CodeUnavailable, retryAfter: time.Second},
	{err: gateway.ErrAuth, status: 503, message: "service temporarily unavailable", slug: "gateway-unavailable", title: "Gateway unavailable",
		detail: "the payment gateway did not answer; retry with the same Idempotency-Key", reason: gateway.CodeUnavailable, retryAfter: time.Second},
	{err: gateway.ErrNotFound, status: 404, message: "not found", slug: "not-found", title: "Not found", reason: gateway.CodeNotFound},

	// The gateway's webhook endpoint: plain-text answers the sender can act on, and the
	// reason of webhook_rejected ("" for what is not a rejection). Unavailable comes first:
	// a rejection that could not be recorded is answered 503, so the gateway retries it.
	{err: webhooks.ErrUnavailable, status: 503, message: "temporarily unavailable, retry later", slug: "unavailable", title: "Service temporarily unavailable", detail: "retry later"},
	{err: webhooks.ErrTooLarge, status: 413, message: "body too large", reason: webhooks.ReasonTooLarge},
	{err: webhooks.ErrNoSignature, status: 400, message: "signature header missing", reason: webhooks.ReasonNoSignature},
	{err: webhooks.ErrBadSignatureHeader, status: 400, message: "signature header malformed", reason: webhooks.ReasonBadHeader},
	{err: webhooks.ErrBadSignature, status: 400, message: "no signature matches", reason: webhooks.ReasonBadSignature},
	{err: webhooks.ErrTooOld, status: 400, message: "signature timestamp outside tolerance", reason: webhooks.ReasonTooOld},
	{err: webhooks.ErrNotJSON, status: 400, message: "body is not a JSON event", reason: webhooks.ReasonNotJSON},
	{err: webhooks.ErrMethod, status: 405, message: "method not allowed"},
	{err: webhooks.ErrReadBody, status: 400, message: "could not read body"},

	// The webhook outbox (admin).
	{err: webhooks.ErrUnknownEvent, status: 404, message: "not found", slug: "unknown-event", title: "Unknown webhook event", detail: "no event has this id", reason: "unknown_event"},
	{err: webhooks.ErrNotDead, status: 409, message: "conflict", slug: "event-not-dead", title: "Event not replayable",
		detail: "only a dead event whose payload was not erased can be replayed", reason: "not_dead"},
	{err: webhooks.ErrPayloadErased, status: 409, message: "conflict", slug: "event-not-dead", title: "Event not replayable",
		detail: "only a dead event whose payload was not erased can be replayed", reason: "payload_erased"},

	// Fail closed: a dependency (Vault, the store, the audit trail) is not there.
	{err: ErrUnavailable, status: 503, message: "service temporarily unavailable", slug: "unavailable", title: "Service temporarily unavailable", detail: "retry later", reason: "unavailable"},
	{err: payments.ErrUnavailable, status: 503, message: "service temporarily unavailable", slug: "unavailable", title: "Service temporarily unavailable", detail: "retry later", reason: "unavailable"},
}

// internalKind is what an error of no known kind becomes.
var internalKind = errorKind{status: 500, message: "internal error", slug: "internal", title: "Internal error", reason: "internal_error"}

// kindOf finds err's kind: a sentinel of the table, else Echo's own errors (404, 405, 413),
// else an internal error.
func kindOf(err error) errorKind {
	for _, k := range errorTable {
		if errors.Is(err, k.err) {
			return k
		}
	}
	var ce *gateway.CardError
	if errors.As(err, &ce) { // refused by tokenwall's card checks before the gateway
		return errorKind{status: 400, message: "gateway rejected the request", slug: "gateway-rejected", title: "Gateway rejected the request", reason: ce.Code}
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		switch {
		case he.Code == http.StatusRequestEntityTooLarge:
			return kindOf(ErrTooLarge)
		case he.Code == http.StatusNotFound:
			return errorKind{status: 404, message: http.StatusText(http.StatusNotFound), slug: "not-found", title: "Not found", detail: "no such endpoint", reason: "not_found"}
		case he.Code == http.StatusMethodNotAllowed:
			return errorKind{status: 405, message: http.StatusText(http.StatusMethodNotAllowed), slug: "method-not-allowed", title: "Method not allowed", reason: "method_not_allowed"}
		case he.Code < 500:
			return errorKind{status: he.Code, message: http.StatusText(he.Code), slug: "bad-request", title: http.StatusText(he.Code), reason: "bad_request"}
		}
		return errorKind{status: he.Code, message: "service temporarily unavailable", slug: "unavailable", title: "Service temporarily unavailable",
			detail: "retry later", reason: "unavailable"}
	}
	return internalKind
}

// AuditReason names err in the audit trail: the gateway's own code when the error carries
// one (card_declined, insufficient_funds, …), else its kind's reason.
func AuditReason(err error) string {
	var ge *gateway.Error
	var ce *gateway.CardError
	switch {
	case errors.As(err, &ce):
		return ce.Code
	case errors.As(err, &ge) && ge.Code != "":
		return ge.Code
	}
	return kindOf(err).reason
}

// problemOf is the problem+json document of err on /v1: its kind's, with the detail
// tokenwall wrapped around the sentinel when the kind shows it, the gateway's public code,
// the payment a decline or a 3-D Secure problem is about, and Retry-After.
func problemOf(err error) (errorKind, problemDoc) {
	k := kindOf(err)
	doc := problemDoc{Type: ProblemBase + k.slug, Title: k.title, Status: k.status, Detail: k.detail}
	if k.showDetail {
		if d := wrappedDetail(err, k.err); d != "" {
			doc.Detail = d
		}
	}
	switch {
	case k.err == gateway.ErrDeclined:
		// A decline of a payment names it, so that the app can confirm it with another card.
		_, doc.Payment = gatewayFacts(err)
		doc.Code = AuditReason(err)
	case k.err == gateway.ErrRejected || k.slug == "gateway-rejected":
		doc.Code = AuditReason(err)
	case k.slug == "payment-failed":
		doc.Code, doc.Payment = gatewayFacts(err)
	case k.slug == "authentication-required":
		_, doc.Payment = gatewayFacts(err)
		doc.Code = gateway.CodeAuthenticationRequired
	}
	// What the problem shows of the gateway's answer is only what has the shape of a code
	// or an id: never text the gateway (or anyone in between) chose.
	doc.Code, doc.Payment = PublicCode(doc.Code), PublicID(doc.Payment)
	doc.RetryAfter = retryAfterSeconds(err, k)
	return k, doc
}

// The shapes a gateway's code and id must have to be shown to a client.
var (
	publicCode = regexp.MustCompile(`^[a-z_]{1,64}$`)
	publicID   = regexp.MustCompile(`^[A-Za-z0-9_]{1,255}$`)
)

// PublicCode is code when it has the shape of a gateway code (^[a-z_]{1,64}$), else "": what
// /v1 shows of a code the gateway chose.
func PublicCode(code string) string {
	if !publicCode.MatchString(code) {
		return ""
	}
	return code
}

// PublicID is id when it has the shape of a gateway id (^[A-Za-z0-9_]{1,255}$), else "".
func PublicID(id string) string {
	if !publicID.MatchString(id) {
		return ""
	}
	return id
}

// gatewayFacts are the gateway's code and the payment id of the *gateway.Error err wraps
// ("" when it wraps none).
func gatewayFacts(err error) (code, paymentID string) {
	var ge *gateway.Error
	if errors.As(err, &ge) {
		return ge.Code, ge.PaymentID
	}
	return "", ""
}

// retryAfterSeconds is the Retry-After of err, of kind k, in whole seconds rounded up (0 for
// none): the error's own (a rate limit knows when its bucket refills), else its kind's.
func retryAfterSeconds(err error, k errorKind) int {
	wait := k.retryAfter
	var ra interface{ RetryAfter() time.Duration }
	if errors.As(err, &ra) {
		wait = ra.RetryAfter()
	}
	if wait <= 0 {
		return 0
	}
	return int((wait + time.Second - 1) / time.Second)
}

// wrappedDetail is the text a validation wrapped around sentinel ("%w: <detail>"): what
// follows the sentinel's own text in err's message. Only kinds whose errors tokenwall words
// for the client (showDetail) use it.
func wrappedDetail(err, sentinel error) string {
	msg, s := err.Error(), sentinel.Error()+": "
	i := strings.LastIndex(msg, s)
	if i < 0 {
		return ""
	}
	return msg[i+len(s):]
}

// ProblemTypes lists every problem type URI a /v1 answer can carry, sorted: the OpenAPI
// document must list exactly these.
func ProblemTypes() []string {
	kinds := append([]errorKind{internalKind}, errorTable...)
	for _, err := range []error{&gateway.CardError{}, echo.ErrNotFound, echo.ErrMethodNotAllowed, echo.ErrBadRequest, echo.ErrServiceUnavailable} {
		kinds = append(kinds, kindOf(err))
	}
	var out []string
	for _, k := range kinds {
		if k.slug == "" { // the webhook endpoint's kinds: never on /v1
			continue
		}
		if t := ProblemBase + k.slug; !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out
}

// WebhookVerdict is the error table's verdict on a failure of the webhook endpoint, for
// webhooks.ReceiverOptions.Judge.
func WebhookVerdict(err error) webhooks.Verdict {
	k := kindOf(err)
	return webhooks.Verdict{Status: k.status, Message: k.message, Reason: k.reason}
}
