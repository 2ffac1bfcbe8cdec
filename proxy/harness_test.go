package proxy_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"github.com/tokenwall/tokenwall/signature"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
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
	root, err := testkit.ArtifactsRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	dir := filepath.Join(root, "proxy-TestMain")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	vlog, _ := os.Create(filepath.Join(dir, "vault.log"))
	defer vlog.Close()
	if sharedVault, err = devstack.StartVault(ctx, devstack.Options{Dir: dir, Log: vlog}); err != nil {
		fmt.Fprintln(os.Stderr, "proxy tests:", err)
		return 1
	}
	defer sharedVault.Stop()
	slog, _ := os.Create(filepath.Join(dir, "stripe-mock.log"))
	defer slog.Close()
	if sharedStripe, err = devstack.StartStripeMock(ctx, devstack.Options{Dir: dir, Log: slog}); err != nil {
		fmt.Fprintln(os.Stderr, "proxy tests:", err)
		return 1
	}
	defer sharedStripe.Stop()
	tokenFile := filepath.Join(os.TempDir(), fmt.Sprintf("proxy-vault-token-%d", os.Getpid()))
	_ = os.WriteFile(tokenFile, []byte(sharedVault.Token), 0o600)
	defer os.Remove(tokenFile)
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

// received is one request the upstream got.
type received struct {
	Method, Path, ContentType string
	Body                      []byte
	Header                    http.Header
	SignatureErr              error
}

// upstream is the billing app stand-in: a real TLS server that verifies tokenwall's signature
// and records every request.
type upstream struct {
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []received
	key  []byte
	// delay, when set, is slept before answering (graceful shutdown tests).
	delay time.Duration
}

func newUpstream(t *testing.T, key []byte) *upstream {
	u := &upstream{key: key}
	u.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		sigErr := signature.Verify(r.Header.Get(signature.Header), body, [][]byte{u.key}, signature.DefaultTolerance, time.Now())
		u.mu.Lock()
		u.reqs = append(u.reqs, received{Method: r.Method, Path: r.URL.Path, ContentType: r.Header.Get("Content-Type"), Body: body, Header: r.Header.Clone(), SignatureErr: sigErr})
		d := u.delay
		u.mu.Unlock()
		if d > 0 {
			time.Sleep(d)
		}
		w.Header().Set("Cache-Control", "private")
		w.Header().Set("Content-Type", "text/plain")
		if r.URL.Path == "/leaky" {
			// A billing app that shows a stored card number back: the leak tokenwall alerts on.
			fmt.Fprintf(w, "%s your card %s is on file", strings.Repeat("x", 3000), leakyCard)
			return
		}
		fmt.Fprintf(w, "upstream got %s %s", r.Method, r.URL.Path)
	}))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *upstream) requests() []received {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]received(nil), u.reqs...)
}

func (u *upstream) setDelay(d time.Duration) {
	u.mu.Lock()
	u.delay = d
	u.mu.Unlock()
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
	// clientCA, when set, is a PEM CA bundle for api.client_ca_file (mutual TLS); the
	// "mtls" test key is mapped to mtlsSubject.
	clientCA []byte
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

// leakyCard is the card number the /leaky upstream page shows (Stripe's test Mastercard).
const leakyCard = "5555 5555 5555 4444"

// harness is a tokenwall server running in process on real listeners, against a real Vault
// and stripe-mock, forwarding to a recording TLS upstream.
type harness struct {
	t          *testing.T
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

func randomKey(t *testing.T) []byte {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func newHarness(t *testing.T, o options) *harness {
	t.Helper()
	if o.vault == nil {
		o.vault = sharedVault
	}
	if o.stripeURL == "" {
		o.stripeURL = sharedStripe.URL
	}
	dir := testkit.ArtifactsDir(t)
	h := &harness{t: t, signingKey: []byte(hex.EncodeToString(randomKey(t))), auditKey: randomKey(t)}
	h.up = newUpstream(t, h.signingKey)

	// Each harness gets its own KV paths so parallel tests do not see each other's keys.
	prefix := "t/" + hex.EncodeToString(randomKey(t)[:6])
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// The Vault token is a secret: it goes to a temporary folder, not the artifacts.
	tokenFile := filepath.Join(t.TempDir(), "vault-token")
	if err := os.WriteFile(tokenFile, []byte(o.vault.Token), 0o600); err != nil {
		t.Fatal(err)
	}
	admin, err := vault.Dial(ctx, vault.Options{Address: o.vault.Addr, Timeout: 5 * time.Second, KVMount: "secret",
		Auth: vault.Auth{Method: "token", TokenFile: tokenFile}})
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.WriteKV(ctx, prefix+"/stripe", "sk_test_"+hex.EncodeToString(randomKey(t)[:12])); err != nil {
		t.Fatal(err)
	}
	if err := admin.WriteKV(ctx, prefix+"/signing", string(h.signingKey)); err != nil {
		t.Fatal(err)
	}
	// The audit key is in Vault too, for the compliance report's chain verification.
	if err := admin.WriteKV(ctx, prefix+"/audit-hmac", hex.EncodeToString(h.auditKey)); err != nil {
		t.Fatal(err)
	}
	h.auditKey = []byte(hex.EncodeToString(h.auditKey))

	cfg := config.Default()
	cfg.Listen.Addr = "127.0.0.1:0"
	cfg.Listen.CertFile, cfg.Listen.KeyFile, err = devstack.WriteSelfSignedCert(dir)
	if err != nil {
		t.Fatal(err)
	}
	if o.minTLS != "" {
		cfg.Listen.MinTLSVersion = o.minTLS
	}
	cfg.Listen.ShutdownGrace = config.Duration(10 * time.Second)
	if o.maxBody != 0 {
		cfg.Listen.MaxBodyBytes = o.maxBody
	}
	cfg.Admin.Addr = "127.0.0.1:0"
	cfg.Upstream.URL = h.up.srv.URL
	cfg.Upstream.CACertFile = filepath.Join(dir, "upstream-ca.pem")
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: h.up.srv.Certificate().Raw})
	if err := os.WriteFile(cfg.Upstream.CACertFile, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.Vault.Address = o.vault.Addr
	cfg.Vault.Auth.TokenFile = tokenFile
	cfg.Vault.StripeKeyPath, cfg.Vault.SigningKeyPath, cfg.Vault.AuditKeyPath = prefix+"/stripe", prefix+"/signing", prefix+"/audit-hmac"
	if o.maxAge != 0 {
		cfg.Vault.MaxAge, cfg.Vault.RefreshInterval = config.Duration(o.maxAge), config.Duration(o.refresh)
	}
	cfg.Gateway.Stripe.APIURL = o.stripeURL
	cfg.Gateway.Stripe.MaxNetworkRetries = o.retries
	if o.stripeTimeout != 0 {
		cfg.Gateway.Stripe.Timeout = config.Duration(o.stripeTimeout)
	}
	cfg.CardEscape.AlertPaths = o.alertPaths
	if o.api {
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
		if err := admin.WriteKV(ctx, prefix+"/api-keys", string(b)); err != nil {
			t.Fatal(err)
		}
		cfg.API.Enabled, cfg.API.KeysPath = true, prefix+"/api-keys"
		cfg.API.RatePerSecond, cfg.API.Burst = 1000, 1000
		if o.rate != 0 {
			cfg.API.RatePerSecond, cfg.API.Burst = o.rate, o.burst
		}
		if o.clientCA != nil {
			cfg.API.ClientCAFile = filepath.Join(dir, "client-ca.pem")
			if err := os.WriteFile(cfg.API.ClientCAFile, o.clientCA, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	if o.webhooks {
		h.whsec = "whsec_" + hex.EncodeToString(randomKey(t)[:24])
		if err := admin.WriteKV(ctx, prefix+"/whsec", h.whsec); err != nil {
			t.Fatal(err)
		}
		cfg.Webhooks.Enabled, cfg.Webhooks.SecretPaths = true, []string{prefix + "/whsec"}
		cfg.Webhooks.Poll, cfg.Webhooks.BackoffBase = config.Duration(50*time.Millisecond), config.Duration(20*time.Millisecond)
		cfg.Webhooks.BackoffCap = config.Duration(200 * time.Millisecond)
	}
	cfg.Routes = o.routes
	if cfg.Routes == nil {
		cfg.Routes = testRoutes()
	}
	h.logPath = filepath.Join(dir, "tokenwall.log")
	h.pgDSN = o.postgresDSN
	cfg.Log.File = h.logPath
	h.cfg = cfg
	h.start(ctx)
	return h
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
			if res, err := audit.Verify(context.Background(), h.store, h.auditKey, h.transit, 0, 0); err != nil || !res.OK {
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

// api sends a /v1 request with the named test key (none when key is ""), a JSON body when
// body is not nil, and the given idempotency key (none when "").
func (h *harness) api(method, path, key string, body []byte, idem string) (*http.Response, string) {
	h.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, h.url+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	if key != "" {
		full, ok := h.keys[key]
		if !ok {
			full = key // a raw Authorization value for the tests of bad keys
			req.Header.Set("Authorization", full)
		} else {
			req.Header.Set("Authorization", "Bearer "+full)
		}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if idem != "" {
		req.Header.Set("Idempotency-Key", idem)
	}
	return h.do(req)
}

// post sends body to path with content type ct.
func (h *harness) post(path, ct string, body []byte) (*http.Response, string) {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.url+path, strings.NewReader(string(body)))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", ct)
	return h.do(req)
}

func (h *harness) do(req *http.Request) (*http.Response, string) {
	h.t.Helper()
	resp, err := h.client.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// logText returns tokenwall's log so far.
func (h *harness) logText() string {
	b, err := os.ReadFile(h.logPath)
	if err != nil {
		h.t.Fatal(err)
	}
	return string(b)
}

// events returns the audit trail's records of type typ, after closing nothing: appends are
// durable when Record returns, so what the requests wrote is there.
func (h *harness) events(typ string) []store.AuditRecord {
	h.t.Helper()
	var out []store.AuditRecord
	err := h.store.AuditRange(context.Background(), 0, 0, func(r store.AuditRecord) error {
		if r.Event == typ {
			out = append(out, r)
		}
		return nil
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return out
}
