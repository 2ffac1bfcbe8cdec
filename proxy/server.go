package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"github.com/tokenwall/tokenwall/logging"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/rs/zerolog"

	"github.com/tokenwall/tokenwall/config"
	"github.com/tokenwall/tokenwall/gateway"
	"github.com/tokenwall/tokenwall/payments"
	"github.com/tokenwall/tokenwall/proxy/pages"
	"github.com/tokenwall/tokenwall/vault"
)

// Secrets is what the proxy needs of the Vault cache.
type Secrets interface {
	// Get returns a cached secret, or an error wrapping vault.ErrStale once it is too old.
	Get(name string) (vault.Secret, error)
	// Fresh reports whether every secret is loaded and within its maximum age.
	Fresh() bool
}

// API is the /v1 API (proxy/api): it registers its routes on the /v1 group.
type API interface {
	Register(g *echo.Group)
}

// Deps are the proxy's collaborators. Config must have passed Validate.
type Deps struct {
	Config  config.Config
	Log     zerolog.Logger
	Secrets Secrets
	Gateway gateway.Gateway
	Metrics *Metrics
	// Audit records security events; a request whose event cannot be written is refused.
	Audit Recorder
	// TLS is the server TLS configuration; when nil it is built from Config.Listen.
	TLS *tls.Config
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// API serves /v1; required when Config.API.Enabled.
	API API
	// Webhooks handles the gateway's webhook endpoint (Config.Webhooks.Path); required when
	// Config.Webhooks.Enabled. It reads and limits the body itself and answers every method.
	Webhooks http.Handler
	// Pages enforces and watches the payment pages; required when Config.Pages is not empty.
	Pages *pages.Watcher
	// PageReports records the browsers' CSP violation reports (an aggregator over the trail);
	// required with Pages.
	PageReports Recorder
	// Payments saves the cards of the routes with setup_intent enabled; required then.
	Payments *payments.Service
}

// Server is the tokenwall HTTPS proxy.
type Server struct {
	cfg      config.Config
	log      zerolog.Logger
	secrets  Secrets
	gw       gateway.Gateway
	metrics  *Metrics
	audit    Recorder
	tls      *tls.Config
	now      func() time.Time
	echo     *echo.Echo
	upstream *httputil.ReverseProxy
	maxBody  int64
	webhooks http.Handler
	api      API
	tok      tokenizer
	// limiter is the per-client limit of refusals (nil when rate_limit.enabled is off).
	limiter *clientLimiter
	// pages and pageReports: see Deps.
	pages       *pages.Watcher
	pageReports Recorder
	// pageHeaderNames are the headers a payment page's response sets (pageHeaders).
	pageHeaderNames map[string]bool
}

// New builds the server: routes, middleware and the upstream proxy. Only package app calls
// it: the running program and every test get the same server.
func New(d Deps) (*Server, error) {
	if d.Secrets == nil || d.Gateway == nil || d.Metrics == nil || d.Audit == nil {
		return nil, errors.New("proxy: Secrets, Gateway, Metrics and Audit are required")
	}
	if d.Config.Webhooks.Enabled && d.Webhooks == nil {
		return nil, errors.New("proxy: webhooks are enabled but no Webhooks handler was given")
	}
	if d.Config.API.Enabled && d.API == nil {
		return nil, errors.New("proxy: the API is enabled but no API was given")
	}
	if len(d.Config.Pages) > 0 && (d.Pages == nil || d.PageReports == nil) {
		return nil, errors.New("proxy: payment pages are configured but no Pages watcher or PageReports recorder was given")
	}
	s := &Server{cfg: d.Config, log: d.Log, secrets: d.Secrets, gw: d.Gateway, metrics: d.Metrics, audit: d.Audit, tls: d.TLS, now: d.Now,
		webhooks: d.Webhooks, pages: d.Pages, pageReports: d.PageReports}
	if d.Pages != nil {
		s.pageHeaderNames = pageHeaders(d.Pages)
	}
	if d.Config.API.Enabled {
		s.api = d.API
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.tok = tokenizer{gw: d.Gateway, metrics: d.Metrics, now: s.now}
	for _, r := range d.Config.Routes {
		if r.Setup.Enabled && d.Payments == nil {
			return nil, fmt.Errorf("proxy: route %s saves cards with a SetupIntent but no Payments service was given", r.Path)
		}
	}
	if d.Payments != nil {
		s.tok.setup = newSetup(d.Payments)
	}
	if rl := d.Config.RateLimit; rl.Enabled {
		s.limiter = newClientLimiter(rl.PerSecond, rl.Burst, rl.MaxClients)
	}
	realIP, err := IPExtractor(d.Config.Listen)
	if err != nil {
		return nil, err
	}
	if s.tls == nil {
		c, err := TLSConfig(d.Config.Listen.CertFile, d.Config.Listen.KeyFile, d.Config.Listen.MinTLSVersion)
		if err != nil {
			return nil, err
		}
		s.tls = c
	}
	if d.Config.API.Enabled && d.Config.API.ClientCAFile != "" {
		pool, err := loadCAs(d.Config.API.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("api.client_ca_file: %w", err)
		}
		s.tls = s.tls.Clone()
		s.tls.ClientCAs = pool
		// Asked, not required: browsers on the checkout have no certificate.
		s.tls.ClientAuth = tls.VerifyClientCertIfGiven
	}
	up, err := newUpstream(d.Config.Upstream, d.Log, s.watchResponse, s.pageResponse)
	if err != nil {
		return nil, err
	}
	s.upstream = up
	s.maxBody = int64(d.Config.Listen.MaxBodyBytes)
	for _, r := range d.Config.Routes {
		s.maxBody = max(s.maxBody, int64(r.MaxBodyBytes))
	}

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Logger.SetOutput(io.Discard) // tokenwall logs through zerolog only
	e.StdLogger = log.New(d.Log.With().Str(logging.FieldComponent, "http").Logger(), "", 0)
	e.IPExtractor = realIP // X-Forwarded-For only from listen.trusted_proxies
	e.HTTPErrorHandler = errorHandler
	e.Use(composedOnce(s.middlewares()))
	s.echo = e
	s.routes()
	return s, nil
}

// Metrics are the server's metrics (the API counts its card escapes there too).
func (s *Server) Metrics() *Metrics { return s.metrics }

// Handler returns the HTTP handler (for tests and benchmarks that bring their own server).
func (s *Server) Handler() http.Handler { return s.echo }

// Run serves HTTPS on public and plain HTTP admin endpoints on admin until ctx ends, then
// shuts both down, letting in-flight requests finish within Listen.ShutdownGrace.
func (s *Server) Run(ctx context.Context, public, admin net.Listener) error {
	lc := s.cfg.Listen
	srv := &http.Server{
		ReadHeaderTimeout: lc.ReadHeaderTimeout.D(),
		ReadTimeout:       lc.ReadTimeout.D(),
		WriteTimeout:      lc.WriteTimeout.D(),
		IdleTimeout:       lc.IdleTimeout.D(),
		MaxHeaderBytes:    int(lc.MaxHeaderBytes),
		HTTP2:             http2Config(lc),
		TLSConfig:         s.tls,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	s.echo.TLSListener = tls.NewListener(public, s.tls)
	adminSrv := s.adminServer()

	errc := make(chan error, 2)
	go func() { errc <- s.echo.StartServer(srv) }()
	go func() { errc <- adminSrv.Serve(admin) }()

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), lc.ShutdownGrace.D())
	defer cancel()
	// srv, not s.echo: Echo's StartServer does not record the server it is given, so
	// echo.Shutdown would stop Echo's own unused servers and leave this one running.
	shutErr := errors.Join(srv.Shutdown(sctx), adminSrv.Shutdown(sctx))
	if runErr != nil && !errors.Is(runErr, http.ErrServerClosed) {
		return fmt.Errorf("proxy: serve: %w", runErr)
	}
	if shutErr != nil {
		return fmt.Errorf("proxy: shutdown: %w", shutErr)
	}
	return nil
}

// http2MaxReadFrameSize is the largest HTTP/2 frame tokenwall reads: the protocol's
// default and minimum (RFC 9113 §6.5.2), not net/http's 1 MiB.
const http2MaxReadFrameSize = 16 << 10

// http2Config bounds what one HTTP/2 connection may ask of the server: the streams open at
// once (and so the handlers it runs at once: net/http closes a connection that queues four
// times as many, the rapid-reset bound) and the frame size. The header list is bounded by
// http.Server.MaxHeaderBytes, which net/http advertises as SETTINGS_MAX_HEADER_LIST_SIZE.
func http2Config(lc config.Listen) *http.HTTP2Config {
	return &http.HTTP2Config{
		MaxConcurrentStreams: lc.HTTP2MaxConcurrentStreams,
		MaxReadFrameSize:     http2MaxReadFrameSize,
	}
}
