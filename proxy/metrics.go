package proxy

import (
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are tokenwall's Prometheus metrics, on their own registry (no package globals),
// served only on the admin listener. Their names are listed in the README (Operations) and
// alerts are written against them: keep them stable. Histograms end in _duration_seconds.
type Metrics struct {
	Registry       *prometheus.Registry
	requests       *prometheus.CounterVec
	latency        *prometheus.HistogramVec
	gatewayLatency prometheus.Histogram
	auditLatency   prometheus.Histogram
	tokenizations  *prometheus.CounterVec
	cardEscapes    *prometheus.CounterVec
	upstreamCards  prometheus.Counter
	refreshFails   *prometheus.CounterVec
	webhooksIn     *prometheus.CounterVec
	deliveries     *prometheus.HistogramVec
	auditFailures  *prometheus.CounterVec
	unwatched      *prometheus.CounterVec
	clientLimited  *prometheus.CounterVec
	pageMetrics
}

// NewMetrics registers tokenwall's metrics. secretAges is read at each scrape for the
// tokenwall_secret_age_seconds gauge.
func NewMetrics(secretAges func() map[string]time.Duration) *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tokenwall_requests_total", Help: "Requests by route and status.",
		}, []string{"route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "tokenwall_request_duration_seconds", Help: "Request latency by route.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route"}),
		gatewayLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "tokenwall_gateway_duration_seconds", Help: "Latency of gateway tokenization calls.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
		auditLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "tokenwall_audit_write_duration_seconds", Help: "Latency of the durable audit writes requests wait for (group commit included).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
		}),
		tokenizations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tokenwall_tokenizations_total", Help: "Tokenizations by outcome (ok or error code) and brand.",
		}, []string{"outcome", "brand"}),
		cardEscapes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tokenwall_card_escapes_total", Help: "Requests with a card number outside a tokenization route's card field, by where it was and what was done (refused or alerted).",
		}, []string{"where", "action"}),
		upstreamCards: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tokenwall_upstream_card_responses_total", Help: "Upstream responses that carried a card number (alerted, not blocked).",
		}),
		refreshFails: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tokenwall_vault_refresh_failures_total", Help: "Failed background reads of a secret from Vault.",
		}, []string{"secret"}),
		webhooksIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tokenwall_webhooks_received_total", Help: "Gateway webhook events by outcome (accepted, duplicate, unavailable, or the rejection reason).",
		}, []string{"outcome"}),
		deliveries: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "tokenwall_webhook_delivery_duration_seconds", Help: "Webhook delivery attempts to the app by outcome (delivered, retry, dead) and their latency.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"outcome"}),
		unwatched: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tokenwall_upstream_unwatched_responses_total", Help: "Upstream responses (or their rest) forwarded without the card watch, by why: an encoding it cannot decode, or the decoded size limit.",
		}, []string{"why"}),
		clientLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tokenwall_client_rate_limited_total", Help: "Requests answered 429 by the per-client limiter, by where (api, webhook, or guard: a refusal of the card-escape guard).",
		}, []string{"where"}),
		auditFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tokenwall_audit_write_failures_total", Help: "Audit records that could not be written, by event type.",
		}, []string{"event"}),
	}
	m.Registry.MustRegister(m.auditFailures, m.unwatched, m.clientLimited, m.requests, m.latency, m.gatewayLatency, m.auditLatency, m.tokenizations, m.cardEscapes, m.upstreamCards, m.refreshFails,
		m.webhooksIn, m.deliveries,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		secretAgeCollector{ages: secretAges})
	m.pageMetrics = newPageMetrics(m.Registry)
	return m
}

// CardEscaped counts a card number found outside a tokenization route's card field: where
// (path, query, header, body) and what was done (refused, alerted).
func (m *Metrics) CardEscaped(where, action string) {
	m.cardEscapes.WithLabelValues(where, action).Inc()
}

// ClientLimited counts a request the per-client limiter answered 429: where is api,
// webhook or guard (a closed set).
func (m *Metrics) ClientLimited(where string) { m.clientLimited.WithLabelValues(where).Inc() }

// AuditWriteFailed counts an audit record that could not be written; event is one of
// audit's event type constants (a closed set).
func (m *Metrics) AuditWriteFailed(event string) { m.auditFailures.WithLabelValues(event).Inc() }

// VaultRefreshed records the outcome of one background secret read.
func (m *Metrics) VaultRefreshed(secret string, err error) {
	if err != nil {
		m.refreshFails.WithLabelValues(secret).Inc()
	}
}

// WebhookReceived counts one received gateway event by outcome (webhooks.ReceiverOptions.Observe).
func (m *Metrics) WebhookReceived(outcome string) { m.webhooksIn.WithLabelValues(outcome).Inc() }

// WebhookDelivery records one delivery attempt to the app (webhooks.DelivererOptions.Observe).
func (m *Metrics) WebhookDelivery(outcome string, took time.Duration) {
	m.deliveries.WithLabelValues(outcome).Observe(took.Seconds())
}

var secretAgeDesc = prometheus.NewDesc("tokenwall_secret_age_seconds",
	"Seconds since each cached secret was last read from Vault.", []string{"secret"}, nil)

type secretAgeCollector struct {
	ages func() map[string]time.Duration
}

func (c secretAgeCollector) Describe(ch chan<- *prometheus.Desc) { ch <- secretAgeDesc }

func (c secretAgeCollector) Collect(ch chan<- prometheus.Metric) {
	if c.ages == nil {
		return
	}
	for name, age := range c.ages() {
		ch <- prometheus.MustNewConstMetric(secretAgeDesc, prometheus.GaugeValue, age.Seconds(), name)
	}
}

// SetBuildInfo registers tokenwall_build_info{version,commit,go_version} 1, the running
// build as `tokenwall version` prints it. An empty go_version is the running Go's. Call it
// once.
func (m *Metrics) SetBuildInfo(version, commit, goVersion string) {
	if goVersion == "" {
		goVersion = runtime.Version()
	}
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "tokenwall_build_info", Help: "The running build: version, commit and Go version (always 1).",
		ConstLabels: prometheus.Labels{"version": version, "commit": commit, "go_version": goVersion},
	})
	g.Set(1)
	m.Registry.MustRegister(g)
}
