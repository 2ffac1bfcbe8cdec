package webhooks

import (
	"regexp"
	"strings"

	"github.com/tokenwall/tokenwall/audit"
)

// DetailEvent names, in a payment_state record, the gateway event type that reported it;
// DetailEventID the event (the webhook_received record's resource).
const (
	DetailEvent   = "event"
	DetailEventID = "webhook_event"
)

// intentResults are the event types that report a payment's or setup's state, with the
// state as the audit trail names it (DetailResult). amount_capturable_updated is an
// authorized payment (requires_capture), which counts as succeeded.
var intentResults = map[string]string{
	"payment_intent.succeeded":                 audit.ResultSucceeded,
	"payment_intent.amount_capturable_updated": audit.ResultSucceeded,
	"payment_intent.payment_failed":            audit.ResultFailed,
	"payment_intent.canceled":                  audit.ResultCanceled,
	"payment_intent.requires_action":           audit.ResultRequiresAction,
	"setup_intent.succeeded":                   audit.ResultSucceeded,
	"setup_intent.setup_failed":                audit.ResultFailed,
	"setup_intent.canceled":                    audit.ResultCanceled,
}

// The gateway's intent id formats, as the gateway package has them (which webhooks may not
// import): a prefix and letters and digits.
var (
	paymentIntentIDRe = regexp.MustCompile(`^pi_[A-Za-z0-9]{1,255}$`)
	setupIntentIDRe   = regexp.MustCompile(`^seti_[A-Za-z0-9]{1,255}$`)
)

// stateRecord is the payment_state record of an accepted event that reports a payment's or
// setup's state, and false for any other event. Of the payload it keeps the intent id
// (data.object.id) only, and only when it has the shape of one: never another field.
func stateRecord(ev event) (audit.Event, bool) {
	result, ok := intentResults[ev.Type]
	if !ok {
		return audit.Event{}, false
	}
	rec := audit.Event{Type: audit.EventPaymentState, Actor: ActorGateway, Outcome: audit.Failure, Reason: result,
		Details: map[string]string{audit.DetailResult: result, DetailEvent: ev.Type, DetailEventID: ev.ID}}
	if result == audit.ResultSucceeded {
		rec.Outcome, rec.Reason = audit.Success, ""
	}
	idRe := paymentIntentIDRe
	if strings.HasPrefix(ev.Type, "setup_intent.") {
		idRe = setupIntentIDRe
	}
	if idRe.MatchString(ev.ObjectID) {
		rec.Resource = ev.ObjectID
	}
	return rec, true
}
