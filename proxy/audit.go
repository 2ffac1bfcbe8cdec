package proxy

import (
	"context"
	"errors"
	"fmt"

	"github.com/labstack/echo/v4"
	"github.com/rs/zerolog"

	"github.com/tokenwall/tokenwall/audit"
)

// Recorder writes audit events durably; *audit.Trail is the real one.
type Recorder interface {
	Record(ctx context.Context, ev audit.Event) error
}

// actorCheckout is who tokenizes: the anonymous customer at the checkout form, known by
// source IP and request id.
const actorCheckout = "checkout"

// record writes an audit event about the request in c. It returns ErrUnavailable when the
// event cannot be written: tokenwall does not act without an audit trail (fail closed).
func (s *Server) record(c echo.Context, ev audit.Event) error {
	r := c.Request()
	ev.SourceIP = c.RealIP()
	if info := infoFrom(r.Context()); info != nil {
		ev.RequestID = info.id
	}
	if ev.Actor == "" {
		ev.Actor = actorCheckout
	}
	if err := s.audit.Record(r.Context(), ev); err != nil {
		return fmt.Errorf("%w: audit %s: %w", ErrUnavailable, ev.Type, err)
	}
	return nil
}

// recordTokenization writes the outcome of a tokenization route request: tokenize with the
// token, tokenize_failed with the error code or the kind of bad input, card_escape_blocked
// when another field held a card.
func (s *Server) recordTokenization(c echo.Context, route string, info *requestInfo, reqErr error) error {
	ev := audit.Event{Type: audit.EventTokenize, Outcome: audit.Success, Resource: info.token,
		Details: map[string]string{"route": route, "brand": info.brand, "last4": info.last4}}
	switch {
	case errors.Is(reqErr, ErrCardEscape):
		ev = audit.Event{Type: audit.EventCardEscapeBlocked, Outcome: audit.Failure, Reason: "card_outside_card_field",
			Resource: "route:" + route, Details: map[string]string{"where": "tokenization_body"}}
	case reqErr != nil:
		ev = audit.Event{Type: audit.EventTokenizeFailed, Outcome: audit.Failure, Reason: reasonOf(reqErr), Resource: "route:" + route}
	case info.errorCode != "":
		ev = audit.Event{Type: audit.EventTokenizeFailed, Outcome: audit.Failure, Reason: info.errorCode, Resource: "route:" + route,
			Details: map[string]string{"brand": info.brand}}
	}
	if err := s.record(c, ev); err != nil {
		zerolog.Ctx(c.Request().Context()).Error().Err(err).Msg("audit write failed: refusing the request")
		return err
	}
	return nil
}

// reasonOf names the kind of a refused request for the audit trail.
func reasonOf(err error) string {
	for _, k := range []struct {
		err  error
		name string
	}{
		{ErrTooLarge, "body_too_large"}, {ErrUnsupportedMedia, "unsupported_media_type"},
		{ErrBadRequest, "malformed_body"}, {ErrUnavailable, "unavailable"},
	} {
		if errors.Is(err, k.err) {
			return k.name
		}
	}
	return "error"
}
