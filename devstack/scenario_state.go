package devstack

import (
	"encoding/json"
	"fmt"
)

// IntentSnapshot is the state of a PaymentIntent or SetupIntent at one moment, for tests.
type IntentSnapshot struct {
	// ID is the intent's id (pi_… or seti_…).
	ID string `json:"id"`
	// Object is "payment_intent" or "setup_intent".
	Object string `json:"object"`
	// Status is the intent's status, such as requires_action or succeeded.
	Status string `json:"status"`
	// PaymentMethod is the PaymentMethod id, or "".
	PaymentMethod string `json:"payment_method,omitempty"`
	// Customer is the customer id, or "".
	Customer string `json:"customer,omitempty"`
	// Amount, AmountReceived and AmountCapturable are a PaymentIntent's amounts.
	Amount           int64 `json:"amount,omitempty"`
	AmountReceived   int64 `json:"amount_received,omitempty"`
	AmountCapturable int64 `json:"amount_capturable,omitempty"`
	// Currency is a PaymentIntent's currency.
	Currency string `json:"currency,omitempty"`
	// CaptureMethod is a PaymentIntent's capture method.
	CaptureMethod string `json:"capture_method,omitempty"`
	// Usage is a SetupIntent's usage.
	Usage string `json:"usage,omitempty"`
	// NextAction is the type of the next action in requires_action, or "".
	NextAction string `json:"next_action,omitempty"`
	// LastErrorCode is the code of last_payment_error or last_setup_error, or "".
	LastErrorCode string `json:"last_error_code,omitempty"`
	// Mandate is a SetupIntent's mandate id, or "".
	Mandate string `json:"mandate,omitempty"`
}

// Intent returns the state of the PaymentIntent id, and false when the scenario does not
// know it.
func (s *Scenario) Intent(id string) (IntentSnapshot, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.intents.get(id)
	if !ok {
		return IntentSnapshot{}, false
	}
	return p.snapshot(), true
}

// SetupIntent returns the state of the SetupIntent id, and false when the scenario does not
// know it.
func (s *Scenario) SetupIntent(id string) (IntentSnapshot, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	si, ok := s.setups.get(id)
	if !ok {
		return IntentSnapshot{}, false
	}
	return si.snapshot(), true
}

func (p *payIntent) snapshot() IntentSnapshot {
	out := IntentSnapshot{
		ID: p.id, Object: "payment_intent", Status: p.status, PaymentMethod: p.pm, Customer: p.customer,
		Amount: p.amount, AmountReceived: p.amountReceived, AmountCapturable: p.amountCapturable,
		Currency: p.currency, CaptureMethod: p.captureMethod, LastErrorCode: p.lastErr.code,
	}
	if p.status == stRequiresAction {
		out.NextAction = "use_stripe_sdk"
		if p.returnURL != "" {
			out.NextAction = "redirect_to_url"
		}
	}
	return out
}

func (si *setupIntent) snapshot() IntentSnapshot {
	out := IntentSnapshot{
		ID: si.id, Object: "setup_intent", Status: si.status, PaymentMethod: si.pm, Customer: si.customer,
		Usage: si.usage, LastErrorCode: si.lastErr.code, Mandate: si.mandate,
	}
	if si.status == stRequiresAction {
		out.NextAction = "use_stripe_sdk"
		if si.returnURL != "" {
			out.NextAction = "redirect_to_url"
		}
	}
	return out
}

// methodState is what the dump shows of a PaymentMethod: everything the scenario keeps.
type methodState struct {
	ID        string `json:"id"`
	Behaviour string `json:"behaviour"`
	Decline   string `json:"decline_code,omitempty"`
	Last4     string `json:"last4,omitempty"`
	Brand     string `json:"brand,omitempty"`
	SetUp     bool   `json:"set_up"`
}

// Dump returns everything the scenario keeps, as JSON, oldest first: PaymentMethods (their
// behaviour, last four and brand, never a card number), PaymentIntents and SetupIntents.
func (s *Scenario) Dump() ([]byte, error) {
	s.mu.Lock()
	var out struct {
		PaymentMethods []methodState    `json:"payment_methods"`
		PaymentIntents []IntentSnapshot `json:"payment_intents"`
		SetupIntents   []IntentSnapshot `json:"setup_intents"`
	}
	s.methods.each(func(m *payMethod) {
		out.PaymentMethods = append(out.PaymentMethods, methodState{
			ID: m.id, Behaviour: m.card.behaviour.String(), Decline: m.card.decline,
			Last4: m.card.last4, Brand: m.card.brand, SetUp: m.setUp,
		})
	})
	s.intents.each(func(p *payIntent) { out.PaymentIntents = append(out.PaymentIntents, p.snapshot()) })
	s.setups.each(func(si *setupIntent) { out.SetupIntents = append(out.SetupIntents, si.snapshot()) })
	s.mu.Unlock()
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("devstack: scenario dump: %w", err)
	}
	return b, nil
}

// logf writes one line to the scenario's log.
func (s *Scenario) logf(format string, args ...any) {
	_, _ = fmt.Fprintf(s.log, "scenario: "+format+"\n", args...)
}
