package e2e_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/config"
	"github.com/tokenwall/tokenwall/devstack"
	"github.com/tokenwall/tokenwall/store/pgtest"
	"github.com/tokenwall/tokenwall/testkit"
)

const (
	// replicasEnv sets how long TestReplicasBehindLoadBalancer drives load (a Go duration);
	// `make soak-replicas` sets it, `make test` leaves the short default. Not a TOKENWALL_
	// name: the tokenwall processes inherit the environment, and their config loader refuses
	// TOKENWALL_ variables it does not know.
	replicasEnv = "SOAK_REPLICAS"
	// replicasShort is the run's length when replicasEnv is not set.
	replicasShort = 16 * time.Second
	// loadWorkers is how many clients drive load at once, each from its own loopback address.
	loadWorkers = 4
	// restartAfter is how long a killed replica stays down before it is started again.
	restartAfter = 2 * time.Second
	// deliveryBatch is webhooks.batch in the test: the most events one replica holds leases
	// on at a time, so the most a kill can make the app receive twice.
	deliveryBatch = 8
)

// replicasDuration is the run's length: replicasEnv, or replicasShort.
func replicasDuration(t *testing.T) time.Duration {
	t.Helper()
	v := os.Getenv(replicasEnv)
	if v == "" {
		return replicasShort
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 5*time.Second {
		t.Fatalf("%s=%q: want a Go duration of at least 5s", replicasEnv, v)
	}
	return d
}

// replica is one of the two tokenwall replicas: its configuration, its port and the process
// currently running it.
type replica struct {
	cfg   string
	port  int
	proc  *twProcess
	serve int // number of the last `tokenwall serve` started for it (serve-N.out)
}

// TestReplicasBehindLoadBalancer runs the compose stack (deploy/compose.yaml) on this machine,
// without containers: its secrets from deploy/compose/secrets.sh; its Vault (the dev server
// with deploy/compose/vault.hcl's TLS listener) provisioned by deploy/compose/vault-init.sh and
// so deploy/vault/setup.sh; two `tokenwall serve` processes with deploy/compose/tokenwall.yaml
// (AppRole login with the runtime policy, the stack's CA) on one PostgreSQL; nginx running
// deploy/compose/nginx.conf in front; stripe-mock behind a recording proxy; the demo billing
// app. Only addresses and file names differ from the stack. API keys are made with
// `tokenwall keys create`, as an operator makes them. A bounded load generator
// sends checkouts, /v1 charges with idempotency keys and signed gateway events (some twice at
// once) for the run's length, and one replica is killed with SIGKILL halfway through (once a
// minute, alternating, in a long run) and started again two seconds later, as an orchestrator
// would. Then:
//   - every event tokenwall acknowledged reached the app, which processed each once: the
//     outbox has one row per event, delivered, payload purged, and the app received at most
//     one batch of repeats per kill (deliveries whose lease died with the replica);
//   - no idempotency key reached the gateway under two different requests, and every POST
//     to it carried one;
//   - the one audit trail the replicas share verifies against the one Vault anchor, and names
//     the clients behind nginx (listen.trusted_proxies), never nginx itself;
//   - no test card number is in any log (tokenwall's, nginx's, Vault's, stripe-mock's,
//     PostgreSQL's), in pg_dump's dump or in PostgreSQL's data folder (tables and WAL).
func TestReplicasBehindLoadBalancer(t *testing.T) {
	runFor := replicasDuration(t)
	nginxBin(t) // before anything starts: fail fast with the install hint
	ctx, cancel := context.WithTimeout(t.Context(), runFor+4*time.Minute)
	defer cancel()
	dir := testkit.ArtifactsDir(t)
	removeOldReplicaArtifacts(t, dir)

	bin := buildTokenwall(t)
	pg := pgtest.StartT(t)
	dsn, err := pg.NewDatabase(ctx, "tokenwall")
	if err != nil {
		t.Fatal(err)
	}
	secrets := composeSecrets(t)
	vs := startComposeVault(t, ctx, dir, secrets)
	smLog := testkit.LogFile(t, "stripe-mock.log")
	sm, err := devstack.StartStripeMock(ctx, devstack.Options{Dir: t.TempDir(), Log: smLog})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sm.Stop() })
	gw := startGatewayRecorder(t, sm.URL)

	ports := freePorts(t, 6) // load balancer, two replicas, their two admin ports, the app
	app := startAppRecorder(t, readSecret(t, secrets, "signing-key"), ports[5], allTestCards())
	p := replicaParams{dsn: dsn, vault: vs.Addr, secrets: secrets, gateway: gw.URL, appPort: ports[5], long: runFor > time.Minute}
	replicas := []*replica{
		{cfg: writeReplicaConfig(t, dir, 1, ports[1], ports[3], p), port: ports[1]},
		{cfg: writeReplicaConfig(t, dir, 2, ports[2], ports[4], p), port: ports[2]},
	}
	// What an operator runs before starting: the files, Vault and the runtime policy, the store.
	for _, r := range replicas {
		runTW(t, bin, "check-config", "--preflight", "--config", r.cfg)
	}
	apiKeys := createAPIKeys(t, bin, replicas[0].cfg, secrets, loadWorkers)
	ca := caPool(t, secrets)
	direct := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: ca, ServerName: "tokenwall.internal", MinVersion: tls.VersionTLS12}}}
	serves := 0
	start := func(r *replica) {
		serves++
		r.serve = serves
		r.proc = startServe(t, bin, r.cfg, dir, serves)
		waitFor(t, 60*time.Second, fmt.Sprintf("replica on port %d to be ready", r.port), func() bool {
			return ready(direct, "https://127.0.0.1:"+strconv.Itoa(r.port)+"/readyz")
		})
	}
	for _, r := range replicas {
		start(r)
	}
	lb := startLoadBalancer(t, dir, ports[0], []int{ports[1], ports[2]}, lbFiles{cert: filepath.Join(secrets, "lb-tls-cert"),
		key: filepath.Join(secrets, "lb-tls-key"), ca: filepath.Join(secrets, "ca.pem")})
	base := "https://127.0.0.1:" + strconv.Itoa(ports[0])
	waitFor(t, 30*time.Second, "nginx to answer", func() bool {
		return !lb.exited() && ready(&http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: ca, MinVersion: tls.VersionTLS12}}}, base+"/healthz")
	})

	// The run: load for runFor, kills on schedule.
	load := newLoadGen(base, readSecret(t, secrets, "stripe-webhook-secret"), ca, apiKeys)
	kills := max(1, int(runFor/time.Minute))
	began := time.Now()
	loadCtx, stopLoad := context.WithTimeout(ctx, runFor)
	defer stopLoad()
	var killed []string
	loadDone := make(chan struct{})
	go func() {
		defer close(loadDone)
		load.run(loadCtx)
	}()
	for k := 1; k <= kills; k++ {
		select {
		case <-time.After(time.Until(began.Add(runFor * time.Duration(k) / time.Duration(kills+1)))):
		case <-loadCtx.Done():
		}
		r := replicas[(k-1)%2]
		r.proc.kill9(t)
		killed = append(killed, fmt.Sprintf("serve-%d at %s", r.serve, time.Since(began).Round(100*time.Millisecond)))
		time.Sleep(restartAfter)
		start(r)
	}
	<-loadDone
	loaded := time.Since(began)
	stats, ids, problems := load.result()
	if len(problems) > 0 {
		t.Errorf("%d requests failed for good (%s): %s", len(problems), stats, strings.Join(problems[:min(len(problems), 5)], "; "))
	}
	if stats.Charges == 0 || stats.Events == 0 || stats.ConflictProbes == 0 {
		t.Fatalf("the run did too little to prove anything: %s", stats)
	}

	// Drain: every acknowledged event at the app and marked delivered, then a clean stop.
	waitFor(t, 60*time.Second, "every acknowledged event at the app", func() bool {
		got := app.delivered()
		for _, id := range ids {
			if got[id] == 0 {
				return false
			}
		}
		return true
	})
	var outbox []outboxLine
	waitFor(t, 30*time.Second, "every event marked delivered", func() bool {
		outbox = listOutbox(t, bin, replicas[0].cfg)
		for _, l := range outbox {
			if l.Status != "delivered" {
				return false
			}
		}
		return len(outbox) >= len(ids)
	})
	for _, r := range replicas {
		if err := r.proc.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		<-r.proc.done
		if r.proc.waitErr != nil {
			t.Errorf("serve-%d after SIGTERM: %v", r.serve, r.proc.waitErr)
		}
	}
	lb.stop(t)

	checkEventsOnce(t, app, ids, outbox, kills)
	gs := gw.summary()
	if len(gs.Conflicts) > 0 {
		t.Errorf("%d idempotency keys reached the gateway under two different requests (the conflict probes' outcomes: %v): %s",
			len(gs.Conflicts), stats.ConflictOutcomes, strings.Join(gs.Conflicts[:min(len(gs.Conflicts), 3)], ", "))
	}
	if gs.NoKey > 0 {
		t.Errorf("%d POSTs reached the gateway without an Idempotency-Key", gs.NoKey)
	}
	checkAuditOfReplicas(t, bin, replicas[0].cfg, load.clientAddrs())
	checkBothServed(t, lb.Log, ports[1], ports[2])
	dump, err := pg.Dump(ctx, "tokenwall")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "pg_dump.sql"), dump, 0o600); err != nil {
		t.Fatal(err)
	}
	scanForTestCards(t, dir)
	checkNoTestCardInFiles(t, pg.Dir())

	t.Logf("%s of load through nginx to 2 replicas, %d SIGKILL (%s), each restarted after %s", loaded.Round(100*time.Millisecond),
		kills, strings.Join(killed, ", "), restartAfter)
	t.Logf("load: %s", stats)
	t.Logf("gateway: %d requests, %d idempotency keys, %d resent under the same key and request", gs.Requests, gs.Keys, gs.Resent)
	t.Logf("total %s", time.Since(began).Round(100*time.Millisecond))
}

// ready reports whether GET url answers 200.
func ready(c *http.Client, url string) bool {
	resp, err := c.Get(url)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// removeOldReplicaArtifacts removes what an earlier run left in dir that this one would add
// to rather than replace (tokenwall's log file is opened for appending).
func removeOldReplicaArtifacts(t *testing.T, dir string) {
	t.Helper()
	old, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	more, _ := filepath.Glob(filepath.Join(dir, "serve-*.out"))
	for _, p := range append(old, more...) {
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{filepath.Join(dir, "nginx"), filepath.Join(dir, "pg_dump.sql")} {
		if err := os.RemoveAll(p); err != nil {
			t.Fatal(err)
		}
	}
}

// replicaParams are what the replicas' configurations share.
type replicaParams struct {
	dsn     string // the database, on pgtest's cluster
	vault   string // the compose Vault's TLS address
	secrets string // the compose secrets' folder
	gateway string // the gateway recorder in front of stripe-mock
	appPort int
	long    bool // a soak: longer than a minute
}

// writeReplicaConfig loads deploy/compose/tokenwall.yaml, the compose stack's configuration,
// points it at this machine's servers and at the secrets' folder, and writes it to
// dir/replica-N.yaml. Only addresses and file names change (the AppRole, the CA, the Vault
// paths, the database password in Vault stay), plus timings shortened so that a kill's
// consequences play out within the test.
func writeReplicaConfig(t *testing.T, dir string, n, port, adminPort int, p replicaParams) string {
	t.Helper()
	cfg, err := config.Load(filepath.Join(repoRoot(t), "deploy", "compose", "tokenwall.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Store.Driver != "postgres" || len(cfg.Listen.TrustedProxies) == 0 || cfg.Vault.Auth.Method != "approle" {
		t.Fatalf("deploy/compose/tokenwall.yaml: store %q, trusted proxies %v, Vault auth %q: want postgres behind a trusted load balancer, AppRole",
			cfg.Store.Driver, cfg.Listen.TrustedProxies, cfg.Vault.Auth.Method)
	}
	secret := func(path string) string {
		if !strings.HasPrefix(path, "/run/secrets/") {
			t.Fatalf("deploy/compose/tokenwall.yaml names %s: want a compose secret under /run/secrets/", path)
		}
		return filepath.Join(p.secrets, strings.TrimPrefix(path, "/run/secrets/"))
	}
	cfg.Listen.Addr = "127.0.0.1:" + strconv.Itoa(port)
	cfg.Listen.PublicHosts = []string{"127.0.0.1"}
	cfg.Listen.CertFile, cfg.Listen.KeyFile = secret(cfg.Listen.CertFile), secret(cfg.Listen.KeyFile)
	cfg.Listen.TrustedProxies = []string{"127.0.0.1/32"} // nginx connects from here
	cfg.Admin.Addr = "127.0.0.1:" + strconv.Itoa(adminPort)
	cfg.Upstream.URL = "http://127.0.0.1:" + strconv.Itoa(p.appPort)
	cfg.Vault.Address, cfg.Vault.CACertFile = p.vault, filepath.Join(p.secrets, "ca.pem")
	cfg.Vault.Auth.SecretIDFile = secret(cfg.Vault.Auth.SecretIDFile)
	cfg.Gateway.Stripe.APIURL = p.gateway
	cfg.Log.File = filepath.Join(dir, fmt.Sprintf("tokenwall-%d.log", n))
	cfg.Store.PostgresURL = p.dsn // trust authentication: the password read from Vault goes unused
	// A dead replica's leases expire in seconds, not the default 30 s.
	cfg.Webhooks.Lease = config.Duration(3 * time.Second)
	cfg.Webhooks.Timeout = config.Duration(2 * time.Second)
	cfg.Webhooks.Poll = config.Duration(100 * time.Millisecond)
	cfg.Webhooks.BackoffBase = config.Duration(50 * time.Millisecond)
	cfg.Webhooks.BackoffCap = config.Duration(500 * time.Millisecond)
	cfg.Webhooks.Batch = deliveryBatch
	// Checkpoints from both replicas during the run, racing for the one anchor: often in a short
	// run; in a long one few enough that the anchor's 1000 kept versions cover the whole run.
	cfg.Audit.CheckpointEvery, cfg.Audit.CheckpointInterval = 100, config.Duration(2*time.Second)
	if p.long {
		cfg.Audit.CheckpointEvery, cfg.Audit.CheckpointInterval = 1000, config.Duration(5*time.Second)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("replica %d config: %v", n, err)
	}
	b, err := cfg.YAML()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, fmt.Sprintf("replica-%d.yaml", n))
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// outboxLine is one line of `tokenwall webhooks list --json`.
type outboxLine struct {
	ID          string `json:"id"`
	Status      string `json:"status"`
	Attempts    int    `json:"attempts"`
	PayloadKept bool   `json:"payload_kept"`
}

// listOutbox returns the whole webhook outbox, as the CLI lists it.
func listOutbox(t *testing.T, bin, cfg string) []outboxLine {
	t.Helper()
	var out []outboxLine
	for _, line := range strings.Split(strings.TrimSpace(runTW(t, bin, "webhooks", "list", "--json", "--limit", "1000000", "--config", cfg)), "\n") {
		if line == "" {
			continue
		}
		var l outboxLine
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("webhooks list line %q: %v", line, err)
		}
		out = append(out, l)
	}
	return out
}

// checkEventsOnce checks that each acknowledged event has one outbox row, delivered with its
// payload purged, and reached the app, which processed it once; and that repeats at the app
// stay within one delivery batch per kill.
func checkEventsOnce(t *testing.T, app *appRecorder, ids []string, outbox []outboxLine, kills int) {
	t.Helper()
	if tr := app.trouble(); tr != "" {
		t.Errorf("the app: %s", tr)
	}
	acked := map[string]bool{}
	for _, id := range ids {
		acked[id] = true
	}
	rows := map[string]int{}
	for _, l := range outbox {
		rows[l.ID]++
		if l.Status != "delivered" || l.PayloadKept {
			t.Errorf("outbox %s: %s, payload kept %v; want delivered and purged", l.ID, l.Status, l.PayloadKept)
		}
		if !acked[l.ID] {
			t.Errorf("outbox has %s, which no replica acknowledged", l.ID)
		}
	}
	for _, id := range ids {
		if rows[id] != 1 {
			t.Errorf("outbox has %d rows for %s, want 1", rows[id], id)
		}
	}
	got := app.delivered()
	repeats := 0
	for id, n := range got {
		if !acked[id] {
			t.Errorf("the app got %s, which no replica acknowledged", id)
		}
		repeats += n - 1
	}
	processed := map[string]int{}
	for _, ev := range app.app.WebhookEvents() {
		processed[ev.ID]++
		if ev.Deliveries != got[ev.ID] {
			t.Errorf("%s: the app counted %d deliveries, the recorder %d", ev.ID, ev.Deliveries, got[ev.ID])
		}
	}
	for _, id := range ids {
		if processed[id] != 1 {
			t.Errorf("the app processed %s %d times, want once", id, processed[id])
		}
	}
	if repeats > kills*deliveryBatch {
		t.Errorf("the app received %d repeat deliveries; at most %d (one batch per kill) may come from leases a killed replica held",
			repeats, kills*deliveryBatch)
	}
	t.Logf("webhooks: %d events, one outbox row each, processed once each by the app; %d repeat deliveries", len(ids), repeats)
}

// checkAuditOfReplicas verifies the shared trail against the Vault anchor with the CLI and
// checks that every source address in it is one of the load's clients: the replicas believed
// nginx's X-Forwarded-For and nothing else.
func checkAuditOfReplicas(t *testing.T, bin, cfg string, clients map[string]bool) {
	t.Helper()
	if out := runTW(t, bin, "audit", "verify", "--config", cfg); !strings.Contains(out, "audit trail OK") {
		t.Errorf("audit verify: %s", out)
	}
	sources := map[string]int{}
	records := 0
	export := runTW(t, bin, "audit", "export", "--config", cfg)
	// Kept with the artifacts, for the card scan and for inspection.
	if err := os.WriteFile(filepath.Join(filepath.Dir(cfg), "audit-export.jsonl"), []byte(export), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(export), "\n") {
		var r struct {
			SourceIP string `json:"source_ip"`
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("audit export line: %v", err)
		}
		records++
		if r.SourceIP != "" {
			sources[r.SourceIP]++
		}
	}
	var bad []string
	for ip := range sources {
		if !clients[ip] {
			bad = append(bad, ip)
		}
	}
	sort.Strings(bad)
	if len(bad) > 0 || len(sources) == 0 {
		t.Errorf("audit trail source addresses %v: want only the load's clients %v", sources, clients)
	}
	t.Logf("audit: %d records verify against the anchor; source addresses %v", records, sources)
}

// upstreamField finds the replica that answered in a line of nginx's access log.
var upstreamField = regexp.MustCompile(`upstream=(\S+) upstream_status=(\S+)`)

// checkBothServed checks in nginx's access log that both replicas answered requests, and
// that the log holds no request path (its format leaves the URI out).
func checkBothServed(t *testing.T, logFile string, ports ...int) {
	t.Helper()
	b, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	served := map[string]int{}
	for _, m := range upstreamField.FindAllStringSubmatch(string(b), -1) {
		// "a, b" when nginx tried one replica, then the other.
		addrs := strings.Split(m[1], ",")
		served[strings.TrimSpace(addrs[len(addrs)-1])]++
	}
	for _, p := range ports {
		if served["127.0.0.1:"+strconv.Itoa(p)] == 0 {
			t.Errorf("nginx's log shows no request answered by the replica on port %d: %v", p, served)
		}
	}
	if strings.Contains(string(b), "/checkout/submit") || strings.Contains(string(b), "/v1/") {
		t.Errorf("nginx's log holds request paths")
	}
	t.Logf("nginx: requests answered per replica %v", served)
}

// scanForTestCards scans every file under dir, the test's artifacts (the logs of tokenwall,
// nginx, Vault, stripe-mock and PostgreSQL, the pg_dump dump, the audit export), for card
// numbers of any kind.
func scanForTestCards(t *testing.T, dir string) {
	t.Helper()
	found, err := testkit.ScanForCards(dir)
	if err != nil {
		t.Fatalf("scan %s: %v", dir, err)
	}
	for i, f := range found {
		if i == 10 {
			t.Errorf("... and %d more", len(found)-10)
			break
		}
		t.Errorf("card number written: %s", f)
	}
}

// checkNoTestCardInFiles looks for the test's card numbers, as digits and as the load sent
// them, in every file under dir: PostgreSQL's data folder, its tables and WAL. These binary
// files are searched for the test's own numbers only: a scan for any card number finds
// Luhn-valid digit runs in PostgreSQL's own structures (a catalog's byte lists).
func checkNoTestCardInFiles(t *testing.T, dir string) {
	t.Helper()
	needles := [][]byte{[]byte(eventCard)}
	for _, c := range allTestCards() {
		needles = append(needles, []byte(c))
	}
	files := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		for _, n := range needles {
			if bytes.Contains(b, n) {
				t.Errorf("%s holds a test card number ending %s", path, n[len(n)-4:])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("scan %s: %v", dir, err)
	}
	t.Logf("PostgreSQL's data folder: %d files searched for the test's card numbers", files)
}
