package vault_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/devstack"
	"github.com/tokenwall/tokenwall/vault"
)

// policyToken creates a token with tokenwall's runtime policy only (no default policy), as a
// Vault Agent would hand tokenwall, and returns it.
func policyToken(t *testing.T, v *devstack.Vault, ttl string) string {
	t.Helper()
	out := vaultAPI(t, v, http.MethodPost, "auth/token/create", map[string]any{"policies": []string{"tokenwall"},
		"no_default_policy": true, "ttl": ttl, "renewable": true})
	return out["auth"].(map[string]any)["client_token"].(string)
}

// revoke revokes token as root.
func revoke(t *testing.T, v *devstack.Vault, token string) {
	t.Helper()
	vaultAPI(t, v, http.MethodPost, "auth/token/revoke", map[string]any{"token": token})
}

// replaceFile replaces path's content the way a Vault Agent's file sink does: a new file
// renamed over the old one.
func replaceFile(t *testing.T, path, content string) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), ".next")
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// TestTokenFileRotation: a Vault Agent replaces tokenwall's token file and revokes the old
// token. tokenwall switches to the new token on the first refusal (the read is retried once
// and succeeds) and at the next refresh (RenewToken) before any refusal; a refusal for a path
// outside the policy is still ErrAuth and does not change the token.
func TestTokenFileRotation(t *testing.T) {
	v := startVault(t)
	ctx := context.Background()
	writePolicy(t, v)
	vaultAPI(t, v, http.MethodPost, "secret/data/tokenwall/stripe", map[string]any{"data": map[string]any{"value": "sk_test_rotation"}})
	tokA, tokB, tokC := policyToken(t, v, "1h"), policyToken(t, v, "1h"), policyToken(t, v, "1h")
	file := writeFile(t, tokA+"\n")
	c, err := vault.Dial(ctx, vault.Options{Address: v.Addr, Timeout: 5 * time.Second, KVMount: "secret",
		Auth: vault.Auth{Method: "token", TokenFile: file}, Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	read := func(step string) {
		t.Helper()
		if s, err := c.ReadKV(ctx, vault.SecretStripeKey, "tokenwall/stripe"); err != nil || string(s.Reveal()) != "sk_test_rotation" {
			t.Fatalf("%s: read: %v", step, err)
		}
	}
	read("token A")

	// On a refusal: B in the file, A revoked; the next read is refused once, then retried with B.
	replaceFile(t, file, tokB+"\n")
	revoke(t, v, tokA)
	read("after A was revoked")
	if c.CurrentToken() != tokB {
		t.Fatal("the client does not use the token now in the file")
	}

	// At the refresh: C in the file; RenewToken switches before B is revoked.
	replaceFile(t, file, tokC)
	if err := c.RenewToken(ctx); err != nil {
		t.Fatalf("renew: %v", err)
	}
	if c.CurrentToken() != tokC {
		t.Fatal("RenewToken did not switch to the token in the file")
	}
	revoke(t, v, tokB)
	read("after B was revoked")

	// A path outside the policy: refused, and the token stays.
	if _, err := c.ReadKV(ctx, "other", "other/thing"); !errors.Is(err, vault.ErrAuth) {
		t.Fatalf("outside the policy: %v, want ErrAuth", err)
	}
	if c.CurrentToken() != tokC {
		t.Fatal("a policy refusal changed the token")
	}

	// A file being rewritten (empty) keeps the token in use; a revoked token with nothing
	// newer in the file is ErrAuth.
	replaceFile(t, file, "")
	if err := c.RenewToken(ctx); !errors.Is(err, vault.ErrAuth) || c.CurrentToken() != tokC {
		t.Fatalf("empty token file: %v", err)
	}
	revoke(t, v, tokC)
	if _, err := c.ReadKV(ctx, vault.SecretStripeKey, "tokenwall/stripe"); !errors.Is(err, vault.ErrAuth) {
		t.Fatalf("revoked, nothing new: %v, want ErrAuth", err)
	}
}
