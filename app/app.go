// Package app builds the running tokenwall from a Config: the logger, Vault and its cache,
// the store and the audit trail, the gateway, the webhook receiver and deliverer, the /v1
// API and the proxy server with its listeners. `tokenwall serve`, `tokenwall-dev` and every
// test that starts tokenwall build it here, so they all run the same code.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/tokenwall/tokenwall/apikey"
	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/config"
	"github.com/tokenwall/tokenwall/gateway"
	"github.com/tokenwall/tokenwall/logging"
	"github.com/tokenwall/tokenwall/payments"
	"github.com/tokenwall/tokenwall/proxy"
	"github.com/tokenwall/tokenwall/proxy/api"
	"github.com/tokenwall/tokenwall/proxy/pages"
	"github.com/tokenwall/tokenwall/scrub"
	"github.com/tokenwall/tokenwall/store"
	"github.com/tokenwall/tokenwall/vault"
)

// Options are what Build takes besides the Config. Every field is optional.
type Options struct {
	// Stdout receives the log when log.file is not set (os.Stdout when nil).
	Stdout io.Writer
	// Getenv reads the environment for Vault's client (os.Getenv when nil).
	Getenv func(string) string
	// Gateway replaces Stripe (through stripe-go with the key from Vault), for benchmarks
	// that measure tokenwall's own cost with an in-process gateway.
	Gateway gateway.Gateway
	// Signer replaces the Vault transit key as the signer of audit checkpoints, for tests
	// that take their Vault down and still verify the trail with another.
	Signer audit.Signer
}

// App is a built tokenwall: everything opened, listening, not yet serving.
type App struct {
	cfg     config.Config
	log     zerolog.Logger
	client  *vault.Client
	cache   *vault.Cache
	metrics *proxy.Metrics
	store   store.Store
	trail   *audit.Trail
	hooks   *WebhookParts
	pay     *payments.Service
	server  *proxy.Server
	public  net.Listener
	admin   net.Listener

	// refusals aggregates repeated refusal records on their way to the trail.
	refusals *audit.Aggregator
	// pages guards the payment pages; pageReports aggregates the browsers' CSP reports.
	pages       *pages.Watcher
	pageReports *audit.Aggregator

	// closers undo Build's steps; Close runs them in reverse order.
	closers   []func() error
	closeOnce sync.Once
	closeErr  error
}

// Build opens and connects everything cfg names, in order, and returns the App ready to
// Run. When a step fails it closes, in reverse order, what the earlier steps opened and
// returns an error that says why.
func Build(ctx context.Context, cfg config.Config, o Options) (_ *App, err error) {
	if o.Stdout == nil {
		o.Stdout = os.Stdout
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	a := &App{cfg: cfg}
	defer func() {
		if err != nil {
			_ = a.Close()
		}
	}()
	scrubber, err := cfg.Scrub.Scrubber()
	if err != nil {
		return nil, err
	}
	w, closer, err := logging.Open(cfg.Log, o.Stdout)
	if err != nil {
		return nil, err
	}
	a.onClose(closer.Close)
	if a.log, err = logging.NewLogger(w, cfg.Log.Level, scrubber); err != nil {
		return nil, err
	}
	paths, err := a.openVault(ctx, o.Getenv)
	if err != nil {
		return nil, err
	}
	if err := a.openTrail(ctx, o.Signer, scrubber); err != nil {
		return nil, err
	}
	a.metrics.WatchOutbox(a.store.OutboxStats)
	if err := a.recordStartup(ctx, paths); err != nil {
		return nil, fmt.Errorf("cannot start without an audit trail: %w", err)
	}
	gw := o.Gateway
	if gw == nil {
		if gw, err = a.stripe(); err != nil {
			return nil, err
		}
	}
	if err := a.buildServer(gw, scrubber, o.Signer); err != nil {
		return nil, err
	}
	if err := a.listen(); err != nil {
		return nil, err
	}
	return a, nil
}

// onClose registers a step's undo.
func (a *App) onClose(f func() error) { a.closers = append(a.closers, f) }

// openVault dials Vault and loads every secret the config names into the cache; it fails
// closed when any is missing.
func (a *App) openVault(ctx context.Context, getenv func(string) string) (map[string]string, error) {
	cfg := a.cfg
	vctx, cancel := context.WithTimeout(ctx, 3*cfg.Vault.Timeout.D())
	defer cancel()
	var err error
	a.client, err = vault.Dial(vctx, VaultOptions(cfg, getenv))
	if err != nil {
		return nil, fmt.Errorf("cannot start without vault: %w", err)
	}
	paths := SecretPaths(cfg)
	a.cache = vault.NewCache(a.client, vault.CacheOptions{
		Paths:           paths,
		RefreshInterval: cfg.Vault.RefreshInterval.D(),
		MaxAge:          cfg.Vault.MaxAge.D(),
		OnRefresh:       func(name string, err error) { a.refreshed(name, paths[name], err) },
	})
	a.metrics = proxy.NewMetrics(a.cache.Ages)
	b := Version()
	a.metrics.SetBuildInfo(b.Version, b.Commit, b.GoVersion)
	if err := a.cache.Load(vctx); err != nil {
		if cfg.API.Enabled && errors.Is(err, vault.ErrMissing) {
			err = fmt.Errorf("%w (with api.enabled, create the first key with `tokenwall keys create --scopes …`)", err)
		}
		return nil, fmt.Errorf("cannot start without secrets: %w", err)
	}
	a.log.Info().Str(logging.FieldComponent, "vault").Msg("secrets loaded")
	return paths, nil
}

// refreshed reports one background read of a secret: counted, and on failure logged and
// audited (the cached value is served until vault.max_age).
func (a *App) refreshed(name, path string, err error) {
	if a.metrics != nil {
		a.metrics.VaultRefreshed(name, err)
	}
	if err == nil {
		return
	}
	a.log.Warn().Str(logging.FieldSecret, name).Err(err).Msg("vault refresh failed; serving the cached value")
	if a.trail != nil {
		_ = a.trail.Record(context.Background(), audit.Event{Type: audit.EventSecretRefreshFailed, Actor: audit.ActorSystem,
			Outcome: audit.Failure, Reason: "vault_unavailable", Resource: "vault:" + a.cfg.Vault.KVMount + "/" + path})
	}
}

// openTrail opens the store and the audit trail on it.
func (a *App) openTrail(ctx context.Context, signer audit.Signer, scrubber *scrub.Scrubber) error {
	var err error
	a.store, err = OpenStore(ctx, a.cfg.Store, func() (string, error) {
		s, err := a.cache.Get(vault.SecretPostgresPassword)
		return string(s.Reveal()), err
	})
	if err != nil {
		return err
	}
	a.onClose(a.store.Close)
	if signer == nil {
		signer = a.Transit()
	}
	a.trail, err = audit.New(audit.Options{
		Store: a.store,
		Key: func() (vault.Secret, error) {
			return a.cache.Get(vault.SecretAuditKey)
		},
		Signer:             signer,
		CheckpointEvery:    int64(a.cfg.Audit.CheckpointEvery),
		CheckpointInterval: a.cfg.Audit.CheckpointInterval.D(),
		Anchor:             a.Anchor(),
		Scrubber:           scrubber,
		Log:                a.log,
	})
	return err
}

// Anchor is where the audit trail's checkpoints are anchored: vault.audit_anchor_path.
func (a *App) Anchor() *audit.VaultAnchor {
	return audit.NewVaultAnchor(a.client, a.cfg.Vault.AuditAnchorPath)
}

// Transit is the Vault transit key that signs audit checkpoints and reports.
func (a *App) Transit() *vault.Transit {
	return a.client.Transit(a.cfg.Vault.TransitMount, a.cfg.Vault.TransitKey)
}

// buildServer builds the webhook parts, the API and the proxy server.
func (a *App) buildServer(gw gateway.Gateway, scrubber *scrub.Scrubber, signer audit.Signer) error {
	cfg := a.cfg
	rec := auditRecorder{trail: a.trail, metrics: a.metrics, log: a.log}
	if err := a.openRefusals(rec); err != nil {
		return err
	}
	deps := proxy.Deps{Config: cfg, Log: a.log, Secrets: a.cache, Gateway: gw, Metrics: a.metrics, Audit: a.refusals}
	if err := a.openPages(rec); err != nil {
		return err
	}
	if a.pages != nil {
		deps.Pages, deps.PageReports = a.pages, a.pageReports
	}
	if cfg.Webhooks.Enabled {
		hooks, err := newWebhooks(cfg, webhookDeps{Secrets: a.cache, Store: a.store, Audit: a.refusals,
			Scrubber: scrubber, Metrics: a.metrics, Log: a.log})
		if err != nil {
			return err
		}
		a.hooks = hooks
		deps.Webhooks = hooks.Receiver.Handler()
	}
	if cfg.API.Enabled {
		pg, ok := gw.(gateway.Payments)
		if !ok {
			return errors.New("the API is enabled but the gateway does not take payments")
		}
		svc, err := newPayments(cfg, pg, a.store, rec, a.swept)
		if err != nil {
			return err
		}
		a.pay = svc
		deps.Payments = svc // the checkout routes that save cards with a SetupIntent
		deps.API = api.New(api.Deps{Config: cfg.API, Payments: svc,
			Idempotency: payments.NewIdempotency(a.store, cfg.API.IdempotencyTTL.D(), nil),
			Keys:        apikey.NewRing(a.cache), Limiter: apikey.NewLimiter(cfg.API.RatePerSecond, cfg.API.Burst),
			Store: a.store, Audit: a.refusals, Metrics: a.metrics, Log: a.log, Reports: a.reports(signer)})
	}
	var err error
	a.server, err = proxy.New(deps)
	return err
}

// listen opens the public and the admin listeners.
func (a *App) listen() error {
	var err error
	if a.public, err = net.Listen("tcp", a.cfg.Listen.Addr); err != nil {
		return fmt.Errorf("listen %s: %w", a.cfg.Listen.Addr, err)
	}
	a.onClose(a.public.Close)
	if a.admin, err = net.Listen("tcp", a.cfg.Admin.Addr); err != nil {
		return fmt.Errorf("admin listen %s: %w", a.cfg.Admin.Addr, err)
	}
	a.onClose(a.admin.Close)
	return nil
}

// Run serves until ctx ends, with the background work beside it (the Vault cache's refresh
// and token renewal, the API key set's refresh, idempotency pruning, the sweep of payments
// left waiting for the customer, webhook delivery). It
// then lets in-flight requests finish, stops the deliverer, writes the shutdown event and
// the trail's final signed checkpoint. Close the App after.
func (a *App) Run(ctx context.Context) error {
	bg, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	spawn := func(f func(context.Context)) {
		wg.Add(1)
		go func() { defer wg.Done(); f(bg) }()
	}
	spawn(func(ctx context.Context) {
		a.cache.Run(ctx, func(ctx context.Context) {
			if err := a.client.RenewToken(ctx); err != nil {
				a.log.Warn().Str(logging.FieldComponent, "vault").Err(err).Msg("token renewal failed")
			}
		})
	})
	spawn(a.keepVaultLogin)
	spawn(func(ctx context.Context) { a.pruneIdempotency(ctx, time.Hour) })
	if a.cfg.API.Enabled {
		spawn(func(ctx context.Context) { apikey.Refresh(ctx, a.cache, a.cfg.API.KeysRefresh.D()) })
		spawn(a.sweep)
	}
	if a.hooks != nil {
		spawn(a.hooks.Deliverer.Run)
	}
	if a.pages != nil {
		spawn(a.pages.Run)
	}
	a.log.Info().Str(logging.FieldAddr, a.public.Addr().String()).Str(logging.FieldAdminAddr, a.admin.Addr().String()).Msg("tokenwall started")
	start := time.Now()
	err := a.server.Run(ctx, a.public, a.admin)
	// The deliverer finishes the bookkeeping of deliveries in flight before the trail closes.
	cancel()
	wg.Wait()
	cctx, cancelClose := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancelClose()
	a.closeTrail(cctx)
	a.log.Info().Dur("uptime", time.Since(start)).Msg("tokenwall stopped")
	return err
}

// closeTrail writes the shutdown event and the final signed checkpoint.
func (a *App) closeTrail(ctx context.Context) {
	if a.trail == nil {
		return
	}
	a.closeRefusals(ctx)
	a.closePages(ctx)
	if a.pay != nil {
		a.pay.FlushGaps(ctx)
		if n := a.pay.PendingGaps(); n > 0 {
			a.log.Error().Int("audit_gaps", n).Msg("audit_gap records the trail never took at shutdown")
		}
	}
	if err := a.trail.Record(ctx, audit.Event{Type: audit.EventShutdown, Actor: audit.ActorSystem, Outcome: audit.Success, Resource: "tokenwall"}); err != nil {
		a.log.Error().Err(err).Msg("audit shutdown event")
	}
	if err := a.trail.Close(ctx); err != nil {
		a.log.Error().Err(err).Msg("audit final checkpoint")
	}
	a.trail = nil
}

// Close releases, in reverse order, what Build opened: the listeners, the store, the log
// file. An App that was built but never run also gets its shutdown event and checkpoint.
func (a *App) Close() error {
	a.closeOnce.Do(func() {
		a.closeTrail(context.Background())
		for i := len(a.closers) - 1; i >= 0; i-- {
			if err := a.closers[i](); err != nil && !errors.Is(err, net.ErrClosed) {
				a.closeErr = errors.Join(a.closeErr, err)
			}
		}
	})
	return a.closeErr
}

// sweep cancels, every api.sweep_interval, the payments and setups left waiting for the
// customer longer than api.requires_action_timeout, until ctx ends. Replicas sharing the
// store take turns by lease, under the webhook deliverer's holder name.
func (a *App) sweep(ctx context.Context) {
	if a.pay == nil {
		return
	}
	if err := a.pay.RunSweeper(ctx, holder(a.cfg.Webhooks.Owner), a.cfg.API.SweepInterval.D(), a.cfg.API.RequiresActionTimeout.D()); err != nil {
		a.log.Error().Str(logging.FieldComponent, "payments").Err(err).Msg("the sweeper of stale payments did not start")
	}
}

// swept logs what one sweep of stale intents did.
func (a *App) swept(canceled int, err error) {
	lg := a.log.With().Str(logging.FieldComponent, "payments").Logger()
	if err != nil {
		lg.Warn().Int("canceled", canceled).Err(err).Msg("sweeping stale payments failed; the rest wait for the next sweep")
		return
	}
	if canceled > 0 {
		lg.Info().Int("canceled", canceled).Dur("older_than", a.cfg.API.RequiresActionTimeout.D()).Msg("stale payments canceled")
	}
}

// pruneIdempotency deletes expired idempotency records every interval until ctx ends.
func (a *App) pruneIdempotency(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			n, err := a.store.PruneIdempotency(ctx, now)
			if err != nil {
				a.log.Warn().Err(err).Msg("pruning expired idempotency records failed")
				continue
			}
			a.log.Info().Int64("pruned", n).Msg("expired idempotency records pruned")
		}
	}
}

// Addr is the public (TLS) listener's address.
func (a *App) Addr() net.Addr { return a.public.Addr() }

// AdminAddr is the admin (metrics, health) listener's address.
func (a *App) AdminAddr() net.Addr { return a.admin.Addr() }

// Cache is the Vault secret cache.
func (a *App) Cache() *vault.Cache { return a.cache }

// Store is the store (the audit trail, the outbox, idempotency records, subjects).
func (a *App) Store() store.Store { return a.store }

// Trail is the audit trail; nil once Run returned.
func (a *App) Trail() *audit.Trail { return a.trail }

// Webhooks are the webhook receiver and deliverer (nil unless webhooks.enabled).
func (a *App) Webhooks() *WebhookParts { return a.hooks }

// Log is the App's logger.
func (a *App) Log() zerolog.Logger { return a.log }

// Handler is the proxy's HTTP handler, for benchmarks that serve it in process without the
// listeners (Run is what serves it for real).
func (a *App) Handler() http.Handler { return a.server.Handler() }
