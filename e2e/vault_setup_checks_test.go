package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/devstack"
	"github.com/tokenwall/tokenwall/scrub"
	"github.com/tokenwall/tokenwall/vault"
)

// vaultCall sends one request to Vault with token and returns the status and the decoded
// answer.
func vaultCall(t *testing.T, vs *devstack.Vault, token, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, vs.Addr+"/v1/"+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Vault-Token", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// rootAPI calls Vault as root and fails the test unless it succeeds.
func rootAPI(t *testing.T, vs *devstack.Vault, method, path string, body any) map[string]any {
	t.Helper()
	code, out := vaultCall(t, vs, vs.Token, method, path, body)
	if code >= 300 {
		t.Fatalf("%s %s: %d %v", method, path, code, out["errors"])
	}
	return out
}

// vaultData is the "data" object of a Vault answer.
func vaultData(out map[string]any) map[string]any {
	d, _ := out["data"].(map[string]any)
	return d
}

// checkSetupWrote reads, as root, what setup.sh wrote: the secrets without their newline, the
// empty API key set, the versions kept, the transit key, the roles' settings.
func checkSetupWrote(t *testing.T, s *setupStack) {
	t.Helper()
	vs := s.vault
	for path, want := range map[string]string{"stripe": s.stripe, "signing": s.signing, "stripe-webhook": s.whsec, "api-keys": `{"keys":[]}`} {
		if got := vaultData(vaultData(rootAPI(t, vs, http.MethodGet, "secret/data/tokenwall/"+path, nil)))["value"]; got != want {
			t.Errorf("secret/tokenwall/%s is not the value given without its newline", path)
		}
	}
	if k, _ := vaultData(vaultData(rootAPI(t, vs, http.MethodGet, "secret/data/tokenwall/audit-hmac", nil)))["value"].(string); len(k) != 64 {
		t.Errorf("audit key of %d characters, want 64 hex", len(k))
	}
	for _, path := range []string{"audit-anchor", "audit-hmac"} {
		if n := vaultData(rootAPI(t, vs, http.MethodGet, "secret/metadata/tokenwall/"+path, nil))["max_versions"]; n != float64(1000) {
			t.Errorf("%s keeps %v versions, want 1000", path, n)
		}
	}
	if typ := vaultData(rootAPI(t, vs, http.MethodGet, "transit/keys/tokenwall-audit", nil))["type"]; typ != "ed25519" {
		t.Errorf("transit key type %v", typ)
	}
	role := vaultData(rootAPI(t, vs, http.MethodGet, "auth/approle/role/tokenwall", nil))
	if role["secret_id_ttl"] != float64(86400) || role["secret_id_num_uses"] != float64(10) || role["token_no_default_policy"] != true {
		t.Errorf("approle role: secret_id_ttl %v, secret_id_num_uses %v, no default policy %v",
			role["secret_id_ttl"], role["secret_id_num_uses"], role["token_no_default_policy"])
	}
	kube := vaultData(rootAPI(t, vs, http.MethodGet, "auth/kubernetes/role/tokenwall", nil))
	if !strings.Contains(jsonText(kube["bound_service_account_names"]), "tokenwall") || kube["audience"] != "vault" {
		t.Errorf("kubernetes role: %v", kube)
	}
	if cfg := vaultData(rootAPI(t, vs, http.MethodGet, "auth/kubernetes/config", nil)); cfg["kubernetes_host"] != s.kube.URL || cfg["disable_local_ca_jwt"] != true {
		t.Errorf("kubernetes config: host %v, disable_local_ca_jwt %v", cfg["kubernetes_host"], cfg["disable_local_ca_jwt"])
	}
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// checkRuntimePolicyLimits: the runtime policy's token may do what tokenwall does and is
// refused everything else; the operator's may not delete either.
func checkRuntimePolicyLimits(t *testing.T, s *setupStack) {
	t.Helper()
	sign := map[string]any{"input": "aGVsbG8="}
	tests := []struct {
		name, token, method, path string
		body                      any
		allowed                   bool
	}{
		{"read the stripe key", s.runtime, http.MethodGet, "secret/data/tokenwall/stripe", nil, true},
		{"read the audit key's versions", s.runtime, http.MethodGet, "secret/metadata/tokenwall/audit-hmac", nil, true},
		{"sign with the transit key", s.runtime, http.MethodPost, "transit/sign/tokenwall-audit", sign, true},
		{"read the transit key's versions", s.runtime, http.MethodGet, "transit/keys/tokenwall-audit", nil, true},
		{"renew itself", s.runtime, http.MethodPost, "auth/token/renew-self", map[string]any{}, true},
		{"write the stripe key", s.runtime, http.MethodPost, "secret/data/tokenwall/stripe", kvValue("sk_test_x"), false},
		{"write the api key set", s.runtime, http.MethodPost, "secret/data/tokenwall/api-keys", kvValue(`{"keys":[]}`), false},
		{"write the audit key", s.runtime, http.MethodPost, "secret/data/tokenwall/audit-hmac", kvValue("00"), false},
		{"delete the anchor", s.runtime, http.MethodDelete, "secret/data/tokenwall/audit-anchor", nil, false},
		{"destroy anchor versions", s.runtime, http.MethodPost, "secret/destroy/tokenwall/audit-anchor", map[string]any{"versions": []int{1}}, false},
		{"shrink the anchor's history", s.runtime, http.MethodPost, "secret/metadata/tokenwall/audit-anchor", map[string]any{"max_versions": 1}, false},
		{"read outside tokenwall/", s.runtime, http.MethodGet, "secret/data/other/thing", nil, false},
		{"rotate the transit key", s.runtime, http.MethodPost, "transit/keys/tokenwall-audit/rotate", map[string]any{}, false},
		{"sign with another key", s.runtime, http.MethodPost, "transit/sign/other", sign, false},
		{"create a token", s.runtime, http.MethodPost, "auth/token/create", map[string]any{}, false},
		{"read a policy", s.runtime, http.MethodGet, "sys/policies/acl/tokenwall", nil, false},
		{"make an approle secret id", s.runtime, http.MethodPost, "auth/approle/role/tokenwall/secret-id", map[string]any{}, false},
		{"list mounts", s.runtime, http.MethodGet, "sys/mounts", nil, false},
		{"operator: delete the anchor", s.operator, http.MethodDelete, "secret/data/tokenwall/audit-anchor", nil, false},
		{"operator: destroy audit keys", s.operator, http.MethodPost, "secret/destroy/tokenwall/audit-hmac", map[string]any{"versions": []int{1}}, false},
		{"operator: write the stripe key", s.operator, http.MethodPost, "secret/data/tokenwall/stripe", kvValue("sk_test_x"), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out := vaultCall(t, s.vault, tc.token, tc.method, tc.path, tc.body)
			if tc.allowed != (code < 300) || (!tc.allowed && code != http.StatusForbidden) {
				t.Errorf("%s %s: %d %v (allowed: %v)", tc.method, tc.path, code, out["errors"], tc.allowed)
			}
		})
	}
}

func kvValue(v string) map[string]any { return map[string]any{"data": map[string]any{"value": v}} }

// checkSetupLogins logs in with the AppRole role (role id and secret id from setup.sh) and
// the Kubernetes role (a service account token the API server stand-in authenticates): each
// reads tokenwall's secrets and nothing else.
func checkSetupLogins(t *testing.T, ctx context.Context, s *setupStack) {
	t.Helper()
	jwt, err := s.kube.Token(setupSA, "vault")
	if err != nil {
		t.Fatal(err)
	}
	jwtFile := filepath.Join(t.TempDir(), "sa-token")
	if err := os.WriteFile(jwtFile, []byte(jwt), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, auth := range map[string]vault.Auth{
		"approle":    {Method: vault.MethodAppRole, RoleID: s.roleID, SecretIDFile: s.secretIDFile},
		"kubernetes": {Method: vault.MethodKubernetes, Role: "tokenwall", TokenFile: jwtFile},
	} {
		c, err := vault.Dial(ctx, vault.Options{Address: s.vault.Addr, Timeout: 5 * time.Second, KVMount: "secret", Auth: auth,
			Getenv: func(string) string { return "" }})
		if err != nil {
			t.Fatalf("%s login: %v", name, err)
		}
		if sec, err := c.ReadKV(ctx, vault.SecretStripeKey, "tokenwall/stripe"); err != nil || string(sec.Reveal()) != s.stripe {
			t.Fatalf("%s: read the stripe key: %v", name, err)
		}
		if err := c.WriteKV(ctx, "tokenwall/stripe", "sk_test_overwritten"); !errors.Is(err, vault.ErrAuth) {
			t.Fatalf("%s: write the stripe key: %v, want ErrAuth", name, err)
		}
	}
}

// hostRewriter sends every request with Host set to host (the example config's
// listen.public_hosts) while connecting to the URL's address.
type hostRewriter struct {
	rt   http.RoundTripper
	host string
}

func (h hostRewriter) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Host = h.host
	return h.rt.RoundTrip(r)
}

func hostClient(c *http.Client, host string) *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: hostRewriter{rt: c.Transport, host: host}}
}

// checkSetupCheckout posts a card to the example config's checkout form and returns the
// payment method the app received in its place.
func checkSetupCheckout(t *testing.T, client *http.Client, base string, app *slowApp) string {
	t.Helper()
	form := url.Values{"card_number": {"4242424242424242"}, "card_exp": {"12/34"}, "card_cvc": {"123"}, "card_name": {"Ada Lovelace"}}
	resp, err := client.PostForm(base+"/checkout/submit", form)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("checkout: %d %s", resp.StatusCode, scrub.Text(body))
	}
	for _, r := range app.app.Received() {
		if r.Path != "/checkout/submit" {
			continue
		}
		got, _ := url.ParseQuery(r.Body)
		if pm := got.Get("payment_method"); strings.HasPrefix(pm, "pm_") && r.SignatureValid && !strings.Contains(r.Body, "4242424242424242") {
			return pm
		}
	}
	t.Fatal("the app got no signed checkout with a payment method in place of the card")
	return ""
}

// checkSetupWebhook sends a signed gateway event and waits for the app to get it.
func checkSetupWebhook(t *testing.T, client *http.Client, base, whsec string, app *slowApp) {
	t.Helper()
	ids := sendCrashEvents(t, client, base, whsec, 1)
	waitFor(t, 30*time.Second, "the webhook at the app", func() bool {
		for _, ev := range app.app.WebhookEvents() {
			if ev.ID == ids[0] {
				return true
			}
		}
		return false
	})
}

// setupAPICall sends one /v1 request with the API key.
func setupAPICall(t *testing.T, client *http.Client, method, u, key string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", "setup-"+randHex(t, 8))
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// checkSetupCharge charges the tokenized card through /v1.
func checkSetupCharge(t *testing.T, client *http.Client, base, key, pm string) {
	t.Helper()
	code, body := setupAPICall(t, client, http.MethodPost, base+"/v1/payments", key, []byte(`{"amount":2000,"currency":"usd","token":"`+pm+`"}`))
	var p struct{ ID, Status string }
	if code != http.StatusCreated || json.Unmarshal(body, &p) != nil || p.ID == "" {
		t.Fatalf("charge: %d %s", code, scrub.Text(body))
	}
}

// checkSetupReport asks for the JSON report and finds the transit key's evidence in it,
// which needs read on transit/keys/tokenwall-audit.
func checkSetupReport(t *testing.T, client *http.Client, base, key string) {
	t.Helper()
	code, body := setupAPICall(t, client, http.MethodGet, base+"/v1/reports?format=json", key, nil)
	if code != http.StatusOK {
		t.Fatalf("report: %d %s", code, scrub.Text(body))
	}
	var doc any
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("report is not JSON: %v", err)
	}
	tk, ok := findKey(doc, "transit_key").(map[string]any)
	if !ok || tk["name"] != "tokenwall-audit" || tk["latest_version"] != float64(1) || tk["error"] != nil || tk["rotated_at"] == nil {
		t.Fatalf("transit key evidence: %v", tk)
	}
}

// findKey returns the first value under key anywhere in a decoded JSON document.
func findKey(doc any, key string) any {
	switch d := doc.(type) {
	case map[string]any:
		if v, ok := d[key]; ok {
			return v
		}
		for _, v := range d {
			if f := findKey(v, key); f != nil {
				return f
			}
		}
	case []any:
		for _, v := range d {
			if f := findKey(v, key); f != nil {
				return f
			}
		}
	}
	return nil
}

// checkAuditKeyRotation: `tokenwall audit rotate-key` is refused with the runtime policy and
// works with the operator's; the trail verifies across the rotation.
func checkAuditKeyRotation(t *testing.T, bin string, env func(string) []string, example string, s *setupStack) {
	t.Helper()
	if out, err := runTWEnv(bin, env(s.runtimeFile), "audit", "rotate-key", "--config", example); err == nil {
		t.Fatalf("audit rotate-key with the runtime policy worked:\n%s", out)
	}
	if out, err := runTWEnv(bin, env(s.operatorFile), "audit", "rotate-key", "--config", example); err != nil ||
		!strings.Contains(out, "audit key rotated") {
		t.Fatalf("audit rotate-key with the operator policy: %v\n%s", err, out)
	}
	if out, err := runTWEnv(bin, env(s.operatorFile), "audit", "verify", "--config", example); err != nil ||
		!strings.Contains(out, "audit trail OK") {
		t.Fatalf("audit verify: %v\n%s", err, out)
	}
}

// scrubbedOut is command output fit for a failure message: no API key, no card number.
func scrubbedOut(out string) string { return string(scrub.Text([]byte(out))) }
