package report

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Reports at the edges: empty, nil where a map or slice is expected, one day, a leap year,
// idle days, and a writer that fails.

// countBars counts the bars of the charts: one <rect> with a <title> per day with activity.
func countBars(page string) int {
	return strings.Count(page, `<rect x=`) - strings.Count(page, `rx="6"`)
}

func TestHTMLEdgeCases(t *testing.T) {
	start := time.Date(2024, time.January, 1, 0, 0, 0, 0, time.UTC) // 2024 is a leap year: 366 days
	tests := []struct {
		name   string
		report func() Report
		check  func(t *testing.T, page string)
	}{
		{name: "zero report", report: func() Report { return Report{} }, check: func(t *testing.T, page string) {
			text := visibleText(page)
			for _, want := range []string{"No daily volume: the report has no days.", "No requirements in the report.",
				"No erasure requests in the period.", "No tokenization routes configured.", "No API keys.", "(no tokenization routes)"} {
				if !strings.Contains(text, want) {
					t.Errorf("page does not say %q", want)
				}
			}
			if n := strings.Count(page, `<svg class="chart"`); n != 0 {
				t.Errorf("%d charts without days", n)
			}
		}},
		{name: "nil maps and slices", report: func() Report {
			r := fixtureReport()
			r.Summary.TokenizeFailuresByCode = nil
			r.Summary.TokenizationsByBrand = nil
			r.Summary.WebhookRejectionsByReason = nil
			r.Summary.APIRefusalsByReason = nil
			r.Summary.Erasures = nil
			r.Evidence.DataAtRest[1].ByKind = nil
			r.Requirements[0].Evidence = nil
			r.Flow.Routes[0].CardFields = nil
			return r
		}, check: func(t *testing.T, page string) {
			summary := visibleText(pageSection(t, page, "summary"))
			for _, want := range []string{"Tokenize failures by code Code Count none", "API refusals by reason Reason Count none",
				"Erasures over 48 h: 0 of 0 (0 within 48 h)."} {
				if !strings.Contains(summary, want) {
					t.Errorf("summary does not say %q", want)
				}
			}
		}},
		{name: "one day", report: func() Report {
			r := fixtureReport()
			r.Daily = fixtureDays(start, 1)
			return r
		}, check: func(t *testing.T, page string) {
			if n := strings.Count(page, `<svg class="chart"`); n != 5 {
				t.Errorf("%d charts, want 5", n)
			}
			if !strings.Contains(page, ">2024-01-01</text>") {
				t.Error("the single day is not labelled")
			}
			for _, m := range regexp.MustCompile(`<rect x="[\d.]+" y="[\d.]+" width="([\d.]+)"`).FindAllStringSubmatch(page, -1) {
				if m[1] != svgNum(maxBarW) && m[1] != svgNum(colLeftW) && m[1] != svgNum(colMidW) && m[1] != svgNum(colRightW) {
					t.Errorf("bar width %s for a single day, want %s", m[1], svgNum(maxBarW))
				}
			}
		}},
		{name: "366 days", report: func() Report {
			r := fixtureReport()
			r.From, r.To = start, start.AddDate(1, 0, 0)
			r.Daily = fixtureDays(start, 366)
			return r
		}, check: func(t *testing.T, page string) {
			text := visibleText(page)
			if !strings.Contains(text, "2024-01-01 00:00:00 UTC – 2025-01-01 00:00:00 UTC (366 days)") {
				t.Error("period is not 366 days")
			}
			// Every day has tokenizations, charges and webhooks; refunds and refusals skip some.
			if n := strings.Count(page, "<title>2024-12-31: "); n < 3 {
				t.Errorf("last day drawn in %d charts, want at least 3", n)
			}
			// Month labels, not 366 day labels.
			for _, month := range []string{">2024-01</text>", ">2024-07</text>", ">2024-12</text>"} {
				if strings.Count(page, month) != 5 {
					t.Errorf("month label %s is not on each of the 5 charts", month)
				}
			}
			if n := strings.Count(page, ">2024-03-15</text>"); n != 0 {
				t.Errorf("day label on a year-long chart")
			}
		}},
		{name: "366 days of zero", report: func() Report {
			r := fixtureReport()
			r.Daily = make([]Day, 366)
			for i := range r.Daily {
				r.Daily[i].Date = start.AddDate(0, 0, i).Format("2006-01-02")
			}
			return r
		}, check: func(t *testing.T, page string) {
			if n := countBars(page); n != 0 {
				t.Errorf("%d bars for days without activity", n)
			}
			if !strings.Contains(visibleText(page), "Tokenizations per day — total 0, mean 0.0 a day") {
				t.Error("chart caption wrong for an idle year")
			}
		}},
		{name: "obsolete tls accepted", report: func() Report {
			r := fixtureReport()
			r.Evidence.TLS.Versions[1].Accepted = true // TLS 1.1
			return r
		}, check: func(t *testing.T, page string) {
			if !strings.Contains(visibleText(page), "TLS 1.0 refused TLS 1.1 accepted (obsolete) TLS 1.2 accepted TLS 1.3 accepted") {
				t.Error("an accepted TLS 1.1 is not marked obsolete")
			}
		}},
		{name: "flow without webhooks or api", report: func() Report {
			r := fixtureReport()
			r.Flow.Webhooks, r.Flow.DeliverURL, r.Flow.API = "", "", false
			return r
		}, check: func(t *testing.T, page string) {
			flow := pageSection(t, page, "flow")
			if n := strings.Count(flow, "<polygon"); n != 3 {
				t.Errorf("%d arrows, want 3", n)
			}
			if strings.Contains(flow, "/v1 API: on") || strings.Contains(flow, "webhooks at:") {
				t.Error("diagram shows webhooks or the API though neither is set")
			}
		}},
		{name: "flow with everything", report: fixtureReport, check: func(t *testing.T, page string) {
			flow := pageSection(t, page, "flow")
			if n := strings.Count(flow, "<polygon"); n != 7 {
				t.Errorf("%d arrows, want 7", n)
			}
			if n := strings.Count(flow, `<li value=`); n != 7 {
				t.Errorf("%d steps, want 7", n)
			}
		}},
		{name: "erasure not completed", report: func() Report {
			r := fixtureReport()
			r.Summary.Erasures = []Erasure{{Receipt: "er_open", Subject: "subj_open", RequestedAt: r.From, DurationMS: -1}}
			return r
		}, check: func(t *testing.T, page string) {
			if !strings.Contains(visibleText(page), "er_open subj_open 2026-11-01 00:00:00 UTC — — NO over 48 h") {
				t.Error("open erasure not shown as over 48 h with no completion")
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			page := renderPage(t, tc.report())
			for _, title := range []string{"Period summary", "Daily volume", "Requirements", "Evidence", "Payment pages", "Card data flow"} {
				if !strings.Contains(page, "<h2>"+title+"</h2>") {
					t.Errorf("no section %q", title)
				}
			}
			tc.check(t, page)
		})
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestHTMLReportsWriteError(t *testing.T) {
	err := HTML(failingWriter{}, fixtureReport())
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("HTML to a failing writer: %v, want the write error", err)
	}
}
