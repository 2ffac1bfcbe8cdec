package webhooks

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/store"
)

// Errors of Replay.
var (
	// ErrNotDead means the event exists but is pending or delivered: only a dead event is
	// replayed.
	ErrNotDead = errors.New("webhook: only a dead event can be replayed")
	// ErrUnknownEvent means no event has that id.
	ErrUnknownEvent = errors.New("webhook: no such event")
	// ErrPayloadErased means the event's payload was erased on a customer's request: there is
	// nothing left to send.
	ErrPayloadErased = errors.New("webhook: the event's payload was erased")
)

// Replay makes the dead event id pending again, due at now, and records webhook_replayed
// naming actor, whatever the outcome. It returns ErrNotDead or ErrUnknownEvent (wrapped) when
// there is nothing to replay, and an error wrapping ErrUnavailable when the store or the
// audit trail fails.
func Replay(ctx context.Context, st store.Outbox, rec Recorder, id, actor, sourceIP, requestID string, now time.Time) error {
	ev := audit.Event{Type: audit.EventWebhookReplayed, Actor: actor, Outcome: audit.Success, Resource: id,
		SourceIP: sourceIP, RequestID: requestID, Time: now}
	var replayErr error
	it, err := st.GetOutbox(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		// The unknown id is not recorded: it came from the caller and may be anything.
		ev.Outcome, ev.Reason, ev.Resource = audit.Failure, "unknown_event", ""
		replayErr = fmt.Errorf("%w: %q", ErrUnknownEvent, id)
	case err != nil:
		return fmt.Errorf("%w: replay %s: %w", ErrUnavailable, id, err)
	case it.Status != store.StatusDead:
		ev.Outcome, ev.Reason = audit.Failure, "not_dead"
		replayErr = fmt.Errorf("%w: %s is %s", ErrNotDead, id, it.Status)
	case it.Payload == nil:
		ev.Outcome, ev.Reason = audit.Failure, "payload_erased"
		replayErr = fmt.Errorf("%w: %s", ErrPayloadErased, id)
	default:
		if err := st.ReplayOutbox(ctx, id, now); errors.Is(err, store.ErrNotFound) {
			// Another replay got there first: it is no longer dead.
			ev.Outcome, ev.Reason = audit.Failure, "not_dead"
			replayErr = fmt.Errorf("%w: %s was replayed meanwhile", ErrNotDead, id)
		} else if err != nil {
			return fmt.Errorf("%w: replay %s: %w", ErrUnavailable, id, err)
		}
	}
	if err := rec.Record(ctx, ev); err != nil {
		return errors.Join(replayErr, fmt.Errorf("%w: audit replay: %w", ErrUnavailable, err))
	}
	return replayErr
}
