package proxy

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/tokenwall/tokenwall/config"
)

// contentSecurityPolicy allows the billing app's own pages and nothing else.
const contentSecurityPolicy = "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"

// securityHeaders are the headers tokenwall sets on every response, each value built once at
// start: a response gets the same slices (a header is replaced or appended to, which copies,
// never written in place), so setting them allocates nothing.
type securityHeaders struct {
	fixed http.Header // every response's (HSTS aside)
	hsts  []string    // Strict-Transport-Security, on HTTPS only; nil when hsts_max_age is 0
}

// newSecurityHeaders returns the headers of l: nosniff, DENY, no-referrer, the policy, and
// HSTS with subdomains when hsts_max_age is set (what Echo's Secure middleware set).
func newSecurityHeaders(l config.Listen) securityHeaders {
	s := securityHeaders{fixed: http.Header{
		echo.HeaderXContentTypeOptions:   {"nosniff"},
		echo.HeaderXFrameOptions:         {"DENY"},
		echo.HeaderReferrerPolicy:        {"no-referrer"},
		echo.HeaderContentSecurityPolicy: {contentSecurityPolicy},
	}}
	if l.HSTSMaxAge > 0 {
		s.hsts = []string{"max-age=" + strconv.Itoa(l.HSTSMaxAge) + "; includeSubdomains"}
	}
	return s
}

// middleware sets the headers before the handler runs; a payment page replaces the policy.
func (s securityHeaders) middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		for k, v := range s.fixed {
			h[k] = v
		}
		if s.hsts != nil && c.Scheme() == "https" {
			h[echo.HeaderStrictTransportSecurity] = s.hsts
		}
		return next(c)
	}
}

// FixedHeaders are the security headers tokenwall sets on every response but the policy;
// on a payment page they replace the app's, and its fingerprint holds them.
func FixedHeaders(l config.Listen) http.Header {
	s := newSecurityHeaders(l)
	h := s.fixed.Clone()
	h.Del(echo.HeaderContentSecurityPolicy)
	if s.hsts != nil {
		h[echo.HeaderStrictTransportSecurity] = s.hsts
	}
	return h
}
