package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/devstack"
	"github.com/tokenwall/tokenwall/scrub"
	"github.com/tokenwall/tokenwall/store/pgtest"
	"github.com/tokenwall/tokenwall/testkit"
)

const (
	// containerReadyTimeout bounds the wait for a started container's /readyz.
	containerReadyTimeout = 60 * time.Second
	// containerShutdownGrace is listen.shutdown_grace in the containers' configuration.
	containerShutdownGrace = 5 * time.Second
	// containerStopTimeout is `podman stop --time`: SIGTERM, then SIGKILL after this long. It
	// leaves room past the shutdown grace for the final audit checkpoint.
	containerStopTimeout = containerShutdownGrace + 10*time.Second
	// containerCard is the test card posted through the container (Stripe's test Visa).
	containerCard = "4242424242424242"
)

// TestContainer builds the image from deploy/Dockerfile with Podman, offline (a static
// binary built here on a stand-in for distroless built FROM scratch), checks its
// configuration and files, and runs it as a platform team would: read-only root, user
// 65532, all capabilities dropped, a named volume on /var/lib/tokenwall, the host's network,
// against a real Vault dev server, stripe-mock, the demo billing app and, in the second run,
// PostgreSQL. Each run: /readyz answers 200, the process is tokenwall as 65532 without
// capabilities, the healthcheck reports healthy, a checkout through it gives the app a pm_
// token and never the card, SIGTERM (`podman stop`) with a request in flight lets the request
// finish and ends tokenwall with exit 0 within the grace, the audit trail verifies in a new
// container, and neither the volume nor the container's output holds a card number.
//
// Podman is required: the test fails, saying how to install it, when it is missing.
func TestContainer(t *testing.T) {
	artifacts := testkit.ArtifactsDir(t)
	for _, name := range []string{"vault", "stripe-mock"} {
		if _, err := devstack.BinPath(name); err != nil {
			t.Fatal(err)
		}
	}
	root, err := devstack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	p := newPodman(t, artifacts)

	start := time.Now()
	podmanBuild := buildImage(t, p, root)
	t.Logf("image built in %s (static go build and both podman builds; podman builds %s)",
		time.Since(start).Round(time.Millisecond), podmanBuild.Round(time.Millisecond))
	checkCanRun(t, p)

	t.Run("image", func(t *testing.T) {
		checkImageConfig(t, p)
		checkImageFiles(t, p)
		checkVersion(t, p)
		checkDockerfileStamps(t, root)
	})
	t.Run("dockerignore", func(t *testing.T) {
		checkDockerignore(t, p, root)
	})

	stack := startContainerStack(t, ctx, artifacts)
	t.Run("sqlite in the volume", func(t *testing.T) {
		res := runContainer(t, p, stack, containerRun{name: "sqlite", shutdownGrace: containerShutdownGrace})
		if _, err := os.Stat(filepath.Join(res.volume, "tokenwall.db")); err != nil {
			t.Errorf("the default store is not in the volume: %v", err)
		}
	})
	t.Run("postgres", func(t *testing.T) {
		pg := pgtest.StartT(t)
		dsn, err := pg.NewDatabase(ctx, "tokenwall")
		if err != nil {
			t.Fatal(err)
		}
		r := containerRun{name: "postgres", shutdownGrace: containerShutdownGrace, store: fmt.Sprintf("store: {driver: postgres, postgres_url: %q}\n", dsn)}
		res := runContainer(t, p, stack, r)
		dump, err := pg.Dump(ctx, "tokenwall")
		if err != nil {
			t.Fatal(err)
		}
		if res.token == "" || !strings.Contains(string(dump), res.token) {
			t.Errorf("the database dump holds no audit record of the token %q the app got", res.token)
		}
		scanContainerFiles(t, writeContainerArtifact(t, "postgres-dump.sql", dump))
	})
}

// checkCanRun runs a first container and fails the test, saying what to look at, when
// Podman cannot run containers here.
func checkCanRun(t *testing.T, p *podman) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), podmanCommandTimeout)
	defer cancel()
	if _, err := p.run(ctx, "run", "--rm", "--network", "none", testImage, "version"); err != nil {
		t.Fatalf("podman cannot run a container: %v\n"+
			"On this kind of machine it needs runc (crun refuses hybrid cgroups), cgroupfs and nofile/nproc "+
			"ulimits within the hard limits: see %s and README.md, \"Container image\"", err, p.conf)
	}
}

// containerResult is what a run leaves: the volume's folder on the host and the token the
// app got for the checkout.
type containerResult struct {
	volume, token string
}

// runContainer runs the image with r's configuration in a container named
// tokenwall-<r.name> with a fresh named volume, and checks it from start to stop (see
// TestContainer).
func runContainer(t *testing.T, p *podman, s *containerStack, r containerRun) containerResult {
	t.Helper()
	artifacts := testkit.ArtifactsDir(t)
	ports := freePorts(t, 2)
	r.port, r.adminPort = ports[0], ports[1]
	mounts, cert := r.mounts(t, s, artifacts)
	ctr, vol := "tokenwall-"+r.name, "tokenwall-data-"+r.name
	p.must(t, "volume", "create", vol)
	// What Kubernetes' restricted profile asks of a pod, as Podman says it.
	hardening := []string{
		"--read-only", "--read-only-tmpfs=false", "--user", imageUser,
		"--cap-drop", "all", "--security-opt", "no-new-privileges",
		"--network", "host", "--volume", vol + ":" + ctrDataDir,
	}
	start := time.Now()
	p.must(t, append(append(append([]string{"run", "--detach", "--name", ctr}, hardening...), mounts...), testImage)...)
	client := tlsClient(t, cert)
	base := "https://" + loopbackAddr(r.port)
	waitContainerReady(t, p, ctr, client, base)
	readyIn := time.Since(start)

	checkRunsAsNonRoot(t, p, ctr)
	checkAdminReady(t, r.adminPort)
	hcStart := time.Now()
	checkHealthy(t, p, ctr)
	hcIn := time.Since(hcStart)
	coStart := time.Now()
	token := checkContainerCheckout(t, s, client, base)
	coIn := time.Since(coStart)

	stopIn := stopContainer(t, p, s, client, base, ctr)
	logs := writeContainerArtifact(t, "container.log", p.combined(t, "logs", ctr))
	volume := p.must(t, "volume", "inspect", "--format", "{{.Mountpoint}}", vol)
	checkVolume(t, volume, artifacts)
	checkAuditVerifies(t, p, append(hardening, mounts...))
	scanContainerFiles(t, logs)
	scanContainerFiles(t, volume)
	t.Logf("%s: ready in %s, healthcheck %s, checkout %s, stopped in %s (grace %s)", r.name,
		readyIn.Round(time.Millisecond), hcIn.Round(time.Millisecond), coIn.Round(time.Millisecond),
		stopIn.Round(time.Millisecond), r.shutdownGrace)
	return containerResult{volume: volume, token: token}
}

// waitContainerReady polls the public /readyz until it answers 200, failing the test with
// the container's output (scrubbed) when the container exits or time runs out.
func waitContainerReady(t *testing.T, p *podman, ctr string, client *http.Client, base string) {
	t.Helper()
	deadline := time.Now().Add(containerReadyTimeout)
	for i := 0; ; i++ {
		resp, err := client.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		// Each podman call takes tens of milliseconds: look at the container every second.
		if i%20 == 19 {
			if st := p.must(t, "container", "inspect", "--format", "{{.State.Status}}", ctr); st != "running" {
				t.Fatalf("container %s is %s before /readyz answered 200; its output:\n%s", ctr, st, scrub.Text(p.combined(t, "logs", ctr)))
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz did not answer 200 within %s (last: %v); the container's output:\n%s",
				containerReadyTimeout, pollOutcome(resp, err), scrub.Text(p.combined(t, "logs", ctr)))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// pollOutcome describes the last answer of a poll: its status or the error.
func pollOutcome(resp *http.Response, err error) string {
	if err != nil {
		return err.Error()
	}
	return resp.Status
}

// checkRunsAsNonRoot reads the container's first process from the host's /proc: it is
// tokenwall, running as 65532, with no capabilities and a read-only root file system.
func checkRunsAsNonRoot(t *testing.T, p *podman, ctr string) {
	t.Helper()
	var info []struct {
		State      struct{ Pid int }
		HostConfig struct{ ReadonlyRootfs bool }
	}
	if err := json.Unmarshal([]byte(p.must(t, "container", "inspect", ctr)), &info); err != nil || len(info) != 1 {
		t.Fatalf("podman container inspect: %v", err)
	}
	if !info[0].HostConfig.ReadonlyRootfs {
		t.Error("the container's root file system is not read-only")
	}
	status, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(info[0].State.Pid), "status"))
	if err != nil {
		t.Fatalf("the container's process: %v", err)
	}
	want := map[string]string{"Name": "tokenwall", "Uid": "65532\t65532\t65532\t65532", "Gid": "65532\t65532\t65532\t65532",
		"CapEff": "0000000000000000", "CapPrm": "0000000000000000", "NoNewPrivs": "1"}
	for _, line := range strings.Split(string(status), "\n") {
		k, v, _ := strings.Cut(line, ":")
		if w, ok := want[k]; ok {
			if v = strings.TrimSpace(v); v != w {
				t.Errorf("container process %s: %q; want %q", k, v, w)
			}
			delete(want, k)
		}
	}
	if len(want) > 0 {
		t.Errorf("container process status lacks %v", want)
	}
}

// checkAdminReady checks /readyz on the admin listener, which the healthcheck calls.
func checkAdminReady(t *testing.T, port int) {
	t.Helper()
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + loopbackAddr(port) + "/readyz")
	if err != nil {
		t.Fatalf("admin /readyz: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("admin /readyz answered %s; want 200", resp.Status)
	}
}

// checkHealthy runs the image's HEALTHCHECK once (`podman healthcheck run`; without systemd
// Podman has no timer to run it every interval) and checks that the container's health
// status becomes healthy.
func checkHealthy(t *testing.T, p *podman, ctr string) {
	t.Helper()
	if out := p.must(t, "healthcheck", "run", ctr); out != "" && out != "healthy" {
		t.Errorf("podman healthcheck run printed %q", out)
	}
	if st := p.must(t, "container", "inspect", "--format", "{{.State.Health.Status}}", ctr); st != "healthy" {
		t.Errorf("health status %q after a passing healthcheck; want healthy", st)
	}
}

// checkContainerCheckout posts the checkout form with a card through the container: the
// customer gets the app's page with the saved card, and the app gets one signed post with a
// pm_ token in place of the card fields. It returns the token.
func checkContainerCheckout(t *testing.T, s *containerStack, client *http.Client, base string) string {
	t.Helper()
	before := len(s.app.Received())
	form := url.Values{
		"card_name": {"Ada Lovelace"}, "card_number": {"4242 4242 4242 4242"}, "card_exp": {"12/34"}, "card_cvc": {"123"},
		"order_id": {"1001"}, "amount": {"19.99"}, "currency": {"EUR"},
	}
	resp, err := client.PostForm(base+"/checkout/submit", form)
	if err != nil {
		t.Fatalf("checkout through the container: %v", err)
	}
	page, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "pm_") {
		t.Errorf("checkout answered %s without a pm_ token in the page:\n%s", resp.Status, scrub.Text(page))
	}
	got := s.app.Received()[before:]
	if len(got) != 1 || got[0].Path != "/checkout/submit" {
		t.Fatalf("the app received %d bodies; want exactly one POST /checkout/submit", len(got))
	}
	if !got[0].SignatureValid {
		t.Error("the app could not verify tokenwall's signature on the checkout post")
	}
	assertNoCard(t, got[0].Body, containerCard)
	f, err := url.ParseQuery(got[0].Body)
	if token := f.Get("payment_method"); err == nil && strings.HasPrefix(token, "pm_") {
		return token
	}
	t.Errorf("the app got no payment_method=pm_… (%v): %s", err, scrub.Text([]byte(got[0].Body)))
	return ""
}

// stopContainer stops the container as an orchestrator does (SIGTERM, SIGKILL after
// containerStopTimeout) while a request is in flight, and checks that the request is
// answered and that tokenwall, PID 1, exited 0 by itself in time. It returns how long the
// stop took.
func stopContainer(t *testing.T, p *podman, s *containerStack, client *http.Client, base, ctr string) time.Duration {
	t.Helper()
	type answer struct {
		status int
		body   string
		err    error
	}
	inflight := make(chan answer, 1)
	go func() {
		resp, err := client.Get(base + slowPath)
		if err != nil {
			inflight <- answer{err: err}
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		inflight <- answer{status: resp.StatusCode, body: string(b), err: err}
	}()
	select {
	case <-s.slowStarted:
	case a := <-inflight:
		t.Fatalf("GET %s answered before it reached the app: %d %v", slowPath, a.status, a.err)
	case <-time.After(10 * time.Second):
		t.Fatalf("GET %s did not reach the app within 10s", slowPath)
	}
	start := time.Now()
	p.must(t, "stop", "--time", strconv.Itoa(int(containerStopTimeout.Seconds())), ctr)
	took := time.Since(start)
	state := p.must(t, "container", "inspect", "--format", "{{.State.Status}} {{.State.ExitCode}} {{.State.OOMKilled}}", ctr)
	if state != "exited 0 false" {
		t.Errorf("after SIGTERM the container is %q (status, exit code, OOM killed); want \"exited 0 false\"", state)
	}
	if took >= containerStopTimeout {
		t.Errorf("podman stop took %s: tokenwall did not exit within %s of SIGTERM", took, containerStopTimeout)
	}
	if a := <-inflight; a.err != nil || a.status != http.StatusOK || a.body != slowBody {
		t.Errorf("the request in flight at SIGTERM got %d %q, %v; want 200 and the app's answer", a.status, a.body, a.err)
	}
	return took
}

// checkVolume checks that everything tokenwall left in the volume is 65532's, and copies it
// into artifacts/volume for inspection.
func checkVolume(t *testing.T, volume, artifacts string) {
	t.Helper()
	dst := filepath.Join(artifacts, "volume")
	if err := os.RemoveAll(dst); err != nil {
		t.Fatal(err)
	}
	var names []string
	err := filepath.WalkDir(volume, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(volume, path)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if st := fi.Sys().(*syscall.Stat_t); st.Uid != 65532 || st.Gid != 65532 {
			t.Errorf("volume %s: owner %d:%d; want 65532:65532", rel, st.Uid, st.Gid)
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		names = append(names, rel)
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatalf("volume: %v", err)
	}
	t.Logf("volume holds %v", names)
}

// checkAuditVerifies runs `tokenwall audit verify` in a new container of the image with the
// same volume, configuration and restrictions: the trail the stopped container wrote checks
// out, final checkpoint included.
func checkAuditVerifies(t *testing.T, p *podman, runArgs []string) {
	t.Helper()
	args := append(append([]string{"run", "--rm"}, runArgs...), testImage, "audit", "verify", "--config", ctrConfig)
	if out := p.must(t, args...); !strings.Contains(out, "audit trail OK") {
		t.Errorf("tokenwall audit verify in a container: %s", scrub.Text([]byte(out)))
	}
}

// writeContainerArtifact writes b to name in the test's artifacts folder and returns its path.
func writeContainerArtifact(t *testing.T, name string, b []byte) string {
	t.Helper()
	path := filepath.Join(testkit.ArtifactsDir(t), name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// scanContainerFiles fails the test for every card number, or the test card's CVC next to its
// name, in the files under path.
func scanContainerFiles(t *testing.T, path string) {
	t.Helper()
	found, err := testkit.ScanForCards(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range found {
		t.Errorf("card number written: %s", f)
	}
	err = filepath.WalkDir(path, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		if err == nil && cvcWritten.Match(b) {
			t.Errorf("%s holds the test card's CVC next to its name", p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
