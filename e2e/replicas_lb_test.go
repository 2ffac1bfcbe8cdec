package e2e_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/devstack"
)

// loadBalancer is a running nginx in front of the replicas.
type loadBalancer struct {
	// Port is where it listens for HTTPS on 127.0.0.1.
	Port int
	// Log is the file its stdout and stderr (access and error log) go to.
	Log string

	cmd  *exec.Cmd
	done chan struct{} // closed once nginx has exited and been reaped
}

// lbFiles are the files nginx is given in place of the compose stack's.
type lbFiles struct {
	cert, key string // its own server certificate and key
	ca        string // the CA that signed the replicas' certificate
}

// nginxBin finds Debian's nginx, which lives in /usr/sbin (not on a non-root PATH).
func nginxBin(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/nginx"); err == nil {
		return "/usr/sbin/nginx"
	}
	t.Fatal("nginx is not installed: apt-get install -y nginx (.ci/run installs it when missing)")
	return ""
}

// startLoadBalancer runs deploy/compose/nginx.conf, the compose stack's load balancer, with
// Debian's nginx on 127.0.0.1:port in front of the replicas on replicaPorts. Only the addresses
// and file names change; the test fails if the file no longer has them, so that the two stay
// one configuration. nginx stops when the test ends.
func startLoadBalancer(t *testing.T, dir string, port int, replicaPorts []int, f lbFiles) *loadBalancer {
	t.Helper()
	bin := nginxBin(t)
	root, err := devstack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join(root, "deploy", "compose", "nginx.conf"))
	if err != nil {
		t.Fatal(err)
	}
	conf := string(src)
	for _, r := range []struct{ from, to string }{
		{"server tokenwall-1:8443 ", "server 127.0.0.1:" + strconv.Itoa(replicaPorts[0]) + " "},
		{"server tokenwall-2:8443 ", "server 127.0.0.1:" + strconv.Itoa(replicaPorts[1]) + " "},
		{"listen 8443 ssl;", "listen 127.0.0.1:" + strconv.Itoa(port) + " ssl;"},
		{"/run/secrets/lb-tls-cert;", f.cert + ";"},
		{"/run/secrets/lb-tls-key;", f.key + ";"},
		{"/etc/tokenwall/ca.pem;", f.ca + ";"},
	} {
		if n := strings.Count(conf, r.from); n != 1 {
			t.Fatalf("deploy/compose/nginx.conf has %q %d times, want once: keep the test's replacements in step with it", r.from, n)
		}
		conf = strings.Replace(conf, r.from, r.to, 1)
	}
	ndir := filepath.Join(dir, "nginx")
	if err := os.MkdirAll(ndir, 0o755); err != nil {
		t.Fatal(err)
	}
	confFile := filepath.Join(ndir, "nginx.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	lb := &loadBalancer{Port: port, Log: filepath.Join(ndir, "nginx.log"), done: make(chan struct{})}
	logf, err := os.OpenFile(lb.Log, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = logf.Close() })
	// -e: errors before the configuration is read go to stderr too, not to Debian's
	// /var/log/nginx/error.log. The pid file is ours; daemon off keeps nginx our child.
	lb.cmd = exec.Command(bin, "-p", ndir, "-c", confFile, "-e", "stderr",
		"-g", "daemon off; pid "+filepath.Join(ndir, "nginx.pid")+";")
	lb.cmd.Stdout, lb.cmd.Stderr = logf, logf
	lb.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := startLocked(lb.cmd, lb.done); err != nil {
		t.Fatalf("start nginx: %v", err)
	}
	t.Cleanup(func() { lb.stop(t) })
	return lb
}

// stop asks nginx for a fast shutdown (SIGTERM) and kills its process group when it does not
// exit in time.
func (lb *loadBalancer) stop(t *testing.T) {
	select {
	case <-lb.done:
		return
	default:
	}
	_ = lb.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-lb.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-lb.cmd.Process.Pid, syscall.SIGKILL)
		<-lb.done
		t.Errorf("nginx did not stop within 10 s of SIGTERM; killed it")
	}
}

// exited reports whether nginx has exited.
func (lb *loadBalancer) exited() bool {
	select {
	case <-lb.done:
		return true
	default:
		return false
	}
}

// startLocked starts cmd from a goroutine that stays on its OS thread until the process has
// exited (Pdeathsig fires when the starting thread ends), and closes done once it is reaped.
func startLocked(cmd *exec.Cmd, done chan struct{}) error {
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		_ = cmd.Wait()
		close(done)
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("%s: %w", filepath.Base(cmd.Path), err)
	}
	if cmd.Process == nil {
		return errors.New("no process")
	}
	return nil
}
