package proxy

import (
	"fmt"
	"testing"
)

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

// TestPublicHostsFastPathIsTheCanonicalMatch: has looks a host up as sent before making it
// canonical; every Host, of many spellings, gets the answer of the canonical comparison alone.
func TestPublicHostsFastPathIsTheCanonicalMatch(t *testing.T) {
	configured := []string{"Pay.Example.com", "10.0.0.7", "::1", "localhost.", "2001:db8::7", "a-b.example"}
	hosts := newPublicHosts(configured)
	canonical := func(hostport string) bool { _, ok := hosts[canonicalHost(hostOnly(hostport))]; return ok }
	var sent []string
	for _, h := range append(configured, "pay.example.com", "PAY.example.COM.", "10.0.0.8", "0:0:0:0:0:0:0:1",
		"2001:DB8:0::7", "::ffff:10.0.0.7", "localhost", "LOCALHOST..", "a-b.example.", "b.example", "", ".", "[", "]") {
		for _, form := range []string{"%s", "%s:8443", "[%s]", "[%s]:443", "%s.", "%s:"} {
			sent = append(sent, fmt.Sprintf(form, h))
		}
	}
	allocs := testing.AllocsPerRun(100, func() { hosts.has("pay.example.com:8443") })
	for _, hp := range sent {
		if got, want := hosts.has(hp), canonical(hp); got != want {
			t.Errorf("has(%q) = %v; the canonical comparison says %v", hp, got, want)
		}
	}
	if allocs != 0 {
		t.Errorf("a Host sent as configured costs %v allocations; want 0", allocs)
	}
}
