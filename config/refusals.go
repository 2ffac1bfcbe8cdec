package config

import (
	"fmt"
	"net"
	"time"
)

// RateLimit configures the per-client limit on refusals: a token bucket per client
// address (an IPv4 address or an IPv6 /64, after listen.trusted_proxies) that each refusal
// of the client takes a token from (a missing or bad API key or client certificate, a card
// number where none belongs, a rejected webhook), each of which costs an audit record.
// Requests that are not refused take no token. On /v1 and on the webhook endpoint the
// bucket is checked before authentication: a client whose bucket is empty gets 429 with
// Retry-After before anything else is done; a refusal of the card-escape guard elsewhere
// that finds it empty is answered 429 too.
type RateLimit struct {
	// Enabled turns the limit on (default true).
	Enabled bool `yaml:"enabled"`
	// PerSecond is how many refusals a client's bucket refills a second (default 1).
	PerSecond int `yaml:"per_second"`
	// Burst is how many refusals a client's bucket holds when full (default 20).
	Burst int `yaml:"burst"`
	// MaxClients bounds the table of buckets (default 65536, about 100 bytes each). When it
	// is full a new client takes the place of the least recently seen one only if that one's
	// bucket is full; otherwise it shares one overflow bucket with the other newcomers.
	MaxClients int `yaml:"max_clients"`
}

func defaultRateLimit() RateLimit {
	return RateLimit{Enabled: true, PerSecond: 1, Burst: 20, MaxClients: 65536}
}

// validate checks rate_limit.
func (r RateLimit) validate(p *problems) {
	if !r.Enabled {
		return
	}
	if r.PerSecond < 1 || r.PerSecond > 100_000 {
		p.addf("rate_limit.per_second", "%d is not between 1 and 100000", r.PerSecond)
	}
	if r.Burst < 1 || r.Burst > 100_000 {
		p.addf("rate_limit.burst", "%d is not between 1 and 100000", r.Burst)
	}
	if r.MaxClients < 1024 || r.MaxClients > 16<<20 {
		p.addf("rate_limit.max_clients", "%d is not between 1024 and 16777216", r.MaxClients)
	}
}

// validateTrustedProxies checks listen.trusted_proxies: each a CIDR block naming a network
// (no host bits set), none that trusts every address.
func validateTrustedProxies(p *problems, cidrs []string) {
	for i, c := range cidrs {
		key := fmt.Sprintf("listen.trusted_proxies[%d]", i)
		ip, n, err := net.ParseCIDR(c)
		switch {
		case err != nil && net.ParseIP(c) != nil:
			p.addf(key, "%q is an address, not a CIDR block (write %s/%d for this one address)", c, c, addrBits(c))
		case err != nil:
			p.addf(key, "%q is not a CIDR block such as 10.0.0.0/8 or 2001:db8::/32", c)
		case !ip.Equal(n.IP):
			p.addf(key, "%q has host bits set (the network is %s)", c, n)
		default:
			if ones, _ := n.Mask.Size(); ones == 0 {
				p.addf(key, "%q trusts every address: any client could then choose its own address with X-Forwarded-For", c)
			}
		}
	}
}

// addrBits is the length of the address ip in bits: 32 for IPv4, 128 for IPv6.
func addrBits(ip string) int {
	if net.ParseIP(ip).To4() != nil {
		return 32
	}
	return 128
}

// validateAggregation checks audit.aggregate_interval.
func (a Audit) validateAggregation(p *problems) {
	if d := a.AggregateInterval.D(); d < time.Second || d > time.Hour {
		p.addf("audit.aggregate_interval", "%s is not between 1s and 1h", d)
	}
}
