package proxy

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/tokenwall/tokenwall/audit"
)

// ReasonClientRateLimited is the audit reason of a request the per-client limiter refused.
const ReasonClientRateLimited = "client_rate_limited"

// Where the per-client limiter refused a request (the metric's label and the audit
// record's resource).
const (
	limitedAPI     = "api"
	limitedWebhook = "webhook"
	limitedGuard   = "guard"
)

// clientLimitError is ErrClientRateLimited with how long until the client's bucket holds a
// token again (Retry-After).
type clientLimitError struct{ wait time.Duration }

func (e *clientLimitError) Error() string {
	return fmt.Sprintf("%v: retry after %s", ErrClientRateLimited, e.wait)
}

// Unwrap makes errors.Is(err, ErrClientRateLimited) hold.
func (e *clientLimitError) Unwrap() error { return ErrClientRateLimited }

// RetryAfter is how long until the client may be refused again: the Retry-After answer.
func (e *clientLimitError) RetryAfter() time.Duration { return e.wait }

// limitClients is the per-client limit (rate_limit): a token bucket per client address
// (clientAddr, after listen.trusted_proxies) that meters what a client costs in refusals,
// each of which writes an audit record. A refusal takes a token: a missing, bad or revoked
// API key or client certificate, a card number where none belongs (the card-escape guard),
// a rejected webhook. Requests that are not refused take none, so the billing app, the
// gateway's webhooks and the checkout pages are never slowed by it.
//
// On /v1 and on the webhook endpoint the bucket is checked before anything else runs, before
// authentication: a client whose bucket is empty is answered 429 with Retry-After and one
// client_rate_limited record (aggregated with its repeats: audit.Aggregator), without its key,
// signature or body being looked at. Elsewhere only the guard refuses, after it has read the
// request; a guard refusal that finds the bucket empty is answered 429 instead of 400 (its
// card_escape_blocked record is written as always).
func (s *Server) limitClients(next echo.HandlerFunc) echo.HandlerFunc {
	if s.limiter == nil {
		return next
	}
	return func(c echo.Context) error {
		// The client's address is worked out only where it is needed (it costs allocations).
		where := s.limitedWhere(c)
		if where != "" {
			if ok, wait := s.limiter.Allow(clientAddr(c.RealIP()), s.now()); !ok {
				return s.refuseLimited(c, where, wait)
			}
		}
		err := next(c)
		if !s.refused(c, where, err) {
			return err
		}
		if ok, wait := s.limiter.Take(clientAddr(c.RealIP()), s.now()); !ok && where == "" {
			s.metrics.ClientLimited(limitedGuard)
			return errors.Join(&clientLimitError{wait: wait}, err)
		}
		return err
	}
}

// limitedWhere says whether the request is checked before it is handled: "api" for /v1,
// "webhook" for the gateway's webhook endpoint, "" for the rest.
func (s *Server) limitedWhere(c echo.Context) string {
	switch {
	case s.isWebhookPath(c):
		return limitedWebhook
	case s.api != nil && IsAPIPath(c.Request().URL.Path):
		return limitedAPI
	}
	return ""
}

// refused reports whether the request was refused in a way that costs its client a token:
// its error's kind is a refusal (errorTable), or, on the webhook endpoint, which answers
// itself, the answer is a rejection (400 or 413: webhooks.Receiver.Handler).
func (s *Server) refused(c echo.Context, where string, err error) bool {
	if where == limitedWebhook && err == nil {
		st := c.Response().Status
		return st == http.StatusBadRequest || st == http.StatusRequestEntityTooLarge
	}
	return err != nil && kindOf(err).refusal
}

// refuseLimited answers a request the limiter refused before handling it: 429 with
// Retry-After, counted, and audited as client_rate_limited (the audit aggregator turns a
// flood of these into one record per interval). A record that cannot be written does not
// change the answer.
func (s *Server) refuseLimited(c echo.Context, where string, wait time.Duration) error {
	s.metrics.ClientLimited(where)
	r := c.Request()
	resource := "route:webhook"
	if where == limitedAPI {
		resource = r.Method + " " + c.Path() // Echo's route pattern, never the raw path
	}
	aerr := s.record(c, audit.Event{Type: audit.EventClientRateLimited, Actor: audit.ActorAnonymous, Outcome: audit.Failure,
		Reason: ReasonClientRateLimited, Resource: resource})
	return errors.Join(&clientLimitError{wait: wait}, aerr)
}
