package config

import (
	"strings"
	"testing"
)

// TestRouteSetupRefused names each bad setup_intent of a tokenization route.
func TestRouteSetupRefused(t *testing.T) {
	for name, tc := range map[string]struct {
		setup RouteSetup
		api   bool
		want  string
	}{
		"without the API":      {RouteSetup{Enabled: true, CustomerField: "customer", ReturnURL: "https://shop.example/r"}, false, "needs api.enabled"},
		"no customer field":    {RouteSetup{Enabled: true, ReturnURL: "https://shop.example/r"}, true, "customer_field: required"},
		"no return url":        {RouteSetup{Enabled: true, CustomerField: "customer"}, true, "return_url: required"},
		"http return url":      {RouteSetup{Enabled: true, CustomerField: "customer", ReturnURL: "http://shop.example/r"}, true, "not an https URL"},
		"return url fragment":  {RouteSetup{Enabled: true, CustomerField: "customer", ReturnURL: "https://shop.example/r#x"}, true, "not an https URL"},
		"return url elsewhere": {RouteSetup{Enabled: true, CustomerField: "customer", ReturnURL: "https://evil.example/r"}, true, "not one of api.return_url_origins"},
		"unknown usage":        {RouteSetup{Enabled: true, CustomerField: "customer", ReturnURL: "https://shop.example/r", Usage: "sometimes"}, true, "usage"},
	} {
		t.Run(name, func(t *testing.T) {
			c := validConfig()
			c.API.Enabled = tc.api
			c.API.ReturnURLOrigins = []string{"https://shop.example"}
			c.Routes[0].Setup = tc.setup.withDefaults()
			if tc.setup.Usage != "" {
				c.Routes[0].Setup.Usage = tc.setup.Usage
			}
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate() = %v; want an error containing %q", err, tc.want)
			}
		})
	}
	c := validConfig()
	c.API.Enabled = true
	c.API.ReturnURLOrigins = []string{"https://shop.example"}
	c.Routes[0].Setup = RouteSetup{Enabled: true, CustomerField: "customer", ReturnURL: "https://shop.example/r"}.withDefaults()
	if err := c.Validate(); err != nil {
		t.Errorf("a valid setup is refused: %v", err)
	}
	if s := c.Routes[0].Setup; s.Usage != "off_session" || s.IDField != "setup_intent" || s.RedirectField != "setup_redirect" {
		t.Errorf("defaults %+v", s)
	}
}
