package proxy

import (
	"github.com/tokenwall/tokenwall/logging"
	"github.com/tokenwall/tokenwall/scrub"
	"net/http"
	"net/url"
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

// composedOnce returns the chain mws as one Echo middleware, composed once at start. Echo
// composes e.Use's middleware around the handler its router found on every request, which
// costs a closure a middleware a request (14 of a pass-through's allocations); this chain
// ends in the handler the router put in the context, which is that same handler.
func composedOnce(mws []echo.MiddlewareFunc) echo.MiddlewareFunc {
	var chain echo.HandlerFunc = func(c echo.Context) error { return c.Handler()(c) }
	for i := len(mws) - 1; i >= 0; i-- {
		chain = mws[i](chain)
	}
	return func(echo.HandlerFunc) echo.HandlerFunc { return chain }
}

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
		newSecurityHeaders(cfg).middleware,
		// Before the body is read and before authentication: see limitClients.
		s.limitClients,
		middleware.BodyLimitWithConfig(middleware.BodyLimitConfig{Limit: strconv.FormatInt(s.maxBody, 10) + "B", Skipper: s.bodyUnlimited}),
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

// contextLogger attaches the request's summary record, with its id and the server's logger,
// to the request context: requestLog makes a logger carrying the id from it when a line is
// written (few requests write one; making it for each was three allocations a request).
func (s *Server) contextLogger(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		info := &requestInfo{log: &s.log}
		if ids := c.Response().Header()[echo.HeaderXRequestID]; len(ids) == 1 {
			info.idHeader = ids
		}
		ctx := withInfo(c.Request().Context(), info)
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
	s.metrics.requests.WithLabelValues(route, statusLabel(v.Status)).Inc()
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
	if u := c.Request().URL; u.RawQuery != "" {
		if keys := queryKeys(u.Query()); len(keys) > 0 {
			ev = ev.Strs(logging.FieldQueryKeys, keys)
		}
	}
	if t := info.tokenization; t != nil {
		ev = ev.Float64(logging.FieldGatewayMS, float64(info.gatewayLatency.Microseconds())/1000).
			Str(logging.FieldToken, t.token).Str(logging.FieldBrand, t.brand).Str(logging.FieldLast4, t.last4).
			Str(logging.FieldErrorCode, t.errorCode)
	}
	if info.auditLatency > 0 {
		ev = ev.Float64(logging.FieldAuditMS, float64(info.auditLatency.Microseconds())/1000)
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

// statusLabels are the status label values of 100–599, made once: strconv.Itoa allocates
// a string for every number over 99, which was an allocation a request.
var statusLabels = func() (out [600]string) {
	for i := 100; i < len(out); i++ {
		out[i] = strconv.Itoa(i)
	}
	return out
}()

// statusLabel is the metric label of an HTTP status.
func statusLabel(code int) string {
	if code >= 100 && code < len(statusLabels) {
		return statusLabels[code]
	}
	return strconv.Itoa(code)
}

// queryKeys are the names of a query's parameters, sorted, for the summary line.
func queryKeys(q url.Values) []string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// bodyUnlimited skips the body limit where it has nothing to do: a request without a body,
// or the webhook endpoint, which limits its body itself (isWebhookPath).
func (s *Server) bodyUnlimited(c echo.Context) bool {
	return c.Request().Body == http.NoBody || s.isWebhookPath(c)
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
