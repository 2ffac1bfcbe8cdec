package app_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/app"
	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/config"
	"github.com/tokenwall/tokenwall/devstack"
	"github.com/tokenwall/tokenwall/store"
	"github.com/tokenwall/tokenwall/store/sqlite"
	"github.com/tokenwall/tokenwall/testkit"
	"github.com/tokenwall/tokenwall/vault"
)

// provisioned starts a Vault dev server with tokenwall's secrets and transit key and returns
// a config for it (SQLite and the log under the test's artifacts) and the audit key.
func provisioned(t *testing.T) (config.Config, []byte) {
	t.Helper()
	dir := testkit.ArtifactsDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	v, err := devstack.StartVault(ctx, devstack.Options{Dir: dir, Log: testkit.LogFile(t, "vault.log")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = v.Stop() })
	tokenFile := filepath.Join(t.TempDir(), "vault-token") // a secret: not in the artifacts
	if err := os.WriteFile(tokenFile, []byte(v.Token), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Vault.Address, cfg.Vault.Auth.TokenFile = v.Addr, tokenFile
	c, err := vault.Dial(ctx, app.VaultOptions(cfg, nil))
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	auditKey := []byte(hex.EncodeToString(key))
	for path, value := range map[string]string{cfg.Vault.StripeKeyPath: "sk_test_app", cfg.Vault.SigningKeyPath: "app-signing-key-0123456789",
		cfg.Vault.AuditKeyPath: string(auditKey)} {
		if err := c.WriteKV(ctx, path, value); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.EnableTransitKey(ctx, cfg.Vault.TransitMount, cfg.Vault.TransitKey); err != nil {
		t.Fatal(err)
	}
	if cfg.Listen.CertFile, cfg.Listen.KeyFile, err = devstack.WriteSelfSignedCert(dir); err != nil {
		t.Fatal(err)
	}
	cfg.Listen.Addr, cfg.Admin.Addr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.Listen.PublicHosts = []string{"127.0.0.1"}
	cfg.Upstream.URL = "http://127.0.0.1:9"
	cfg.Gateway.Stripe.APIURL = "http://127.0.0.1:9"
	cfg.Log.File = filepath.Join(dir, "tokenwall.log")
	cfg.Store.SQLitePath = filepath.Join(dir, "tokenwall.db")
	for _, sfx := range []string{"", "-wal", "-shm"} {
		_ = os.Remove(cfg.Store.SQLitePath + sfx)
	}
	cfg.Routes = []config.Route{config.Route{Path: "/checkout/submit", Card: config.CardFields{Number: "card_number"}}.WithDefaults()}
	return cfg, auditKey
}

// trailEvents verifies the trail in cfg's database and returns its event types in order.
func trailEvents(t *testing.T, cfg config.Config, auditKey []byte) []string {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, cfg.Store.SQLitePath)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c, err := vault.Dial(ctx, app.VaultOptions(cfg, nil))
	if err != nil {
		t.Fatal(err)
	}
	if res, err := audit.Verify(ctx, st, audit.StaticKey(auditKey), c.Transit(cfg.Vault.TransitMount, cfg.Vault.TransitKey), 0, 0); err != nil || !res.OK {
		t.Fatalf("audit trail does not verify: %v %+v", err, res)
	}
	var evs []string
	if err := st.AuditRange(ctx, 0, 0, func(r store.AuditRecord) error { evs = append(evs, r.Event); return nil }); err != nil {
		t.Fatal(err)
	}
	return evs
}

// TestBuildRunClose: Build opens everything and listens, Run serves until its context ends,
// Close releases it; the trail holds startup, config and secrets, then shutdown, and verifies.
func TestBuildRunClose(t *testing.T) {
	cfg, auditKey := provisioned(t)
	ctx, cancel := context.WithCancel(context.Background())
	tw, err := app.Build(ctx, cfg, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- tw.Run(ctx) }()
	conn, err := net.DialTimeout("tcp", tw.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatalf("the public listener does not accept: %v", err)
	}
	_ = conn.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if err := tw.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := tw.Close(); err != nil {
		t.Fatalf("a second Close: %v", err)
	}
	evs := trailEvents(t, cfg, auditKey)
	if len(evs) < 4 || evs[0] != audit.EventStartup || evs[1] != audit.EventConfigLoaded || evs[len(evs)-1] != audit.EventShutdown {
		t.Fatalf("trail %v, want startup, config_loaded, secret_loaded…, shutdown", evs)
	}
}

// TestBuildClosesWhatItOpenedWhenAStepFails: when the last step (the admin listener) fails,
// Build says why and closes, in reverse order, what it opened: the public listener's port is
// free again, the trail got its shutdown record and final checkpoint, the store is closed.
func TestBuildClosesWhatItOpenedWhenAStepFails(t *testing.T) {
	cfg, auditKey := provisioned(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	public, err := devstack.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listen.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(public))
	cfg.Admin.Addr = taken.Addr().String()
	tw, err := app.Build(context.Background(), cfg, app.Options{})
	if err == nil || tw != nil || !strings.Contains(err.Error(), "admin listen") {
		t.Fatalf("Build returned an App: %v, error %v; want only an error naming the admin listener", tw != nil, err)
	}
	ln, err := net.Listen("tcp", cfg.Listen.Addr)
	if err != nil {
		t.Fatalf("the public port was left open: %v", err)
	}
	_ = ln.Close()
	evs := trailEvents(t, cfg, auditKey)
	if evs[0] != audit.EventStartup || evs[len(evs)-1] != audit.EventShutdown {
		t.Fatalf("trail %v, want it to end with shutdown", evs)
	}
}

// TestBuildFailsClosedWithoutVault: no Vault, no tokenwall, and the error says so.
func TestBuildFailsClosedWithoutVault(t *testing.T) {
	cfg := config.Default()
	cfg.Vault.Address, cfg.Vault.Timeout = "http://127.0.0.1:9", config.Duration(500*time.Millisecond)
	cfg.Vault.Auth.TokenFile = filepath.Join(t.TempDir(), "token")
	_ = os.WriteFile(cfg.Vault.Auth.TokenFile, []byte("nothing"), 0o600)
	cfg.Log.File = filepath.Join(testkit.ArtifactsDir(t), "tokenwall.log")
	tw, err := app.Build(context.Background(), cfg, app.Options{})
	if err == nil || tw != nil || !strings.Contains(err.Error(), "cannot start without vault") {
		t.Fatalf("Build returned an App: %v, error %v; want only cannot start without vault", tw != nil, err)
	}
}
