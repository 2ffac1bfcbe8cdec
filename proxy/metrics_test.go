package proxy

import (
	"context"
	"errors"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tokenwall/tokenwall/store"
)

// gathered reads every metric of reg as "labels value" lines, by family name
// ("" labels for none): "3", "version=v1,commit=abc 1".
func gathered(t *testing.T, reg *prometheus.Registry) map[string][]string {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var line []string
			for _, l := range m.GetLabel() {
				line = append(line, l.GetName()+"="+l.GetValue())
			}
			v := m.GetGauge().GetValue() + m.GetCounter().GetValue()
			line = append(line, strconv.FormatFloat(v, 'g', -1, 64))
			out[mf.GetName()] = append(out[mf.GetName()], strings.Join(line, " "))
		}
	}
	return out
}

// TestMetricsOutboxGauges: the outbox gauges come from one read of the store per
// outboxStatsMaxAge whatever the scrape rate, each read with a deadline; the oldest pending
// age grows between reads; a failed read leaves the gauges out of the scrape and is counted.
func TestMetricsOutboxGauges(t *testing.T) {
	m := NewMetrics(nil)
	clock := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	oldest := clock.Add(-90 * time.Second)
	reads := 0
	var failWith error
	m.watchOutbox(func(ctx context.Context) (store.OutboxStats, error) {
		reads++
		if _, ok := ctx.Deadline(); !ok {
			t.Error("the read has no deadline")
		}
		return store.OutboxStats{Pending: 3, Dead: 2, OldestPending: oldest}, failWith
	}, func() time.Time { return clock })

	const pending, dead, age, failures = "tokenwall_webhook_outbox_pending", "tokenwall_webhook_outbox_dead",
		"tokenwall_webhook_outbox_oldest_pending_age_seconds", "tokenwall_webhook_outbox_read_failures_total"
	tests := []struct {
		name      string
		advance   time.Duration
		fail      error
		wantReads int
		want      map[string]string // family → its one line; "" means absent
	}{
		{name: "the first scrape reads", wantReads: 1,
			want: map[string]string{pending: "3", dead: "2", age: "90", failures: "0"}},
		{name: "a scrape 5s later reuses the read and the age grows", advance: 5 * time.Second, wantReads: 1,
			want: map[string]string{pending: "3", dead: "2", age: "95"}},
		{name: "a failed read drops the gauges and is counted", advance: outboxStatsMaxAge, fail: errors.New("database is locked"), wantReads: 2,
			want: map[string]string{pending: "", dead: "", age: "", failures: "1"}},
		{name: "the next read brings them back", advance: outboxStatsMaxAge, wantReads: 3,
			want: map[string]string{pending: "3", age: "115", failures: "1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock = clock.Add(tc.advance)
			failWith = tc.fail
			got := gathered(t, m.Registry)
			if reads != tc.wantReads {
				t.Errorf("%d reads of the store, want %d", reads, tc.wantReads)
			}
			for name, want := range tc.want {
				if g := strings.Join(got[name], ";"); g != want {
					t.Errorf("%s = %q, want %q", name, g, want)
				}
			}
		})
	}
	// No event pending: the age is 0, not the age of the zero time.
	oldest = time.Time{}
	clock = clock.Add(outboxStatsMaxAge)
	if got := gathered(t, m.Registry)[age]; !slices.Equal(got, []string{"0"}) {
		t.Errorf("age with nothing pending: %v, want 0", got)
	}
}

// TestMetricsBuildInfo: tokenwall_build_info carries the version, the commit and the Go
// version as labels, with the value 1.
func TestMetricsBuildInfo(t *testing.T) {
	m := NewMetrics(nil)
	m.SetBuildInfo("v1.2.3", "0123abc", "")
	want := "commit=0123abc go_version=" + runtime.Version() + " version=v1.2.3 1"
	if got := gathered(t, m.Registry)["tokenwall_build_info"]; !slices.Equal(got, []string{want}) {
		t.Errorf("tokenwall_build_info = %v, want %q", got, want)
	}
}

// TestMetricsNames: every metric of tokenwall's own is named tokenwall_*, every histogram
// ends in _duration_seconds, and the names are the ones the README lists (alerts are written
// against them).
func TestMetricsNames(t *testing.T) {
	m := NewMetrics(func() map[string]time.Duration { return map[string]time.Duration{"stripe_key": time.Second} })
	m.SetBuildInfo("v1", "c", "go1")
	m.WatchOutbox(func(context.Context) (store.OutboxStats, error) { return store.OutboxStats{}, nil })
	// Vectors appear once they have a child.
	m.requests.WithLabelValues("r", "200").Inc()
	m.latency.WithLabelValues("r").Observe(1)
	m.gatewayLatency.Observe(1)
	m.tokenizations.WithLabelValues("ok", "visa").Inc()
	m.CardEscaped("query", "refused")
	m.upstreamCards.Inc()
	m.VaultRefreshed("stripe_key", errors.New("x"))
	m.WebhookReceived("accepted")
	m.WebhookDelivery("delivered", time.Millisecond)
	m.AuditWriteFailed("tokenize")
	m.unwatched.WithLabelValues("encoding").Inc()
	m.ClientLimited("api")
	ps := m.PageSignals()
	ps.PageState("/checkout", true)
	ps.PageCheck("/checkout", "match", true, time.Now())
	ps.Dropped("/checkout")
	m.pageBlocked.WithLabelValues("/checkout").Inc()
	m.pageReports.WithLabelValues("accepted").Inc()
	m.pageViolations.WithLabelValues("/checkout", "script-src-elem", "enforce").Inc()
	mfs, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, mf := range mfs {
		name := mf.GetName()
		if strings.HasPrefix(name, "go_") || strings.HasPrefix(name, "process_") {
			continue
		}
		names = append(names, name)
		if mf.GetType().String() == "HISTOGRAM" && !strings.HasSuffix(name, "_duration_seconds") {
			t.Errorf("histogram %s does not end in _duration_seconds", name)
		}
	}
	want := []string{
		"tokenwall_audit_write_duration_seconds", "tokenwall_audit_write_failures_total", "tokenwall_build_info", "tokenwall_card_escapes_total",
		"tokenwall_client_rate_limited_total", "tokenwall_gateway_duration_seconds",
		"tokenwall_page_blocked_total", "tokenwall_page_changed", "tokenwall_page_checks_total",
		"tokenwall_page_fingerprints_dropped_total", "tokenwall_page_last_check_timestamp_seconds",
		"tokenwall_page_reports_total", "tokenwall_page_violations_total", "tokenwall_request_duration_seconds",
		"tokenwall_requests_total", "tokenwall_secret_age_seconds", "tokenwall_tokenizations_total",
		"tokenwall_upstream_card_responses_total", "tokenwall_upstream_unwatched_responses_total",
		"tokenwall_vault_refresh_failures_total", "tokenwall_webhook_delivery_duration_seconds",
		"tokenwall_webhook_outbox_dead", "tokenwall_webhook_outbox_oldest_pending_age_seconds",
		"tokenwall_webhook_outbox_pending", "tokenwall_webhook_outbox_read_failures_total",
		"tokenwall_webhooks_received_total",
	}
	slices.Sort(names)
	if !slices.Equal(names, want) {
		t.Errorf("metric names:\n%v\nwant (the README's list):\n%v", names, want)
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range want {
		if !strings.Contains(string(readme), "`"+name+"`") {
			t.Errorf("the README's Operations section does not list %s", name)
		}
	}
}
