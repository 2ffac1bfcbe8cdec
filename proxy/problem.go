package proxy

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
)

// ProblemBase starts the type URI of every /v1 error (RFC 9457): ProblemBase + a stable slug
// such as "invalid-amount". The slugs are part of the API: the OpenAPI document lists them.
const ProblemBase = "https://tokenwall.dev/problems/"

// apiError is a /v1 failure: a stable slug, its status and title, and a detail safe to show
// (never card data, never an internal error text). err, the cause, is for the log only.
type apiError struct {
	slug, title, detail string
	// code is the gateway's public code (card_declined, insufficient_funds, …), if any.
	code       string
	status     int
	retryAfter time.Duration
	err        error
}

func (e *apiError) Error() string {
	if e.err != nil {
		return e.slug + ": " + e.err.Error()
	}
	return e.slug + ": " + e.detail
}

func (e *apiError) Unwrap() error { return e.err }

// problemf builds an apiError; detail must hold nothing sensitive.
func problemf(status int, slug, title, detail string) *apiError {
	return &apiError{status: status, slug: slug, title: title, detail: detail}
}

// withCause attaches the cause that the log (not the client) gets.
func (e *apiError) withCause(err error) *apiError {
	c := *e
	c.err = err
	return &c
}

// problemDoc is the application/problem+json body.
type problemDoc struct {
	Type       string `json:"type"`
	Title      string `json:"title"`
	Status     int    `json:"status"`
	Detail     string `json:"detail,omitempty"`
	Instance   string `json:"instance,omitempty"`
	RetryAfter int    `json:"retry_after,omitempty"`
	Code       string `json:"code,omitempty"`
}

// apiProblemOf maps any error on a /v1 route to an apiError: its own, or one for the kinds
// the rest of the server uses (a body too large, a malformed body, Echo's 404 and 405).
func apiProblemOf(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	p := problemOf(err)
	switch p.status {
	case http.StatusBadRequest:
		return problemf(p.status, "malformed-request", "Malformed request", "the body is not valid JSON of the expected shape").withCause(err)
	case http.StatusRequestEntityTooLarge:
		return problemf(p.status, "body-too-large", "Request body too large", "").withCause(err)
	case http.StatusUnsupportedMediaType:
		return problemf(p.status, "unsupported-media-type", "Unsupported media type", "send application/json").withCause(err)
	case http.StatusNotFound:
		return problemf(p.status, "not-found", "Not found", "no such endpoint").withCause(err)
	case http.StatusMethodNotAllowed:
		return problemf(p.status, "method-not-allowed", "Method not allowed", "").withCause(err)
	case http.StatusServiceUnavailable:
		return problemf(p.status, "unavailable", "Service temporarily unavailable", "retry later").withCause(err)
	}
	if p.status < 500 {
		return problemf(p.status, "bad-request", http.StatusText(p.status), "").withCause(err)
	}
	return problemf(http.StatusInternalServerError, "internal", "Internal error", "").withCause(err)
}

// writeProblem writes e as application/problem+json.
func writeProblem(c echo.Context, e *apiError) {
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "application/problem+json")
	h.Set("Cache-Control", "no-store")
	doc := problemDoc{Type: ProblemBase + e.slug, Title: e.title, Status: e.status, Detail: e.detail,
		Instance: h.Get(echo.HeaderXRequestID), Code: e.code}
	if e.retryAfter > 0 {
		secs := int((e.retryAfter + time.Second - 1) / time.Second)
		h.Set("Retry-After", strconv.Itoa(secs))
		doc.RetryAfter = secs
	}
	b, _ := json.Marshal(doc)
	c.Response().WriteHeader(e.status)
	if c.Request().Method != http.MethodHead {
		_, _ = c.Response().Write(b)
	}
}
