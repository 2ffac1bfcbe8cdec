package proxy

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/tokenwall/tokenwall/audit"
)

// apiOn reports whether /v1 is served.
func (s *Server) apiOn() bool { return s.cfg.API.Enabled && s.keys != nil }

// apiRoutes registers /v1. Each route names the scope it needs; requireScope authenticates,
// rate-limits and checks it before the handler runs.
func (s *Server) apiRoutes() {
	if !s.apiOn() {
		return
	}
	v1 := s.echo.Group("/v1", s.apiGuard)
	v1.GET("/openapi.json", s.openAPI)
	v1.GET("/admin/webhooks", s.listWebhooks, s.requireScope(ScopeAdmin))
	v1.POST("/admin/webhooks/:id/replay", s.replayWebhook, s.requireScope(ScopeAdmin))
	v1.GET("/reports", s.getReport, s.requireScope(ScopeReports))
	for _, r := range s.apiHandlers() {
		v1.Add(r.method, r.path, r.handler, s.requireScope(r.scope), s.idempotent)
	}
	// Anything else under /v1 is tokenwall's 404, never a passthrough to the upstream.
	v1.Any("/*", func(echo.Context) error { return echo.ErrNotFound })
}

// apiRoute is one /v1 endpoint of the payments API.
type apiRoute struct {
	method, path, scope string
	handler             echo.HandlerFunc
}

// openAPI serves the OpenAPI 3 document of /v1 (no key needed: it holds no data).
func (s *Server) openAPI(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, "application/json", openAPIDoc)
}

// errNoTransit is why /v1/reports is unavailable without a transit key.
var errNoTransit = errors.New("no transit key to sign reports with")

var problemCardData = problemf(http.StatusBadRequest, "card-data-refused", "Card data refused",
	"the API takes gateway tokens (pm_…), never card numbers; tokenize through the checkout")

// apiGuard refuses a /v1 request that carries a card number anywhere (path, query, headers,
// body), before authentication, and records card_escape_blocked: the API works with tokens.
func (s *Server) apiGuard(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		body, err := readBody(r, s.cfg.API.MaxBodyBytes.Int())
		if err != nil {
			return err
		}
		if where := cardEscape(r, body); where != "" {
			s.metrics.cardEscapes.WithLabelValues(where, "refused").Inc()
			aerr := s.record(c, audit.Event{Type: audit.EventCardEscapeBlocked, Outcome: audit.Failure,
				Reason: "card_on_api", Resource: maskedPath(r), Details: map[string]string{"where": where, "method": r.Method}})
			return errors.Join(problemCardData, aerr)
		}
		return next(c)
	}
}
