package proxy

import (
	"context"
	"time"
)

// requestInfo is what the summary line reports about one request besides what Echo's
// request logger measures. Each field has one writer: the id (contextLogger), the
// tokenization's result (its handler, once, at the end), the upstream's status and error
// (the reverse proxy), the API key (the API's authentication) and the error (errorHandler).
type requestInfo struct {
	id             string
	tokenization   *tokenization
	gatewayLatency time.Duration
	upstreamStatus int
	err            error
	apiKey         string
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

// NoteAPIKey names the authenticated API key in the request's summary line.
func NoteAPIKey(ctx context.Context, id string) {
	if i := infoFrom(ctx); i != nil {
		i.apiKey = id
	}
}
