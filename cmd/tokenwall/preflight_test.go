package main

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tokenwall/tokenwall/devstack"
)

// vaultAs sends one request to Vault with token and decodes the answer (nil when empty).
func vaultAs(t *testing.T, v *devstack.Vault, token, method, path string, body any) map[string]any {
	t.Helper()
	b, _ := json.Marshal(body)
	req, err := http.NewRequest(method, v.Addr+"/v1/"+path, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Vault-Token", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s: %d", method, path, resp.StatusCode)
	}
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return out
}

// preflightChecks runs check-config --preflight --json and decodes its checks.
func preflightChecks(t *testing.T, cfgPath string) (int, []check, string) {
	t.Helper()
	code, out, errb := runCmd(t, "check-config", "--preflight", "--json", "--config", cfgPath)
	var checks []check
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		var c check
		if err := dec.Decode(&c); err != nil {
			t.Fatalf("not JSON lines: %v\n%s", err, out)
		}
		checks = append(checks, c)
	}
	return code, checks, errb
}

// statuses maps "check: status" for every check, and keeps the details of failed ones.
func statuses(checks []check) (map[string]string, string) {
	got := map[string]string{}
	var failed []string
	for _, c := range checks {
		if prev, ok := got[c.Name]; !ok || prev == statusOK {
			got[c.Name] = c.Status
		}
		if c.Status == statusFail {
			failed = append(failed, c.Name+": "+c.Detail)
		}
	}
	return got, strings.Join(failed, "\n")
}

// TestCheckConfigPreflight runs check-config --preflight against the real Vault dev server:
// with the root token every check passes; with a token whose policy reads the secrets only,
// the policy check names each missing capability (anchor, transit) and not the secrets;
// with a wrong key file, an unreachable Vault and a store folder that cannot exist, each
// of those fails and the Vault policy is skipped.
func TestCheckConfigPreflight(t *testing.T) {
	v, cfgPath, cfg := provisioned(t)
	code, checks, errb := preflightChecks(t, cfgPath)
	got, failed := statuses(checks)
	if code != 0 || failed != "" {
		t.Fatalf("root token: exit %d %q, failed:\n%s", code, errb, failed)
	}
	for _, name := range []string{"listen.cert_file", "log.file", "vault", "vault policy", "store"} {
		if got[name] != statusOK {
			t.Errorf("root token: %s is %q, want ok (%v)", name, got[name], checks)
		}
	}
	if code, out, _ := runCmd(t, "check-config", "--preflight", "--config", cfgPath); code != 0 || !regexp.MustCompile(`(?m)^ok +vault policy +the token has`).MatchString(out) {
		t.Errorf("table output: exit %d\n%s", code, out)
	}

	vaultAs(t, v, v.Token, http.MethodPut, "sys/policies/acl/secrets-only", map[string]any{
		"policy": `path "secret/data/tokenwall/*" { capabilities = ["read"] }`})
	tok := vaultAs(t, v, v.Token, http.MethodPost, "auth/token/create", map[string]any{"policies": []string{"secrets-only"}, "ttl": "1h"})
	limited := tok["auth"].(map[string]any)["client_token"].(string)
	b, _ := os.ReadFile(cfgPath)
	limitedCfg := filepath.Join(filepath.Dir(cfgPath), "limited.yaml")
	writeFile(t, limitedCfg, strings.Replace(string(b), cfg.Vault.Auth.TokenFile, writeToken(t, limited), 1))
	code, checks, _ = preflightChecks(t, limitedCfg)
	_, failed = statuses(checks)
	t.Logf("limited token, failed checks:\n%s", failed)
	for _, want := range []string{"create, update, read on secret/data/tokenwall/audit-anchor", "read on secret/metadata/tokenwall/audit-anchor",
		"update on transit/sign/tokenwall-audit", "update on transit/verify/tokenwall-audit", "read on transit/keys/tokenwall-audit"} {
		if !strings.Contains(failed, want) {
			t.Errorf("limited token: no failure naming %q in:\n%s", want, failed)
		}
	}
	if code != 1 || strings.Contains(failed, "secret/data/tokenwall/stripe") || strings.Contains(failed, limited) {
		t.Errorf("limited token: exit %d, failed:\n%s\nwant 1, the secrets readable, the token never shown", code, failed)
	}

	checkPreflightBreakages(t, string(b))
}

// checkPreflightBreakages: a key that is not the certificate's, an unreachable Vault and a
// database under a regular file fail, each named, and the policy check is skipped.
func checkPreflightBreakages(t *testing.T, good string) {
	t.Helper()
	dir := t.TempDir()
	_, otherKey, err := devstack.WriteSelfSignedCert(dir)
	if err != nil {
		t.Fatal(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := ln.Addr().String()
	ln.Close()
	notADir := filepath.Join(dir, "plain-file")
	writeFile(t, notADir, "x")
	broken := replaceLine(good, "  key_file: ", "  key_file: "+otherKey)
	broken = replaceLine(broken, "  address: ", "  address: http://"+closed)
	broken = replaceLine(broken, "  sqlite_path: ", "  sqlite_path: "+filepath.Join(notADir, "data", "tokenwall.db"))
	p := filepath.Join(dir, "broken.yaml")
	writeFile(t, p, broken)
	code, checks, _ := preflightChecks(t, p)
	got, failed := statuses(checks)
	t.Logf("broken config, failed checks:\n%s", failed)
	want := map[string]string{"listen.cert_file": statusFail, "vault": statusFail, "vault policy": statusSkip, "store": statusFail}
	for name, status := range want {
		if got[name] != status {
			t.Errorf("%s: %q, want %q", name, got[name], status)
		}
	}
	if code != 1 || !strings.Contains(failed, "private key does not match public key") || !strings.Contains(failed, "vault unreachable") ||
		!strings.Contains(failed, "tokenwall.db: not a directory") {
		t.Errorf("broken config: exit %d, failed:\n%s", code, failed)
	}
}

// replaceLine replaces the line of s starting with prefix.
func replaceLine(s, prefix, line string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, prefix) {
			lines[i] = line
		}
	}
	return strings.Join(lines, "\n")
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
