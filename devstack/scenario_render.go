package devstack

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
)

// payFields are the PaymentIntent properties the scenario owns, rendered from its state;
// expandable ones are ids. They overlay stripe-mock's fixture in API answers and make up the
// object of webhook events.
func (s *Scenario) payFields(p payIntent, m *payMethod) map[string]any {
	f := map[string]any{
		"id":                  p.id,
		"object":              "payment_intent",
		"amount":              p.amount,
		"amount_capturable":   p.amountCapturable,
		"amount_received":     p.amountReceived,
		"capture_method":      p.captureMethod,
		"client_secret":       p.secret,
		"confirmation_method": p.confirmationMethod,
		"created":             p.created,
		"currency":            p.currency,
		"customer":            nullable(p.customer),
		"description":         nullable(p.description),
		"metadata":            p.metadata,
		"last_payment_error":  p.lastErr.object(m),
		"latest_charge":       nullable(p.charge.id),
		"livemode":            false,
		"next_action":         nil,
		"payment_method":      nullable(p.pm),
		"setup_future_usage":  nullable(p.setupFutureUsage),
		"status":              p.status,
		"canceled_at":         nil,
		"cancellation_reason": nullable(p.cancellationReason),
		"processing":          nil,
	}
	if p.canceledAt != 0 {
		f["canceled_at"] = p.canceledAt
	}
	if p.status == stRequiresAction {
		f["next_action"] = s.nextAction("intent", p.id, p.secret, p.returnURL)
	}
	return f
}

// nextAction is the requires_action step (https://docs.stripe.com/payments/3d-secure): with a
// return_url the cardholder is sent to the challenge page (redirect_to_url); without one,
// Stripe.js would handle it (use_stripe_sdk), and the page's address is in stripe_js.
func (s *Scenario) nextAction(param, id, secret, returnURL string) map[string]any {
	q := url.Values{param: {id}, "client_secret": {secret}}
	page := s.url + pagePrefix + "authenticate?" + q.Encode()
	if returnURL != "" {
		return map[string]any{
			"type":            "redirect_to_url",
			"redirect_to_url": map[string]any{"url": page, "return_url": returnURL},
		}
	}
	return map[string]any{
		"type":           "use_stripe_sdk",
		"use_stripe_sdk": map[string]any{"type": "three_d_secure_redirect", "stripe_js": page},
	}
}

// renderPayIntent overlays the intent's state on stripe-mock's fixture and expands what the
// call asked for, keeping stripe-mock's shape of the expanded objects.
func (s *Scenario) renderPayIntent(ctx context.Context, c *call, mock map[string]any, p payIntent, m *payMethod) map[string]any {
	origPM, origCharge, origCustomer := mock["payment_method"], mock["latest_charge"], mock["customer"]
	for k, v := range s.payFields(p, m) {
		mock[k] = v
	}
	if c.expand["payment_method"] && m != nil {
		mock["payment_method"] = s.expanded(ctx, c, origPM, "/v1/payment_methods/"+m.id, methodObject(m), func(o map[string]any) {
			o["id"] = m.id
			patchCard(o, m.card)
		})
	}
	if c.expand["latest_charge"] && p.charge.id != "" {
		fallback := map[string]any{"id": p.charge.id, "object": "charge"}
		mock["latest_charge"] = s.expanded(ctx, c, origCharge, "/v1/charges/"+p.charge.id, fallback, func(o map[string]any) {
			patchCharge(o, p, m)
		})
	}
	if c.expand["customer"] && p.customer != "" {
		if o, ok := origCustomer.(map[string]any); ok {
			o["id"] = p.customer
			mock["customer"] = o
		}
	}
	return mock
}

// expanded returns an expanded object: stripe-mock's own when its answer had one, else one
// read from stripe-mock at path, else fallback; patch then writes the scenario's facts into it.
func (s *Scenario) expanded(ctx context.Context, c *call, orig any, path string, fallback map[string]any, patch func(map[string]any)) map[string]any {
	o, ok := orig.(map[string]any)
	if !ok {
		o = s.fetchObject(ctx, c.auth, path)
	}
	if o == nil {
		return fallback
	}
	patch(o)
	return o
}

// fetchObject reads one object from stripe-mock, or returns nil.
func (s *Scenario) fetchObject(ctx context.Context, auth, path string) map[string]any {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.mockURL.JoinPath(path).String(), nil)
	if err != nil {
		return nil
	}
	req.Header.Set("Authorization", auth)
	resp, err := s.fetch.Do(req)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil
	}
	var o map[string]any
	dec := json.NewDecoder(io.LimitReader(resp.Body, scnMaxAnswer))
	dec.UseNumber()
	if dec.Decode(&o) != nil {
		return nil
	}
	return o
}

// patchCharge writes the latest charge's facts into stripe-mock's charge fixture.
func patchCharge(o map[string]any, p payIntent, m *payMethod) {
	ch := p.charge
	ok := ch.status == "succeeded"
	o["id"], o["object"], o["created"] = ch.id, "charge", ch.created
	o["amount"], o["currency"] = p.amount, p.currency
	o["payment_intent"], o["payment_method"], o["customer"] = p.id, p.pm, nullable(p.customer)
	o["status"], o["paid"] = ch.status, ok
	o["captured"] = ok && p.status == stSucceeded
	o["amount_captured"] = p.amountReceived
	o["amount_refunded"], o["refunded"] = 0, false
	o["refunds"] = map[string]any{"object": "list", "data": []any{}, "has_more": false, "url": "/v1/charges/" + ch.id + "/refunds"}
	o["failure_code"], o["failure_message"] = nullable(ch.failureCode), nullable(ch.failureMessage)
	outcome := map[string]any{"type": "authorized", "network_status": "approved_by_network", "reason": nil, "risk_level": "normal", "seller_message": "Payment complete."}
	if !ok {
		outcome = map[string]any{"type": "issuer_declined", "network_status": "declined_by_network", "reason": nullable(ch.declineCode), "risk_level": "normal", "seller_message": "The bank did not return any further details with this decline."}
	}
	o["outcome"] = outcome
	if m == nil || m.card.last4 == "" {
		return
	}
	if d, _ := o["payment_method_details"].(map[string]any); d != nil {
		if card, _ := d["card"].(map[string]any); card != nil {
			card["last4"], card["brand"] = m.card.last4, m.card.brand
			if _, has := card["network"]; has {
				card["network"] = m.card.brand
			}
		}
	}
}

// object renders the error as Stripe's error object, or nil when there is none.
func (e apiErr) object(m *payMethod) map[string]any {
	if e.typ == "" {
		return nil
	}
	o := map[string]any{"type": e.typ, "message": e.message}
	for k, v := range map[string]string{"code": e.code, "decline_code": e.decline, "param": e.param, "doc_url": e.docURL, "charge": e.charge} {
		if v != "" {
			o[k] = v
		}
	}
	if e.withMethod && m != nil {
		o["payment_method"] = methodObject(m)
	}
	return o
}

// errorAnswer is an error answer carrying the object it is about under key ("payment_intent"
// or "setup_intent"), as Stripe's card and state errors do.
func errorAnswer(out outcome, m *payMethod, key string, obj map[string]any) answer {
	e := out.err.object(m)
	e[key] = obj
	return jsonAnswer(out.status, map[string]any{"error": e})
}

// jsonAnswer marshals v; the values are the scenario's own and always marshal.
func jsonAnswer(status int, v any) answer {
	b, err := json.Marshal(v)
	if err != nil {
		return answer{status: http.StatusInternalServerError, body: []byte(`{"error":{"type":"api_error","message":"scenario: unencodable answer"}}`)}
	}
	return answer{status: status, body: b}
}

// nullable renders "" as JSON null.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
