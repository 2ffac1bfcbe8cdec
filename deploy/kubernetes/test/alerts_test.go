package k8stest

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// targetLabels are the labels Prometheus (with the Prometheus Operator's ServiceMonitor) puts
// on every scraped series, beside the metric's own.
var targetLabels = []string{"job", "instance", "namespace", "pod", "service", "container", "endpoint"}

// severities are the alert severities the rules may use.
var severities = []string{"critical", "warning"}

// checkRules holds PrometheusRules to what an alert on tokenwall needs: PromQL that parses;
// every metric it names declared by tokenwall (or up, for the scrape job the ServiceMonitor
// makes); every label it matches or groups by one that metric has; every label value it
// matches one tokenwall's source writes; a severity and the two annotations.
func checkRules(rules []monitoringv1.PrometheusRule, reg registry, jobs []string) problems {
	var p problems
	pql := parser.NewParser(parser.Options{})
	names := map[string]bool{}
	for _, pr := range rules {
		for _, g := range pr.Spec.Groups {
			for _, r := range g.Rules {
				where := "PrometheusRule/" + pr.Name + " " + r.Alert + r.Record
				if r.Alert == "" {
					p.addf("%s: a recording rule; only alerts are expected here", where)
					continue
				}
				if names[r.Alert] {
					p.addf("%s: alert name used twice", where)
				}
				names[r.Alert] = true
				if !slices.Contains(severities, r.Labels["severity"]) {
					p.addf("%s: severity %q is not one of %v", where, r.Labels["severity"], severities)
				}
				if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
					p.addf("%s: needs a summary and a description annotation", where)
				}
				if r.Expr.Type != intstr.String {
					p.addf("%s: expr is not a string", where)
					continue
				}
				expr, err := pql.ParseExpr(r.Expr.StrVal)
				if err != nil {
					p.addf("%s: expr does not parse: %v", where, err)
					continue
				}
				checkExpr(&p, where, expr, reg, jobs)
			}
		}
	}
	return p
}

// checkExpr checks the selectors and groupings of one alert expression.
func checkExpr(p *problems, where string, expr parser.Expr, reg registry, jobs []string) {
	parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
		switch n := node.(type) {
		case *parser.VectorSelector:
			name := n.Name
			if name == "" {
				for _, m := range n.LabelMatchers {
					if m.Name == model.MetricNameLabel && m.Type == labels.MatchEqual {
						name = m.Value
					}
				}
			}
			known := seriesLabels(name, reg)
			switch {
			case name == "up":
				if !slices.ContainsFunc(n.LabelMatchers, func(m *labels.Matcher) bool {
					return m.Name == "job" && m.Type == labels.MatchEqual && slices.Contains(jobs, m.Value)
				}) {
					p.addf("%s: up must select the ServiceMonitor's job (%v)", where, jobs)
				}
			case known == nil:
				p.addf("%s: metric %q is not one tokenwall declares (cmd/tokenwall's packages; README, Metrics)", where, name)
				return nil
			}
			for _, m := range n.LabelMatchers {
				if m.Name == model.MetricNameLabel {
					continue
				}
				if !slices.Contains(known, m.Name) && !slices.Contains(targetLabels, m.Name) {
					p.addf("%s: %s has no label %q (it has %v)", where, name, m.Name, known)
				}
				if name != "up" && m.Type == labels.MatchEqual && m.Value != "" && !reg.literals[m.Value] {
					p.addf("%s: %s{%s=%q}: tokenwall's source never writes the value %q", where, name, m.Name, m.Value, m.Value)
				}
			}
		case *parser.AggregateExpr:
			if n.Without {
				break
			}
			for _, vs := range selectorsIn(n.Expr) {
				known := seriesLabels(vs.Name, reg)
				for _, l := range n.Grouping {
					if known != nil && !slices.Contains(known, l) && !slices.Contains(targetLabels, l) {
						p.addf("%s: groups %s by %q, a label it does not have (it has %v)", where, vs.Name, l, known)
					}
				}
			}
		}
		return nil
	})
}

// seriesLabels returns the labels of a series tokenwall declares (with le for a histogram's
// buckets and quantile for a summary), the target labels for up, and nil for anything else.
func seriesLabels(name string, reg registry) []string {
	if name == "up" {
		return []string{}
	}
	fam, ok := reg.bySeries[name]
	if !ok {
		return nil
	}
	out := slices.Clone(fam.labels)
	switch {
	case fam.labels == nil:
		return []string{} // declared, labels unknown
	case fam.kind == "histogram" && strings.HasSuffix(name, "_bucket"):
		out = append(out, "le")
	case fam.kind == "summary" && name == fam.name:
		out = append(out, "quantile")
	}
	return out
}

// selectorsIn lists the vector selectors under e.
func selectorsIn(e parser.Expr) []*parser.VectorSelector {
	var out []*parser.VectorSelector
	parser.Inspect(e, func(node parser.Node, _ []parser.Node) error {
		if vs, ok := node.(*parser.VectorSelector); ok {
			out = append(out, vs)
		}
		return nil
	})
	return out
}

// scrapeJobs are the job label values the ServiceMonitors give tokenwall's series: the value
// of jobLabel on each Service they select, or the Service's name.
func scrapeJobs(b *bundle) []string {
	var jobs []string
	for _, m := range b.monitors {
		for _, s := range b.services {
			if !selects(&m.Spec.Selector, s.Labels) {
				continue
			}
			if m.Spec.JobLabel != "" && s.Labels[m.Spec.JobLabel] != "" {
				jobs = append(jobs, s.Labels[m.Spec.JobLabel])
			} else {
				jobs = append(jobs, s.Name)
			}
		}
	}
	return jobs
}

// TestAlerts checks each overlay's PrometheusRules against the metrics tokenwall declares,
// and that README.md explains each alert.
func TestAlerts(t *testing.T) {
	reg := tokenwallMetrics(t)
	readme, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range overlayNames {
		t.Run(name, func(t *testing.T) {
			b := build(t, name)
			for _, msg := range checkRules(b.rules, reg, scrapeJobs(b)) {
				t.Error(msg)
			}
			for _, pr := range b.rules {
				for _, g := range pr.Spec.Groups {
					for _, r := range g.Rules {
						if !strings.Contains(string(readme), "`"+r.Alert+"`") {
							t.Errorf("README.md does not explain the alert %s (write `%s` where the alerts are listed)", r.Alert, r.Alert)
						}
					}
				}
			}
		})
	}
	if len(reg.unresolved) > 0 {
		t.Logf("metric declarations whose name the reader could not work out (an alert on them fails as undeclared): %v", reg.unresolved)
	}
}

// TestAlertsCatchDrift gives checkRules alerts that name a metric, a label or a label value
// tokenwall does not have, and one that does not parse: each must be reported.
func TestAlertsCatchDrift(t *testing.T) {
	reg := tokenwallMetrics(t)
	cases := []struct{ name, expr, want string }{
		{name: "renamed histogram", expr: `histogram_quantile(0.99, sum by (le) (rate(tokenwall_webhook_deliveries_seconds_bucket[5m]))) > 1`, want: "not one tokenwall declares"},
		{name: "counter read as a histogram", expr: `rate(tokenwall_requests_total_bucket[5m]) > 0`, want: "not one tokenwall declares"},
		{name: "label it does not have", expr: `sum(increase(tokenwall_card_escapes_total{route="x"}[5m])) > 0`, want: `no label "route"`},
		{name: "grouping by a missing label", expr: `sum by (brand) (increase(tokenwall_vault_refresh_failures_total[5m])) > 0`, want: `groups tokenwall_vault_refresh_failures_total by "brand"`},
		{name: "value never written", expr: `sum(increase(tokenwall_card_escapes_total{action="forwarded"}[5m])) > 0`, want: `never writes the value "forwarded"`},
		{name: "syntax", expr: `sum(increase(tokenwall_card_escapes_total[5m]) > 0`, want: "does not parse"},
		{name: "up of another job", expr: `absent(up{job="other"} == 1)`, want: "up must select"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rule := monitoringv1.PrometheusRule{ObjectMeta: metav1.ObjectMeta{Name: "drift"}, Spec: monitoringv1.PrometheusRuleSpec{Groups: []monitoringv1.RuleGroup{{
				Name: "g", Rules: []monitoringv1.Rule{{Alert: "Drift", Expr: intstr.FromString(tc.expr),
					Labels: map[string]string{"severity": "warning"}, Annotations: map[string]string{"summary": "s", "description": "d"}}},
			}}}}
			got := checkRules([]monitoringv1.PrometheusRule{rule}, reg, []string{"tokenwall"})
			if !slices.ContainsFunc(got, func(msg string) bool { return strings.Contains(msg, tc.want) }) {
				t.Fatalf("want a problem mentioning %q, got %s", tc.want, fmt.Sprint(got))
			}
		})
	}
}
