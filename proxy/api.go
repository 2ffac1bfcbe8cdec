package proxy

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// apiOn reports whether /v1 is served.
func (s *Server) apiOn() bool { return s.cfg.API.Enabled && s.keys != nil }

// apiRoutes registers /v1. Each route names the scope it needs; requireScope authenticates,
// rate-limits and checks it before the handler runs.
func (s *Server) apiRoutes() {
	if !s.apiOn() {
		return
	}
	v1 := s.echo.Group("/v1")
	v1.GET("/openapi.json", s.openAPI)
	v1.GET("/admin/webhooks", s.listWebhooks, s.requireScope(ScopeAdmin))
	v1.POST("/admin/webhooks/:id/replay", s.replayWebhook, s.requireScope(ScopeAdmin))
	for _, r := range s.apiHandlers() {
		v1.Add(r.method, r.path, r.handler, s.requireScope(r.scope))
	}
	// Anything else under /v1 is tokenwall's 404, never a passthrough to the upstream.
	v1.Any("/*", func(echo.Context) error { return echo.ErrNotFound })
}

// apiRoute is one /v1 endpoint of the payments API.
type apiRoute struct {
	method, path, scope string
	handler             echo.HandlerFunc
}

// apiHandlers lists the payments API; the OpenAPI test checks the document against it.
func (s *Server) apiHandlers() []apiRoute {
	return nil
}

// openAPI serves the OpenAPI 3 document of /v1 (no key needed: it holds no data).
func (s *Server) openAPI(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, "application/json", openAPIDoc)
}
