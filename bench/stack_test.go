package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/apikey"
	"github.com/tokenwall/tokenwall/app"
	"github.com/tokenwall/tokenwall/config"
	"github.com/tokenwall/tokenwall/devstack"
	"github.com/tokenwall/tokenwall/gateway"
	"github.com/tokenwall/tokenwall/testkit"
	"github.com/tokenwall/tokenwall/vault"
)

// benchVault is the package's Vault dev server: every tokenwall the benchmarks build reads
// its secrets from it, through app.Build, as `tokenwall serve` does.
var (
	benchVault     *devstack.Vault
	benchTokenFile string
)

func TestMain(m *testing.M) { os.Exit(runMain(m)) }

func runMain(m *testing.M) int {
	var stop func()
	var err error
	if benchVault, benchTokenFile, stop, err = testkit.MainVault("bench-TestMain"); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	defer stop()
	return m.Run()
}

// tokenwallOptions shape a benchmark's tokenwall.
type tokenwallOptions struct {
	upstream string
	routes   []config.Route
	gateway  gateway.Gateway
	// api turns /v1 on with one key holding every scope, returned by newStack.
	api bool
	// pages are the payment pages.
	pages []config.Page
	// app, when set, receives the built App.
	app **app.App
}

// newStack builds tokenwall with app.Build against the package's Vault, on a fresh SQLite
// store under the test's artifacts folder, with an in-process gateway stand-in (so the
// figures are tokenwall's own cost) and checkpoints signed in process. It returns the
// handler, served in process, and the API key when o.api.
func newStack(tb testing.TB, o tokenwallOptions) (http.Handler, string) {
	tb.Helper()
	dir := testkit.ArtifactsDir(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	admin, err := vault.Dial(ctx, vault.Options{Address: benchVault.Addr, Timeout: 5 * time.Second, KVMount: "secret",
		Auth: vault.Auth{Method: "token", TokenFile: benchTokenFile}})
	if err != nil {
		tb.Fatal(err)
	}
	var id [6]byte
	_, _ = rand.Read(id[:])
	prefix := "bench/" + hex.EncodeToString(id[:])
	cfg := config.Default()
	cfg.Vault.Address, cfg.Vault.Auth.TokenFile = benchVault.Addr, benchTokenFile
	cfg.Vault.StripeKeyPath, cfg.Vault.SigningKeyPath, cfg.Vault.AuditKeyPath = prefix+"/stripe", prefix+"/signing", prefix+"/audit"
	cfg.Vault.AuditAnchorPath = prefix + "/audit-anchor"
	secrets := map[string]string{cfg.Vault.StripeKeyPath: "sk_test_bench", cfg.Vault.SigningKeyPath: "bench-signing-key-0123456789abcdef",
		cfg.Vault.AuditKeyPath: hex.EncodeToString(benchKey)}
	var full string
	if o.api {
		k, whole, err := apikey.New("bench", apikey.Scopes, time.Now())
		if err != nil {
			tb.Fatal(err)
		}
		set, _ := apikey.KeySet{Keys: []apikey.Key{k}}.Marshal()
		cfg.API.Enabled, cfg.API.KeysPath, cfg.API.RatePerSecond, cfg.API.Burst = true, prefix+"/api-keys", 100_000, 100_000
		secrets[cfg.API.KeysPath], full = string(set), whole
	}
	for path, v := range secrets {
		if err := admin.WriteKV(ctx, path, v); err != nil {
			tb.Fatal(err)
		}
	}
	cfg.Listen.Addr, cfg.Admin.Addr = "127.0.0.1:0", "127.0.0.1:0"
	// The benchmarks call the handler with requests for https://tokenwall.test.
	cfg.Listen.PublicHosts = []string{"127.0.0.1", "tokenwall.test"}
	if cfg.Listen.CertFile, cfg.Listen.KeyFile, err = devstack.WriteSelfSignedCert(dir); err != nil {
		tb.Fatal(err)
	}
	cfg.Upstream.URL = o.upstream
	cfg.Routes = o.routes
	cfg.Pages = o.pages
	cfg.Store.SQLitePath = filepath.Join(dir, "tokenwall.db")
	for _, sfx := range []string{"", "-wal", "-shm"} {
		_ = os.Remove(cfg.Store.SQLitePath + sfx)
	}
	// Validated as `tokenwall serve` validates it; the listeners take free ports (":0"),
	// which a config file may not name.
	checked := cfg
	checked.Listen.Addr, checked.Admin.Addr = "127.0.0.1:1", "127.0.0.1:2"
	if err := checked.Validate(); err != nil {
		tb.Fatal(err)
	}
	tw, err := app.Build(ctx, cfg, app.Options{Stdout: io.Discard, Gateway: o.gateway, Signer: benchSigner})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = tw.Close() })
	if o.app != nil {
		*o.app = tw
	}
	return tw.Handler(), full
}
