package proxy

import (
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/rs/zerolog"

	"github.com/tokenwall/tokenwall/logging"
)

// publicHosts is the set of listen.public_hosts, each as canonicalHost makes it.
type publicHosts map[string]struct{}

// newPublicHosts builds the set from the configured names.
func newPublicHosts(hosts []string) publicHosts {
	set := make(publicHosts, len(hosts))
	for _, h := range hosts {
		set[canonicalHost(h)] = struct{}{}
	}
	return set
}

// has reports whether the Host header value hostport names one of the public hosts: its
// host part compared without case and without one trailing dot, an IP address by its value.
// A host sent as the set holds it (the usual case) is found as it is; only another spelling
// is made canonical, which allocates (net.ParseIP, and its error for a name).
func (p publicHosts) has(hostport string) bool {
	host := hostOnly(hostport)
	if _, ok := p[host]; ok {
		return true
	}
	_, ok := p[canonicalHost(host)]
	return ok
}

// hostOnly is the host part of a Host header value: the port dropped, the brackets of an
// IPv6 literal taken off.
func hostOnly(hostport string) string {
	if host, _, err := net.SplitHostPort(hostport); err == nil {
		return host
	}
	// No port: "example.com" or "[::1]".
	if strings.HasPrefix(hostport, "[") && strings.HasSuffix(hostport, "]") {
		return hostport[1 : len(hostport)-1]
	}
	return hostport
}

// canonicalHost is how a host is compared: an IP address in its standard form, a name in
// lower case without its trailing dot.
func canonicalHost(host string) string {
	if ip := net.ParseIP(host); ip != nil {
		return ip.String()
	}
	return strings.ToLower(strings.TrimSuffix(host, "."))
}

// refuseMisdirected answers 421 to a request whose Host is not one of hosts
// (listen.public_hosts), before anything else reads it: the app builds links (password
// resets, redirects) from the Host it is forwarded, and must never get one an attacker
// chose. The routes of /healthz and /readyz are exempt: probes address the pod, not the
// public name (the matched route decides, so a POST /healthz that would pass through is not).
// The request is refused before the request logger, so it gets its own line here; the Host
// itself is not logged (client text outside the header allowlist).
func refuseMisdirected(hosts publicHosts, log zerolog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			if p := c.Path(); hosts.has(r.Host) || p == healthPath || p == readyPath {
				return next(c)
			}
			log.Info().Str(logging.FieldMethod, methodLabel(r.Method)).Str(logging.FieldPath, clip(r.URL.Path, maxLoggedPath)).
				Str(logging.FieldRemoteIP, c.RealIP()).Int(logging.FieldStatus, http.StatusMisdirectedRequest).Msg("misdirected request")
			return fmt.Errorf("%w: host not in listen.public_hosts", ErrMisdirected)
		}
	}
}
