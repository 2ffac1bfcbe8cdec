package proxy

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/rs/zerolog"

	"github.com/tokenwall/tokenwall/scrub"
)

// Log field names. Constant, so that dashboards and alerts can rely on them.
const (
	FieldRequestID      = "request_id"
	FieldRoute          = "route"
	FieldMethod         = "method"
	FieldPath           = "path"
	FieldQueryKeys      = "query_keys"
	FieldStatus         = "status"
	FieldLatencyMS      = "latency_ms"
	FieldGatewayMS      = "gateway_latency_ms"
	FieldToken          = "token"
	FieldBrand          = "brand"
	FieldLast4          = "last4"
	FieldErrorCode      = "error_code"
	FieldRemoteIP       = "remote_ip"
	FieldUserAgent      = "user_agent"
	FieldBytesIn        = "bytes_in"
	FieldBytesOut       = "bytes_out"
	FieldComponent      = "component"
	FieldSecret         = "secret_name"
	FieldUpstreamStatus = "upstream_status"
	FieldCardWhere      = "card_where"
	FieldAPIKey         = "api_key_id"
)

// NewLogger returns a JSON logger writing through s's scrub writer into w, at level
// (debug, info, warn, error); a nil s is scrub's default. Every logger tokenwall creates
// comes from here.
func NewLogger(w io.Writer, level string, s *scrub.Scrubber) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil || level == "" {
		return zerolog.Nop(), fmt.Errorf("log level %q: use debug, info, warn or error", level)
	}
	if s == nil {
		s = scrub.Default()
	}
	return zerolog.New(s.NewWriter(w)).Level(lvl).With().Timestamp().Logger(), nil
}

// ScrubErrorMarshaller is for zerolog.ErrorMarshalFunc: error strings are scrubbed before
// they are written, the second of the three layers (masked types, this, the scrub writer).
func ScrubErrorMarshaller(err error) any {
	if err == nil {
		return nil
	}
	return string(scrub.Text([]byte(err.Error())))
}

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
