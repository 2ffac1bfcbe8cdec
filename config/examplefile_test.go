package config

import (
	"reflect"
	"testing"
)

// examplePath is the example configuration shipped in deploy/, relative to this package.
const examplePath = "../deploy/tokenwall.example.yaml"

func TestExampleFile(t *testing.T) {
	c, err := Load(examplePath, nil)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate:\n%v", err)
	}

	tests := []struct {
		name string
		got  any
		want any
	}{
		{name: "two routes", got: len(c.Routes), want: 2},
		{name: "one payment page", got: len(c.Pages), want: 1},
		{name: "payment page enforced", got: c.Pages[0].Mode + " " + c.Pages[0].Path, want: "enforce /checkout"},
		{name: "page checks hourly", got: c.PageChecks.Interval.D().String(), want: "1h0m0s"},
		{name: "form path", got: c.Routes[0].Path, want: "/checkout/submit"},
		{name: "form body", got: c.Routes[0].Body, want: "form"},
		{
			name: "form card",
			got:  c.Routes[0].Card,
			want: CardFields{Number: "card_number", Exp: "card_exp", CVC: "card_cvc", Name: "card_name"},
		},
		{name: "json path", got: c.Routes[1].Path, want: "/api/checkout"},
		{name: "json body", got: c.Routes[1].Body, want: "json"},
		{
			name: "json card",
			got:  c.Routes[1].Card,
			want: CardFields{
				Number:   "payment.card.number",
				ExpMonth: "payment.card.exp_month",
				ExpYear:  "payment.card.exp_year",
				CVC:      "payment.card.cvc",
			},
		},
		{name: "TLS", got: c.Listen.MinTLSVersion, want: "1.2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !reflect.DeepEqual(tc.got, tc.want) {
				t.Errorf("got %+v, want %+v", tc.got, tc.want)
			}
		})
	}
}

// TestExampleFileWithEnvironment fills the deployment-specific values the way a container
// would, from the environment, and switches Vault auth to a token file.
func TestExampleFileWithEnvironment(t *testing.T) {
	c, err := Load(examplePath, []string{
		"TOKENWALL_CONFIG=" + examplePath,
		"TOKENWALL_LISTEN_CERT_FILE=/run/tls/crt.pem",
		"TOKENWALL_LISTEN_KEY_FILE=/run/tls/key.pem",
		"TOKENWALL_VAULT_ADDRESS=http://127.0.0.1:8200",
		"TOKENWALL_VAULT_AUTH_METHOD=token",
		"TOKENWALL_VAULT_AUTH_TOKEN_FILE=/run/vault-token",
		"TOKENWALL_GATEWAY_STRIPE_API_URL=http://127.0.0.1:12111",
	})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate:\n%v", err)
	}
	if c.Listen.CertFile != "/run/tls/crt.pem" || c.Vault.Auth.TokenFile != "/run/vault-token" {
		t.Errorf("environment not applied: %+v %+v", c.Listen, c.Vault.Auth)
	}
}
