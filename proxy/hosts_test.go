package proxy

import "testing"

func TestPublicHostsMatch(t *testing.T) {
	hosts := newPublicHosts([]string{"Pay.Example.com", "10.0.0.7", "::1", "localhost."})
	tests := []struct {
		name, host string
		want       bool
	}{
		{name: "name", host: "pay.example.com", want: true},
		{name: "name with port", host: "pay.example.com:8443", want: true},
		{name: "name in another case", host: "PAY.EXAMPLE.COM:443", want: true},
		{name: "name with a trailing dot", host: "pay.example.com.", want: true},
		{name: "configured with a trailing dot", host: "localhost:8443", want: true},
		{name: "IPv4 with port", host: "10.0.0.7:8443", want: true},
		{name: "IPv6 in brackets", host: "[::1]", want: true},
		{name: "IPv6 in brackets with port", host: "[::1]:8443", want: true},
		{name: "IPv6 written longer", host: "[0:0:0:0:0:0:0:1]:8443", want: true},
		{name: "empty", host: "", want: false},
		{name: "other name", host: "evil.example", want: false},
		{name: "listed name as a suffix", host: "evil.pay.example.com", want: false},
		{name: "listed name as a prefix", host: "pay.example.com.evil.example", want: false},
		{name: "other IPv4", host: "10.0.0.8", want: false},
		{name: "other IPv6", host: "[::2]:8443", want: false},
		{name: "userinfo", host: "pay.example.com@evil.example", want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := hosts.has(tc.host); got != tc.want {
				t.Errorf("has(%q) = %v, want %v", tc.host, got, tc.want)
			}
		})
	}
}
