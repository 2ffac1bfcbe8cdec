package config

import (
	"testing"
	"time"
)

// webhooksOn is a valid config with webhooks enabled and one endpoint secret.
func webhooksOn() Config {
	c := validConfig()
	c.Webhooks.Enabled = true
	c.Webhooks.SecretPaths = []string{"tokenwall/stripe-webhook"}
	return c
}

func TestWebhooksValidateAccepts(t *testing.T) {
	for name, mutate := range map[string]func(*Config){
		"defaults with one secret": func(*Config) {},
		"two secrets during a roll": func(c *Config) {
			c.Webhooks.SecretPaths = append(c.Webhooks.SecretPaths, "tokenwall/stripe-webhook-next")
		},
		"disabled with nothing set": func(c *Config) { c.Webhooks = Webhooks{} },
		"own path":                  func(c *Config) { c.Webhooks.Path = "/hooks/gateway" },
	} {
		t.Run(name, func(t *testing.T) {
			c := webhooksOn()
			mutate(&c)
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestWebhooksValidateRefuses(t *testing.T) {
	tests := []struct {
		name      string
		mutate    func(*Webhooks)
		key, want string
	}{
		{"no secret", func(w *Webhooks) { w.SecretPaths = nil }, "webhooks.secret_paths", "at least one Vault path"},
		{"secret path with slash", func(w *Webhooks) { w.SecretPaths = []string{"/tokenwall/wh"} }, "webhooks.secret_paths[0]", `must not start or end with "/"`},
		{"secret listed twice", func(w *Webhooks) { w.SecretPaths = []string{"a/b", "a/b"} }, "webhooks.secret_paths[1]", "listed twice"},
		{"path empty", func(w *Webhooks) { w.Path = "" }, "webhooks.path", "required"},
		{"path relative", func(w *Webhooks) { w.Path = "webhooks" }, "webhooks.path", "must be a plain path"},
		{"path wildcard", func(w *Webhooks) { w.Path = "/webhooks/*" }, "webhooks.path", "must be a plain path"},
		{"path of a route", func(w *Webhooks) { w.Path = "/checkout/submit" }, "webhooks.path", "is already the path of routes[0]"},
		{"path of health", func(w *Webhooks) { w.Path = "/healthz" }, "webhooks.path", "tokenwall's own endpoint"},
		{"tolerance zero", func(w *Webhooks) { w.Tolerance = 0 }, "webhooks.tolerance", "must be greater than 0"},
		{"tolerance too long", func(w *Webhooks) { w.Tolerance = Duration(2 * time.Hour) }, "webhooks.tolerance", "more than 1h"},
		{"body too small", func(w *Webhooks) { w.MaxBodyBytes = 100 }, "webhooks.max_body_bytes", "not between 1KiB and 10MiB"},
		{"body too large", func(w *Webhooks) { w.MaxBodyBytes = 64 << 20 }, "webhooks.max_body_bytes", "not between 1KiB and 10MiB"},
		{"deliver path relative", func(w *Webhooks) { w.DeliverPath = "hooks" }, "webhooks.deliver_path", "must start with /"},
		{"timeout not below lease", func(w *Webhooks) { w.Timeout = w.Lease }, "webhooks.timeout", "must be shorter than webhooks.lease"},
		{"backoff cap below base", func(w *Webhooks) { w.BackoffCap = Duration(time.Millisecond) }, "webhooks.backoff_cap", "less than webhooks.backoff_base"},
		{"batch zero", func(w *Webhooks) { w.Batch = 0 }, "webhooks.batch", "not between 1 and 1000"},
		{"max age zero", func(w *Webhooks) { w.MaxAge = 0 }, "webhooks.max_age", "must be greater than 0"},
		{"poll negative", func(w *Webhooks) { w.Poll = Duration(-time.Second) }, "webhooks.poll", "must be greater than 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := webhooksOn()
			tc.mutate(&c.Webhooks)
			err := c.Validate()
			requireProblem(t, err, tc.key, tc.want)
			if lines := problemLines(err); len(lines) != 1 {
				t.Errorf("got %d problems, want 1:\n%v", len(lines), err)
			}
		})
	}
}

func TestAPIValidate(t *testing.T) {
	on := func() Config {
		c := validConfig()
		c.API.Enabled = true
		return c
	}
	if err := on().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	tests := []struct {
		name      string
		mutate    func(*API)
		key, want string
	}{
		{"keys path with slash", func(a *API) { a.KeysPath = "tokenwall/api-keys/" }, "api.keys_path", `must not start or end with "/"`},
		{"rate zero", func(a *API) { a.RatePerSecond = 0 }, "api.rate_per_second", "not between 1 and 100000"},
		{"keys refresh too often", func(a *API) { a.KeysRefresh = Duration(time.Millisecond) }, "api.keys_refresh", "not between 1s and 1h"},
		{"burst zero", func(a *API) { a.Burst = 0 }, "api.burst", "not between 1 and 100000"},
		{"max amount above Stripe's", func(a *API) { a.MaxAmount = 100_000_000 }, "api.max_amount", "not between 1 and 99999999"},
		{"no currency", func(a *API) { a.Currencies = nil }, "api.currencies", "at least one currency"},
		{"currency upper case", func(a *API) { a.Currencies = []string{"USD"} }, "api.currencies[0]", `"USD" is not an ISO 4217`},
		{"currency unknown", func(a *API) { a.Currencies = []string{"usd", "xyz"} }, "api.currencies[1]", `"xyz" is not an ISO 4217`},
		{"idempotency too short", func(a *API) { a.IdempotencyTTL = Duration(time.Minute) }, "api.idempotency_ttl", "not between 1h and 720h"},
		{"body too large", func(a *API) { a.MaxBodyBytes = 8 << 20 }, "api.max_body_bytes", "not between 1KiB and 1MiB"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := on()
			tc.mutate(&c.API)
			err := c.Validate()
			requireProblem(t, err, tc.key, tc.want)
			if lines := problemLines(err); len(lines) != 1 {
				t.Errorf("got %d problems, want 1:\n%v", len(lines), err)
			}
		})
	}
}
