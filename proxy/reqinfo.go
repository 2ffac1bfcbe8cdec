package proxy

import (
	"context"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/tokenwall/tokenwall/apikey"
)

// requestInfo is what the summary line reports about one request besides what Echo's
// request logger measures. Each field has one writer: the id (contextLogger), the
// tokenization's result (its handler, once, at the end), the upstream's status and error
// (the reverse proxy) and the error (errorHandler). The API key is held in the Echo context
// (SetAPIKey), once.
type requestInfo struct {
	id             string
	tokenization   *tokenization
	gatewayLatency time.Duration
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

// RequestID is tokenwall's id of the request ctx belongs to ("" outside a request).
func RequestID(ctx context.Context) string {
	if i := infoFrom(ctx); i != nil {
		return i.id
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
