package e2e_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/devstack"
	"github.com/tokenwall/tokenwall/testkit"
)

// setupSA is the service account deploy/vault/setup.sh binds its Kubernetes role to by default.
var setupSA = devstack.ServiceAccount{Namespace: "tokenwall", Name: "tokenwall", UID: "6a0c2f4e-1b3d-4f5a-9c7e-8d0f1a2b3c4d"}

// setupStack is what TestVaultSetupScript runs: the Vault that setup.sh prepared, the secrets
// it was given, and the tokens and files made from it.
type setupStack struct {
	vault *devstack.Vault
	kube  *devstack.KubeAPI
	// stripe, signing and whsec are the secrets as given to setup.sh, without the trailing
	// newline their files have.
	stripe, signing, whsec string
	// roleID is what setup.sh printed; secretIDFile the secret id it wrote.
	roleID, secretIDFile string
	// runtimeFile and operatorFile hold tokens with only the runtime or the operator policy.
	runtimeFile, operatorFile string
	runtime, operator         string
}

// TestVaultSetupScript runs deploy/vault/setup.sh with the vault CLI against a real Vault dev
// server, then proves that the Vault it prepared is enough for deploy/tokenwall.example.yaml
// and no more: `tokenwall serve` on the example config (addresses and files from the
// environment) with a token holding only the runtime policy tokenizes a checkout through
// stripe-mock, receives and delivers a webhook, charges through /v1 and signs a report that
// shows the transit key; the same token is refused everywhere outside its paths (writing
// secrets, API keys or the audit key, deleting the anchor, rotating or exporting the transit
// key, making tokens or reading policies); the operator policy creates the API key and
// rotates the audit key, which the runtime policy cannot; the AppRole and Kubernetes roles
// setup.sh wrote log in. The secret files end with a newline: setup.sh strips it.
func TestVaultSetupScript(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	dir := testkit.ArtifactsDir(t)
	for _, sfx := range []string{"", "-wal", "-shm"} {
		_ = os.Remove(filepath.Join(dir, "tokenwall.db") + sfx)
	}
	_ = os.Remove(filepath.Join(dir, "tokenwall.log"))
	bin := buildTokenwall(t)
	s := runSetupScript(t, ctx, dir)
	checkSetupWrote(t, s)
	checkRuntimePolicyLimits(t, s)
	checkSetupLogins(t, ctx, s)

	stripe, err := devstack.StartStripeMock(ctx, devstack.Options{Dir: dir, Log: testkit.LogFile(t, "stripe-mock.log")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stripe.Stop() })
	ports := freePorts(t, 3)
	app := startSlowApp(t, s.signing, ports[2])
	app.delay = 0
	env, cert := exampleEnv(t, dir, ports, s, stripe.URL)
	example := exampleConfigPath(t)

	// The first API key: the operator can write the key set, the runtime token cannot.
	if out, err := runTWEnv(bin, env(s.runtimeFile), "keys", "create", "--scopes", "payments", "--config", example); err == nil ||
		!strings.Contains(out, "refused") {
		t.Fatalf("keys create with the runtime policy: %v\n%s", err, out)
	}
	out, err := runTWEnv(bin, env(s.operatorFile), "keys", "create", "--scopes", "payments,reports", "--name", "billing-app", "--config", example)
	key := regexp.MustCompile(`twk_[a-p]{16}_[0-9a-f]{64}`).FindString(out)
	if err != nil || key == "" {
		t.Fatalf("keys create with the operator policy: %v\n%s", err, scrubbedOut(out))
	}

	// The preflight agrees that the runtime policy is enough for the example config.
	if out, err := runTWEnv(bin, env(s.runtimeFile), "check-config", "--preflight", "--config", example); err != nil ||
		!regexp.MustCompile(`(?m)^ok +vault policy`).MatchString(out) {
		t.Fatalf("check-config --preflight with the runtime policy: %v\n%s", err, scrubbedOut(out))
	}

	serve := startServeEnv(t, bin, example, env(s.runtimeFile), dir)
	client := hostClient(tlsClient(t, cert), "pay.example.com")
	base := "https://127.0.0.1:" + strconv.Itoa(ports[0])
	waitFor(t, 60*time.Second, "tokenwall on the example config to be ready", func() bool {
		resp, err := client.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	pm := checkSetupCheckout(t, client, base, app)
	checkSetupWebhook(t, client, base, s.whsec, app)
	checkSetupCharge(t, client, base, key, pm)
	checkSetupReport(t, client, base, key)

	if err := serve.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-serve.done
	if serve.waitErr != nil {
		t.Fatalf("tokenwall serve after SIGTERM: %v", serve.waitErr)
	}
	checkAuditKeyRotation(t, bin, env, example, s)
	checkNoSecretWritten(t, dir, s.stripe, s.signing, s.whsec, s.runtime, s.operator, key)
}

// checkNoSecretWritten reads what tokenwall and the servers wrote in dir (logs, output, the
// database) and fails if any of secrets is in it.
func checkNoSecretWritten(t *testing.T, dir string, secrets ...string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, sec := range secrets {
			if bytes.Contains(b, []byte(sec)) {
				t.Errorf("%s holds secret %d", path, i)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// runSetupScript starts Vault and the Kubernetes API stand-in, writes the secret files (each
// with a trailing newline, as an editor saves them), runs setup.sh with the vault CLI as
// root, and makes a token for each policy.
func runSetupScript(t *testing.T, ctx context.Context, dir string) *setupStack {
	t.Helper()
	vdir := filepath.Join(dir, "vault")
	if err := os.MkdirAll(vdir, 0o750); err != nil {
		t.Fatal(err)
	}
	vs, err := devstack.StartVault(ctx, devstack.Options{Dir: vdir, Log: testkit.LogFile(t, "vault.log")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = vs.Stop() })
	kube, err := devstack.StartKubeAPI()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kube.Close)
	s := &setupStack{vault: vs, kube: kube, stripe: "sk_test_" + randHex(t, 12), signing: randHex(t, 32), whsec: "whsec_" + randHex(t, 24)}
	secrets := t.TempDir() // secrets never go to the artifacts
	file := func(name, content string) string {
		p := filepath.Join(secrets, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	s.secretIDFile = filepath.Join(secrets, "secret-id")
	vaultCLI, err := devstack.BinPath("vault")
	if err != nil {
		t.Fatal(err)
	}
	root, err := devstack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(root, "deploy", "vault", "setup.sh"),
		file("stripe", s.stripe+"\n"), file("signing", s.signing+"\r\n"))
	cmd.Env = append(envWithoutVault(), "HOME="+secrets, "VAULT_CLI="+vaultCLI, "VAULT_ADDR="+vs.Addr, "VAULT_TOKEN="+vs.Token,
		"WEBHOOK_SECRET_FILE="+file("whsec", s.whsec+"\n"), "APPROLE_SECRET_ID_FILE="+s.secretIDFile,
		"K8S_HOST="+kube.URL, "K8S_CA_CERT_FILE="+file("kube-ca.pem", kube.CAPEM))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("setup.sh: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	t.Logf("setup.sh:\n%s", stdout.String())
	m := regexp.MustCompile(`(?m)^role_id: ([0-9a-f-]{36})$`).FindStringSubmatch(stdout.String())
	if m == nil {
		t.Fatalf("setup.sh printed no role_id:\n%s", stdout.String())
	}
	s.roleID = m[1]
	s.runtime, s.runtimeFile = policyToken(t, vs, "tokenwall", file)
	s.operator, s.operatorFile = policyToken(t, vs, "tokenwall-operator", file)
	return s
}

// policyToken makes a token with policy alone (not even the default policy) and writes it to
// a file made with file.
func policyToken(t *testing.T, vs *devstack.Vault, policy string, file func(name, content string) string) (string, string) {
	t.Helper()
	out := rootAPI(t, vs, http.MethodPost, "auth/token/create", map[string]any{"policies": []string{policy},
		"no_default_policy": true, "ttl": "1h"})
	tok := out["auth"].(map[string]any)["client_token"].(string)
	return tok, file(policy+"-token", tok)
}

// envWithoutVault is the test's environment without VAULT_* and TOKENWALL_* variables (and
// HOME), which would point the vault CLI or tokenwall elsewhere.
func envWithoutVault() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "VAULT_") && !strings.HasPrefix(kv, "TOKENWALL_") && !strings.HasPrefix(kv, "HOME=") {
			env = append(env, kv)
		}
	}
	return env
}

// exampleConfigPath is deploy/tokenwall.example.yaml.
func exampleConfigPath(t *testing.T) string {
	t.Helper()
	root, err := devstack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "deploy", "tokenwall.example.yaml")
}

// exampleEnv returns the environment that runs deploy/tokenwall.example.yaml here, as a
// container would set it (listen, admin and app on ports, in that order), for a given token
// file; and the listener's certificate.
func exampleEnv(t *testing.T, dir string, ports []int, s *setupStack, stripeURL string) (func(tokenFile string) []string, string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "tls"), 0o750); err != nil {
		t.Fatal(err)
	}
	cert, key, err := devstack.WriteSelfSignedCert(filepath.Join(dir, "tls"))
	if err != nil {
		t.Fatal(err)
	}
	return func(tokenFile string) []string {
		return append(envWithoutVault(),
			fmt.Sprintf("TOKENWALL_LISTEN_ADDR=127.0.0.1:%d", ports[0]),
			"TOKENWALL_LISTEN_CERT_FILE="+cert, "TOKENWALL_LISTEN_KEY_FILE="+key,
			fmt.Sprintf("TOKENWALL_ADMIN_ADDR=127.0.0.1:%d", ports[1]),
			fmt.Sprintf("TOKENWALL_UPSTREAM_URL=http://127.0.0.1:%d", ports[2]),
			"TOKENWALL_VAULT_ADDRESS="+s.vault.Addr, "TOKENWALL_VAULT_CA_CERT_FILE=",
			// Method token, as with a Vault Agent: no AppRole secret id file.
			// The example's secret_id_file stays set: preflight checks only the method's own file.
			"TOKENWALL_VAULT_AUTH_METHOD=token", "TOKENWALL_VAULT_AUTH_TOKEN_FILE="+tokenFile,
			"TOKENWALL_GATEWAY_STRIPE_API_URL="+stripeURL,
			"TOKENWALL_LOG_FILE="+filepath.Join(dir, "tokenwall.log"),
			"TOKENWALL_STORE_SQLITE_PATH="+filepath.Join(dir, "tokenwall.db"),
			"TOKENWALL_WEBHOOKS_POLL=100ms")
	}, cert
}

// runTWEnv runs a tokenwall subcommand with env and returns its stdout and stderr together.
func runTWEnv(bin string, env []string, args ...string) (string, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// startServeEnv starts `tokenwall serve --config cfgPath` with env, its output in dir.
func startServeEnv(t *testing.T, bin, cfgPath string, env []string, dir string) *twProcess {
	t.Helper()
	return startServeWith(t, bin, cfgPath, env, filepath.Join(dir, "serve.out"))
}
