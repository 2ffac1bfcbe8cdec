package report

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strconv"
	"strings"
)

// templateText is the page: one self-contained HTML file with inline CSS, no scripts and no
// outside references, so a QSA can open or print it anywhere.
//
//go:embed template.html
var templateText string

// pageTemplate is parsed once; it is never changed after.
var pageTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"num":      formatNum,
	"ts":       formatTime,
	"tsp":      formatTimePtr,
	"bytesize": formatBytes,
	"join":     strings.Join,
	"obsolete": obsoleteTLS,
	"lines":    changeList,
}).Parse(templateText))

// HTML writes r as one self-contained HTML page: inline CSS and SVG, no scripts, no outside
// references. Every string from r is escaped. The same Report always gives the same bytes.
// Nothing is written when rendering fails.
func HTML(w io.Writer, r Report) error {
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, newView(r)); err != nil {
		return fmt.Errorf("report: render html: %w", err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("report: write html: %w", err)
	}
	return nil
}

// pageView is what the template reads: the Report plus everything computed from it.
type pageView struct {
	R          Report
	Period     string
	Glance     glance
	Groups     []countGroup
	Erasures   []erasureRow
	ErasuresOK int
	ErasuresNo int
	Charts     []chartView
	Reqs       []reqRow
	TLS        tlsView
	Scans      []scanRow
	Flow       template.HTML
	FlowSteps  []flowStep
	Retention  retentionView
	Pages      []paymentPageRow
}

// glance is the first page's one-line answers.
type glance struct {
	Pass, Fail, NA, Other int
	ChainOK               bool
	ErasuresOver          int
	Findings              int
}

// countGroup is one block of the period summary: counters and small breakdown tables.
type countGroup struct {
	Title  string
	ID     string
	Rows   []countRow
	Tables []countTable
}

// countRow is one counter with its label.
type countRow struct {
	Label string
	Value int64
}

// countTable is a map from the summary as a table sorted by key, with its total.
type countTable struct {
	Title     string
	KeyHeader string
	Rows      []countRow
	Total     int64
}

// erasureRow is one erasure, formatted.
type erasureRow struct {
	Erasure
	Duration string
}

// chartView is one daily chart with its figures.
type chartView struct {
	Title   string
	SVG     template.HTML
	Total   int64
	Peak    int64
	PeakDay string
	Mean    string
}

// reqRow is one requirement with its status class.
type reqRow struct {
	Requirement
	Class string // pass, fail, na or unknown
	Mark  string // a sign that survives black-and-white printing
}

// tlsView is the TLS evidence with its counts.
type tlsView struct {
	TLSEvidence
	SuitesAccepted, SuitesAEAD, SuitesRefused, WeakAccepted int
}

// scanRow is one data-at-rest scan with its findings by kind, sorted.
type scanRow struct {
	ScanEvidence
	Kinds []countRow
}

// retentionView is the retention evidence against PCI DSS 10.5.1.
type retentionView struct {
	RetentionEvidence
	MeetsYear bool
}

// obsoleteTLS reports whether a protocol version is one PCI DSS no longer counts as strong
// cryptography, so that accepting it is marked on the page.
func obsoleteTLS(version string) bool {
	switch version {
	case "SSL 2.0", "SSL 3.0", "TLS 1.0", "TLS 1.1":
		return true
	}
	return false
}

// pciRetentionDays is PCI DSS 10.5.1's minimum audit log retention: twelve months.
const pciRetentionDays = 365

// newView computes everything the template shows. It sorts every map so the output is
// deterministic.
func newView(r Report) pageView {
	v := pageView{R: r, Period: formatPeriod(r.From, r.To)}
	v.Groups = summaryGroups(r.Summary)
	v.addErasures(r.Summary.Erasures)
	v.Charts = dailyCharts(r.Daily)
	v.addRequirements(r.Requirements)
	v.Glance.ChainOK = r.Evidence.Chain.OK
	v.Glance.ErasuresOver = v.ErasuresNo
	v.TLS = newTLSView(r.Evidence.TLS)
	v.addScans(r.Evidence.DataAtRest)
	v.Retention = retentionView{RetentionEvidence: r.Evidence.Retention,
		MeetsYear: r.Evidence.Retention.ConfiguredDays >= pciRetentionDays}
	v.Flow, v.FlowSteps = flowDiagram(r.Flow)
	v.Pages = paymentPageRows(r.Evidence.Pages, r.To)
	return v
}

// summaryGroups lays out the period's counters in the blocks the summary page shows, in a
// fixed order an assessor can find their way in.
func summaryGroups(s Summary) []countGroup {
	return []countGroup{
		{Title: "Audit trail", ID: "sum-audit", Rows: []countRow{
			{"Audit records in the period", s.Records},
		}},
		{Title: "Tokenization", ID: "sum-tokenization", Rows: []countRow{
			{"Tokenizations succeeded", s.TokenizationsSucceeded},
			{"Tokenizations failed", s.TokenizationsFailed},
			{"Card escapes refused", s.CardEscapesRefused},
			{"Card escapes alerted", s.CardEscapesAlerted},
		}, Tables: []countTable{
			mapTable("Tokenize failures by code", "Code", s.TokenizeFailuresByCode),
			mapTable("Tokenizations by brand", "Brand", s.TokenizationsByBrand),
		}},
		{Title: "Payments", ID: "sum-payments", Rows: []countRow{
			{"Charges", s.Charges},
			{"Charges succeeded", s.ChargesSucceeded},
			{"Charges waiting for the customer (3-D Secure)", s.ChargesRequiringAction},
			{"Charges failed", s.ChargesFailed},
			{"Charges canceled", s.ChargesCanceled},
			{"Captures", s.Captures},
			{"Refunds", s.Refunds},
			{"Refunds failed", s.RefundsFailed},
			{"Cards saved (setups succeeded)", s.SetupsSucceeded},
			{"Setups waiting for the customer (3-D Secure)", s.SetupsRequiringAction},
			{"Setups failed", s.SetupsFailed},
			{"Payments and setups canceled after the customer never came back", s.StaleCanceled},
		}},
		{Title: "Webhooks", ID: "sum-webhooks", Rows: []countRow{
			{"Webhooks received", s.WebhooksReceived},
			{"Webhooks duplicate", s.WebhooksDuplicate},
			{"Webhooks rejected", s.WebhooksRejected},
			{"Webhooks delivered", s.WebhooksDelivered},
			{"Webhooks dead (delivery given up)", s.WebhooksDead},
			{"Webhooks replayed", s.WebhooksReplayed},
		}, Tables: []countTable{
			mapTable("Webhook rejections by reason", "Reason", s.WebhookRejectionsByReason),
		}},
		{Title: "API and administration", ID: "sum-api", Rows: []countRow{
			{"Requests refused by the per-client limit", s.ClientRateLimited},
			{"Admin access", s.AdminAccess},
			{"API keys created", s.KeysCreated},
			{"API keys revoked", s.KeysRevoked},
			{"Secret refresh failures", s.SecretRefreshFailed},
			{"Start-ups", s.Startups},
			{"Reports generated", s.ReportsGenerated},
		}, Tables: []countTable{
			mapTable("API refusals by reason", "Reason", s.APIRefusalsByReason),
		}},
	}
}

// addErasures lists the period's erasures and counts those kept within the 48-hour promise.
func (v *pageView) addErasures(erasures []Erasure) {
	for _, e := range erasures {
		v.Erasures = append(v.Erasures, erasureRow{Erasure: e, Duration: formatDurationMS(e.DurationMS)})
		if e.WithinSLA {
			v.ErasuresOK++
		} else {
			v.ErasuresNo++
		}
	}
}

// addRequirements lists the requirements with their status marks and counts each status
// for the first page.
func (v *pageView) addRequirements(reqs []Requirement) {
	for _, q := range reqs {
		row := reqRow{Requirement: q}
		switch q.Status {
		case Pass:
			row.Class, row.Mark = "pass", "✓"
			v.Glance.Pass++
		case Fail:
			row.Class, row.Mark = "fail", "✗"
			v.Glance.Fail++
		case NA:
			row.Class, row.Mark = "na", "–"
			v.Glance.NA++
		default:
			row.Class, row.Mark = "unknown", "?"
			v.Glance.Other++
		}
		v.Reqs = append(v.Reqs, row)
	}
}

// newTLSView counts the cipher suites the probe saw refused, accepted and weak.
func newTLSView(e TLSEvidence) tlsView {
	t := tlsView{TLSEvidence: e}
	for _, su := range e.Suites {
		switch {
		case !su.Accepted:
			t.SuitesRefused++
		case su.AEAD:
			t.SuitesAccepted++
			t.SuitesAEAD++
		default:
			t.SuitesAccepted++
			t.WeakAccepted++
		}
	}
	return t
}

// addScans lists the data-at-rest scans, each kind sorted, and totals their findings for
// the first page.
func (v *pageView) addScans(scans []ScanEvidence) {
	for _, sc := range scans {
		row := scanRow{ScanEvidence: sc}
		for _, k := range sortedKeys(sc.ByKind) {
			row.Kinds = append(row.Kinds, countRow{Label: k, Value: int64(sc.ByKind[k])})
		}
		v.Scans = append(v.Scans, row)
		v.Glance.Findings += sc.Findings
	}
}

// mapTable turns a summary map into a table sorted by key, with its total.
func mapTable(title, keyHeader string, m map[string]int64) countTable {
	t := countTable{Title: title, KeyHeader: keyHeader}
	for _, k := range sortedKeys(m) {
		t.Rows = append(t.Rows, countRow{Label: k, Value: m[k]})
		t.Total += m[k]
	}
	return t
}

// sortedKeys returns a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// dailyCharts draws one chart per daily series, with its total, peak and mean.
func dailyCharts(days []Day) []chartView {
	dates := make([]string, len(days))
	for i, d := range days {
		dates[i] = d.Date
	}
	series := []struct {
		title string
		get   func(Day) int64
	}{
		{"Tokenizations", func(d Day) int64 { return d.Tokenizations }},
		{"Charges", func(d Day) int64 { return d.Charges }},
		{"Refunds", func(d Day) int64 { return d.Refunds }},
		{"Webhooks", func(d Day) int64 { return d.Webhooks }},
		{"Refusals", func(d Day) int64 { return d.Refusals }},
	}
	charts := make([]chartView, 0, len(series))
	for _, s := range series {
		values := make([]int64, len(days))
		c := chartView{Title: s.title}
		for i, d := range days {
			values[i] = s.get(d)
			c.Total += values[i]
			if values[i] > c.Peak {
				c.Peak, c.PeakDay = values[i], d.Date
			}
		}
		if len(days) > 0 {
			c.Mean = strconv.FormatFloat(float64(c.Total)/float64(len(days)), 'f', 1, 64)
		}
		c.SVG = barChart(dates, chartSeries{Title: s.title, Values: values})
		charts = append(charts, c)
	}
	return charts
}

// orDash returns ss, or a single "-" when it is empty.
func orDash(ss []string) []string {
	if len(ss) == 0 {
		return []string{"-"}
	}
	return ss
}

// orDashS returns s, or "-" when it is empty.
func orDashS(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// orNotSet returns s, or "(not set)" when it is empty.
func orNotSet(s string) string {
	if s == "" {
		return "(not set)"
	}
	return s
}
