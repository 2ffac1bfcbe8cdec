package config

import (
	"net/url"
	"slices"
)

// RouteSetup, when Enabled, makes a tokenization route save the card for later
// (off-session) charges: after tokenizing, tokenwall creates and confirms a SetupIntent for
// the customer the form names and forwards its id, its status and, when the customer's bank
// wants them to authenticate (3-D Secure), the URL to send the browser to, in the signed
// body. The app sends the browser there by a top-level navigation and reads the setup on
// return (GET /v1/setup-intents/{id}). It needs api.enabled: the setup is the API's service.
type RouteSetup struct {
	Enabled bool `yaml:"enabled"`
	// CustomerField is the field (a dotted path for JSON) holding the gateway customer
	// (cus_…) the card is saved to.
	CustomerField string `yaml:"customer_field"`
	// Usage is "off_session" (the default: charged later without the customer) or
	// "on_session".
	Usage string `yaml:"usage"`
	// ReturnURL is where the bank sends the customer back; its origin must be one of
	// api.return_url_origins.
	ReturnURL string `yaml:"return_url"`
	// IDField, StatusField and RedirectField receive the setup's id, its status and the
	// redirect URL (defaults setup_intent, setup_status, setup_redirect).
	IDField       string `yaml:"id_field"`
	StatusField   string `yaml:"status_field"`
	RedirectField string `yaml:"redirect_field"`
}

// withDefaults fills an enabled setup's unset fields.
func (s RouteSetup) withDefaults() RouteSetup {
	if !s.Enabled {
		return s
	}
	setString(&s.Usage, "off_session")
	setString(&s.IDField, "setup_intent")
	setString(&s.StatusField, "setup_status")
	setString(&s.RedirectField, "setup_redirect")
	return s
}

// validate checks an enabled setup; key is its place, e.g. "routes[0].setup_intent".
func (s RouteSetup) validate(p *problems, key string, apiEnabled bool, origins []string) {
	if !s.Enabled {
		return
	}
	if !apiEnabled {
		p.addf(key+".enabled", "needs api.enabled (the setup is the API's payments service)")
	}
	p.required(key+".customer_field", s.CustomerField)
	p.oneOf(key+".usage", s.Usage, "off_session", "on_session")
	if p.required(key+".return_url", s.ReturnURL) {
		u, err := url.Parse(s.ReturnURL)
		if err != nil || u.Host == "" || u.User != nil || u.Fragment != "" || !(u.Scheme == "https" || u.Scheme == "http" && isLoopback(u.Hostname())) {
			p.addf(key+".return_url", "%q is not an https URL (http only on a loopback address) without credentials or fragment", s.ReturnURL)
		} else if o := u.Scheme + "://" + u.Host; !slices.Contains(origins, o) {
			p.addf(key+".return_url", "its origin %s is not one of api.return_url_origins", o)
		}
	}
	for name, v := range map[string]string{"id_field": s.IDField, "status_field": s.StatusField, "redirect_field": s.RedirectField} {
		p.required(key+"."+name, v)
	}
}
