package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tokenwall/tokenwall/app"
	"github.com/tokenwall/tokenwall/config"
	"github.com/tokenwall/tokenwall/devstack"
	"github.com/tokenwall/tokenwall/scrub"
	"github.com/tokenwall/tokenwall/vault"
)

// Cores: the servers on one, the load generators on the other.
const (
	serverCPU = "1"
	loadCPU   = "0"
)

// server is one process the harness started.
type server struct {
	name string
	cmd  *exec.Cmd
	// url is the base URL clients use; admin, when set, where its allocation count is read.
	url, admin string
	// pids returns the processes whose RSS adds up to the server's (nginx: master and worker).
	pids func() []int
}

// stack is everything the run starts, in a temp dir, and how to stop it.
type stack struct {
	dir, logs       string
	cert, key       string
	pin             bool
	upstream        *server
	bare, nginx, tw *server
	vault           *devstack.Vault
	stripe          *devstack.StripeMock
	stripeKey       string
	stops           []func() error
	selfBin         string
	// h2rate is the last HTTP/2 rate measured per URL, which sizes the next h2load run.
	h2rate map[string]float64
}

// targets are the three proxies measured, in a fixed order.
func (st *stack) targets() []*server { return []*server{st.nginx, st.bare, st.tw} }

// close stops what was started, last first.
func (st *stack) close() error {
	var err error
	for i := len(st.stops) - 1; i >= 0; i-- {
		err = errors.Join(err, st.stops[i]())
	}
	st.stops = nil
	return err
}

// logFile creates a log file in the logs folder, written through the scrub writer (the
// children print no card, and this keeps it so).
func (st *stack) logFile(name string) (io.Writer, error) {
	f, err := os.OpenFile(filepath.Join(st.logs, name), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	st.stops = append(st.stops, f.Close)
	return scrub.NewWriter(f), nil
}

// freeAddr is a free 127.0.0.1 port, as host:port.
func freeAddr() (string, error) {
	p, err := devstack.FreePort()
	if err != nil {
		return "", err
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(p)), nil
}

// pinned wraps a command in taskset on cpu when pinning is on.
func pinned(pin bool, cpu string, name string, args ...string) *exec.Cmd {
	if !pin {
		return exec.Command(name, args...)
	}
	return exec.Command("taskset", append([]string{"-c", cpu, name}, args...)...)
}

// startProc starts a server process pinned to the server core, logging to logs/<name>.log.
// taskset execs the command, so the process keeps its pid.
func (st *stack) startProc(name string, bin string, args ...string) (*exec.Cmd, error) {
	w, err := st.logFile(name + ".log")
	if err != nil {
		return nil, err
	}
	cmd := pinned(st.pin, serverCPU, bin, args...)
	cmd.Stdout, cmd.Stderr = w, w
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	st.stops = append(st.stops, func() error { return stopProc(cmd) })
	return cmd, nil
}

// stopProc sends SIGTERM to the process group, then SIGKILL after 10 s.
func stopProc(cmd *exec.Cmd) error {
	pgid := cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-done
	}
	return nil
}

// startStack starts the upstream, the Vault dev server, stripe-mock (behind its scenario
// front), the bare proxy, nginx and `tokenwall serve`.
func startStack(ctx context.Context, dir string, pin bool) (st *stack, err error) {
	st = &stack{dir: dir, logs: filepath.Join(dir, "logs"), pin: pin, h2rate: map[string]float64{}}
	defer func() {
		if err != nil {
			err = errors.Join(err, st.close())
		}
	}()
	for _, d := range []string{st.logs, filepath.Join(dir, "tls"), filepath.Join(dir, "vault"), filepath.Join(dir, "stripe-mock"), filepath.Join(dir, "nginx")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	if st.selfBin, err = os.Executable(); err != nil {
		return nil, err
	}
	if st.cert, st.key, err = devstack.WriteSelfSignedCert(filepath.Join(dir, "tls")); err != nil {
		return nil, err
	}
	if err := st.startUpstream(ctx); err != nil {
		return nil, err
	}
	if err := st.startBare(ctx); err != nil {
		return nil, err
	}
	if err := st.startNginx(ctx); err != nil {
		return nil, err
	}
	if err := st.startDevServers(ctx); err != nil {
		return nil, err
	}
	if err := st.startTokenwall(ctx); err != nil {
		return nil, err
	}
	return st, nil
}

func (st *stack) startUpstream(ctx context.Context) error {
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	cmd, err := st.startProc("upstream", st.selfBin, roleUpstream, "-addr", addr)
	if err != nil {
		return err
	}
	st.upstream = &server{name: "upstream", cmd: cmd, url: "http://" + addr, pids: pidsOf(cmd)}
	return waitReady(ctx, st.client(), st.upstream.url+"/")
}

func (st *stack) startBare(ctx context.Context) error {
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	admin, err := freeAddr()
	if err != nil {
		return err
	}
	cmd, err := st.startProc("bare", st.selfBin, roleBare, "-addr", addr, "-admin", admin,
		"-upstream", st.upstream.url, "-cert", st.cert, "-key", st.key)
	if err != nil {
		return err
	}
	st.bare = &server{name: "bare Go", cmd: cmd, url: "https://" + addr, admin: "http://" + admin + "/mallocs", pids: pidsOf(cmd)}
	return waitReady(ctx, st.client(), st.bare.url+"/")
}

// startDevServers starts Vault and stripe-mock; the harness has pinned itself to the server
// core, and they inherit it.
func (st *stack) startDevServers(ctx context.Context) error {
	vlog, err := st.logFile("vault.log")
	if err != nil {
		return err
	}
	if st.vault, err = devstack.StartVault(ctx, devstack.Options{Dir: filepath.Join(st.dir, "vault"), Log: vlog}); err != nil {
		return err
	}
	st.stops = append(st.stops, st.vault.Stop)
	slog, err := st.logFile("stripe-mock.log")
	if err != nil {
		return err
	}
	if st.stripe, err = devstack.StartStripeMock(ctx, devstack.Options{Dir: filepath.Join(st.dir, "stripe-mock"), Log: slog}); err != nil {
		return err
	}
	st.stops = append(st.stops, st.stripe.Stop)
	return nil
}

// tokenwallConfig is `tokenwall serve`'s configuration: the defaults, the demo checkout's
// form route (as cmd/tokenwall-dev's devConfig), no API, no webhooks, no pages.
func (st *stack) tokenwallConfig(addr, admin, tokenFile string) config.Config {
	cfg := config.Default()
	cfg.Listen.Addr, cfg.Admin.Addr = addr, admin
	cfg.Listen.PublicHosts = []string{"127.0.0.1", "localhost"}
	cfg.Listen.CertFile, cfg.Listen.KeyFile = st.cert, st.key
	cfg.Upstream.URL = st.upstream.url
	cfg.Vault.Address = st.vault.Addr
	cfg.Vault.Auth.TokenFile = tokenFile
	cfg.Gateway.Stripe.APIURL = st.stripe.URL
	cfg.Log.File = filepath.Join(st.logs, "tokenwall.log")
	cfg.Store.SQLitePath = filepath.Join(st.dir, "tokenwall.db")
	cfg.Routes = []config.Route{config.Route{
		Path: "/checkout/submit",
		Card: config.CardFields{Number: "card_number", Exp: "card_exp", CVC: "card_cvc", Name: "card_name"},
	}.WithDefaults()}
	return cfg
}

func (st *stack) startTokenwall(ctx context.Context) error {
	bin, err := devstack.BinPath("tokenwall")
	if err != nil {
		return fmt.Errorf("%w (make build)", err)
	}
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	admin, err := freeAddr()
	if err != nil {
		return err
	}
	tokenFile := filepath.Join(st.dir, "vault-token")
	if err := os.WriteFile(tokenFile, []byte(st.vault.Token), 0o600); err != nil {
		return err
	}
	cfg := st.tokenwallConfig(addr, admin, tokenFile)
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("tokenwall config: %w", err)
	}
	b, err := cfg.YAML()
	if err != nil {
		return err
	}
	cfgFile := filepath.Join(st.dir, "tokenwall.yaml")
	if err := os.WriteFile(cfgFile, b, 0o600); err != nil {
		return err
	}
	if st.stripeKey, err = provisionSecrets(ctx, cfg); err != nil {
		return fmt.Errorf("vault secrets: %w", err)
	}
	cmd, err := st.startProc("tokenwall", bin, "serve", "--config", cfgFile)
	if err != nil {
		return err
	}
	st.tw = &server{name: "tokenwall", cmd: cmd, url: "https://" + addr, admin: "http://" + admin + "/metrics", pids: pidsOf(cmd)}
	return waitReady(ctx, st.client(), st.tw.url+"/readyz")
}

// provisionSecrets writes the secrets cfg names into the dev Vault and creates the transit
// key that signs audit checkpoints, as cmd/tokenwall-dev's provisionDevSecrets does. It
// returns the Stripe test key.
func provisionSecrets(ctx context.Context, cfg config.Config) (string, error) {
	c, err := vault.Dial(ctx, app.VaultOptions(cfg, nil))
	if err != nil {
		return "", err
	}
	stripeKey := "sk_test_" + randomHex(24)
	for path, value := range map[string]string{
		cfg.Vault.StripeKeyPath:  stripeKey,
		cfg.Vault.SigningKeyPath: randomHex(32),
		cfg.Vault.AuditKeyPath:   randomHex(32),
	} {
		if err := c.WriteKV(ctx, path, value); err != nil {
			return "", err
		}
	}
	if err := c.EnableTransitKey(ctx, cfg.Vault.TransitMount, cfg.Vault.TransitKey); err != nil {
		return "", err
	}
	return stripeKey, c.SetKVMaxVersions(ctx, cfg.Vault.AuditAnchorPath, 1000)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// client trusts the run's self-signed certificate.
func (st *stack) client() *http.Client {
	pool := x509.NewCertPool()
	if pemBytes, err := os.ReadFile(st.cert); err == nil {
		pool.AppendCertsFromPEM(pemBytes)
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
}

// waitReady polls u until it answers 200, for up to 60 s.
func waitReady(ctx context.Context, c *http.Client, u string) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var last error
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		resp, err := c.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready: %w", u, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// pidsOf is the command's own pid.
func pidsOf(cmd *exec.Cmd) func() []int {
	return func() []int { return []int{cmd.Process.Pid} }
}

// childrenOf lists the processes whose parent is pid (nginx's workers), from /proc.
func childrenOf(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	var kids []int
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// The fields after the command name, which is in parentheses and may hold spaces.
		s := string(b)
		if i := strings.LastIndexByte(s, ')'); i >= 0 {
			f := strings.Fields(s[i+1:])
			if len(f) > 1 && f[1] == strconv.Itoa(pid) {
				kids = append(kids, p)
			}
		}
	}
	return kids
}

// rssFields are what rssKiB reads of /proc/PID/status, in rssKinds' order.
var rssFields = []string{"VmRSS", "RssAnon", "RssFile"}

// rssKinds is a server's resident memory in KiB: all of it, the anonymous part (its own
// memory: heap, stacks) and the file-backed part (mostly its binary's pages, which the page
// cache holds and other processes mapping the file share).
type rssKinds struct{ all, anon, file int }

// rssKiB adds up rssFields of the server's processes.
func rssKiB(s *server) (rssKinds, error) {
	var sum [3]int
	for _, pid := range s.pids() {
		b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
		if err != nil {
			return rssKinds{}, err
		}
		for i, field := range rssFields {
			kib, err := parseStatusKiB(string(b), field)
			if err != nil {
				return rssKinds{}, fmt.Errorf("pid %d: %w", pid, err)
			}
			sum[i] += kib
		}
	}
	return rssKinds{all: sum[0], anon: sum[1], file: sum[2]}, nil
}
