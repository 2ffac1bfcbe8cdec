package devstack

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// PaymentIntent statuses, as https://docs.stripe.com/payments/paymentintents/lifecycle names
// them (processing never happens with cards here: they settle at once).
const (
	stRequiresPaymentMethod = "requires_payment_method"
	stRequiresConfirmation  = "requires_confirmation"
	stRequiresAction        = "requires_action"
	stRequiresCapture       = "requires_capture"
	stSucceeded             = "succeeded"
	stCanceled              = "canceled"
)

// payIntent is the scenario's state of one PaymentIntent.
type payIntent struct {
	id, secret         string
	created            int64
	amount             int64
	amountReceived     int64
	amountCapturable   int64
	currency           string
	customer           string
	description        string
	metadata           map[string]string
	captureMethod      string
	confirmationMethod string
	setupFutureUsage   string
	pm                 string
	status             string
	returnURL          string
	lastErr            apiErr
	charge             charge
	canceledAt         int64
	cancellationReason string
}

// clone copies p, metadata included, for rendering outside the lock.
func (p *payIntent) clone() payIntent {
	c := *p
	c.metadata = maps.Clone(p.metadata)
	return c
}

// charge is the latest charge of a PaymentIntent; id "" means none.
type charge struct {
	id             string
	status         string // succeeded or failed
	failureCode    string
	failureMessage string
	declineCode    string
	created        int64
}

// apiErr is a Stripe error object (https://docs.stripe.com/api/errors); typ "" means none.
type apiErr struct {
	typ, code, decline, message, param, docURL string
	charge                                     string
	withMethod                                 bool // carries the PaymentMethod, as card errors do
}

// outcome is the HTTP answer a transition calls for: 200, or an error status with err.
type outcome struct {
	status int
	err    apiErr
}

var ok200 = outcome{status: http.StatusOK}

// answerPayIntent runs a PaymentIntent call through the state machine and renders the answer
// over stripe-mock's fixture.
func (s *Scenario) answerPayIntent(ctx context.Context, c *call, mock map[string]any) (answer, bool) {
	rt := c.route
	s.mu.Lock()
	var p *payIntent
	var out outcome
	if rt.id == "" {
		p, out = s.createPayIntent(c.form)
	} else {
		known, ok := s.intents.get(rt.id)
		if !ok {
			s.mu.Unlock()
			return answer{}, false
		}
		p = known
		from := p.status
		switch {
		case rt.action == "" && rt.method == http.MethodGet:
			out = ok200
		case rt.action == "":
			out = s.updatePayIntent(p, c.form)
		case rt.action == "confirm":
			out = s.confirmPayIntent(p, c.form)
		case rt.action == "cancel":
			out = s.cancelPayIntent(p, c.form)
		case rt.action == "capture":
			out = s.capturePayIntent(p, c.form)
		}
		c.note = fmt.Sprintf("payment_intent %s %s -> %s", p.id, from, p.status)
	}
	if rt.id == "" {
		c.note = fmt.Sprintf("payment_intent %s created -> %s", p.id, p.status)
	}
	snap := p.clone()
	m := s.methodCopy(p.pm)
	s.mu.Unlock()
	obj := s.renderPayIntent(ctx, c, mock, snap, m)
	if out.status != http.StatusOK {
		return errorAnswer(out, m, "payment_intent", obj), true
	}
	return jsonAnswer(http.StatusOK, obj), true
}

// createPayIntent makes a PaymentIntent from the form, confirming it when asked. The caller
// locks.
func (s *Scenario) createPayIntent(form url.Values) (*payIntent, outcome) {
	amount, _ := strconv.ParseInt(form.Get("amount"), 10, 64) // stripe-mock has checked it
	p := &payIntent{
		id:                 newID("pi_", 24),
		created:            now(),
		amount:             amount,
		currency:           strings.ToLower(form.Get("currency")),
		customer:           form.Get("customer"),
		description:        form.Get("description"),
		metadata:           parseMetadata(form, nil),
		captureMethod:      orDefault(form.Get("capture_method"), "automatic"),
		confirmationMethod: orDefault(form.Get("confirmation_method"), "automatic"),
		setupFutureUsage:   form.Get("setup_future_usage"),
		pm:                 form.Get("payment_method"),
		returnURL:          form.Get("return_url"),
		status:             stRequiresPaymentMethod,
	}
	p.secret = newSecret(p.id)
	if p.pm != "" {
		p.status = stRequiresConfirmation
	}
	s.intents.put(p.id, p)
	if isTrue(form.Get("confirm")) {
		return p, s.confirmPayIntent(p, form)
	}
	return p, ok200
}

// updatePayIntent applies an update. Stripe lets description and metadata change at any
// time, the rest only before the payment is authorized. The caller locks.
func (s *Scenario) updatePayIntent(p *payIntent, form url.Values) outcome {
	p.metadata = parseMetadata(form, p.metadata)
	if form.Has("description") {
		p.description = form.Get("description")
	}
	changes := false
	for _, k := range []string{"amount", "currency", "customer", "payment_method", "capture_method", "setup_future_usage"} {
		changes = changes || form.Has(k)
	}
	if !changes {
		return ok200
	}
	if p.status != stRequiresPaymentMethod && p.status != stRequiresConfirmation && p.status != stRequiresAction {
		return unexpectedState("update", p.status, "requires_payment_method, requires_confirmation, requires_action")
	}
	if v, err := strconv.ParseInt(form.Get("amount"), 10, 64); err == nil {
		p.amount = v
	}
	p.currency = strings.ToLower(orDefault(form.Get("currency"), p.currency))
	p.customer = orDefault(form.Get("customer"), p.customer)
	p.captureMethod = orDefault(form.Get("capture_method"), p.captureMethod)
	p.setupFutureUsage = orDefault(form.Get("setup_future_usage"), p.setupFutureUsage)
	if pm := form.Get("payment_method"); pm != "" {
		// A new payment method must be confirmed again.
		p.pm, p.status = pm, stRequiresConfirmation
	}
	return ok200
}

// confirmPayIntent confirms p, with a new payment method when the form names one, and moves
// it as the card's behaviour says:
// https://docs.stripe.com/payments/paymentintents/lifecycle,
// https://docs.stripe.com/payments/3d-secure (on-session: requires_action with a redirect or
// use_stripe_sdk) and https://docs.stripe.com/payments/save-and-reuse (off-session: a 402
// authentication_required card error, the intent back to requires_payment_method). The caller
// locks.
func (s *Scenario) confirmPayIntent(p *payIntent, form url.Values) outcome {
	switch p.status {
	case stRequiresPaymentMethod, stRequiresConfirmation, stRequiresAction:
	default:
		return unexpectedState("confirm", p.status, "requires_payment_method, requires_confirmation, requires_action")
	}
	p.pm = orDefault(form.Get("payment_method"), p.pm)
	p.returnURL = orDefault(form.Get("return_url"), p.returnURL)
	p.captureMethod = orDefault(form.Get("capture_method"), p.captureMethod)
	p.setupFutureUsage = orDefault(form.Get("setup_future_usage"), p.setupFutureUsage)
	if p.pm == "" {
		return outcome{status: http.StatusBadRequest, err: apiErr{
			typ: "invalid_request_error", code: "payment_intent_unexpected_state", param: "payment_method",
			message: "You cannot confirm this PaymentIntent because it's missing a payment method. Update the payment_method property or pass one to confirm.",
		}}
	}
	p.lastErr = apiErr{}
	offSession := isTrue(form.Get("off_session"))
	m := s.method(p.pm)
	switch {
	case m.card.behaviour == behaveDecline:
		return s.failPayment(p, apiErr{
			typ: "card_error", code: "card_declined", decline: m.card.decline, message: declineMessage(m.card.decline),
			docURL: "https://stripe.com/docs/error-codes/card-declined",
		})
	case needsAuth(m, offSession) && offSession:
		return s.failPayment(p, apiErr{
			typ: "card_error", code: "authentication_required", decline: "authentication_required",
			message: "Your card was declined. This transaction requires authentication.",
			docURL:  "https://stripe.com/docs/error-codes/authentication-required",
		})
	case needsAuth(m, offSession):
		p.status, p.charge = stRequiresAction, charge{}
		s.emitPay(p, "payment_intent.requires_action")
		return ok200
	}
	s.authorizePayment(p, m)
	return ok200
}

// needsAuth says whether a payment with m asks the cardholder to authenticate
// (https://docs.stripe.com/testing#regulatory-cards).
func needsAuth(m *payMethod, offSession bool) bool {
	switch m.card.behaviour {
	case behaveAuthAlways:
		return true
	case behaveAuthUnlessSetUp:
		return !offSession || !m.setUp
	}
	return false
}

// authorizePayment charges the card: succeeded, or requires_capture with manual capture
// (https://docs.stripe.com/payments/place-a-hold-on-a-payment-method). A payment made with
// setup_future_usage=off_session sets the card up for later off-session payments
// (https://docs.stripe.com/payments/save-during-payment). The caller locks.
func (s *Scenario) authorizePayment(p *payIntent, m *payMethod) {
	p.lastErr = apiErr{}
	p.charge = charge{id: newID("ch_", 24), status: "succeeded", created: now()}
	if p.captureMethod == "manual" {
		p.status, p.amountCapturable = stRequiresCapture, p.amount
		s.emitPay(p, "payment_intent.amount_capturable_updated")
	} else {
		p.status, p.amountReceived = stSucceeded, p.amount
		s.emitPay(p, "payment_intent.succeeded")
	}
	if p.setupFutureUsage == "off_session" && m != nil {
		m.setUp = true
	}
}

// failPayment records a failed charge: the intent goes back to requires_payment_method with
// last_payment_error, and the answer is a 402 card error. The caller locks.
func (s *Scenario) failPayment(p *payIntent, e apiErr) outcome {
	p.charge = charge{id: newID("ch_", 24), status: "failed", failureCode: e.code, failureMessage: e.message, declineCode: e.decline, created: now()}
	e.charge, e.withMethod = p.charge.id, true
	p.status, p.lastErr = stRequiresPaymentMethod, e
	s.emitPay(p, "payment_intent.payment_failed")
	return outcome{status: http.StatusPaymentRequired, err: e}
}

// failAuthentication records a denied 3-D Secure challenge. The caller locks.
func (s *Scenario) failAuthentication(p *payIntent) {
	p.status = stRequiresPaymentMethod
	p.lastErr = apiErr{
		typ: "invalid_request_error", code: "payment_intent_authentication_failure", withMethod: true,
		message: "The provided PaymentMethod has failed authentication. You can provide payment_method_data or a new PaymentMethod to attempt to fulfill this PaymentIntent again.",
		docURL:  "https://stripe.com/docs/error-codes/payment-intent-authentication-failure",
	}
	s.emitPay(p, "payment_intent.payment_failed")
}

// cancelPayIntent cancels p unless it has succeeded or is canceled already
// (https://docs.stripe.com/api/payment_intents/cancel). The caller locks.
func (s *Scenario) cancelPayIntent(p *payIntent, form url.Values) outcome {
	if p.status == stSucceeded || p.status == stCanceled {
		return unexpectedState("cancel", p.status, "requires_payment_method, requires_capture, requires_confirmation, requires_action, processing")
	}
	p.status, p.amountCapturable = stCanceled, 0
	p.canceledAt, p.cancellationReason = now(), form.Get("cancellation_reason")
	s.emitPay(p, "payment_intent.canceled")
	return ok200
}

// capturePayIntent captures an authorized payment, all of it or amount_to_capture
// (https://docs.stripe.com/api/payment_intents/capture). The caller locks.
func (s *Scenario) capturePayIntent(p *payIntent, form url.Values) outcome {
	if p.status != stRequiresCapture {
		return unexpectedState("capture", p.status, "requires_capture")
	}
	amount := p.amountCapturable
	if v := form.Get("amount_to_capture"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 || n > p.amountCapturable {
			return outcome{status: http.StatusBadRequest, err: apiErr{
				typ: "invalid_request_error", code: "amount_too_large", param: "amount_to_capture",
				message: "The amount_to_capture must be positive and at most the amount_capturable.",
			}}
		}
		amount = n
	}
	p.status, p.amountReceived, p.amountCapturable = stSucceeded, amount, 0
	s.emitPay(p, "payment_intent.succeeded")
	return ok200
}

// unexpectedState is Stripe's 400 for an action the intent's status does not allow.
func unexpectedState(action, status, allowed string) outcome {
	return outcome{status: http.StatusBadRequest, err: apiErr{
		typ: "invalid_request_error", code: "payment_intent_unexpected_state",
		message: fmt.Sprintf("You cannot %s this PaymentIntent because it has a status of %s. Only a PaymentIntent with one of the following statuses may be %sed: %s.", action, status, strings.TrimSuffix(action, "e"), allowed),
		docURL:  "https://stripe.com/docs/error-codes/payment-intent-unexpected-state",
	}}
}

// declineMessage is Stripe's message for a decline code.
func declineMessage(code string) string {
	if code == "insufficient_funds" {
		return "Your card has insufficient funds."
	}
	return "Your card was declined."
}

// methodCopy returns a copy of the PaymentMethod record, for rendering outside the lock.
// The caller locks.
func (s *Scenario) methodCopy(id string) *payMethod {
	if id == "" {
		return nil
	}
	m := *s.method(id)
	return &m
}

// parseMetadata applies metadata[key]=value parameters to old: an empty value deletes the
// key, an empty "metadata" clears them all.
func parseMetadata(form url.Values, old map[string]string) map[string]string {
	out := maps.Clone(old)
	if out == nil {
		out = map[string]string{}
	}
	if form.Has("metadata") && form.Get("metadata") == "" {
		clear(out)
	}
	for k, vs := range form {
		key, ok := strings.CutPrefix(k, "metadata[")
		if !ok || !strings.HasSuffix(key, "]") || len(vs) == 0 {
			continue
		}
		key = strings.TrimSuffix(key, "]")
		if vs[0] == "" {
			delete(out, key)
		} else {
			out[key] = vs[0]
		}
	}
	return out
}

// isTrue reads a Stripe boolean parameter; off_session also takes the legacy "one_off" and
// "recurring".
func isTrue(v string) bool { return v != "" && v != "false" && v != "0" }

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func now() int64 { return time.Now().Unix() }
