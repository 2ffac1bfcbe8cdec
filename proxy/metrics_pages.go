package proxy

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// pageMetrics are the payment pages' metrics (PCI DSS 6.4.3, 11.6.1). Their page label is
// a configured page's path or "other": bounded by the configuration.
type pageMetrics struct {
	pageBlocked    *prometheus.CounterVec
	pageReports    *prometheus.CounterVec
	pageViolations *prometheus.CounterVec
	pageChanged    *prometheus.GaugeVec
	pageChecks     *prometheus.CounterVec
	pageLastCheck  *prometheus.GaugeVec
	pageDropped    *prometheus.CounterVec
}

// newPageMetrics creates the payment pages' metrics and registers them on reg.
func newPageMetrics(reg *prometheus.Registry) pageMetrics {
	m := pageMetrics{
		pageBlocked: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tokenwall_page_blocked_total", Help: "Payment-page responses withheld (503) because the page changed against its approved baseline (on_change: block).",
		}, []string{"page"}),
		pageReports: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tokenwall_page_reports_total", Help: "Posts to the CSP report endpoint by result (accepted or malformed).",
		}, []string{"result"}),
		pageViolations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tokenwall_page_violations_total", Help: "CSP violations the browsers reported on payment pages, by page, directive and disposition (enforce: blocked; report: report-only).",
		}, []string{"page", "directive", "disposition"}),
		pageChanged: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tokenwall_page_changed", Help: "1 while a payment page as served differs from its approved baseline (or has none), 0 otherwise.",
		}, []string{"page"}),
		pageChecks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tokenwall_page_checks_total", Help: "Comparisons of a payment page with its baseline, by page, result (match, changed, failed) and kind (response or scheduled).",
		}, []string{"page", "result", "kind"}),
		pageLastCheck: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tokenwall_page_last_check_timestamp_seconds", Help: "When this replica last ran the scheduled check of a payment page (Unix time).",
		}, []string{"page"}),
		pageDropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tokenwall_page_fingerprints_dropped_total", Help: "Payment-page responses whose fingerprint was not compared because the queue was full.",
		}, []string{"page"}),
	}
	reg.MustRegister(m.pageBlocked, m.pageReports, m.pageViolations, m.pageChanged, m.pageChecks, m.pageLastCheck, m.pageDropped)
	return m
}

// PageSignals returns the metrics the payment-page watcher reports to (pages.Signals).
func (m *Metrics) PageSignals() PageSignals { return PageSignals{m: m} }

// PageSignals is the pages.Signals of the metrics.
type PageSignals struct{ m *Metrics }

// PageState sets tokenwall_page_changed.
func (p PageSignals) PageState(page string, changed bool) {
	v := 0.0
	if changed {
		v = 1
	}
	p.m.pageChanged.WithLabelValues(page).Set(v)
}

// PageCheck counts a comparison; a scheduled one sets the last check's time.
func (p PageSignals) PageCheck(page, result string, scheduled bool, at time.Time) {
	kind := "response"
	if scheduled {
		kind = "scheduled"
		p.m.pageLastCheck.WithLabelValues(page).Set(float64(at.Unix()))
	}
	p.m.pageChecks.WithLabelValues(page, result, kind).Inc()
}

// Dropped counts a dropped fingerprint.
func (p PageSignals) Dropped(page string) { p.m.pageDropped.WithLabelValues(page).Inc() }
