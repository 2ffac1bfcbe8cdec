package proxy

import (
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/scrub"
)

// Bounds of a CSP report post: browsers send one report (report-uri) or a small batch
// (Reporting API) of a few hundred bytes each.
const (
	maxCSPReportBody = 64 << 10
	maxCSPReports    = 32
	maxBlockedLen    = 200
)

// Where a CSP report's page is not one of the payment pages (the metric's and the
// record's page).
const otherPage = "other"

// limitedCSP is the limiter's label for CSP reports.
const limitedCSP = "csp_report"

// ErrBadCSPReport is a post to the CSP report endpoint that is not a CSP report.
var ErrBadCSPReport = errors.New("not a CSP violation report")

// cspViolation is one violation as tokenwall keeps it: every field bounded and scrubbed.
type cspViolation struct {
	page, blocked, directive, disposition string
}

// legacyReport is a report-uri post (application/csp-report).
type legacyReport struct {
	Report struct {
		DocumentURI        string `json:"document-uri"`
		BlockedURI         string `json:"blocked-uri"`
		EffectiveDirective string `json:"effective-directive"`
		ViolatedDirective  string `json:"violated-directive"`
		Disposition        string `json:"disposition"`
	} `json:"csp-report"`
}

// reportingAPIReport is one report of a Reporting API batch (application/reports+json).
type reportingAPIReport struct {
	Type string `json:"type"`
	URL  string `json:"url"`
	Body struct {
		DocumentURL        string `json:"documentURL"`
		BlockedURL         string `json:"blockedURL"`
		EffectiveDirective string `json:"effectiveDirective"`
		Disposition        string `json:"disposition"`
	} `json:"body"`
}

// cspReport receives the browsers' CSP violation reports of the payment pages (both the
// report-uri and the Reporting API format). The endpoint is unauthenticated by nature: the
// post is bounded, each post takes a token of the client's bucket (rate_limit), every field
// is reduced to a bounded, scrubbed value (the page among the configured ones, the blocked
// source's origin, a known directive), and the records go through an aggregator keyed by
// (page, blocked source, directive, disposition): the first is written at once, repeats as
// one record with a count per interval.
func (s *Server) cspReport(c echo.Context) error {
	r := c.Request()
	if s.limiter != nil {
		if ok, wait := s.limiter.Take(clientAddr(c.RealIP()), s.now()); !ok {
			return s.refuseLimited(c, limitedCSP, wait)
		}
	}
	body, err := ReadBody(r, maxCSPReportBody)
	if err != nil {
		return err
	}
	vs, err := parseCSPReports(r.Header.Get(echo.HeaderContentType), body, s.pageOf)
	if err != nil {
		s.metrics.pageReports.WithLabelValues("malformed").Inc()
		return err
	}
	s.metrics.pageReports.WithLabelValues("accepted").Inc()
	for _, v := range vs {
		s.metrics.pageViolations.WithLabelValues(v.page, v.directive, v.disposition).Inc()
		ev := audit.Event{Type: audit.EventPageScriptBlocked, Actor: audit.ActorAnonymous, Outcome: audit.Failure,
			Reason: audit.ReasonCSPViolation, Resource: "page:" + v.page, Details: map[string]string{audit.DetailPage: v.page,
				audit.DetailBlocked: v.blocked, audit.DetailDirective: v.directive, audit.DetailDisposition: v.disposition}}
		if err := Record(c, s.pageReports, ev); err != nil {
			return err
		}
	}
	return c.NoContent(http.StatusNoContent)
}

// pageOf names the payment page of a report's document URL: its path when that is a
// configured page, otherPage otherwise.
func (s *Server) pageOf(documentURL string) string {
	u, err := url.Parse(documentURL)
	if err != nil {
		return otherPage
	}
	if _, ok := s.pages.Page(u.Path); ok {
		return u.Path
	}
	return otherPage
}

// parseCSPReports reads a report post by its media type.
func parseCSPReports(contentType string, body []byte, pageOf func(string) string) ([]cspViolation, error) {
	mt, _, _ := mime.ParseMediaType(contentType)
	switch mt {
	case "application/csp-report", "application/json":
		var lr legacyReport
		if err := json.Unmarshal(body, &lr); err != nil || lr.Report.DocumentURI == "" {
			return nil, ErrBadCSPReport
		}
		d := lr.Report.EffectiveDirective
		if d == "" {
			d, _, _ = strings.Cut(lr.Report.ViolatedDirective, " ")
		}
		return []cspViolation{violation(pageOf(lr.Report.DocumentURI), lr.Report.BlockedURI, d, lr.Report.Disposition)}, nil
	case "application/reports+json":
		var batch []reportingAPIReport
		if err := json.Unmarshal(body, &batch); err != nil || len(batch) == 0 || len(batch) > maxCSPReports {
			return nil, ErrBadCSPReport
		}
		var out []cspViolation
		for _, rep := range batch {
			if rep.Type != "csp-violation" {
				continue
			}
			doc := rep.Body.DocumentURL
			if doc == "" {
				doc = rep.URL
			}
			out = append(out, violation(pageOf(doc), rep.Body.BlockedURL, rep.Body.EffectiveDirective, rep.Body.Disposition))
		}
		if len(out) == 0 {
			return nil, ErrBadCSPReport
		}
		return out, nil
	}
	return nil, ErrBadCSPReport
}

// violation bounds one report's fields.
func violation(page, blocked, directive, disposition string) cspViolation {
	return cspViolation{page: page, blocked: blockedSource(blocked), directive: knownDirective(directive),
		disposition: knownDisposition(disposition)}
}

// blockedSource reduces a report's blocked URI to what the record keeps: a keyword (inline,
// eval, …) or the origin of a URL, scrubbed and bounded; never its path or query, which a
// skimmer's beacon fills with the card.
func blockedSource(raw string) string {
	switch raw {
	case "inline", "eval", "wasm-eval", "self", "data", "blob", "trusted-types-policy", "trusted-types-sink":
		return raw
	case "":
		return "none"
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return "invalid"
	}
	src := strings.ToLower(u.Scheme) + ":"
	if u.Host != "" {
		src += "//" + strings.ToLower(u.Host)
	}
	src = string(scrub.Text([]byte(src)))
	if len(src) > maxBlockedLen {
		src = src[:maxBlockedLen]
	}
	return src
}

// knownDirectives are the directives a report may name; any other is "other".
var knownDirectives = map[string]bool{
	"script-src": true, "script-src-elem": true, "script-src-attr": true, "style-src": true, "style-src-elem": true,
	"style-src-attr": true, "img-src": true, "connect-src": true, "font-src": true, "frame-src": true, "form-action": true,
	"default-src": true, "base-uri": true, "object-src": true, "frame-ancestors": true, "media-src": true,
	"worker-src": true, "manifest-src": true, "child-src": true, "require-trusted-types-for": true, "trusted-types": true,
}

func knownDirective(d string) string {
	d = strings.ToLower(strings.TrimSpace(d))
	if knownDirectives[d] {
		return d
	}
	return "other"
}

func knownDisposition(d string) string {
	switch d {
	case "enforce", "report":
		return d
	}
	return "unknown"
}
