package api

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/tokenwall/tokenwall/apikey"
	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/proxy"
	"github.com/tokenwall/tokenwall/store"
	"github.com/tokenwall/tokenwall/webhooks"
)

// errBadListQuery is a bad status or limit of GET /v1/admin/webhooks.
var errBadListQuery = fmt.Errorf("%w: status must be pending, delivered or dead, and limit between 1 and 1000", proxy.ErrInvalidQuery)

// listWebhooks is GET /v1/admin/webhooks?status=&limit=: the outbox, never a payload. The
// access is audited (admin_access).
func (a *API) listWebhooks(c echo.Context) error {
	status := c.QueryParam("status")
	limit := 100
	if l := c.QueryParam("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			return errBadListQuery
		}
		limit = n
	}
	if status != "" && status != store.StatusPending && status != store.StatusDelivered && status != store.StatusDead {
		return errBadListQuery
	}
	items, err := a.d.Store.ListOutbox(c.Request().Context(), status, limit)
	if err != nil {
		return fmt.Errorf("%w: %w", proxy.ErrUnavailable, err)
	}
	if err := proxy.Record(c, a.d.Audit, audit.Event{Type: audit.EventAdminAccess, Actor: apikey.Actor(keyOf(c)), Outcome: audit.Success,
		Resource: "webhooks", Details: map[string]string{"action": "list", "status": status, "count": strconv.Itoa(len(items))}}); err != nil {
		return err
	}
	out := make([]webhooks.Summary, len(items))
	for i, it := range items {
		out[i] = webhooks.Summarize(it)
	}
	return noStoreJSON(c, http.StatusOK, map[string]any{"data": out})
}

// replayWebhook is POST /v1/admin/webhooks/{id}/replay: a dead event is made pending again
// (webhook_replayed in the audit trail, done or refused).
func (a *API) replayWebhook(c echo.Context) error {
	ctx := c.Request().Context()
	id := c.Param("id")
	if err := webhooks.Replay(ctx, a.d.Store, a.d.Audit, id, apikey.Actor(keyOf(c)), c.RealIP(), proxy.RequestID(ctx), a.d.Now()); err != nil {
		return err
	}
	it, err := a.d.Store.GetOutbox(ctx, id)
	if err != nil {
		return fmt.Errorf("%w: %w", proxy.ErrUnavailable, err)
	}
	return noStoreJSON(c, http.StatusOK, webhooks.Summarize(it))
}
