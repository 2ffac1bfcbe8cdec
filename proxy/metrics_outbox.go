package proxy

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tokenwall/tokenwall/store"
)

const (
	// outboxStatsMaxAge is how long one read of the outbox serves scrapes: however often
	// (and by however many Prometheus servers) /metrics is scraped, the store is read at
	// most this often.
	outboxStatsMaxAge = 10 * time.Second
	// outboxStatsTimeout bounds one read, so that a slow store cannot hold up a scrape.
	outboxStatsTimeout = 2 * time.Second
)

var (
	outboxPendingDesc = prometheus.NewDesc("tokenwall_webhook_outbox_pending",
		"Webhook events waiting for delivery to the app (counted up to 1,000,000).", nil, nil)
	outboxDeadDesc = prometheus.NewDesc("tokenwall_webhook_outbox_dead",
		"Webhook events given up on (tokenwall webhooks replay sends one again; counted up to 1,000,000).", nil, nil)
	outboxOldestDesc = prometheus.NewDesc("tokenwall_webhook_outbox_oldest_pending_age_seconds",
		"Seconds since the oldest pending webhook event was received (0 when none is pending).", nil, nil)
)

// WatchOutbox registers the outbox gauges (pending, dead, oldest pending age), read through
// stats at scrape time, at most every outboxStatsMaxAge, and the count of failed reads. A
// scrape that follows a failed read has no outbox gauges, rather than stale ones. Call it
// once.
func (m *Metrics) WatchOutbox(stats func(context.Context) (store.OutboxStats, error)) {
	m.watchOutbox(stats, time.Now)
}

// watchOutbox is WatchOutbox on the clock now.
func (m *Metrics) watchOutbox(stats func(context.Context) (store.OutboxStats, error), now func() time.Time) {
	c := &outboxCollector{read: stats, now: now, failures: prometheus.NewCounter(prometheus.CounterOpts{
		Name: "tokenwall_webhook_outbox_read_failures_total", Help: "Reads of the webhook outbox gauges that failed.",
	})}
	m.Registry.MustRegister(c)
}

// outboxCollector serves the outbox gauges from its last read of the store.
type outboxCollector struct {
	read     func(context.Context) (store.OutboxStats, error)
	now      func() time.Time
	failures prometheus.Counter

	mu     sync.Mutex // held during a read: concurrent scrapes wait for it, not read again
	last   store.OutboxStats
	readAt time.Time
	ok     bool // the last read succeeded
}

// Describe implements prometheus.Collector.
func (c *outboxCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- outboxPendingDesc
	ch <- outboxDeadDesc
	ch <- outboxOldestDesc
	c.failures.Describe(ch)
}

// Collect implements prometheus.Collector. The failure count is collected here, after the
// read, not as a collector of its own: a registry gathers collectors concurrently, so a
// scrape would otherwise show the count from before its own read.
func (c *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	st, ok, now := c.stats()
	c.failures.Collect(ch)
	if !ok {
		return
	}
	var age float64
	if !st.OldestPending.IsZero() {
		age = max(0, now.Sub(st.OldestPending).Seconds())
	}
	ch <- prometheus.MustNewConstMetric(outboxPendingDesc, prometheus.GaugeValue, float64(st.Pending))
	ch <- prometheus.MustNewConstMetric(outboxDeadDesc, prometheus.GaugeValue, float64(st.Dead))
	ch <- prometheus.MustNewConstMetric(outboxOldestDesc, prometheus.GaugeValue, age)
}

// stats returns the last read, reading again when it is older than outboxStatsMaxAge.
func (c *outboxCollector) stats() (store.OutboxStats, bool, time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if c.readAt.IsZero() || now.Sub(c.readAt) >= outboxStatsMaxAge {
		ctx, cancel := context.WithTimeout(context.Background(), outboxStatsTimeout)
		st, err := c.read(ctx)
		cancel()
		c.readAt, c.ok = now, err == nil
		if err != nil {
			c.failures.Inc()
		} else {
			c.last = st
		}
	}
	return c.last, c.ok, now
}
