package main

import (
	"context"
	"strings"
	"testing"

	"github.com/tokenwall/tokenwall/store"
	"github.com/tokenwall/tokenwall/store/sqlite"
	"github.com/tokenwall/tokenwall/vault"
)

// TestKeysCreateListRevoke drives `tokenwall keys` against a real Vault: a created key is
// printed once and only its hash is stored; list shows ids and scopes, never a hash; revoke
// marks it; each change is in the audit trail; bad input is refused with a clear message.
func TestKeysCreateListRevoke(t *testing.T) {
	v, cfgPath, cfg := provisioned(t)
	ctx := context.Background()
	code, out, errb := runCmd(t, "keys", "create", "--scopes", "payments,refunds", "--name", "billing-app", "--config", cfgPath)
	full := strings.TrimSpace(out)
	if code != 0 || !strings.HasPrefix(full, "twk_") || len(full) != 4+16+1+64 || !strings.Contains(errb, "only time the key is shown") {
		t.Fatalf("create: exit %d %q %q", code, out, errb)
	}
	id, secret := full[4:20], full[21:]
	code, out, _ = runCmd(t, "keys", "list", "--config", cfgPath)
	if code != 0 || !strings.Contains(out, id) || !strings.Contains(out, "billing-app") || !strings.Contains(out, "payments,refunds") {
		t.Fatalf("list: exit %d\n%s", code, out)
	}
	c, err := vault.Dial(ctx, vault.Options{Address: v.Addr, KVMount: "secret", Auth: vault.Auth{Method: "token", TokenFile: cfg.Vault.Auth.TokenFile}})
	if err != nil {
		t.Fatal(err)
	}
	stored, err := c.ReadKV(ctx, vault.SecretAPIKeys, cfg.API.KeysPath)
	if err != nil || strings.Contains(string(stored.Reveal()), secret) || !strings.Contains(string(stored.Reveal()), `"sha256"`) {
		t.Fatalf("stored set: %v (must hold the hash, not the secret)", err)
	}
	if strings.Contains(out, secret) {
		t.Fatal("list printed the secret")
	}

	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"revoke", []string{"revoke", "--config", cfgPath, id}, 0, ""},
		{"revoke again", []string{"revoke", "--config", cfgPath, id}, 1, "revoked already"},
		{"revoke unknown", []string{"revoke", "--config", cfgPath, "ffffffffffffffff"}, 1, "no key ffffffffffffffff"},
		{"revoke without id", []string{"revoke", "--config", cfgPath}, 2, "usage"},
		{"create without scopes", []string{"create", "--config", cfgPath}, 2, "no scope"},
		{"create unknown scope", []string{"create", "--scopes", "payments,root", "--config", cfgPath}, 2, `unknown scope "root"`},
		{"unknown subcommand", []string{"rotate", "--config", cfgPath}, 2, "usage"},
		{"create with a client certificate", []string{"create", "--scopes", "admin", "--client-cert-subject", "CN=ops,O=Merchant", "--config", cfgPath}, 0, "only time"},
		{"same certificate for a second key", []string{"create", "--scopes", "admin", "--client-cert-subject", "CN=ops,O=Merchant", "--config", cfgPath}, 1, "mapped to two keys"},
	}
	for _, tc := range tests {
		code, _, errb := runCmd(t, append([]string{"keys"}, tc.args...)...)
		if code != tc.wantCode || !strings.Contains(errb, tc.wantErr) {
			t.Errorf("%s: exit %d %q, want %d with %q", tc.name, code, errb, tc.wantCode, tc.wantErr)
		}
	}
	_, out, _ = runCmd(t, "keys", "list", "--config", cfgPath)
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 3 || strings.HasSuffix(lines[1], " -") {
		t.Fatalf("list after revoke: want the key with a revocation time:\n%s", out)
	}

	s, err := sqlite.Open(ctx, cfg.Store.SQLitePath)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var events []string
	_ = s.AuditRange(ctx, 0, 0, func(r store.AuditRecord) error {
		if strings.HasPrefix(r.Event, "api_key_") {
			events = append(events, r.Event+" "+r.Resource)
		}
		return nil
	})
	if got := strings.Join(events, ","); !strings.HasPrefix(got, "api_key_created key:"+id+",api_key_revoked key:"+id+",api_key_created key:") || len(events) != 3 {
		t.Fatalf("audit: %s", got)
	}
}
