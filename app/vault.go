package app

import (
	"context"
	"strconv"

	"github.com/rs/zerolog"

	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/config"
	"github.com/tokenwall/tokenwall/gateway"
	gwstripe "github.com/tokenwall/tokenwall/gateway/stripe"
	"github.com/tokenwall/tokenwall/logging"
	"github.com/tokenwall/tokenwall/payments"
	"github.com/tokenwall/tokenwall/proxy"
	"github.com/tokenwall/tokenwall/store"
	"github.com/tokenwall/tokenwall/vault"
)

// VaultOptions are the Vault client settings of cfg (every subcommand dials Vault with them).
func VaultOptions(cfg config.Config, getenv func(string) string) vault.Options {
	v := cfg.Vault
	return vault.Options{
		Address: v.Address, CACertFile: v.CACertFile, Timeout: v.Timeout.D(), KVMount: v.KVMount, Getenv: getenv,
		Auth: vault.Auth{Method: v.Auth.Method, TokenFile: v.Auth.TokenFile, RoleID: v.Auth.RoleID,
			SecretIDFile: v.Auth.SecretIDFile, Role: v.Auth.Role, Mount: v.Auth.Mount},
	}
}

// SecretPaths are the secrets cfg needs, by logical name (vault.Secret…) with their KV path:
// the gateway key, the signing key, the audit key, and as configured the PostgreSQL
// password, the webhook endpoint secrets and the API key set.
func SecretPaths(cfg config.Config) map[string]string {
	paths := map[string]string{
		vault.SecretStripeKey:  cfg.Vault.StripeKeyPath,
		vault.SecretSigningKey: cfg.Vault.SigningKeyPath,
		vault.SecretAuditKey:   cfg.Vault.AuditKeyPath,
	}
	if cfg.Store.Driver == "postgres" && cfg.Store.PostgresPasswordPath != "" {
		paths[vault.SecretPostgresPassword] = cfg.Store.PostgresPasswordPath
	}
	if cfg.Webhooks.Enabled {
		for i, p := range cfg.Webhooks.SecretPaths {
			paths[vault.SecretWebhook(i)] = p
		}
	}
	if cfg.API.Enabled {
		paths[vault.SecretAPIKeys] = cfg.API.KeysPath
	}
	return paths
}

// keepVaultLogin keeps an AppRole or Kubernetes login alive (renewed by Vault's lifetime
// watcher, a new login when renewal stops) until ctx ends, logging each new login and each
// failure; with a token it returns at once (the cache's refresh re-reads the token file).
func (a *App) keepVaultLogin(ctx context.Context) {
	a.client.KeepLoggedIn(ctx, func(err error) {
		if err != nil {
			a.log.Warn().Str(logging.FieldComponent, "vault").Err(err).Msg("vault token renewal or login failed; logging in again")
			return
		}
		a.log.Info().Str(logging.FieldComponent, "vault").Msg("vault token renewal ended; logged in again")
	})
}

// recordStartup writes the startup, config_loaded and secret_loaded events.
func (a *App) recordStartup(ctx context.Context, paths map[string]string) error {
	cfg := a.cfg
	evs := []audit.Event{
		{Type: audit.EventStartup, Actor: audit.ActorSystem, Outcome: audit.Success, Resource: "tokenwall"},
		{Type: audit.EventConfigLoaded, Actor: audit.ActorSystem, Outcome: audit.Success, Resource: "config",
			Details: map[string]string{"routes": strconv.Itoa(len(cfg.Routes)), "store": cfg.Store.Driver, "min_tls": cfg.Listen.MinTLSVersion, "webhooks": strconv.FormatBool(cfg.Webhooks.Enabled)}},
	}
	for name, path := range paths {
		s, err := a.cache.Get(name)
		if err != nil {
			return err
		}
		evs = append(evs, audit.Event{Type: audit.EventSecretLoaded, Actor: audit.ActorSystem, Outcome: audit.Success,
			Resource: "vault:" + cfg.Vault.KVMount + "/" + path, Details: map[string]string{"version": strconv.Itoa(s.Version())}})
	}
	for _, ev := range evs {
		if err := a.trail.Record(ctx, ev); err != nil {
			return err
		}
	}
	return nil
}

// stripe is the Stripe gateway with the key from the cache; a 401 re-reads the key.
func (a *App) stripe() (*gwstripe.Gateway, error) {
	return Stripe(a.cfg, func() (string, error) {
		s, err := a.cache.Get(vault.SecretStripeKey)
		return string(s.Reveal()), err
	}, a.cache.Refresh, a.log)
}

// Stripe is the configured Stripe gateway: key returns the secret key at every call,
// onAuthError (nil for none) re-reads it when Stripe answers 401.
func Stripe(cfg config.Config, key gwstripe.KeyFunc, onAuthError func(context.Context) error, log zerolog.Logger) (*gwstripe.Gateway, error) {
	c := cfg.Gateway.Stripe
	return gwstripe.New(gwstripe.Options{APIURL: c.APIURL, Timeout: c.Timeout.D(), MaxNetworkRetries: c.MaxNetworkRetries,
		Key: key, OnAuthError: onAuthError, Logger: gwstripe.Logger{L: log}})
}

// Payments is the billing operations service of cfg's api section over gw, the store and
// the trail, with the error table's audit reasons: the API and the CLI use the same one.
func Payments(cfg config.Config, gw gateway.Payments, st store.Store, trail payments.Recorder) (*payments.Service, error) {
	return newPayments(cfg, gw, st, trail, nil)
}

// newPayments is Payments with what the running server adds: onSweep is told what each
// sweep of stale intents did (nil for the CLI, which runs no sweeper).
func newPayments(cfg config.Config, gw gateway.Payments, st store.Store, trail payments.Recorder, onSweep func(int, error)) (*payments.Service, error) {
	return payments.New(payments.Options{Gateway: gw, Store: st, Audit: trail, Reason: proxy.AuditReason, OnSweep: onSweep,
		Limits: payments.Limits{MaxAmount: cfg.API.MaxAmount, Currencies: cfg.API.Currencies, ISO4217: config.ISO4217,
			ReturnURLOrigins: cfg.API.ReturnURLOrigins}})
}
