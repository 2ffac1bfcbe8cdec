package proxy

import (
	"github.com/tokenwall/tokenwall/logging"
	"github.com/tokenwall/tokenwall/scrub"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// validRequestID is what a client's X-Request-ID must look like to be logged beside
// tokenwall's own.
var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._:-]{8,64}$`)

func newRequestID() string { return scrub.NewLetterID(16) }

// contentSecurityPolicy allows the billing app's own pages and nothing else.
const contentSecurityPolicy = "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"

// middlewares returns the chain in the order of STYLE.md; the first is the outermost.
func (s *Server) middlewares() []echo.MiddlewareFunc {
	cfg := s.cfg.Listen
	return []echo.MiddlewareFunc{
		middleware.RecoverWithConfig(middleware.RecoverConfig{
			DisablePrintStack: true,
			LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
				s.log.Error().Err(err).Str(logging.FieldPath, c.Request().URL.Path).Bytes("stack", stack).Msg("panic recovered")
				return err
			},
		}),
		refuseMisdirected(newPublicHosts(cfg.PublicHosts), s.log),
		closeAfterChunked,
		setAsideClientRequestID,
		middleware.RequestIDWithConfig(middleware.RequestIDConfig{Generator: newRequestID}),
		s.contextLogger,
		middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
			LogStatus: true, LogLatency: true, LogURIPath: true, LogMethod: true, LogRemoteIP: true,
			LogRequestID: true, LogUserAgent: true, LogResponseSize: true,
			HandleError:   true,
			LogValuesFunc: s.summary,
		}),
		refuseOtherMethods,
		refuseEncodedBodies,
		s.refuseUpgrades,
		middleware.SecureWithConfig(middleware.SecureConfig{
			ContentTypeNosniff:    "nosniff",
			XFrameOptions:         "DENY",
			HSTSMaxAge:            cfg.HSTSMaxAge,
			ContentSecurityPolicy: contentSecurityPolicy,
			ReferrerPolicy:        "no-referrer",
		}),
		// Before the body is read and before authentication: see limitClients.
		s.limitClients,
		middleware.BodyLimitWithConfig(middleware.BodyLimitConfig{Limit: strconv.FormatInt(s.maxBody, 10) + "B", Skipper: s.isWebhookPath}),
		middleware.ContextTimeoutWithConfig(middleware.ContextTimeoutConfig{Timeout: cfg.RequestTimeout.D()}),
	}
}

// clientRequestIDKey holds a client's own X-Request-ID in the Echo context.
const clientRequestIDKey = "tokenwall.client_request_id"

// setAsideClientRequestID takes a client's X-Request-ID off the request, so that the request
// id in logs, audit records and the app's forward is always tokenwall's own: a client could
// otherwise choose an id the audit trail refuses (one shaped like an SSN) and so switch the
// trail off. A well-formed client id is kept for the summary line only (bounded by
// validRequestID; the log writer scrubs it too); it never reaches an audit record.
func setAsideClientRequestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Request().Header
		if id := h.Get(echo.HeaderXRequestID); id != "" {
			if validRequestID.MatchString(id) {
				c.Set(clientRequestIDKey, id)
			}
			h.Del(echo.HeaderXRequestID)
		}
		return next(c)
	}
}

// contextLogger attaches a logger carrying the request id, and the request's summary
// record, to the request context.
func (s *Server) contextLogger(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Response().Header().Get(echo.HeaderXRequestID)
		l := s.log.With().Str(logging.FieldRequestID, id).Logger()
		ctx := withInfo(l.WithContext(c.Request().Context()), &requestInfo{id: id})
		c.SetRequest(c.Request().WithContext(ctx))
		return next(c)
	}
}

// summary writes the one line per request: never a body, a query value or a header outside
// the allowlist (User-Agent).
func (s *Server) summary(c echo.Context, v middleware.RequestLoggerValues) error {
	info := infoFrom(c.Request().Context())
	if info == nil {
		info = &requestInfo{}
	}
	method := methodLabel(v.Method)
	route := routeLabel(c, s, info, method)
	s.metrics.requests.WithLabelValues(route, strconv.Itoa(v.Status)).Inc()
	s.metrics.latency.WithLabelValues(route).Observe(v.Latency.Seconds())

	ev := s.log.Info()
	if v.Status >= http.StatusInternalServerError {
		ev = s.log.Error()
	}
	ev = ev.Str(logging.FieldRequestID, v.RequestID).Str(logging.FieldRoute, route).Str(logging.FieldMethod, method).
		Str(logging.FieldPath, clip(v.URIPath, maxLoggedPath)).Int(logging.FieldStatus, v.Status).
		Float64(logging.FieldLatencyMS, float64(v.Latency.Microseconds())/1000).
		Str(logging.FieldRemoteIP, v.RemoteIP).Str(logging.FieldUserAgent, clip(v.UserAgent, maxLoggedHeader)).
		Int64(logging.FieldBytesIn, c.Request().ContentLength).Int64(logging.FieldBytesOut, v.ResponseSize)
	if q := c.Request().URL.Query(); len(q) > 0 {
		keys := make([]string, 0, len(q))
		for k := range q {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		ev = ev.Strs(logging.FieldQueryKeys, keys)
	}
	if t := info.tokenization; t != nil {
		ev = ev.Float64(logging.FieldGatewayMS, float64(info.gatewayLatency.Microseconds())/1000).
			Str(logging.FieldToken, t.token).Str(logging.FieldBrand, t.brand).Str(logging.FieldLast4, t.last4).
			Str(logging.FieldErrorCode, t.errorCode)
	}
	if info.upstreamStatus != 0 {
		ev = ev.Int(logging.FieldUpstreamStatus, info.upstreamStatus)
	}
	if id, ok := c.Get(clientRequestIDKey).(string); ok {
		ev = ev.Str(logging.FieldClientRequestID, id)
	}
	if k := APIKeyOf(c); k.ID != "" {
		ev = ev.Str(logging.FieldAPIKey, k.ID)
	}
	if info.err != nil {
		ev = ev.AnErr("error", info.err)
	}
	ev.Msg("request")
	return nil
}

// routeLabel names the request's route for the metrics and the summary line, from a closed
// set: a tokenization route's path, /healthz, /readyz, webhook, "api METHOD PATTERN" (Echo's
// registered pattern, never the raw path), other_method, or passthrough.
func routeLabel(c echo.Context, s *Server, info *requestInfo, method string) string {
	switch p := c.Path(); {
	case method == "OTHER":
		return "other_method"
	case info.tokenization != nil:
		return info.tokenization.route
	case p == healthPath || p == readyPath:
		return p
	case s.isWebhookPath(c):
		return "webhook"
	case s.api != nil && IsAPIPath(p):
		return "api " + method + " " + p
	}
	return "passthrough"
}

// Logged client text is cut before the log writer scrubs it: the writer's work follows the
// line's length, and a header may be up to listen.max_header_bytes.
const (
	maxLoggedHeader = 256
	maxLoggedPath   = 1024
)

// clip cuts s to at most n bytes, on a UTF-8 boundary, marking the cut with "…".
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
