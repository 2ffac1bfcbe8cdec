package proxy

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/rs/zerolog"

	"github.com/tokenwall/tokenwall/apikey"
	"github.com/tokenwall/tokenwall/gateway"
	"github.com/tokenwall/tokenwall/logging"
	"github.com/tokenwall/tokenwall/payments"
	"github.com/tokenwall/tokenwall/webhooks"
)

// detail is internal text that must never reach a client.
const detail = "vault at 10.0.0.7:8200 said: permission denied on secret/data/stripe"

func TestProblemOf(t *testing.T) {
	for _, tc := range []struct {
		name    string
		err     error
		status  int
		message string
	}{
		{name: "bad request", err: fmt.Errorf("%w: %s", ErrBadRequest, detail), status: 400, message: "malformed request"},
		{name: "unsupported media", err: fmt.Errorf("%w: %s", ErrUnsupportedMedia, detail), status: 415, message: "unsupported content type for this route"},
		{name: "too large", err: fmt.Errorf("%w: %s", ErrTooLarge, detail), status: 413, message: "request body too large"},
		{name: "card escape", err: fmt.Errorf("%w: %s", ErrCardEscape, detail), status: 400, message: "card data is not accepted on this path"},
		{name: "unavailable", err: fmt.Errorf("%w: %s", ErrUnavailable, detail), status: 503, message: "service temporarily unavailable"},
		{name: "upstream", err: fmt.Errorf("%w: %s", ErrUpstream, detail), status: 502, message: "upstream unavailable"},
		{name: "bare sentinel", err: ErrCardEscape, status: 400, message: "card data is not accepted on this path"},
		{name: "doubly wrapped", err: fmt.Errorf("route /pay: %w", fmt.Errorf("%w: %s", ErrUnavailable, detail)), status: 503, message: "service temporarily unavailable"},
		{name: "joined", err: errors.Join(errors.New(detail), ErrTooLarge), status: 413, message: "request body too large"},
		{name: "sentinel wins over echo error", err: fmt.Errorf("%w: %w", ErrTooLarge, echo.NewHTTPError(http.StatusRequestEntityTooLarge, detail)), status: 413, message: "request body too large"},
		{name: "echo 413", err: echo.NewHTTPError(http.StatusRequestEntityTooLarge, detail), status: 413, message: "request body too large"},
		{name: "echo body limit", err: echo.ErrStatusRequestEntityTooLarge, status: 413, message: "request body too large"},
		{name: "echo 404", err: echo.NewHTTPError(http.StatusNotFound, detail), status: 404, message: "Not Found"},
		{name: "echo 405", err: echo.ErrMethodNotAllowed, status: 405, message: "Method Not Allowed"},
		{name: "echo 503", err: echo.NewHTTPError(http.StatusServiceUnavailable, detail), status: 503, message: "service temporarily unavailable"},
		{name: "echo 500 wrapped", err: fmt.Errorf("handler: %w", echo.NewHTTPError(http.StatusInternalServerError, detail)), status: 500, message: "service temporarily unavailable"},
		{name: "plain error", err: errors.New(detail), status: 500, message: "internal error"},
		{name: "plain error holding a card", err: errors.New("stripe said 4242424242424242 declined"), status: 500, message: "internal error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := kindOf(tc.err)
			if p.status != tc.status || p.message != tc.message {
				t.Errorf("problemOf = %d %q, want %d %q", p.status, p.message, tc.status, tc.message)
			}
			if strings.Contains(p.message, tc.err.Error()) || strings.Contains(p.message, "permission denied") || strings.Contains(p.message, "4242") {
				t.Errorf("message %q holds error text", p.message)
			}
		})
	}
}

func TestErrorHandler(t *testing.T) {
	for _, tc := range []struct {
		name      string
		method    string
		err       error
		committed bool
		status    int
		body      string
		logged    bool // an error line is written
	}{
		{name: "bad request", method: http.MethodPost, err: fmt.Errorf("%w: %s", ErrBadRequest, detail), status: 400, body: "malformed request\n"},
		{name: "upstream", method: http.MethodGet, err: fmt.Errorf("%w: %s", ErrUpstream, detail), status: 502, body: "upstream unavailable\n", logged: true},
		{name: "internal", method: http.MethodPost, err: errors.New(detail), status: 500, body: "internal error\n", logged: true},
		{name: "head has no body", method: http.MethodHead, err: echo.ErrNotFound, status: 404, body: ""},
		{name: "committed response untouched", method: http.MethodGet, err: errors.New(detail), committed: true, status: http.StatusAccepted, body: "partial"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logBuf bytes.Buffer
			logger := zerolog.New(&logBuf)
			req := httptest.NewRequest(tc.method, "/pay", nil)
			info := &requestInfo{idHeader: []string{"req-errors-test"}, log: &logger}
			req = req.WithContext(withInfo(req.Context(), info))
			rec := httptest.NewRecorder()
			c := echo.New().NewContext(req, rec)
			if tc.committed {
				c.Response().WriteHeader(http.StatusAccepted)
				_, _ = c.Response().Write([]byte("partial"))
			}

			errorHandler(tc.err, c)

			if rec.Code != tc.status {
				t.Errorf("status = %d, want %d", rec.Code, tc.status)
			}
			if got := rec.Body.String(); got != tc.body {
				t.Errorf("body = %q, want %q", got, tc.body)
			}
			if strings.Contains(rec.Body.String(), "permission denied") {
				t.Errorf("body holds the internal error")
			}
			if tc.committed {
				if info.err != nil {
					t.Errorf("committed: the summary record was changed")
				}
				return
			}
			if got := rec.Header().Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", got)
			}
			if got := rec.Header().Get("Content-Type"); got != echo.MIMETextPlainCharsetUTF8 {
				t.Errorf("Content-Type = %q", got)
			}
			if !errors.Is(info.err, tc.err) {
				t.Errorf("summary record err = %v, want the handled error", info.err)
			}
			logged := strings.Contains(logBuf.String(), `"message":"request failed"`)
			if logged != tc.logged {
				t.Errorf("error logged = %v, want %v (log %q)", logged, tc.logged, logBuf.String())
			}
			if tc.logged && !strings.Contains(logBuf.String(), fmt.Sprintf(`"%s":%d`, logging.FieldStatus, tc.status)) {
				t.Errorf("log line %q lacks the status", logBuf.String())
			}
			if tc.logged && !strings.Contains(logBuf.String(), fmt.Sprintf(`"%s":"req-errors-test"`, logging.FieldRequestID)) {
				t.Errorf("log line %q lacks the request id", logBuf.String())
			}
		})
	}
}

// TestProblemDocuments: a /v1 problem shows the detail tokenwall wrote for the kinds that
// show one, never a cause's text; the gateway's public code and Retry-After come through.
func TestProblemDocuments(t *testing.T) {
	for _, tc := range []struct {
		name       string
		err        error
		status     int
		slug       string
		detail     string
		code       string
		payment    string
		retryAfter int
	}{
		{name: "crafted detail shown", err: fmt.Errorf("%w: amount is above the configured maximum", payments.ErrInvalidAmount),
			status: 422, slug: "invalid-amount", detail: "amount is above the configured maximum"},
		{name: "detail under more wrapping", err: fmt.Errorf("charge: %w", fmt.Errorf("%w: allowed: eur, usd", payments.ErrCurrencyNotAllowed)),
			status: 422, slug: "currency-not-allowed", detail: "allowed: eur, usd"},
		{name: "cause joined, not shown", err: errors.Join(ErrUnknownField, errors.New(`json: unknown field "<script>"`)),
			status: 400, slug: "unknown-field", detail: ""},
		{name: "cause of a fixed kind not shown", err: fmt.Errorf("%w: %s", ErrUnavailable, detail),
			status: 503, slug: "unavailable", detail: "retry later"},
		{name: "malformed body", err: errors.Join(ErrMalformedJSON, errors.New("invalid character 'x'")),
			status: 400, slug: "malformed-request", detail: "the body must be one JSON object with the documented fields and types"},
		{name: "declined with the gateway's code", err: fmt.Errorf("charge: %w", &gateway.Error{Code: "insufficient_funds", Kind: gateway.ErrDeclined, Err: errors.New(detail)}),
			status: 402, slug: "card-declined", code: "insufficient_funds", detail: "the gateway declined the card; code says why when the gateway said"},
		{name: "declined payment named", err: fmt.Errorf("confirm: %w", &gateway.Error{Code: "insufficient_funds", Kind: gateway.ErrDeclined, PaymentID: "pi_Dec1"}),
			status: 402, slug: "card-declined", code: "insufficient_funds", payment: "pi_Dec1", detail: "the gateway declined the card; code says why when the gateway said"},
		{name: "gateway down", err: &gateway.Error{Code: gateway.CodeUnavailable, Kind: gateway.ErrUnavailable},
			status: 503, slug: "gateway-unavailable", retryAfter: 1, detail: "the payment gateway did not answer; retry with the same Idempotency-Key"},
		{name: "unknown customer outranks not found", err: fmt.Errorf("%w: %w", payments.ErrUnknownCustomer, gateway.ErrNotFound),
			status: 404, slug: "unknown-customer", detail: "the gateway has no such customer"},
		{name: "rate limited", err: &apikey.RateLimitError{Wait: 1500 * time.Millisecond}, status: 429, slug: "rate-limited", retryAfter: 2,
			detail: "slow down; see Retry-After"},
		{name: "scope", err: fmt.Errorf("%w: this key lacks the refunds scope", apikey.ErrScope), status: 403, slug: "scope-missing",
			detail: "this key lacks the refunds scope"},
		{name: "no such endpoint", err: echo.ErrNotFound, status: 404, slug: "not-found", detail: "no such endpoint"},
		{name: "anything else", err: errors.New(detail), status: 500, slug: "internal"},
		{name: "payment failed with the gateway's code and the payment",
			err: fmt.Errorf("%w: %w", payments.ErrPaymentFailed, &gateway.Error{Code: gateway.CodeAuthenticationFailed, Kind: gateway.ErrDeclined,
				PaymentID: "pi_3Mtw", Err: errors.New(detail)}),
			status: 402, slug: "payment-failed", code: gateway.CodeAuthenticationFailed, payment: "pi_3Mtw",
			detail: "the customer failed authentication or the card was declined; confirm again with another payment method (code says why)"},
		{name: "payment failed: a code or id of another shape is not shown",
			err:    fmt.Errorf("%w: %w", payments.ErrPaymentFailed, &gateway.Error{Code: "Declined <b>", Kind: gateway.ErrDeclined, PaymentID: "pi_1 OR 1=1"}),
			status: 402, slug: "payment-failed",
			detail: "the customer failed authentication or the card was declined; confirm again with another payment method (code says why)"},
		{name: "payment failed: an id too long is not shown",
			err:    fmt.Errorf("%w: %w", payments.ErrPaymentFailed, &gateway.Error{Code: "card_declined", Kind: gateway.ErrDeclined, PaymentID: "pi_" + strings.Repeat("a", 300)}),
			status: 402, slug: "payment-failed", code: "card_declined",
			detail: "the customer failed authentication or the card was declined; confirm again with another payment method (code says why)"},
		{name: "payment failed without a gateway error", err: payments.ErrPaymentFailed, status: 402, slug: "payment-failed",
			detail: "the customer failed authentication or the card was declined; confirm again with another payment method (code says why)"},
		{name: "authentication required names the payment",
			err: fmt.Errorf("charge: %w: %w", payments.ErrAuthenticationRequired, &gateway.Error{Code: gateway.CodeAuthenticationRequired,
				Kind: gateway.ErrAuthenticationRequired, PaymentID: "pi_9Zx", Err: errors.New(detail)}),
			status: 402, slug: "authentication-required", code: gateway.CodeAuthenticationRequired, payment: "pi_9Zx",
			detail: "the issuer wants the customer: confirm the payment on-session with a return_url"},
		{name: "the gateway's kind alone is authentication required too",
			err:    &gateway.Error{Code: "authentication_required", Kind: gateway.ErrAuthenticationRequired, PaymentID: "pi_9Zx"},
			status: 402, slug: "authentication-required", code: gateway.CodeAuthenticationRequired, payment: "pi_9Zx",
			detail: "the issuer wants the customer: confirm the payment on-session with a return_url"},
		{name: "return url not allowed: the detail tokenwall wrote",
			err: fmt.Errorf("%w: return_url is not under an allowed origin (api.return_url_origins)", payments.ErrReturnURLNotAllowed), status: 422,
			slug: "return-url-not-allowed", detail: "return_url is not under an allowed origin (api.return_url_origins)"},
		{name: "return url not allowed: a cause joined is not shown",
			err: errors.Join(payments.ErrReturnURLNotAllowed, errors.New("https://evil.example/steal")), status: 422, slug: "return-url-not-allowed",
			detail: "return_url must be https (http only on a loopback address) under one of api.return_url_origins"},
		{name: "unknown setup intent outranks not found", err: fmt.Errorf("%w: %w", payments.ErrUnknownSetup, gateway.ErrNotFound),
			status: 404, slug: "unknown-setup-intent", detail: "the gateway has no such setup intent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, doc := problemOf(tc.err)
			if doc.Status != tc.status || doc.Type != ProblemBase+tc.slug || doc.Detail != tc.detail || doc.Code != tc.code ||
				doc.Payment != tc.payment || doc.RetryAfter != tc.retryAfter {
				t.Errorf("problem = %+v, want %d %s detail %q code %q payment %q retry %d", doc, tc.status, tc.slug, tc.detail, tc.code, tc.payment, tc.retryAfter)
			}
			if k.refusal && tc.status == 402 {
				t.Errorf("%s counts against the per-client limiter", tc.slug)
			}
			if strings.Contains(doc.Detail, "evil.example") {
				t.Errorf("detail %q holds the refused value", doc.Detail)
			}
			if strings.Contains(doc.Detail, "permission denied") || strings.Contains(doc.Detail, "script") {
				t.Errorf("detail %q holds a cause's text", doc.Detail)
			}
		})
	}
}

// TestAuditReasons: the reason an audit record gives is the gateway's code when the error
// carries one, else its kind's; the webhook endpoint's verdicts come from the same table.
func TestAuditReasons(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{name: "gateway code", err: &gateway.Error{Code: "expired_card", Kind: gateway.ErrDeclined}, want: "expired_card"},
		{name: "card refused before the gateway", err: &gateway.CardError{Code: gateway.CodeIncompleteNumber}, want: gateway.CodeIncompleteNumber},
		{name: "bad key", err: apikey.ErrBadKey, want: "bad_api_key"},
		{name: "body too large", err: fmt.Errorf("%w: 2 MiB", ErrTooLarge), want: "body_too_large"},
		{name: "unknown", err: errors.New(detail), want: "internal_error"},
		{name: "failed authentication", err: fmt.Errorf("%w: %w", payments.ErrPaymentFailed,
			&gateway.Error{Code: gateway.CodeAuthenticationFailed, Kind: gateway.ErrDeclined}), want: gateway.CodeAuthenticationFailed},
		{name: "payment failed without a code", err: payments.ErrPaymentFailed, want: "payment_failed"},
		{name: "authentication required", err: payments.ErrAuthenticationRequired, want: gateway.CodeAuthenticationRequired},
		{name: "return url", err: payments.ErrReturnURLNotAllowed, want: "return_url_not_allowed"},
		{name: "unknown setup", err: payments.ErrUnknownSetup, want: gateway.CodeNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := AuditReason(tc.err); got != tc.want {
				t.Errorf("AuditReason = %q, want %q", got, tc.want)
			}
		})
	}
	v := WebhookVerdict(errors.Join(fmt.Errorf("%w: tried 2 secrets", webhooks.ErrBadSignature), fmt.Errorf("%w: audit down", webhooks.ErrUnavailable)))
	if v.Status != 503 || v.Reason != "" {
		t.Errorf("a rejection that could not be recorded: %+v, want 503 so the gateway retries", v)
	}
	if v := WebhookVerdict(fmt.Errorf("%w: signed 400s ago", webhooks.ErrTooOld)); v.Status != 400 || v.Reason != webhooks.ReasonTooOld || v.Message != "signature timestamp outside tolerance" {
		t.Errorf("too old: %+v", v)
	}
}
