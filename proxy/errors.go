package proxy

import (
	"errors"
	"github.com/tokenwall/tokenwall/logging"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/rs/zerolog"
)

// The kinds of failure a request can end in. Handlers wrap them with %w and detail; the
// error handler maps the kind to a status and a fixed message, and logs the detail.
var (
	ErrBadRequest       = errors.New("bad request")
	ErrUnsupportedMedia = errors.New("unsupported media type")
	ErrTooLarge         = errors.New("request body too large")
	ErrCardEscape       = errors.New("card number outside a card field")
	ErrUnavailable      = errors.New("service unavailable")
	ErrUpstream         = errors.New("upstream unavailable")
)

// problem is the status and fixed public message of an error kind. The client never sees
// an internal error string.
type problem struct {
	status  int
	message string
}

var problems = []struct {
	kind error
	problem
}{
	{ErrBadRequest, problem{http.StatusBadRequest, "malformed request"}},
	{ErrUnsupportedMedia, problem{http.StatusUnsupportedMediaType, "unsupported content type for this route"}},
	{ErrTooLarge, problem{http.StatusRequestEntityTooLarge, "request body too large"}},
	{ErrCardEscape, problem{http.StatusBadRequest, "card data is not accepted on this path"}},
	{ErrUnavailable, problem{http.StatusServiceUnavailable, "service temporarily unavailable"}},
	{ErrUpstream, problem{http.StatusBadGateway, "upstream unavailable"}},
}

func problemOf(err error) problem {
	for _, p := range problems {
		if errors.Is(err, p.kind) {
			return p.problem
		}
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		if he.Code == http.StatusRequestEntityTooLarge {
			return problem{he.Code, "request body too large"}
		}
		if he.Code < 500 {
			return problem{he.Code, http.StatusText(he.Code)}
		}
		return problem{he.Code, "service temporarily unavailable"}
	}
	return problem{http.StatusInternalServerError, "internal error"}
}

// errorHandler is the one place where an error becomes a response.
func errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	if info := infoFrom(c.Request().Context()); info != nil {
		info.err = err
	}
	if isAPIPath(c.Request().URL.Path) {
		ae := apiProblemOf(err)
		if ae.status >= 500 {
			zerolog.Ctx(c.Request().Context()).Error().Err(err).Int(logging.FieldStatus, ae.status).Msg("request failed")
		}
		writeProblem(c, ae)
		return
	}
	p := problemOf(err)
	if p.status >= 500 {
		zerolog.Ctx(c.Request().Context()).Error().Err(err).Int(logging.FieldStatus, p.status).Msg("request failed")
	}
	c.Response().Header().Set(echo.HeaderContentType, echo.MIMETextPlainCharsetUTF8)
	c.Response().Header().Set("Cache-Control", "no-store")
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(p.status)
		return
	}
	_ = c.String(p.status, p.message+"\n")
}
