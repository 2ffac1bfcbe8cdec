package vault_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/devstack"
	"github.com/tokenwall/tokenwall/vault"
)

// appRoleClient sets up AppRole bound to tokenwall's runtime policy with the given token TTLs
// and returns a client logged in with it.
func appRoleClient(t *testing.T, v *devstack.Vault, ttl, maxTTL string) *vault.Client {
	t.Helper()
	c, _ := appRoleClientWith(t, v, map[string]any{"token_ttl": ttl, "token_max_ttl": maxTTL, "secret_id_ttl": "1h"})
	return c
}

// appRoleClientWith sets up AppRole with the role settings given, logs in, and returns the
// client and its secret id file.
func appRoleClientWith(t *testing.T, v *devstack.Vault, role map[string]any) (*vault.Client, string) {
	t.Helper()
	writePolicy(t, v)
	vaultAPI(t, v, http.MethodPost, "sys/auth/approle", map[string]any{"type": "approle"})
	role["token_policies"], role["token_no_default_policy"] = "tokenwall", true
	vaultAPI(t, v, http.MethodPost, "auth/approle/role/tokenwall", role)
	roleID := vaultAPI(t, v, http.MethodGet, "auth/approle/role/tokenwall/role-id", nil)["data"].(map[string]any)["role_id"].(string)
	secretIDFile := writeFile(t, newSecretID(t, v))
	vaultAPI(t, v, http.MethodPost, "secret/data/tokenwall/stripe", map[string]any{"data": map[string]any{"value": "sk_test_renew"}})
	c, err := vault.Dial(context.Background(), vault.Options{Address: v.Addr, Timeout: 5 * time.Second, KVMount: "secret",
		Auth:   vault.Auth{Method: "approle", RoleID: roleID, SecretIDFile: secretIDFile},
		Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	return c, secretIDFile
}

// newSecretID makes a secret id for the tokenwall AppRole role, as root.
func newSecretID(t *testing.T, v *devstack.Vault) string {
	t.Helper()
	return vaultAPI(t, v, http.MethodPost, "auth/approle/role/tokenwall/secret-id", map[string]any{})["data"].(map[string]any)["secret_id"].(string)
}

// logins counts what KeepLoggedIn reports.
type logins struct {
	mu       sync.Mutex
	ok, fail int
}

func (l *logins) report(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err == nil {
		l.ok++
	} else {
		l.fail++
	}
}

func (l *logins) count() (ok, fail int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ok, l.fail
}

// tokenAlive reports whether Vault still knows token (looked up as root).
func tokenAlive(t *testing.T, v *devstack.Vault, token string) bool {
	t.Helper()
	return statusAs(t, v, v.Token, http.MethodPost, "auth/token/lookup", map[string]any{"token": token}) == http.StatusOK
}

// tokenTTL is the remaining TTL of token, looked up as root.
func tokenTTL(t *testing.T, v *devstack.Vault, token string) float64 {
	t.Helper()
	out := vaultAPI(t, v, http.MethodPost, "auth/token/lookup", map[string]any{"token": token})
	ttl, _ := out["data"].(map[string]any)["ttl"].(float64)
	return ttl
}

// TestLifetimeWatcherRenewsThenLogsInAgain: an AppRole token with a 3 s TTL and a 10 s max
// TTL is renewed by KeepLoggedIn's lifetime watcher past its first TTL without any call
// from tokenwall (the same token is alive after 4 s), and once the max TTL ends renewal
// (the watcher stops within the last renewal's grace, about 9 s in), KeepLoggedIn logs in
// again: a new token, which reads the secret.
func TestLifetimeWatcherRenewsThenLogsInAgain(t *testing.T) {
	v := startVault(t)
	beforeLogin := time.Now()
	c := appRoleClient(t, v, "3s", "10s")
	ctx, cancel := context.WithCancel(context.Background())
	var l logins
	done := make(chan struct{})
	go func() { defer close(done); c.KeepLoggedIn(ctx, l.report) }()
	defer func() { cancel(); <-done }()

	first := c.CurrentToken()
	// The login took well under 1 s: unrenewed, the token would be gone 4 s after it began.
	time.Sleep(time.Until(beforeLogin.Add(4 * time.Second)))
	if c.CurrentToken() != first || !tokenAlive(t, v, first) {
		t.Fatalf("the first token was not renewed past its 3 s TTL (token changed: %v)", c.CurrentToken() != first)
	}
	if err := c.RenewToken(ctx); err != nil {
		t.Fatalf("RenewToken while the watcher runs: %v", err)
	}
	waitUntil(t, 15*time.Second, "a new login after the max TTL", func() bool {
		ok, _ := l.count()
		return ok > 0 && c.CurrentToken() != first
	})
	if s, err := c.ReadKV(ctx, vault.SecretStripeKey, "tokenwall/stripe"); err != nil || string(s.Reveal()) != "sk_test_renew" {
		t.Fatalf("read with the new login: %v", err)
	}
}

// TestRevokedLoginLogsInAgain: when an operator revokes tokenwall's AppRole token, the next
// read is refused, tokenwall logs in again and the read is retried and succeeds; a watcher
// running meanwhile watches the new token.
func TestRevokedLoginLogsInAgain(t *testing.T) {
	v := startVault(t)
	c := appRoleClient(t, v, "1h", "24h")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); c.KeepLoggedIn(ctx, nil) }()
	defer func() { cancel(); <-done }()
	first := c.CurrentToken()
	revoke(t, v, first)
	if s, err := c.ReadKV(ctx, vault.SecretStripeKey, "tokenwall/stripe"); err != nil || string(s.Reveal()) != "sk_test_renew" {
		t.Fatalf("read after the token was revoked: %v", err)
	}
	second := c.CurrentToken()
	if second == first {
		t.Fatal("no new login after the token was revoked")
	}
	if ttl := tokenTTL(t, v, second); ttl < 3000 {
		t.Fatalf("new token's ttl %v s", ttl)
	}
}

// TestReloginReadsAFreshSecretID: AppRole secret ids expire (here after one login). When the
// token's max TTL ends renewal, the next login fails and is reported and retried with
// backoff; once the deployment puts a fresh secret id in the file, the retry reads it and
// logs in.
func TestReloginReadsAFreshSecretID(t *testing.T) {
	v := startVault(t)
	c, secretIDFile := appRoleClientWith(t, v, map[string]any{"token_ttl": "2s", "token_max_ttl": "3s",
		"secret_id_num_uses": 1, "secret_id_ttl": "1h"})
	first := c.CurrentToken()
	ctx, cancel := context.WithCancel(context.Background())
	var l logins
	done := make(chan struct{})
	go func() { defer close(done); c.KeepLoggedIn(ctx, l.report) }()
	defer func() { cancel(); <-done }()
	waitUntil(t, 15*time.Second, "a failed login with the used-up secret id", func() bool { _, fail := l.count(); return fail > 0 })
	if ok, _ := l.count(); ok != 0 {
		t.Fatal("logged in again with a used-up secret id")
	}
	replaceFile(t, secretIDFile, newSecretID(t, v)+"\n")
	waitUntil(t, 15*time.Second, "a login with the fresh secret id", func() bool { ok, _ := l.count(); return ok > 0 })
	if c.CurrentToken() == first {
		t.Fatal("the token did not change")
	}
	if s, err := c.ReadKV(ctx, vault.SecretStripeKey, "tokenwall/stripe"); err != nil || string(s.Reveal()) != "sk_test_renew" {
		t.Fatalf("read with the new login: %v", err)
	}
}

// waitUntil polls cond every 50 ms until it holds, or fails the test after timeout.
func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
