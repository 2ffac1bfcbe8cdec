package vault_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/devstack"
	"github.com/tokenwall/tokenwall/vault"
)

// tokenwallSA is the service account the Kubernetes role binds.
var tokenwallSA = devstack.ServiceAccount{Namespace: "payments", Name: "tokenwall", UID: "4b1d2c3e-0f5a-4e6b-8c7d-9a0b1c2d3e4f"}

// kubeAuthVault starts Vault with Kubernetes auth pointed at a TokenReview stand-in (as
// deploy/vault/setup.sh configures it for a Vault outside the cluster: the API server's URL
// and CA, no local service account) and a role bound to tokenwallSA with the runtime policy.
func kubeAuthVault(t *testing.T) (*devstack.Vault, *devstack.KubeAPI) {
	t.Helper()
	kube, err := devstack.StartKubeAPI()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kube.Close)
	v := startVault(t)
	writePolicy(t, v)
	vaultAPI(t, v, http.MethodPost, "sys/auth/kubernetes", map[string]any{"type": "kubernetes"})
	vaultAPI(t, v, http.MethodPost, "auth/kubernetes/config", map[string]any{"kubernetes_host": kube.URL,
		"kubernetes_ca_cert": kube.CAPEM, "disable_local_ca_jwt": true})
	vaultAPI(t, v, http.MethodPost, "auth/kubernetes/role/tokenwall", map[string]any{
		"bound_service_account_names": tokenwallSA.Name, "bound_service_account_namespaces": tokenwallSA.Namespace,
		"audience": "vault", "token_policies": "tokenwall", "token_no_default_policy": true, "token_ttl": "1h"})
	vaultAPI(t, v, http.MethodPost, "secret/data/tokenwall/stripe", map[string]any{"data": map[string]any{"value": "sk_test_kubernetes"}})
	return v, kube
}

// kubeOptions are client options logging in with the service account token in file.
func kubeOptions(v *devstack.Vault, file string) vault.Options {
	return vault.Options{Address: v.Addr, Timeout: 5 * time.Second, KVMount: "secret",
		Auth: vault.Auth{Method: vault.MethodKubernetes, Role: "tokenwall", TokenFile: file}, Getenv: func(string) string { return "" }}
}

// TestKubernetesAuth: tokenwall logs in with its pod's service account token (a file),
// Vault checks it with the API server (the stand-in's TokenReview) and tokenwall reads its
// secrets with the runtime policy, and nothing outside it. A token the API server does not
// authenticate, one of another service account, or one for another audience, is refused with
// ErrAuth.
func TestKubernetesAuth(t *testing.T) {
	v, kube := kubeAuthVault(t)
	ctx := context.Background()
	jwt, err := kube.Token(tokenwallSA, "vault")
	if err != nil {
		t.Fatal(err)
	}
	c, err := vault.Dial(ctx, kubeOptions(v, writeFile(t, jwt)))
	if err != nil {
		t.Fatalf("kubernetes login: %v", err)
	}
	if kube.Reviews() == 0 {
		t.Fatal("Vault did not ask the API server to review the token")
	}
	if s, err := c.ReadKV(ctx, vault.SecretStripeKey, "tokenwall/stripe"); err != nil || string(s.Reveal()) != "sk_test_kubernetes" {
		t.Fatalf("read: %v", err)
	}
	if _, err := c.ReadKV(ctx, "other", "other/thing"); !errors.Is(err, vault.ErrAuth) {
		t.Fatalf("outside the policy: %v, want ErrAuth", err)
	}

	other, _ := kube.Token(devstack.ServiceAccount{Namespace: "payments", Name: "billing", UID: "0f0e0d0c-0b0a-4908-8706-050403020100"}, "vault")
	otherNS, _ := kube.Token(devstack.ServiceAccount{Namespace: "default", Name: "tokenwall", UID: tokenwallSA.UID}, "vault")
	otherAud, _ := kube.Token(tokenwallSA, "https://kubernetes.default.svc")
	unknown, _ := kube.Token(tokenwallSA, "vault")
	kube.Revoke(unknown) // a well-formed token the API server no longer authenticates
	tests := []struct{ name, jwt string }{
		{name: "not authenticated by the API server", jwt: unknown},
		{name: "another service account", jwt: other},
		{name: "another namespace", jwt: otherNS},
		{name: "another audience", jwt: otherAud},
		{name: "not a JWT", jwt: "not-a-jwt"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := vault.Dial(ctx, kubeOptions(v, writeFile(t, tc.jwt)))
			if !errors.Is(err, vault.ErrAuth) {
				t.Fatalf("err = %v, want ErrAuth", err)
			}
			if strings.Contains(err.Error(), tc.jwt) {
				t.Fatal("the error shows the service account token")
			}
		})
	}
	if _, err := vault.Dial(ctx, kubeOptions(v, "/nonexistent/token")); err == nil {
		t.Fatal("a missing token file logged in")
	}
}

// TestKubernetesLoginReadsTheRotatedToken: the kubelet replaces the projected token file
// before the old token expires. When Vault refuses tokenwall's token (revoked here), the new
// login reads the file again and uses the new service account token, and the read succeeds.
func TestKubernetesLoginReadsTheRotatedToken(t *testing.T) {
	v, kube := kubeAuthVault(t)
	ctx := context.Background()
	first, _ := kube.Token(tokenwallSA, "vault")
	file := writeFile(t, first)
	c, err := vault.Dial(ctx, kubeOptions(v, file))
	if err != nil {
		t.Fatal(err)
	}
	second, _ := kube.Token(tokenwallSA, "vault")
	if err := os.WriteFile(file, []byte(second+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	kube.Revoke(first) // the old service account token is no longer valid
	revoke(t, v, c.CurrentToken())
	if s, err := c.ReadKV(ctx, vault.SecretStripeKey, "tokenwall/stripe"); err != nil || string(s.Reveal()) != "sk_test_kubernetes" {
		t.Fatalf("read after the Vault token was revoked: %v", err)
	}
}
