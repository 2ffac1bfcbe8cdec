package proxy

import (
	"errors"
	"github.com/tokenwall/tokenwall/logging"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/scrub"
)

// alertOnly reports whether path is under one of card_escape.alert_paths, where a card
// outside a tokenization route is forwarded and alerted instead of refused.
func (s *Server) alertOnly(path string) bool {
	for _, p := range s.cfg.CardEscape.AlertPaths {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

// webhooksOn reports whether the gateway's webhook endpoint is served.
func (s *Server) webhooksOn() bool { return s.cfg.Webhooks.Enabled && s.webhooks != nil }

// isWebhookPath reports whether c is the webhook endpoint, which limits its body itself so
// that an oversized event is refused with an audit record.
func (s *Server) isWebhookPath(c echo.Context) bool {
	return s.webhooksOn() && c.Path() == s.cfg.Webhooks.Path
}

// allMethods are the methods a passthrough may use.
var allMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
	http.MethodPatch, http.MethodDelete, http.MethodOptions}

// routes registers tokenwall's own endpoints, each tokenization route, and the passthrough
// for everything else.
func (s *Server) routes() {
	s.echo.GET(healthPath, s.healthz)
	s.echo.GET(readyPath, s.readyz)
	if s.webhooksOn() {
		// Not a passthrough: the card-escape guard does not apply, the receiver verifies,
		// scrubs and keeps the event itself, and nothing is forwarded as it came.
		s.echo.Any(s.cfg.Webhooks.Path, echo.WrapHandler(s.webhooks))
	}
	if s.api != nil {
		// Everything under /v1 is the API's, never a passthrough to the upstream.
		s.api.Register(s.echo.Group("/v1"))
	}
	for i := range s.cfg.Routes {
		rt := s.cfg.Routes[i]
		h := s.tokenizeHandler(rt)
		for _, m := range allMethods {
			if slices.Contains(rt.Methods, m) {
				s.echo.Add(m, rt.Path, h)
			} else {
				s.echo.Add(m, rt.Path, s.passthrough)
			}
		}
	}
	if s.pages != nil && len(s.cfg.Pages) > 0 {
		// Not a passthrough: the browsers' CSP reports are tokenwall's own.
		s.echo.POST(s.cfg.PageChecks.ReportPath, s.cspReport)
		// After the routes: a page's GET and HEAD are the page's, whatever else its path is.
		for _, pc := range s.cfg.Pages {
			pg, _ := s.pages.Page(pc.Path)
			s.echo.GET(pc.Path, s.paymentPage(pg))
			s.echo.HEAD(pc.Path, s.paymentPage(pg))
		}
	}
	s.echo.Match(allMethods, "/*", s.passthrough)
	s.echo.Match(allMethods, "/", s.passthrough)
}

// passthrough forwards a request unchanged, unless it carries a card number (the card
// escape guard): a card on a path that is not a tokenization route is refused.
func (s *Server) passthrough(c echo.Context) error {
	r := c.Request()
	body, err := ReadBody(r, s.cfg.Listen.MaxBodyBytes.Int())
	if err != nil {
		return err
	}
	if encodedPart(r.Header.Get(echo.HeaderContentType), body) {
		return errEncodedPart
	}
	if where := CardEscape(r, body); where != "" {
		details := map[string]string{"where": where, "method": r.Method}
		if !s.alertOnly(r.URL.Path) {
			s.metrics.cardEscapes.WithLabelValues(where, "refused").Inc()
			aerr := s.record(c, audit.Event{Type: audit.EventCardEscapeBlocked, Outcome: audit.Failure,
				Reason: "card_outside_tokenization_route", Resource: MaskedPath(r), Details: details})
			return errors.Join(errCardEscape(where), aerr)
		}
		s.metrics.cardEscapes.WithLabelValues(where, "alerted").Inc()
		if err := s.record(c, audit.Event{Type: audit.EventCardEscapeAlerted, Outcome: audit.Success,
			Reason: "card_outside_tokenization_route", Resource: MaskedPath(r), Details: details}); err != nil {
			return err
		}
		requestLog(r.Context()).Warn().Str(logging.FieldPath, r.URL.Path).Str(logging.FieldCardWhere, where).
			Msg("card number outside a tokenization route: forwarded because the path is in card_escape.alert_paths")
	}
	s.upstream.ServeHTTP(c.Response(), r)
	return nil
}

// MaskedPath names the request path for the audit trail with any card in it masked.
func MaskedPath(r *http.Request) string {
	return "path:" + string(scrub.Text([]byte(r.URL.Path)))
}
