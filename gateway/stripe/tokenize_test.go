package stripe_test

import (
	"context"
	"testing"
	"time"

	stripego "github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"

	"github.com/tokenwall/tokenwall/devstack"
	"github.com/tokenwall/tokenwall/gateway"
	"github.com/tokenwall/tokenwall/scrub"
)

// TestTokenizeAnswersWhatStripeHolds tokenizes Stripe's test Visa against stripe-mock (behind
// the dev stack's scenario) and creates the same PaymentMethod with stripe-go's own
// paymentmethod client, which decodes the whole answer: Tokenize, which decodes only the
// fields it keeps, answers what the whole PaymentMethod says (the id aside), and sends the
// idempotency key it was given.
func TestTokenizeAnswersWhatStripeHolds(t *testing.T) {
	f := newFront(t)
	g := f.gatewayAt(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pm, err := g.Tokenize(ctx, gateway.Card{Number: "4242424242424242", ExpMonth: 12, ExpYear: 2034, CVC: "123",
		Name: "Ada Lovelace", Brand: scrub.Visa}, "idem-tokenize-1")
	if err != nil {
		t.Fatalf("Tokenize: %v", err)
	}
	reqs := f.requests(0)
	if len(reqs) != 1 || reqs[0].Path != "/v1/payment_methods" || reqs[0].IdempotencyKey != "idem-tokenize-1" ||
		reqs[0].Params.Get("card[exp_year]") != "2034" || reqs[0].Params.Get("billing_details[name]") != "Ada Lovelace" {
		t.Fatalf("sent %+v, want one POST /v1/payment_methods with the card and Idempotency-Key idem-tokenize-1", reqs)
	}

	cfg := &stripego.BackendConfig{URL: stripego.String(f.srv.URL), HTTPClient: f.srv.Client()}
	api := client.New(devstack.StripeMockKey, &stripego.Backends{API: stripego.GetBackendWithConfig(stripego.APIBackend, cfg)})
	full, err := api.PaymentMethods.New(&stripego.PaymentMethodParams{Params: stripego.Params{Context: ctx},
		Type: stripego.String("card"), Card: &stripego.PaymentMethodCardParams{Number: stripego.String("4242424242424242"),
			ExpMonth: stripego.Int64(12), ExpYear: stripego.Int64(2034), CVC: stripego.String("123")}})
	if err != nil {
		t.Fatalf("creating the same PaymentMethod with stripe-go: %v", err)
	}
	full.ID = pm.ID // two creations, two ids
	want := gateway.PaymentMethod{ID: full.ID, Brand: string(full.Card.Brand), Last4: full.Card.Last4,
		ExpMonth: int(full.Card.ExpMonth), ExpYear: int(full.Card.ExpYear), Fingerprint: full.Card.Fingerprint}
	if pm != want || pm.Brand != "visa" || pm.Last4 != "4242" || pm.Fingerprint == "" {
		t.Errorf("Tokenize answered %+v, stripe-go's whole PaymentMethod says %+v", pm, want)
	}
}
