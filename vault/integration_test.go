package vault_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/devstack"
	"github.com/tokenwall/tokenwall/testkit"
	"github.com/tokenwall/tokenwall/vault"
)

// vaultAPI calls the real dev server's HTTP API as root, for set-up the client under test
// does not do itself.
func vaultAPI(t *testing.T, v *devstack.Vault, method, path string, body any) map[string]any {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, v.Addr+"/v1/"+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Vault-Token", v.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return out
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

func writeFile(t *testing.T, content string) string {
	p := filepath.Join(t.TempDir(), "secret") // secrets never go to the artifacts folder
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestAppRoleLoginReadsOnlyWhatThePolicyAllows logs in with AppRole bound to tokenwall's
// policy (deploy/vault/tokenwall-policy.hcl) and reads its secret; a path outside the policy
// is refused.
func TestAppRoleLoginReadsOnlyWhatThePolicyAllows(t *testing.T) {
	v := startVault(t)
	ctx := context.Background()
	writePolicy(t, v)
	vaultAPI(t, v, http.MethodPost, "sys/auth/approle", map[string]any{"type": "approle"})
	vaultAPI(t, v, http.MethodPost, "auth/approle/role/tokenwall", map[string]any{"token_policies": "tokenwall", "token_ttl": "1h"})
	roleID := vaultAPI(t, v, http.MethodGet, "auth/approle/role/tokenwall/role-id", nil)["data"].(map[string]any)["role_id"].(string)
	secretID := vaultAPI(t, v, http.MethodPost, "auth/approle/role/tokenwall/secret-id", map[string]any{})["data"].(map[string]any)["secret_id"].(string)
	vaultAPI(t, v, http.MethodPost, "secret/data/tokenwall/stripe", map[string]any{"data": map[string]any{"value": "sk_test_approle"}})
	vaultAPI(t, v, http.MethodPost, "secret/data/other/thing", map[string]any{"data": map[string]any{"value": "not yours"}})

	c, err := vault.Dial(ctx, vault.Options{Address: v.Addr, Timeout: 5 * time.Second, KVMount: "secret",
		Auth:   vault.Auth{Method: "approle", RoleID: roleID, SecretIDFile: writeFile(t, secretID)},
		Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatalf("approle login: %v", err)
	}
	s, err := c.ReadKV(ctx, vault.SecretStripeKey, "tokenwall/stripe")
	if err != nil || string(s.Reveal()) != "sk_test_approle" || s.Version() != 1 {
		t.Fatalf("read: %v (version %d)", err, s.Version())
	}
	if _, err := c.ReadKV(ctx, "other", "other/thing"); !errors.Is(err, vault.ErrAuth) {
		t.Errorf("read outside the policy: %v, want ErrAuth", err)
	}
	if err := c.RenewToken(ctx); err != nil {
		t.Errorf("renew an approle token: %v", err)
	}

	_, err = vault.Dial(ctx, vault.Options{Address: v.Addr, Timeout: 5 * time.Second, KVMount: "secret",
		Auth: vault.Auth{Method: "approle", RoleID: roleID, SecretIDFile: writeFile(t, "wrong-secret-id")}})
	if !errors.Is(err, vault.ErrAuth) {
		t.Errorf("wrong secret id: %v, want ErrAuth", err)
	}
}

// TestRenewTokenExtendsAShortLivedToken: a renewable token past half its TTL is renewed.
func TestRenewTokenExtendsAShortLivedToken(t *testing.T) {
	v := startVault(t)
	ctx := context.Background()
	created := vaultAPI(t, v, http.MethodPost, "auth/token/create", map[string]any{"ttl": "6s", "renewable": true, "policies": []string{"default"}, "explicit_max_ttl": "1h"})
	tok := created["auth"].(map[string]any)["client_token"].(string)
	c, err := vault.Dial(ctx, vault.Options{Address: v.Addr, Timeout: 5 * time.Second, KVMount: "secret",
		Auth: vault.Auth{Method: "token", TokenFile: writeFile(t, tok)}})
	if err != nil {
		t.Fatal(err)
	}
	ttl := func() float64 {
		req, _ := http.NewRequest(http.MethodGet, v.Addr+"/v1/auth/token/lookup-self", nil)
		req.Header.Set("X-Vault-Token", tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct {
			Data struct {
				TTL float64 `json:"ttl"`
			} `json:"data"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return out.Data.TTL
	}
	time.Sleep(3500 * time.Millisecond) // past half of the 6 s TTL
	before := ttl()
	if err := c.RenewToken(ctx); err != nil {
		t.Fatalf("renew: %v", err)
	}
	if after := ttl(); after <= before {
		t.Fatalf("ttl %v s after renewal, %v s before: not renewed", after, before)
	}
}

// TestReadKVNamesTheMissingSecret: a missing secret's error names its path and is ErrMissing.
func TestReadKVNamesTheMissingSecret(t *testing.T) {
	v := startVault(t)
	c, err := vault.Dial(context.Background(), vault.Options{Address: v.Addr, Timeout: 5 * time.Second, KVMount: "secret",
		Auth: vault.Auth{Method: "token", TokenFile: writeFile(t, v.Token)}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ReadKV(context.Background(), vault.SecretSigningKey, "tokenwall/nothing")
	if !errors.Is(err, vault.ErrMissing) || !bytes.Contains([]byte(err.Error()), []byte("secret/tokenwall/nothing")) {
		t.Fatalf("err = %v", err)
	}
}

// TestTransitKeyInfoAndCAS: the transit key's version and rotation time come from Vault, a
// rotation moves them, and a missing key is named; a check-and-set write refuses a stale
// version.
func TestTransitKeyInfoAndCAS(t *testing.T) {
	v := startVault(t)
	ctx := context.Background()
	c, err := vault.Dial(ctx, vault.Options{Address: v.Addr, KVMount: "secret",
		Auth: vault.Auth{Method: "token", TokenFile: writeFile(t, v.Token)}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.EnableTransitKey(ctx, "transit", "report-test"); err != nil {
		t.Fatal(err)
	}
	tr := c.Transit("transit", "report-test")
	ver, at, err := tr.KeyInfo(ctx)
	if err != nil || ver != 1 || time.Since(at) > time.Minute || time.Since(at) < 0 {
		t.Fatalf("KeyInfo: version %d at %s, %v", ver, at, err)
	}
	time.Sleep(1100 * time.Millisecond)
	vaultAPI(t, v, "POST", "transit/keys/report-test/rotate", nil)
	ver2, at2, err := tr.KeyInfo(ctx)
	if err != nil || ver2 != 2 || !at2.After(at) {
		t.Fatalf("after rotate: version %d at %s (before %s), %v", ver2, at2, at, err)
	}
	if _, _, err := c.Transit("transit", "no-such-key").KeyInfo(ctx); !errors.Is(err, vault.ErrMissing) {
		t.Fatalf("missing key: %v", err)
	}

	if err := c.WriteKVCAS(ctx, "cas/test", "one", 0); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteKVCAS(ctx, "cas/test", "two", 0); !errors.Is(err, vault.ErrConflict) {
		t.Fatalf("second create: %v, want ErrConflict", err)
	}
	if err := c.WriteKVCAS(ctx, "cas/test", "two", 1); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteKVCAS(ctx, "cas/test", "three", 1); !errors.Is(err, vault.ErrConflict) {
		t.Fatalf("stale version: %v, want ErrConflict", err)
	}
}
