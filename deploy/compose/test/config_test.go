package composetest

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"go.yaml.in/yaml/v4"
)

var (
	binOnce sync.Once
	binDir  string
	binErr  error
)

// tokenwallBinary builds cmd/tokenwall from the main module once per test binary and returns
// its path: from source, so that a stale bin/tokenwall never judges a new config.
func tokenwallBinary(t testing.TB) string {
	t.Helper()
	root := repoRoot(t)
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "tokenwall-composetest-")
		if binErr != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", filepath.Join(binDir, "tokenwall"), "./cmd/tokenwall")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = errors.New(err.Error() + "\n" + string(out))
		}
	})
	if binErr != nil {
		t.Fatalf("go build ./cmd/tokenwall: %v", binErr)
	}
	return filepath.Join(binDir, "tokenwall")
}

// TestMain removes the binary built for the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// twConfig is the part of tokenwall's effective configuration the stack must agree with, as
// `tokenwall check-config` prints it.
type twConfig struct {
	Listen struct {
		Addr           string        `yaml:"addr"`
		CertFile       string        `yaml:"cert_file"`
		KeyFile        string        `yaml:"key_file"`
		PublicHosts    []string      `yaml:"public_hosts"`
		TrustedProxies []string      `yaml:"trusted_proxies"`
		ShutdownGrace  time.Duration `yaml:"shutdown_grace"`
	} `yaml:"listen"`
	Admin struct {
		Addr string `yaml:"addr"`
	} `yaml:"admin"`
	Upstream struct {
		URL string `yaml:"url"`
	} `yaml:"upstream"`
	Vault struct {
		Address    string `yaml:"address"`
		CACertFile string `yaml:"ca_cert_file"`
		Auth       struct {
			Method       string `yaml:"method"`
			TokenFile    string `yaml:"token_file"`
			RoleID       string `yaml:"role_id"`
			SecretIDFile string `yaml:"secret_id_file"`
		} `yaml:"auth"`
		KVMount string `yaml:"kv_mount"`
	} `yaml:"vault"`
	Gateway struct {
		Stripe struct {
			APIURL string `yaml:"api_url"`
		} `yaml:"stripe"`
	} `yaml:"gateway"`
	Store struct {
		Driver               string `yaml:"driver"`
		PostgresURL          string `yaml:"postgres_url"`
		PostgresPasswordPath string `yaml:"postgres_password_path"`
	} `yaml:"store"`
	Webhooks struct {
		Enabled     bool     `yaml:"enabled"`
		SecretPaths []string `yaml:"secret_paths"`
	} `yaml:"webhooks"`
}

// effectiveConfig runs `tokenwall check-config` on the file mounted as the replicas' config,
// with env (TOKENWALL_* overrides) as the only environment besides PATH and HOME, requires it
// to pass and returns what it printed.
func effectiveConfig(t testing.TB, env []string) twConfig {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command(tokenwallBinary(t), "check-config", "--config", configSource(t, "tokenwall-config"))
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("tokenwall check-config (env %v) on deploy/compose/tokenwall.yaml: %v\n%s", env, err, errb.String())
	}
	var c twConfig
	if err := yaml.Unmarshal(out.Bytes(), &c); err != nil {
		t.Fatalf("check-config's output: %v", err)
	}
	return c
}

// configSource is the host file of the project's config name.
func configSource(t testing.TB, name string) string {
	t.Helper()
	c, ok := loadProject(t).Configs[name]
	if !ok || c.File == "" {
		t.Fatalf("deploy/compose.yaml has no file config %q", name)
	}
	return c.File
}

// configTarget is where service s mounts the config name.
func configTarget(t testing.TB, s types.ServiceConfig, name string) string {
	t.Helper()
	for _, c := range s.Configs {
		if c.Source == name {
			if c.Target == "" {
				return "/" + name
			}
			return c.Target
		}
	}
	t.Fatalf("%s does not mount the config %s", s.Name, name)
	return ""
}

// secretTargets maps where service s finds each of its secrets to the secret's name.
func secretTargets(s types.ServiceConfig) map[string]string {
	out := map[string]string{}
	for _, sec := range s.Secrets {
		target := sec.Target
		switch {
		case target == "":
			target = "/run/secrets/" + sec.Source
		case !strings.HasPrefix(target, "/"):
			target = "/run/secrets/" + target
		}
		out[target] = sec.Source
	}
	return out
}

// hostPort splits a URL's host and port, the scheme's default port when it names none.
func hostPort(t testing.TB, raw string) (scheme, host string, port int) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("%q: %v", raw, err)
	}
	p := u.Port()
	if p == "" {
		p = map[string]string{"http": "80", "https": "443", "postgres": "5432"}[u.Scheme]
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatalf("%q: port %q", raw, p)
	}
	return u.Scheme, u.Hostname(), n
}

// flagPort returns the port of the address following flag in args ("-addr", "0.0.0.0:8080").
func flagPort(t testing.TB, args []string, flag string) int {
	t.Helper()
	i := slices.Index(args, flag)
	if i < 0 || i+1 >= len(args) {
		t.Fatalf("%v has no %s", args, flag)
	}
	_, p, err := net.SplitHostPort(args[i+1])
	if err != nil {
		t.Fatalf("%s %q: %v", flag, args[i+1], err)
	}
	n, _ := strconv.Atoi(p)
	return n
}

// readRepo returns a file of the repository.
func readRepo(t testing.TB, parts ...string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(append([]string{repoRoot(t)}, parts...)...))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestTokenwallConfigPointsAtTheStack: deploy/compose/tokenwall.yaml passes check-config, and
// every address and file in it is the stack's: the upstream is the app service on the port it
// listens on, the gateway stripe-mock, Vault the vault service's TLS listener checked with the
// mounted CA, the AppRole the one vault-init sets up, the store the postgres service's database,
// the TLS files and the secret id mounted secrets; nginx sends to the replicas' port and is
// the one trusted proxy.
func TestTokenwallConfigPointsAtTheStack(t *testing.T) {
	cfg := effectiveConfig(t, nil)
	rep := service(t, "tokenwall-1")

	if scheme, host, port := hostPort(t, cfg.Upstream.URL); scheme != "http" || host != "billing" || port != flagPort(t, service(t, "billing").Command, "-addr") {
		t.Errorf("upstream.url %s: want the billing service on the port it listens on", cfg.Upstream.URL)
	}
	if _, host, port := hostPort(t, cfg.Gateway.Stripe.APIURL); host != "stripe-mock" || port != flagPort(t, service(t, "stripe-mock").Command, "-http-addr") {
		t.Errorf("gateway.stripe.api_url %s: want stripe-mock's HTTP port", cfg.Gateway.Stripe.APIURL)
	}

	vaultListen := regexp.MustCompile(`address\s*=\s*"[^"]*:(\d+)"`).FindStringSubmatch(readRepo(t, "deploy", "compose", "vault.hcl"))
	if scheme, host, port := hostPort(t, cfg.Vault.Address); scheme != "https" || host != "vault" || vaultListen == nil || strconv.Itoa(port) != vaultListen[1] {
		t.Errorf("vault.address %s: want https://vault on the TLS listener of deploy/compose/vault.hcl (%v)", cfg.Vault.Address, vaultListen)
	}
	if cfg.Vault.CACertFile != configTarget(t, rep, "ca") {
		t.Errorf("vault.ca_cert_file %q is not where the replicas mount the stack's CA", cfg.Vault.CACertFile)
	}
	if a := cfg.Vault.Auth; a.Method != "approle" || a.RoleID != vaultInitRoleID(t) {
		t.Errorf("vault.auth %s with role id %q: want approle with the role id deploy/compose/vault-init.sh sets (%q)", a.Method, a.RoleID, vaultInitRoleID(t))
	}
	secrets := secretTargets(rep)
	for key, file := range map[string]string{"listen.cert_file": cfg.Listen.CertFile, "listen.key_file": cfg.Listen.KeyFile,
		"vault.auth.secret_id_file": cfg.Vault.Auth.SecretIDFile} {
		if secrets[file] == "" {
			t.Errorf("%s %s is none of the secrets the replicas mount (%v)", key, file, secrets)
		}
	}

	// check-config masks the URL's user: the file itself names it.
	var file twConfig
	if err := yaml.Unmarshal([]byte(readRepo(t, "deploy", "compose", "tokenwall.yaml")), &file); err != nil {
		t.Fatal(err)
	}
	pg := service(t, "postgres")
	u, err := url.Parse(file.Store.PostgresURL)
	if err != nil || cfg.Store.Driver != "postgres" || u.Hostname() != "postgres" || u.User.Username() != *pg.Environment["POSTGRES_USER"] ||
		strings.TrimPrefix(u.Path, "/") != *pg.Environment["POSTGRES_DB"] {
		t.Errorf("store %s at %s: want postgres on the postgres service's user and database", cfg.Store.Driver, file.Store.PostgresURL)
	}
	setup := readRepo(t, "deploy", "vault", "setup.sh")
	if !strings.Contains(setup, "put_file postgres ") || cfg.Store.PostgresPasswordPath != "tokenwall/postgres" {
		t.Errorf("store.postgres_password_path %q: want tokenwall/postgres, where deploy/vault/setup.sh writes POSTGRES_PASSWORD_FILE",
			cfg.Store.PostgresPasswordPath)
	}

	// nginx sends to both replicas on the port they listen on, and is the one trusted proxy.
	_, listenPort, err := net.SplitHostPort(cfg.Listen.Addr)
	if err != nil {
		t.Fatal(err)
	}
	nginx := readRepo(t, "deploy", "compose", "nginx.conf")
	for _, name := range replicas {
		if !strings.Contains(nginx, "server "+name+":"+listenPort+" ") {
			t.Errorf("deploy/compose/nginx.conf does not send to %s:%s", name, listenPort)
		}
	}
	lb := service(t, "lb")
	if lbFront := lb.Networks["front"]; lbFront == nil || !slices.Equal(cfg.Listen.TrustedProxies, []string{lbFront.Ipv4Address + "/32"}) {
		t.Errorf("listen.trusted_proxies %v: want exactly the lb service's address on the front network", cfg.Listen.TrustedProxies)
	}
	if !slices.Contains(cfg.Listen.PublicHosts, "localhost") {
		t.Errorf("listen.public_hosts %v: the stack is reached at https://localhost:8443", cfg.Listen.PublicHosts)
	}
	if !strings.Contains(nginx, "proxy_ssl_trusted_certificate "+configTarget(t, lb, "ca")+";") {
		t.Error("nginx does not check the replicas' certificates against the stack's CA where lb mounts it")
	}
}

// vaultInitRoleID is the role id deploy/compose/vault-init.sh gives tokenwall's AppRole.
func vaultInitRoleID(t testing.TB) string {
	t.Helper()
	m := regexp.MustCompile(`role_id=\$\{ROLE_ID:-([^}]+)\}`).FindStringSubmatch(readRepo(t, "deploy", "compose", "vault-init.sh"))
	if m == nil {
		t.Fatal("deploy/compose/vault-init.sh sets no default ROLE_ID")
	}
	return m[1]
}

// TestAdminUsesTheRootToken: the tokenwall-admin service's environment turns the replicas'
// config into one that logs in with the Vault root token it mounts (the runtime policy may not
// create API keys).
func TestAdminUsesTheRootToken(t *testing.T) {
	admin := service(t, "tokenwall-admin")
	var env []string
	for _, k := range sortedKeys(admin.Environment) {
		if v := admin.Environment[k]; v != nil {
			env = append(env, k+"="+*v)
		}
	}
	cfg := effectiveConfig(t, env)
	if cfg.Vault.Auth.Method != "token" || secretTargets(admin)[cfg.Vault.Auth.TokenFile] != "vault-root-token" {
		t.Errorf("tokenwall-admin's vault.auth: %s with token file %q; want token, from the vault-root-token secret it mounts",
			cfg.Vault.Auth.Method, cfg.Vault.Auth.TokenFile)
	}
}

// TestHealthcheckParses: the replicas' healthcheck is the image's, and the real binary takes
// its arguments: run here, where nothing listens on the admin port, it says unhealthy (1), not
// misused (2).
func TestHealthcheckParses(t *testing.T) {
	test := service(t, "tokenwall-1").HealthCheck.Test
	if len(test) < 3 || test[0] != "CMD" || test[1] != dockerfileEntrypoint(t) {
		t.Fatalf("healthcheck %v: want [CMD %s healthcheck …]", test, dockerfileEntrypoint(t))
	}
	args := slices.Clone(test[2:])
	for i, a := range args {
		if a == configTarget(t, service(t, "tokenwall-1"), "tokenwall-config") {
			args[i] = configSource(t, "tokenwall-config")
		}
	}
	var errb bytes.Buffer
	cmd := exec.Command(tokenwallBinary(t), args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	cmd.Stderr = &errb
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		t.Logf("healthcheck passed: something answers on this host's admin port")
	case errors.As(err, &exit) && exit.ExitCode() == 1:
	default:
		t.Errorf("tokenwall %s: %v, want exit 1 (unhealthy)\n%s", strings.Join(args, " "), err, errb.String())
	}
}

// dockerfileHealthcheck is deploy/Dockerfile's HEALTHCHECK command, as compose writes a test.
func dockerfileHealthcheck(t testing.TB) []string {
	t.Helper()
	m := regexp.MustCompile(`(?s)HEALTHCHECK [^\n]*\\\n\s*CMD (\[[^\]]*\])`).FindStringSubmatch(readRepo(t, "deploy", "Dockerfile"))
	if m == nil {
		t.Fatal("deploy/Dockerfile has no HEALTHCHECK … CMD [...]")
	}
	var cmd []string
	if err := yaml.Unmarshal([]byte(m[1]), &cmd); err != nil {
		t.Fatalf("deploy/Dockerfile's HEALTHCHECK: %v", err)
	}
	return append([]string{"CMD"}, cmd...)
}

// dockerfileEntrypoint is the binary deploy/Dockerfile's ENTRYPOINT runs.
func dockerfileEntrypoint(t testing.TB) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^ENTRYPOINT \["([^"]+)"`).FindStringSubmatch(readRepo(t, "deploy", "Dockerfile"))
	if m == nil {
		t.Fatal("deploy/Dockerfile has no ENTRYPOINT [...]")
	}
	return m[1]
}

// durationOf converts a compose duration.
func durationOf(d types.Duration) time.Duration { return time.Duration(d) }
