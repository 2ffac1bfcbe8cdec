package devstack

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strings"
)

// setupIntent is the scenario's state of one SetupIntent
// (https://docs.stripe.com/api/setup_intents/object).
type setupIntent struct {
	id, secret         string
	created            int64
	customer           string
	description        string
	metadata           map[string]string
	pm                 string
	usage              string
	status             string
	returnURL          string
	wantsMandate       bool
	mandate            string
	lastErr            apiErr
	cancellationReason string
}

func (si *setupIntent) clone() setupIntent {
	c := *si
	c.metadata = maps.Clone(si.metadata)
	return c
}

// answerSetupIntent runs a SetupIntent call through the state machine and renders the answer
// over stripe-mock's fixture.
func (s *Scenario) answerSetupIntent(ctx context.Context, c *call, mock map[string]any) (answer, bool) {
	rt := c.route
	s.mu.Lock()
	var si *setupIntent
	var out outcome
	from := "created"
	if rt.id == "" {
		si, out = s.createSetupIntent(c.form)
	} else {
		known, ok := s.setups.get(rt.id)
		if !ok {
			s.mu.Unlock()
			return answer{}, false
		}
		si, from = known, known.status
		switch {
		case rt.action == "" && rt.method == http.MethodGet:
			out = ok200
		case rt.action == "":
			out = s.updateSetupIntent(si, c.form)
		case rt.action == "confirm":
			out = s.confirmSetupIntent(si, c.form)
		case rt.action == "cancel":
			out = s.cancelSetupIntent(si, c.form)
		}
	}
	c.note = fmt.Sprintf("setup_intent %s %s -> %s", si.id, from, si.status)
	snap := si.clone()
	m := s.methodCopy(si.pm)
	s.mu.Unlock()
	obj := s.renderSetupIntent(ctx, c, mock, snap, m)
	if out.status != http.StatusOK {
		return errorAnswer(out, m, "setup_intent", obj), true
	}
	return jsonAnswer(http.StatusOK, obj), true
}

// createSetupIntent makes a SetupIntent from the form, confirming it when asked. usage
// defaults to off_session, as in Stripe's API. The caller locks.
func (s *Scenario) createSetupIntent(form url.Values) (*setupIntent, outcome) {
	si := &setupIntent{
		id:          newID("seti_", 24),
		created:     now(),
		customer:    form.Get("customer"),
		description: form.Get("description"),
		metadata:    parseMetadata(form, nil),
		pm:          form.Get("payment_method"),
		usage:       orDefault(form.Get("usage"), "off_session"),
		returnURL:   form.Get("return_url"),
		status:      stRequiresPaymentMethod,
	}
	si.secret = newSecret(si.id)
	si.wantsMandate = asksMandate(form)
	if si.pm != "" {
		si.status = stRequiresConfirmation
	}
	s.setups.put(si.id, si)
	if isTrue(form.Get("confirm")) {
		return si, s.confirmSetupIntent(si, form)
	}
	return si, ok200
}

// asksMandate says whether the form sends mandate data, for which a successful setup
// carries a mandate id.
func asksMandate(form url.Values) bool {
	for k := range form {
		if strings.HasPrefix(k, "mandate_data[") || strings.HasPrefix(k, "payment_method_options[card][mandate_options]") {
			return true
		}
	}
	return false
}

// updateSetupIntent applies an update; a new payment method must be confirmed again. The
// caller locks.
func (s *Scenario) updateSetupIntent(si *setupIntent, form url.Values) outcome {
	si.metadata = parseMetadata(form, si.metadata)
	if form.Has("description") {
		si.description = form.Get("description")
	}
	if !form.Has("payment_method") && !form.Has("customer") {
		return ok200
	}
	if si.status != stRequiresPaymentMethod && si.status != stRequiresConfirmation && si.status != stRequiresAction {
		return setupUnexpected("update", si.status)
	}
	si.customer = orDefault(form.Get("customer"), si.customer)
	if pm := form.Get("payment_method"); pm != "" {
		si.pm, si.status = pm, stRequiresConfirmation
	}
	return ok200
}

// confirmSetupIntent confirms si as https://docs.stripe.com/payments/save-and-reuse
// describes: cards that authenticate on setup (3184, 3155) need requires_action; cards that
// always decline fail with a 402 card error; the others succeed, and a success with usage
// off_session sets the card up, so that 3155 charges off-session without authentication
// (https://docs.stripe.com/testing#regulatory-cards). The caller locks.
func (s *Scenario) confirmSetupIntent(si *setupIntent, form url.Values) outcome {
	switch si.status {
	case stRequiresPaymentMethod, stRequiresConfirmation, stRequiresAction:
	default:
		return setupUnexpected("confirm", si.status)
	}
	si.pm = orDefault(form.Get("payment_method"), si.pm)
	si.returnURL = orDefault(form.Get("return_url"), si.returnURL)
	si.wantsMandate = si.wantsMandate || asksMandate(form)
	if si.pm == "" {
		return outcome{status: http.StatusBadRequest, err: apiErr{
			typ: "invalid_request_error", code: "setup_intent_unexpected_state", param: "payment_method",
			message: "You cannot confirm this SetupIntent because it's missing a payment method. Update the payment_method property or pass one to confirm.",
		}}
	}
	si.lastErr = apiErr{}
	m := s.method(si.pm)
	switch m.card.behaviour {
	case behaveAuthAlways, behaveAuthUnlessSetUp:
		si.status = stRequiresAction
		s.emitSetup(si, "setup_intent.requires_action")
		return ok200
	case behaveDecline:
		// A $0 check passes with insufficient funds; the other decline cards refuse setup.
		if m.card.decline != "insufficient_funds" {
			si.status = stRequiresPaymentMethod
			si.lastErr = apiErr{
				typ: "card_error", code: "card_declined", decline: m.card.decline, message: declineMessage(m.card.decline),
				docURL: "https://stripe.com/docs/error-codes/card-declined", withMethod: true,
			}
			s.emitSetup(si, "setup_intent.setup_failed")
			return outcome{status: http.StatusPaymentRequired, err: si.lastErr}
		}
	}
	s.succeedSetup(si, m)
	return ok200
}

// succeedSetup completes a setup. The caller locks.
func (s *Scenario) succeedSetup(si *setupIntent, m *payMethod) {
	si.status, si.lastErr = stSucceeded, apiErr{}
	if si.wantsMandate && si.mandate == "" {
		si.mandate = newID("mandate_", 24)
	}
	if si.usage == "off_session" && m != nil {
		m.setUp = true
	}
	s.emitSetup(si, "setup_intent.succeeded")
}

// failSetupAuthentication records a denied challenge. The caller locks.
func (s *Scenario) failSetupAuthentication(si *setupIntent) {
	si.status = stRequiresPaymentMethod
	si.lastErr = apiErr{
		typ: "invalid_request_error", code: "setup_intent_authentication_failure", withMethod: true,
		message: "The latest attempt to set up the payment method has failed because authentication failed.",
		docURL:  "https://stripe.com/docs/error-codes/setup-intent-authentication-failure",
	}
	s.emitSetup(si, "setup_intent.setup_failed")
}

// cancelSetupIntent cancels si unless it has succeeded or is canceled already
// (https://docs.stripe.com/api/setup_intents/cancel). The caller locks.
func (s *Scenario) cancelSetupIntent(si *setupIntent, form url.Values) outcome {
	if si.status == stSucceeded || si.status == stCanceled {
		return setupUnexpected("cancel", si.status)
	}
	si.status, si.cancellationReason = stCanceled, form.Get("cancellation_reason")
	s.emitSetup(si, "setup_intent.canceled")
	return ok200
}

// setupUnexpected is Stripe's 400 for an action the SetupIntent's status does not allow.
func setupUnexpected(action, status string) outcome {
	out := unexpectedState(action, status, "requires_payment_method, requires_confirmation, requires_action")
	out.err.code = "setup_intent_unexpected_state"
	out.err.docURL = "https://stripe.com/docs/error-codes/setup-intent-unexpected-state"
	out.err.message = strings.ReplaceAll(out.err.message, "PaymentIntent", "SetupIntent")
	return out
}

// setupFields are the SetupIntent properties the scenario owns.
func (s *Scenario) setupFields(si setupIntent, m *payMethod) map[string]any {
	f := map[string]any{
		"id":                  si.id,
		"object":              "setup_intent",
		"client_secret":       si.secret,
		"created":             si.created,
		"customer":            nullable(si.customer),
		"description":         nullable(si.description),
		"metadata":            si.metadata,
		"last_setup_error":    si.lastErr.object(m),
		"latest_attempt":      nil,
		"livemode":            false,
		"mandate":             nullable(si.mandate),
		"next_action":         nil,
		"payment_method":      nullable(si.pm),
		"status":              si.status,
		"usage":               si.usage,
		"cancellation_reason": nullable(si.cancellationReason),
		"single_use_mandate":  nil,
	}
	if si.status == stRequiresAction {
		f["next_action"] = s.nextAction("setup_intent", si.id, si.secret, si.returnURL)
	}
	return f
}

// renderSetupIntent overlays the SetupIntent's state on stripe-mock's fixture.
func (s *Scenario) renderSetupIntent(ctx context.Context, c *call, mock map[string]any, si setupIntent, m *payMethod) map[string]any {
	origPM := mock["payment_method"]
	for k, v := range s.setupFields(si, m) {
		mock[k] = v
	}
	if c.expand["payment_method"] && m != nil {
		mock["payment_method"] = s.expanded(ctx, c, origPM, "/v1/payment_methods/"+m.id, methodObject(m), func(o map[string]any) {
			o["id"] = m.id
			patchCard(o, m.card)
		})
	}
	return mock
}
