package vault_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/vault"
)

// TestReadKVVersionAndKVVersions writes three versions of a secret to a real dev server and
// deletes the second: each kept version reads back with its own value and number, the
// deleted one, one never written and version 0 are ErrMissing, and KVVersions lists 1 and 3.
func TestReadKVVersionAndKVVersions(t *testing.T) {
	v := startVault(t)
	ctx := context.Background()
	c, err := vault.Dial(ctx, vault.Options{Address: v.Addr, Timeout: 5 * time.Second, KVMount: "secret",
		Auth: vault.Auth{Method: "token", TokenFile: writeFile(t, v.Token)}})
	if err != nil {
		t.Fatal(err)
	}
	for _, val := range []string{"one", "two", "three"} {
		if err := c.WriteKV(ctx, "tokenwall/audit-hmac", val); err != nil {
			t.Fatal(err)
		}
	}
	vaultAPI(t, v, http.MethodPost, "secret/delete/tokenwall/audit-hmac", map[string]any{"versions": []int{2}})

	for _, tc := range []struct {
		version int
		want    string
	}{{version: 1, want: "one"}, {version: 3, want: "three"}} {
		s, err := c.ReadKVVersion(ctx, vault.SecretAuditKey, "tokenwall/audit-hmac", tc.version)
		if err != nil || string(s.Reveal()) != tc.want || s.Version() != tc.version || s.Created().IsZero() {
			t.Errorf("version %d: %v %q v%d, want %q", tc.version, err, s.Reveal(), s.Version(), tc.want)
		}
	}
	for _, version := range []int{2, 9, 0} {
		if _, err := c.ReadKVVersion(ctx, vault.SecretAuditKey, "tokenwall/audit-hmac", version); !errors.Is(err, vault.ErrMissing) {
			t.Errorf("version %d: %v, want ErrMissing", version, err)
		}
	}
	if vs, err := c.KVVersions(ctx, "tokenwall/audit-hmac"); err != nil || !slices.Equal(vs, []int{1, 3}) {
		t.Errorf("KVVersions = %v, %v; want [1 3]", vs, err)
	}
	if _, err := c.KVVersions(ctx, "tokenwall/none"); !errors.Is(err, vault.ErrMissing) {
		t.Errorf("KVVersions of a missing secret: %v, want ErrMissing", err)
	}
}
