package composetest

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// serviceUID is the user every service but the load balancer runs as, and owns the secrets.
const serviceUID = 65532

// secretsDir is where deploy/compose.yaml takes its secret files from, relative to deploy/.
const secretsDir = "compose/secrets"

// TestSecretFilesAreTheScripts: every secret and the CA config come from
// deploy/compose/secrets/, and every service that runs as 65532 asks for each secret as
// 65532's, mode 0400 (what Swarm and Podman apply; Docker Compose takes the host file's owner
// and mode, which TestSecretsReadableOnlyBy65532 checks).
func TestSecretFilesAreTheScripts(t *testing.T) {
	p := loadProject(t)
	dir := filepath.Join(repoRoot(t), "deploy", secretsDir)
	for _, name := range sortedKeys(p.Secrets) {
		if f := p.Secrets[name].File; filepath.Dir(f) != dir || filepath.Base(f) != name {
			t.Errorf("secret %s comes from %s, want %s", name, f, filepath.Join(dir, name))
		}
	}
	if f := p.Configs["ca"].File; f != filepath.Join(dir, "ca.pem") {
		t.Errorf("config ca comes from %s, want %s", f, filepath.Join(dir, "ca.pem"))
	}
	for _, name := range sortedKeys(p.Services) {
		s := p.Services[name]
		if name == "lb" {
			continue // nginx's master reads its key as root before it drops to its workers' user
		}
		for _, sec := range s.Secrets {
			if sec.UID != "65532" || sec.GID != "65532" || sec.Mode == nil || *sec.Mode != 0o400 {
				mode := "unset"
				if sec.Mode != nil {
					mode = "0" + strings.TrimLeft(sec.Mode.String(), "-")
				}
				t.Errorf("%s: secret %s with uid %q gid %q mode %s, want 65532, 65532, 0400", name, sec.Source, sec.UID, sec.GID, mode)
			}
		}
	}
}

// runSecretsScript runs deploy/compose/secrets.sh as an operator does (as root, OWNER unset),
// into a new folder, and returns it.
func runSecretsScript(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("deploy/compose/secrets.sh makes the stack's secrets uid 65532's, which takes root: run this test as root (.ci/run does)")
	}
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatal("openssl is not installed: apt-get install -y openssl")
	}
	// Not t.TempDir (0700): the users the test reads as must reach the folder, as in a container.
	parent, err := os.MkdirTemp("", "tokenwall-composetest-secrets-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(parent) })
	if err := os.Chmod(parent, 0o755); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(parent, "secrets")
	cmd := exec.Command("sh", filepath.Join(repoRoot(t), "deploy", "compose", "secrets.sh"), dir)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("deploy/compose/secrets.sh: %v\n%s", err, out)
	}
	return dir
}

// TestSecretsReadableOnlyBy65532: the script writes exactly the files the stack names, each
// owned by 65532 and readable by that user alone (the CA certificate by anyone), values without
// a trailing newline; it refuses to overwrite them; a process running as 65532 reads them and
// one running as another user does not.
func TestSecretsReadableOnlyBy65532(t *testing.T) {
	dir := runSecretsScript(t)
	p := loadProject(t)
	want := append(sortedKeys(p.Secrets), "ca.pem")
	slices.Sort(want)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if !slices.Equal(got, want) {
		t.Fatalf("secrets.sh wrote %v, want what deploy/compose.yaml names: %v", got, want)
	}
	for _, name := range got {
		path := filepath.Join(dir, name)
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		wantMode := os.FileMode(0o400)
		if name == "ca.pem" {
			wantMode = 0o444
		}
		if st.Uid != serviceUID || st.Gid != serviceUID || fi.Mode().Perm() != wantMode {
			t.Errorf("%s: owner %d:%d mode %v, want %d:%d %v", name, st.Uid, st.Gid, fi.Mode().Perm(), serviceUID, serviceUID, wantMode)
		}
		if !readableAs(t, path, serviceUID) {
			t.Errorf("%s: uid %d cannot read it", name, serviceUID)
		}
		if name != "ca.pem" && readableAs(t, path, serviceUID+1) {
			t.Errorf("%s: uid %d can read it", name, serviceUID+1)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(name, "-cert") && !strings.HasSuffix(name, "-key") && name != "ca.pem" && bytes.ContainsAny(b, "\r\n") {
			t.Errorf("%s: the value holds a newline, which would become part of the secret", name)
		}
	}
	cmd := exec.Command("sh", filepath.Join(repoRoot(t), "deploy", "compose", "secrets.sh"), dir)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "exists") {
		t.Errorf("secrets.sh over an existing folder: %v, %s; want a refusal", err, out)
	}
}

// readableAs reports whether a process running as uid (and gid uid) can read path.
func readableAs(t *testing.T, path string, uid uint32) bool {
	t.Helper()
	cmd := exec.Command("cat", path)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
	cmd.Stdout = nil
	return cmd.Run() == nil
}

// TestCertificatesFitTheStack: each certificate the script issues chains to the stack's CA,
// names the host its clients dial (the browser localhost, nginx the name it checks the
// replicas by, tokenwall Vault's host in vault.address) and matches its key.
func TestCertificatesFitTheStack(t *testing.T) {
	dir := runSecretsScript(t)
	roots := x509.NewCertPool()
	caPEM, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if !roots.AppendCertsFromPEM(caPEM) {
		t.Fatal("ca.pem holds no certificate")
	}
	sslName := regexp.MustCompile(`proxy_ssl_name (\S+);`).FindStringSubmatch(readRepo(t, "deploy", "compose", "nginx.conf"))
	if sslName == nil {
		t.Fatal("deploy/compose/nginx.conf sets no proxy_ssl_name")
	}
	_, vaultHost, _ := hostPort(t, effectiveConfig(t, nil).Vault.Address)
	for _, tc := range []struct{ name, host string }{
		{"lb", "localhost"},
		{"lb", "127.0.0.1"},
		{"tokenwall", sslName[1]},
		{"vault", vaultHost},
	} {
		certFile, keyFile := filepath.Join(dir, tc.name+"-tls-cert"), filepath.Join(dir, tc.name+"-tls-key")
		if _, err := tls.LoadX509KeyPair(certFile, keyFile); err != nil {
			t.Errorf("%s: certificate and key do not match: %v", tc.name, err)
			continue
		}
		b, err := os.ReadFile(certFile)
		if err != nil {
			t.Fatal(err)
		}
		block, _ := pem.Decode(b)
		if block == nil {
			t.Fatalf("%s: no PEM", certFile)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: tc.host, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
			t.Errorf("%s's certificate for %s: %v", tc.name, tc.host, err)
		}
	}
}
