package proxy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/tokenwall/tokenwall/audit"
)

// Recorder writes audit events durably; *audit.Trail is the real one.
type Recorder interface {
	Record(ctx context.Context, ev audit.Event) error
}

// actorCheckout is who tokenizes: the anonymous customer at the checkout form, known by
// source IP and request id.
const actorCheckout = "checkout"

// Record writes an audit event about the request in c with its source address and
// tokenwall's request id (the checkout actor when ev names none). It returns ErrUnavailable
// when the event cannot be written: tokenwall does not act without an audit trail.
func Record(c echo.Context, rec Recorder, ev audit.Event) error {
	r := c.Request()
	ev.SourceIP = c.RealIP()
	ev.RequestID = RequestID(r.Context())
	if ev.Actor == "" {
		ev.Actor = actorCheckout
	}
	ctx, cancel := auditContext(r.Context())
	defer cancel()
	if err := rec.Record(ctx, ev); err != nil {
		return fmt.Errorf("%w: audit %s: %w", ErrUnavailable, ev.Type, err)
	}
	return nil
}

// auditWriteTimeout bounds an audit write for a request without a deadline of its own.
const auditWriteTimeout = 10 * time.Second

// auditContext is ctx without the client's cancellation, bounded by ctx's deadline
// (listen.request_timeout) or auditWriteTimeout. A client that resets its HTTP/2 stream or
// closes its connection mid-request cancels the request's context; writing the record with
// it dropped the record of that request at random (the trail gave up waiting), so a client
// could choose to leave no trace of a refusal, or of a tokenization the gateway had made.
func auditContext(ctx context.Context) (context.Context, context.CancelFunc) {
	detached := context.WithoutCancel(ctx)
	if d, ok := ctx.Deadline(); ok {
		return context.WithDeadline(detached, d)
	}
	return context.WithTimeout(detached, auditWriteTimeout)
}

// record is Record on the server's trail, timed for tokenwall_audit_write_duration_seconds
// and the summary line.
func (s *Server) record(c echo.Context, ev audit.Event) error {
	start := time.Now()
	err := Record(c, s.audit, ev)
	took := time.Since(start)
	s.metrics.auditLatency.Observe(took.Seconds())
	if info := infoFrom(c.Request().Context()); info != nil {
		info.auditLatency += took
	}
	return err
}

// tokenization is the outcome of one tokenization request, from which its audit record
// and its summary log fields are built.
type tokenization struct {
	route     string
	token     string
	brand     string
	last4     string
	errorCode string
}

// recordTokenization writes the outcome of a tokenization route request: tokenize with the
// token, tokenize_failed with the error code or the kind of bad input, card_escape_blocked
// when another field held a card.
func (s *Server) recordTokenization(c echo.Context, t tokenization, reqErr error) error {
	ev := audit.Event{Type: audit.EventTokenize, Outcome: audit.Success, Resource: t.token,
		Details: map[string]string{"route": t.route, "brand": t.brand, "last4": t.last4}}
	switch {
	case errors.Is(reqErr, ErrCardEscape):
		ev = audit.Event{Type: audit.EventCardEscapeBlocked, Outcome: audit.Failure, Reason: "card_outside_card_field",
			Resource: "route:" + t.route, Details: map[string]string{"where": escapeWhere(reqErr)}}
	case reqErr != nil:
		ev = audit.Event{Type: audit.EventTokenizeFailed, Outcome: audit.Failure, Reason: tokenizeReason(reqErr), Resource: "route:" + t.route}
	case t.errorCode != "":
		ev = audit.Event{Type: audit.EventTokenizeFailed, Outcome: audit.Failure, Reason: t.errorCode, Resource: "route:" + t.route,
			Details: map[string]string{"brand": t.brand}}
	}
	if err := s.record(c, ev); err != nil {
		requestLog(c.Request().Context()).Error().Err(err).Msg("audit write failed: refusing the request")
		return err
	}
	return nil
}

// tokenizeReason is the audit reason of a refused tokenization request: its kind's, with
// the names tokenization records have always used.
func tokenizeReason(err error) string {
	if r := AuditReason(err); r != internalKind.reason {
		return r
	}
	return "error"
}
