package devstack

import (
	"context"
	"net/http"

	"github.com/tokenwall/tokenwall/scrub"
)

// behaviour is what a test card does when charged or set up, from Stripe's test card tables
// (https://docs.stripe.com/testing#regulatory-cards, https://docs.stripe.com/testing#declined-payments).
type behaviour int

const (
	// behaveNone never asks for authentication.
	behaveNone behaviour = iota
	// behaveAuthAlways asks for authentication on every payment and setup, on- and
	// off-session (4000002760003184, 4000000000003220).
	behaveAuthAlways
	// behaveAuthUnlessSetUp asks for authentication on-session and on setup, and off-session
	// until the card has been set up for off-session use (4000002500003155).
	behaveAuthUnlessSetUp
	// behaveDecline declines every charge with a decline code (4000000000009995, …).
	behaveDecline
)

// String names the behaviour for the state dump.
func (b behaviour) String() string {
	switch b {
	case behaveNone:
		return "none"
	case behaveAuthAlways:
		return "authenticate_always"
	case behaveAuthUnlessSetUp:
		return "authenticate_unless_set_up"
	case behaveDecline:
		return "decline"
	}
	return "unknown"
}

// cardFacts is all the scenario keeps of a card: what it does, and the last four and brand
// that Stripe shows anyway. Never the number.
type cardFacts struct {
	behaviour behaviour
	decline   string // the decline code of behaveDecline
	last4     string
	brand     string
}

// testCards are the documented test card numbers with a behaviour other than success.
var testCards = map[string]cardFacts{
	"4000002760003184": {behaviour: behaveAuthAlways},
	"4000000000003220": {behaviour: behaveAuthAlways},
	"4000002500003155": {behaviour: behaveAuthUnlessSetUp},
	"4000000000009995": {behaviour: behaveDecline, decline: "insufficient_funds"},
	"4000000000000002": {behaviour: behaveDecline, decline: "generic_decline"},
	"4000000000009987": {behaviour: behaveDecline, decline: "lost_card"},
	"4000000000009979": {behaviour: behaveDecline, decline: "stolen_card"},
}

// testMethods are Stripe's test PaymentMethod ids with such a behaviour
// (https://docs.stripe.com/testing?testing-method=payment-methods).
var testMethods = map[string]cardFacts{
	"pm_card_authenticationRequired":               {behaviour: behaveAuthAlways, last4: "3184", brand: "visa"},
	"pm_card_threeDSecure2Required":                {behaviour: behaveAuthAlways, last4: "3220", brand: "visa"},
	"pm_card_authenticationRequiredOnSetup":        {behaviour: behaveAuthUnlessSetUp, last4: "3155", brand: "visa"},
	"pm_card_visa_chargeDeclinedInsufficientFunds": {behaviour: behaveDecline, decline: "insufficient_funds", last4: "9995", brand: "visa"},
	"pm_card_chargeDeclinedInsufficientFunds":      {behaviour: behaveDecline, decline: "insufficient_funds", last4: "9995", brand: "visa"},
	"pm_card_visa_chargeDeclined":                  {behaviour: behaveDecline, decline: "generic_decline", last4: "0002", brand: "visa"},
	"pm_card_chargeDeclined":                       {behaviour: behaveDecline, decline: "generic_decline", last4: "0002", brand: "visa"},
	"pm_card_visa_chargeDeclinedLostCard":          {behaviour: behaveDecline, decline: "lost_card", last4: "9987", brand: "visa"},
	"pm_card_visa_chargeDeclinedStolenCard":        {behaviour: behaveDecline, decline: "stolen_card", last4: "9979", brand: "visa"},
}

// stripeBrands are the card.brand values Stripe uses; other networks show as "unknown".
var stripeBrands = map[scrub.Brand]bool{
	scrub.Visa: true, scrub.Mastercard: true, scrub.Amex: true, scrub.Discover: true,
	scrub.JCB: true, scrub.Diners: true, scrub.UnionPay: true,
}

// classifyNumber keeps what a card number does, its last four and its brand; the number
// itself goes no further than this function.
func classifyNumber(number string) cardFacts {
	f := testCards[number]
	if len(number) >= 4 {
		f.last4 = number[len(number)-4:]
	}
	f.brand = "unknown"
	if b, ok := scrub.BrandPrefix(number); ok && stripeBrands[b] {
		f.brand = string(b)
	}
	return f
}

// payMethod is a PaymentMethod the scenario knows: created through it, or a test id used.
type payMethod struct {
	id      string
	card    cardFacts
	setUp   bool // set up for off-session use by a SetupIntent or setup_future_usage
	created int64
}

// method returns the PaymentMethod id, creating the record of a documented test id on first
// use. Unknown ids (stripe-mock's fixtures, pm_card_visa) behave as plain cards. The caller
// locks.
func (s *Scenario) method(id string) *payMethod {
	if id == "" {
		return nil
	}
	if m, ok := s.methods.get(id); ok {
		return m
	}
	if f, ok := testMethods[id]; ok {
		m := &payMethod{id: id, card: f, created: now()}
		s.methods.put(id, m)
		return m
	}
	return &payMethod{id: id}
}

// answerPayMethod gives a new PaymentMethod its own id and remembers its behaviour, or patches
// a known one's card facts into stripe-mock's fixture.
func (s *Scenario) answerPayMethod(_ context.Context, c *call, mock map[string]any) (answer, bool) {
	s.mu.Lock()
	var m *payMethod
	if c.route.id == "" {
		m = &payMethod{id: newID("pm_", 24), card: c.card, created: now()}
		s.methods.put(m.id, m)
		c.note = "payment_method " + m.id + " " + m.card.behaviour.String()
	} else {
		known, ok := s.methods.get(c.route.id)
		if !ok {
			s.mu.Unlock()
			return answer{}, false
		}
		m = known
		c.note = "payment_method " + m.id
	}
	facts, created := m.card, m.created
	s.mu.Unlock()
	mock["id"] = m.id
	if c.route.id == "" {
		mock["created"] = created
	}
	patchCard(mock, facts)
	return jsonAnswer(http.StatusOK, mock), true
}

// patchCard writes the card's last four and brand into a PaymentMethod object.
func patchCard(pm map[string]any, f cardFacts) {
	if f.last4 == "" {
		return
	}
	card, _ := pm["card"].(map[string]any)
	if card == nil {
		card = map[string]any{}
		pm["card"] = card
	}
	card["last4"] = f.last4
	card["brand"] = f.brand
	if _, ok := card["display_brand"]; ok {
		card["display_brand"] = f.brand
	}
	if nets, ok := card["networks"].(map[string]any); ok {
		nets["available"] = []any{f.brand}
	}
}

// methodObject is the short PaymentMethod object the scenario puts into errors and webhooks.
func methodObject(m *payMethod) map[string]any {
	if m == nil {
		return nil
	}
	obj := map[string]any{"id": m.id, "object": "payment_method", "type": "card", "livemode": false}
	if m.card.last4 != "" {
		obj["card"] = map[string]any{"last4": m.card.last4, "brand": m.card.brand}
	}
	return obj
}
