package config

import (
	"reflect"
	"testing"
	"time"
)

// TestYAMLRoundTrip: what YAML writes, Parse reads back to the same configuration, for the
// defaults and for one with every section set.
func TestYAMLRoundTrip(t *testing.T) {
	full := Default()
	full.Listen.Addr, full.Admin.Addr = "127.0.0.1:8443", "127.0.0.1:9090"
	full.Upstream.URL = "http://127.0.0.1:8080"
	full.Vault.Address, full.Vault.Auth.TokenFile = "http://127.0.0.1:8200", "/run/tokenwall/vault-token"
	full.Vault.MaxAge = Duration(90 * time.Second)
	full.Routes = []Route{Route{Path: "/checkout/submit", Card: CardFields{Number: "card_number", Exp: "card_exp", CVC: "card_cvc"}}.WithDefaults()}
	full.Webhooks.Enabled, full.Webhooks.SecretPaths = true, []string{"tokenwall/stripe-webhook"}
	full.API.Enabled = true
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{name: "defaults", cfg: Default()},
		{name: "every section", cfg: full},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.cfg.YAML()
			if err != nil {
				t.Fatal(err)
			}
			got, err := Parse(b, nil)
			if err != nil {
				t.Fatalf("Parse of YAML's output: %v\n%s", err, b)
			}
			// Compared as written again: nil and empty lists read back alike.
			again, err := got.YAML()
			if err != nil {
				t.Fatal(err)
			}
			if string(again) != string(b) {
				t.Fatalf("round trip differs:\nwrote\n%s\nread back\n%s", b, again)
			}
			if !reflect.DeepEqual(got.Routes, tc.cfg.Routes) && len(tc.cfg.Routes) > 0 {
				t.Errorf("routes %+v, want %+v", got.Routes, tc.cfg.Routes)
			}
		})
	}
}
