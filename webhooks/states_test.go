package webhooks_test

import (
	"strings"
	"testing"

	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/webhooks"
)

// TestReceivePaymentStates: an accepted event reporting a payment's or setup's state writes
// one payment_state record (the intent id from data.object.id, the state, the event type)
// with its acceptance; a duplicate writes none; other events none; an id of the wrong shape
// is not copied, nor is any other field of the payload.
func TestReceivePaymentStates(t *testing.T) {
	const pi, seti = `"id":"pi_3Q0PsIJvEtkwdCNY1abcdEFG"`, `"id":"seti_1Q0PsIJvEtkwdCNYsetup01"`
	object := func(id, status string) string {
		return `{` + id + `,"object":"x","status":"` + status + `","last_payment_error":{"code":"card_declined","message":"Zq7 declined"}}`
	}
	tests := []struct {
		name, typ, object string
		outcome, result   string
		resource          string
	}{
		{name: "payment succeeded", typ: "payment_intent.succeeded", object: object(pi, "succeeded"),
			outcome: audit.Success, result: audit.ResultSucceeded, resource: "pi_3Q0PsIJvEtkwdCNY1abcdEFG"},
		{name: "payment authorized", typ: "payment_intent.amount_capturable_updated", object: object(pi, "requires_capture"),
			outcome: audit.Success, result: audit.ResultSucceeded, resource: "pi_3Q0PsIJvEtkwdCNY1abcdEFG"},
		{name: "payment failed", typ: "payment_intent.payment_failed", object: object(pi, "requires_payment_method"),
			outcome: audit.Failure, result: audit.ResultFailed, resource: "pi_3Q0PsIJvEtkwdCNY1abcdEFG"},
		{name: "payment canceled", typ: "payment_intent.canceled", object: object(pi, "canceled"),
			outcome: audit.Failure, result: audit.ResultCanceled, resource: "pi_3Q0PsIJvEtkwdCNY1abcdEFG"},
		{name: "payment requires action", typ: "payment_intent.requires_action", object: object(pi, "requires_action"),
			outcome: audit.Failure, result: audit.ResultRequiresAction, resource: "pi_3Q0PsIJvEtkwdCNY1abcdEFG"},
		{name: "setup succeeded", typ: "setup_intent.succeeded", object: object(seti, "succeeded"),
			outcome: audit.Success, result: audit.ResultSucceeded, resource: "seti_1Q0PsIJvEtkwdCNYsetup01"},
		{name: "setup failed", typ: "setup_intent.setup_failed", object: object(seti, "requires_payment_method"),
			outcome: audit.Failure, result: audit.ResultFailed, resource: "seti_1Q0PsIJvEtkwdCNYsetup01"},
		{name: "setup canceled", typ: "setup_intent.canceled", object: object(seti, "canceled"),
			outcome: audit.Failure, result: audit.ResultCanceled, resource: "seti_1Q0PsIJvEtkwdCNYsetup01"},
		{name: "a payment event naming a setup", typ: "payment_intent.succeeded", object: object(seti, "succeeded"),
			outcome: audit.Success, result: audit.ResultSucceeded, resource: ""},
		{name: "an id of the wrong shape", typ: "payment_intent.payment_failed", object: object(`"id":"pi_Zq7 <script>"`, "x"),
			outcome: audit.Failure, result: audit.ResultFailed, resource: ""},
		{name: "no id", typ: "setup_intent.canceled", object: `{"object":"setup_intent"}`,
			outcome: audit.Failure, result: audit.ResultCanceled, resource: ""},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			id := "evt_1Q0PsIJvEtkwdCNYstate" + string(rune('a'+i))
			body := stripeEvent(id, tc.typ, tc.object)
			e.mustReceive(body)
			recs := e.audits(audit.EventPaymentState)
			if len(recs) != 1 {
				t.Fatalf("%d payment_state records, want 1", len(recs))
			}
			r := recs[0]
			d := details(t, r)
			if r.Actor != webhooks.ActorGateway || r.Outcome != tc.outcome || r.Resource != tc.resource ||
				d[audit.DetailResult] != tc.result || d[webhooks.DetailEvent] != tc.typ || d[webhooks.DetailEventID] != id || len(d) != 3 {
				t.Errorf("payment_state %+v details %v", r, d)
			}
			if strings.Contains(r.Details+r.Reason+r.Resource, "Zq7") || strings.Contains(r.Details, "card_declined") {
				t.Errorf("payment_state copies the payload: %+v", r)
			}
			if res := e.mustReceive(body); !res.Duplicate {
				t.Fatal("the second delivery is not a duplicate")
			}
			if n := len(e.audits(audit.EventPaymentState)); n != 1 {
				t.Errorf("%d payment_state records after a duplicate, want 1", n)
			}
			if n := len(e.audits(audit.EventWebhookReceived)); n != 2 {
				t.Errorf("%d webhook_received records, want 2 (the delivery is audited as before)", n)
			}
		})
	}
	t.Run("other events write none", func(t *testing.T) {
		e := newEnv(t, nil)
		for i, typ := range []string{"charge.succeeded", "payment_intent.created", "invoice.paid", "setup_intent.created"} {
			e.mustReceive(stripeEvent("evt_1Q0PsIJvEtkwdCNYother"+string(rune('a'+i)), typ, paymentIntent))
		}
		if n := len(e.audits(audit.EventPaymentState)); n != 0 {
			t.Errorf("%d payment_state records for events reporting no state", n)
		}
	})
}
