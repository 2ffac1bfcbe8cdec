package proxy

import (
	"net/http"
	"strings"
	"testing"

	"github.com/tokenwall/tokenwall/config"
)

func TestIPExtractor(t *testing.T) {
	lb := []string{"10.0.0.0/8", "2001:db8:ffff::/48"}
	tests := []struct {
		name    string
		trusted []string
		peer    string
		xff     string
		want    string
	}{
		{name: "no trusted proxies: the peer", peer: "203.0.113.7:5555", xff: "198.51.100.1", want: "203.0.113.7"},
		{name: "no trusted proxies: a loopback peer's header is not believed either", peer: "127.0.0.1:5555", xff: "198.51.100.1", want: "127.0.0.1"},
		{name: "untrusted peer: the header is ignored", trusted: lb, peer: "203.0.113.7:5555", xff: "198.51.100.1", want: "203.0.113.7"},
		{name: "private peer outside the ranges: ignored", trusted: lb, peer: "192.168.1.1:5555", xff: "198.51.100.1", want: "192.168.1.1"},
		{name: "trusted peer: the client it names", trusted: lb, peer: "10.1.2.3:5555", xff: "198.51.100.1", want: "198.51.100.1"},
		{name: "trusted peer: the rightmost untrusted, not what the client put first", trusted: lb, peer: "10.1.2.3:5555",
			xff: "6.6.6.6, 198.51.100.1, 10.9.9.9", want: "198.51.100.1"},
		{name: "trusted IPv6 peer", trusted: lb, peer: "[2001:db8:ffff::5]:443", xff: "2001:db8:1:2::7", want: "2001:db8:1:2::7"},
		{name: "trusted peer, no header: the peer", trusted: lb, peer: "10.1.2.3:5555", want: "10.1.2.3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ex, err := IPExtractor(config.Listen{TrustedProxies: tc.trusted})
			if err != nil {
				t.Fatal(err)
			}
			r, _ := http.NewRequest(http.MethodGet, "https://tokenwall.test/", nil)
			r.RemoteAddr = tc.peer
			if tc.xff != "" {
				r.Header.Set("X-Forwarded-For", tc.xff)
			}
			if got := ex(r); got != tc.want {
				t.Errorf("client %q, want %q", got, tc.want)
			}
		})
	}
	if _, err := IPExtractor(config.Listen{TrustedProxies: []string{"10.0.0.1"}}); err == nil || !strings.Contains(err.Error(), "listen.trusted_proxies[0]") {
		t.Errorf("an address that is not a CIDR: %v", err)
	}
}
