package payments

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestReturnURL: a return_url must be https (http only on loopback) under a configured
// origin, without user info or fragment, at most 2048 bytes; the refusal never echoes it.
func TestReturnURL(t *testing.T) {
	const marker = "Zq7marker"
	tests := []struct {
		name string
		url  string
		ok   bool
	}{
		{name: "empty: no redirect", url: "", ok: true},
		{name: "https under the origin", url: "https://crm.example.com/orders/" + marker + "?step=3ds", ok: true},
		{name: "explicit default port", url: "https://crm.example.com:443/" + marker, ok: true},
		{name: "host in upper case", url: "https://CRM.Example.com/" + marker, ok: true},
		{name: "http on loopback under its origin", url: "http://127.0.0.1:8080/" + marker, ok: true},
		{name: "another origin", url: "https://evil.example.com/" + marker},
		{name: "a sub-domain of the origin", url: "https://x.crm.example.com/" + marker},
		{name: "another port", url: "https://crm.example.com:8443/" + marker},
		{name: "http outside loopback", url: "http://crm.example.com/" + marker},
		{name: "http on loopback, origin not configured", url: "http://localhost:8080/" + marker},
		{name: "user info", url: "https://" + marker + "@crm.example.com/"},
		{name: "user info hiding the host", url: "https://crm.example.com:" + marker + "@evil.example.com/"},
		{name: "backslash", url: `https://evil.example.com\@crm.example.com/` + marker},
		{name: "fragment", url: "https://crm.example.com/#" + marker},
		{name: "empty fragment", url: "https://crm.example.com/" + marker + "#"},
		{name: "too long", url: "https://crm.example.com/" + marker + strings.Repeat("a", MaxReturnURL)},
		{name: "relative", url: "/back/" + marker},
		{name: "scheme-relative", url: "//crm.example.com/" + marker},
		{name: "javascript", url: "javascript:alert('" + marker + "')"},
		{name: "opaque https", url: "https:crm.example.com/" + marker},
		{name: "not a URL", url: "https://crm.example.com/%zz" + marker},
	}
	f := newFixture(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := testLimits.checkReturnURL(tc.url)
			if tc.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrReturnURLNotAllowed) {
				t.Fatalf("err = %v, want ErrReturnURLNotAllowed", err)
			}
			if strings.Contains(err.Error(), marker) || strings.Contains(err.Error(), "evil") {
				t.Errorf("the error echoes the value: %v", err)
			}
			r := chargeOK
			r.ReturnURL = tc.url
			if _, err := f.svc.Charge(context.Background(), Caller{Actor: "key:test"}, r, "k"); !errors.Is(err, ErrReturnURLNotAllowed) {
				t.Errorf("charge: %v", err)
			}
		})
	}
	if f.gw.total() != 0 {
		t.Errorf("%d gateway calls for refused return urls", f.gw.total())
	}
	if err := (Limits{}).checkReturnURL("https://crm.example.com/"); !errors.Is(err, ErrReturnURLNotAllowed) {
		t.Errorf("no origins configured: %v", err)
	}
}
