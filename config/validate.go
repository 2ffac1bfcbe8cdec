package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// Validate returns every problem in c, joined, each naming its key path and the bad value,
// e.g. "listen.addr: port 70000 out of range (1-65535)". It returns nil when c is usable.
// Messages never print a URL's password.
func (c Config) Validate() error {
	var p problems
	c.Listen.validate(&p)
	c.Admin.validate(&p, c.Listen.Addr)
	c.Upstream.validate(&p)
	c.Vault.validate(&p)
	c.Gateway.Stripe.validate(&p)
	p.oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")
	validateRoutes(&p, c.Routes)
	for i, r := range c.Routes {
		r.Setup.validate(&p, fmt.Sprintf("routes[%d].setup_intent", i), c.API.Enabled, c.API.ReturnURLOrigins)
	}
	c.Scrub.validate(&p)
	c.Store.validate(&p)
	c.Audit.validate(&p)
	c.CardEscape.validate(&p)
	c.Webhooks.validate(&p, c.Routes)
	c.API.validate(&p)
	c.RateLimit.validate(&p)
	validateTrustedProxies(&p, c.Listen.TrustedProxies)
	c.Audit.validateAggregation(&p)
	c.validatePages(&p)
	return errors.Join(p.errs...)
}

// problems collects validation failures.
type problems struct {
	errs []error
}

// addf records a problem with the value at key.
func (p *problems) addf(key, format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
}

// required records a problem when value is empty and reports whether it was set.
func (p *problems) required(key, value string) bool {
	if value == "" {
		p.addf(key, "required")
		return false
	}
	return true
}

// oneOf records a problem when value is not one of allowed.
func (p *problems) oneOf(key, value string, allowed ...string) {
	for _, a := range allowed {
		if value == a {
			return
		}
	}
	p.addf(key, "%q is not one of %s", value, strings.Join(allowed, ", "))
}

// positive records a problem when d is not above zero.
func (p *problems) positive(key string, d Duration) {
	if d <= 0 {
		p.addf(key, "must be greater than 0, got %s", d)
	}
}

// hostPort records a problem when addr is not host:port with a port in 1-65535, and returns
// the host and port when it is.
func (p *problems) hostPort(key, addr string) (host string, port int, ok bool) {
	if !p.required(key, addr) {
		return "", 0, false
	}
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		p.addf(key, "%q is not host:port: %v", addr, err)
		return "", 0, false
	}
	port, err = strconv.Atoi(portText)
	if err != nil {
		p.addf(key, "port %q is not a number", portText)
		return "", 0, false
	}
	if port < 1 || port > 65535 {
		p.addf(key, "port %d out of range (1-65535)", port)
		return "", 0, false
	}
	if host != "" && net.ParseIP(host) == nil && !isHostname(host) {
		p.addf(key, "host %q is neither an IP address nor a host name", host)
		return "", 0, false
	}
	return host, port, true
}

// httpURL records a problem when raw is not an absolute http or https URL without userinfo,
// and returns the parsed URL when it is.
func (p *problems) httpURL(key, raw string) (*url.URL, bool) {
	if !p.required(key, raw) {
		return nil, false
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url's error quotes the whole input, password included.
		if strings.Contains(raw, "@") {
			p.addf(key, "not a valid URL")
		} else {
			p.addf(key, "%q is not a valid URL", raw)
		}
		return nil, false
	}
	shown := u.Redacted()
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		p.addf(key, "%q must be an absolute http or https URL", shown)
	case u.Host == "":
		p.addf(key, "%q has no host", shown)
	case u.User != nil:
		p.addf(key, "%q must not carry credentials (user:password@); tokenwall reads secrets from Vault", shown)
	default:
		return u, true
	}
	return nil, false
}

// kvPath records a problem when value is empty or starts or ends with "/": it is joined to
// other path parts by the Vault client.
func (p *problems) kvPath(key, value string) {
	if !p.required(key, value) {
		return
	}
	if strings.HasPrefix(value, "/") || strings.HasSuffix(value, "/") {
		p.addf(key, "%q must not start or end with \"/\"", value)
	}
}
