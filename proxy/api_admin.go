package proxy

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/store"
	"github.com/tokenwall/tokenwall/webhooks"
)

var (
	problemBadStatus = problemf(http.StatusBadRequest, "invalid-parameter", "Invalid parameter",
		"status must be pending, delivered or dead, and limit between 1 and 1000")
	problemUnknownEvent = problemf(http.StatusNotFound, "unknown-event", "Unknown webhook event", "no event has this id")
	problemNotDead      = problemf(http.StatusConflict, "event-not-dead", "Event not replayable",
		"only a dead event whose payload was not erased can be replayed")
)

// listWebhooks is GET /v1/admin/webhooks?status=&limit=: the outbox, never a payload. The
// access is audited (admin_access).
func (s *Server) listWebhooks(c echo.Context) error {
	status := c.QueryParam("status")
	limit := 100
	if l := c.QueryParam("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			return problemBadStatus
		}
		limit = n
	}
	if status != "" && status != store.StatusPending && status != store.StatusDelivered && status != store.StatusDead {
		return problemBadStatus
	}
	items, err := s.store.ListOutbox(c.Request().Context(), status, limit)
	if err != nil {
		return problemUnavailable.withCause(err)
	}
	if err := s.record(c, audit.Event{Type: audit.EventAdminAccess, Actor: actorOf(apiKeyOf(c)), Outcome: audit.Success,
		Resource: "webhooks", Details: map[string]string{"action": "list", "status": status, "count": strconv.Itoa(len(items))}}); err != nil {
		return err
	}
	out := make([]webhooks.Summary, len(items))
	for i, it := range items {
		out[i] = webhooks.Summarize(it)
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, map[string]any{"data": out})
}

// replayWebhook is POST /v1/admin/webhooks/{id}/replay: a dead event is made pending again
// (webhook_replayed in the audit trail, done or refused).
func (s *Server) replayWebhook(c echo.Context) error {
	id := c.Param("id")
	info := infoFrom(c.Request().Context())
	reqID := ""
	if info != nil {
		reqID = info.id
	}
	err := webhooks.Replay(c.Request().Context(), s.store, s.audit, id, actorOf(apiKeyOf(c)), c.RealIP(), reqID, s.now())
	switch {
	case errors.Is(err, webhooks.ErrUnavailable):
		return problemUnavailable.withCause(err)
	case errors.Is(err, webhooks.ErrUnknownEvent):
		return problemUnknownEvent
	case errors.Is(err, webhooks.ErrNotDead), errors.Is(err, webhooks.ErrPayloadErased):
		return problemNotDead
	case err != nil:
		return err
	}
	it, err := s.store.GetOutbox(c.Request().Context(), id)
	if err != nil {
		return problemUnavailable.withCause(err)
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, webhooks.Summarize(it))
}
