package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestRedactedHidesSecrets(t *testing.T) {
	const planted = "hunter2-planted"
	tests := []struct {
		name   string
		mutate func(*Config)
		want   string // must appear in the output
	}{
		{
			name:   "password in upstream url",
			mutate: func(c *Config) { c.Upstream.URL = "http://billing:" + planted + "@127.0.0.1:8080/app" },
			want:   "url: http://billing:REDACTED@127.0.0.1:8080/app",
		},
		{
			name:   "user name alone in stripe url",
			mutate: func(c *Config) { c.Gateway.Stripe.APIURL = "https://" + planted + "@api.stripe.com" },
			want:   "api_url: https://REDACTED@api.stripe.com",
		},
		{
			name:   "secret query value in vault address",
			mutate: func(c *Config) { c.Vault.Address = "https://vault:8200/?region=eu&token=" + planted },
			want:   "token=REDACTED",
		},
		{
			name:   "unparsable url with credentials",
			mutate: func(c *Config) { c.Upstream.URL = "http://u:" + planted + "@bil ling:x/" },
			want:   "url: REDACTED",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig()
			tc.mutate(&c)
			unchanged := validConfig()
			tc.mutate(&unchanged)
			out, err := c.Redacted()
			if err != nil {
				t.Fatalf("Redacted: %v", err)
			}
			if !strings.Contains(string(out), tc.want) {
				t.Errorf("output does not contain %q:\n%s", tc.want, out)
			}
			if strings.Contains(string(out), planted) {
				t.Errorf("output contains the planted secret:\n%s", out)
			}
			if !reflect.DeepEqual(c, unchanged) {
				t.Errorf("Redacted changed the config it was called on")
			}
		})
	}
}

func TestRedactString(t *testing.T) {
	tests := []struct {
		name  string
		key   string
		value string
		want  string
	}{
		{name: "api key", key: "api_key", value: "sk_live_1", want: "REDACTED"},
		{name: "token", key: "token", value: "hvs.1", want: "REDACTED"},
		{name: "secret id", key: "secret_id", value: "s", want: "REDACTED"},
		{name: "password", key: "db_password", value: "p", want: "REDACTED"},
		{name: "upper case", key: "StripeKey", value: "p", want: "REDACTED"},
		{name: "empty stays empty", key: "api_key", value: "", want: ""},
		{name: "file holds a path", key: "token_file", value: "/run/token", want: "/run/token"},
		{name: "key file holds a path", key: "key_file", value: "/tls/key.pem", want: "/tls/key.pem"},
		{name: "kv path", key: "stripe_key_path", value: "tokenwall/stripe", want: "tokenwall/stripe"},
		{name: "plain key", key: "addr", value: "127.0.0.1:1", want: "127.0.0.1:1"},
		{name: "url without credentials", key: "url", value: "http://a:1/b?c=d", want: "http://a:1/b?c=d"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := redactString(tc.key, tc.value); got != tc.want {
				t.Errorf("redactString(%q, %q) = %q, want %q", tc.key, tc.value, got, tc.want)
			}
		})
	}
}

// TestRedactedRoundTrip checks that check-config prints the effective config: parsing the
// output gives back the same configuration, route field names included.
func TestRedactedRoundTrip(t *testing.T) {
	c := validConfig()
	out, err := c.Redacted()
	if err != nil {
		t.Fatalf("Redacted: %v", err)
	}
	back, err := Parse(out, nil)
	if err != nil {
		t.Fatalf("Parse(Redacted()): %v\n%s", err, out)
	}
	if !reflect.DeepEqual(back, c) {
		t.Errorf("round trip changed the config:\ngot  %+v\nwant %+v\n%s", back, c, out)
	}
	if !strings.Contains(string(out), "token: payment_method") {
		t.Errorf("route result names must be printed as they are:\n%s", out)
	}
}
