package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestEnvOverrides(t *testing.T) {
	base := "listen:\n  addr: 127.0.0.1:8443\nroutes:\n  - path: /a\n    card: {number: n, exp: e, cvc: c}\n"
	tests := []struct {
		name    string
		environ []string
		check   func(Config) bool
		want    string
	}{
		{
			name:    "string",
			environ: []string{"TOKENWALL_LISTEN_ADDR=0.0.0.0:9443"},
			check:   func(c Config) bool { return c.Listen.Addr == "0.0.0.0:9443" },
			want:    "listen.addr 0.0.0.0:9443",
		},
		{
			name:    "nested string",
			environ: []string{"TOKENWALL_VAULT_AUTH_METHOD=approle"},
			check:   func(c Config) bool { return c.Vault.Auth.Method == "approle" },
			want:    "vault.auth.method approle",
		},
		{
			name:    "three levels",
			environ: []string{"TOKENWALL_GATEWAY_STRIPE_API_URL=http://127.0.0.1:12111"},
			check:   func(c Config) bool { return c.Gateway.Stripe.APIURL == "http://127.0.0.1:12111" },
			want:    "gateway.stripe.api_url from the environment",
		},
		{
			name:    "int",
			environ: []string{"TOKENWALL_GATEWAY_STRIPE_MAX_NETWORK_RETRIES=4"},
			check:   func(c Config) bool { return c.Gateway.Stripe.MaxNetworkRetries == 4 },
			want:    "max_network_retries 4",
		},
		{
			name:    "bool",
			environ: []string{"TOKENWALL_ADMIN_ALLOW_NON_LOOPBACK=true"},
			check:   func(c Config) bool { return c.Admin.AllowNonLoopback },
			want:    "allow_non_loopback true",
		},
		{
			name:    "duration",
			environ: []string{"TOKENWALL_VAULT_MAX_AGE=30s"},
			check:   func(c Config) bool { return c.Vault.MaxAge == Duration(30*time.Second) },
			want:    "vault.max_age 30s",
		},
		{
			name:    "size",
			environ: []string{"TOKENWALL_LISTEN_MAX_BODY_BYTES=2MiB"},
			check:   func(c Config) bool { return c.Listen.MaxBodyBytes == 2<<20 },
			want:    "listen.max_body_bytes 2MiB",
		},
		{
			name:    "empty string clears",
			environ: []string{"TOKENWALL_LOG_FILE=/a.log", "TOKENWALL_LOG_FILE="},
			check:   func(c Config) bool { return c.Log.File == "" },
			want:    "log.file empty, the later entry winning",
		},
		{
			name:    "value with equals sign",
			environ: []string{"TOKENWALL_UPSTREAM_URL=http://b:1/?a=b"},
			check:   func(c Config) bool { return c.Upstream.URL == "http://b:1/?a=b" },
			want:    "everything after the first = as the value",
		},
		{
			name: "reserved and foreign variables ignored",
			environ: []string{
				"TOKENWALL_CONFIG=/etc/tokenwall.yaml", "TOKENWALL_BIN=/bin/tokenwall", "TOKENWALL_ARTIFACTS=/tmp/a",
				"PATH=/bin", "tokenwall_listen_addr=x", "NOEQUALS",
			},
			check: func(c Config) bool { return reflect.DeepEqual(c.Listen, Default().Listen) },
			want:  "listen untouched",
		},
		{
			name:    "routes untouched",
			environ: []string{"TOKENWALL_LOG_LEVEL=debug"},
			check:   func(c Config) bool { return len(c.Routes) == 1 && c.Routes[0].Path == "/a" },
			want:    "the file's one route",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(base), tc.environ)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !tc.check(c) {
				t.Errorf("want %s; got %+v", tc.want, c)
			}
		})
	}
}

func TestEnvRefuses(t *testing.T) {
	tests := []struct {
		name    string
		environ []string
		want    []string
		notWant string
	}{
		{
			name:    "unknown variable",
			environ: []string{"TOKENWALL_LISTEN_ADR=0.0.0.0:1"},
			want:    []string{"TOKENWALL_LISTEN_ADR: unknown variable", "did you mean TOKENWALL_LISTEN_ADDR?"},
			notWant: "0.0.0.0:1",
		},
		{
			name:    "unknown variable, nothing close",
			environ: []string{"TOKENWALL_STRIPE_SECRET=sk_live_123"},
			want:    []string{"TOKENWALL_STRIPE_SECRET: unknown variable"},
			notWant: "sk_live_123",
		},
		{
			name:    "a group is not a value",
			environ: []string{"TOKENWALL_VAULT_AUTH=token"},
			want:    []string{"TOKENWALL_VAULT_AUTH: unknown variable"},
		},
		{
			name:    "routes",
			environ: []string{"TOKENWALL_ROUTES_0_PATH=/x"},
			want:    []string{"TOKENWALL_ROUTES_0_PATH: routes cannot be set from the environment"},
		},
		{
			name:    "bad duration",
			environ: []string{"TOKENWALL_VAULT_MAX_AGE=soon"},
			want:    []string{"TOKENWALL_VAULT_MAX_AGE (vault.max_age): bad value", `"soon" is not a duration`},
		},
		{
			name:    "bad int",
			environ: []string{"TOKENWALL_LISTEN_HSTS_MAX_AGE=1y"},
			want:    []string{"TOKENWALL_LISTEN_HSTS_MAX_AGE (listen.hsts_max_age): bad value", "not a whole number"},
		},
		{
			name:    "bad bool",
			environ: []string{"TOKENWALL_ADMIN_ALLOW_NON_LOOPBACK=yes please"},
			want:    []string{"TOKENWALL_ADMIN_ALLOW_NON_LOOPBACK (admin.allow_non_loopback): bad value", "not a boolean"},
		},
		{
			name:    "empty non-string",
			environ: []string{"TOKENWALL_VAULT_TIMEOUT="},
			want:    []string{"TOKENWALL_VAULT_TIMEOUT (vault.timeout): bad value"},
		},
		{
			name:    "every problem at once",
			environ: []string{"TOKENWALL_A=1", "TOKENWALL_VAULT_TIMEOUT=x"},
			want:    []string{"TOKENWALL_A: unknown variable", "TOKENWALL_VAULT_TIMEOUT (vault.timeout)"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte("log:\n  level: info\n"), tc.environ)
			if err == nil {
				t.Fatalf("Parse succeeded, want an error containing %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if tc.notWant != "" && strings.Contains(err.Error(), tc.notWant) {
				t.Errorf("error %q shows the value %q", err, tc.notWant)
			}
		})
	}
}

// TestEnvFieldsCoverEveryScalar guards the reflection: every scalar key outside routes has
// exactly one variable, and no two keys share one.
func TestEnvFieldsCoverEveryScalar(t *testing.T) {
	c := Default()
	fields, err := envFields(reflect.ValueOf(&c).Elem())
	if err != nil {
		t.Fatalf("envFields: %v", err)
	}
	for _, name := range []string{
		"TOKENWALL_LISTEN_ADDR", "TOKENWALL_LISTEN_CERT_FILE", "TOKENWALL_LISTEN_HSTS_MAX_AGE",
		"TOKENWALL_ADMIN_ALLOW_NON_LOOPBACK", "TOKENWALL_UPSTREAM_SIGNATURE_HEADER",
		"TOKENWALL_VAULT_AUTH_SECRET_ID_FILE", "TOKENWALL_VAULT_AUTH_ROLE", "TOKENWALL_VAULT_REFRESH_INTERVAL",
		"TOKENWALL_GATEWAY_STRIPE_MAX_NETWORK_RETRIES", "TOKENWALL_LOG_LEVEL",
	} {
		if _, ok := fields[name]; !ok {
			t.Errorf("no field for %s", name)
		}
	}
	// listen 13, admin 2, upstream 6, vault 12 + auth 6, gateway.stripe 3, log 2, scrub 1,
	// store 5, audit 5, webhooks 13, api 11, rate_limit 4, page_checks 6.
	if got, want := len(fields), 91; got != want {
		t.Errorf("got %d overridable fields, want %d: a field was added or lost", got, want)
	}
	for name := range fields {
		if strings.Contains(name, "ROUTES") || envReserved(name) {
			t.Errorf("%s must not be a config variable", name)
		}
	}
}

func TestEditDistance(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want int
	}{
		{name: "equal", a: "abc", b: "abc", want: 0},
		{name: "one missing", a: "ADR", b: "ADDR", want: 1},
		{name: "swap", a: "ab", b: "ba", want: 2},
		{name: "empty", a: "", b: "abc", want: 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := editDistance(tc.a, tc.b); got != tc.want {
				t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
			}
		})
	}
}
