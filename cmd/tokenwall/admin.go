package main

import (
	"context"
	"fmt"

	"github.com/tokenwall/tokenwall/apikey"
	"github.com/tokenwall/tokenwall/app"
	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/audit/report"
	"github.com/tokenwall/tokenwall/config"
	"github.com/tokenwall/tokenwall/store"
	"github.com/tokenwall/tokenwall/vault"
)

// adminConn is what the maintenance subcommands (migrate, audit) need: Vault for the audit
// key, the transit signer and the database password, and the store.
type adminConn struct {
	cfg    config.Config
	client *vault.Client
}

func dialAdmin(ctx context.Context, cfg config.Config) (*adminConn, error) {
	c, err := vault.Dial(ctx, app.VaultOptions(cfg, nil))
	if err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	return &adminConn{cfg: cfg, client: c}, nil
}

// openAdmin dials Vault and opens the store, for a maintenance command; the caller closes
// the store.
func openAdmin(ctx context.Context, cfg config.Config) (*adminConn, store.Store, error) {
	ac, err := dialAdmin(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	st, err := ac.open(ctx)
	if err != nil {
		return nil, nil, err
	}
	return ac, st, nil
}

// open opens the configured store (running pending migrations).
func (a *adminConn) open(ctx context.Context) (store.Store, error) {
	return app.OpenStore(ctx, a.cfg.Store, func() (string, error) {
		s, err := a.client.ReadKV(ctx, vault.SecretPostgresPassword, a.cfg.Store.PostgresPasswordPath)
		return string(s.Reveal()), err
	})
}

// auditKey reads the current audit HMAC key with its KV version.
func (a *adminConn) auditKey(ctx context.Context) (vault.Secret, error) {
	return a.client.ReadKV(ctx, vault.SecretAuditKey, a.cfg.Vault.AuditKeyPath)
}

// auditKeys reads each version of the audit key, to verify records MACed before a rotation;
// legacy is the version for records that name none (0: the lowest version Vault keeps).
func (a *adminConn) auditKeys(legacy int) audit.Keys {
	return audit.VaultKeys(a.client, a.cfg.Vault.AuditKeyPath, legacy)
}

// anchor is the audit trail's anchor in Vault.
func (a *adminConn) anchor() *audit.VaultAnchor {
	return audit.NewVaultAnchor(a.client, a.cfg.Vault.AuditAnchorPath)
}

// transit is the checkpoint signer.
func (a *adminConn) transit() *vault.Transit {
	return a.client.Transit(a.cfg.Vault.TransitMount, a.cfg.Vault.TransitKey)
}

// trail is an audit trail on st for a maintenance command's own events, anchored like the
// server's; the caller closes it, which writes a signed checkpoint.
func (a *adminConn) trail(st store.Store) (*audit.Trail, error) { return a.trailOn(st) }

// trailOn is trail on any audit store.
func (a *adminConn) trailOn(st store.Audit) (*audit.Trail, error) {
	o, err := a.trailOptions(st)
	if err != nil {
		return nil, err
	}
	return audit.New(o)
}

// trailOptions are the options of a maintenance command's trail on st.
func (a *adminConn) trailOptions(st store.Audit) (audit.Options, error) {
	scrubber, err := a.cfg.Scrub.Scrubber()
	if err != nil {
		return audit.Options{}, err
	}
	return audit.Options{
		Store: st,
		Key: func() (vault.Secret, error) {
			return a.auditKey(context.Background())
		},
		Signer:             a.transit(),
		CheckpointEvery:    int64(a.cfg.Audit.CheckpointEvery),
		CheckpointInterval: a.cfg.Audit.CheckpointInterval.D(),
		Anchor:             a.anchor(),
		Scrubber:           scrubber,
	}, nil
}

// apiKeys reads the API key set for a report: nil when the API is off.
func (a *adminConn) apiKeys(ctx context.Context) ([]report.KeyInfo, error) {
	if !a.cfg.API.Enabled {
		return nil, nil
	}
	s, err := a.client.ReadKV(ctx, vault.SecretAPIKeys, a.cfg.API.KeysPath)
	if err != nil {
		return nil, err
	}
	ks, err := apikey.ParseKeySet(s.Reveal())
	return app.KeyInfos(ks), err
}
