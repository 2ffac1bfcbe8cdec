package proxy_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
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
	"github.com/tokenwall/tokenwall/testkit"
	"github.com/tokenwall/tokenwall/vault"
)

// newFuzzHarness is newHarness(t, options{api: true, webhooks: true}) for a fuzz target:
// it takes the *testing.F (newHarness's helpers take *testing.T and register cleanups on
// it, so a harness built inside the fuzz function would stop after its first input). The
// server is the same: app.Build with the shared Vault, stripe-mock, testRoutes, debug
// logging, and the audit trail verified when it stops. Each fuzz worker is its own process
// with its own harness, so each gets its own artifacts folder (named by pid) for its log,
// certificate and database.
//
// h.t is nil: use the harness's fields (url, up, logPath, keys, whsec, cfg), not its
// request helpers, which report to h.t.
func newFuzzHarness(tb testing.TB) *harness {
	tb.Helper()
	dir := filepath.Join(testkit.ArtifactsDir(tb), "pid-"+strconv.Itoa(os.Getpid()))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	h := &harness{signingKey: []byte(fuzzHex(tb, 32)), auditKey: []byte(fuzzHex(tb, 32)), whsec: "whsec_" + fuzzHex(tb, 24)}
	h.up = fuzzUpstream(tb, h.signingKey)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	kv := &harnessVault{prefix: "t/fuzz-" + fuzzHex(tb, 6), tokenFile: filepath.Join(tb.TempDir(), "vault-token")}
	if err := os.WriteFile(kv.tokenFile, []byte(sharedVault.Token), 0o600); err != nil {
		tb.Fatal(err)
	}
	var err error
	kv.admin, err = vault.Dial(ctx, vault.Options{Address: sharedVault.Addr, Timeout: 5 * time.Second, KVMount: "secret",
		Auth: vault.Auth{Method: "token", TokenFile: kv.tokenFile}})
	if err != nil {
		tb.Fatal(err)
	}
	keys, err := fuzzKeys(h)
	if err != nil {
		tb.Fatal(err)
	}
	for name, value := range map[string]string{"stripe": "sk_test_" + fuzzHex(tb, 12), "signing": string(h.signingKey),
		"audit-hmac": string(h.auditKey), "whsec": h.whsec, "api-keys": keys} {
		if err := kv.admin.WriteKV(ctx, kv.path(name), value); err != nil {
			tb.Fatal(err)
		}
	}
	h.cfg = fuzzConfig(tb, h, kv, dir)
	fuzzStart(ctx, tb, h)
	return h
}

// fuzzHex is n random bytes in hex.
func fuzzHex(tb testing.TB, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// fuzzUpstream is a recording TLS upstream like newUpstream's, answering 200 to everything.
// Path is the request-target as sent (path and query), so that a card in the query is seen.
func fuzzUpstream(tb testing.TB, key []byte) *upstream {
	u := &upstream{key: key}
	u.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.reqs = append(u.reqs, received{Method: r.Method, Path: r.RequestURI, ContentType: r.Header.Get("Content-Type"),
			Body: body, Header: r.Header.Clone()})
		u.mu.Unlock()
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "upstream got %s", r.Method)
	}))
	tb.Cleanup(u.srv.Close)
	return u
}

// fuzzKeys makes the API keys of testKeys (h.keys) and returns the key set to store.
func fuzzKeys(h *harness) (string, error) {
	var ks apikey.KeySet
	h.keys = map[string]string{}
	for name, scopes := range testKeys {
		k, full, err := apikey.New(name, scopes, time.Now())
		if err != nil {
			return "", err
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
	b, err := ks.Marshal()
	return string(b), err
}

// fuzzConfig is what baseConfig, withAPI and the webhooks option of newHarness set, with
// everything written to dir.
func fuzzConfig(tb testing.TB, h *harness, kv *harnessVault, dir string) config.Config {
	cfg := config.Default()
	var err error
	if cfg.Listen.CertFile, cfg.Listen.KeyFile, err = devstack.WriteSelfSignedCert(dir); err != nil {
		tb.Fatal(err)
	}
	cfg.Listen.Addr, cfg.Admin.Addr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.Listen.PublicHosts = []string{"127.0.0.1"}
	cfg.Listen.ShutdownGrace = config.Duration(10 * time.Second)
	cfg.Upstream.URL = h.up.srv.URL
	cfg.Upstream.CACertFile = filepath.Join(dir, "upstream-ca.pem")
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: h.up.srv.Certificate().Raw})
	if err := os.WriteFile(cfg.Upstream.CACertFile, caPEM, 0o600); err != nil {
		tb.Fatal(err)
	}
	cfg.Vault.Address, cfg.Vault.Auth.TokenFile = sharedVault.Addr, kv.tokenFile
	cfg.Vault.Timeout = config.Duration(2 * time.Second)
	cfg.Vault.StripeKeyPath, cfg.Vault.SigningKeyPath, cfg.Vault.AuditKeyPath = kv.path("stripe"), kv.path("signing"), kv.path("audit-hmac")
	cfg.Gateway.Stripe.APIURL = sharedStripe.URL
	cfg.Routes = testRoutes()
	cfg.API.Enabled, cfg.API.KeysPath = true, kv.path("api-keys")
	cfg.API.RatePerSecond, cfg.API.Burst = 1000, 1000
	cfg.Webhooks.Enabled, cfg.Webhooks.SecretPaths = true, []string{kv.path("whsec")}
	cfg.Webhooks.Poll, cfg.Webhooks.BackoffBase = config.Duration(50*time.Millisecond), config.Duration(20*time.Millisecond)
	cfg.Webhooks.BackoffCap = config.Duration(200 * time.Millisecond)
	h.logPath = filepath.Join(dir, "tokenwall.log")
	_ = os.Remove(h.logPath)
	cfg.Log.File, cfg.Log.Level = h.logPath, "debug"
	cfg.Audit.CheckpointEvery = 50
	h.dbPath = filepath.Join(dir, "tokenwall.db")
	for _, sfx := range []string{"", "-wal", "-shm"} {
		_ = os.Remove(h.dbPath + sfx)
	}
	cfg.Store.Driver, cfg.Store.SQLitePath = "sqlite", h.dbPath
	checked := cfg
	checked.Listen.Addr, checked.Admin.Addr = "127.0.0.1:1", "127.0.0.1:2"
	if err := checked.Validate(); err != nil {
		tb.Fatalf("fuzz harness config: %v", err)
	}
	return cfg
}

// fuzzStart is harness.start for tb: app.Build, Run in the background, and on cleanup a
// stop whose audit trail must verify.
func fuzzStart(ctx context.Context, tb testing.TB, h *harness) {
	h.transit = sharedTransit
	tw, err := app.Build(ctx, h.cfg, app.Options{Signer: h.transit})
	if err != nil {
		tb.Fatal(err)
	}
	h.app, h.cache, h.trail, h.hooks = tw, tw.Cache(), tw.Trail(), tw.Webhooks()
	h.url = "https://" + tw.Addr().String()
	h.adminURL = "http://" + tw.AdminAddr().String()
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tw.Run(runCtx) }()
	var once sync.Once
	var runErr error
	h.stop = func() error {
		once.Do(func() {
			cancel()
			runErr = <-done
			if res, err := audit.Verify(context.Background(), tw.Store(), audit.StaticKey(h.auditKey), h.transit, 0, 0); err != nil || !res.OK {
				runErr = errors.Join(runErr, fmt.Errorf("audit trail does not verify: %v %+v", err, res))
			}
			runErr = errors.Join(runErr, tw.Close())
		})
		return runErr
	}
	tb.Cleanup(func() {
		if err := h.stop(); err != nil {
			tb.Errorf("tokenwall stopped with %v", err)
		}
	})
}
