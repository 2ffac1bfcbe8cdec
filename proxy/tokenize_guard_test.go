package proxy

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/config"
	"github.com/tokenwall/tokenwall/gateway"
	"github.com/tokenwall/tokenwall/scrub"
)

// guardGateway is a gateway that tokenizes every card and counts its calls.
type guardGateway struct{ calls atomic.Int32 }

func (g *guardGateway) Tokenize(_ context.Context, c gateway.Card, _ string) (gateway.PaymentMethod, error) {
	g.calls.Add(1)
	return gateway.PaymentMethod{ID: "pm_test_1", Brand: string(c.Brand), Last4: c.Number[len(c.Number)-4:], ExpMonth: c.ExpMonth, ExpYear: c.ExpYear}, nil
}

func guardServer(gw gateway.Gateway) tokenizer {
	return tokenizer{
		metrics: NewMetrics(nil),
		gw:      gw,
		now:     func() time.Time { return time.Date(2026, time.November, 28, 12, 0, 0, 0, time.UTC) },
	}
}

func guardRoute(kind string) config.Route {
	return config.Route{
		Path:         "/pay",
		Body:         kind,
		MaxJSONDepth: 8,
		Card:         config.CardFields{Number: "card_number", Exp: "card_exp", CVC: "card_cvc"},
		Result:       config.ResultFields{Token: "payment_method", Last4: "card_last4", Error: "card_error"},
	}
}

// formWith returns a checkout form body with a valid card and note as the note field,
// escaped the way a browser does (spaces as '+').
func formWith(note string) string {
	v := url.Values{}
	v.Set("card_number", "4242424242424242")
	v.Set("card_exp", "12/34")
	v.Set("card_cvc", "123")
	v.Set("note", note)
	return v.Encode()
}

// TestTokenizeRefusesCardInOtherField covers tokenize's fail-closed check of the body that
// remains once the card fields are removed: a second card in any other field is refused and
// the gateway is never called.
func TestTokenizeRefusesCardInOtherField(t *testing.T) {
	mpBody := func(t *testing.T, note string) string {
		return string(buildMultipart(t,
			mpField{name: "card_number", data: []byte("4242424242424242")},
			mpField{name: "card_exp", data: []byte("12/34")},
			mpField{name: "card_cvc", data: []byte("123")},
			mpField{name: "note", data: []byte(note)},
		))
	}
	for _, tc := range []struct {
		name        string
		kind        string
		contentType string
		body        func(t *testing.T) string
	}{
		{name: "form plain", kind: kindForm, contentType: mediaTypes[kindForm], body: func(*testing.T) string { return formWith("5555555555554444") }},
		{name: "form dashes", kind: kindForm, contentType: mediaTypes[kindForm], body: func(*testing.T) string { return formWith("5555-5555-5555-4444") }},
		{name: "form spaces", kind: kindForm, contentType: mediaTypes[kindForm], body: func(*testing.T) string { return formWith("5555 5555 5555 4444") }},
		{name: "form spaces sent as percent-20", kind: kindForm, contentType: mediaTypes[kindForm], body: func(*testing.T) string {
			return strings.ReplaceAll(formWith("5555 5555 5555 4444"), "+", "%20")
		}},
		{name: "form amex spaces", kind: kindForm, contentType: mediaTypes[kindForm], body: func(*testing.T) string { return formWith("3782 822463 10005") }},
		{name: "json spaces", kind: kindJSON, contentType: mediaTypes[kindJSON], body: func(*testing.T) string {
			return `{"card_number":"4242424242424242","card_exp":"12/34","card_cvc":"123","note":"5555 5555 5555 4444"}`
		}},
		{name: "multipart spaces", kind: kindMultipart, contentType: "multipart/form-data; boundary=" + mpBoundary, body: func(t *testing.T) string {
			return mpBody(t, "5555 5555 5555 4444")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gw := &guardGateway{}
			s := guardServer(gw)
			out, _, _, err := s.tokenize(context.Background(), guardRoute(tc.kind), tc.contentType, []byte(tc.body(t)))
			if !errors.Is(err, ErrCardEscape) {
				// out holds a card number: say only whether one is in it.
				t.Errorf("tokenize error = %v, want ErrCardEscape (forwarded body %d bytes, raw card visible to scrub: %v)", err, len(out), scrub.ContainsPAN(out))
			}
			if n := gw.calls.Load(); n != 0 {
				t.Errorf("gateway called %d times for a refused body", n)
			}
		})
	}
}

func TestTokenizeFormForwardsToken(t *testing.T) {
	gw := &guardGateway{}
	s := guardServer(gw)
	out, ct, res, err := s.tokenize(context.Background(), guardRoute(kindForm), mediaTypes[kindForm], []byte(formWith("leave at the door")))
	if err != nil {
		t.Fatalf("tokenize: %v", err)
	}
	if ct != mediaTypes[kindForm] {
		t.Errorf("content type = %q", ct)
	}
	got, err := url.ParseQuery(string(out))
	if err != nil {
		t.Fatalf("forwarded body is not a form: %v", err)
	}
	for _, f := range []string{"card_number", "card_exp", "card_cvc"} {
		if got.Has(f) {
			t.Errorf("forwarded body keeps card field %s", f)
		}
	}
	if got.Get("payment_method") != "pm_test_1" || got.Get("card_last4") != "4242" || got.Get("note") != "leave at the door" {
		t.Errorf("forwarded fields = payment_method %q, card_last4 %q, note %q", got.Get("payment_method"), got.Get("card_last4"), got.Get("note"))
	}
	if gw.calls.Load() != 1 {
		t.Errorf("gateway called %d times, want 1", gw.calls.Load())
	}
	if res.token != "pm_test_1" || res.last4 != "4242" || res.route != "/pay" {
		t.Errorf("tokenization outcome token %q last4 %q route %q", res.token, res.last4, res.route)
	}
}
