package config

import (
	"strings"
	"testing"
)

// validConfig returns a configuration that passes Validate: Default plus what it leaves
// unset, a form route (routes[0]) and a JSON route (routes[1]).
func validConfig() Config {
	c := Default()
	c.Listen.CertFile = "/etc/tokenwall/tls.crt"
	c.Listen.KeyFile = "/etc/tokenwall/tls.key"
	c.Listen.PublicHosts = []string{"pay.example.com", "127.0.0.1"}
	c.Upstream.URL = "http://127.0.0.1:8080"
	c.Vault.Address = "https://vault.internal:8200"
	c.Routes = []Route{
		Route{
			Path: "/checkout/submit",
			Card: CardFields{Number: "card_number", Exp: "card_exp", CVC: "card_cvc", Name: "card_name"},
		}.WithDefaults(),
		Route{
			Path: "/api/checkout",
			Body: "json",
			Card: CardFields{
				Number:   "payment.card.number",
				ExpMonth: "payment.card.exp_month",
				ExpYear:  "payment.card.exp_year",
				CVC:      "payment.card.cvc",
			},
			Result: ResultFields{Token: "payment.payment_method", Error: "payment.card_error"},
		}.WithDefaults(),
	}
	return c
}

// problemLines splits a joined error into its messages.
func problemLines(err error) []string {
	if err == nil {
		return nil
	}
	return strings.Split(err.Error(), "\n")
}

// requireProblem fails t unless one message of err starts with key and contains want.
func requireProblem(t *testing.T, err error, key, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s: …%s…", key, want)
	}
	for _, line := range problemLines(err) {
		if strings.HasPrefix(line, key+": ") && strings.Contains(line, want) {
			return
		}
	}
	t.Fatalf("got error:\n%v\nwant a line %q containing %q", err, key+": ", want)
}
