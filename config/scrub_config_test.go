package config

import (
	"strings"
	"testing"
)

func TestValidateScrubAndCardEscape(t *testing.T) {
	cases := []struct {
		name    string
		edit    func(*Config)
		wantKey string
	}{
		{name: "unknown card mask", edit: func(c *Config) { c.Scrub.CardMask = "first8" }, wantKey: "scrub.card_mask"},
		{name: "extra key without a name", edit: func(c *Config) { c.Scrub.ExtraKeys = []ScrubKey{{Kind: "pin"}} }, wantKey: "scrub.extra_keys[0].name"},
		{name: "extra key of an unknown kind", edit: func(c *Config) { c.Scrub.ExtraKeys = []ScrubKey{{Name: "loyalty", Kind: "loyalty"}} }, wantKey: "scrub.extra_keys[0].kind"},
		{name: "alert path without a slash", edit: func(c *Config) { c.CardEscape.AlertPaths = []string{"legacy"} }, wantKey: "card_escape.alert_paths[0]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig()
			tc.edit(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.wantKey+":") {
				t.Fatalf("Validate() = %v, want a problem at %s", err, tc.wantKey)
			}
		})
	}
	c := validConfig()
	c.Scrub = Scrub{CardMask: "first6_last4", ExtraKeys: []ScrubKey{{Name: "loyalty_pin", Kind: "pin", Suffix: true}}}
	c.CardEscape.AlertPaths = []string{"/legacy/"}
	if err := c.Validate(); err != nil {
		t.Fatalf("valid scrub and card_escape settings refused: %v", err)
	}
}

func TestValidateStoreAndAudit(t *testing.T) {
	cases := []struct {
		name    string
		edit    func(*Config)
		wantKey string
	}{
		{name: "unknown driver", edit: func(c *Config) { c.Store.Driver = "mysql" }, wantKey: "store.driver"},
		{name: "sqlite without a path", edit: func(c *Config) { c.Store.SQLitePath = "" }, wantKey: "store.sqlite_path"},
		{name: "postgres url with a password", edit: func(c *Config) {
			c.Store.Driver, c.Store.PostgresURL = "postgres", "postgres://tw:hunter2@db:5432/tw"
		}, wantKey: "store.postgres_url"},
		{name: "postgres url of another scheme", edit: func(c *Config) {
			c.Store.Driver, c.Store.PostgresURL = "postgres", "mysql://db/tw"
		}, wantKey: "store.postgres_url"},
		{name: "retention under a year", edit: func(c *Config) { c.Audit.RetentionDays = 90 }, wantKey: "audit.retention_days"},
		{name: "no checkpoints", edit: func(c *Config) { c.Audit.CheckpointEvery = 0 }, wantKey: "audit.checkpoint_every"},
		{name: "no transit key", edit: func(c *Config) { c.Vault.TransitKey = "" }, wantKey: "vault.transit_key_name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig()
			tc.edit(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.wantKey+":") {
				t.Fatalf("Validate() = %v, want a problem at %s", err, tc.wantKey)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatal("the message shows the password")
			}
		})
	}
	c := validConfig()
	c.Store = Store{Driver: "postgres", PostgresURL: "postgres://tokenwall@db:5432/tw?sslmode=verify-full", PostgresPasswordPath: "tokenwall/pg", MaxConns: 8}
	if err := c.Validate(); err != nil {
		t.Fatalf("valid postgres settings refused: %v", err)
	}
}
