package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/config"
	"github.com/tokenwall/tokenwall/devstack"
	"github.com/tokenwall/tokenwall/testkit"
	"github.com/tokenwall/tokenwall/vault"
)

// writeConfig writes a valid config whose Vault is at vaultAddr and returns its path.
func writeConfig(t *testing.T, vaultAddr, tokenFile string) string {
	t.Helper()
	dir := testkit.ArtifactsDir(t)
	cert, key, err := devstack.WriteSelfSignedCert(dir)
	if err != nil {
		t.Fatal(err)
	}
	// A database left by an earlier run holds a trail keyed with that run's audit key.
	for _, sfx := range []string{"", "-wal", "-shm"} {
		_ = os.Remove(filepath.Join(dir, "tokenwall.db") + sfx)
	}
	port, _ := devstack.FreePort()
	admin, _ := devstack.FreePort()
	yaml := `listen:
  addr: 127.0.0.1:` + strconv.Itoa(port) + `
  cert_file: ` + cert + `
  key_file: ` + key + `
  public_hosts: [127.0.0.1]
admin:
  addr: 127.0.0.1:` + strconv.Itoa(admin) + `
upstream:
  url: http://127.0.0.1:9
vault:
  address: ` + vaultAddr + `
  timeout: 1s
  auth:
    token_file: ` + tokenFile + `
gateway:
  stripe:
    api_url: http://127.0.0.1:9
log:
  file: ` + filepath.Join(dir, "tokenwall.log") + `
store:
  sqlite_path: ` + filepath.Join(dir, "tokenwall.db") + `
routes:
  - path: /checkout/submit
    card: {number: card_number, exp: card_exp, cvc: card_cvc}
`
	p := filepath.Join(dir, "tokenwall.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func writeToken(t *testing.T, token string) string {
	p := filepath.Join(t.TempDir(), "vault-token") // a secret: not in the artifacts
	if err := os.WriteFile(p, []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	code := run(ctx, args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestServeRefusesToStartWithoutVault(t *testing.T) {
	port, err := devstack.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, "http://127.0.0.1:"+strconv.Itoa(port), writeToken(t, "not-a-real-token"))
	code, _, stderr := runCmd(t, "serve", "--config", cfg)
	if code != 1 || !strings.Contains(stderr, "cannot start without vault") || !strings.Contains(stderr, "vault unreachable") {
		t.Fatalf("exit %d, stderr %q: want 1 and a message naming the unreachable vault", code, stderr)
	}
	if strings.Contains(stderr, "not-a-real-token") {
		t.Error("the vault token was printed")
	}
}

func startVault(t *testing.T) *devstack.Vault {
	t.Helper()
	v, err := devstack.StartVault(context.Background(), devstack.Options{Dir: testkit.ArtifactsDir(t), Log: testkit.LogFile(t, "vault.log")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = v.Stop() })
	return v
}

func TestServeRefusesToStartWithoutSecrets(t *testing.T) {
	v := startVault(t)
	code, _, stderr := runCmd(t, "serve", "--config", writeConfig(t, v.Addr, writeToken(t, v.Token)))
	if code != 1 || !strings.Contains(stderr, "secret missing in vault") || !strings.Contains(stderr, "secret/tokenwall/stripe") {
		t.Fatalf("exit %d, stderr %q: want 1 naming the missing secret", code, stderr)
	}
	if strings.Contains(stderr, v.Token) {
		t.Error("the vault token was printed")
	}
}

func TestServeRefusesToStartWithABadToken(t *testing.T) {
	v := startVault(t)
	code, _, stderr := runCmd(t, "serve", "--config", writeConfig(t, v.Addr, writeToken(t, "hvs.wrongtoken")))
	if code != 1 || !strings.Contains(stderr, "vault refused authentication") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if strings.Contains(stderr, "hvs.wrongtoken") {
		t.Error("the vault token was printed")
	}
}

func TestServeRefusesToStartWhenVaultIsSealed(t *testing.T) {
	v := startVault(t)
	req, _ := http.NewRequest(http.MethodPut, v.Addr+"/v1/sys/seal", nil)
	req.Header.Set("X-Vault-Token", v.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("seal: %d", resp.StatusCode)
	}
	code, _, stderr := runCmd(t, "serve", "--config", writeConfig(t, v.Addr, writeToken(t, v.Token)))
	if code != 1 || !strings.Contains(stderr, "vault is sealed") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}

func TestCheckConfig(t *testing.T) {
	good := writeConfig(t, "http://127.0.0.1:8200", "/nonexistent/token")
	code, stdout, stderr := runCmd(t, "check-config", "--config", good)
	if code != 0 || !strings.Contains(stdout, "card_number") || !strings.Contains(stderr, "config is valid") {
		t.Fatalf("valid config: exit %d stdout %q stderr %q", code, stdout, stderr)
	}
	b, _ := os.ReadFile(good)
	bad := filepath.Join(filepath.Dir(good), "bad.yaml")
	_ = os.WriteFile(bad, []byte(strings.Replace(string(b), "listen:\n  addr: 127.0.0.1:", "listen:\n  addr: 127.0.0.1:70000", 1)), 0o600)
	code, _, stderr = runCmd(t, "check-config", "--config", bad)
	if code != 1 || !strings.Contains(stderr, "listen.addr") {
		t.Fatalf("invalid config: exit %d stderr %q, want 1 naming listen.addr", code, stderr)
	}
	if code, _, _ := runCmd(t, "nonsense"); code != 2 {
		t.Errorf("unknown command exit %d, want 2", code)
	}
}

// provisioned starts a Vault dev server with the dev secrets and transit key, writes a valid
// config for it, and returns the server, the config's path and the loaded config.
func provisioned(t *testing.T) (*devstack.Vault, string, config.Config) {
	t.Helper()
	v := startVault(t)
	cfgPath := writeConfig(t, v.Addr, writeToken(t, v.Token))
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := provisionSecrets(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	return v, cfgPath, cfg
}

// provisionSecrets writes fresh secrets (Stripe test key, signing key, audit HMAC key) into
// the dev Vault at cfg's paths and creates the transit key that signs audit checkpoints.
func provisionSecrets(ctx context.Context, cfg config.Config) error {
	// Not the config's 1 s: mounting transit can take longer on a loaded machine.
	c, err := vault.Dial(ctx, vault.Options{Address: cfg.Vault.Address, Timeout: 10 * time.Second, KVMount: cfg.Vault.KVMount,
		Auth: vault.Auth{Method: "token", TokenFile: cfg.Vault.Auth.TokenFile}})
	if err != nil {
		return err
	}
	for path, value := range map[string]string{
		cfg.Vault.StripeKeyPath:  "sk_test_" + randomHex(24),
		cfg.Vault.SigningKeyPath: randomHex(32),
		cfg.Vault.AuditKeyPath:   randomHex(32),
	} {
		if err := c.WriteKV(ctx, path, value); err != nil {
			return err
		}
	}
	return c.EnableTransitKey(ctx, cfg.Vault.TransitMount, cfg.Vault.TransitKey)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
