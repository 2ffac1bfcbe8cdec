package evidence

import "testing"

// TestProbeAddr: a given address wins; otherwise listen.addr is probed, with an unspecified
// host (empty, 0.0.0.0, ::) replaced by loopback, since the report runs on the same host.
func TestProbeAddr(t *testing.T) {
	tests := []struct {
		name   string
		given  string
		listen string
		want   string
	}{
		{name: "given wins", given: "10.0.0.7:443", listen: "0.0.0.0:8443", want: "10.0.0.7:443"},
		{name: "specific host kept", listen: "10.0.0.5:8443", want: "10.0.0.5:8443"},
		{name: "loopback kept", listen: "127.0.0.1:8443", want: "127.0.0.1:8443"},
		{name: "IPv6 loopback kept", listen: "[::1]:8443", want: "[::1]:8443"},
		{name: "empty host", listen: ":8443", want: "127.0.0.1:8443"},
		{name: "IPv4 unspecified", listen: "0.0.0.0:8443", want: "127.0.0.1:8443"},
		{name: "IPv6 unspecified", listen: "[::]:8443", want: "127.0.0.1:8443"},
		{name: "no port left as is", listen: "tokenwall.internal", want: "tokenwall.internal"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := probeAddr(tc.given, tc.listen); got != tc.want {
				t.Errorf("probeAddr(%q, %q) = %q, want %q", tc.given, tc.listen, got, tc.want)
			}
		})
	}
}

// TestCardMask: the report names the mask in force, the default when none is configured.
func TestCardMask(t *testing.T) {
	tests := []struct {
		name string
		mask string
		want string
	}{
		{name: "unset is the default", mask: "", want: "brand_last4"},
		{name: "configured", mask: "first6_last4", want: "first6_last4"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := cardMask(tc.mask); got != tc.want {
				t.Errorf("cardMask(%q) = %q, want %q", tc.mask, got, tc.want)
			}
		})
	}
}
