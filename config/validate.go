package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/tokenwall/tokenwall/scrub"
)

// maxRouteBody is the largest body limit a tokenization route may set.
const maxRouteBody = 10 << 20

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
	c.Scrub.validate(&p)
	c.Store.validate(&p)
	c.Audit.validate(&p)
	c.CardEscape.validate(&p)
	c.Webhooks.validate(&p, c.Routes)
	c.API.validate(&p)
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

// validate checks the public listener.
func (l Listen) validate(p *problems) {
	p.hostPort("listen.addr", l.Addr)
	p.required("listen.cert_file", l.CertFile)
	p.required("listen.key_file", l.KeyFile)
	switch l.MinTLSVersion {
	case "1.2", "1.3":
	case "1.0", "1.1", "1":
		p.addf("listen.min_tls_version", "%q: TLS below 1.2 is not allowed (PCI DSS 4.2.1)", l.MinTLSVersion)
	default:
		p.addf("listen.min_tls_version", "%q is not one of 1.2, 1.3", l.MinTLSVersion)
	}
	p.positive("listen.read_header_timeout", l.ReadHeaderTimeout)
	p.positive("listen.read_timeout", l.ReadTimeout)
	p.positive("listen.write_timeout", l.WriteTimeout)
	p.positive("listen.idle_timeout", l.IdleTimeout)
	p.positive("listen.request_timeout", l.RequestTimeout)
	p.positive("listen.shutdown_grace", l.ShutdownGrace)
	if l.ReadHeaderTimeout > l.ReadTimeout && l.ReadTimeout > 0 {
		p.addf("listen.read_header_timeout", "%s must not exceed listen.read_timeout (%s)", l.ReadHeaderTimeout, l.ReadTimeout)
	}
	// The handler must time out, and answer, before the server cuts the connection.
	if l.RequestTimeout > 0 && l.WriteTimeout > 0 && l.RequestTimeout >= l.WriteTimeout {
		p.addf("listen.request_timeout", "%s must be less than listen.write_timeout (%s)", l.RequestTimeout, l.WriteTimeout)
	}
	if l.MaxBodyBytes <= 0 {
		p.addf("listen.max_body_bytes", "must be greater than 0, got %d", l.MaxBodyBytes)
	}
	if l.HSTSMaxAge < 0 {
		p.addf("listen.hsts_max_age", "must not be negative, got %d", l.HSTSMaxAge)
	}
}

// validate checks the admin listener, which must not take listenAddr's port.
func (a Admin) validate(p *problems, listenAddr string) {
	host, port, ok := p.hostPort("admin.addr", a.Addr)
	if !ok {
		return
	}
	if !a.AllowNonLoopback && !isLoopback(host) {
		p.addf("admin.addr", "%q is not a loopback address; the admin listener is plain HTTP (set admin.allow_non_loopback to expose it)", a.Addr)
	}
	lhost, lport, err := splitPort(listenAddr)
	if err == nil && lport == port && sameInterface(lhost, host) {
		p.addf("admin.addr", "%q collides with listen.addr %q", a.Addr, listenAddr)
	}
}

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
	p.positive("upstream.response_header_timeout", u.ResponseHeaderTimeout)
	if p.required("upstream.signature_header", u.SignatureHeader) && !isToken(u.SignatureHeader) {
		p.addf("upstream.signature_header", "%q is not a valid header name", u.SignatureHeader)
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
		p.kvPath("vault.auth.mount", v.Auth.Mount)
	default:
		p.addf("vault.auth.method", "%q is not one of token, approle", v.Auth.Method)
	}
	p.kvPath("vault.kv_mount", v.KVMount)
	p.kvPath("vault.stripe_key_path", v.StripeKeyPath)
	p.kvPath("vault.signing_key_path", v.SigningKeyPath)
	p.kvPath("vault.audit_key_path", v.AuditKeyPath)
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

// validateRoutes checks each route and that no two share a path.
func (s Scrub) validate(p *problems) {
	if _, err := scrub.ParseCardMask(s.CardMask); err != nil {
		p.addf("scrub.card_mask", "%q is not one of brand_last4, first6_last4", s.CardMask)
	}
	for i, k := range s.ExtraKeys {
		key := fmt.Sprintf("scrub.extra_keys[%d]", i)
		p.required(key+".name", k.Name)
		if _, ok := scrub.ParseKind(k.Kind); !ok {
			p.addf(key+".kind", "%q is not a kind scrub knows", k.Kind)
		}
	}
}

func (s Store) validate(p *problems) {
	p.oneOf("store.driver", s.Driver, "sqlite", "postgres")
	switch s.Driver {
	case "sqlite":
		p.required("store.sqlite_path", s.SQLitePath)
	case "postgres":
		if u, ok := p.httpURLish("store.postgres_url", s.PostgresURL, "postgres", "postgresql"); ok && u.User != nil {
			if _, has := u.User.Password(); has {
				p.addf("store.postgres_url", "holds a password: put it in Vault and name its path in store.postgres_password_path")
			}
		}
		if s.PostgresPasswordPath != "" {
			p.kvPath("store.postgres_password_path", s.PostgresPasswordPath)
		}
		if s.MaxConns < 1 || s.MaxConns > 1000 {
			p.addf("store.max_conns", "%d is not between 1 and 1000", s.MaxConns)
		}
	}
}

func (a Audit) validate(p *problems) {
	if a.CheckpointEvery < 1 || a.CheckpointEvery > 1_000_000 {
		p.addf("audit.checkpoint_every", "%d is not between 1 and 1000000", a.CheckpointEvery)
	}
	if a.RetentionDays < 365 {
		p.addf("audit.retention_days", "%d is less than 365: PCI DSS 10.5.1 asks for at least 12 months", a.RetentionDays)
	}
	if a.CryptoperiodDays < 1 || a.CryptoperiodDays > 3650 {
		p.addf("audit.cryptoperiod_days", "%d is not between 1 and 3650", a.CryptoperiodDays)
	}
}

// httpURLish parses raw as an absolute URL with one of schemes and a host.
func (p *problems) httpURLish(key, raw string, schemes ...string) (*url.URL, bool) {
	if !p.required(key, raw) {
		return nil, false
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		p.addf(key, "not an absolute URL") // the text may hold a password: not echoed
		return nil, false
	}
	for _, s := range schemes {
		if u.Scheme == s {
			return u, true
		}
	}
	p.addf(key, "scheme %q is not one of %s", u.Scheme, strings.Join(schemes, ", "))
	return nil, false
}

func (c CardEscape) validate(p *problems) {
	for i, prefix := range c.AlertPaths {
		if !strings.HasPrefix(prefix, "/") {
			p.addf(fmt.Sprintf("card_escape.alert_paths[%d]", i), "%q must start with /", prefix)
		}
	}
}

func validateRoutes(p *problems, routes []Route) {
	if len(routes) == 0 {
		// Without a route every card number would pass to the upstream as it came.
		p.addf("routes", "at least one route is required")
		return
	}
	seen := map[string]int{}
	for i, r := range routes {
		key := fmt.Sprintf("routes[%d]", i)
		r.validate(p, key)
		if r.Path == "" {
			continue
		}
		if j, dup := seen[r.Path]; dup {
			p.addf(key+".path", "%q is already the path of routes[%d]", r.Path, j)
			continue
		}
		seen[r.Path] = i
	}
}

// validate checks one route; key is its path in the config, e.g. "routes[1]".
func (r Route) validate(p *problems, key string) {
	if p.required(key+".path", r.Path) {
		switch {
		case !strings.HasPrefix(r.Path, "/"):
			p.addf(key+".path", "%q must start with \"/\"", r.Path)
		case strings.ContainsAny(r.Path, "?# \t"):
			p.addf(key+".path", "%q must be a bare path, without query, fragment or spaces", r.Path)
		case hasDotSegment(r.Path):
			p.addf(key+".path", "%q must not contain empty, \".\" or \"..\" segments", r.Path)
		}
	}
	if len(r.Methods) == 0 {
		p.addf(key+".methods", "required")
	}
	seenMethod := map[string]bool{}
	for _, m := range r.Methods {
		p.oneOf(key+".methods", m, "POST", "PUT", "PATCH")
		if seenMethod[m] {
			p.addf(key+".methods", "%q is listed twice", m)
		}
		seenMethod[m] = true
	}
	p.oneOf(key+".body", r.Body, "form", "json", "multipart")
	if r.MaxBodyBytes < 1 || r.MaxBodyBytes > maxRouteBody {
		p.addf(key+".max_body_bytes", "%d out of range (1-%d, 10MiB)", r.MaxBodyBytes, maxRouteBody)
	}
	if r.MaxJSONDepth < 2 || r.MaxJSONDepth > 128 {
		p.addf(key+".max_json_depth", "%d out of range (2-128)", r.MaxJSONDepth)
	}

	c := r.Card
	p.required(key+".card.number", c.Number)
	p.required(key+".card.cvc", c.CVC)
	hasSplit := c.ExpMonth != "" || c.ExpYear != ""
	switch {
	case c.Exp != "" && hasSplit:
		p.addf(key+".card.exp", "%q: set either exp or exp_month and exp_year, not both", c.Exp)
	case c.Exp == "" && !hasSplit:
		p.addf(key+".card.exp", "required, unless exp_month and exp_year are set")
	case c.Exp == "" && c.ExpMonth == "":
		p.addf(key+".card.exp_month", "required with exp_year")
	case c.Exp == "" && c.ExpYear == "":
		p.addf(key+".card.exp_year", "required with exp_month")
	}
	p.required(key+".result.token", r.Result.Token)
	p.required(key+".result.error", r.Result.Error)

	fields := r.namedFields(key)
	if r.Body == "json" {
		for _, f := range fields {
			if !isDottedPath(f.name) {
				p.addf(f.key, "%q is not a dotted path of non-empty segments, e.g. payment.card.number", f.name)
			}
		}
	}
	// Each name is one field of the body: a result written over a card field, or over a JSON
	// object that holds one, would mix card data into the forwarded body.
	// One message per field is enough to fix it.
	for i, f := range fields {
		for _, g := range fields[:i] {
			if msg := clash(f, g, r.Body == "json"); msg != "" {
				p.addf(f.key, "%s", msg)
				break
			}
		}
	}
}

// clash describes how field f collides with the earlier field g, or returns "". In JSON a
// path also collides with the paths inside it.
func clash(f, g namedField, json bool) string {
	switch {
	case f.name == g.name:
		return fmt.Sprintf("%q is also %s", f.name, g.key)
	case json && isParentPath(f.name, g.name):
		return fmt.Sprintf("%q contains %s (%q)", f.name, g.key, g.name)
	case json && isParentPath(g.name, f.name):
		return fmt.Sprintf("%q is inside %s (%q)", f.name, g.key, g.name)
	}
	return ""
}

// namedField is a card or result field name with its key path.
type namedField struct {
	key, name string
}

// namedFields lists the set card and result field names of r, card fields first.
func (r Route) namedFields(key string) []namedField {
	all := []namedField{
		{key + ".card.number", r.Card.Number},
		{key + ".card.exp_month", r.Card.ExpMonth},
		{key + ".card.exp_year", r.Card.ExpYear},
		{key + ".card.exp", r.Card.Exp},
		{key + ".card.cvc", r.Card.CVC},
		{key + ".card.name", r.Card.Name},
		{key + ".result.token", r.Result.Token},
		{key + ".result.brand", r.Result.Brand},
		{key + ".result.last4", r.Result.Last4},
		{key + ".result.exp_month", r.Result.ExpMonth},
		{key + ".result.exp_year", r.Result.ExpYear},
		{key + ".result.fingerprint", r.Result.Fingerprint},
		{key + ".result.error", r.Result.Error},
	}
	set := all[:0]
	for _, f := range all {
		if f.name != "" {
			set = append(set, f)
		}
	}
	return set
}

// isDottedPath reports whether s is segments joined by "." with none empty.
func isDottedPath(s string) bool {
	for seg := range strings.SplitSeq(s, ".") {
		if strings.TrimSpace(seg) == "" {
			return false
		}
	}
	return true
}

// isParentPath reports whether dotted path parent holds child, e.g. "a.b" holds "a.b.c".
func isParentPath(parent, child string) bool {
	return strings.HasPrefix(child, parent+".")
}

// hasDotSegment reports whether URL path p has an empty, "." or ".." segment other than a
// trailing slash.
func hasDotSegment(p string) bool {
	segs := strings.Split(strings.TrimSuffix(p[1:], "/"), "/")
	for _, s := range segs {
		if (s == "" && len(segs) > 1) || s == "." || s == ".." {
			return true
		}
	}
	return false
}

// splitPort splits host:port without reporting anything.
func splitPort(addr string) (string, int, error) {
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("split %q: %w", addr, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return "", 0, fmt.Errorf("port of %q: %w", addr, err)
	}
	return host, port, nil
}

// isLoopback reports whether host names only the local machine.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// sameInterface reports whether listeners on hosts a and b and one port would collide.
func sameInterface(a, b string) bool {
	switch {
	case strings.EqualFold(a, b), isUnspecified(a), isUnspecified(b):
		return true
	case strings.EqualFold(a, "localhost"):
		return isLoopback(b)
	case strings.EqualFold(b, "localhost"):
		return isLoopback(a)
	}
	return false
}

// isUnspecified reports whether host binds every interface.
func isUnspecified(host string) bool {
	if host == "" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsUnspecified()
}

// isHostname reports whether s is a plausible DNS name: labels of letters, digits and
// hyphens, joined by dots.
func isHostname(s string) bool {
	if len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(strings.TrimSuffix(s, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
				return false
			}
		}
	}
	return true
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
