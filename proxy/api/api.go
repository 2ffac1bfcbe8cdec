// Package api is tokenwall's /v1 API for the billing app: handlers that decode a request,
// call a service (payments, the webhook outbox, the compliance report) and encode its
// answer. Authentication, rate limits, idempotency and the card guard run before them as
// middleware; errors are rendered by the proxy's one error table.
package api

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/rs/zerolog"

	"github.com/tokenwall/tokenwall/apikey"
	"github.com/tokenwall/tokenwall/audit/report"
	"github.com/tokenwall/tokenwall/config"
	"github.com/tokenwall/tokenwall/payments"
	"github.com/tokenwall/tokenwall/proxy"
	"github.com/tokenwall/tokenwall/store"
)

// Deps are the API's collaborators; all are required but Reports.
type Deps struct {
	Config      config.API
	Payments    *payments.Service
	Idempotency *payments.Idempotency
	Keys        *apikey.Ring
	Limiter     *apikey.Limiter
	// Store is the webhook outbox the admin endpoints list and replay.
	Store   store.Store
	Audit   proxy.Recorder
	Metrics *proxy.Metrics
	Log     zerolog.Logger
	Now     func() time.Time
	// Reports builds the compliance report for [from, to) and signs it; without it
	// GET /v1/reports answers 503.
	Reports Reports
}

// Reports builds and signs compliance reports (evidence.Build and report.RenderSigned).
type Reports interface {
	Build(ctx context.Context, from, to time.Time) (report.Report, error)
	Render(ctx context.Context, r report.Report, format string) ([]byte, error)
}

// API serves /v1.
type API struct {
	d Deps
}

// New returns the API.
func New(d Deps) *API {
	if d.Now == nil {
		d.Now = time.Now
	}
	return &API{d: d}
}

// route is one /v1 endpoint with the scope it needs.
type route struct {
	method, path, scope string
	handler             echo.HandlerFunc
}

// routes lists the payments API with the scope each needs; the OpenAPI test checks the
// document against this list.
func (a *API) routes() []route {
	return []route{
		{http.MethodPost, "/payments", apikey.ScopePayments, a.createPayment},
		{http.MethodGet, "/payments/:id", apikey.ScopePayments, a.getPayment},
		{http.MethodPost, "/payments/:id/capture", apikey.ScopePayments, a.capturePayment},
		{http.MethodPost, "/payments/:id/confirm", apikey.ScopePayments, a.confirmPayment},
		{http.MethodPost, "/payments/:id/cancel", apikey.ScopePayments, a.cancelPayment},
		{http.MethodPost, "/refunds", apikey.ScopeRefunds, a.createRefund},
		{http.MethodPost, "/customers", apikey.ScopeCustomers, a.createCustomer},
		{http.MethodPost, "/customers/:id/payment-methods", apikey.ScopeCustomers, a.attachPaymentMethod},
		{http.MethodDelete, "/customers/:id", apikey.ScopeErase, a.eraseCustomer},
		// Setup intents keep a card with a customer, as attaching a token does.
		{http.MethodPost, "/setup-intents", apikey.ScopeCustomers, a.createSetup},
		{http.MethodPost, "/setup-intents/:id/confirm", apikey.ScopeCustomers, a.confirmSetup},
		{http.MethodGet, "/setup-intents/:id", apikey.ScopeCustomers, a.getSetup},
	}
}

// Register adds /v1's routes to g (the /v1 group). Each route names the scope it needs;
// requireScope authenticates, rate-limits and checks it before the handler runs.
func (a *API) Register(g *echo.Group) {
	g.Use(a.guard)
	g.GET("/openapi.json", a.openAPI)
	g.GET("/admin/webhooks", a.listWebhooks, a.requireScope(apikey.ScopeAdmin))
	g.POST("/admin/webhooks/:id/replay", a.replayWebhook, a.requireScope(apikey.ScopeAdmin))
	g.GET("/reports", a.getReport, a.requireScope(apikey.ScopeReports))
	for _, r := range a.routes() {
		g.Add(r.method, r.path, r.handler, a.requireScope(r.scope), a.idempotent)
	}
	// Anything else under /v1 is tokenwall's 404, never a passthrough to the upstream.
	g.Any("/*", func(echo.Context) error { return echo.ErrNotFound })
}

// openAPI serves the OpenAPI 3 document of /v1 (no key needed: it holds no data).
func (a *API) openAPI(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, "application/json", OpenAPI)
}

// caller is who asks, for the audit trail: the authenticated key, the source address and
// tokenwall's request id.
func caller(c echo.Context) payments.Caller {
	return payments.Caller{Actor: apikey.Actor(keyOf(c)), SourceIP: c.RealIP(), RequestID: proxy.RequestID(c.Request().Context())}
}

// noStoreJSON answers v as JSON with Cache-Control: no-store.
func noStoreJSON(c echo.Context, status int, v any) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(status, v)
}
