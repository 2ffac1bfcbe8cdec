package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/tokenwall/tokenwall/logging"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/rs/zerolog"

	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/config"
	gwstripe "github.com/tokenwall/tokenwall/gateway/stripe"
	"github.com/tokenwall/tokenwall/proxy"
	"github.com/tokenwall/tokenwall/store"
	"github.com/tokenwall/tokenwall/vault"
)

// stack is a started tokenwall: the Vault cache, the server and its listeners.
type stack struct {
	log    zerolog.Logger
	client *vault.Client
	cache  *vault.Cache
	store  store.Store
	trail  *audit.Trail
	server *proxy.Server
	hooks  *proxy.WebhookParts // nil unless webhooks are enabled
	cfg    config.Config
	public net.Listener
	admin  net.Listener
	closer io.Closer
}

// openLog returns the log destination: the configured file (created 0600) or stdout.
func openLog(cfg config.Log, stdout io.Writer) (io.Writer, io.Closer, error) {
	if cfg.File == "" {
		return stdout, io.NopCloser(nil), nil
	}
	if err := os.MkdirAll(filepath.Dir(cfg.File), 0o750); err != nil {
		return nil, nil, fmt.Errorf("log folder: %w", err)
	}
	f, err := os.OpenFile(cfg.File, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("log file: %w", err)
	}
	return f, f, nil
}

// start connects to Vault, loads the secrets, builds the gateway and the server, and opens
// the listeners. It fails, with an error that says why, when any of it is not possible.
func start(ctx context.Context, cfg config.Config, stdout io.Writer, getenv func(string) string) (*stack, error) {
	w, closer, err := logging.Open(cfg.Log, stdout)
	if err != nil {
		return nil, err
	}
	scrubber, err := cfg.Scrub.Scrubber()
	if err != nil {
		return nil, err
	}
	lg, err := logging.NewLogger(w, cfg.Log.Level, scrubber)
	if err != nil {
		return nil, err
	}
	st := &stack{log: lg, closer: closer, cfg: cfg}

	vctx, cancel := context.WithTimeout(ctx, 3*cfg.Vault.Timeout.D())
	defer cancel()
	st.client, err = vault.Dial(vctx, vault.Options{
		Address: cfg.Vault.Address, CACertFile: cfg.Vault.CACertFile, Timeout: cfg.Vault.Timeout.D(),
		KVMount: cfg.Vault.KVMount, Getenv: getenv,
		Auth: vault.Auth{
			Method: cfg.Vault.Auth.Method, TokenFile: cfg.Vault.Auth.TokenFile,
			RoleID: cfg.Vault.Auth.RoleID, SecretIDFile: cfg.Vault.Auth.SecretIDFile, Mount: cfg.Vault.Auth.Mount,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("cannot start without vault: %w", err)
	}
	var metrics *proxy.Metrics
	paths := map[string]string{
		vault.SecretStripeKey:  cfg.Vault.StripeKeyPath,
		vault.SecretSigningKey: cfg.Vault.SigningKeyPath,
		vault.SecretAuditKey:   cfg.Vault.AuditKeyPath,
	}
	if cfg.Store.Driver == "postgres" && cfg.Store.PostgresPasswordPath != "" {
		paths[vault.SecretPostgresPassword] = cfg.Store.PostgresPasswordPath
	}
	proxy.WebhookSecretPaths(cfg.Webhooks, paths)
	if cfg.API.Enabled {
		paths[vault.SecretAPIKeys] = cfg.API.KeysPath
	}
	st.cache = vault.NewCache(st.client, vault.CacheOptions{
		Paths:           paths,
		RefreshInterval: cfg.Vault.RefreshInterval.D(),
		MaxAge:          cfg.Vault.MaxAge.D(),
		OnRefresh: func(name string, err error) {
			if metrics != nil {
				metrics.VaultRefreshed(name, err)
			}
			if err != nil {
				lg.Warn().Str(logging.FieldSecret, name).Err(err).Msg("vault refresh failed; serving the cached value")
				if st.trail != nil {
					_ = st.trail.Record(context.Background(), audit.Event{Type: audit.EventSecretRefreshFailed, Actor: audit.ActorSystem,
						Outcome: audit.Failure, Reason: "vault_unavailable", Resource: "vault:" + cfg.Vault.KVMount + "/" + paths[name]})
				}
			}
		},
	})
	metrics = proxy.NewMetrics(st.cache.Ages)
	if err := st.cache.Load(vctx); err != nil {
		if cfg.API.Enabled && errors.Is(err, vault.ErrMissing) {
			err = fmt.Errorf("%w (with api.enabled, create the first key with `tokenwall keys create --scopes …`)", err)
		}
		return nil, fmt.Errorf("cannot start without secrets: %w", err)
	}
	lg.Info().Str(logging.FieldComponent, "vault").Msg("secrets loaded")

	if st.store, err = openStore(ctx, cfg.Store, func() (string, error) {
		s, err := st.cache.Get(vault.SecretPostgresPassword)
		return string(s.Reveal()), err
	}); err != nil {
		return nil, err
	}
	st.trail, err = audit.New(audit.Options{
		Store: st.store,
		Key: func() ([]byte, error) {
			s, err := st.cache.Get(vault.SecretAuditKey)
			return s.Reveal(), err
		},
		Signer:          st.client.Transit(cfg.Vault.TransitMount, cfg.Vault.TransitKey),
		CheckpointEvery: int64(cfg.Audit.CheckpointEvery),
		Scrubber:        scrubber,
		Log:             lg,
	})
	if err != nil {
		return nil, err
	}
	if err := st.recordStartup(ctx, cfg, paths); err != nil {
		return nil, fmt.Errorf("cannot start without an audit trail: %w", err)
	}

	gw, err := gwstripe.New(gwstripe.Options{
		APIURL:            cfg.Gateway.Stripe.APIURL,
		Timeout:           cfg.Gateway.Stripe.Timeout.D(),
		MaxNetworkRetries: cfg.Gateway.Stripe.MaxNetworkRetries,
		Key: func() (string, error) {
			s, err := st.cache.Get(vault.SecretStripeKey)
			return string(s.Reveal()), err
		},
		OnAuthError: st.cache.Refresh,
		Logger:      gwstripe.Logger{L: lg},
	})
	if err != nil {
		return nil, err
	}
	deps := proxy.Deps{Config: cfg, Log: lg, Secrets: st.cache, Gateway: gw, Metrics: metrics, Audit: st.trail, Store: st.store,
		Transit: st.client.Transit(cfg.Vault.TransitMount, cfg.Vault.TransitKey)}
	if cfg.Webhooks.Enabled {
		st.hooks, err = proxy.NewWebhooks(cfg, proxy.WebhookDeps{Secrets: st.cache, Store: st.store, Audit: st.trail,
			Scrubber: scrubber, Metrics: metrics, Log: lg})
		if err != nil {
			return nil, err
		}
		deps.Webhooks = st.hooks.Receiver.Handler()
	}
	st.server, err = proxy.New(deps)
	if err != nil {
		return nil, err
	}
	if st.public, err = net.Listen("tcp", cfg.Listen.Addr); err != nil {
		return nil, fmt.Errorf("listen %s: %w", cfg.Listen.Addr, err)
	}
	if st.admin, err = net.Listen("tcp", cfg.Admin.Addr); err != nil {
		_ = st.public.Close()
		return nil, fmt.Errorf("admin listen %s: %w", cfg.Admin.Addr, err)
	}
	return st, nil
}

// recordStartup writes the startup, config_loaded and secret_loaded events.
func (st *stack) recordStartup(ctx context.Context, cfg config.Config, paths map[string]string) error {
	evs := []audit.Event{
		{Type: audit.EventStartup, Actor: audit.ActorSystem, Outcome: audit.Success, Resource: "tokenwall"},
		{Type: audit.EventConfigLoaded, Actor: audit.ActorSystem, Outcome: audit.Success, Resource: "config",
			Details: map[string]string{"routes": strconv.Itoa(len(cfg.Routes)), "store": cfg.Store.Driver, "min_tls": cfg.Listen.MinTLSVersion, "webhooks": strconv.FormatBool(cfg.Webhooks.Enabled)}},
	}
	for name := range paths {
		s, err := st.cache.Get(name)
		if err != nil {
			return err
		}
		evs = append(evs, audit.Event{Type: audit.EventSecretLoaded, Actor: audit.ActorSystem, Outcome: audit.Success,
			Resource: "vault:" + cfg.Vault.KVMount + "/" + paths[name], Details: map[string]string{"version": strconv.Itoa(s.Version())}})
	}
	for _, ev := range evs {
		if err := st.trail.Record(ctx, ev); err != nil {
			return err
		}
	}
	return nil
}

// abort releases what start opened, for a caller that fails before serve.
func (st *stack) abort() {
	_ = st.public.Close()
	_ = st.admin.Close()
	st.closeState(context.Background())
	_ = st.closer.Close()
}

// closeState writes the shutdown event and the final signed checkpoint, and closes the store.
func (st *stack) closeState(ctx context.Context) {
	if st.trail != nil {
		if err := st.trail.Record(ctx, audit.Event{Type: audit.EventShutdown, Actor: audit.ActorSystem, Outcome: audit.Success, Resource: "tokenwall"}); err != nil {
			st.log.Error().Err(err).Msg("audit shutdown event")
		}
		if err := st.trail.Close(ctx); err != nil {
			st.log.Error().Err(err).Msg("audit final checkpoint")
		}
	}
	if st.store != nil {
		_ = st.store.Close()
	}
}

// refreshKeys re-reads the API key set every interval until ctx ends, so a revoked key is
// refused within it; a failure keeps the cached set until vault.max_age.
func (st *stack) refreshKeys(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_ = st.cache.RefreshSecret(ctx, vault.SecretAPIKeys) // failures go to OnRefresh: logged, counted, audited
		}
	}
}

// pruneIdempotency deletes expired idempotency records every interval until ctx ends.
func (st *stack) pruneIdempotency(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			n, err := st.store.PruneIdempotency(ctx, now)
			if err != nil {
				st.log.Warn().Err(err).Msg("pruning expired idempotency records failed")
				continue
			}
			st.log.Info().Int64("pruned", n).Msg("expired idempotency records pruned")
		}
	}
}

// serve runs the server and the background refresh until ctx ends.
func (st *stack) serve(ctx context.Context) error {
	bg, cancel := context.WithCancel(ctx)
	defer cancel()
	go st.cache.Run(bg, func(ctx context.Context) {
		if err := st.client.RenewToken(ctx); err != nil {
			st.log.Warn().Str(logging.FieldComponent, "vault").Err(err).Msg("token renewal failed")
		}
	})
	go st.pruneIdempotency(bg, time.Hour)
	if st.cfg.API.Enabled {
		go st.refreshKeys(bg, st.cfg.API.KeysRefresh.D())
	}
	delivering := make(chan struct{})
	if st.hooks != nil {
		go func() {
			defer close(delivering)
			st.hooks.Deliverer.Run(bg)
		}()
	} else {
		close(delivering)
	}
	st.log.Info().Str("addr", st.public.Addr().String()).Str("admin_addr", st.admin.Addr().String()).Msg("tokenwall started")
	start := time.Now()
	err := st.server.Run(ctx, st.public, st.admin)
	// The deliverer finishes the bookkeeping of deliveries in flight before the trail closes.
	cancel()
	<-delivering
	cctx, cancelClose := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	st.closeState(cctx)
	cancelClose()
	st.log.Info().Dur("uptime", time.Since(start)).Msg("tokenwall stopped")
	_ = st.closer.Close()
	return err
}
