package e2e_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/testkit"
)

// podmanInstall is what a machine without Podman needs, as .ci/run installs it.
const podmanInstall = "apt-get install -y podman uidmap slirp4netns passt fuse-overlayfs runc catatonit " +
	"(the .ci/run script installs them when missing)"

// podmanCommandTimeout bounds one Podman command; builds and runs here take seconds.
const podmanCommandTimeout = 2 * time.Minute

// maxNproc caps the nproc ulimit given to containers: conmon, the container's parent, runs
// with a hard process limit of 32768 here whatever the caller's (measured: 32769 fails with
// "error setting rlimit type 6: operation not permitted").
const maxNproc = 32768

// podman runs Podman against storage of its own: images, containers and volumes live under a
// temporary folder that the test removes, never in the machine's /var/lib/containers, so
// that nothing is left behind and two runs never share a name. Every command goes through
// the settings in containersConf (CONTAINERS_CONF); nothing system-wide is changed.
type podman struct {
	bin                   string
	conf                  string // the containers.conf written for this test
	root, runroot, tmpdir string
	log                   io.Writer // each command, its exit and its stderr
}

// containersConf is the containers.conf the test runs Podman with, for this machine's
// sandbox (README.md, "Container image", says why each line is there):
//   - runc: crun refuses the hybrid cgroup v1/v2 layout ("cgroups in hybrid mode not
//     supported"); runc runs on it.
//   - cgroupfs: there is no systemd to ask for cgroups (set rather than left to Podman's
//     fallback, which warns on every command).
//   - default_ulimits: a root container gets nofile and nproc 1048576 by default, and root
//     here lacks CAP_SYS_RESOURCE to go past the hard limits (runc: "error setting rlimit type
//     7: operation not permitted"), so both are set at the hard limits: nofile at this
//     process's, nproc at conmon's (maxNproc).
//   - events_logger = "file": there is no journald (likewise).
func containersConf(nofile, nproc uint64) string {
	return fmt.Sprintf(`# Written by e2e/container_test.go for this test's Podman commands (CONTAINERS_CONF).
[containers]
default_ulimits = ["nofile=%d:%d", "nproc=%d:%d"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
`, nofile, nofile, nproc, nproc)
}

// newPodman finds podman and runc, writes the containers.conf into the test's artifacts
// (it holds no secret) and checks that Podman answers with it. It fails the test, saying how
// to install them, when either is missing. t.Cleanup removes every container, volume and
// image, then the storage folder.
func newPodman(t *testing.T, artifacts string) *podman {
	t.Helper()
	bin, err := exec.LookPath("podman")
	if err != nil {
		t.Fatalf("podman not found: %s", podmanInstall)
	}
	if _, err := exec.LookPath("runc"); err != nil {
		t.Fatalf("runc not found (Podman's crun cannot run containers on this machine's cgroup layout): %s", podmanInstall)
	}
	nofile, nproc, err := hardLimits()
	if err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(artifacts, "containers.conf")
	// Podman's own default (1048576) is the most either needs.
	nofile, nproc = min(nofile, 1<<20), min(nproc, maxNproc)
	if err := os.WriteFile(conf, []byte(containersConf(nofile, nproc)), 0o644); err != nil {
		t.Fatal(err)
	}
	log := testkit.LogFile(t, "podman-commands.log")
	sweepPodmanStores(t, bin, conf, log)
	// Under /var/tmp rather than /tmp: a tmpfs /tmp may not take overlay's upper layers.
	store, err := os.MkdirTemp("/var/tmp", podmanStorePrefix)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(store, podmanOwnerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		t.Fatal(err)
	}
	p := podmanIn(bin, conf, store, log)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), podmanCommandTimeout)
		defer cancel()
		if err := p.removeStore(ctx, store); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	ctx, cancel := context.WithTimeout(t.Context(), podmanCommandTimeout)
	defer cancel()
	out, err := p.run(ctx, "info", "--format", "{{.Host.OCIRuntime.Name}} {{.Host.CgroupManager}} {{.Store.GraphDriverName}}")
	if err != nil {
		t.Fatalf("podman does not work with %s: %v", conf, err)
	}
	t.Logf("podman: %s (runtime, cgroup manager, storage driver); storage in %s", strings.TrimSpace(string(out)), store)
	return p
}

// podmanStorePrefix names each test's storage folder under /var/tmp; podmanOwnerFile in it
// holds the pid of the test process that made it.
const (
	podmanStorePrefix = "tokenwall-podman-"
	podmanOwnerFile   = "owner.pid"
)

// podmanIn is podman with its storage in the folder store.
func podmanIn(bin, conf, store string, log io.Writer) *podman {
	return &podman{
		bin: bin, conf: conf, log: log,
		root: filepath.Join(store, "root"), runroot: filepath.Join(store, "run"), tmpdir: filepath.Join(store, "tmp"),
	}
}

// removeStore removes every container (stopping it), volume and image of p, then the folder
// store: containers first, as they hold the volumes and the image, so that no overlay mount
// is left under the folder.
func (p *podman) removeStore(ctx context.Context, store string) error {
	var errs []error
	for _, args := range [][]string{{"rm", "--all", "--force", "--time", "0"}, {"volume", "rm", "--all", "--force"}, {"rmi", "--all", "--force"}} {
		if _, err := p.run(ctx, args...); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(append(errs, os.RemoveAll(store))...)
}

// sweepPodmanStores removes the storage folders (and stops the containers) of test processes
// that died before their cleanup ran: a container outlives a killed test, since conmon, not
// the test, is its parent.
func sweepPodmanStores(t *testing.T, bin, conf string, log io.Writer) {
	t.Helper()
	stores, _ := filepath.Glob(filepath.Join("/var/tmp", podmanStorePrefix+"*"))
	for _, store := range stores {
		b, err := os.ReadFile(filepath.Join(store, podmanOwnerFile))
		if err != nil {
			continue // being created, or not ours
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 {
			continue
		}
		if err := syscall.Kill(pid, 0); err == nil || errors.Is(err, syscall.EPERM) {
			continue // its test still runs
		}
		ctx, cancel := context.WithTimeout(t.Context(), podmanCommandTimeout)
		err = podmanIn(bin, conf, store, log).removeStore(ctx, store)
		cancel()
		if err != nil {
			t.Logf("podman storage %s left by pid %d: %v", store, pid, err)
			continue
		}
		t.Logf("removed podman storage %s left by pid %d", store, pid)
	}
}

// hardLimits returns the hard limits of open files and of processes of this process, which a
// container cannot be given more of.
func hardLimits() (nofile, nproc uint64, err error) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, 0, fmt.Errorf("nofile limit: %w", err)
	}
	nofile = rl.Max
	// The syscall package has no RLIMIT_NPROC; /proc/self/limits has it.
	f, err := os.Open("/proc/self/limits")
	if err != nil {
		return 0, 0, fmt.Errorf("process limit: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// "Max processes             96362                96362                processes"
		rest, ok := strings.CutPrefix(sc.Text(), "Max processes")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) < 2 {
			break
		}
		if fields[1] == "unlimited" {
			return nofile, maxNproc, nil
		}
		nproc, err = strconv.ParseUint(fields[1], 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("process limit %q: %w", fields[1], err)
		}
		return nofile, nproc, nil
	}
	return 0, 0, errors.New("process limit: no \"Max processes\" line in /proc/self/limits")
}

// command is a podman command with this test's storage and containers.conf.
func (p *podman) command(ctx context.Context, args ...string) *exec.Cmd {
	global := []string{"--root", p.root, "--runroot", p.runroot, "--tmpdir", p.tmpdir}
	cmd := exec.CommandContext(ctx, p.bin, append(global, args...)...)
	cmd.Env = append(os.Environ(), "CONTAINERS_CONF="+p.conf)
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// run runs a podman command and returns its stdout. Its stderr goes to the command log and,
// on failure, into the error. Podman prints errors about healthcheck timers it cannot create
// without systemd; they do not fail a command.
func (p *podman) run(ctx context.Context, args ...string) ([]byte, error) {
	cmd := p.command(ctx, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	fmt.Fprintf(p.log, "$ podman %s\n%s# exit %v after %s\n", strings.Join(args, " "), stderr.Bytes(), exitOf(err), time.Since(start).Round(time.Millisecond))
	if err != nil {
		return stdout.Bytes(), fmt.Errorf("podman %s: %w\n%s", strings.Join(args, " "), err, bytes.TrimSpace(stderr.Bytes()))
	}
	return stdout.Bytes(), nil
}

// must runs a podman command within podmanCommandTimeout and fails the test when it fails.
func (p *podman) must(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), podmanCommandTimeout)
	defer cancel()
	out, err := p.run(ctx, args...)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

// combined runs a podman command and returns its stdout and stderr together, as `podman
// logs` prints a container's two streams. It fails the test when the command fails.
func (p *podman) combined(t *testing.T, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), podmanCommandTimeout)
	defer cancel()
	out, err := p.command(ctx, args...).CombinedOutput()
	fmt.Fprintf(p.log, "$ podman %s\n# exit %v, %d bytes of output\n", strings.Join(args, " "), exitOf(err), len(out))
	if err != nil {
		t.Fatalf("podman %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// exitOf prints a command's outcome for the log: 0, the exit status, or the error.
func exitOf(err error) string {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return "0"
	case errors.As(err, &ee):
		return strconv.Itoa(ee.ExitCode())
	default:
		return err.Error()
	}
}
