package e2e_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/devstack"
	"github.com/tokenwall/tokenwall/examples/billing"
	"github.com/tokenwall/tokenwall/testkit"
	"github.com/tokenwall/tokenwall/vault"
)

// Where the container finds its files: the configuration folder and the Vault token are
// bind-mounted read-only, as a ConfigMap, a TLS Secret and a Vault Agent's token would be.
const (
	ctrConfigDir = "/etc/tokenwall"
	ctrConfig    = ctrConfigDir + "/tokenwall.yaml"
	ctrSecretDir = "/run/secrets/tokenwall"
)

// containerStack is what the containers run against, all on the host's loopback: a Vault
// dev server holding tokenwall's secrets, stripe-mock, and the demo billing app.
type containerStack struct {
	vaultAddr string
	tokenFile string // the Vault token, in a temporary folder (a secret: not in the artifacts)
	stripeURL string
	signing   string // the key tokenwall signs forwarded bodies with; the app verifies it
	app       *billing.App
	appPort   int
	// slowStarted receives when a request to slowPath reaches the app.
	slowStarted chan struct{}
}

// slowPath is a path the app answers slowDelay after the request arrives, so that a request
// to it is in flight when the container gets SIGTERM.
const (
	slowPath  = "/slow"
	slowDelay = 1500 * time.Millisecond
	slowBody  = "slow answer\n"
)

// startContainerStack starts Vault and stripe-mock, logging into artifacts, writes the
// secrets the example configuration names, and serves the billing app (with slowPath) on a
// free port. All of it stops when the test ends.
func startContainerStack(t *testing.T, ctx context.Context, artifacts string) *containerStack {
	t.Helper()
	vdir := filepath.Join(artifacts, "vault")
	if err := os.MkdirAll(vdir, 0o750); err != nil {
		t.Fatal(err)
	}
	vs, err := devstack.StartVault(ctx, devstack.Options{Dir: vdir, Log: testkit.LogFile(t, "vault.log")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = vs.Stop() })
	sm, err := devstack.StartStripeMock(ctx, devstack.Options{Log: testkit.LogFile(t, "stripe-mock.log")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sm.Stop() })

	s := &containerStack{vaultAddr: vs.Addr, stripeURL: sm.URL, signing: randHex(t, 32)}
	s.tokenFile = filepath.Join(t.TempDir(), "vault-token")
	if err := os.WriteFile(s.tokenFile, []byte(vs.Token), 0o600); err != nil {
		t.Fatal(err)
	}
	vc, err := vault.Dial(ctx, vault.Options{Address: vs.Addr, Timeout: 5 * time.Second, KVMount: "secret",
		Auth: vault.Auth{Method: "token", TokenFile: s.tokenFile}})
	if err != nil {
		t.Fatal(err)
	}
	for path, value := range map[string]string{
		"tokenwall/stripe":         devstack.StripeMockKey,
		"tokenwall/signing":        s.signing,
		"tokenwall/audit-hmac":     randHex(t, 32),
		"tokenwall/stripe-webhook": "whsec_" + randHex(t, 24),
	} {
		if err := vc.WriteKV(ctx, path, value); err != nil {
			t.Fatal(err)
		}
	}
	if err := vc.EnableTransitKey(ctx, "transit", "tokenwall-audit"); err != nil {
		t.Fatal(err)
	}

	s.app = billing.New(billing.Options{SigningKeys: func() [][]byte { return [][]byte{[]byte(s.signing)} }})
	s.slowStarted = make(chan struct{}, 1)
	mux := http.NewServeMux()
	mux.Handle("/", s.app)
	mux.HandleFunc("GET "+slowPath, func(w http.ResponseWriter, r *http.Request) {
		select {
		case s.slowStarted <- struct{}{}:
		default:
		}
		time.Sleep(slowDelay)
		_, _ = w.Write([]byte(slowBody))
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.appPort = ln.Addr().(*net.TCPAddr).Port
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 10 * time.Second, IdleTimeout: 30 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

// containerRun is one configuration the image is run with: its ports on the host's loopback
// (the container shares the host's network) and the store it uses.
type containerRun struct {
	// name tells the runs apart: the container, its volume and its audit anchor in Vault
	// (each run is a deployment of its own, with a trail of its own) are named after it.
	name            string
	port, adminPort int
	// store is the configuration's store section: empty for the default (SQLite in the
	// volume), or a postgres one.
	store string
	// shutdownGrace is listen.shutdown_grace.
	shutdownGrace time.Duration
}

// mounts writes the configuration, the TLS certificate and the Vault token into two folders
// for the container and returns the podman --volume arguments that mount them read-only.
// The files belong to 65532, the image's user, and are readable by it alone where they are
// secret. A copy of the configuration (no secret in it) goes to artifacts.
func (r containerRun) mounts(t *testing.T, s *containerStack, artifacts string) (volumes []string, certFile string) {
	t.Helper()
	cfgDir, secretDir := t.TempDir(), t.TempDir()
	tlsDir := filepath.Join(cfgDir, "tls")
	if err := os.MkdirAll(tlsDir, 0o755); err != nil {
		t.Fatal(err)
	}
	cert, key, err := devstack.WriteSelfSignedCert(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// The names of a kubernetes.io/tls Secret's keys.
	for from, to := range map[string]string{cert: "tls.crt", key: "tls.key"} {
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(tlsDir, to), b, 0o400); err != nil {
			t.Fatal(err)
		}
	}
	token, err := os.ReadFile(s.tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(secretDir, "vault-token"), token, 0o400); err != nil {
		t.Fatal(err)
	}
	cfg := r.config(s)
	if err := os.WriteFile(filepath.Join(cfgDir, "tokenwall.yaml"), []byte(cfg), 0o444); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(artifacts, "tokenwall.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{cfgDir, secretDir} {
		if err := chownAll(d, 65532, 65532); err != nil {
			t.Fatal(err)
		}
	}
	return []string{
		"--volume", cfgDir + ":" + ctrConfigDir + ":ro",
		"--volume", secretDir + ":" + ctrSecretDir + ":ro",
	}, filepath.Join(tlsDir, "tls.crt")
}

// config is the configuration the container runs with: paths inside the container, the
// servers on the host's loopback.
func (r containerRun) config(s *containerStack) string {
	return fmt.Sprintf(`# Written by e2e/container_test.go: tokenwall in a container on the host's network.
listen:
  addr: 127.0.0.1:%d
  cert_file: %[2]s/tls/tls.crt
  key_file: %[2]s/tls/tls.key
  public_hosts: [127.0.0.1]
  shutdown_grace: %[3]s
admin: {addr: "127.0.0.1:%[4]d"}
upstream: {url: "http://127.0.0.1:%[5]d"}
vault:
  address: %[6]s
  auth: {method: token, token_file: %[7]s/vault-token}
  audit_anchor_path: tokenwall/audit-anchor-%[10]s
gateway: {stripe: {api_url: %[8]s}}
routes:
  - path: /checkout/submit
    card: {number: card_number, exp: card_exp, cvc: card_cvc, name: card_name}
webhooks:
  enabled: true
  secret_paths: [tokenwall/stripe-webhook]
%[9]s`, r.port, ctrConfigDir, r.shutdownGrace, r.adminPort, s.appPort, s.vaultAddr, ctrSecretDir, s.stripeURL, r.store, r.name)
}

// chownAll gives dir and everything in it to uid:gid.
func chownAll(dir string, uid, gid int) error {
	return filepath.WalkDir(dir, func(path string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, uid, gid)
	})
}

// loopbackAddr is 127.0.0.1:port.
func loopbackAddr(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }
