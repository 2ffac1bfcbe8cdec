package e2e_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
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

// composeSecrets runs deploy/compose/secrets.sh, the compose stack's secrets and certificates,
// into a temporary folder (secrets never go to the artifacts), owned by the user running the
// test (OWNER) rather than 65532, and returns the folder.
func composeSecrets(t *testing.T) string {
	t.Helper()
	root := repoRoot(t)
	dir := filepath.Join(t.TempDir(), "secrets")
	cmd := exec.Command("sh", filepath.Join(root, "deploy", "compose", "secrets.sh"), dir)
	cmd.Env = append(os.Environ(), fmt.Sprintf("OWNER=%d:%d", os.Getuid(), os.Getgid()))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("deploy/compose/secrets.sh: %v\n%s", err, out)
	}
	return dir
}

// readSecret returns one of the compose secrets.
func readSecret(t *testing.T, secrets, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(secrets, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// caPool returns a pool holding the compose stack's CA (secrets/ca.pem).
func caPool(t *testing.T, secrets string) *x509.CertPool {
	t.Helper()
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM([]byte(readSecret(t, secrets, "ca.pem"))) {
		t.Fatal("secrets/ca.pem holds no certificate")
	}
	return p
}

// composeVault is the compose stack's Vault, run on this machine as its vault service runs it:
// the dev server with deploy/compose/vault.hcl's TLS listener and the root token from the
// vault-root-token secret, then provisioned by deploy/compose/vault-init.sh (which runs
// deploy/vault/setup.sh). Only the listener's address and the secrets' folder change.
type composeVault struct {
	// Addr is the TLS listener's URL, https://127.0.0.1:PORT (its certificate names 127.0.0.1).
	Addr string

	cmd  *exec.Cmd
	done chan struct{}
}

// startComposeVault starts and provisions the Vault; it stops when the test ends. Its log and
// vault-init's output go to dir.
func startComposeVault(t *testing.T, ctx context.Context, dir, secrets string) *composeVault {
	t.Helper()
	bin, err := devstack.BinPath("vault")
	if err != nil {
		t.Fatal(err)
	}
	root := repoRoot(t)
	hcl, err := os.ReadFile(filepath.Join(root, "deploy", "compose", "vault.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	logf := testkit.LogFile(t, "vault.log")
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: caPool(t, secrets), MinVersion: tls.VersionTLS12}}}
	// Vault also listens on each listener's port + 1 (cluster traffic): another process may
	// hold one, so a start that fails is tried on other ports.
	for attempt := 1; ; attempt++ {
		ports := freePorts(t, 2)
		conf := string(hcl)
		for _, r := range []struct{ from, to string }{
			{`"0.0.0.0:8200"`, `"127.0.0.1:` + strconv.Itoa(ports[0]) + `"`},
			{`"/run/secrets/vault-tls-cert"`, strconv.Quote(filepath.Join(secrets, "vault-tls-cert"))},
			{`"/run/secrets/vault-tls-key"`, strconv.Quote(filepath.Join(secrets, "vault-tls-key"))},
		} {
			if strings.Count(conf, r.from) != 1 {
				t.Fatalf("deploy/compose/vault.hcl has %s %d times, want once: keep the test in step with it", r.from, strings.Count(conf, r.from))
			}
			conf = strings.Replace(conf, r.from, r.to, 1)
		}
		hclFile := filepath.Join(t.TempDir(), "vault.hcl")
		if err := os.WriteFile(hclFile, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		v := &composeVault{Addr: "https://127.0.0.1:" + strconv.Itoa(ports[0]), done: make(chan struct{})}
		// As the compose service's entrypoint does: the root token from the secret, through the
		// environment (never an argument).
		v.cmd = exec.Command(bin, "server", "-dev", "-dev-no-store-token",
			"-dev-listen-address=127.0.0.1:"+strconv.Itoa(ports[1]), "-config="+hclFile)
		v.cmd.Env = append(cleanVaultEnv(t.TempDir()), "VAULT_DEV_ROOT_TOKEN_ID="+readSecret(t, secrets, "vault-root-token"))
		v.cmd.Stdout, v.cmd.Stderr = logf, logf
		v.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		if err := startLocked(v.cmd, v.done); err != nil {
			t.Fatalf("start vault: %v", err)
		}
		t.Cleanup(func() { v.stop() })
		deadline := time.Now().Add(30 * time.Second)
		for !v.exited() && time.Now().Before(deadline) && !ready(client, v.Addr+"/v1/sys/health") {
			time.Sleep(100 * time.Millisecond)
		}
		if v.exited() && attempt < 3 {
			continue
		}
		if !ready(client, v.Addr+"/v1/sys/health") {
			t.Fatalf("the compose Vault did not come up on %s (see %s)", v.Addr, filepath.Join(dir, "vault.log"))
		}
		v.init(t, ctx, dir, secrets, filepath.Dir(bin))
		return v
	}
}

// init runs deploy/compose/vault-init.sh against the Vault, with the vault CLI from binDir.
func (v *composeVault) init(t *testing.T, ctx context.Context, dir, secrets, binDir string) {
	t.Helper()
	root := repoRoot(t)
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(root, "deploy", "compose", "vault-init.sh"))
	cmd.Env = append(cleanVaultEnv(t.TempDir()), "PATH="+binDir+string(os.PathListSeparator)+os.Getenv("PATH"),
		"VAULT_ADDR="+v.Addr, "VAULT_CACERT="+filepath.Join(secrets, "ca.pem"),
		"SECRETS="+secrets, "SETUP="+filepath.Join(root, "deploy", "vault", "setup.sh"))
	out, err := cmd.CombinedOutput()
	if werr := os.WriteFile(filepath.Join(dir, "vault-init.log"), out, 0o644); werr != nil {
		t.Fatal(werr)
	}
	if err != nil {
		t.Fatalf("deploy/compose/vault-init.sh: %v\n%s", err, out)
	}
}

func (v *composeVault) exited() bool {
	select {
	case <-v.done:
		return true
	default:
		return false
	}
}

// stop ends the server (SIGTERM, then SIGKILL to its process group).
func (v *composeVault) stop() {
	if v.exited() {
		return
	}
	_ = v.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-v.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-v.cmd.Process.Pid, syscall.SIGKILL)
		<-v.done
	}
}

// cleanVaultEnv is the environment without VAULT_* variables (they would point the server or
// the CLI elsewhere), with HOME set to home.
func cleanVaultEnv(home string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "VAULT_") || strings.HasPrefix(kv, "HOME=") || strings.HasPrefix(kv, "TOKENWALL_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "HOME="+home)
}

// apiKeyLine is how `tokenwall keys create` prints the new key.
var apiKeyLine = regexp.MustCompile(`(?m)^twk_[A-Za-z0-9_]+$`)

// createAPIKeys creates n API keys with the payments scope through the CLI, as an operator does
// with the compose stack's tokenwall-admin service: the replicas' configuration, with Vault's
// root token instead of the AppRole (the environment overrides that service sets).
func createAPIKeys(t *testing.T, bin, cfg, secrets string, n int) []string {
	t.Helper()
	var keys []string
	for i := range n {
		var out, errb bytes.Buffer
		cmd := exec.Command(bin, "keys", "create", "--scopes", "payments", "--name", fmt.Sprintf("load-worker-%d", i), "--config", cfg)
		cmd.Env = append(cleanVaultEnv(t.TempDir()), "TOKENWALL_VAULT_AUTH_METHOD=token",
			"TOKENWALL_VAULT_AUTH_TOKEN_FILE="+filepath.Join(secrets, "vault-root-token"))
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("tokenwall keys create: %v\n%s", err, errb.String())
		}
		k := apiKeyLine.FindString(out.String())
		if k == "" {
			t.Fatalf("tokenwall keys create printed no key (stderr: %s)", errb.String())
		}
		keys = append(keys, k)
	}
	return keys
}

// repoRoot is the repository's root folder.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := devstack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}
