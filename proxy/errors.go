package proxy

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/tokenwall/tokenwall/logging"
)

// The kinds of failure of tokenwall's HTTP layer. Handlers wrap them with %w and detail;
// errorTable maps each kind to its status, message, problem type and audit reason.
var (
	ErrBadRequest       = errors.New("bad request")
	ErrUnsupportedMedia = errors.New("unsupported media type")
	ErrTooLarge         = errors.New("request body too large")
	ErrCardEscape       = errors.New("card number outside a card field")
	ErrUnavailable      = errors.New("service unavailable")
	ErrUpstream         = errors.New("upstream unavailable")
	// ErrUnknownField is a /v1 body with a field the endpoint does not take.
	ErrUnknownField = errors.New("unknown field")
	// ErrMalformedJSON is a /v1 body that is not one JSON object of the documented shape.
	ErrMalformedJSON = errors.New("malformed json body")
	// ErrInvalidQuery is a /v1 query parameter that is malformed (400).
	ErrInvalidQuery = errors.New("invalid query parameter")
	// ErrInvalidValue is a /v1 parameter that is well formed but whose value is refused (422).
	ErrInvalidValue = errors.New("invalid parameter value")
	// ErrMisdirected is a request whose Host is not one of listen.public_hosts (421).
	ErrMisdirected = errors.New("misdirected request")
	// ErrClientRateLimited is a request refused by the per-client limiter (rate_limit): its
	// client's refusals emptied its bucket (429 with Retry-After).
	ErrClientRateLimited = errors.New("client rate limited")
)

// problemDoc is the application/problem+json body (RFC 9457).
type problemDoc struct {
	Type       string `json:"type"`
	Title      string `json:"title"`
	Status     int    `json:"status"`
	Detail     string `json:"detail,omitempty"`
	Instance   string `json:"instance,omitempty"`
	RetryAfter int    `json:"retry_after,omitempty"`
	// Code is the gateway's public code (card_declined, payment_intent_authentication_failure…).
	Code string `json:"code,omitempty"`
	// Payment is the payment a payment-failed, authentication-required or card-declined
	// problem is about, when the gateway named one.
	Payment string `json:"payment,omitempty"`
}

// apiPrefix is where tokenwall's own API lives; with api.enabled these paths are never
// passed through to the upstream.
const apiPrefix = "/v1/"

// IsAPIPath reports whether path is under /v1/.
func IsAPIPath(path string) bool { return strings.HasPrefix(path, apiPrefix) }

// errorHandler is the one place where an error becomes a response: problem+json on /v1, a
// short fixed text elsewhere. The client never sees an error's own text.
func errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	if info := infoFrom(c.Request().Context()); info != nil {
		info.err = err
	}
	if IsAPIPath(c.Request().URL.Path) {
		k, doc := problemOf(err)
		if k.status >= 500 {
			requestLog(c.Request().Context()).Error().Err(err).Int(logging.FieldStatus, k.status).Msg("request failed")
		}
		writeProblem(c, doc)
		return
	}
	k := kindOf(err)
	if k.status >= 500 {
		requestLog(c.Request().Context()).Error().Err(err).Int(logging.FieldStatus, k.status).Msg("request failed")
	}
	c.Response().Header().Set(echo.HeaderContentType, echo.MIMETextPlainCharsetUTF8)
	c.Response().Header().Set("Cache-Control", "no-store")
	if s := retryAfterSeconds(err, k); s > 0 {
		c.Response().Header().Set("Retry-After", strconv.Itoa(s))
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(k.status)
		return
	}
	_ = c.String(k.status, k.message+"\n")
}

// writeProblem writes doc as application/problem+json.
func writeProblem(c echo.Context, doc problemDoc) {
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "application/problem+json")
	h.Set("Cache-Control", "no-store")
	doc.Instance = h.Get(echo.HeaderXRequestID)
	if doc.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(doc.RetryAfter))
	}
	b, _ := json.Marshal(doc)
	c.Response().WriteHeader(doc.Status)
	if c.Request().Method != http.MethodHead {
		_, _ = c.Response().Write(b)
	}
}
