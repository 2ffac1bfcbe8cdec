package proxy

import (
	"context"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/rs/zerolog"

	"github.com/tokenwall/tokenwall/apikey"
	"github.com/tokenwall/tokenwall/logging"
)

// requestInfo is what the summary line reports about one request besides what Echo's
// request logger measures. Each field has one writer: the id (contextLogger), the
// tokenization's result (its handler, once, at the end), the upstream's status and error
// (the reverse proxy) and the error (errorHandler). The API key is held in the Echo context
// (SetAPIKey), once.
type requestInfo struct {
	// idHeader is the response's X-Request-Id values, [id] (nil when there is none); the
	// request to the app shares it.
	idHeader       []string
	log            *zerolog.Logger // the server's; requestLog adds the id
	tokenization   *tokenization
	gatewayLatency time.Duration
	auditLatency   time.Duration // the request's audit writes, added up
	upstreamStatus int
	err            error
}

type infoKey struct{}

func withInfo(ctx context.Context, i *requestInfo) context.Context {
	return context.WithValue(ctx, infoKey{}, i)
}

func infoFrom(ctx context.Context) *requestInfo {
	i, _ := ctx.Value(infoKey{}).(*requestInfo)
	return i
}

// requestLog is a logger for a line about the request ctx belongs to, carrying its request
// id; outside a request (no summary record) it writes nothing.
func requestLog(ctx context.Context) *zerolog.Logger {
	i := infoFrom(ctx)
	if i == nil || i.log == nil {
		l := zerolog.Nop()
		return &l
	}
	l := i.log.With().Str(logging.FieldRequestID, i.id()).Logger()
	return &l
}

// RequestID is tokenwall's id of the request ctx belongs to ("" outside a request).
func RequestID(ctx context.Context) string {
	if i := infoFrom(ctx); i != nil {
		return i.id()
	}
	return ""
}

// id is the request's id, from its X-Request-Id ("" when there is none).
func (i *requestInfo) id() string {
	if len(i.idHeader) == 1 {
		return i.idHeader[0]
	}
	return ""
}

// apiKeyContextKey holds the authenticated apikey.Key in the Echo context.
const apiKeyContextKey = "tokenwall.api_key"

// SetAPIKey records the request's authenticated API key: the API's handlers act for it and
// the summary line names it.
func SetAPIKey(c echo.Context, k apikey.Key) { c.Set(apiKeyContextKey, k) }

// APIKeyOf is the request's authenticated API key (zero before authentication).
func APIKeyOf(c echo.Context) apikey.Key {
	k, _ := c.Get(apiKeyContextKey).(apikey.Key)
	return k
}
