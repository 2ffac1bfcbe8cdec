package proxy_test

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/apikey"
	"github.com/tokenwall/tokenwall/app"
	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/config"
	"github.com/tokenwall/tokenwall/devstack"
	"github.com/tokenwall/tokenwall/store"
	"github.com/tokenwall/tokenwall/testkit"
	"github.com/tokenwall/tokenwall/vault"
)

// Shared real servers for the package: one Vault dev server and one stripe-mock. Tests that
// break Vault start their own.
var (
	sharedVault  *devstack.Vault
	sharedStripe *devstack.StripeMock
	// sharedTransit signs audit checkpoints on the shared Vault, also in tests that take
	// their own Vault down, so that every test's trail can be verified at its end.
	sharedTransit *vault.Transit
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	var tokenFile string
	var stop func()
	var err error
	if sharedVault, tokenFile, stop, err = testkit.MainVault("proxy-TestMain"); err != nil {
		fmt.Fprintln(os.Stderr, "proxy tests:", err)
		return 1
	}
	defer stop()
	root, err := testkit.ArtifactsRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	dir := filepath.Join(root, "proxy-TestMain")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	slog, _ := os.Create(filepath.Join(dir, "stripe-mock.log"))
	defer slog.Close()
	if sharedStripe, err = devstack.StartStripeMock(ctx, devstack.Options{Dir: dir, Log: slog}); err != nil {
		fmt.Fprintln(os.Stderr, "proxy tests:", err)
		return 1
	}
	defer sharedStripe.Stop()
	admin, err := vault.Dial(ctx, vault.Options{Address: sharedVault.Addr, Timeout: 5 * time.Second, KVMount: "secret",
		Auth: vault.Auth{Method: "token", TokenFile: tokenFile}})
	if err == nil {
		err = admin.EnableTransitKey(ctx, "transit", "tokenwall-audit")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "proxy tests:", err)
		return 1
	}
	sharedTransit = admin.Transit("transit", "tokenwall-audit")
	return m.Run()
}

// options tune a harness.
type options struct {
	vault         *devstack.Vault // default: the shared one
	stripeURL     string          // default: the shared stripe-mock
	stripeTimeout time.Duration
	retries       int
	maxAge        time.Duration
	refresh       time.Duration
	routes        []config.Route
	minTLS        string
	maxBody       config.ByteSize
	alertPaths    []string
	// postgresDSN, when set, puts the audit trail in that PostgreSQL database instead of
	// a SQLite file.
	postgresDSN string
	// webhooks turns the gateway webhook endpoint and the deliverer on, with one endpoint
	// secret (harness.whsec) and deliveries to the upstream's /webhooks/tokenwall.
	webhooks bool
	// api turns /v1 on with the keys of testKeys (harness.keys); rate and burst size the
	// rate limit (defaults 1000 and 1000).
	api         bool
	rate, burst int
	// returnURLOrigins is api.return_url_origins (3-D Secure return URLs).
	returnURLOrigins []string
	// clientCA, when set, is a PEM CA bundle for api.client_ca_file (mutual TLS); the
	// "mtls" test key is mapped to mtlsSubject.
	clientCA []byte
	// upgradePaths is upstream.upgrade_paths.
	upgradePaths []string
	// clientRate and clientBurst size the per-client limit on refusals (rate_limit); the
	// harness's default, 1000 and 1000, lets the tests that send refusals on purpose send many.
	clientRate, clientBurst int
	// trustedProxies is listen.trusted_proxies.
	trustedProxies []string
	// publicHosts are listen.public_hosts besides 127.0.0.1, the harness's own.
	publicHosts []string
	// processDir puts the harness's files (log, certificate, database) in a folder of the
	// test's artifacts named after the process: every fuzz worker is a process of its own
	// that runs the fuzz target, and so builds a harness of its own.
	processDir bool
	// upstreamConns, when set, is upstream.max_conns_per_host and max_idle_conns_per_host.
	upstreamConns int
	// pages are the payment pages (pages:), with their defaults filled in.
	pages []config.Page
}

// mtlsSubject is the client certificate subject mapped to the "mtls" test key.
const mtlsSubject = "CN=billing-mtls,O=Merchant"

// testKeys are the API keys a harness with options.api gets: name → scopes. "revoked" is
// revoked before the server starts.
var testKeys = map[string][]string{
	"admin":    {apikey.ScopeAdmin},
	"payments": {apikey.ScopePayments},
	"billing":  {apikey.ScopePayments, apikey.ScopeRefunds, apikey.ScopeCustomers, apikey.ScopeErase},
	"revoked":  {apikey.ScopeAdmin, apikey.ScopePayments},
	"mtls":     {apikey.ScopeAdmin},
	"auditor":  {apikey.ScopeReports},
}

// harness is a tokenwall server running in process on real listeners, against a real Vault
// and stripe-mock, forwarding to a recording TLS upstream.
type harness struct {
	t          testing.TB
	cfg        config.Config
	up         *upstream
	url        string
	adminURL   string
	client     *http.Client
	cache      *vault.Cache
	logPath    string
	signingKey []byte
	auditKey   []byte
	dbPath     string
	pgDSN      string
	store      interface {
		store.Store
		RawExec(ctx context.Context, query string, args ...any) error
	}
	trail   *audit.Trail
	transit *vault.Transit
	stop    func() error
	// whsec is the webhook endpoint secret when options.webhooks is set.
	whsec string
	// keys are the whole API keys (twk_…) of testKeys by name, when options.api is set.
	keys  map[string]string
	hooks *app.WebhookParts
	app   *app.App
}

// Routes used by the tests: a form checkout with MM/YY expiry, a JSON API with nested
// paths and month/year fields, and a multipart form.
func testRoutes() []config.Route {
	return []config.Route{
		config.Route{Path: "/checkout/submit", Body: "form",
			Card: config.CardFields{Number: "card_number", Exp: "card_exp", CVC: "card_cvc", Name: "card_name"}}.WithDefaults(),
		config.Route{Path: "/api/checkout", Body: "json",
			Card: config.CardFields{Number: "payment.card.number", ExpMonth: "payment.card.exp_month",
				ExpYear: "payment.card.exp_year", CVC: "payment.card.cvc"},
			Result: config.ResultFields{Token: "payment.token", Brand: "payment.brand", Last4: "payment.last4",
				Error: "payment.error"}}.WithDefaults(),
		config.Route{Path: "/upload/checkout", Body: "multipart",
			Card: config.CardFields{Number: "number", ExpMonth: "exp_month", ExpYear: "exp_year", CVC: "cvc"}}.WithDefaults(),
	}
}

func randomKey(t testing.TB) []byte {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// newHarness starts tokenwall as o describes and stops it when t ends (its audit trail must
// verify then). t may be a *testing.F: a fuzz target builds one harness for all its inputs.
func newHarness(t testing.TB, o options) *harness {
	t.Helper()
	if o.vault == nil {
		o.vault = sharedVault
	}
	if o.stripeURL == "" {
		o.stripeURL = sharedStripe.URL
	}
	h := &harness{t: t, signingKey: []byte(hex.EncodeToString(randomKey(t))), auditKey: randomKey(t)}
	h.up = newUpstream(t, h.signingKey)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// Each harness gets its own KV paths so parallel tests do not see each other's keys.
	kv := &harnessVault{prefix: "t/" + hex.EncodeToString(randomKey(t)[:6])}
	kv.dial(ctx, t, o.vault)
	kv.write(ctx, t, "stripe", "sk_test_"+hex.EncodeToString(randomKey(t)[:12]))
	kv.write(ctx, t, "signing", string(h.signingKey))
	// The audit key is in Vault too, for the compliance report's chain verification.
	h.auditKey = []byte(hex.EncodeToString(h.auditKey))
	kv.write(ctx, t, "audit-hmac", string(h.auditKey))

	cfg := h.baseConfig(t, o, kv)
	if o.api {
		h.withAPI(ctx, t, &cfg, o, kv)
	}
	if o.webhooks {
		h.whsec = "whsec_" + hex.EncodeToString(randomKey(t)[:24])
		kv.write(ctx, t, "whsec", h.whsec)
		cfg.Webhooks.Enabled, cfg.Webhooks.SecretPaths = true, []string{kv.path("whsec")}
		cfg.Webhooks.Poll, cfg.Webhooks.BackoffBase = config.Duration(50*time.Millisecond), config.Duration(20*time.Millisecond)
		cfg.Webhooks.BackoffCap = config.Duration(200 * time.Millisecond)
	}
	h.pgDSN = o.postgresDSN
	h.cfg = cfg
	h.start(ctx)
	return h
}

// harnessVault writes one harness's secrets under its own KV prefix.
type harnessVault struct {
	prefix    string
	tokenFile string
	admin     *vault.Client
}

func (kv *harnessVault) path(name string) string { return kv.prefix + "/" + name }

// dial connects to v with its root token, kept in a temporary folder (a secret: not in the
// artifacts).
func (kv *harnessVault) dial(ctx context.Context, t testing.TB, v *devstack.Vault) {
	t.Helper()
	kv.tokenFile = filepath.Join(t.TempDir(), "vault-token")
	if err := os.WriteFile(kv.tokenFile, []byte(v.Token), 0o600); err != nil {
		t.Fatal(err)
	}
	var err error
	kv.admin, err = vault.Dial(ctx, vault.Options{Address: v.Addr, Timeout: 5 * time.Second, KVMount: "secret",
		Auth: vault.Auth{Method: "token", TokenFile: kv.tokenFile}})
	if err != nil {
		t.Fatal(err)
	}
}

func (kv *harnessVault) write(ctx context.Context, t testing.TB, name, value string) {
	t.Helper()
	if err := kv.admin.WriteKV(ctx, kv.path(name), value); err != nil {
		t.Fatal(err)
	}
}

// baseConfig is the harness's config without the API and webhooks: listeners on free
// ports with a fresh certificate, the recording upstream trusted by its CA, the harness's
// Vault paths, the gateway and the routes.
func (h *harness) baseConfig(t testing.TB, o options, kv *harnessVault) config.Config {
	t.Helper()
	dir := testkit.ArtifactsDir(t)
	if o.processDir {
		dir = filepath.Join(dir, "pid-"+strconv.Itoa(os.Getpid()))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cfg := config.Default()
	var err error
	if cfg.Listen.CertFile, cfg.Listen.KeyFile, err = devstack.WriteSelfSignedCert(dir); err != nil {
		t.Fatal(err)
	}
	cfg.Listen.Addr, cfg.Admin.Addr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.Listen.PublicHosts = append([]string{"127.0.0.1"}, o.publicHosts...)
	if o.minTLS != "" {
		cfg.Listen.MinTLSVersion = o.minTLS
	}
	cfg.Listen.ShutdownGrace = config.Duration(10 * time.Second)
	if o.maxBody != 0 {
		cfg.Listen.MaxBodyBytes = o.maxBody
	}
	cfg.Upstream.URL = h.up.srv.URL
	cfg.Upstream.CACertFile = filepath.Join(dir, "upstream-ca.pem")
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: h.up.srv.Certificate().Raw})
	if err := os.WriteFile(cfg.Upstream.CACertFile, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.Vault.Address, cfg.Vault.Auth.TokenFile = o.vault.Addr, kv.tokenFile
	// Short, so that a Vault outage shows (refresh failures, fail closed) within the tests'
	// waits.
	cfg.Vault.Timeout = config.Duration(2 * time.Second)
	cfg.Vault.StripeKeyPath, cfg.Vault.SigningKeyPath, cfg.Vault.AuditKeyPath = kv.path("stripe"), kv.path("signing"), kv.path("audit-hmac")
	cfg.Vault.AuditAnchorPath = kv.path("audit-anchor") // each harness has its own trail, so its own anchor
	if o.maxAge != 0 {
		cfg.Vault.MaxAge, cfg.Vault.RefreshInterval = config.Duration(o.maxAge), config.Duration(o.refresh)
	}
	cfg.Gateway.Stripe.APIURL = o.stripeURL
	cfg.Gateway.Stripe.MaxNetworkRetries = o.retries
	if o.stripeTimeout != 0 {
		cfg.Gateway.Stripe.Timeout = config.Duration(o.stripeTimeout)
	}
	cfg.CardEscape.AlertPaths = o.alertPaths
	cfg.Upstream.UpgradePaths = o.upgradePaths
	if o.upstreamConns != 0 {
		cfg.Upstream.MaxConnsPerHost, cfg.Upstream.MaxIdleConnsPerHost = o.upstreamConns, o.upstreamConns
	}
	cfg.RateLimit.PerSecond, cfg.RateLimit.Burst = 1000, 1000
	if o.clientRate != 0 {
		cfg.RateLimit.PerSecond, cfg.RateLimit.Burst = o.clientRate, o.clientBurst
	}
	cfg.Listen.TrustedProxies = o.trustedProxies
	for _, pg := range o.pages {
		cfg.Pages = append(cfg.Pages, pg.WithDefaults())
	}
	cfg.Routes = o.routes
	if cfg.Routes == nil {
		cfg.Routes = testRoutes()
	}
	h.logPath = filepath.Join(dir, "tokenwall.log")
	// tokenwall appends to its log: a fresh one per run, so a test reads only its own lines.
	_ = os.Remove(h.logPath)
	cfg.Log.File = h.logPath
	return cfg
}

// withAPI turns /v1 on with the keys of testKeys (h.keys), written to Vault.
func (h *harness) withAPI(ctx context.Context, t testing.TB, cfg *config.Config, o options, kv *harnessVault) {
	t.Helper()
	var ks apikey.KeySet
	h.keys = map[string]string{}
	for name, scopes := range testKeys {
		k, full, err := apikey.New(name, scopes, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if name == "revoked" {
			now := time.Now()
			k.RevokedAt = &now
		}
		if name == "mtls" {
			k.ClientCertSubject = mtlsSubject
		}
		ks.Keys = append(ks.Keys, k)
		h.keys[name] = full
	}
	b, _ := ks.Marshal()
	kv.write(ctx, t, "api-keys", string(b))
	cfg.API.Enabled, cfg.API.KeysPath = true, kv.path("api-keys")
	cfg.API.RatePerSecond, cfg.API.Burst = 1000, 1000
	if o.rate != 0 {
		cfg.API.RatePerSecond, cfg.API.Burst = o.rate, o.burst
	}
	cfg.API.ReturnURLOrigins = o.returnURLOrigins
	if o.clientCA != nil {
		cfg.API.ClientCAFile = filepath.Join(testkit.ArtifactsDir(t), "client-ca.pem")
		if err := os.WriteFile(cfg.API.ClientCAFile, o.clientCA, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// start runs tokenwall through app.Build, the code `tokenwall serve` runs, with the
// harness's config: same middleware, error marshaller, startup records and background work.
// Only the checkpoint signer is the shared Vault's, so that tests that take their own Vault
// down can still verify their trail.
func (h *harness) start(ctx context.Context) {
	t, cfg := h.t, h.cfg
	cfg.Log.Level = "debug"
	cfg.Audit.CheckpointEvery = 50
	if h.pgDSN != "" {
		cfg.Store.Driver, cfg.Store.PostgresURL = "postgres", h.pgDSN
	} else {
		h.dbPath = filepath.Join(filepath.Dir(h.logPath), "tokenwall.db")
		cfg.Store.Driver, cfg.Store.SQLitePath = "sqlite", h.dbPath
		for _, sfx := range []string{"", "-wal", "-shm"} {
			_ = os.Remove(h.dbPath + sfx)
		}
	}
	h.cfg = cfg
	// Validated as `tokenwall serve` validates it; the listeners take free ports (":0"),
	// which a config file may not name.
	checked := cfg
	checked.Listen.Addr, checked.Admin.Addr = "127.0.0.1:1", "127.0.0.1:2"
	if err := checked.Validate(); err != nil {
		t.Fatalf("harness config: %v", err)
	}
	h.transit = sharedTransit
	tw, err := app.Build(ctx, cfg, app.Options{Signer: h.transit})
	if err != nil {
		t.Fatal(err)
	}
	raw, ok := tw.Store().(interface {
		store.Store
		RawExec(ctx context.Context, query string, args ...any) error
	})
	if !ok {
		t.Fatalf("store %T has no RawExec", tw.Store())
	}
	h.app, h.store, h.cache, h.trail, h.hooks = tw, raw, tw.Cache(), tw.Trail(), tw.Webhooks()
	h.url = "https://" + tw.Addr().String()
	h.adminURL = "http://" + tw.AdminAddr().String()
	pool := x509.NewCertPool()
	certPEM, err := os.ReadFile(cfg.Listen.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	pool.AppendCertsFromPEM(certPEM)
	h.client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}

	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tw.Run(runCtx) }()
	var once sync.Once
	var runErr error
	h.stop = func() error {
		once.Do(func() {
			cancel()
			runErr = <-done
			// Every test's audit trail must verify: chain, MACs and Vault-signed checkpoints.
			if res, err := audit.Verify(context.Background(), h.store, audit.StaticKey(h.auditKey), h.transit, 0, 0); err != nil || !res.OK {
				runErr = errors.Join(runErr, fmt.Errorf("audit trail does not verify: %v %+v", err, res))
			}
			runErr = errors.Join(runErr, tw.Close())
		})
		return runErr
	}
	t.Cleanup(func() {
		if err := h.stop(); err != nil {
			t.Errorf("tokenwall stopped with %v", err)
		}
	})
}

// newGatewayFaultProxy is a FaultProxy in front of the shared stripe-mock, closed when t
// ends: a harness given its URL as options.stripeURL has its gateway calls recorded.
func newGatewayFaultProxy(t testing.TB) *devstack.FaultProxy {
	t.Helper()
	fp, err := devstack.NewFaultProxy(sharedStripe.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fp.Close() })
	return fp
}
