package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/tokenwall/tokenwall/apikey"
	"github.com/tokenwall/tokenwall/audit/report"
	"github.com/tokenwall/tokenwall/proxy"
)

// errNoReports is why /v1/reports is unavailable without a transit key to sign with.
var errNoReports = errors.New("no transit key to sign reports with")

// getReport is GET /v1/reports?from=&to=&format=html|json: the signed compliance report for
// the period, built now (the TLS listener probed, the data at rest scanned, the chain
// verified), audited as report_generated.
func (a *API) getReport(c echo.Context) error {
	if a.d.Reports == nil {
		return fmt.Errorf("%w: %w", proxy.ErrUnavailable, errNoReports)
	}
	format := c.QueryParam("format")
	if format == "" {
		format = "html"
	}
	if format != "html" && format != "json" {
		return fmt.Errorf("%w: format is html or json (a PDF is made by tokenwall report --format pdf)", proxy.ErrInvalidValue)
	}
	from, to, err := report.Period(c.QueryParam("from"), c.QueryParam("to"), a.d.Now())
	if err != nil {
		return fmt.Errorf("%w: from and to are YYYY-MM-DD (UTC, to inclusive) or RFC 3339, from before to", proxy.ErrInvalidValue)
	}
	ctx := c.Request().Context()
	r, err := a.d.Reports.Build(ctx, from, to)
	if err != nil {
		return fmt.Errorf("%w: %w", proxy.ErrUnavailable, err)
	}
	file, err := a.d.Reports.Render(ctx, r, format)
	if err != nil {
		return fmt.Errorf("%w: %w", proxy.ErrUnavailable, err)
	}
	ev := r.Event(format, "")
	ev.Actor = apikey.Actor(keyOf(c))
	if err := proxy.Record(c, a.d.Audit, ev); err != nil {
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
