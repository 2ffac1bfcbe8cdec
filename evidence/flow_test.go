package evidence

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/tokenwall/tokenwall/config"
)

// TestRedactURL: credentials in a URL's user part and sensitive query values never reach the
// report; the rest of the URL is kept.
func TestRedactURL(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    string
		secrets []string
	}{
		{name: "user and password", in: "https://billing:hunter2@billing.example/app", want: "https://billing.example/app", secrets: []string{"billing:", "hunter2"}},
		{name: "user only", in: "https://sk_live_abc123@api.example", want: "https://api.example", secrets: []string{"sk_live_abc123"}},
		{name: "key in the query", in: "https://billing.example/hooks?api_key=sk_test_4eC39HqLyjWDarjtT1zdp7dc&x=1",
			want: "https://billing.example/hooks?api_key=%5Bredacted%3Aapi_key%5D&x=1", secrets: []string{"4eC39HqLyjWDarjtT1zdp7dc"}},
		{name: "plain", in: "http://127.0.0.1:12111", want: "http://127.0.0.1:12111"},
		{name: "empty", in: "", want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := redactURL(tc.in)
			if got != tc.want {
				t.Errorf("redactURL(%q) = %q, want %q", tc.in, got, tc.want)
			}
			for _, s := range tc.secrets {
				if strings.Contains(got, s) {
					t.Errorf("redactURL(%q) = %q still holds %q", tc.in, got, s)
				}
			}
		})
	}
}

// TestFlowOf: the data flow drawn from the configuration lists the card and result fields
// of every route, the webhook path and delivery URL only when webhooks are on, and no
// credential of any URL it shows.
func TestFlowOf(t *testing.T) {
	base := config.Config{
		Listen:   config.Listen{Addr: "0.0.0.0:8443"},
		Upstream: config.Upstream{URL: "https://app:upstream-pass@billing.internal:8080/"},
		Gateway:  config.Gateway{Stripe: config.Stripe{APIURL: "https://sk_test_gw:x@stripe.internal"}},
		Routes: []config.Route{{Path: "/checkout", Methods: []string{"POST"}, Body: "form",
			Card:   config.CardFields{Number: "card_number", Exp: "card_exp", CVC: "card_cvc"},
			Result: config.ResultFields{Token: "pm", Brand: "brand", Last4: "last4", Error: "card_error"}}},
		API: config.API{Enabled: true},
	}
	withHooks := base
	withHooks.Webhooks = config.Webhooks{Enabled: true, Path: "/webhooks/stripe", DeliverPath: "/webhooks/tokenwall"}

	tests := []struct {
		name           string
		cfg            config.Config
		wantWebhooks   string
		wantDeliverURL string
	}{
		{name: "webhooks off", cfg: base},
		{name: "webhooks on", cfg: withHooks, wantWebhooks: "/webhooks/stripe", wantDeliverURL: "https://billing.internal:8080/webhooks/tokenwall"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := flowOf(tc.cfg)
			if f.Listen != "0.0.0.0:8443" || f.Upstream != "https://billing.internal:8080/" || f.Gateway != "https://stripe.internal" || !f.API {
				t.Errorf("flow: %+v", f)
			}
			if f.Webhooks != tc.wantWebhooks || f.DeliverURL != tc.wantDeliverURL {
				t.Errorf("webhooks %q deliver %q, want %q %q", f.Webhooks, f.DeliverURL, tc.wantWebhooks, tc.wantDeliverURL)
			}
			if len(f.Routes) != 1 {
				t.Fatalf("routes: %+v", f.Routes)
			}
			r := f.Routes[0]
			if r.Path != "/checkout" || r.Body != "form" || !slices.Equal(r.Methods, []string{"POST"}) {
				t.Errorf("route: %+v", r)
			}
			if want := []string{"card_number", "card_exp", "card_cvc"}; !slices.Equal(r.CardFields, want) {
				t.Errorf("card fields %v, want %v (unset ones left out)", r.CardFields, want)
			}
			if want := []string{"pm", "brand", "last4", "", "", "", "card_error"}; !slices.Equal(r.ResultFields, want) {
				t.Errorf("result fields %q, want %q", r.ResultFields, want)
			}
			b, err := json.Marshal(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range []string{"upstream-pass", "app:", "sk_test_gw"} {
				if strings.Contains(string(b), s) {
					t.Errorf("the flow shows %q: %s", s, b)
				}
			}
		})
	}
}
