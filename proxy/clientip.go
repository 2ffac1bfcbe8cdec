package proxy

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/labstack/echo/v4"

	"github.com/tokenwall/tokenwall/config"
)

// IPExtractor returns how tokenwall finds a request's client address, for Echo's RealIP,
// the audit trail's source IP, the summary line and the per-client limiter. With no
// listen.trusted_proxies it is the connection's peer address and X-Forwarded-For is ignored.
// With some, X-Forwarded-For is believed only when the peer is inside one of them, and then
// read from the right: the first address that is not a trusted proxy is the client. The
// addresses Echo trusts by default (loopback, private, link-local) are not trusted: only the
// configured ranges are, so a client cannot choose its own address by sending the header.
func IPExtractor(l config.Listen) (echo.IPExtractor, error) {
	if len(l.TrustedProxies) == 0 {
		return echo.ExtractIPDirect(), nil
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for i, c := range l.TrustedProxies {
		_, n, err := net.ParseCIDR(c)
		if err != nil {
			return nil, fmt.Errorf("listen.trusted_proxies[%d]: %w", i, err)
		}
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...), nil
}

// clientAddr is the limiter's key for the client address ip: the IPv4 address (an
// IPv4-mapped IPv6 address counts as IPv4), or the /64 prefix of an IPv6 address, because
// one subscriber usually holds a whole /64 and would otherwise have 2^64 buckets. An address
// that does not parse is the zero Addr: every such request shares one bucket.
func clientAddr(ip string) netip.Addr {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return netip.Addr{}
	}
	a = a.Unmap().WithZone("")
	if a.Is6() {
		p, _ := a.Prefix(64) // a 64-bit prefix of an IPv6 address cannot fail
		return p.Addr()
	}
	return a
}

// ClientKey names the client of address ip as the per-client limiter groups addresses:
// "203.0.113.7", "2001:db8:1:2::/64", or "unknown" for an address that does not parse.
// The audit aggregator groups repeated refusals by it too, so that a client cannot make
// each refusal a first one by moving through its /64.
func ClientKey(ip string) string {
	a := clientAddr(ip)
	switch {
	case !a.IsValid():
		return "unknown"
	case a.Is6():
		return netip.PrefixFrom(a, 64).String()
	}
	return a.String()
}
