package app

import (
	"context"

	"github.com/rs/zerolog"

	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/logging"
	"github.com/tokenwall/tokenwall/proxy"
)

// auditRecorder is the trail as every part of tokenwall writes to it: a record that cannot
// be written is counted (tokenwall_audit_write_failures_total) and logged with its event type
// and cause, never its fields. Each caller decides what the failure means: a refusal still
// answers, an action is not taken.
type auditRecorder struct {
	trail   *audit.Trail
	metrics *proxy.Metrics
	log     zerolog.Logger
}

// Record writes ev durably.
func (r auditRecorder) Record(ctx context.Context, ev audit.Event) error {
	err := r.trail.Record(ctx, ev)
	if err != nil {
		r.metrics.AuditWriteFailed(ev.Type)
		r.log.Error().Str(logging.FieldAuditEvent, ev.Type).Err(err).Msg("audit record not written")
	}
	return err
}
