package proxy

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/tokenwall/tokenwall/audit/report"
	"github.com/tokenwall/tokenwall/vault"
)

// getReport is GET /v1/reports?from=&to=&format=html|json: the signed compliance report for
// the period, built now (the TLS listener probed, the data at rest scanned, the chain
// verified), audited as report_generated.
func (s *Server) getReport(c echo.Context) error {
	if s.transit == nil {
		return problemUnavailable.withCause(errNoTransit)
	}
	format := c.QueryParam("format")
	if format == "" {
		format = "html"
	}
	if format != "html" && format != "json" {
		pe := *problemParameter
		pe.detail = "format is html or json (a PDF is made by tokenwall report --format pdf)"
		return &pe
	}
	from, to, err := report.Period(c.QueryParam("from"), c.QueryParam("to"), s.now())
	if err != nil {
		pe := *problemParameter
		pe.detail = "from and to are YYYY-MM-DD (UTC, to inclusive) or RFC 3339, from before to"
		return &pe
	}
	ctx := c.Request().Context()
	r, err := BuildReport(ctx, ReportSources{Config: s.cfg, Store: s.store, Transit: s.transit, Now: s.now,
		ReadSecret: func(_ context.Context, name, _ string) (vault.Secret, error) { return s.secrets.Get(name) }}, from, to)
	if err != nil {
		return problemUnavailable.withCause(err)
	}
	file, _, err := report.RenderSigned(ctx, s.transit, r, format)
	if err != nil {
		return problemUnavailable.withCause(err)
	}
	if err := s.recordAPI(c, r.Event(format, "")); err != nil {
		return err
	}
	ct := "text/html; charset=utf-8"
	if format == "json" {
		ct = "application/json"
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	c.Response().Header().Set("Content-Disposition", `attachment; filename="tokenwall-report-`+r.ID+`.`+format+`"`)
	return c.Blob(http.StatusOK, ct, file)
}
