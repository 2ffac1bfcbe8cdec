package config

import "time"

// Default returns the configuration tokenwall starts from before a file and the environment
// are applied. It is not valid on its own: vault.address, upstream.url, listen's certificate
// and at least one route must still be set.
func Default() Config {
	return Config{
		Listen: Listen{
			Addr:              "127.0.0.1:8443",
			MinTLSVersion:     "1.2",
			ReadHeaderTimeout: Duration(5 * time.Second),
			ReadTimeout:       Duration(30 * time.Second),
			WriteTimeout:      Duration(30 * time.Second),
			IdleTimeout:       Duration(120 * time.Second),
			RequestTimeout:    Duration(25 * time.Second),
			ShutdownGrace:     Duration(20 * time.Second),
			MaxBodyBytes:      1 << 20,
			HSTSMaxAge:        31536000,
			MaxHeaderBytes:    32 << 10,

			HTTP2MaxConcurrentStreams: 100,
		},
		Admin: Admin{
			Addr: "127.0.0.1:9090",
		},
		Upstream: Upstream{
			MaxIdleConnsPerHost:   64,
			MaxConnsPerHost:       256,
			ResponseHeaderTimeout: Duration(20 * time.Second),
			SignatureHeader:       "Tokenwall-Signature",
			SignatureV1:           true,
		},
		Store:      Store{Driver: "sqlite", SQLitePath: "/var/lib/tokenwall/tokenwall.db", MaxConns: 16},
		Audit:      Audit{CheckpointEvery: 1000, CheckpointInterval: Duration(time.Minute), RetentionDays: 400, CryptoperiodDays: 365, AggregateInterval: Duration(time.Minute)},
		Webhooks:   defaultWebhooks(),
		API:        defaultAPI(),
		PageChecks: defaultPageChecks(),
		Vault: Vault{
			Auth: VaultAuth{
				Method: "token",
			},
			KVMount:         "secret",
			StripeKeyPath:   "tokenwall/stripe",
			SigningKeyPath:  "tokenwall/signing",
			AuditKeyPath:    "tokenwall/audit-hmac",
			AuditAnchorPath: "tokenwall/audit-anchor",
			TransitMount:    "transit",
			TransitKey:      "tokenwall-audit",
			RefreshInterval: Duration(5 * time.Minute),
			MaxAge:          Duration(time.Hour),
			Timeout:         Duration(5 * time.Second),
		},
		Gateway: Gateway{
			Stripe: Stripe{
				APIURL:            "https://api.stripe.com",
				Timeout:           Duration(10 * time.Second),
				MaxNetworkRetries: 2,
			},
		},
		Log: Log{
			Level: "info",
		},
		RateLimit: defaultRateLimit(),
	}
}

// WithDefaults returns r with every unset (zero) field given its default: methods [POST],
// body "form", a 64KiB body limit, JSON depth 32 and the card_* result field names.
// Parse applies it to every route; code that builds routes itself should too.
func (r Route) WithDefaults() Route {
	if len(r.Methods) == 0 {
		// A fresh slice per route, so that routes never share a backing array.
		r.Methods = []string{"POST"}
	}
	setString(&r.Body, "form")
	if r.MaxBodyBytes == 0 {
		r.MaxBodyBytes = 64 << 10
	}
	if r.MaxJSONDepth == 0 {
		r.MaxJSONDepth = 32
	}
	setString(&r.Result.Token, "payment_method")
	setString(&r.Result.Brand, "card_brand")
	setString(&r.Result.Last4, "card_last4")
	setString(&r.Result.ExpMonth, "card_exp_month")
	setString(&r.Result.ExpYear, "card_exp_year")
	setString(&r.Result.Fingerprint, "card_fingerprint")
	setString(&r.Result.Error, "card_error")
	r.Setup = r.Setup.withDefaults()
	return r
}

// setString sets *s to def when *s is empty.
func setString(s *string, def string) {
	if *s == "" {
		*s = def
	}
}
