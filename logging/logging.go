// Package logging sets up tokenwall's logs: zerolog over the scrub writer, the log field names
// (constants, so dashboards and alerts can rely on them), the error marshaller that scrubs
// error strings, and the log destination.
package logging

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/rs/zerolog"

	"github.com/tokenwall/tokenwall/config"
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
	FieldAuditMS        = "audit_latency_ms"
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
	FieldAddr           = "addr"
	// FieldAuditEvent is the type of an audit record a line is about.
	FieldAuditEvent = "audit_event"
	// FieldClientRequestID is a client's own X-Request-ID, logged beside tokenwall's.
	FieldClientRequestID = "client_request_id"
	FieldAdminAddr       = "admin_addr"
	// FieldPage, FieldFingerprint, FieldOnChange and FieldReason describe a payment page's
	// change (proxy/pages).
	FieldPage        = "page"
	FieldFingerprint = "fingerprint"
	FieldOnChange    = "on_change"
	FieldReason      = "reason"
)

// setup guards Setup.
var setup sync.Once

// Setup installs zerolog's process-wide settings, once: error strings scrubbed before any
// logger writes them (ErrorMarshaller) and millisecond Unix timestamps. zerolog keeps these
// in package variables; NewLogger calls Setup, so the tests get them as serve does, and
// main calls it before anything logs.
func Setup() {
	setup.Do(func() {
		zerolog.ErrorMarshalFunc = ErrorMarshaller
		zerolog.TimeFieldFormat = zerolog.TimeFormatUnixMs
	})
}

// NewLogger returns a JSON logger writing through s's scrub writer into w, at level
// (debug, info, warn, error); a nil s is scrub's default. Every logger tokenwall creates
// comes from here.
func NewLogger(w io.Writer, level string, s *scrub.Scrubber) (zerolog.Logger, error) {
	Setup()
	lvl, err := zerolog.ParseLevel(level)
	if err != nil || level == "" {
		return zerolog.Nop(), fmt.Errorf("log level %q: use debug, info, warn or error", level)
	}
	if s == nil {
		s = scrub.Default()
	}
	return zerolog.New(s.NewWriter(w)).Level(lvl).With().Timestamp().Logger(), nil
}

// ErrorMarshaller is for zerolog.ErrorMarshalFunc: error strings are scrubbed before
// they are written, the second of the three layers (masked types, this, the scrub writer).
func ErrorMarshaller(err error) any {
	if err == nil {
		return nil
	}
	return string(scrub.Text([]byte(err.Error())))
}

// Open returns the log destination: cfg.File (created 0600, its folder 0750, appended to)
// or stdout when no file is configured. The closer closes the file (a no-op for stdout).
func Open(cfg config.Log, stdout io.Writer) (io.Writer, io.Closer, error) {
	if cfg.File == "" {
		return stdout, io.NopCloser(nil), nil
	}
	if err := os.MkdirAll(filepath.Dir(cfg.File), 0o750); err != nil {
		return nil, nil, fmt.Errorf("log folder: %w", err)
	}
	f, err := os.OpenFile(cfg.File, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("log file: %w", err)
	}
	return f, f, nil
}
