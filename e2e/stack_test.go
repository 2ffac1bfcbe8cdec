package e2e_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/devstack"
	"github.com/tokenwall/tokenwall/scrub"
	"github.com/tokenwall/tokenwall/testkit"
)

const (
	// readyTimeout bounds the wait for `tokenwall-dev` to print its checkout line: it starts
	// Vault and stripe-mock, provisions secrets and starts the app and the proxy.
	readyTimeout = 60 * time.Second
	// stopTimeout bounds the wait for `tokenwall-dev` to exit after SIGTERM.
	stopTimeout = 30 * time.Second
)

// checkoutLine is what `tokenwall-dev` prints once everything is up.
var checkoutLine = regexp.MustCompile(`(?m)^tokenwall: checkout at (https://\S+)/checkout$`)

// devStack is one running `tokenwall-dev` process and the ports it was given.
type devStack struct {
	// Data is the --data folder: logs, TLS certificate, the Vault token.
	Data string
	// Port, AppPort and AdminPort are tokenwall's, the billing app's and the admin port;
	// WidgetPort serves the checkout's third-party script (its second origin).
	Port, AppPort, AdminPort, WidgetPort int
	// BaseURL is tokenwall's public address, https://127.0.0.1:Port.
	BaseURL string

	cmd     *exec.Cmd
	out     *outputWatcher
	done    chan struct{} // closed once the process has exited and been reaped
	waitErr error         // what cmd.Wait returned; read only after done is closed
}

// startDevStack builds tokenwall, starts `tokenwall-dev` on free loopback ports with its data
// folder under the test's artifacts folder, and waits for the checkout line. t.Cleanup stops
// the process if the test has not. extra are further flags of tokenwall-dev.
func startDevStack(t *testing.T, extra ...string) *devStack {
	t.Helper()
	for _, name := range []string{"vault", "stripe-mock"} {
		if _, err := devstack.BinPath(name); err != nil {
			t.Fatalf("%v", err)
		}
	}
	bin := buildCommand(t, "tokenwall-dev")

	data := filepath.Join(testkit.ArtifactsDir(t), "dev")
	// A fresh folder: tokenwall.log is opened for appending and would keep an earlier run.
	if err := os.RemoveAll(data); err != nil {
		t.Fatal(err)
	}
	ports := freePorts(t, 4)
	s := &devStack{
		Data: data, Port: ports[0], AppPort: ports[1], AdminPort: ports[2], WidgetPort: ports[3],
		BaseURL: "https://127.0.0.1:" + strconv.Itoa(ports[0]),
		done:    make(chan struct{}),
		out: &outputWatcher{
			log:   testkit.LogFile(t, "tokenwall-dev.log"),
			ready: make(chan struct{}),
		},
	}
	root, err := devstack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	s.cmd = exec.Command(bin, append([]string{
		"--port", strconv.Itoa(s.Port),
		"--app-port", strconv.Itoa(s.AppPort),
		"--admin-port", strconv.Itoa(s.AdminPort),
		"--widget-port", strconv.Itoa(s.WidgetPort),
		"--data", data}, extra...)...)
	s.cmd.Dir = root
	s.cmd.Stdout = s.out
	s.cmd.Stderr = s.out
	// Should the test binary die, the kernel kills tokenwall-dev, whose own children die with
	// it the same way (devstack sets Pdeathsig on them too).
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	s.cmd.WaitDelay = 5 * time.Second
	if err := s.start(); err != nil {
		t.Fatalf("start tokenwall-dev: %v", err)
	}
	t.Cleanup(func() {
		if s.exited() {
			return
		}
		if err := s.stop(stopTimeout); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})

	select {
	case <-s.out.ready:
	case <-s.done:
		t.Fatalf("tokenwall-dev exited before it was ready (%v); output:\n%s", s.waitErr, s.out.scrubbed())
	case <-time.After(readyTimeout):
		t.Fatalf("tokenwall-dev printed no checkout line within %s; output:\n%s", readyTimeout, s.out.scrubbed())
	}
	if got, want := s.out.checkoutURL(), s.BaseURL; got != want {
		t.Fatalf("tokenwall-dev announced the checkout at %s/checkout; want %s/checkout", got, want)
	}
	return s
}

// start starts the process from a goroutine that stays on its OS thread until the process has
// exited: Pdeathsig fires when the thread that started the child ends, not the process.
func (s *devStack) start() error {
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := s.cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		s.waitErr = s.cmd.Wait()
		s.out.flush()
		close(s.done)
	}()
	return <-started
}

// Pid is the process id of `tokenwall-dev`.
func (s *devStack) Pid() int { return s.cmd.Process.Pid }

func (s *devStack) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// terminate sends SIGTERM and waits up to timeout for the process to exit. It returns the
// process's Wait error (nil for exit status 0), or an error when it did not exit in time.
func (s *devStack) terminate(timeout time.Duration) (waitErr error, err error) {
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return nil, fmt.Errorf("SIGTERM tokenwall-dev: %w", err)
	}
	select {
	case <-s.done:
		return s.waitErr, nil
	case <-time.After(timeout):
		return nil, fmt.Errorf("tokenwall-dev (pid %d) still running %s after SIGTERM", s.Pid(), timeout)
	}
}

// stop ends the process: SIGTERM, then SIGKILL when it does not exit in time.
func (s *devStack) stop(timeout time.Duration) error {
	if _, err := s.terminate(timeout); err == nil {
		return nil
	}
	_ = s.cmd.Process.Kill()
	select {
	case <-s.done:
		return fmt.Errorf("tokenwall-dev did not exit within %s of SIGTERM; killed it", timeout)
	case <-time.After(10 * time.Second):
		return fmt.Errorf("tokenwall-dev (pid %d) survived SIGKILL", s.Pid())
	}
}

// Output returns everything the process printed so far, as printed. Keep it in memory:
// write or print only Scrubbed.
func (s *devStack) Output() []byte { return s.out.raw() }

// Scrubbed returns the process's output with card numbers masked, fit for a failure message.
func (s *devStack) Scrubbed() string { return s.out.scrubbed() }

// Client returns an HTTPS client that trusts exactly the dev stack's self-signed certificate,
// which `tokenwall-dev` writes to <data>/tls/cert.pem.
func (s *devStack) Client(t *testing.T) *http.Client {
	t.Helper()
	pemBytes, err := os.ReadFile(filepath.Join(s.Data, "tls", "cert.pem"))
	if err != nil {
		t.Fatalf("dev certificate: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		t.Fatal("dev certificate: no certificate in cert.pem")
	}
	tr := &http.Transport{
		Proxy:             nil,
		TLSClientConfig:   &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		DisableKeepAlives: true, // no connection left open to slow the shutdown
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// buildTokenwall builds ./cmd/tokenwall, the production binary, into a temporary folder and
// returns its path.
func buildTokenwall(t *testing.T) string {
	t.Helper()
	return buildCommand(t, "tokenwall")
}

// buildCommand builds ./cmd/NAME into a temporary folder and returns the binary's path.
func buildCommand(t *testing.T, name string) string {
	t.Helper()
	root, err := devstack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), name)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/"+name)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/%s: %v\n%s", name, err, out)
	}
	return bin
}

// freePorts returns n distinct free loopback ports.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	seen := map[int]bool{}
	var ports []int
	for len(ports) < n {
		p, err := devstack.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		if !seen[p] {
			seen[p] = true
			ports = append(ports, p)
		}
	}
	return ports
}

// outputWatcher receives the stdout and stderr of `tokenwall-dev`. It keeps the raw output in
// memory, so that the test can assert no card was printed, copies it line by line, scrubbed,
// to a log file, and signals when the checkout line appears.
type outputWatcher struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	logged int       // how much of buf has gone to log
	log    io.Writer // scrubbed copy
	ready  chan struct{}
	url    string // base URL from the checkout line, once seen
}

func (w *outputWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	// Whole lines only, so that a card number split across two writes is still scrubbed.
	if i := bytes.LastIndexByte(w.buf.Bytes()[w.logged:], '\n'); i >= 0 {
		end := w.logged + i + 1
		_, _ = w.log.Write(scrub.Text(w.buf.Bytes()[w.logged:end]))
		w.logged = end
	}
	if w.url == "" {
		if m := checkoutLine.FindSubmatch(w.buf.Bytes()); m != nil {
			w.url = string(m[1])
			close(w.ready)
		}
	}
	return len(p), nil
}

// flush copies a last line that has no newline to the log.
func (w *outputWatcher) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.logged < w.buf.Len() {
		_, _ = w.log.Write(scrub.Text(w.buf.Bytes()[w.logged:]))
		w.logged = w.buf.Len()
	}
}

func (w *outputWatcher) checkoutURL() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.url
}

func (w *outputWatcher) raw() []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return bytes.Clone(w.buf.Bytes())
}

func (w *outputWatcher) scrubbed() string { return string(scrub.Text(w.raw())) }

// proc is one process found in /proc.
type proc struct {
	Pid, PPid int
	Comm      string
	Cwd       string
}

func (p proc) String() string {
	return fmt.Sprintf("pid %d (%s, parent %d, in %s)", p.Pid, p.Comm, p.PPid, p.Cwd)
}

// processesIn lists the processes whose working directory is dir or below it. `tokenwall-dev`
// runs Vault in <data>/vault and stripe-mock in <data>/stripe-mock, so this finds them
// whatever their addresses, and nothing of another test or stack.
func processesIn(dir string) ([]proc, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var out []proc
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cwd, err := os.Readlink(filepath.Join("/proc", e.Name(), "cwd"))
		if err != nil {
			continue // gone, a zombie, or a kernel thread
		}
		if !within(cwd, dir) {
			continue
		}
		p := proc{Pid: pid, Cwd: cwd}
		if stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil {
			p.Comm, p.PPid = parseStat(stat)
		}
		out = append(out, p)
	}
	return out, nil
}

// within reports whether path is dir or lies below it.
func within(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

// parseStat reads the command name and the parent pid from /proc/PID/stat:
// "pid (comm) state ppid …", where comm may itself hold spaces and parentheses.
func parseStat(stat []byte) (comm string, ppid int) {
	open, closing := bytes.IndexByte(stat, '('), bytes.LastIndexByte(stat, ')')
	if open < 0 || closing < open {
		return "", 0
	}
	comm = string(stat[open+1 : closing])
	fields := bytes.Fields(stat[closing+1:])
	if len(fields) >= 2 {
		ppid, _ = strconv.Atoi(string(fields[1]))
	}
	return comm, ppid
}

// refused reports whether a TCP connection to 127.0.0.1:port is refused.
func refused(port int) error {
	conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), 2*time.Second)
	if err == nil {
		conn.Close()
		return fmt.Errorf("port %d still accepts connections", port)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("port %d: want connection refused, got %w", port, err)
	}
	return nil
}
