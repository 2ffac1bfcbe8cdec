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
	"time"
	"unicode/utf8"
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
	s := r.Summary

	v.Groups = []countGroup{
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
			{"Charges failed", s.ChargesFailed},
			{"Captures", s.Captures},
			{"Refunds", s.Refunds},
			{"Refunds failed", s.RefundsFailed},
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

	for _, e := range s.Erasures {
		v.Erasures = append(v.Erasures, erasureRow{Erasure: e, Duration: formatDurationMS(e.DurationMS)})
		if e.WithinSLA {
			v.ErasuresOK++
		} else {
			v.ErasuresNo++
		}
	}

	v.Charts = dailyCharts(r.Daily)

	for _, q := range r.Requirements {
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
	v.Glance.ChainOK = r.Evidence.Chain.OK
	v.Glance.ErasuresOver = v.ErasuresNo

	v.TLS = tlsView{TLSEvidence: r.Evidence.TLS}
	for _, su := range r.Evidence.TLS.Suites {
		switch {
		case !su.Accepted:
			v.TLS.SuitesRefused++
		case su.AEAD:
			v.TLS.SuitesAccepted++
			v.TLS.SuitesAEAD++
		default:
			v.TLS.SuitesAccepted++
			v.TLS.WeakAccepted++
		}
	}

	for _, sc := range r.Evidence.DataAtRest {
		row := scanRow{ScanEvidence: sc}
		for _, k := range sortedKeys(sc.ByKind) {
			row.Kinds = append(row.Kinds, countRow{Label: k, Value: int64(sc.ByKind[k])})
		}
		v.Scans = append(v.Scans, row)
		v.Glance.Findings += sc.Findings
	}

	v.Retention = retentionView{RetentionEvidence: r.Evidence.Retention,
		MeetsYear: r.Evidence.Retention.ConfiguredDays >= pciRetentionDays}

	v.Flow, v.FlowSteps = flowDiagram(r.Flow)
	return v
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

// timeLayout is how the report prints an instant: always UTC, to the second.
const timeLayout = "2006-01-02 15:04:05 UTC"

// formatTime prints t in UTC, or a dash for the zero time.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format(timeLayout)
}

// formatTimePtr prints *t, or none when t is nil.
func formatTimePtr(t *time.Time, none string) string {
	if t == nil {
		return none
	}
	return formatTime(*t)
}

// formatPeriod prints the period, From inclusive and To exclusive, with its length.
func formatPeriod(from, to time.Time) string {
	s := formatTime(from) + " – " + formatTime(to)
	if from.IsZero() || to.IsZero() || !to.After(from) {
		return s
	}
	days := to.Sub(from).Hours() / 24
	if days == float64(int64(days)) {
		return fmt.Sprintf("%s (%s days)", s, formatInt(int64(days)))
	}
	return fmt.Sprintf("%s (%s days)", s, strconv.FormatFloat(days, 'f', 1, 64))
}

// formatNum prints an integer of any of the report's integer types with thousands separators.
func formatNum(v any) string {
	switch n := v.(type) {
	case int:
		return formatInt(int64(n))
	case int64:
		return formatInt(n)
	default:
		return fmt.Sprint(v)
	}
}

// formatInt prints n with commas between thousands: 1201 is "1,201".
func formatInt(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// formatBytes prints a size in binary units, with the exact count when it is rounded.
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return formatInt(n) + " B"
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB (%s bytes)", float64(n)/float64(div), "KMGTP"[exp], formatInt(n))
}

// formatDurationMS prints a duration given in milliseconds for a reader who compares it with
// 48 hours: hours and minutes beyond an hour, down to milliseconds below a second.
func formatDurationMS(ms int64) string {
	d := time.Duration(ms) * time.Millisecond
	switch {
	case ms < 0:
		return "—"
	case d < time.Second:
		return fmt.Sprintf("%d ms", ms)
	case d < time.Minute:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%d min %02d s", int(d.Minutes()), int(d.Seconds())%60)
	default:
		return fmt.Sprintf("%d h %02d min", int(d.Hours()), int(d.Minutes())%60)
	}
}

// wrapText splits s into lines of at most width runes, breaking after spaces and commas where it
// can and inside a word where it must. Continuation lines are indented by two spaces.
func wrapText(s string, width int) []string {
	width = max(width, 8)
	if utf8.RuneCountInString(s) <= width {
		return []string{s}
	}
	var lines []string
	rest := []rune(s)
	limit := width
	for len(rest) > limit {
		cut := -1
		for i := limit; i > limit/2; i-- {
			if rest[i-1] == ' ' || rest[i-1] == ',' || rest[i-1] == '/' {
				cut = i
				break
			}
		}
		if cut < 0 {
			cut = limit
		}
		lines = append(lines, strings.TrimRight(string(rest[:cut]), " "))
		rest = []rune(strings.TrimLeft(string(rest[cut:]), " "))
		limit = width - 2
	}
	if len(rest) > 0 || len(lines) == 0 {
		lines = append(lines, string(rest))
	}
	for i := 1; i < len(lines); i++ {
		lines[i] = "  " + lines[i]
	}
	return lines
}

// joinOrNone joins field names with ", ", or says "(none)".
func joinOrNone(fields []string) string {
	if len(fields) == 0 {
		return "(none)"
	}
	return strings.Join(fields, ", ")
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
