package proxy

import (
	"context"
	"time"
)

// requestInfo collects what the summary line reports about one request. Handlers fill it;
// the request logger writes it once at the end.
type requestInfo struct {
	id             string
	route          string
	token          string
	brand          string
	last4          string
	errorCode      string
	gatewayLatency time.Duration
	upstreamStatus int
	err            error
	// apiKey is the id of the /v1 caller's key.
	apiKey string
}

type infoKey struct{}

func withInfo(ctx context.Context, i *requestInfo) context.Context {
	return context.WithValue(ctx, infoKey{}, i)
}

func infoFrom(ctx context.Context) *requestInfo {
	i, _ := ctx.Value(infoKey{}).(*requestInfo)
	return i
}
