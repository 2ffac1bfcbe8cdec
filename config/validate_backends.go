package config

import (
	"fmt"
	"strings"
)

// validate checks the upstream.
func (u Upstream) validate(p *problems) {
	if parsed, ok := p.httpURL("upstream.url", u.URL); ok {
		if parsed.RawQuery != "" || parsed.ForceQuery {
			p.addf("upstream.url", "%q must not have a query", parsed.Redacted())
		}
		if parsed.Fragment != "" {
			p.addf("upstream.url", "%q must not have a fragment", parsed.Redacted())
		}
	}
	if u.MaxIdleConnsPerHost < 1 {
		p.addf("upstream.max_idle_conns_per_host", "must be at least 1, got %d", u.MaxIdleConnsPerHost)
	}
	if u.MaxConnsPerHost < max(u.MaxIdleConnsPerHost, 1) {
		p.addf("upstream.max_conns_per_host", "must be at least upstream.max_idle_conns_per_host (%d), got %d", u.MaxIdleConnsPerHost, u.MaxConnsPerHost)
	}
	p.positive("upstream.response_header_timeout", u.ResponseHeaderTimeout)
	if p.required("upstream.signature_header", u.SignatureHeader) && !isToken(u.SignatureHeader) {
		p.addf("upstream.signature_header", "%q is not a valid header name", u.SignatureHeader)
	}
	for i, up := range u.UpgradePaths {
		if !strings.HasPrefix(up, "/") || strings.ContainsAny(up, "?#*") {
			p.addf(fmt.Sprintf("upstream.upgrade_paths[%d]", i), "%q must be a path prefix starting with /", up)
		}
	}
}

// validate checks where the secrets are and how to authenticate.
func (v Vault) validate(p *problems) {
	p.httpURL("vault.address", v.Address)
	switch v.Auth.Method {
	case "token":
	case "approle":
		p.required("vault.auth.role_id", v.Auth.RoleID)
		p.required("vault.auth.secret_id_file", v.Auth.SecretIDFile)
	case "kubernetes":
		p.required("vault.auth.role", v.Auth.Role)
	default:
		p.addf("vault.auth.method", "%q is not one of token, approle, kubernetes", v.Auth.Method)
	}
	if v.Auth.Mount != "" {
		p.kvPath("vault.auth.mount", v.Auth.Mount)
	}
	p.kvPath("vault.kv_mount", v.KVMount)
	p.kvPath("vault.stripe_key_path", v.StripeKeyPath)
	p.kvPath("vault.signing_key_path", v.SigningKeyPath)
	p.kvPath("vault.audit_key_path", v.AuditKeyPath)
	p.kvPath("vault.audit_anchor_path", v.AuditAnchorPath)
	p.kvPath("vault.transit_mount", v.TransitMount)
	p.required("vault.transit_key_name", v.TransitKey)
	p.positive("vault.refresh_interval", v.RefreshInterval)
	p.positive("vault.max_age", v.MaxAge)
	p.positive("vault.timeout", v.Timeout)
	// Secrets must be re-read at least once before they expire, or every refresh is too late.
	if v.RefreshInterval > 0 && v.MaxAge > 0 && v.RefreshInterval >= v.MaxAge {
		p.addf("vault.refresh_interval", "%s must be less than vault.max_age (%s)", v.RefreshInterval, v.MaxAge)
	}
}

// validate checks the Stripe client settings.
func (s Stripe) validate(p *problems) {
	p.httpURL("gateway.stripe.api_url", s.APIURL)
	p.positive("gateway.stripe.timeout", s.Timeout)
	if s.MaxNetworkRetries < 0 || s.MaxNetworkRetries > 5 {
		p.addf("gateway.stripe.max_network_retries", "%d out of range (0-5)", s.MaxNetworkRetries)
	}
}

// isToken reports whether s is an HTTP token (RFC 9110 5.6.2), as a header name must be.
func isToken(s string) bool {
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || strings.ContainsRune("!#$%&'*+-.^_`|~", r)) {
			return false
		}
	}
	return s != ""
}
