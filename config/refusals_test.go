package config

import (
	"strings"
	"testing"
	"time"
)

func TestRefusalLimitsDefaults(t *testing.T) {
	d := Default()
	if rl := d.RateLimit; !rl.Enabled || rl.PerSecond != 1 || rl.Burst != 20 || rl.MaxClients != 65536 {
		t.Errorf("rate_limit defaults %+v", rl)
	}
	if d.Audit.AggregateInterval.D() != time.Minute {
		t.Errorf("audit.aggregate_interval default %s", d.Audit.AggregateInterval)
	}
	if len(d.Listen.TrustedProxies) != 0 {
		t.Errorf("listen.trusted_proxies default %v, want none", d.Listen.TrustedProxies)
	}
}

func TestRefusalLimitsValidate(t *testing.T) {
	accepts := []struct {
		name   string
		mutate func(*Config)
	}{
		{name: "trusted IPv4 and IPv6 networks", mutate: func(c *Config) {
			c.Listen.TrustedProxies = []string{"10.0.0.0/8", "192.0.2.10/32", "2001:db8::/32"}
		}},
		{name: "limit off, its numbers unchecked", mutate: func(c *Config) { c.RateLimit = RateLimit{Enabled: false} }},
		{name: "aggregate every second", mutate: func(c *Config) { c.Audit.AggregateInterval = Duration(time.Second) }},
	}
	for _, tc := range accepts {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig()
			tc.mutate(&c)
			if err := c.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
		})
	}
	refuses := []struct {
		name, key, want string
		mutate          func(*Config)
	}{
		{name: "bad CIDR", key: "listen.trusted_proxies[1]", want: `"10.0.0.0/33" is not a CIDR block`,
			mutate: func(c *Config) { c.Listen.TrustedProxies = []string{"10.0.0.0/8", "10.0.0.0/33"} }},
		{name: "a bare address", key: "listen.trusted_proxies[0]", want: "write 192.0.2.10/32 for this one address",
			mutate: func(c *Config) { c.Listen.TrustedProxies = []string{"192.0.2.10"} }},
		{name: "a bare IPv6 address", key: "listen.trusted_proxies[0]", want: "write 2001:db8::1/128",
			mutate: func(c *Config) { c.Listen.TrustedProxies = []string{"2001:db8::1"} }},
		{name: "host bits set", key: "listen.trusted_proxies[0]", want: "has host bits set (the network is 10.0.0.0/8)",
			mutate: func(c *Config) { c.Listen.TrustedProxies = []string{"10.1.2.3/8"} }},
		{name: "every address", key: "listen.trusted_proxies[0]", want: "trusts every address",
			mutate: func(c *Config) { c.Listen.TrustedProxies = []string{"0.0.0.0/0"} }},
		{name: "every IPv6 address", key: "listen.trusted_proxies[0]", want: "trusts every address",
			mutate: func(c *Config) { c.Listen.TrustedProxies = []string{"::/0"} }},
		{name: "zero rate", key: "rate_limit.per_second", want: "0 is not between 1 and 100000",
			mutate: func(c *Config) { c.RateLimit.PerSecond = 0 }},
		{name: "zero burst", key: "rate_limit.burst", want: "0 is not between 1 and 100000",
			mutate: func(c *Config) { c.RateLimit.Burst = 0 }},
		{name: "tiny table", key: "rate_limit.max_clients", want: "10 is not between 1024 and 16777216",
			mutate: func(c *Config) { c.RateLimit.MaxClients = 10 }},
		{name: "aggregation off", key: "audit.aggregate_interval", want: "0s is not between 1s and 1h",
			mutate: func(c *Config) { c.Audit.AggregateInterval = 0 }},
		{name: "aggregation a day", key: "audit.aggregate_interval", want: "24h0m0s is not between 1s and 1h",
			mutate: func(c *Config) { c.Audit.AggregateInterval = Duration(24 * time.Hour) }},
	}
	for _, tc := range refuses {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig()
			tc.mutate(&c)
			requireProblem(t, c.Validate(), tc.key, tc.want)
		})
	}
}

// TestRefusalLimitsFromYAMLAndEnv: the keys load from a file, strictly, and from the
// environment.
func TestRefusalLimitsFromYAMLAndEnv(t *testing.T) {
	y := `
listen:
  trusted_proxies: [10.0.0.0/8, "2001:db8::/32"]
rate_limit:
  enabled: false
  per_second: 5
  burst: 50
  max_clients: 4096
audit:
  aggregate_interval: 30s
`
	c, err := Parse([]byte(y), []string{"TOKENWALL_RATE_LIMIT_BURST=70", "TOKENWALL_AUDIT_AGGREGATE_INTERVAL=2m"})
	if err != nil {
		t.Fatal(err)
	}
	if rl := c.RateLimit; rl.Enabled || rl.PerSecond != 5 || rl.Burst != 70 || rl.MaxClients != 4096 {
		t.Errorf("rate_limit %+v", rl)
	}
	if c.Audit.AggregateInterval.D() != 2*time.Minute || strings.Join(c.Listen.TrustedProxies, " ") != "10.0.0.0/8 2001:db8::/32" {
		t.Errorf("aggregate_interval %s, trusted_proxies %v", c.Audit.AggregateInterval, c.Listen.TrustedProxies)
	}
	if _, err := Parse([]byte("rate_limit:\n  per_client: 5\n"), nil); err == nil || !strings.Contains(err.Error(), "per_client") {
		t.Errorf("an unknown rate_limit key: %v", err)
	}
}
