package config

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// validate checks the public listener.
func (l Listen) validate(p *problems) {
	p.hostPort("listen.addr", l.Addr)
	validatePublicHosts(p, l.PublicHosts)
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
	if l.MaxHeaderBytes < 4<<10 || l.MaxHeaderBytes > 1<<20 {
		p.addf("listen.max_header_bytes", "must be between 4096 and 1048576, got %d", l.MaxHeaderBytes)
	}
	if l.HTTP2MaxConcurrentStreams < 1 || l.HTTP2MaxConcurrentStreams > 1000 {
		p.addf("listen.http2_max_concurrent_streams", "must be between 1 and 1000, got %d", l.HTTP2MaxConcurrentStreams)
	}
	if l.MaxBodyBytes <= 0 {
		p.addf("listen.max_body_bytes", "must be greater than 0, got %d", l.MaxBodyBytes)
	}
	if l.HSTSMaxAge < 0 {
		p.addf("listen.hsts_max_age", "must not be negative, got %d", l.HSTSMaxAge)
	}
}

// validatePublicHosts checks listen.public_hosts: at least one, each a bare host name or IP
// address, as the Host header names it without its port.
func validatePublicHosts(p *problems, hosts []string) {
	if len(hosts) == 0 {
		p.addf("listen.public_hosts", "at least one host is required (the names clients reach tokenwall by; other Hosts get 421)")
		return
	}
	for i, h := range hosts {
		if net.ParseIP(h) == nil && !isHostname(h) {
			p.addf(fmt.Sprintf("listen.public_hosts[%d]", i), "%q is not a host name or IP address (no port, scheme or path)", h)
		}
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
