package config

import (
	"strings"
	"testing"
	"time"
)

func TestValidateAccepts(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
	}{
		{name: "valid config", mutate: func(*Config) {}},
		{name: "TLS 1.3", mutate: func(c *Config) { c.Listen.MinTLSVersion = "1.3" }},
		{name: "listen on all interfaces", mutate: func(c *Config) { c.Listen.Addr = ":8443" }},
		{name: "listen on a host name", mutate: func(c *Config) { c.Listen.Addr = "proxy.internal:8443" }},
		{name: "public hosts of every kind", mutate: func(c *Config) { c.Listen.PublicHosts = []string{"Pay.Example.COM", "localhost", "10.0.0.7", "::1"} }},
		{name: "admin on localhost", mutate: func(c *Config) { c.Admin.Addr = "localhost:9090" }},
		{name: "admin on IPv6 loopback", mutate: func(c *Config) { c.Admin.Addr = "[::1]:9090" }},
		{name: "admin on 127.0.0.2", mutate: func(c *Config) { c.Admin.Addr = "127.0.0.2:9090" }},
		{
			name: "admin exposed on purpose",
			mutate: func(c *Config) {
				c.Admin.Addr = "0.0.0.0:9090"
				c.Admin.AllowNonLoopback = true
			},
		},
		{name: "upstream with a path", mutate: func(c *Config) { c.Upstream.URL = "https://billing:8443/app" }},
		{
			name: "approle",
			mutate: func(c *Config) {
				c.Vault.Auth = VaultAuth{Method: "approle", RoleID: "r", SecretIDFile: "/s", Mount: "approle"}
			},
		},
		{name: "approle on its default mount", mutate: func(c *Config) { c.Vault.Auth = VaultAuth{Method: "approle", RoleID: "r", SecretIDFile: "/s"} }},
		{name: "kubernetes with the default token file", mutate: func(c *Config) { c.Vault.Auth = VaultAuth{Method: "kubernetes", Role: "tokenwall"} }},
		{
			name: "kubernetes on its own mount",
			mutate: func(c *Config) {
				c.Vault.Auth = VaultAuth{Method: "kubernetes", Role: "tokenwall", TokenFile: "/var/run/secrets/vault/token", Mount: "k8s-prod"}
			},
		},
		{name: "no retries", mutate: func(c *Config) { c.Gateway.Stripe.MaxNetworkRetries = 0 }},
		{name: "HSTS off", mutate: func(c *Config) { c.Listen.HSTSMaxAge = 0 }},
		{name: "route path with trailing slash", mutate: func(c *Config) { c.Routes[0].Path = "/checkout/" }},
		{name: "route at root", mutate: func(c *Config) { c.Routes[0].Path = "/" }},
		{name: "all methods", mutate: func(c *Config) { c.Routes[0].Methods = []string{"POST", "PUT", "PATCH"} }},
		{name: "multipart", mutate: func(c *Config) { c.Routes[0].Body = "multipart" }},
		{name: "largest body", mutate: func(c *Config) { c.Routes[0].MaxBodyBytes = 10 << 20 }},
		{name: "JSON depth bounds", mutate: func(c *Config) { c.Routes[0].MaxJSONDepth, c.Routes[1].MaxJSONDepth = 2, 128 }},
		{
			name:   "JSON sibling names are not nested",
			mutate: func(c *Config) { c.Routes[1].Result.Brand = "payment.card_number" },
		},
		{
			name: "same field names on two routes",
			mutate: func(c *Config) {
				c.Routes = append(c.Routes, c.Routes[0])
				c.Routes[2].Path = "/other"
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig()
			tc.mutate(&c)
			if err := c.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}
}

func TestValidateRefuses(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		key    string // the message must start with key + ": "
		want   string // and contain this
	}{
		// listen
		{name: "listen addr empty", mutate: func(c *Config) { c.Listen.Addr = "" }, key: "listen.addr", want: "required"},
		{name: "listen addr without port", mutate: func(c *Config) { c.Listen.Addr = "127.0.0.1" }, key: "listen.addr", want: `"127.0.0.1" is not host:port`},
		{name: "listen port too high", mutate: func(c *Config) { c.Listen.Addr = "0.0.0.0:70000" }, key: "listen.addr", want: "port 70000 out of range"},
		{name: "listen port zero", mutate: func(c *Config) { c.Listen.Addr = "0.0.0.0:0" }, key: "listen.addr", want: "port 0 out of range"},
		{name: "listen port not a number", mutate: func(c *Config) { c.Listen.Addr = "0.0.0.0:https" }, key: "listen.addr", want: `port "https" is not a number`},
		{name: "listen bad host", mutate: func(c *Config) { c.Listen.Addr = "bad_host!:8443" }, key: "listen.addr", want: `host "bad_host!"`},
		{name: "public hosts missing", mutate: func(c *Config) { c.Listen.PublicHosts = nil }, key: "listen.public_hosts", want: "at least one host is required"},
		{name: "public host with scheme", mutate: func(c *Config) { c.Listen.PublicHosts = []string{"pay.example.com", "https://x"} }, key: "listen.public_hosts[1]", want: `"https://x" is not a host name`},
		{name: "public host with port", mutate: func(c *Config) { c.Listen.PublicHosts = []string{"pay.example.com:8443"} }, key: "listen.public_hosts[0]", want: `"pay.example.com:8443" is not a host name`},
		{name: "public host with path", mutate: func(c *Config) { c.Listen.PublicHosts = []string{"pay.example.com/checkout"} }, key: "listen.public_hosts[0]", want: `"pay.example.com/checkout" is not a host name`},
		{name: "public host IPv6 in brackets", mutate: func(c *Config) { c.Listen.PublicHosts = []string{"[::1]"} }, key: "listen.public_hosts[0]", want: `"[::1]" is not a host name`},
		{name: "public host empty", mutate: func(c *Config) { c.Listen.PublicHosts = []string{""} }, key: "listen.public_hosts[0]", want: `"" is not a host name`},
		{name: "public host with underscore", mutate: func(c *Config) { c.Listen.PublicHosts = []string{"bad_host"} }, key: "listen.public_hosts[0]", want: `"bad_host" is not a host name`},
		{name: "cert file", mutate: func(c *Config) { c.Listen.CertFile = "" }, key: "listen.cert_file", want: "required"},
		{name: "key file", mutate: func(c *Config) { c.Listen.KeyFile = "" }, key: "listen.key_file", want: "required"},
		{name: "TLS 1.0", mutate: func(c *Config) { c.Listen.MinTLSVersion = "1.0" }, key: "listen.min_tls_version", want: `"1.0": TLS below 1.2 is not allowed (PCI DSS 4.2.1)`},
		{name: "TLS 1.1", mutate: func(c *Config) { c.Listen.MinTLSVersion = "1.1" }, key: "listen.min_tls_version", want: "TLS below 1.2 is not allowed"},
		{name: "TLS unknown", mutate: func(c *Config) { c.Listen.MinTLSVersion = "tls1.3" }, key: "listen.min_tls_version", want: `"tls1.3" is not one of 1.2, 1.3`},
		{name: "TLS empty", mutate: func(c *Config) { c.Listen.MinTLSVersion = "" }, key: "listen.min_tls_version", want: `"" is not one of`},
		{name: "read header timeout", mutate: func(c *Config) { c.Listen.ReadHeaderTimeout = 0 }, key: "listen.read_header_timeout", want: "must be greater than 0, got 0s"},
		{name: "read timeout", mutate: func(c *Config) { c.Listen.ReadTimeout = Duration(-time.Second) }, key: "listen.read_timeout", want: "got -1s"},
		{name: "write timeout", mutate: func(c *Config) { c.Listen.WriteTimeout = 0 }, key: "listen.write_timeout", want: "must be greater than 0"},
		{name: "idle timeout", mutate: func(c *Config) { c.Listen.IdleTimeout = 0 }, key: "listen.idle_timeout", want: "must be greater than 0"},
		{name: "request timeout", mutate: func(c *Config) { c.Listen.RequestTimeout = 0 }, key: "listen.request_timeout", want: "must be greater than 0"},
		{name: "shutdown grace", mutate: func(c *Config) { c.Listen.ShutdownGrace = 0 }, key: "listen.shutdown_grace", want: "must be greater than 0"},
		{
			name:   "request timeout not below write timeout",
			mutate: func(c *Config) { c.Listen.RequestTimeout = c.Listen.WriteTimeout },
			key:    "listen.request_timeout", want: "30s must be less than listen.write_timeout (30s)",
		},
		{
			name:   "read header timeout above read timeout",
			mutate: func(c *Config) { c.Listen.ReadHeaderTimeout = Duration(time.Minute) },
			key:    "listen.read_header_timeout", want: "1m0s must not exceed listen.read_timeout (30s)",
		},
		{name: "listen body limit", mutate: func(c *Config) { c.Listen.MaxBodyBytes = 0 }, key: "listen.max_body_bytes", want: "must be greater than 0"},
		{name: "HSTS negative", mutate: func(c *Config) { c.Listen.HSTSMaxAge = -1 }, key: "listen.hsts_max_age", want: "must not be negative, got -1"},
		{name: "no HTTP/2 streams", mutate: func(c *Config) { c.Listen.HTTP2MaxConcurrentStreams = 0 }, key: "listen.http2_max_concurrent_streams", want: "must be between 1 and 1000, got 0"},
		{name: "HTTP/2 streams unbounded", mutate: func(c *Config) { c.Listen.HTTP2MaxConcurrentStreams = 1 << 20 }, key: "listen.http2_max_concurrent_streams", want: "got 1048576"},

		// admin
		{name: "admin addr invalid", mutate: func(c *Config) { c.Admin.Addr = "localhost" }, key: "admin.addr", want: "is not host:port"},
		{name: "admin port out of range", mutate: func(c *Config) { c.Admin.Addr = "127.0.0.1:99999" }, key: "admin.addr", want: "port 99999 out of range"},
		{name: "admin on all interfaces", mutate: func(c *Config) { c.Admin.Addr = "0.0.0.0:9090" }, key: "admin.addr", want: `"0.0.0.0:9090" is not a loopback address`},
		{name: "admin without host", mutate: func(c *Config) { c.Admin.Addr = ":9090" }, key: "admin.addr", want: "not a loopback address"},
		{name: "admin on a LAN address", mutate: func(c *Config) { c.Admin.Addr = "10.1.2.3:9090" }, key: "admin.addr", want: "set admin.allow_non_loopback"},
		{name: "admin same as listen", mutate: func(c *Config) { c.Admin.Addr = c.Listen.Addr }, key: "admin.addr", want: `collides with listen.addr "127.0.0.1:8443"`},
		{
			name: "admin inside a wildcard listen",
			mutate: func(c *Config) {
				c.Listen.Addr = "0.0.0.0:8443"
				c.Admin.Addr = "127.0.0.1:8443"
			},
			key: "admin.addr", want: "collides with listen.addr",
		},
		{
			name: "admin localhost and listen loopback",
			mutate: func(c *Config) {
				c.Listen.Addr = "127.0.0.1:8443"
				c.Admin.Addr = "localhost:8443"
			},
			key: "admin.addr", want: "collides with listen.addr",
		},

		// upstream
		{name: "upstream url empty", mutate: func(c *Config) { c.Upstream.URL = "" }, key: "upstream.url", want: "required"},
		{name: "upstream url relative", mutate: func(c *Config) { c.Upstream.URL = "/billing" }, key: "upstream.url", want: `"/billing" must be an absolute http or https URL`},
		{name: "upstream url ftp", mutate: func(c *Config) { c.Upstream.URL = "ftp://billing" }, key: "upstream.url", want: "must be an absolute http or https URL"},
		{name: "upstream url without host", mutate: func(c *Config) { c.Upstream.URL = "http:///x" }, key: "upstream.url", want: "has no host"},
		{name: "upstream url userinfo", mutate: func(c *Config) { c.Upstream.URL = "http://u:hunter2@billing" }, key: "upstream.url", want: `"http://u:xxxxx@billing" must not carry credentials`},
		{name: "upstream url query", mutate: func(c *Config) { c.Upstream.URL = "http://billing/?a=1" }, key: "upstream.url", want: `"http://billing/?a=1" must not have a query`},
		{name: "upstream url fragment", mutate: func(c *Config) { c.Upstream.URL = "http://billing/#top" }, key: "upstream.url", want: "must not have a fragment"},
		{name: "upstream url unparsable", mutate: func(c *Config) { c.Upstream.URL = "http://bil ling:x/" }, key: "upstream.url", want: "is not a valid URL"},
		{name: "upstream pool", mutate: func(c *Config) { c.Upstream.MaxIdleConnsPerHost = 0 }, key: "upstream.max_idle_conns_per_host", want: "must be at least 1, got 0"},
		{name: "upstream connections unbounded", mutate: func(c *Config) { c.Upstream.MaxConnsPerHost = 0 }, key: "upstream.max_conns_per_host", want: "must be at least upstream.max_idle_conns_per_host (64), got 0"},
		{name: "upstream connections below the pool", mutate: func(c *Config) { c.Upstream.MaxConnsPerHost = 8 }, key: "upstream.max_conns_per_host", want: "got 8"},
		{name: "upstream header timeout", mutate: func(c *Config) { c.Upstream.ResponseHeaderTimeout = 0 }, key: "upstream.response_header_timeout", want: "must be greater than 0"},
		{name: "signature header empty", mutate: func(c *Config) { c.Upstream.SignatureHeader = "" }, key: "upstream.signature_header", want: "required"},
		{name: "signature header invalid", mutate: func(c *Config) { c.Upstream.SignatureHeader = "Tokenwall Signature" }, key: "upstream.signature_header", want: `"Tokenwall Signature" is not a valid header name`},
		{name: "upgrade path not a path", mutate: func(c *Config) { c.Upstream.UpgradePaths = []string{"/live/", "ws"} }, key: "upstream.upgrade_paths[1]", want: `"ws" must be a path prefix starting with /`},

		// vault
		{name: "vault address empty", mutate: func(c *Config) { c.Vault.Address = "" }, key: "vault.address", want: "required"},
		{name: "vault address not http", mutate: func(c *Config) { c.Vault.Address = "vault.internal:8200" }, key: "vault.address", want: "must be an absolute http or https URL"},
		{name: "vault auth method", mutate: func(c *Config) { c.Vault.Auth.Method = "ldap" }, key: "vault.auth.method", want: `"ldap" is not one of token, approle, kubernetes`},
		{
			name:   "kubernetes without role",
			mutate: func(c *Config) { c.Vault.Auth = VaultAuth{Method: "kubernetes"} },
			key:    "vault.auth.role", want: "required",
		},
		{
			name:   "kubernetes mount with slash",
			mutate: func(c *Config) { c.Vault.Auth = VaultAuth{Method: "kubernetes", Role: "r", Mount: "kubernetes/"} },
			key:    "vault.auth.mount", want: `"kubernetes/" must not start or end with "/"`,
		},
		{
			name:   "approle without role id",
			mutate: func(c *Config) { c.Vault.Auth = VaultAuth{Method: "approle", SecretIDFile: "/s", Mount: "approle"} },
			key:    "vault.auth.role_id", want: "required",
		},
		{
			name:   "approle without secret id file",
			mutate: func(c *Config) { c.Vault.Auth = VaultAuth{Method: "approle", RoleID: "r", Mount: "approle"} },
			key:    "vault.auth.secret_id_file", want: "required",
		},
		{
			name: "approle mount with slash",
			mutate: func(c *Config) {
				c.Vault.Auth = VaultAuth{Method: "approle", RoleID: "r", SecretIDFile: "/s", Mount: "/approle"}
			},
			key: "vault.auth.mount", want: `"/approle" must not start or end with "/"`,
		},
		{name: "kv mount empty", mutate: func(c *Config) { c.Vault.KVMount = "" }, key: "vault.kv_mount", want: "required"},
		{name: "kv mount leading slash", mutate: func(c *Config) { c.Vault.KVMount = "/secret" }, key: "vault.kv_mount", want: `"/secret" must not start or end with "/"`},
		{name: "stripe key path leading slash", mutate: func(c *Config) { c.Vault.StripeKeyPath = "/tokenwall/stripe" }, key: "vault.stripe_key_path", want: "must not start"},
		{name: "stripe key path empty", mutate: func(c *Config) { c.Vault.StripeKeyPath = "" }, key: "vault.stripe_key_path", want: "required"},
		{name: "signing key path empty", mutate: func(c *Config) { c.Vault.SigningKeyPath = "" }, key: "vault.signing_key_path", want: "required"},
		{name: "signing key path trailing slash", mutate: func(c *Config) { c.Vault.SigningKeyPath = "tokenwall/" }, key: "vault.signing_key_path", want: "must not start or end"},
		{name: "refresh interval", mutate: func(c *Config) { c.Vault.RefreshInterval = 0 }, key: "vault.refresh_interval", want: "must be greater than 0"},
		{name: "max age", mutate: func(c *Config) { c.Vault.MaxAge = 0 }, key: "vault.max_age", want: "must be greater than 0"},
		{name: "vault timeout", mutate: func(c *Config) { c.Vault.Timeout = 0 }, key: "vault.timeout", want: "must be greater than 0"},
		{
			name:   "refresh not below max age",
			mutate: func(c *Config) { c.Vault.RefreshInterval = Duration(2 * time.Hour) },
			key:    "vault.refresh_interval", want: "2h0m0s must be less than vault.max_age (1h0m0s)",
		},

		// gateway
		{name: "stripe url empty", mutate: func(c *Config) { c.Gateway.Stripe.APIURL = "" }, key: "gateway.stripe.api_url", want: "required"},
		{name: "stripe url relative", mutate: func(c *Config) { c.Gateway.Stripe.APIURL = "api.stripe.com" }, key: "gateway.stripe.api_url", want: `"api.stripe.com" must be an absolute http or https URL`},
		{name: "stripe timeout", mutate: func(c *Config) { c.Gateway.Stripe.Timeout = 0 }, key: "gateway.stripe.timeout", want: "must be greater than 0"},
		{name: "retries negative", mutate: func(c *Config) { c.Gateway.Stripe.MaxNetworkRetries = -1 }, key: "gateway.stripe.max_network_retries", want: "-1 out of range (0-5)"},
		{name: "retries too many", mutate: func(c *Config) { c.Gateway.Stripe.MaxNetworkRetries = 6 }, key: "gateway.stripe.max_network_retries", want: "6 out of range"},

		// log
		{name: "log level", mutate: func(c *Config) { c.Log.Level = "trace" }, key: "log.level", want: `"trace" is not one of debug, info, warn, error`},

		// routes
		{name: "no routes", mutate: func(c *Config) { c.Routes = nil }, key: "routes", want: "at least one route is required"},
		{name: "route path empty", mutate: func(c *Config) { c.Routes[0].Path = "" }, key: "routes[0].path", want: "required"},
		{name: "route path relative", mutate: func(c *Config) { c.Routes[1].Path = "api/checkout" }, key: "routes[1].path", want: `"api/checkout" must start with "/"`},
		{name: "route path with query", mutate: func(c *Config) { c.Routes[0].Path = "/pay?x=1" }, key: "routes[0].path", want: "without query"},
		{name: "route path with dot dot", mutate: func(c *Config) { c.Routes[0].Path = "/a/../pay" }, key: "routes[0].path", want: `"." or ".."`},
		{name: "route path with double slash", mutate: func(c *Config) { c.Routes[0].Path = "/a//pay" }, key: "routes[0].path", want: "empty"},
		{name: "route path twice", mutate: func(c *Config) { c.Routes[1].Path = c.Routes[0].Path }, key: "routes[1].path", want: `"/checkout/submit" is already the path of routes[0]`},
		{name: "methods empty", mutate: func(c *Config) { c.Routes[0].Methods = nil }, key: "routes[0].methods", want: "required"},
		{name: "method GET", mutate: func(c *Config) { c.Routes[0].Methods = []string{"POST", "GET"} }, key: "routes[0].methods", want: `"GET" is not one of POST, PUT, PATCH`},
		{name: "method lower case", mutate: func(c *Config) { c.Routes[0].Methods = []string{"post"} }, key: "routes[0].methods", want: `"post" is not one of`},
		{name: "method twice", mutate: func(c *Config) { c.Routes[0].Methods = []string{"POST", "POST"} }, key: "routes[0].methods", want: `"POST" is listed twice`},
		{name: "body type", mutate: func(c *Config) { c.Routes[0].Body = "xml" }, key: "routes[0].body", want: `"xml" is not one of form, json, multipart`},
		{name: "route body limit zero", mutate: func(c *Config) { c.Routes[0].MaxBodyBytes = 0 }, key: "routes[0].max_body_bytes", want: "0 out of range (1-10485760, 10MiB)"},
		{name: "route body limit too big", mutate: func(c *Config) { c.Routes[0].MaxBodyBytes = 10<<20 + 1 }, key: "routes[0].max_body_bytes", want: "10485761 out of range"},
		{name: "JSON depth too small", mutate: func(c *Config) { c.Routes[1].MaxJSONDepth = 1 }, key: "routes[1].max_json_depth", want: "1 out of range (2-128)"},
		{name: "JSON depth too big", mutate: func(c *Config) { c.Routes[1].MaxJSONDepth = 129 }, key: "routes[1].max_json_depth", want: "129 out of range"},
		{name: "card number", mutate: func(c *Config) { c.Routes[1].Card.Number = "" }, key: "routes[1].card.number", want: "required"},
		{name: "card cvc", mutate: func(c *Config) { c.Routes[0].Card.CVC = "" }, key: "routes[0].card.cvc", want: "required"},
		{name: "card exp and exp month", mutate: func(c *Config) { c.Routes[0].Card.ExpMonth = "m" }, key: "routes[0].card.exp", want: "set either exp or exp_month and exp_year, not both"},
		{name: "card no expiry", mutate: func(c *Config) { c.Routes[0].Card.Exp = "" }, key: "routes[0].card.exp", want: "required, unless exp_month and exp_year are set"},
		{name: "card exp month alone", mutate: func(c *Config) { c.Routes[1].Card.ExpYear = "" }, key: "routes[1].card.exp_year", want: "required with exp_month"},
		{name: "card exp year alone", mutate: func(c *Config) { c.Routes[1].Card.ExpMonth = "" }, key: "routes[1].card.exp_month", want: "required with exp_year"},
		{name: "result token", mutate: func(c *Config) { c.Routes[0].Result.Token = "" }, key: "routes[0].result.token", want: "required"},
		{name: "result error", mutate: func(c *Config) { c.Routes[0].Result.Error = "" }, key: "routes[0].result.error", want: "required"},
		{name: "result over a card field", mutate: func(c *Config) { c.Routes[0].Result.Last4 = "card_number" }, key: "routes[0].result.last4", want: `"card_number" is also routes[0].card.number`},
		{name: "two card fields alike", mutate: func(c *Config) { c.Routes[0].Card.Name = "card_cvc" }, key: "routes[0].card.name", want: `"card_cvc" is also routes[0].card.cvc`},
		{name: "two result fields alike", mutate: func(c *Config) { c.Routes[0].Result.Error = "payment_method" }, key: "routes[0].result.error", want: "is also routes[0].result.token"},
		{name: "JSON empty segment", mutate: func(c *Config) { c.Routes[1].Card.Number = "payment..number" }, key: "routes[1].card.number", want: `"payment..number" is not a dotted path of non-empty segments`},
		{name: "JSON leading dot", mutate: func(c *Config) { c.Routes[1].Card.CVC = ".cvc" }, key: "routes[1].card.cvc", want: "not a dotted path"},
		{name: "JSON trailing dot", mutate: func(c *Config) { c.Routes[1].Result.Token = "payment." }, key: "routes[1].result.token", want: "not a dotted path"},
		{name: "JSON result holds a card field", mutate: func(c *Config) { c.Routes[1].Result.Token = "payment.card" }, key: "routes[1].result.token", want: `"payment.card" contains routes[1].card.number`},
		{name: "JSON card field inside another", mutate: func(c *Config) { c.Routes[1].Card.CVC = "payment.card.number.cvc" }, key: "routes[1].card.cvc", want: "is inside routes[1].card.number"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig()
			tc.mutate(&c)
			err := c.Validate()
			requireProblem(t, err, tc.key, tc.want)
			if lines := problemLines(err); len(lines) != 1 {
				t.Errorf("got %d problems, want 1:\n%v", len(lines), err)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := validConfig()
	c.Listen.Addr = "0.0.0.0:70000"
	c.Vault.Auth.Method = "ldap"
	c.Routes[1].Card.Number = ""
	err := c.Validate()
	requireProblem(t, err, "listen.addr", "port 70000 out of range")
	requireProblem(t, err, "vault.auth.method", `"ldap" is not one of token, approle, kubernetes`)
	requireProblem(t, err, "routes[1].card.number", "required")
	if n := len(problemLines(err)); n != 3 {
		t.Errorf("got %d problems, want 3:\n%v", n, err)
	}
}

func TestValidateHidesPasswords(t *testing.T) {
	const password = "hunter2-planted"
	tests := []struct {
		name   string
		mutate func(*Config)
	}{
		{name: "upstream", mutate: func(c *Config) { c.Upstream.URL = "http://u:" + password + "@billing" }},
		{name: "upstream unparsable", mutate: func(c *Config) { c.Upstream.URL = "http://u:" + password + "@bil ling:x/" }},
		{name: "vault", mutate: func(c *Config) { c.Vault.Address = "https://u:" + password + "@vault" }},
		{name: "stripe", mutate: func(c *Config) { c.Gateway.Stripe.APIURL = "ftp://u:" + password + "@stripe" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig()
			tc.mutate(&c)
			err := c.Validate()
			if err == nil {
				t.Fatal("Validate accepted a URL with credentials")
			}
			if strings.Contains(err.Error(), password) {
				t.Errorf("error shows the password: %v", err)
			}
		})
	}
}
