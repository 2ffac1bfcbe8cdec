package e2e_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/tokenwall/tokenwall/devstack"
	"github.com/tokenwall/tokenwall/examples/billing"
	"github.com/tokenwall/tokenwall/testkit"
	"github.com/tokenwall/tokenwall/vault"
	"github.com/tokenwall/tokenwall/webhooks"
)

// crashCard is the card number the gateway events carry in their metadata (Stripe's test
// Visa debit); it must reach neither the app, the database nor the log.
const crashCard = "4000056655665556"

// slowApp is the demo billing app behind a handler that holds every webhook delivery a
// while, so that a kill lands while deliveries are in flight, and counts them.
type slowApp struct {
	app   *billing.App
	delay time.Duration

	mu       sync.Mutex
	requests int
}

func (s *slowApp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/webhooks/tokenwall" {
		s.mu.Lock()
		s.requests++
		s.mu.Unlock()
		time.Sleep(s.delay)
	}
	s.app.ServeHTTP(w, r)
}

func (s *slowApp) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// twProcess is one `tokenwall serve` child process.
type twProcess struct {
	cmd     *exec.Cmd
	done    chan struct{} // closed once the process has exited and been reaped
	waitErr error         // what cmd.Wait returned; read only after done is closed
}

// startServe starts `tokenwall serve --config cfgPath` with the test's environment, its
// output in logDir/serve-N.out.
func startServe(t *testing.T, bin, cfgPath, logDir string, n int) *twProcess {
	t.Helper()
	return startServeWith(t, bin, cfgPath, nil, filepath.Join(logDir, fmt.Sprintf("serve-%d.out", n)))
}

// startServeWith starts `tokenwall serve --config cfgPath` with env (nil: the test's own),
// its output in outPath; the test's cleanup kills and reaps it.
func startServeWith(t *testing.T, bin, cfgPath string, env []string, outPath string) *twProcess {
	t.Helper()
	out, err := os.OpenFile(outPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = out.Close() })
	cmd := exec.Command(bin, "serve", "--config", cfgPath)
	cmd.Env, cmd.Stdout, cmd.Stderr = env, out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &twProcess{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
	})
	return p
}

// kill9 kills the process with SIGKILL: no shutdown, no final checkpoint, leases held.
func (p *twProcess) kill9(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
}

// waitFor polls cond every 50 ms until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestWebhooksSurviveKill9: a real `tokenwall serve` acknowledges 30 gateway events while
// the billing app is down and is killed with SIGKILL; a restarted tokenwall starts
// delivering to the (now running, slow) app and is killed again mid-delivery; a third one
// finishes. Every event reaches the app, which processes each event id exactly once after
// its own deduplication; the outbox shows every event delivered with its payload purged; the
// audit trail verifies; no card number is in what the app got, the database or the logs.
func TestWebhooksSurviveKill9(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	dir := testkit.ArtifactsDir(t)
	for _, sfx := range []string{"", "-wal", "-shm"} {
		_ = os.Remove(filepath.Join(dir, "tokenwall.db") + sfx)
	}
	bin := buildTokenwall(t)
	sec := startCrashVault(t, ctx, dir)
	ports := freePorts(t, 3)
	cfgPath, cert := writeCrashConfig(t, dir, ports, sec)
	client := tlsClient(t, cert)
	base := "https://127.0.0.1:" + strconv.Itoa(ports[0])
	ready := func() bool {
		resp, err := client.Get(base + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}

	// 1. The app is down: tokenwall acknowledges every event, then is killed.
	first := startServe(t, bin, cfgPath, dir, 1)
	waitFor(t, 60*time.Second, "tokenwall to be ready", ready)
	const n = 30
	ids := sendCrashEvents(t, client, base, sec.whsec, n)
	first.kill9(t)

	// 2. The app comes up (slow); a restarted tokenwall is killed while delivering.
	app := startSlowApp(t, sec.signing, ports[2])
	second := startServe(t, bin, cfgPath, dir, 2)
	waitFor(t, 60*time.Second, "deliveries to start", func() bool { return app.count() >= 6 })
	second.kill9(t)
	killedAt := len(app.app.WebhookEvents())
	if killedAt >= n {
		t.Fatalf("all %d events were delivered before the second kill; the test proves nothing", n)
	}

	// 3. A third tokenwall delivers the rest, waiting out the dead process's leases.
	third := startServe(t, bin, cfgPath, dir, 3)
	waitFor(t, 90*time.Second, "every event at the app", func() bool { return len(app.app.WebhookEvents()) == n })
	waitFor(t, 30*time.Second, "every event marked delivered", func() bool {
		return strings.Count(runTW(t, bin, "webhooks", "list", "--status", "delivered", "--json", "--config", cfgPath), "\n") == n
	})
	if err := third.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-third.done
	if third.waitErr != nil {
		t.Fatalf("tokenwall after SIGTERM: %v", third.waitErr)
	}

	checkAppGotEachEventOnce(t, app, ids, killedAt)
	checkOutboxDeliveredAndAudited(t, bin, cfgPath)
	checkNoCardWritten(t, bin, dir)
}

// crashSecrets is where TestWebhooksSurviveKill9's Vault listens, the file with its token,
// and the secrets written into it that the test needs itself.
type crashSecrets struct {
	vaultAddr string
	tokenFile string
	whsec     string // the Stripe webhook secret the events are signed with
	signing   string // the key tokenwall signs its deliveries with
}

// startCrashVault starts a Vault dev server logging to dir and writes tokenwall's secrets
// and transit key into it; the server stops when the test ends.
func startCrashVault(t *testing.T, ctx context.Context, dir string) crashSecrets {
	t.Helper()
	vdir := filepath.Join(dir, "vault")
	if err := os.MkdirAll(vdir, 0o750); err != nil {
		t.Fatal(err)
	}
	vlog, err := os.Create(filepath.Join(dir, "vault.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = vlog.Close() })
	vs, err := devstack.StartVault(ctx, devstack.Options{Dir: vdir, Log: vlog})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = vs.Stop() })
	tokenFile := filepath.Join(t.TempDir(), "vault-token") // a secret: not in the artifacts
	if err := os.WriteFile(tokenFile, []byte(vs.Token), 0o600); err != nil {
		t.Fatal(err)
	}
	vc, err := vault.Dial(ctx, vault.Options{Address: vs.Addr, Timeout: 5 * time.Second, KVMount: "secret",
		Auth: vault.Auth{Method: "token", TokenFile: tokenFile}})
	if err != nil {
		t.Fatal(err)
	}
	sec := crashSecrets{vaultAddr: vs.Addr, tokenFile: tokenFile, whsec: "whsec_" + randHex(t, 24), signing: randHex(t, 32)}
	for path, value := range map[string]string{"tokenwall/stripe": "sk_test_" + randHex(t, 12), "tokenwall/signing": sec.signing,
		"tokenwall/audit-hmac": randHex(t, 32), "tokenwall/stripe-webhook": sec.whsec} {
		if err := vc.WriteKV(ctx, path, value); err != nil {
			t.Fatal(err)
		}
	}
	if err := vc.EnableTransitKey(ctx, "transit", "tokenwall-audit"); err != nil {
		t.Fatal(err)
	}
	return sec
}

// writeCrashConfig writes a self-signed certificate and the `tokenwall serve` configuration
// (listen, admin and upstream on ports, in that order; short webhook leases and backoffs)
// into dir. It returns the configuration's path and the certificate's.
func writeCrashConfig(t *testing.T, dir string, ports []int, sec crashSecrets) (cfgPath, cert string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "tls"), 0o750); err != nil {
		t.Fatal(err)
	}
	cert, key, err := devstack.WriteSelfSignedCert(filepath.Join(dir, "tls"))
	if err != nil {
		t.Fatal(err)
	}
	cfgPath = filepath.Join(dir, "tokenwall.yaml")
	yaml := fmt.Sprintf(`listen: {addr: "127.0.0.1:%d", cert_file: %s, key_file: %s, public_hosts: [127.0.0.1]}
admin: {addr: "127.0.0.1:%d"}
upstream: {url: "http://127.0.0.1:%d"}
vault: {address: %s, auth: {token_file: %s}}
gateway: {stripe: {api_url: "http://127.0.0.1:9"}}
log: {file: %s}
store: {sqlite_path: %s}
routes:
  - path: /checkout/submit
    card: {number: card_number, exp: card_exp, cvc: card_cvc}
webhooks:
  enabled: true
  secret_paths: [tokenwall/stripe-webhook]
  lease: 3s
  timeout: 2s
  poll: 100ms
  backoff_base: 50ms
  backoff_cap: 300ms
  batch: 4
`, ports[0], cert, key, ports[1], ports[2], sec.vaultAddr, sec.tokenFile, filepath.Join(dir, "tokenwall.log"), filepath.Join(dir, "tokenwall.db"))
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfgPath, cert
}

// sendCrashEvents posts n signed charge.succeeded events, each with crashCard in its
// metadata, to tokenwall's Stripe webhook endpoint at base, requires each to be
// acknowledged with 200, and returns their ids.
func sendCrashEvents(t *testing.T, client *http.Client, base, whsec string, n int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("evt_1Q0PsIJvEtkwdCNYk%07d", i)
		body := []byte(`{"id":"` + ids[i] + `","object":"event","api_version":"2023-10-16","created":1795000000,` +
			`"type":"charge.succeeded","data":{"object":{"id":"ch_3Q0PsIJvEtkwdCNY0abcdEFG","object":"charge","amount":2000,` +
			`"metadata":{"order":"` + strconv.Itoa(i) + `","note":"card ` + crashCard + `"}}}}`)
		req, _ := http.NewRequest(http.MethodPost, base+"/webhooks/stripe", bytes.NewReader(body))
		req.Header.Set(webhooks.StripeSignatureHeader, webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{
			Payload: body, Secret: whsec, Timestamp: time.Now()}).Header)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("event %d acknowledged with %d", i, resp.StatusCode)
		}
	}
	return ids
}

// startSlowApp serves the demo billing app, verifying signatures made with signing, behind
// a slowApp on the given port until the test ends.
func startSlowApp(t *testing.T, signing string, port int) *slowApp {
	t.Helper()
	app := &slowApp{app: billing.New(billing.Options{SigningKeys: func() [][]byte { return [][]byte{[]byte(signing)} }}), delay: 150 * time.Millisecond}
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	appSrv := &http.Server{Handler: app, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 10 * time.Second, IdleTimeout: 30 * time.Second}
	go func() { _ = appSrv.Serve(ln) }()
	t.Cleanup(func() { _ = appSrv.Close() })
	return app
}

// checkAppGotEachEventOnce checks that the app processed every one of ids exactly once, and
// got only signed bodies without the card number; killedAt is how many events it had
// processed at the second kill.
func checkAppGotEachEventOnce(t *testing.T, app *slowApp, ids []string, killedAt int) {
	t.Helper()
	events := app.app.WebhookEvents()
	seen := map[string]bool{}
	repeats := 0
	for _, ev := range events {
		if seen[ev.ID] {
			t.Fatalf("the app processed %s twice", ev.ID)
		}
		seen[ev.ID] = true
		repeats += ev.Deliveries - 1
	}
	for _, id := range ids {
		if !seen[id] {
			t.Fatalf("%s never reached the app", id)
		}
	}
	t.Logf("%d events: %d processed before the second kill, %d repeat deliveries deduplicated by the app, %d requests in all",
		len(ids), killedAt, repeats, app.count())
	for _, r := range app.app.Received() {
		if strings.Contains(r.Body, crashCard) || !r.SignatureValid {
			t.Fatalf("the app got a body with the card number, or unsigned (valid %v)", r.SignatureValid)
		}
	}
}

// checkOutboxDeliveredAndAudited checks, with the tokenwall CLI, that every outbox item is
// delivered with its payload purged and that the audit trail verifies.
func checkOutboxDeliveredAndAudited(t *testing.T, bin, cfgPath string) {
	t.Helper()
	for _, line := range strings.Split(strings.TrimSpace(runTW(t, bin, "webhooks", "list", "--json", "--config", cfgPath)), "\n") {
		var l struct {
			Status      string `json:"status"`
			PayloadKept bool   `json:"payload_kept"`
		}
		if err := json.Unmarshal([]byte(line), &l); err != nil || l.Status != "delivered" || l.PayloadKept {
			t.Fatalf("outbox line %q: want delivered with the payload purged (%v)", line, err)
		}
	}
	if out := runTW(t, bin, "audit", "verify", "--config", cfgPath); !strings.Contains(out, "audit trail OK") {
		t.Fatalf("audit verify: %s", out)
	}
}

// checkNoCardWritten runs `tokenwall scan` over what tokenwall wrote in dir: the database
// (and its WAL), its log and its output.
func checkNoCardWritten(t *testing.T, bin, dir string) {
	t.Helper()
	written, _ := filepath.Glob(filepath.Join(dir, "serve-*.out"))
	written = append(written, filepath.Join(dir, "tokenwall.log"))
	for _, sfx := range []string{"", "-wal"} {
		if _, err := os.Stat(filepath.Join(dir, "tokenwall.db") + sfx); err == nil {
			written = append(written, filepath.Join(dir, "tokenwall.db")+sfx)
		}
	}
	if out, err := exec.Command(bin, append([]string{"scan"}, written...)...).CombinedOutput(); err != nil {
		t.Fatalf("tokenwall scan found sensitive data (or failed): %v\n%s", err, out)
	}
}

// runTW runs a tokenwall subcommand and returns its stdout; it fails the test on a non-zero exit.
func runTW(t *testing.T, bin string, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("tokenwall %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return out.String()
}

func tlsClient(t *testing.T, certFile string) *http.Client {
	t.Helper()
	pemBytes, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemBytes)
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, DisableKeepAlives: true}}
}

func randHex(t *testing.T, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
