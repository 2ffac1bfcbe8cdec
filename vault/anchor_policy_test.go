package vault_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/devstack"
	"github.com/tokenwall/tokenwall/vault"
)

// statusAs sends one request to Vault with token and returns the HTTP status.
func statusAs(t *testing.T, v *devstack.Vault, token, method, path string, body any) int {
	t.Helper()
	var b []byte
	if body != nil {
		b, _ = json.Marshal(body)
	}
	req, err := http.NewRequest(method, v.Addr+"/v1/"+path, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Vault-Token", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

// writePolicy installs tokenwall's runtime policy (deploy/vault/tokenwall-policy.hcl) as
// "tokenwall".
func writePolicy(t *testing.T, v *devstack.Vault) {
	t.Helper()
	policy, err := os.ReadFile("../deploy/vault/tokenwall-policy.hcl")
	if err != nil {
		t.Fatal(err)
	}
	vaultAPI(t, v, http.MethodPut, "sys/policies/acl/tokenwall", map[string]any{"policy": string(policy)})
}

// TestPolicyLetsTheAnchorGrowButNotShrink: with tokenwall's runtime policy
// (deploy/vault/tokenwall-policy.hcl) the audit anchor takes new versions, with
// check-and-set, and its history reads back; deleting, undeleting or destroying versions,
// deleting the metadata or changing max_versions are refused.
func TestPolicyLetsTheAnchorGrowButNotShrink(t *testing.T) {
	v := startVault(t)
	ctx := context.Background()
	writePolicy(t, v)
	tok := vaultAPI(t, v, http.MethodPost, "auth/token/create", map[string]any{"policies": []string{"tokenwall"}, "ttl": "1h"})
	token := tok["auth"].(map[string]any)["client_token"].(string)
	c, err := vault.Dial(ctx, vault.Options{Address: v.Addr, Timeout: 5 * time.Second, KVMount: "secret",
		Auth: vault.Auth{Method: "token", TokenFile: writeFile(t, token)}, Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	const path = "tokenwall/audit-anchor"
	v1, err := c.WriteKVDoc(ctx, path, map[string]string{"seq": "10"}, 0)
	if err != nil || v1 != 1 {
		t.Fatalf("first anchor: version %d, %v", v1, err)
	}
	if _, err := c.WriteKVDoc(ctx, path, map[string]string{"seq": "9"}, 0); !errors.Is(err, vault.ErrConflict) {
		t.Fatalf("a stale check-and-set: %v, want ErrConflict", err)
	}
	if v2, err := c.WriteKVDoc(ctx, path, map[string]string{"seq": "20"}, v1); err != nil || v2 != 2 {
		t.Fatalf("second anchor: version %d, %v", v2, err)
	}
	hist, err := c.KVHistory(ctx, path)
	if err != nil || len(hist) != 2 || hist[0].Fields["seq"] != "10" || hist[1].Fields["seq"] != "20" {
		t.Fatalf("history: %+v, %v", hist, err)
	}
	for _, r := range []struct {
		method, path string
		body         any
	}{
		{http.MethodDelete, "secret/data/" + path, nil},
		{http.MethodPost, "secret/delete/" + path, map[string]any{"versions": []int{1}}},
		{http.MethodPost, "secret/undelete/" + path, map[string]any{"versions": []int{1}}},
		{http.MethodPut, "secret/destroy/" + path, map[string]any{"versions": []int{1, 2}}},
		{http.MethodDelete, "secret/metadata/" + path, nil},
		{http.MethodPost, "secret/metadata/" + path, map[string]any{"max_versions": 1}},
	} {
		if got := statusAs(t, v, token, r.method, r.path, r.body); got != http.StatusForbidden {
			t.Errorf("%s %s with the runtime policy: %d, want 403", r.method, r.path, got)
		}
	}
	if hist, err := c.KVHistory(ctx, path); err != nil || len(hist) != 2 || hist[0].Deleted || hist[1].Deleted {
		t.Fatalf("history after the refused deletions: %+v, %v", hist, err)
	}
}
