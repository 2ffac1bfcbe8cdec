package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// fullYAML sets every key, each to something other than its default.
const fullYAML = `
listen:
  addr: 0.0.0.0:443
  cert_file: /tls/crt.pem
  key_file: /tls/key.pem
  public_hosts: [pay.example.com, 10.0.0.7]
  min_tls_version: 1.3
  read_header_timeout: 2s
  read_timeout: 20s
  write_timeout: 40s
  idle_timeout: 1m
  request_timeout: 35s
  shutdown_grace: 10s
  max_body_bytes: 2MiB
  hsts_max_age: 600
admin:
  addr: 10.0.0.5:9100
  allow_non_loopback: true
upstream:
  url: https://billing.internal:8443/base
  max_idle_conns_per_host: 8
  response_header_timeout: 15s
  signature_header: X-Sig
vault:
  address: https://vault:8200
  ca_cert_file: /vault/ca.pem
  auth:
    method: approle
    token_file: /vault/token
    role_id: role-1
    secret_id_file: /vault/secret-id
    mount: auth-approle
  kv_mount: kv
  stripe_key_path: tw/stripe
  signing_key_path: tw/signing
  refresh_interval: 1m
  max_age: 10m
  timeout: 3s
gateway:
  stripe:
    api_url: http://127.0.0.1:12111
    timeout: 4s
    max_network_retries: 0
log:
  level: debug
  file: /var/log/tokenwall.log
routes:
  - path: /pay
    methods: [POST, PUT]
    body: multipart
    max_body_bytes: 128KiB
    max_json_depth: 8
    card:
      number: n
      exp_month: m
      exp_year: "y"
      cvc: c
      name: h
    result:
      token: t
      brand: b
      last4: l
      exp_month: em
      exp_year: ey
      fingerprint: f
      error: e
`

func TestParseFull(t *testing.T) {
	got, err := Parse([]byte(fullYAML), nil)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := Config{
		Listen: Listen{
			Addr:              "0.0.0.0:443",
			CertFile:          "/tls/crt.pem",
			KeyFile:           "/tls/key.pem",
			PublicHosts:       []string{"pay.example.com", "10.0.0.7"},
			MinTLSVersion:     "1.3",
			ReadHeaderTimeout: Duration(2 * time.Second),
			ReadTimeout:       Duration(20 * time.Second),
			WriteTimeout:      Duration(40 * time.Second),
			IdleTimeout:       Duration(time.Minute),
			RequestTimeout:    Duration(35 * time.Second),
			ShutdownGrace:     Duration(10 * time.Second),
			MaxBodyBytes:      2 << 20,
			HSTSMaxAge:        600,
			MaxHeaderBytes:    32 << 10,

			HTTP2MaxConcurrentStreams: 100,
		},
		Admin: Admin{Addr: "10.0.0.5:9100", AllowNonLoopback: true},
		Upstream: Upstream{
			URL:                   "https://billing.internal:8443/base",
			MaxIdleConnsPerHost:   8,
			MaxConnsPerHost:       256,
			ResponseHeaderTimeout: Duration(15 * time.Second),
			SignatureHeader:       "X-Sig",
			SignatureV1:           true,
		},
		Vault: Vault{
			Address:    "https://vault:8200",
			CACertFile: "/vault/ca.pem",
			Auth: VaultAuth{
				Method:       "approle",
				TokenFile:    "/vault/token",
				RoleID:       "role-1",
				SecretIDFile: "/vault/secret-id",
				Mount:        "auth-approle",
			},
			KVMount:         "kv",
			StripeKeyPath:   "tw/stripe",
			SigningKeyPath:  "tw/signing",
			RefreshInterval: Duration(time.Minute),
			MaxAge:          Duration(10 * time.Minute),
			Timeout:         Duration(3 * time.Second),
		},
		Gateway: Gateway{Stripe: Stripe{
			APIURL:            "http://127.0.0.1:12111",
			Timeout:           Duration(4 * time.Second),
			MaxNetworkRetries: 0,
		}},
		Log: Log{Level: "debug", File: "/var/log/tokenwall.log"},
		Routes: []Route{{
			Path:         "/pay",
			Methods:      []string{"POST", "PUT"},
			Body:         "multipart",
			MaxBodyBytes: 128 << 10,
			MaxJSONDepth: 8,
			Card:         CardFields{Number: "n", ExpMonth: "m", ExpYear: "y", CVC: "c", Name: "h"},
			Result: ResultFields{
				Token: "t", Brand: "b", Last4: "l", ExpMonth: "em", ExpYear: "ey", Fingerprint: "f", Error: "e",
			},
		}},
	}
	// Sections the YAML leaves out keep their defaults.
	def := Default()
	want.Store, want.Audit, want.Webhooks, want.API = def.Store, def.Audit, def.Webhooks, def.API
	want.RateLimit, want.PageChecks = def.RateLimit, def.PageChecks
	want.Vault.AuditKeyPath, want.Vault.TransitMount, want.Vault.TransitKey = def.Vault.AuditKeyPath, def.Vault.TransitMount, def.Vault.TransitKey
	want.Vault.AuditAnchorPath = def.Vault.AuditAnchorPath
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Parse:\ngot  %+v\nwant %+v", got, want)
	}
	if err := got.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func TestParseKeepsDefaults(t *testing.T) {
	got, err := Parse([]byte("vault:\n  address: https://vault:8200\nlisten:\n  addr:\n"), nil)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := Default()
	want.Vault.Address = "https://vault:8200"
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func TestParseRouteDefaults(t *testing.T) {
	yml := `
routes:
  - path: /a
    card: {number: n, exp: e, cvc: c}
  - path: /b
    methods: [PUT]
    body: json
    max_body_bytes: 1KiB
    max_json_depth: 4
    card: {number: p.n, exp: p.e, cvc: p.c}
    result: {token: p.tok, error: p.err}
`
	got, err := Parse([]byte(yml), nil)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	tests := []struct {
		name string
		got  Route
		want Route
	}{
		{
			name: "all defaults",
			got:  got.Routes[0],
			want: Route{
				Path:         "/a",
				Methods:      []string{"POST"},
				Body:         "form",
				MaxBodyBytes: 64 << 10,
				MaxJSONDepth: 32,
				Card:         CardFields{Number: "n", Exp: "e", CVC: "c"},
				Result: ResultFields{
					Token:       "payment_method",
					Brand:       "card_brand",
					Last4:       "card_last4",
					ExpMonth:    "card_exp_month",
					ExpYear:     "card_exp_year",
					Fingerprint: "card_fingerprint",
					Error:       "card_error",
				},
			},
		},
		{
			name: "set values kept",
			got:  got.Routes[1],
			want: Route{
				Path:         "/b",
				Methods:      []string{"PUT"},
				Body:         "json",
				MaxBodyBytes: 1 << 10,
				MaxJSONDepth: 4,
				Card:         CardFields{Number: "p.n", Exp: "p.e", CVC: "p.c"},
				Result: ResultFields{
					Token:       "p.tok",
					Brand:       "card_brand",
					Last4:       "card_last4",
					ExpMonth:    "card_exp_month",
					ExpYear:     "card_exp_year",
					Fingerprint: "card_fingerprint",
					Error:       "p.err",
				},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !reflect.DeepEqual(tc.got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", tc.got, tc.want)
			}
		})
	}
	// Each route owns its methods: changing one must not change another.
	got.Routes[0].Methods[0] = "PATCH"
	if again, _ := Parse([]byte(yml), nil); again.Routes[0].Methods[0] != "POST" {
		t.Errorf("default methods are shared between parses")
	}
}

func TestParseRefuses(t *testing.T) {
	tests := []struct {
		name string
		yml  string
		want []string // every one must appear in the error
	}{
		{name: "empty file", yml: "", want: []string{"config is empty"}},
		{name: "only comments", yml: "# nothing\n", want: []string{"config is empty"}},
		{name: "null document", yml: "---\n~\n", want: []string{"config is empty"}},
		{name: "not a mapping", yml: "- a\n- b\n", want: []string{"line 1", "must be a mapping"}},
		{
			name: "two documents",
			yml:  "log:\n  level: info\n---\nlog:\n  level: debug\n",
			want: []string{"line 3", "second YAML document"},
		},
		{name: "two documents, second empty", yml: "log:\n  level: info\n---\n", want: []string{"second YAML document"}},
		{name: "syntax error", yml: "listen: [\n", want: []string{"parse"}},
		{name: "unknown top-level key", yml: "listn:\n  addr: x\n", want: []string{`listn: line 1: unknown key "listn"`, "listen"}},
		{
			name: "unknown nested key",
			yml:  "listen:\n  addr: 127.0.0.1:1\n  adr: x\n",
			want: []string{`listen.adr: line 3: unknown key "adr"`, "addr, cert_file"},
		},
		{
			name: "unknown key in a route",
			yml:  "routes:\n  - path: /a\n    card:\n      numbr: n\n",
			want: []string{`routes[0].card.numbr: line 4: unknown key "numbr"`},
		},
		{
			name: "every unknown key at once",
			yml:  "a: 1\nlog:\n  lvl: x\n",
			want: []string{"a: line 1: unknown key", "log.lvl: line 3: unknown key"},
		},
		{name: "mapping for a scalar", yml: "listen:\n  addr: {x: 1}\n", want: []string{"listen.addr: line 2: expected a single value"}},
		{name: "scalar for a mapping", yml: "listen: 8443\n", want: []string{"listen: line 1: expected a mapping"}},
		{name: "scalar for a list", yml: "routes: /a\n", want: []string{"routes: line 1: expected a list"}},
		{name: "bad duration", yml: "vault:\n  max_age: 5 minutes\n", want: []string{"vault.max_age: line 2:", "not a duration"}},
		{name: "bad size", yml: "listen:\n  max_body_bytes: lots\n", want: []string{"listen.max_body_bytes: line 2:", "not a size"}},
		{name: "bad bool", yml: "admin:\n  allow_non_loopback: maybe\n", want: []string{`admin.allow_non_loopback: line 2: "maybe" is not a boolean`}},
		{name: "bad int", yml: "listen:\n  hsts_max_age: 1y\n", want: []string{`listen.hsts_max_age: line 2: "1y" is not a whole number`}},
		{name: "int overflow", yml: "gateway:\n  stripe:\n    max_network_retries: 99999999999999999999\n", want: []string{"gateway.stripe.max_network_retries: line 3:"}},
		{name: "duplicate key", yml: "log:\n  level: info\n  level: debug\n", want: []string{"level", "already defined"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yml), nil)
			if err == nil {
				t.Fatalf("Parse succeeded, want an error containing %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte("log:\n  level: warn\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("log:\n  levl: warn\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("file and environment", func(t *testing.T) {
		c, err := Load(good, []string{"TOKENWALL_LOG_FILE=/tmp/x.log"})
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		if c.Log.Level != "warn" || c.Log.File != "/tmp/x.log" {
			t.Errorf("got log %+v, want level warn from the file and file from the environment", c.Log)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		_, err := Load(filepath.Join(dir, "absent.yaml"), nil)
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("got %v, want an error wrapping fs.ErrNotExist", err)
		}
	})
	t.Run("error names the file", func(t *testing.T) {
		_, err := Load(bad, nil)
		if err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "log.levl") {
			t.Errorf("got %v, want an error naming %s and log.levl", err, bad)
		}
	})
}
